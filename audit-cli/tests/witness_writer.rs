//! The writer submits its checkpoints to a real witness (`audit witness add`, run
//! as a command), keeps the cosigned checkpoint, carries on after a restart (the
//! witness answers with the size it holds), and a witness refuses the trail once
//! its directory is rolled back.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tracing_audit_core::note::SigningKey;
use tracing_audit_core::{Event, Key, VerifyOptions, Writer, WriterConfig, verify_dir};

const AUDIT: &str = env!("CARGO_BIN_EXE_audit");

struct Setup {
    _root: tempfile::TempDir,
    trail: PathBuf,
    log_key: PathBuf,
    witness_key: PathBuf,
    state: PathBuf,
}

fn setup() -> Setup {
    let root = tempfile::tempdir().unwrap();
    let p = root.path().to_owned();
    for (file, name) in [("log.key", "test-log"), ("witness.key", "test-witness")] {
        let out = Command::new(AUDIT)
            .args(["keygen", "--signing", "--name", name])
            .arg(p.join(file))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    Setup {
        trail: p.join("trail"),
        log_key: p.join("log.key"),
        witness_key: p.join("witness.key"),
        state: p.join("witness-state"),
        _root: root,
    }
}

fn key() -> Key {
    Key::from_bytes([5; 32])
}

fn config(s: &Setup, trail: &Path) -> WriterConfig {
    let command = vec![
        AUDIT.to_owned(),
        "witness".to_owned(),
        "add".to_owned(),
        "--state".to_owned(),
        s.state.display().to_string(),
        "--key".to_owned(),
        s.witness_key.display().to_string(),
        "--log-key".to_owned(),
        format!("{}.pub", s.log_key.display()),
    ];
    WriterConfig::new(trail, "billing", key())
        .signing_key(SigningKey::from_file(&s.log_key).unwrap())
        .checkpoint_interval(Duration::ZERO)
        .witness_command(command)
}

/// Writes `n` events, waits until the witness answered the last checkpoint
/// (cosigned or not), and closes; returns the writer's (cosigned, failed) counts.
fn run(s: &Setup, trail: &Path, n: u64) -> (u64, u64) {
    let mut w = Writer::open(config(s, trail)).unwrap();
    for i in 0..n {
        w.append(&[Event::new("invoice.paid").field("n", format!("{i}")).into()])
            .unwrap();
    }
    // Submissions run on the writer's witness thread: wait for an answer (a
    // condition, not a measured time; the bound only keeps a bug from hanging).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while w.witness_counts() == (0, 0) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let counts = w.witness_counts();
    w.close().unwrap();
    counts
}

fn witness_pub(s: &Setup) -> PathBuf {
    let out = Command::new(AUDIT)
        .args(["witness", "key"])
        .arg(&s.witness_key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let path = s.state.with_extension("pub");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

fn verify_cosigned(s: &Setup, trail: &Path) -> std::process::Output {
    Command::new(AUDIT)
        .arg("verify")
        .arg(trail)
        .arg("--pubkey")
        .arg(format!("{}.pub", s.log_key.display()))
        .arg("--checkpoint")
        .arg(trail.join("checkpoint.cosigned"))
        .arg("--witness-key")
        .arg(witness_pub(s))
        .output()
        .unwrap()
}

#[test]
fn the_writer_gets_its_checkpoints_cosigned_across_a_restart() {
    let s = setup();
    run(&s, &s.trail, 20);
    let out = verify_cosigned(&s, &s.trail);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let first = std::fs::read_to_string(s.trail.join("checkpoint.cosigned")).unwrap();
    // The cosigned checkpoint is the final one: the whole trail, seal included.
    assert_eq!(
        first,
        std::fs::read_to_string(s.trail.join("checkpoint")).unwrap()
            + first.lines().last().unwrap()
            + "\n"
    );

    // A new writer does not know what the witness holds: the witness says, and
    // the writer proves from there.
    run(&s, &s.trail, 20);
    let second = std::fs::read_to_string(s.trail.join("checkpoint.cosigned")).unwrap();
    assert_ne!(first, second);
    let out = verify_cosigned(&s, &s.trail);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report = verify_dir(&s.trail, &VerifyOptions::new().key(key())).unwrap();
    assert!(report.ok());
}

#[test]
fn a_witness_refuses_a_trail_rolled_back_and_the_writer_says_so() {
    let s = setup();
    run(&s, &s.trail, 10);
    let old = s.trail.with_extension("old");
    copy_dir(&s.trail, &old);
    let (ok, _) = run(&s, &s.trail, 10);
    assert!(ok > 0);
    let cosigned = std::fs::read_to_string(s.trail.join("checkpoint.cosigned")).unwrap();
    // The attacker restores the old copy and the service writes on.
    std::fs::remove_dir_all(&s.trail).unwrap();
    copy_dir(&old, &s.trail);
    let before = std::fs::read_to_string(s.trail.join("checkpoint.cosigned")).unwrap();
    let (ok, failed) = run(&s, &s.trail, 30);
    assert_eq!(ok, 0, "the witness cosigned a rolled-back trail");
    assert!(failed > 0);
    assert_eq!(
        std::fs::read_to_string(s.trail.join("checkpoint.cosigned")).unwrap(),
        before,
        "nothing newer was cosigned"
    );
    // The checkpoint the witness holds (any auditor can get it from the witness)
    // shows the trail is not an extension of what was cosigned.
    let held = s.trail.with_extension("held");
    std::fs::write(&held, &cosigned).unwrap();
    let out = Command::new(AUDIT)
        .arg("verify")
        .arg(&s.trail)
        .arg("--pubkey")
        .arg(format!("{}.pub", s.log_key.display()))
        .arg("--checkpoint")
        .arg(&held)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["first_failure"]["kind"], "inconsistent", "{v}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}
