//! The `audit` command as operators run it: exit codes, text and JSON output, windows.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tracing_audit_core::{Event, Key, Rotation, VerifyOptions, Writer, WriterConfig, verify_dir};

const KEY_HEX: &str = "7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e";

fn audit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_audit"))
        .args(args)
        .env_remove("AUDIT_HMAC_KEY_FILE")
        .output()
        .unwrap()
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    key: PathBuf,
}

fn fixture(events: u64) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("trail");
    let key = tmp.path().join("key");
    std::fs::write(&key, KEY_HEX).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut c = WriterConfig::new(&dir, "cli-test", Key::from_hex(KEY_HEX).unwrap());
    c.rotation = "size:2KiB".parse::<Rotation>().unwrap();
    let mut w = Writer::open(c).unwrap();
    for i in 0..events {
        w.append(&[Event::new("pool.created").field("i", i).into()])
            .unwrap();
    }
    w.close().unwrap();
    Fixture {
        _tmp: tmp,
        dir,
        key,
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let stream = tracing_audit_core::Stream::open(dir).unwrap();
    stream
        .segments()
        .iter()
        .map(|n| stream.segment_path(n))
        .collect()
}

fn tamper_line(path: &Path, line: usize) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    lines[line - 1] = lines[line - 1].replacen("pool.created", "pool.crEated", 1);
    std::fs::write(path, lines.concat()).unwrap();
}

