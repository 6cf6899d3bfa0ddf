//! Issue 10, item 3: whether the end of a trail is proven. A trail whose newest
//! segment was deleted, or whose last lines (seal included) were cut, verified as
//! intact with nothing to say that it may have been cut.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use tracing_audit_core::{
    End, Event, Key, Report, Rotation, Stream, Timestamp, VerifyOptions, Writer, WriterConfig,
    verify_dir,
};

fn key() -> Key {
    Key::from_bytes([0x42; 32])
}

fn config(dir: &Path) -> WriterConfig {
    let mut c = WriterConfig::new(dir, "end-test", key());
    c.rotation = "size:2KiB".parse::<Rotation>().unwrap();
    c
}

/// A writer that has written `events` events over several segments.
fn writer(dir: &Path, events: u64) -> Writer {
    let mut w = Writer::open(config(dir)).unwrap();
    for i in 0..events {
        w.append(&[Event::new("pool.created").field("i", i).into()])
            .unwrap();
    }
    w
}

/// A closed trail of several segments (of an open record, 4 events and a seal;
/// 22 events leave 2 events in the newest).
fn trail(events: u64) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    writer(tmp.path(), events).close().unwrap();
    assert!(segments(tmp.path()).len() >= 3);
    tmp
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let stream = Stream::open(dir).unwrap();
    stream
        .segments()
        .iter()
        .map(|n| stream.segment_path(n))
        .collect()
}

fn verify(dir: &Path) -> Report {
    verify_dir(dir, &VerifyOptions::new().key(key())).unwrap()
}

fn not_proven_reason(report: &Report) -> &str {
    match &report.end {
        End::NotProven { reason } => reason,
        other => panic!("expected the end not proven, found {other:?}"),
    }
}

/// Copies the segment files (not the lock file) of `from` into a new directory.
fn copy_segments(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for seg in segments(from) {
        std::fs::copy(&seg, to.path().join(seg.file_name().unwrap())).unwrap();
    }
    to
}

fn cut_last_lines(path: &Path, n: usize) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    std::fs::write(path, lines[..lines.len() - n].concat()).unwrap();
}

#[test]
fn a_closed_trail_ends_sealed() {
    let t = trail(22);
    let r = verify(t.path());
    assert!(r.ok() && r.end_proven(), "{:?}", r.end);
    assert_eq!(r.end, End::Sealed);
    assert_eq!(r.end.as_str(), "sealed");
    assert_eq!(r.records_in_window, None);
}

#[test]
fn a_trail_whose_newest_segment_was_deleted_does_not_prove_its_end() {
    let t = trail(22);
    let segs = segments(t.path());
    let newest = segs.last().unwrap();
    std::fs::remove_file(newest).unwrap();
    let r = verify(t.path());
    assert!(r.ok(), "not tampering: {:?}", r.failures);
    assert!(!r.end_proven());
    let reason = not_proven_reason(&r);
    // The newest file's name begins with seg-<its first seq>-: the reason names it.
    let name = newest.file_name().unwrap().to_str().unwrap();
    let prefix = &name[..25];
    let sealed = segs[segs.len() - 2].file_name().unwrap().to_str().unwrap();
    assert!(
        reason.contains("sealed for rotation")
            && reason.contains(prefix)
            && reason.contains(sealed),
        "{reason}"
    );
}

#[test]
fn a_trail_with_its_last_lines_and_seal_cut_does_not_prove_its_end() {
    let t = trail(22);
    let newest = segments(t.path()).pop().unwrap();
    cut_last_lines(&newest, 2);
    let r = verify(t.path());
    assert!(r.ok(), "not tampering: {:?}", r.failures);
    let reason = not_proven_reason(&r);
    assert!(
        reason.contains("ends without a seal")
            && reason.contains(newest.file_name().unwrap().to_str().unwrap()),
        "{reason}"
    );
}

#[test]
fn a_live_writer_holds_the_end_open_and_the_same_bytes_without_it_do_not() {
    let tmp = tempfile::tempdir().unwrap();
    let w = writer(tmp.path(), 20);
    let r = verify(tmp.path());
    assert!(r.ok(), "{:?}", r.failures);
    assert_eq!(r.end, End::LiveWriter);
    assert!(r.end_proven());
    assert_eq!(r.end.as_str(), "live_writer");

    // The same segments with no writer: unsealed, nothing proves the end.
    let copy = copy_segments(tmp.path());
    let r = verify(copy.path());
    assert!(r.ok(), "{:?}", r.failures);
    assert!(not_proven_reason(&r).contains("no writer holds the stream's lock"));
    w.close().unwrap();
    assert_eq!(verify(tmp.path()).end, End::Sealed);
}

#[test]
fn the_lock_probe_does_not_follow_a_symlinked_lock_file() {
    let live = tempfile::tempdir().unwrap();
    let w = writer(live.path(), 5);
    let copy = copy_segments(live.path());
    std::os::unix::fs::symlink(live.path().join(".lock"), copy.path().join(".lock")).unwrap();
    let r = verify(copy.path());
    assert!(
        !r.end_proven(),
        "a .lock symlinked to another stream's lock is not this stream's writer: {:?}",
        r.end
    );
    drop(w);
}

#[test]
fn verifying_does_not_create_a_lock_file() {
    let t = trail(22);
    let copy = copy_segments(t.path());
    let _ = verify(copy.path());
    assert!(!copy.path().join(".lock").exists());
}

#[test]
fn a_window_that_stops_before_the_newest_segment_ends_at_a_seal() {
    let t = trail(22);
    let newest = segments(t.path()).pop().unwrap();
    cut_last_lines(&newest, 2);
    let opts = VerifyOptions::new()
        .key(key())
        .to(Timestamp::parse("2000-01-01").unwrap());
    let r = verify_dir(t.path(), &opts).unwrap();
    assert_eq!(r.segments.len(), 1);
    assert_eq!(r.end, End::Sealed, "the next segment follows the window");
    assert_eq!(r.records_in_window, Some(0));
}

#[test]
fn a_window_counts_the_records_inside_it() {
    let t = trail(22);
    let all = verify(t.path()).records;
    let opts = |o: VerifyOptions| verify_dir(t.path(), &o.key(key())).unwrap();
    let past = Timestamp::parse("2000-01-01").unwrap();
    let future = Timestamp::parse("2999-01-01").unwrap();
    assert_eq!(
        opts(VerifyOptions::new().from(past)).records_in_window,
        Some(all)
    );
    let r = opts(VerifyOptions::new().from(future));
    assert_eq!(r.records_in_window, Some(0));
    assert!(r.records > 0, "the newest segment is still verified");
    assert!(r.ok() && r.end_proven());
}

#[test]
fn a_torn_tail_without_a_writer_is_a_failure_and_leaves_the_end_unproven() {
    let t = trail(22);
    let newest = segments(t.path()).pop().unwrap();
    cut_last_lines(&newest, 1);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&newest)
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"v\":1,\"seq\":").unwrap();
    let r = verify(t.path());
    assert!(!r.ok());
    assert!(!r.end_proven());
}
