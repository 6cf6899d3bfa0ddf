//! Restart continuity, recovery of torn tails, and refusal of everything else.

use std::os::unix::fs::PermissionsExt as _;

use tracing_audit::Rotation;
use tracing_audit::storage::{ErrorKind, Opened, Writer};

use crate::common::{config, event, file_name, lines, rewrite, segments, verify};

#[test]
fn write_close_reopen_write_rotate_reopen_is_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(config(dir.path())).unwrap();
    assert_eq!(w.opened(), &Opened::New);
    w.append(&[event(0), event(1)]).unwrap();
    w.close().unwrap();

    let mut c = config(dir.path());
    c.rotation = "size:2KiB".parse::<Rotation>().unwrap();
    let mut w = Writer::open(c.clone()).unwrap();
    assert_eq!(w.opened(), &Opened::Clean);
    let seq_after_restart = w.next_seq();
    assert_eq!(
        seq_after_restart,
        Some(5),
        "open, 2 events, seal, then the new open"
    );
    for i in 0..20 {
        w.append(&[event(i)]).unwrap();
    }
    w.close().unwrap();

    let w = Writer::open(c).unwrap();
    assert_eq!(w.opened(), &Opened::Clean);
    w.close().unwrap();

    let report = verify(dir.path());
    assert!(report.ok(), "{:?}", report.failures);
    assert!(
        report.segments.len() >= 5,
        "rotation happened: {:?}",
        report.segments
    );
    // One unbroken chain: every seq from 0, each segment sealed.
    let mut expected = 0;
    for s in &report.segments {
        assert_eq!(s.first_seq, Some(expected));
        assert!(s.sealed);
        expected = s.last_seq.unwrap() + 1;
    }
    assert_eq!(report.records, expected);
}

#[test]
fn files_and_directory_are_private_and_sealed_segments_read_only() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("trail");
    let mut w = Writer::open(config(&dir)).unwrap();
    w.append(&[event(0)]).unwrap();
    let active = dir.join(w.segment_name());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&active), 0o600);
    w.close().unwrap();
    assert_eq!(mode(&active), 0o400);
}

#[test]
fn a_second_writer_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _w = Writer::open(config(dir.path())).unwrap();
    let err = Writer::open(config(dir.path())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Locked);
    let msg = err.to_string();
    assert!(
        msg.contains(".lock") && msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
}

/// Makes the newest segment look like a crash: no seal, and `tail` appended.
fn crash_with_tail(dir: &std::path::Path, tail: &str) -> String {
    let segs = segments(dir);
    let path = segs.last().unwrap();
    let mut ls = lines(path);
    assert!(ls.pop().unwrap().contains("\"kind\":\"seal\""));
    rewrite(path, &(ls.concat() + tail));
    file_name(path)
}

#[test]
fn torn_tail_is_cut_and_a_recovery_record_says_so() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::write_trail(dir.path(), 5, "daily");
    let tail = "{\"v\":1,\"seq\":7,\"ts\":\"20";
    let seg = crash_with_tail(dir.path(), tail);
    let mut w = Writer::open(config(dir.path())).unwrap();
    assert_eq!(
        w.opened(),
        &Opened::Recovered {
            segment: seg.clone(),
            cut_bytes: tail.len() as u64,
            removed: false
        }
    );
    w.append(&[event(99)]).unwrap();
    w.close().unwrap();
    let ls = lines(&dir.path().join(&seg));
    let rec: serde_json::Value = serde_json::from_str(&ls[6]).unwrap();
    assert_eq!(rec["kind"], "recovery");
    assert_eq!(rec["cut_bytes"], tail.len());
    assert_eq!(rec["seq"], 6);
    let report = verify(dir.path());
    assert!(report.ok(), "{:?}", report.failures);
}

#[test]
fn unclean_shutdown_without_torn_bytes_is_recorded_too() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::write_trail(dir.path(), 3, "daily");
    let seg = crash_with_tail(dir.path(), "");
    let w = Writer::open(config(dir.path())).unwrap();
    assert_eq!(
        w.opened(),
        &Opened::Recovered {
            segment: seg,
            cut_bytes: 0,
            removed: false
        }
    );
    w.close().unwrap();
    assert!(verify(dir.path()).ok());
}

