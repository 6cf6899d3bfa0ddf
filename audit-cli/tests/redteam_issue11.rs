//! Red-team findings on issue 11 (signed checkpoints, key epochs, witnesses), as
//! failing tests: each one shows a behaviour of the current code that the report
//! calls a bug. See the report for the reproduction by hand and the severity.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tracing_audit_core::note::{Note, SigningKey, cosign};
use tracing_audit_core::{Event, Key, Rotation, Writer, WriterConfig};

const AUDIT: &str = env!("CARGO_BIN_EXE_audit");
const KEY_HEX: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

fn audit(args: &[&str]) -> Output {
    Command::new(AUDIT)
        .args(args)
        .env_remove("AUDIT_HMAC_KEY_FILE")
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A closed trail of `events` events in segments of about 2 KiB, written with an
/// HMAC key file (`key`) and a signing key (`log.key`, `log.key.pub`); `final.checkpoint`
/// is a copy of the checkpoint published at shutdown (it covers every record).
struct Signed {
    tmp: tempfile::TempDir,
    dir: PathBuf,
    key: PathBuf,
    signer: SigningKey,
    log_pub: PathBuf,
    copy: PathBuf,
}

fn signed_trail(events: u64) -> Signed {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("trail");
    let key = tmp.path().join("key");
    std::fs::write(&key, KEY_HEX).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let signer = SigningKey::generate("redteam-log").unwrap();
    signer.write_new_files(&tmp.path().join("log.key")).unwrap();
    let mut c = WriterConfig::new(&dir, "svc", Key::from_hex(KEY_HEX).unwrap())
        .signing_key(signer.clone())
        .checkpoint_interval(Duration::ZERO);
    c.rotation = "size:2KiB".parse::<Rotation>().unwrap();
    let mut w = Writer::open(c).unwrap();
    for i in 0..events {
        w.append(&[Event::new("pool.created").field("i", i).into()])
            .unwrap();
    }
    w.close().unwrap();
    let copy = tmp.path().join("final.checkpoint");
    std::fs::copy(dir.join("checkpoint"), &copy).unwrap();
    Signed {
        log_pub: tmp.path().join("log.key.pub"),
        dir,
        key,
        signer,
        copy,
        tmp,
    }
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let stream = tracing_audit_core::Stream::open(dir).unwrap();
    stream
        .segments()
        .iter()
        .map(|n| stream.segment_path(n))
        .collect()
}

/// Finding 3: `audit verify` (text report) names a failure against the copied
/// checkpoint only by its kind. "The report pinpoints the first failing record
/// and lists all failures" (README), but a `truncated` failure is never listed
/// with its detail (how many records were cut: "records N to M were cut off the
/// end"), and the segment it is reported at reads `valid` ("0 INVALID"): the
/// failure is added after the segments' counts were taken, and the text report
/// prints details only under a segment's line. The same holds for `inconsistent`,
/// for a copy whose signature or witness cosignature is missing (`bad_signature`,
/// "expected a cosignature by witness …") and for a copy that does not parse.
#[test]
fn finding_3_text_report_lists_the_truncated_failure_with_its_detail() {
    let t = signed_trail(60);
    let segs = segments(&t.dir);
    assert!(segs.len() >= 3, "the fixture should rotate");
    // Attacker without key: deletes the newest segment.
    std::fs::remove_file(segs.last().unwrap()).unwrap();
    let out = audit(&[
        "verify",
        s(&t.dir),
        "--key-file",
        s(&t.key),
        "--pubkey",
        s(&t.log_pub),
        "--checkpoint",
        s(&t.copy),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // The JSON report has it; the text report must show it too.
    assert!(
        stdout.contains("truncated:") && stdout.contains("cut off the end"),
        "the text report does not list the truncated failure's detail:\n{}",
        text(&out)
    );
    assert!(
        !stdout.contains(" 0 INVALID"),
        "a truncated trail is summed up as having no INVALID segment:\n{}",
        text(&out)
    );
}

/// Finding 4: a trail rewritten by someone without the key (every line re-hashed,
/// the MACs left wrong, the `key_id` of the open records edited) is reported as a
/// *usage* error, "this trail was written with key id …: verify it with the
/// trail's key" (exit 2), and nothing else is printed: not the report, not the
/// failure against the copied checkpoint, whose signed root the rewritten records
/// no longer match (`checkpoint_mismatch`, tampering whatever the key), and with
/// `--json` not even the JSON object (stdout is empty).
#[test]
fn finding_4_a_rewritten_trail_that_fails_its_copied_checkpoint_is_tampering_not_a_wrong_key() {
    let t = signed_trail(30);
    for seg in segments(&t.dir) {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&seg, std::fs::Permissions::from_mode(0o600)).unwrap();
        let old = std::fs::read_to_string(&seg).unwrap();
        let mut new = String::new();
        for line in old.lines() {
            let mut body = line[..line.len() - 148].to_owned();
            if body.contains("\"kind\":\"open\"") {
                let at = body.find("\"key_id\":\"").unwrap() + 10;
                body.replace_range(at..at + 16, "0123456789abcdef");
            }
            body = body.replace("pool.created", "pool.deleted");
            let hash = hex::encode(Sha256::digest(format!("{body}}}").as_bytes()));
            new.push_str(&format!(
                "{body},\"hash\":\"{hash}\",\"mac\":\"{}\"}}\n",
                "0".repeat(64)
            ));
        }
        std::fs::write(&seg, new).unwrap();
    }
    let args = [
        "verify",
        s(&t.dir),
        "--key-file",
        s(&t.key),
        "--pubkey",
        s(&t.log_pub),
        "--checkpoint",
        s(&t.copy),
        "--json",
    ];
    let out = audit(&args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the trail does not extend its signed checkpoint: tampering, not a wrong key\n{}",
        text(&out)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}", text(&out)));
    assert_eq!(json["ok"], false);
}

/// Finding 5: `audit verify --witness-key` accepts the log's own key (the
/// `FILE.pub` given to `--pubkey`, which `--witness-key` also takes) as a
/// witness's. Whoever holds the log's signing key (root on the host) then makes
/// the "cosignature" itself, and the witness check, the one that is to hold
/// against root, passes. `audit witness add` refuses exactly this ("a log cannot
/// witness itself"); `audit verify` should refuse it too (exit 2), not say
/// "Trail intact".
#[test]
fn finding_5_verify_refuses_the_logs_own_key_as_a_witness_key() {
    let t = signed_trail(10);
    let note_text = std::fs::read_to_string(&t.copy).unwrap();
    let mut note = Note::parse(&note_text).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // The log's signing key "cosigns" its own checkpoint.
    note.add_signature(cosign(note.body(), &t.signer, now).unwrap())
        .unwrap();
    let selfcosigned = t.tmp.path().join("self.cosigned");
    std::fs::write(&selfcosigned, note.to_string()).unwrap();
    let out = audit(&[
        "verify",
        s(&t.dir),
        "--key-file",
        s(&t.key),
        "--pubkey",
        s(&t.log_pub),
        "--checkpoint",
        s(&selfcosigned),
        "--witness-key",
        s(&t.log_pub),
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the log's own key was accepted as a witness key:\n{}",
        text(&out)
    );
}

/// Finding 7: the writer keeps whatever its witness command prints on standard
/// output with exit status 0 as `checkpoint.cosigned` (here an ssh-banner-like
/// line), and counts it as cosigned: it never checks that the answer is the
/// checkpoint it submitted, with a cosignature added. The operator learns it
/// only when `audit verify --checkpoint checkpoint.cosigned` reports
/// "TAMPERING OR CORRUPTION FOUND" (malformed_line).
#[test]
fn finding_7_writer_does_not_keep_a_witness_answer_that_is_not_a_cosigned_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("trail");
    let signer = SigningKey::generate("redteam-log").unwrap();
    let c = WriterConfig::new(&dir, "svc", Key::from_hex(KEY_HEX).unwrap())
        .signing_key(signer)
        .checkpoint_interval(Duration::ZERO)
        .witness_command(vec![
            "/bin/sh".into(),
            "-c".into(),
            "cat >/dev/null; echo Welcome to witness-host".into(),
        ]);
    let mut w = Writer::open(c).unwrap();
    w.append(&[Event::new("pool.created").into()]).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while w.witness_counts() == (0, 0) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let counts = w.witness_counts();
    w.close().unwrap();
    let kept = std::fs::read_to_string(dir.join("checkpoint.cosigned")).ok();
    if let Some(kept) = &kept {
        let parsed = Note::parse(kept);
        assert!(
            parsed.as_ref().is_ok_and(|n| n.signatures().len() >= 2),
            "checkpoint.cosigned holds what the witness command printed, not a cosigned checkpoint: {kept:?}"
        );
    }
    assert_eq!(
        counts.0, 0,
        "an answer that is not a cosigned checkpoint was counted as cosigned (kept: {kept:?})"
    );
}

/// Finding 8: `audit prove --index DIR` reads `DIR/stream` with a plain blocking
/// read that follows symlinks: a FIFO there hangs the command for ever (the same
/// bug was fixed for key files and `--checkpoint`), and a symlink there is
/// followed (and, when the file is missing, written through). The index's own
/// files `L0`, `L8`, `L16` are opened with `O_NOFOLLOW`; `stream` is not.
#[test]
fn finding_8_prove_index_with_a_fifo_as_its_stream_file_does_not_hang() {
    let t = signed_trail(5);
    let index = t.tmp.path().join("index");
    std::fs::create_dir(&index).unwrap();
    let fifo = index.join("stream");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let mut child = Command::new(AUDIT)
        .args(["prove", s(&t.dir), "--seq", "1", "--index", s(&index)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let status =
        status.expect("audit prove --index hung on a FIFO as DIR/stream (killed after 20 s)");
    assert_eq!(
        status.code(),
        Some(2),
        "expected a usage/I-O error for a FIFO in the index directory"
    );
}

/// Finding 6: a zero interval is accepted for the key epoch and the checkpoint
/// heartbeat (`AUDIT_EPOCH_INTERVAL=0`, `AUDIT_CHECKPOINT_HEARTBEAT=0s`: humantime
/// reads `0` as zero; someone may write it to mean "off"). An idle writer then
/// advances the epoch (an fsynced record and a key-file replacement) or signs a
/// checkpoint at every tick: about 1 500 epoch records, or 20 000 checkpoint
/// records (12 MB), per second with no event at all, by `svc` with
/// `init_from_env`. Past 2^24 epochs (hours at that pace) `audit verify --key-file
/// FILE.verifier` reports every later record as a `mac_mismatch` (the verifier's
/// derivation bound). Either refuse such an interval or keep idle ticks from
/// writing records back to back.
#[test]
fn finding_6_an_idle_writer_with_zero_intervals_does_not_write_a_record_per_tick() {
    let count = |dir: &Path, kind: &str| -> usize {
        segments(dir)
            .iter()
            .map(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .matches(&format!("\"kind\":\"{kind}\""))
                    .count()
            })
            .sum()
    };
    let tmp = tempfile::tempdir().unwrap();
    let signer = SigningKey::generate("redteam-log").unwrap();
    for (name, kind) in [("epoch0", "epoch"), ("heartbeat0", "checkpoint")] {
        let dir = tmp.path().join(name);
        let mut c = WriterConfig::new(&dir, "svc", Key::from_hex(KEY_HEX).unwrap());
        c = if kind == "epoch" {
            c.epoch_interval(Some(Duration::ZERO))
        } else {
            c.signing_key(signer.clone())
                .checkpoint_heartbeat(Duration::ZERO)
        };
        let Ok(mut w) = Writer::open(c) else {
            continue; // refused: fine
        };
        for _ in 0..200 {
            w.tick().unwrap();
        }
        w.close().unwrap();
        let n = count(&dir, kind);
        assert!(
            n < 10,
            "{name}: 200 idle ticks wrote {n} `{kind}` records (one per tick)"
        );
    }
}

/// Finding 2: someone without any key rolls the stream directory back to a copy
/// taken earlier (a backup, a snapshot), in the same key epoch (the epoch
/// advances hourly and at rotations). The restarted writer does not notice — its
/// refusal of "a key ahead of its trail" only catches a rollback across an epoch
/// — and then *replaces the checkpoint copy in the other trust domain with a
/// smaller checkpoint of the forked history*. The latest copy then verifies the
/// rolled-back trail as intact, and the records cut are gone without a trace.
/// The writer can read its copy directories: it should refuse to start (or at
/// least never publish) when the trail does not extend the checkpoint a copy
/// holds, and never replace a copy with a smaller or inconsistent checkpoint.
#[test]
fn finding_2_a_restarted_writer_never_replaces_a_copy_with_a_checkpoint_of_a_rolled_back_trail() {
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("trail");
    let copies = tmp.path().join("copies");
    std::fs::create_dir(&copies).unwrap();
    let signer = SigningKey::generate("redteam-log").unwrap();
    let config = || {
        WriterConfig::new(&dir, "svc", Key::from_hex(KEY_HEX).unwrap())
            .signing_key(signer.clone())
            .checkpoint_copy(&copies)
    };
    let run = |events: u64| -> Option<u64> {
        let mut w = match Writer::open(config()) {
            Ok(w) => w,
            Err(_) => return None, // refused
        };
        for i in 0..events {
            w.append(&[Event::new("pool.created").field("i", i).into()])
                .unwrap();
        }
        w.close().unwrap();
        Some(events)
    };
    let copy_size = || -> u64 {
        let file = std::fs::read_dir(&copies)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "checkpoint"))
            .unwrap();
        let note = Note::parse(&std::fs::read_to_string(file).unwrap()).unwrap();
        tracing_audit_core::note::Checkpoint::parse(note.body())
            .unwrap()
            .size
    };
    run(10).unwrap();
    let backup = tmp.path().join("backup");
    copy_dir(&dir, &backup);
    run(10).unwrap();
    let before = copy_size();
    // The attacker (no key) puts the directory back as it was.
    std::fs::remove_dir_all(&dir).unwrap();
    copy_dir(&backup, &dir);
    let restarted = run(3);
    let after = copy_size();
    assert!(
        after >= before,
        "the copy went from a checkpoint of {before} records to one of {after} (writer restarted: {}): \
         the rolled-back trail now verifies against it",
        restarted.is_some()
    );
}
