//! The storage seam under faults: every call of a write + rotate + close sequence
//! fails in turn, and the writer crashes after every call in turn; each time the
//! stream reopens with the real backend, nothing acknowledged is lost, recovery
//! is what docs/FORMAT.md §6 says, and the trail verifies.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use tracing_audit_core::storage::{FaultStorage, Op};
use tracing_audit_core::{
    Entry, Event, Key, Opened, Rotation, Stream, VerifyOptions, Writer, WriterConfig, verify_dir,
};

fn key() -> Key {
    Key::from_bytes([9; 32])
}

fn config(dir: &Path) -> WriterConfig {
    WriterConfig::new(dir, "faults", key()).rotation(Rotation::never().max_bytes(1500))
}

const BATCHES: u64 = 5;
const PER_BATCH: u64 = 2;

fn batch(b: u64) -> Vec<Entry> {
    (0..PER_BATCH)
        .map(|i| Event::new("task.run").field("n", b * PER_BATCH + i).into())
        .collect()
}

/// Opens, appends every batch, closes; stops at the first error. Returns the
/// events acknowledged as durable and whether an error was reported.
fn run(dir: &Path, storage: &FaultStorage) -> (BTreeSet<u64>, bool) {
    let mut acked = BTreeSet::new();
    let mut w = match Writer::open(config(dir).storage(Arc::new(storage.clone()))) {
        Ok(w) => w,
        Err(_) => return (acked, true),
    };
    for b in 0..BATCHES {
        match w.append(&batch(b)) {
            Ok(a) => {
                assert!(a.durable, "the default durability fsyncs every batch");
                acked.extend((0..PER_BATCH).map(|i| b * PER_BATCH + i));
            }
            Err(_) => return (acked, true),
        }
    }
    (acked, w.close().is_err())
}

/// The `n` of every event of the trail, checking every record as it is read.
fn events(dir: &Path) -> Vec<u64> {
    let stream = Stream::open(dir).unwrap();
    stream
        .verified(Some(key()))
        .map(|r| r.unwrap())
        .filter(|r| r.kind == Some(tracing_audit_core::RecordKind::Event))
        .map(|r| r.json().unwrap()["fields"]["n"].as_u64().unwrap())
        .collect()
}