/// Runs `audit verify --json` on the fixture with its key, plus `extra` arguments.
fn verify_json(f: &Fixture, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut args = vec!["verify", s(&f.dir), "--key-file", s(&f.key), "--json"];
    args.extend_from_slice(extra);
    let out = audit(&args);
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

#[test]
fn intact_trail_exits_0_with_a_per_segment_report() {
    let f = fixture(20);
    let out = audit(&["verify", s(&f.dir), "--key-file", s(&f.key)]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let segs = segments(&f.dir);
    assert!(segs.len() > 2);
    assert_eq!(text.matches("  valid    (").count(), segs.len(), "{text}");
    assert!(text.contains("Trail intact."), "{text}");
    assert!(text.contains("MACs checked with key id"), "{text}");
}

#[test]
fn tampered_trail_exits_1_and_json_pinpoints_the_first_failure() {
    let f = fixture(20);
    let seg = segments(&f.dir)[1].clone();
    // Line 3: after the open record and the epoch record of the rotation.
    tamper_line(&seg, 3);
    let out = audit(&["verify", s(&f.dir), "--key-file", s(&f.key), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = tracing_audit_cli::report_json(
        &verify_dir(
            &f.dir,
            &VerifyOptions::new().key(Key::from_hex(KEY_HEX).unwrap()),
        )
        .unwrap(),
    );
    assert_eq!(v, expected, "audit verify --json prints report_json");
    assert_eq!(v["ok"], false);
    let first = &v["first_failure"];
    assert_eq!(first["kind"], "hash_mismatch");
    assert_eq!(first["file"], seg.file_name().unwrap().to_str().unwrap());
    assert_eq!(first["line"], 3);
    assert!(first["seq"].is_u64());

    let out = audit(&["verify", s(&f.dir), "--key-file", s(&f.key)]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text.contains("INVALID") && text.contains("line 3 seq"),
        "{text}"
    );
    assert!(text.contains("TAMPERING OR CORRUPTION FOUND"), "{text}");
}

#[test]
fn without_a_key_it_warns_that_macs_were_not_checked() {
    let f = fixture(3);
    let out = audit(&["verify", s(&f.dir)]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("MACs NOT checked")
    );
}

#[test]
fn usage_and_io_errors_exit_2_with_a_clear_message() {
    let f = fixture(1);
    let out = audit(&["verify", "/nonexistent/trail"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/trail"));

    std::fs::set_permissions(&f.key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = audit(&["verify", s(&f.dir), "--key-file", s(&f.key)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("0644") && err.contains(s(&f.key)), "{err}");

    let out = audit(&["verify", s(&f.dir), "--from", "last tuesday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"last tuesday\""));

    let out = audit(&["verify"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_window_verifies_only_the_segments_it_overlaps() {
    let f = fixture(20);
    let segs = segments(&f.dir);
    // Damage the first segment: outside a window that starts in the future.
    tamper_line(&segs[0], 2);
    let (code, v) = verify_json(&f, &["--from", "2999-01-01"]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        v["segments"], 1,
        "only the newest segment can hold future records"
    );
    assert_eq!(v["skipped_segments"], segs.len() - 1);

    // A window that ends before the trail began still checks the first segment.
    let (code, v) = verify_json(&f, &["--to", "2000-01-01"]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["first_failure"]["kind"], "hash_mismatch");
}

#[test]
fn a_window_links_to_the_record_before_it() {
    let f = fixture(20);
    let segs = segments(&f.dir);
    // Break the link into the newest segment: its open record's prev no longer
    // matches the hash of the last record before the window.
    let last = segs.last().unwrap();
    let prev_seg = &segs[segs.len() - 2];
    std::fs::set_permissions(prev_seg, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = std::fs::read_to_string(prev_seg).unwrap();
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    lines.pop(); // drop the seal of the segment before the window
    std::fs::write(prev_seg, lines.concat()).unwrap();
    let (code, v) = verify_json(&f, &["--from", "2999-01-01"]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        v["first_failure"]["file"],
        last.file_name().unwrap().to_str().unwrap()
    );
    assert_eq!(v["first_failure"]["line"], 1);
}

#[test]
fn keygen_writes_a_private_key_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("new.key");
    let out = audit(&["keygen", s(&p)]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let k = Key::from_file(&p).unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains(k.id()));
    let out = audit(&["keygen", s(&p)]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn catalog_check_accepts_the_default_and_pinpoints_a_bad_line() {
    let shipped = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../audit-catalog/audit-catalog.toml"
    );
    let out = audit(&["catalog", "check", shipped]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid, 44 actions"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("cat.toml");
    std::fs::write(
        &bad,
        "version = 1\n\n[actions.\"pool.deleted\"]\ncategory = \"resources\"\nseverity = \"high\"\ndescription = \"x\"\nrequired = [\"actor\"]\nrequierd = [\"resource\"]\n",
    )
    .unwrap();
    let out = audit(&["catalog", "check", s(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("{}:8: unknown field `requierd`", bad.display())),
        "{err}"
    );

    let out = audit(&["catalog", "check", s(&dir.path().join("missing.toml"))]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn catalog_list_prints_every_action_as_text_or_json_lines() {
    let out = audit(&["catalog", "list", "--json", "-"]);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 44);
    let bg = lines
        .iter()
        .find(|v| v["action"] == "breakglass.activated")
        .unwrap();
    assert_eq!(bg["requires_justification"], true);
    assert_eq!(bg["severity"], "critical");

    let out = audit(&["catalog", "list", "-"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("kernel.capability.denied")
                && l.contains("requires actor, resource")),
        "{text}"
    );
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    let f = fixture(200);
    for extra in [&[][..], &["--json"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_audit"))
            .args(["verify", s(&f.dir), "--key-file", s(&f.key)])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before anything is written, as `| head -0` would.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(out.status.code(), Some(0), "{err}");
    }
}

/// Issue 10, item 3 (in part): "intact" only about a trail. A directory with no
/// segment at all (a wrong path, or every segment deleted) said "Trail intact." and
/// exited 0.
#[test]
fn a_directory_without_any_segment_is_no_trail_not_an_intact_one() {
    let tmp = tempfile::tempdir().unwrap();
    let out = audit(&["verify", s(tmp.path())]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("no trail here") && err.contains("found none"),
        "{err}"
    );
    assert!(!String::from_utf8(out.stdout).unwrap().contains("intact"));
}

/// Issue 10, item 3 (in part): a wrong key is not tampering. It gave one
/// `mac_mismatch` per record and "TAMPERING OR CORRUPTION FOUND" (exit 1).
#[test]
fn a_key_other_than_the_trails_is_a_usage_error_naming_both_key_ids() {
    let f = fixture(5);
    let other = f.dir.parent().unwrap().join("other.key");
    let out = audit(&["keygen", s(&other)]);
    assert_eq!(out.status.code(), Some(0));
    let other_id = Key::from_file(&other).unwrap().id().to_owned();
    let trail_id = Key::from_hex(KEY_HEX).unwrap().id().to_owned();
    let out = audit(&["verify", s(&f.dir), "--key-file", s(&other)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!("written with key id {trail_id}"))
            && err.contains(&format!("has key id {other_id}")),
        "{err}"
    );
    assert!(!String::from_utf8(out.stdout).unwrap().contains("TAMPERING"));
}

/// The key id of the first open record edited (its hash recomputed, no key
/// needed) made `audit verify` call the tampering a wrong key (exit 2): the other
/// records' MACs verify with the key given, so it is tampering (exit 1).
#[test]
fn an_edited_key_id_is_tampering_not_a_wrong_key() {
    use sha2::Digest as _;
    let f = fixture(5);
    let seg = segments(&f.dir)[0].clone();
    std::fs::set_permissions(&seg, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = std::fs::read_to_string(&seg).unwrap();
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    let trail_id = Key::from_hex(KEY_HEX).unwrap().id().to_owned();
    let edited = lines[0].replacen(&trail_id, "0123456789abcdef", 1);
    let at = edited.rfind(",\"hash\":\"").unwrap();
    let body = format!("{}}}", &edited[..at]);
    let hash = sha2::Sha256::digest(body.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    lines[0] = format!("{}{hex}{}", &edited[..at + 9], &edited[at + 9 + 64..]);
    std::fs::write(&seg, lines.concat()).unwrap();
    let out = audit(&["verify", s(&f.dir), "--key-file", s(&f.key), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["first_failure"]["kind"], "mac_mismatch", "{v}");
    assert_eq!(v["first_failure"]["line"], 1, "{v}");
}

/// Issue 10, item 3 (in part): `--from` after `--to` was accepted silently.
#[test]
fn a_window_that_ends_before_it_starts_is_a_usage_error() {
    let f = fixture(3);
    let out = audit(&[
        "verify",
        s(&f.dir),
        "--from",
        "2026-12-02",
        "--to",
        "2026-12-01",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("expected --from at or before --to"), "{err}");
}

/// Issue 10, item 3: a directory of unrelated files (a wrong path) is no trail,
/// not an intact one.
#[test]
fn a_directory_of_unrelated_files_is_no_trail() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "not a trail\n").unwrap();
    std::fs::write(tmp.path().join("seg-1-today.jsonl"), "{}\n").unwrap();
    std::fs::create_dir(tmp.path().join("seg-00000000000000000000-x")).unwrap();
    for extra in [&[][..], &["--json"][..]] {
        let mut args = vec!["verify", s(tmp.path())];
        args.extend_from_slice(extra);
        let out = audit(&args);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("no trail here"), "{err}");
        assert!(out.stdout.is_empty());
    }
}

fn text_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Issue 10, item 3: a trail whose newest segment was deleted said "Trail intact."
/// and exited 0; its end is not proven (exit 3), and the reason names the missing
/// segment.
#[test]
fn a_trail_whose_newest_segment_was_deleted_exits_3_end_not_proven() {
    let f = fixture(20);
    let segs = segments(&f.dir);
    let newest = segs.last().unwrap();
    std::fs::remove_file(newest).unwrap();
    let missing = &newest.file_name().unwrap().to_str().unwrap()[..25];

    let out = audit(&["verify", s(&f.dir), "--key-file", s(&f.key)]);
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(!text.contains("Trail intact"), "{text}");
    assert!(!text.contains("TAMPERING"), "{text}");
    let verdict = text.lines().last().unwrap();
    assert!(
        verdict.starts_with("Records intact; end not proven: ")
            && verdict.contains("sealed for rotation")
            && verdict.contains(missing),
        "{text}"
    );

    let (code, v) = verify_json(&f, &[]);
    assert_eq!(code, Some(3));
    assert_eq!(v["ok"], true, "not tampering: {v}");
    assert_eq!(v["end"]["status"], "not_proven");
    assert!(
        v["end"]["reason"].as_str().unwrap().contains(missing),
        "{v}"
    );
}

/// Issue 10, item 3: a trail with its last lines (the seal included) cut off said
/// "Trail intact." and exited 0.
#[test]
fn a_trail_with_its_last_lines_cut_exits_3_end_not_proven() {
    // 2 KiB segments of an open record, 4 events and a seal: 22 events leave two
    // events in the newest.
    let f = fixture(22);
    let newest = segments(&f.dir).pop().unwrap();
    std::fs::set_permissions(&newest, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = std::fs::read_to_string(&newest).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    assert!(lines.len() >= 3, "the newest segment holds events: {text}");
    std::fs::write(&newest, lines[..lines.len() - 2].concat()).unwrap();

    let out = audit(&["verify", s(&f.dir), "--key-file", s(&f.key)]);
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(!text.contains("Trail intact"), "{text}");
    assert!(
        text.contains("end not proven: ") && text.contains("ends without a seal"),
        "{text}"
    );
    let (code, v) = verify_json(&f, &[]);
    assert_eq!(code, Some(3));
    assert_eq!(
        (&v["ok"], &v["end"]["status"]),
        (&true.into(), &"not_proven".into())
    );
}

/// A live writer holds the newest segment open: that is a trail being written, not
/// one whose end is unproven. The same bytes without the writer are not proven.
#[test]
fn a_trail_with_a_live_writer_is_open_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("trail");
    let mut c = WriterConfig::new(&dir, "cli-test", Key::from_hex(KEY_HEX).unwrap());
    c.rotation = "size:2KiB".parse::<Rotation>().unwrap();
    let mut w = Writer::open(c).unwrap();
    for i in 0..10_u64 {
        w.append(&[Event::new("pool.created").field("i", i).into()])
            .unwrap();
    }
    let key = tmp.path().join("key");
    std::fs::write(&key, KEY_HEX).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    let out = audit(&["verify", s(&dir), "--key-file", s(&key)]);
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("End: open (a writer is live)") && text.contains("Trail intact."),
        "{text}"
    );
    assert!(!text.contains("not proven"), "{text}");
    let out = audit(&["verify", s(&dir), "--key-file", s(&key), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        v["end"],
        serde_json::json!({"status": "live_writer", "reason": null})
    );

    // The same segment files, copied where no writer holds a lock.
    let copy = tmp.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    for seg in segments(&dir) {
        std::fs::copy(&seg, copy.join(seg.file_name().unwrap())).unwrap();
    }
    let out = audit(&["verify", s(&copy), "--key-file", s(&key)]);
    assert_eq!(out.status.code(), Some(3), "{}", text_of(&out));
    w.close().unwrap();
}

#[test]
fn an_intact_closed_trail_reports_its_end_sealed() {
    let f = fixture(5);
    let (code, v) = verify_json(&f, &[]);
    assert_eq!(code, Some(0));
    assert_eq!(
        v["end"],
        serde_json::json!({"status": "sealed", "reason": null})
    );
    assert_eq!(v["records_in_window"], serde_json::Value::Null);
    let out = audit(&["verify", s(&f.dir), "--key-file", s(&f.key)]);
    assert!(text_of(&out).contains("End: sealed by its writer."));
}

/// Issue 10, item 3: a window that holds no record says so.
#[test]
fn a_window_that_holds_no_record_says_so() {
    let f = fixture(20);
    let out = audit(&[
        "verify",
        s(&f.dir),
        "--key-file",
        s(&f.key),
        "--from",
        "2999-01-01",
    ]);
    let text = text_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("No record in the window (at or after 2999-01-01T00:00:00.000000Z)"),
        "{text}"
    );
    let (code, v) = verify_json(&f, &["--from", "2999-01-01"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["records_in_window"], 0);

    // A window that holds records counts them, and says nothing of the kind.
    let (_, all) = verify_json(&f, &[]);
    let (code, v) = verify_json(&f, &["--from", "2000-01-01", "--to", "2999-01-01"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["records_in_window"], all["records"]);
    let out = audit(&[
        "verify",
        s(&f.dir),
        "--key-file",
        s(&f.key),
        "--from",
        "2000-01-01",
    ]);
    assert!(!text_of(&out).contains("No record in the window"));
}

#[test]
fn verify_help_documents_every_exit_status() {
    let out = audit(&["verify", "--help"]);
    let help = text_of(&out);
    for code in [
        "0  intact",
        "1  tampering",
        "2  usage",
        "3  records intact, end not proven",
    ] {
        assert!(help.contains(code), "{code:?} missing from:\n{help}");
    }
}

/// Issue 13, finding 5: a `malformed_line` detail echoed the line's bytes raw; a
/// crafted line cleared the screen and drew a fake "Trail intact." verdict. Every
/// byte from the trail reaches the terminal escaped.
#[test]
fn bytes_from_the_trail_reach_the_terminal_escaped() {
    use std::io::Write as _;
    let f = fixture(3);
    let newest = segments(&f.dir).pop().unwrap();
    std::fs::set_permissions(&newest, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&newest)
        .unwrap();
    // Long enough that the detail echoes the line's last bytes.
    let mut line = b"{".to_vec();
    line.extend(std::iter::repeat_n(b'x', 200));
    line.extend(b"\x1b[2J\x1b[H\xc2\x9bResults: 0 INVALID\xe2\x80\xae Trail intact.\x07\n");
    file.write_all(&line).unwrap();
    drop(file);
    let out = audit(&["verify", s(&f.dir), "--key-file", s(&f.key)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    for text in [&stdout, &stderr] {
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' || c == '\u{202E}'),
            "a raw control or bidi character reached the terminal: {text:?}"
        );
    }
    assert!(
        stdout.contains("\\u{1b}[2J"),
        "the escape shown as text: {stdout}"
    );
}

#[test]
fn terminal_safe_escapes_controls_and_bidi_and_keeps_the_rest() {
    use tracing_audit_cli::terminal_safe;
    assert_eq!(terminal_safe("plain é ✓"), "plain é ✓");
    assert_eq!(
        terminal_safe("a\x1b[2Jb\u{202E}c\u{9b}"),
        "a\\u{1b}[2Jb\\u{202e}c\\u{9b}"
    );
}