#[test]
fn crash_while_creating_a_segment_removes_it_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::write_trail(dir.path(), 3, "daily");
    // A new segment whose open record never fully reached the disk.
    let torn = dir
        .path()
        .join("seg-00000000000000000005-20991231T000000Z.jsonl");
    let tail = "{\"v\":1,\"se";
    std::fs::write(&torn, tail).unwrap();
    let w = Writer::open(config(dir.path())).unwrap();
    assert_eq!(
        w.opened(),
        &Opened::Recovered {
            segment: file_name(&torn),
            cut_bytes: tail.len() as u64,
            removed: true
        }
    );
    w.close().unwrap();
    assert!(!torn.exists());
    let report = verify(dir.path());
    assert!(report.ok(), "{:?}", report.failures);
}

#[test]
fn corruption_before_the_tail_is_refused_and_nothing_is_changed() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::write_trail(dir.path(), 6, "daily");
    crash_with_tail(dir.path(), "");
    let path = segments(dir.path()).pop().unwrap();
    let mut ls = lines(&path);
    ls[3] = ls[3].replacen("\"pool-", "\"poOl-", 1);
    rewrite(&path, &ls.concat());
    let before = std::fs::read(&path).unwrap();
    let err = Writer::open(config(dir.path())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
    assert_eq!(err.line_number(), Some(4));
    assert_eq!(err.path(), Some(path.as_path()));
    assert!(err.to_string().contains("hash_mismatch"), "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "nothing may be repaired"
    );
}

#[test]
fn bytes_after_a_seal_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::write_trail(dir.path(), 2, "daily");
    let path = segments(dir.path()).pop().unwrap();
    rewrite(&path, &(lines(&path).concat() + "garbage"));
    let err = Writer::open(config(dir.path())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corrupt);
}

#[test]
fn another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::write_trail(dir.path(), 2, "daily");
    crash_with_tail(dir.path(), "");
    let mut c = config(dir.path());
    c.key = tracing_audit::Key::from_hex(&"11".repeat(32)).unwrap();
    let err = Writer::open(c).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key);
    assert!(err.to_string().contains(crate::common::key().id()), "{err}");
}

#[test]
fn durability_policies_say_whether_a_batch_was_fsynced() {
    use std::time::Duration;
    use tracing_audit::Durability;
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.durability = Durability::Interval(Duration::from_secs(3600));
    let mut w = Writer::open(c).unwrap();
    assert!(
        !w.append(&[event(0)]).unwrap().durable,
        "an hour has not passed"
    );
    w.sync().unwrap();
    w.close().unwrap();

    let mut c = config(dir.path());
    c.durability = Durability::Interval(Duration::ZERO);
    let mut w = Writer::open(c).unwrap();
    assert!(w.append(&[event(1)]).unwrap().durable);
    w.close().unwrap();

    let mut c = config(dir.path());
    c.durability = Durability::Never;
    let mut w = Writer::open(c).unwrap();
    assert!(!w.append(&[event(2)]).unwrap().durable);
    w.close().unwrap();
    assert!(verify(dir.path()).ok());
}

#[test]
fn size_rotation_keeps_segments_near_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.rotation = "size:4KiB".parse::<Rotation>().unwrap();
    let mut w = Writer::open(c).unwrap();
    // One big batch must be split across segments too.
    let batch: Vec<_> = (0..100).map(event).collect();
    let a = w.append(&batch).unwrap();
    assert_eq!(a.first_seq, Some(1));
    w.close().unwrap();
    let segs = segments(dir.path());
    assert!(segs.len() >= 10, "{} segments", segs.len());
    for s in &segs {
        let len = std::fs::metadata(s).unwrap().len();
        // The limit, plus at most the record that crossed it and the seal.
        assert!(len < 4096 + 1200, "{} is {len} bytes", file_name(s));
    }
    let report = verify(dir.path());
    assert!(report.ok(), "{:?}", report.failures);
    // Each segment adds its open and seal records, each rotation an epoch record
    // (the key epoch advances at every rotation).
    let n = segs.len() as u64;
    assert_eq!(report.records, 100 + 2 * n + (n - 1));
}
