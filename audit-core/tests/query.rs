//! `Query` (issue 12, item 1): each filter alone and combined, against a trail of
//! known contents; a window over a year of daily segments opens only the segments
//! in it.
#![allow(clippy::unwrap_used)]

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tracing_audit_core::query::Query;
use tracing_audit_core::storage::{AppendFile, FileStorage, ReadFile, Storage, TryLock};
use tracing_audit_core::{Event, Key, Outcome, Rotation, Stream, Timestamp, Writer, WriterConfig};

/// Twelve events: actions, actors, outcomes, resources and tenancy known.
fn trail(dir: &Path) {
    let mut w = Writer::open(WriterConfig::new(dir, "pools", Key::from_bytes([1; 32]))).unwrap();
    let mut batch = Vec::new();
    for i in 0..12u32 {
        let action = ["pool.create", "pool.delete", "auth.login"][(i % 3) as usize];
        let mut e = Event::new(action).field("i", u64::from(i));
        e.actor.id = Some(["alice", "bob"][(i % 2) as usize].into());
        e.outcome = if i % 4 == 0 {
            Outcome::Denied
        } else {
            Outcome::Success
        };
        e.resource = Some(format!("pool-{}", i % 3));
        e.org_id = Some(format!("org-{}", i % 2));
        e.project_id = Some("proj".into());
        e.request_id = Some(format!("req-{i}"));
        e.category = Some(
            if action.starts_with("pool") {
                "pools"
            } else {
                "auth"
            }
            .into(),
        );
        batch.push(e.into());
    }
    w.append(&batch).unwrap();
    w.close().unwrap();
}

/// The `i` field of each record `q` finds.
fn found(dir: &Path, q: &Query) -> Vec<u64> {
    let stream = Stream::open(dir).unwrap();
    q.run(&stream)
        .map(|r| r.unwrap().json().unwrap()["fields"]["i"].as_u64().unwrap())
        .collect()
}

