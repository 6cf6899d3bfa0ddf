//! Issue 13, finding 8: an entry of the stream directory named like a segment that
//! is not a regular file (a FIFO, a directory, a symlink loop). `Writer::open`
//! refuses to start with an error naming it, and never hangs; `verify_dir` reports
//! it as `not_a_segment` and verifies the rest. Each call runs on a thread watched
//! by a deadline, so a hang fails the test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use tracing_audit_core::{
    ErrorKind, Event, FailureKind, Key, Rotation, VerifyOptions, Writer, WriterConfig, verify_dir,
};

const KEY_HEX: &str = "4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d";

fn key() -> Key {
    Key::from_hex(KEY_HEX).unwrap()
}

fn config(dir: &Path) -> WriterConfig {
    let mut c = WriterConfig::new(dir, "issue13", key());
    c.rotation = "size:2KiB".parse::<Rotation>().unwrap();
    c
}

/// A closed trail of a few segments.
fn trail(tmp: &Path) -> PathBuf {
    let dir = tmp.join("trail");
    let mut w = Writer::open(config(&dir)).unwrap();
    for i in 0..40u64 {
        w.append(&[Event::new("pool.created").field("i", i).into()])
            .unwrap();
    }
    w.close().unwrap();
    dir
}

/// Runs `f` on a thread; panics when it has not returned within 20 s (the thread
/// is left behind, blocked: the test process ends with the test).
fn within_deadline<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what} hung (no answer after 20 s)"))
}

#[derive(Debug, Clone, Copy)]
enum Plant {
    Fifo,
    Directory,
    SymlinkLoop,
}

const PLANTS: [Plant; 3] = [Plant::Fifo, Plant::Directory, Plant::SymlinkLoop];

fn plant(path: &Path, what: Plant) {
    match what {
        Plant::Fifo => {
            let made = std::process::Command::new("mkfifo")
                .arg(path)
                .status()
                .unwrap();
            assert!(made.success());
        }
        Plant::Directory => std::fs::create_dir(path).unwrap(),
        Plant::SymlinkLoop => std::os::unix::fs::symlink(path, path).unwrap(),
    }
}

/// Names that sort newest, in the middle and oldest of the trail's segments.
const NAMES: [&str; 3] = [
    "seg-00000000000000009999-20991231T000000Z.jsonl",
    "seg-00000000000000000001-20261124T000000Z.jsonl",
    "seg-00000000000000000000-20000101T000000Z.jsonl",
];

/// Finding 8: `Writer::open` refused a FIFO or a directory named like the newest
/// segment only through an I/O error of the open (and started over one named like
/// an older segment as if it were not there); now it refuses every such entry,
/// with a `Corrupt` error at its path that says what it is, and never hangs.
#[test]
fn finding_8_writer_open_refuses_an_entry_named_like_a_segment_that_is_not_a_file() {
    for what in PLANTS {
        for name in NAMES {
            let tmp = tempfile::tempdir().unwrap();
            let dir = trail(tmp.path());
            let path = dir.join(name);
            plant(&path, what);
            let c = config(&dir);
            let err = within_deadline("Writer::open", move || Writer::open(c).err())
                .unwrap_or_else(|| panic!("{what:?} as {name}: the writer started"));
            assert_eq!(err.kind(), ErrorKind::Corrupt, "{what:?} {name}: {err}");
            assert_eq!(err.path(), Some(path.as_path()), "{err}");
            let msg = err.to_string();
            let expected = match what {
                Plant::Fifo => "found a FIFO",
                Plant::Directory => "found a directory",
                Plant::SymlinkLoop => "found a symlink",
            };
            assert!(msg.contains(expected) && msg.contains(name), "{msg}");
        }
    }
}

/// Finding 8: `verify_dir` reports each such entry as one `not_a_segment` failure
/// (the report is not ok), and still verifies the trail's segments.
#[test]
fn finding_8_verify_dir_reports_an_entry_named_like_a_segment_that_is_not_a_file() {
    for what in PLANTS {
        let tmp = tempfile::tempdir().unwrap();
        let dir = trail(tmp.path());
        let intact = verify_dir(&dir, &VerifyOptions::new().key(key())).unwrap();
        assert!(intact.ok());
        plant(&dir.join(NAMES[1]), what);
        let d = dir.clone();
        let report = within_deadline("verify_dir", move || {
            verify_dir(&d, &VerifyOptions::new().key(key()))
        })
        .unwrap_or_else(|e| panic!("{what:?}: {e}"));
        assert!(!report.ok(), "{what:?}");
        let planted: Vec<_> = report
            .failures
            .iter()
            .filter(|f| f.kind == FailureKind::NotASegment)
            .collect();
        assert_eq!(planted.len(), 1, "{what:?}: {:?}", report.failures);
        assert_eq!(planted[0].file, NAMES[1]);
        assert_eq!(report.records, intact.records, "{what:?}");
        assert_eq!(report.segments.len(), intact.segments.len(), "{what:?}");
    }
}
