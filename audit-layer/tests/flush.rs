//! `flush()`: making the records emitted so far durable from code that does not
//! hold the guard — awaited in async code, or waited for in a thread.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tracing_audit_core::storage::FaultStorage;
use tracing_audit_core::{Durability, Key, Writer, WriterConfig};
use tracing_audit_layer::{AuditBuilder, ErrorKind, flush};
use tracing_audit_testkit::{Captured, block_on, dispatch, emit_range, events, wait_until};

fn key() -> Key {
    Key::from_bytes([7; 32])
}

/// A stream whose storage can simulate a power cut, written without any fsync of
/// its own: only a flush makes anything durable.
fn never_synced(trail: &Path) -> (FaultStorage, WriterConfig) {
    let faults = FaultStorage::new();
    let mut config =
        WriterConfig::new(trail, "flush-test", key()).storage(Arc::new(faults.clone()));
    config.durability = Durability::Never;
    (faults, config)
}

fn recover(trail: &Path) {
    Writer::open(WriterConfig::new(trail, "flush-test", key()))
        .unwrap()
        .close()
        .unwrap();
}

#[test]
fn an_awaited_flush_makes_the_records_before_it_survive_a_power_cut() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    let (faults, config) = never_synced(&trail);
    let (audit, guard) = AuditBuilder::new(config).build().unwrap();
    let d = dispatch(audit, &Captured::default());
    emit_range(&d, 0, 5);
    // As a handler would: ask within the request's dispatcher, await anywhere.
    let flushed = tracing::dispatcher::with_default(&d, flush);
    block_on(flushed).unwrap();
    // Two more, written but never fsynced: the power cut takes them.
    emit_range(&d, 5, 7);
    wait_until("the two are written", || guard.health().written == 7);
    faults.crash_now();
    let _ = guard.shutdown_within(Duration::from_millis(100));
    recover(&trail);
    let n: Vec<u64> = events(&trail)
        .iter()
        .map(|e| e["fields"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(n, [0, 1, 2, 3, 4], "the flushed five, and only them");
}

#[test]
fn a_blocking_flush_waits_for_the_records_too() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    let (faults, config) = never_synced(&trail);
    let (audit, guard) = AuditBuilder::new(config).build().unwrap();
    let d = dispatch(audit, &Captured::default());
    emit_range(&d, 0, 3);
    tracing::dispatcher::with_default(&d, || flush().wait()).unwrap();
    faults.crash_now();
    let _ = guard.shutdown_within(Duration::from_millis(100));
    recover(&trail);
    assert_eq!(events(&trail).len(), 3);
}

#[test]
fn a_flush_without_an_audit_layer_says_so() {
    let err = flush().wait().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Install, "{err}");
    assert!(err.to_string().contains("no audit layer"), "{err}");
    let err = block_on(flush()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Install, "{err}");
}

/// An awaited flush on a hung disk must end at its deadline: nothing but the
/// deadline timer can wake the task then.
#[test]
fn an_awaited_flush_on_a_hung_writer_ends_at_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, guard) = AuditBuilder::new(WriterConfig::new(dir.path(), "flush-test", key()))
        .build()
        .unwrap();
    let d = dispatch(audit, &Captured::default());
    let stall = guard.stall_writer();
    emit_range(&d, 0, 4);
    let pending = tracing::dispatcher::with_default(&d, flush).within(Duration::from_millis(200));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(block_on(pending)).unwrap());
    let result = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the awaited flush ends at its deadline, woken by the timer");
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.unwritten(), 4, "{err}");
    drop(stall);
    guard.shutdown().unwrap();
    assert_eq!(events(dir.path()).len(), 4);
}

#[test]
fn a_flush_after_shutdown_says_the_writer_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, guard) = AuditBuilder::new(WriterConfig::new(dir.path(), "flush-test", key()))
        .build()
        .unwrap();
    let d = dispatch(audit, &Captured::default());
    guard.shutdown().unwrap();
    let err = tracing::dispatcher::with_default(&d, || flush().wait()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Stopped, "{err}");
}

/// Red-team finding: `Duration::MAX` as a deadline panicked ("overflow when
/// adding duration to instant"), and in `shutdown_within` it left the segment
/// unsealed.
#[test]
fn duration_max_means_no_deadline_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, guard) = AuditBuilder::new(WriterConfig::new(dir.path(), "flush-test", key()))
        .build()
        .unwrap();
    let d = dispatch(audit, &Captured::default());
    emit_range(&d, 0, 2);
    tracing::dispatcher::with_default(&d, || flush().within(Duration::MAX).wait()).unwrap();
    block_on(tracing::dispatcher::with_default(&d, flush).within(Duration::MAX)).unwrap();
    guard.flush_within(Duration::MAX).unwrap();
    guard.shutdown_within(Duration::MAX).unwrap();
    let report = tracing_audit_core::verify_dir(
        dir.path(),
        &tracing_audit_core::VerifyOptions::new().key(key()),
    )
    .unwrap();
    assert!(report.ok() && report.end_proven(), "{report:?}");
}

/// Red-team finding: `audit!` then `flush()` answered `Ok` for a record the queue
/// had dropped (overflow policy `Drop`, queue full).
#[test]
fn a_flush_after_a_dropped_event_of_this_thread_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, guard) = AuditBuilder::new(WriterConfig::new(dir.path(), "flush-test", key()))
        .overflow(tracing_audit_layer::Overflow::Drop)
        .queue_capacity(1)
        .build()
        .unwrap();
    let d = dispatch(audit, &Captured::default());
    let stall = guard.stall_writer();
    emit_range(&d, 0, 4); // one or two taken by the stalled writer, one queued, the rest dropped
    wait_until("a drop", || guard.health().dropped > 0);
    drop(stall);
    let err = tracing::dispatcher::with_default(&d, || flush().wait()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Dropped, "{err}");
    // Said once: the next flush covers what came after.
    tracing::dispatcher::with_default(&d, || flush().wait()).unwrap();
    guard.shutdown().unwrap();
}

/// Red-team finding: flushes racing a shutdown were answered `Ok` for events that
/// reached the queue after the writer's last batch. Every `Ok` must stand for
/// records in the trail.
#[test]
fn flushes_racing_a_shutdown_never_answer_ok_for_an_unwritten_record() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let (audit, guard) = AuditBuilder::new(WriterConfig::new(dir.path(), "flush-test", key()))
            .build()
            .unwrap();
        let d = dispatch(audit, &Captured::default());
        let confirmed = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let (d, confirmed) = (&d, &confirmed);
                s.spawn(move || {
                    for i in 0..200u64 {
                        let n = t * 1000 + i;
                        emit_range(d, n, n + 1);
                        if tracing::dispatcher::with_default(d, || flush().wait()).is_ok() {
                            confirmed.lock().unwrap().push(n);
                        }
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(5));
            let _ = guard.shutdown();
        });
        let written: std::collections::HashSet<u64> = events(dir.path())
            .iter()
            .map(|e| e["fields"]["n"].as_u64().unwrap())
            .collect();
        for n in confirmed.into_inner().unwrap() {
            assert!(
                written.contains(&n),
                "flush said Ok for {n}, not in the trail"
            );
        }
    }
}