#[test]
fn each_filter_alone_and_combined() {
    let dir = tempfile::tempdir().unwrap();
    trail(dir.path());
    let d = dir.path();
    assert_eq!(
        found(d, &Query::new()).len(),
        12,
        "every event, no open or seal"
    );
    assert_eq!(found(d, &Query::new().action("pool.delete")), [1, 4, 7, 10]);
    assert_eq!(
        found(d, &Query::new().action("pool.*")),
        [0, 1, 3, 4, 6, 7, 9, 10]
    );
    assert_eq!(
        found(d, &Query::new().action("pool.delete").action("auth.*")),
        [1, 2, 4, 5, 7, 8, 10, 11]
    );
    assert_eq!(found(d, &Query::new().category("auth")), [2, 5, 8, 11]);
    assert_eq!(found(d, &Query::new().actor("bob")), [1, 3, 5, 7, 9, 11]);
    assert_eq!(found(d, &Query::new().outcome("denied")), [0, 4, 8]);
    assert_eq!(found(d, &Query::new().resource("pool-2")), [2, 5, 8, 11]);
    assert_eq!(found(d, &Query::new().org("org-0")), [0, 2, 4, 6, 8, 10]);
    assert_eq!(found(d, &Query::new().project("proj")).len(), 12);
    assert_eq!(found(d, &Query::new().project("other")), Vec::<u64>::new());
    assert_eq!(found(d, &Query::new().request_id("req-7")), [7]);
    // Combined: every filter must hold.
    assert_eq!(
        found(
            d,
            &Query::new()
                .action("pool.*")
                .actor("alice")
                .outcome("denied")
        ),
        [0, 4]
    );
    assert_eq!(found(d, &Query::new().action("pool.*").limit(3)), [0, 1, 3]);
    assert_eq!(found(d, &Query::new().action("pool.*").last(3)), [7, 9, 10]);
    assert_eq!(found(d, &Query::new().last(0)), Vec::<u64>::new());
    // A value that occurs elsewhere in the line does not match a member.
    assert_eq!(found(d, &Query::new().actor("pool-1")), Vec::<u64>::new());
    // The time window, on the records' own times.
    let all = Stream::open(d).unwrap();
    let times: Vec<Timestamp> = Query::new()
        .run(&all)
        .map(|r| Timestamp::parse(r.unwrap().json().unwrap()["ts"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(found(d, &Query::new().from(times[11])).last(), Some(&11));
    assert_eq!(found(d, &Query::new().to(times[0]))[0], 0);
}

/// Counts the files a query opens.
#[derive(Debug, Default)]
struct Counting {
    inner: FileStorage,
    opens: AtomicUsize,
}

impl Storage for Counting {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        self.inner.list(dir)
    }
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadFile>> {
        self.opens.fetch_add(1, Ordering::Relaxed);
        self.inner.open_read(path)
    }
    fn create(&self, path: &Path) -> io::Result<Box<dyn AppendFile>> {
        self.inner.create(path)
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>> {
        self.inner.open_append(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.sync_dir(dir)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }
    fn set_readonly(&self, path: &Path) -> io::Result<()> {
        self.inner.set_readonly(path)
    }
    fn lock(&self, path: &Path, pid: u32) -> io::Result<TryLock> {
        self.inner.lock(path, pid)
    }
    fn is_locked(&self, path: &Path) -> io::Result<bool> {
        self.inner.is_locked(path)
    }
}

#[test]
fn a_window_over_daily_segments_opens_only_the_segments_in_it() {
    let dir = tempfile::tempdir().unwrap();
    // One event per segment, then each segment named as if opened on its own day
    // of 2025 (a query reads the names' times; it does not verify).
    let mut w = Writer::open(
        WriterConfig::new(dir.path(), "pools", Key::from_bytes([1; 32]))
            .durability(tracing_audit_core::Durability::Never)
            .rotation(Rotation::never().max_bytes(1)),
    )
    .unwrap();
    for i in 0..365u64 {
        w.append(&[Event::new("pool.create").field("day", i).into()])
            .unwrap();
    }
    w.close().unwrap();
    let mut segs: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    segs.sort();
    // Each rotation starts a segment with its open and epoch records: at least one
    // segment a day, one per day of 2025 and beyond.
    let n = segs.len();
    assert!(n >= 365, "{n} segments");
    let day0 = Timestamp::parse("2025-01-01T00:00:00Z")
        .unwrap()
        .unix_micros();
    for (i, p) in segs.iter().enumerate() {
        let name = p.file_name().unwrap().to_str().unwrap();
        let seq = &name[4..24];
        let t = Timestamp::from_unix_micros(day0 + i as i64 * 86_400_000_000);
        let stamp: String = t
            .to_string()
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == 'T')
            .take(15)
            .collect();
        std::fs::rename(p, dir.path().join(format!("seg-{seq}-{stamp}Z.jsonl"))).unwrap();
    }
    let storage = Arc::new(Counting::default());
    let stream = Stream::open_with(dir.path(), storage.clone()).unwrap();
    assert_eq!(stream.segments().len(), n);
    // Day 100 of 2025, and a window that holds no record of that day (the
    // records were written today): nothing found, and only the segment(s) whose
    // span overlaps the day were opened.
    let from = Timestamp::from_unix_micros(day0 + 100 * 86_400_000_000);
    let to = Timestamp::from_unix_micros(day0 + 101 * 86_400_000_000 - 1);
    let in_day = Query::new().from(from).to(to).run(&stream).count();
    assert_eq!(in_day, 0);
    let opens = storage.opens.load(Ordering::Relaxed);
    assert!(
        (1..=2).contains(&opens),
        "{opens} segments opened for one day"
    );
    // Without a window every segment is opened.
    storage.opens.store(0, Ordering::Relaxed);
    assert_eq!(Query::new().run(&stream).count(), 365);
    assert_eq!(storage.opens.load(Ordering::Relaxed), n);
}
