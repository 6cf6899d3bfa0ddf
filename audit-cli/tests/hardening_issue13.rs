//! Issue 13, findings 8 and 10: `audit verify` on a stream directory holding an
//! entry named like a segment that is not a regular file (a FIFO hung it, a
//! directory or a symlink loop ended the whole report with exit 2), on a FIFO as
//! key file, and on a trail MACed again with another key (it verified, naming the
//! old key id). Every run of `audit` is a child process killed after a deadline,
//! so a hang fails the test instead of hanging it.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tracing_audit_core::{Event, Key, Rotation, Writer, WriterConfig};

const KEY_HEX: &str = "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c";
const OTHER_HEX: &str = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3";

/// Runs `audit` with `args`; `None` when it did not finish within 20 s (killed).
fn audit_bounded(args: &[&str]) -> Option<Output> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_audit"))
        .args(args)
        .env_remove("AUDIT_HMAC_KEY_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct Fixture {
    tmp: tempfile::TempDir,
    dir: PathBuf,
    key: PathBuf,
}

/// A closed trail of a few segments (rotated at 2 KiB), and its key file.
fn fixture(events: u64) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("trail");
    let key = tmp.path().join("key");
    std::fs::write(&key, KEY_HEX).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut c = WriterConfig::new(&dir, "issue13", Key::from_hex(KEY_HEX).unwrap());
    c.rotation = "size:2KiB".parse::<Rotation>().unwrap();
    let mut w = Writer::open(c).unwrap();
    for i in 0..events {
        w.append(&[Event::new("pool.created").field("i", i).into()])
            .unwrap();
    }
    w.close().unwrap();
    Fixture { tmp, dir, key }
}

/// A name that sorts after every segment of the fixture (the newest).
const NEWEST: &str = "seg-00000000000000009999-20991231T000000Z.jsonl";
/// A name that sorts between the fixture's first and second segments.
const MIDDLE: &str = "seg-00000000000000000001-20261124T000000Z.jsonl";

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

/// What to plant under a segment's name.
#[derive(Debug, Clone, Copy)]
enum Plant {
    Fifo,
    Directory,
    SymlinkLoop,
}

fn plant(dir: &Path, name: &str, what: Plant) {
    let path = dir.join(name);
    match what {
        Plant::Fifo => mkfifo(&path),
        Plant::Directory => std::fs::create_dir(&path).unwrap(),
        Plant::SymlinkLoop => std::os::unix::fs::symlink(&path, &path).unwrap(),
    }
}

fn verify_json(f: &Fixture) -> Output {
    audit_bounded(&["verify", s(&f.dir), "--key-file", s(&f.key), "--json"])
        .expect("audit verify hung (killed after 20 s)")
}

/// Each planted entry, newest or in the middle of the stream: `audit verify`
/// finishes, exits 1 (not intact, not a usage error), and names the entry as
/// `not_a_segment`; the text report names it too.
#[test]
fn finding_8_verify_skips_and_reports_an_entry_named_like_a_segment_that_is_not_a_file() {
    for what in [Plant::Fifo, Plant::Directory, Plant::SymlinkLoop] {
        for name in [NEWEST, MIDDLE] {
            let f = fixture(40);
            plant(&f.dir, name, what);
            let out = verify_json(&f);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{what:?} {name}: {}",
                text(&out)
            );
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let failures = v["failures"].as_array().unwrap();
            let planted: Vec<_> = failures
                .iter()
                .filter(|f| f["kind"] == "not_a_segment")
                .collect();
            assert_eq!(planted.len(), 1, "{what:?} {name}: {v}");
            assert_eq!(planted[0]["file"], name, "{v}");
            let out = audit_bounded(&["verify", s(&f.dir), "--key-file", s(&f.key)])
                .expect("audit verify (text) hung");
            assert_eq!(out.status.code(), Some(1), "{}", text(&out));
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                stdout.contains(name) && stdout.contains("not_a_segment"),
                "{what:?}: {}",
                text(&out)
            );
            assert!(!stdout.contains("intact"), "{}", text(&out));
        }
    }
}