/// What docs/FORMAT.md §6 says the next writer finds, from the files alone.
fn expected_opening(dir: &Path) -> Opened {
    let Ok(stream) = Stream::open(dir) else {
        return Opened::New;
    };
    let Some(newest) = stream.segments().last() else {
        return Opened::New;
    };
    let bytes = std::fs::read(stream.segment_path(newest)).unwrap();
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let cut_bytes = (bytes.len() - whole) as u64;
    let last = String::from_utf8_lossy(&bytes[..whole])
        .lines()
        .last()
        .map(str::to_owned);
    match last {
        None => Opened::Recovered {
            segment: newest.file_name.clone(),
            cut_bytes,
            removed: true,
        },
        Some(l) if l.contains(r#","kind":"seal","#) && cut_bytes == 0 => Opened::Clean,
        Some(_) => Opened::Recovered {
            segment: newest.file_name.clone(),
            cut_bytes,
            removed: false,
        },
    }
}

/// Reopens with the real backend, checks recovery and that nothing acknowledged
/// was lost, closes, and verifies.
fn reopen_and_check(dir: &Path, acked: &BTreeSet<u64>, what: &str) {
    let expected = expected_opening(dir);
    let w = Writer::open(config(dir)).unwrap_or_else(|e| panic!("{what}: reopen failed: {e}"));
    assert_eq!(w.opened(), &expected, "{what}");
    w.close().unwrap();
    let report = verify_dir(dir, &VerifyOptions::new().key(key())).unwrap();
    assert!(report.ok(), "{what}: {:?}", report.failures);
    let found = events(dir);
    let found_set: BTreeSet<u64> = found.iter().copied().collect();
    assert!(
        acked.is_subset(&found_set),
        "{what}: acknowledged {acked:?}, found {found:?}"
    );
    assert_eq!(
        found.len(),
        found_set.len(),
        "{what}: an event twice: {found:?}"
    );
}

/// The calls of a clean run.
fn clean_run_calls() -> Vec<Op> {
    let tmp = tempfile::tempdir().unwrap();
    let storage = FaultStorage::new();
    let (acked, failed) = run(&tmp.path().join("trail"), &storage);
    assert!(!failed);
    assert_eq!(acked.len() as u64, BATCHES * PER_BATCH);
    storage.log().into_iter().map(|(op, _)| op).collect()
}

#[test]
fn a_clean_run_rotates_and_uses_every_writer_operation() {
    let ops: BTreeSet<Op> = clean_run_calls().into_iter().collect();
    for op in [
        Op::CreateDir,
        Op::List,
        Op::Lock,
        Op::Create,
        Op::Append,
        Op::SyncData,
        Op::SyncDir,
        Op::SetReadonly,
    ] {
        assert!(ops.contains(&op), "{op:?} not used: {ops:?}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("trail");
    let (_, failed) = run(&dir, &FaultStorage::new());
    assert!(!failed);
    assert!(Stream::open(&dir).unwrap().segments().len() >= 3, "rotates");
}

#[test]
fn each_failing_call_is_reported_and_loses_nothing_acknowledged() {
    let calls = clean_run_calls();
    let mut kinds = BTreeSet::new();
    for (i, op) in calls.iter().enumerate() {
        let nth = i as u64 + 1;
        let errno = if nth.is_multiple_of(2) {
            libc::ENOSPC
        } else {
            libc::EIO
        };
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("trail");
        let storage = FaultStorage::new();
        storage.fail_nth_call(nth, errno);
        let (acked, failed) = run(&dir, &storage);
        let what = format!("call {nth} ({op:?}) fails with errno {errno}");
        assert!(failed, "{what}: the writer reported no error");
        kinds.insert(*op);
        // The same failure, aimed by kind, fails the same call.
        let of_kind = calls[..=i].iter().filter(|o| *o == op).count() as u64;
        let by_kind = FaultStorage::new();
        by_kind.fail_nth(*op, of_kind, errno);
        let tmp2 = tempfile::tempdir().unwrap();
        assert!(
            run(&tmp2.path().join("trail"), &by_kind).1,
            "{what}, aimed by kind"
        );
        reopen_and_check(&dir, &acked, &what);
    }
    assert!(kinds.len() >= 8, "{kinds:?}");
}

#[test]
fn a_crash_after_each_call_keeps_every_durable_record_and_recovers() {
    let calls = clean_run_calls().len() as u64;
    let mut recovered = 0;
    for n in 0..calls {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("trail");
        let storage = FaultStorage::new();
        storage.crash_after(n);
        let (acked, failed) = run(&dir, &storage);
        assert!(failed && storage.crashed(), "crash after call {n}");
        if !dir.exists() {
            assert!(acked.is_empty());
            continue;
        }
        recovered += u32::from(matches!(expected_opening(&dir), Opened::Recovered { .. }));
        reopen_and_check(&dir, &acked, &format!("crash after call {n}"));
    }
    assert!(recovered > 0, "some crashes need a recovery");
}

#[test]
fn a_crash_cuts_what_was_not_synced() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("trail");
    let storage = FaultStorage::new();
    let config = config(&dir)
        .rotation(Rotation::never())
        .durability(tracing_audit_core::Durability::Never)
        .storage(Arc::new(storage.clone()));
    let mut w = Writer::open(config).unwrap();
    w.append(&batch(0)).unwrap();
    w.sync().unwrap();
    w.append(&batch(1)).unwrap(); // written, never synced
    storage.crash_now();
    assert!(w.append(&batch(2)).is_err());
    drop(w);
    reopen_and_check(&dir, &(0..PER_BATCH).collect(), "crash before a sync");
    assert_eq!(events(&dir), (0..PER_BATCH).collect::<Vec<_>>());
}

/// A stream that never fsyncs its records (`Durability::Never`) still fsyncs a
/// segment's seal before the next segment exists: a power cut after a rotation
/// used to leave a torn (or empty) older segment followed by a newer one, which
/// verification reads as tampering. What the power cut takes is the unsynced
/// tail, and the trail verifies.
#[test]
fn a_power_cut_after_a_rotation_without_fsync_leaves_a_trail_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let faults = FaultStorage::new();
    let mut cfg = config(dir.path()).storage(Arc::new(faults.clone()));
    cfg.durability = tracing_audit_core::Durability::Never;
    let mut w = Writer::open(cfg).unwrap();
    for b in 0..BATCHES {
        w.append(&batch(b)).unwrap();
    }
    assert!(
        Stream::open(dir.path()).unwrap().segments().len() >= 2,
        "the batches rotate at 1500 bytes"
    );
    faults.crash_now();
    drop(w);
    // Recovery with the real file system, then verification.
    Writer::open(config(dir.path())).unwrap().close().unwrap();
    let report = verify_dir(dir.path(), &VerifyOptions::new().key(key())).unwrap();
    assert!(report.ok(), "{report:?}");
    // The records sealed before the rotation survive the power cut.
    assert!(
        !events(dir.path()).is_empty(),
        "the sealed segment's records"
    );
}
