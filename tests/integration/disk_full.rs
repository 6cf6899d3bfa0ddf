//! A real disk filling up at every point of a write: events, seal, new segment,
//! open record. `append_partial` says how much was written; retrying the rest
//! writes nothing twice, and the trail verifies.

use std::path::Path;

use tracing_audit::storage::{Entry, Event, Writer};
use tracing_audit::{AUDIT_TARGET, AuditBuilder};

use crate::common::{Captured, SmallDisk, config, dispatch, emit_range, trail_events, verify};

/// The trail holds the events `n = 0..count`, each once, in order, and verifies.
fn assert_each_once_and_verified(trail: &Path, count: u64) {
    let ns: Vec<u64> = trail_events(trail)
        .iter()
        .map(|e| e["fields"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ns,
        (0..count).collect::<Vec<_>>(),
        "every event once, in order"
    );
    let report = verify(trail);
    assert!(report.ok(), "{:?}", report.failures);
}

fn emit(dispatch: &tracing::Dispatch, n: u64) {
    emit_range(dispatch, 0, n);
}

#[test]
#[ignore = "needs root: mounts a small tmpfs; .ci/run runs it"]
fn a_full_disk_at_any_point_of_a_rotation_is_resumed_without_duplicates() {
    let disk = SmallDisk::mount("8m");
    let trail = disk.dir.path().join("trail");
    let mut c = config(&trail);
    c.rotation = "size:1KiB".parse().unwrap();
    let mut writer = Writer::open(c).unwrap();
    let mut next = 0u64;
    let mut failures = 0;
    // Leave 0, 64, 128, … bytes free: the failure lands on a different record each
    // time (an event, the seal, the new segment's open record).
    for room in (0..6144u64).step_by(64) {
        let batch: Vec<Entry> = (next..next + 6)
            .map(|n| {
                Event::new("task.submitted")
                    .field("n", n)
                    .field("pad", "x".repeat(120))
                    .into()
            })
            .collect();
        next += 6;
        let filler = disk.fill_leaving(room);
        let mut rest: &[Entry] = &batch;
        if let Err(p) = writer.append_partial(rest) {
            failures += 1;
            assert!(p.error.to_string().contains("No space left"), "{p}");
            rest = &rest[p.written..];
        }
        std::fs::remove_file(&filler).unwrap();
        // The space comes back once no process holds the filler open any more: a
        // child forked by another test may hold it for a moment before its exec.
        let mut tries = 0;
        while !rest.is_empty() {
            match writer.append_partial(rest) {
                Ok(_) => rest = &[],
                Err(p) if tries < 100 && p.error.to_string().contains("No space left") => {
                    rest = &rest[p.written..];
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(p) => panic!("the disk has room again, yet: {p}"),
            }
        }
    }
    writer.close().unwrap();
    assert!(
        failures > 20,
        "the disk should have been full often: {failures}"
    );

    let report = verify(&trail);
    assert!(report.ok(), "{:?}", report.failures);
    let ns: Vec<u64> = crate::common::trail_events(&trail)
        .iter()
        .map(|v| v["fields"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ns,
        (0..next).collect::<Vec<_>>(),
        "every event once, in order"
    );
}

#[test]
#[ignore = "needs root: mounts a small tmpfs; .ci/run runs it"]
fn a_full_disk_is_retried_reported_and_loses_nothing_once_space_returns() {
    let disk = SmallDisk::mount("512k");
    let trail = disk.dir.path().join("trail");
    let (audit, guard) = AuditBuilder::new(config(&trail)).build().unwrap();
    let dispatch = dispatch(audit, &Captured::default());

    // Fill the disk.
    let filler_path = disk.fill_leaving(0);

    emit(&dispatch, 300);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while guard.is_healthy() {
        assert!(
            std::time::Instant::now() < deadline,
            "the full disk was never reported"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let health = guard.health();
    assert!(health.write_errors >= 1);
    let err = health.last_error.unwrap();
    assert!(
        err.contains("No space left") && err.contains("seg-"),
        "the error names the cause and the segment: {err}"
    );

    // Space returns: the retry succeeds, and flush() says when.
    std::fs::remove_file(&filler_path).unwrap();
    guard.flush().unwrap();
    assert!(guard.is_healthy());
    guard.shutdown().unwrap();

    assert_each_once_and_verified(&trail, 300);
}

#[test]
#[ignore = "needs root: mounts a small tmpfs; .ci/run runs it"]
fn a_disk_that_fills_up_during_rotation_loses_nothing_and_the_chain_verifies() {
    let disk = SmallDisk::mount("256k");
    let trail = disk.dir.path().join("trail");
    let mut config = config(&trail);
    // Rotate every few records, so that the disk fills up around rotations too:
    // sealing the old segment, creating the new one, writing its open record.
    config.rotation = "size:2KiB".parse().unwrap();
    let (audit, guard) = AuditBuilder::new(config).build().unwrap();
    let dispatch = dispatch(audit, &Captured::default());
    for round in 0..8u64 {
        // Fill the disk to within `room` bytes, different each round.
        let filler_path = disk.fill_leaving(512 * (round + 1));
        tracing::dispatcher::with_default(&dispatch, || {
            for i in 0..20u64 {
                tracing::event!(target: AUDIT_TARGET, tracing::Level::INFO,
                    audit.action = "task.submitted", n = round * 100 + i, pad = "x".repeat(100));
            }
        });
        // Let the writer fail (or not), then give the space back.
        std::thread::sleep(std::time::Duration::from_millis(150));
        std::fs::remove_file(&filler_path).unwrap();
        guard.flush().unwrap();
    }
    guard.shutdown().unwrap();
    let ns: Vec<u64> = trail_events(&trail)
        .iter()
        .map(|e| e["fields"]["n"].as_u64().unwrap())
        .collect();
    let want: Vec<u64> = (0..8u64)
        .flat_map(|r| (0..20).map(move |i| r * 100 + i))
        .collect();
    assert_eq!(ns, want, "every event once, in order");
    assert!(
        tracing_audit::storage::Stream::open(&trail)
            .unwrap()
            .segments()
            .len()
            > 10,
        "the trail rotated"
    );
    let report = verify(&trail);
    assert!(report.ok(), "{:?}", report.failures);
}

/// `chattr +i` on a directory: no new file can be created in it, even by root.
struct Immutable<'a>(&'a Path);

impl Drop for Immutable<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(self.0)
            .status();
    }
}

#[test]
#[ignore = "needs root: chattr +i; .ci/run runs it"]
fn a_directory_refusing_new_segments_is_retried_and_loses_nothing() {
    assert!(
        crate::common::is_root(),
        "chattr +i needs root: run as root with `-- --ignored`"
    );
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    let mut config = config(&trail);
    config.rotation = "size:2KiB".parse().unwrap();
    let (audit, guard) = AuditBuilder::new(config).build().unwrap();
    let dispatch = dispatch(audit, &Captured::default());
    let emit_range = |from: u64, to: u64| {
        tracing::dispatcher::with_default(&dispatch, || {
            for n in from..to {
                tracing::event!(target: AUDIT_TARGET, tracing::Level::INFO,
                    audit.action = "task.submitted", n = n, pad = "x".repeat(100));
            }
        });
    };
    emit_range(0, 5);
    guard.flush().unwrap();

    let status = std::process::Command::new("chattr")
        .arg("+i")
        .arg(&trail)
        .status()
        .unwrap();
    assert!(status.success(), "chattr +i failed as root");
    let immutable = Immutable(&trail);
    emit_range(5, 40); // needs new segments: refused
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while guard.is_healthy() {
        assert!(
            std::time::Instant::now() < deadline,
            "the refusal was never reported"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let err = guard.health().last_error.unwrap();
    assert!(
        err.contains("cannot create segment") && err.contains("Operation not permitted"),
        "{err}"
    );
    drop(immutable); // permission restored
    guard.flush().unwrap();
    guard.shutdown().unwrap();

    assert_each_once_and_verified(&trail, 40);
}