/// The only entry named like a segment is a FIFO: reported, not "no trail here".
#[test]
fn finding_8_a_lone_fifo_named_like_a_segment_is_reported_not_hung_on() {
    let tmp = tempfile::tempdir().unwrap();
    plant(tmp.path(), NEWEST, Plant::Fifo);
    let out = audit_bounded(&["verify", s(tmp.path()), "--json"]).expect("audit verify hung");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["first_failure"]["kind"], "not_a_segment", "{v}");
}

/// A FIFO given as key file: refused (exit 2) without waiting for a writer.
#[test]
fn finding_8_a_fifo_as_key_file_is_refused_not_hung_on() {
    let f = fixture(3);
    let fifo = f.tmp.path().join("key.fifo");
    mkfifo(&fifo);
    let out = audit_bounded(&["verify", s(&f.dir), "--key-file", s(&fifo)])
        .expect("audit verify hung on a FIFO as key file");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("FIFO"),
        "{}",
        text(&out)
    );
}

/// Rewrites every line's `mac` with `key`, advanced to the line's epoch (what someone holding another key can
/// do to a whole trail): each MAC then verifies with `key`, and the open records
/// still name the old key id.
fn remac(dir: &Path, key: &Key) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        if !name.starts_with("seg-") {
            continue;
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut out = String::new();
        for line in text.lines() {
            // The suffix: `,"hash":"<64 hex>","mac":"<64 hex>"}`.
            let at = line.rfind(",\"mac\":\"").unwrap();
            let hash_hex = &line[at - 65..at - 1];
            let hash: [u8; 32] = hex::decode(hash_hex).unwrap().try_into().unwrap();
            // The key of the record's epoch (the writer advances it at rotations).
            let epoch: u64 = line
                .split_once("\"epoch\":")
                .unwrap()
                .1
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let mut k = key.clone();
            for _ in 0..epoch {
                k = k.next_epoch();
            }
            let mac = hex::encode(k.mac(&hash));
            out.push_str(&format!("{},\"mac\":\"{mac}\"}}\n", &line[..at]));
        }
        std::fs::write(&path, out).unwrap();
    }
}

/// Finding 10 (a): a trail MACed again with a new key verified with that key
/// (exit 0), although its open records name the old key id. Now each open record
/// is a `key_mismatch` (exit 1, tampering).
#[test]
fn finding_10a_a_trail_macd_again_with_another_key_is_a_key_mismatch() {
    let f = fixture(40);
    let other = Key::from_hex(OTHER_HEX).unwrap();
    remac(&f.dir, &other);
    let other_file = f.tmp.path().join("other.key");
    std::fs::write(&other_file, OTHER_HEX).unwrap();
    std::fs::set_permissions(&other_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = audit_bounded(&["verify", s(&f.dir), "--key-file", s(&other_file), "--json"])
        .expect("audit verify hung");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failures = v["failures"].as_array().unwrap();
    assert!(!failures.is_empty(), "{v}");
    assert!(
        failures
            .iter()
            .all(|f| f["kind"] == "key_mismatch" && f["record_kind"] == "open"),
        "{v}"
    );
    let old_id = Key::from_hex(KEY_HEX).unwrap().id().to_owned();
    assert!(
        failures[0]["detail"].as_str().unwrap().contains(&old_id),
        "{v}"
    );
    assert_eq!(
        u64::try_from(failures.len()).unwrap(),
        v["segments"].as_u64().unwrap(),
        "one per open record: {v}"
    );
}

/// A plain wrong key stays a usage error (exit 2) naming both key ids, not a
/// `key_mismatch`: every MAC fails first.
#[test]
fn finding_10a_a_plain_wrong_key_is_still_a_usage_error() {
    let f = fixture(10);
    let other_file = f.tmp.path().join("other.key");
    std::fs::write(&other_file, OTHER_HEX).unwrap();
    std::fs::set_permissions(&other_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = audit_bounded(&["verify", s(&f.dir), "--key-file", s(&other_file)]).expect("hung");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let old_id = Key::from_hex(KEY_HEX).unwrap().id().to_owned();
    assert!(
        err.contains(&format!("written with key id {old_id}")),
        "{err}"
    );
}
