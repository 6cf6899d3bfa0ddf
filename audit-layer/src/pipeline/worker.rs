//! The bounded queue between callers and the one writer thread of a stream.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing_audit_core::{Durability, Entry, Event, Gap, Outcome, Timestamp, Writer, WriterConfig};

use crate::redact::{Catalogued, Redactor};
use crossbeam_channel::{Receiver, Sender, TrySendError};

/// What happens when the queue to the writer is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Wait for room: lossless backpressure. The default.
    #[default]
    Block,
    /// Wait up to this long, then drop the event — never silently: the writer records
    /// a chained `gap` record with the count and time range, and a counter rises.
    BlockTimeout(Duration),
    /// Drop the event at once when the queue is full (with a `gap` record, as above).
    Drop,
}

/// The most events written in one batch (one `write`) when batches are not fsynced.
const MAX_BATCH: usize = 4096;

/// The most events in one batch when every batch is fsynced (group commit): writing
/// 4096 records takes about 4 ms here before the fsync even starts, so smaller
/// batches keep the flush latency down; fsync, not the batch size, bounds the rate.
const MAX_SYNCED_BATCH: usize = 1024;

/// How long the writer lets a batch gather after waking for an event. While it
/// sleeps, callers queue without waking it (a wake-up is a system call, several
/// times the cost of the rest of an `audit!` call). Flushes and shutdowns skip it.
const LINGER: Duration = Duration::from_millis(1);

// Events are nearly every message; boxing them would add an allocation each.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Msg {
    Event(Event),
    Flush(Sender<Result<(), String>>),
    Shutdown,
}

/// Lost events not yet reported in a `gap` record.
#[derive(Debug, Default)]
struct Lost {
    count: u64,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
}

/// Metric names, all labelled with `service`. See the crate documentation.
pub(crate) mod metric {
    pub const WRITTEN: &str = "audit_events_written_total";
    pub const DROPPED: &str = "audit_events_dropped_total";
    pub const WRITE_ERRORS: &str = "audit_write_errors_total";
    pub const QUEUE_DEPTH: &str = "audit_queue_depth";
    pub const FLUSH_LATENCY: &str = "audit_flush_latency_seconds";
    pub const HEALTHY: &str = "audit_healthy";
    pub const LAST_WRITE: &str = "audit_last_write_timestamp_seconds";
    pub const NOT_IN_CATALOG: &str = "audit_events_not_in_catalog_total";
}

/// State shared by the layer, the guard and the writer thread.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// The stream's service name: the `service` label of every metric.
    service: String,
    lost: Mutex<Lost>,
    pub dropped_total: AtomicU64,
    pub written_total: AtomicU64,
    pub write_errors: AtomicU64,
    /// Microseconds since the Unix epoch of the last successful write; 0 = never.
    pub last_write_micros: AtomicI64,
    pub last_error: Mutex<Option<String>>,
    pub healthy: AtomicBool,
    pub closed: AtomicBool,
    refused_after_close: AtomicU64,
    /// Test seam: the writer thread takes this lock around each batch, so a test can
    /// stall it deterministically.
    #[doc(hidden)]
    pub stall: Mutex<()>,
}

impl Shared {
    /// Running, and the last write succeeded.
    pub(crate) fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire) && !self.closed.load(Ordering::Acquire)
    }

    fn record_loss(&self, ts: Timestamp) {
        let mut lost = self.lost.lock().unwrap_or_else(PoisonError::into_inner);
        lost.count += 1;
        lost.from.get_or_insert(ts);
        lost.to = Some(ts);
        self.dropped_total.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(metric::DROPPED, "service" => self.service.clone()).increment(1);
    }

    fn take_gap(&self) -> Option<Gap> {
        let mut lost = self.lost.lock().unwrap_or_else(PoisonError::into_inner);
        if lost.count == 0 {
            return None;
        }
        let gap = Gap {
            count: lost.count,
            from: lost.from.unwrap_or_else(Timestamp::now),
            to: lost.to.unwrap_or_else(Timestamp::now),
            reason: "queue_full".into(),
        };
        *lost = Lost::default();
        Some(gap)
    }

    fn set_error(&self, e: &dyn fmt::Display) {
        self.write_errors.fetch_add(1, Ordering::Relaxed);
        self.healthy.store(false, Ordering::Release);
        metrics::counter!(metric::WRITE_ERRORS, "service" => self.service.clone()).increment(1);
        metrics::gauge!(metric::HEALTHY, "service" => self.service.clone()).set(0.0);
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
    }
}

/// The sending side, used by the layer on the caller's thread.
#[derive(Clone)]
pub(crate) struct Queue {
    tx: Sender<Msg>,
    overflow: Overflow,
    pub shared: Arc<Shared>,
}

impl Queue {
    /// Hands an event to the writer per the overflow policy. No I/O, no hashing.
    pub(crate) fn send(&self, event: Event) {
        if self.shared.closed.load(Ordering::Acquire) {
            self.refuse();
            return;
        }
        let ts = event.ts;
        let result = match self.overflow {
            Overflow::Block => self.tx.send(Msg::Event(event)).map_err(|_| false),
            Overflow::Drop => self
                .tx
                .try_send(Msg::Event(event))
                .map_err(|e| matches!(e, TrySendError::Full(_))),
            Overflow::BlockTimeout(d) => self
                .tx
                .send_timeout(Msg::Event(event), d)
                .map_err(|e| e.is_timeout()),
        };
        match result {
            Ok(()) => {}
            // Full: the writer will record a gap.
            Err(true) => self.shared.record_loss(ts),
            // The writer has stopped: nobody can record a gap any more, so say it here.
            Err(false) => self.refuse(),
        }
    }

    /// An event emitted after the writer stopped: nobody can record a gap any more,
    /// so say it here (once) and count it.
    fn refuse(&self) {
        if self
            .shared
            .refused_after_close
            .fetch_add(1, Ordering::Relaxed)
            == 0
        {
            eprintln!(
                "audit-trail: an audit event was emitted after the audit writer stopped; it was not recorded (and neither will later ones be)"
            );
        }
        self.shared.dropped_total.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(metric::DROPPED, "service" => self.shared.service.clone()).increment(1);
    }

    /// Waits until every event sent before this call is durable.
    pub(crate) fn flush(&self) -> Result<(), String> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.tx
            .send(Msg::Flush(tx))
            .map_err(|_| "the audit writer has stopped".to_owned())?;
        rx.recv()
            .map_err(|_| "the audit writer stopped before the flush completed".to_owned())?
    }

    /// Asks the writer to write what is queued, seal, and stop (waits for room).
    pub(crate) fn send_shutdown(&self) {
        let _ = self.tx.send(Msg::Shutdown);
    }

    pub(crate) fn queue_depth(&self) -> usize {
        self.tx.len()
    }
}

/// Starts the writer thread; returns the queue and the thread's handle.
pub(crate) fn start(
    writer: Writer,
    service: String,
    redactor: Redactor,
    capacity: usize,
    overflow: Overflow,
) -> std::io::Result<(Queue, JoinHandle<Result<(), String>>)> {
    let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
    let shared = Arc::new(Shared {
        service,
        healthy: AtomicBool::new(true),
        ..Shared::default()
    });
    let thread_shared = Arc::clone(&shared);
    let handle = std::thread::Builder::new()
        .name("audit-writer".into())
        .spawn(move || run(writer, &redactor, &rx, &thread_shared))?;
    Ok((
        Queue {
            tx,
            overflow,
            shared,
        },
        handle,
    ))
}

/// The writer thread: drains batches, appends them (retrying with backoff on
/// errors), answers flushes, and seals the segment on shutdown.
fn run(
    writer: Writer,
    redactor: &Redactor,
    rx: &Receiver<Msg>,
    shared: &Shared,
) -> Result<(), String> {
    let max_batch = if writer.durability() == Durability::EveryBatch {
        MAX_SYNCED_BATCH
    } else {
        MAX_BATCH
    };
    // To reopen the stream after a failure that stops the writer.
    let config = writer.config().clone();
    // `None` only between dropping a stopped writer and reopening the stream.
    let mut writer = Some(writer);
    let mut meters = Meters::new(&shared.service);
    let mut ids = EventIds::default();
    let mut batch: Vec<Entry> = Vec::with_capacity(max_batch);
    let mut flushes: Vec<Sender<Result<(), String>>> = Vec::new();
    let mut shutdown = false;
    while !shutdown {
        let first = match rx.recv() {
            Ok(m) => m,
            Err(_) => break, // every sender is gone
        };
        let mut take = |m: Msg, batch: &mut Vec<Entry>| match m {
            Msg::Event(e) => batch.push(prepare(e, redactor, &mut ids, &mut meters)),
            Msg::Flush(tx) => flushes.push(tx),
            Msg::Shutdown => shutdown = true,
        };
        let urgent = !matches!(first, Msg::Event(_));
        take(first, &mut batch);
        if !urgent && rx.len() < max_batch {
            std::thread::sleep(LINGER);
        }
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(m) => take(m, &mut batch),
                Err(_) => break,
            }
        }
        let _stall = shared.stall.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(gap) = shared.take_gap() {
            batch.insert(0, Entry::Gap(gap));
        }
        meters.queue_depth.set(rx.len() as f64);
        let started = Instant::now();
        let written = write_with_retry(&mut writer, &config, &batch, shared, &mut meters, shutdown);
        if let Err(e) = written {
            // Only while shutting down (see write_with_retry): give up, and say so.
            for f in flushes.drain(..) {
                let _ = f.send(Err(e.clone()));
            }
            shared.closed.store(true, Ordering::Release);
            return Err(e);
        }
        if !flushes.is_empty() {
            // A failed fsync here is reported to the flush callers; the writer keeps
            // running (the next write reopens a stopped stream).
            let synced = match writer.as_mut() {
                Some(w) => w.sync().map_err(|e| {
                    shared.set_error(&e);
                    e.to_string()
                }),
                None => Err("the audit stream is not open (reopening failed)".to_owned()),
            };
            for f in flushes.drain(..) {
                let _ = f.send(synced.clone());
            }
        }
        meters.flush_latency.record(started.elapsed().as_secs_f64());
        batch.clear();
    }
    // From here on the layer refuses new events (and says so). Write whatever was
    // queued behind the shutdown request, so nothing accepted is left behind.
    shared.closed.store(true, Ordering::Release);
    let mut rest: Vec<Entry> = Vec::new();
    for m in rx.try_iter() {
        match m {
            Msg::Event(e) => rest.push(prepare(e, redactor, &mut ids, &mut meters)),
            Msg::Flush(tx) => flushes.push(tx),
            Msg::Shutdown => {}
        }
    }
    if let Some(gap) = shared.take_gap() {
        rest.insert(0, Entry::Gap(gap));
    }
    let result = write_with_retry(&mut writer, &config, &rest, shared, &mut meters, true);
    meters.queue_depth.set(0.0);
    for f in flushes.drain(..) {
        let _ = f.send(result.clone());
    }
    result?;
    let Some(writer) = writer else {
        return Err("the audit stream is not open (reopening failed)".to_owned());
    };
    writer.close().map_err(|e| {
        shared.set_error(&e);
        e.to_string()
    })
}

/// Readies a queued event for the writer, off the caller's thread: the second
/// redaction pass (hashing included: fingerprints, digests) and its id.
fn prepare(mut e: Event, redactor: &Redactor, ids: &mut EventIds, meters: &mut Meters) -> Entry {
    if redactor.apply(&mut e) == Catalogued::Missing {
        meters.not_in_catalog(&e.action);
    }
    Entry::Event(ids.assign(e))
}

/// Appends `batch`, retrying failed writes with backoff (100 ms doubling to 5 s).
/// While running, it retries until the write succeeds (callers wait or drop with a
/// gap, per the overflow policy); while shutting down it gives up after about 10 s
/// and returns the error, which `shutdown()` reports.
///
/// A failure that stops the writer (a failed fsync) closes it and reopens the
/// stream (its recovery record says so), then writes the whole failed attempt again:
/// none of it is known to be durable. Records of it that did reach the disk then
/// appear twice, with the same event `id`.
fn write_with_retry(
    slot: &mut Option<Writer>,
    config: &WriterConfig,
    batch: &[Entry],
    shared: &Shared,
    meters: &mut Meters,
    shutting_down: bool,
) -> Result<(), String> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut backoff = Duration::from_millis(100);
    let mut waited = Duration::ZERO;
    // What is left to write: a failure after part of the batch was written (it
    // spanned a rotation) retries only the rest, so nothing is written twice.
    let mut rest = batch;
    loop {
        let failure = match slot.as_mut() {
            Some(w) => match w.append_partial(rest) {
                Ok(_) => {
                    count_written(rest, shared, meters);
                    shared.healthy.store(true, Ordering::Release);
                    meters.healthy.set(1.0);
                    return Ok(());
                }
                Err(partial) => {
                    shared.set_error(&partial.error);
                    if w.is_poisoned() {
                        // Dropping it says on stderr that it stopped.
                        *slot = None;
                    } else {
                        count_written(&rest[..partial.written], shared, meters);
                        rest = &rest[partial.written..];
                    }
                    partial.error.to_string()
                }
            },
            None => "the audit stream is not open".to_owned(),
        };
        if slot.is_none() {
            match Writer::open(config.clone()) {
                Ok(w) => {
                    eprintln!(
                        "audit-trail: reopened the audit stream {} after: {failure}; writing the {} unconfirmed entries again",
                        config.dir.display(),
                        rest.len()
                    );
                    *slot = Some(w);
                }
                Err(e) => shared.set_error(&e),
            }
        }
        if shutting_down && waited >= Duration::from_secs(10) {
            return Err(format!(
                "{} audit events could not be written: {failure}",
                rest.len()
            ));
        }
        std::thread::sleep(backoff);
        waited += backoff;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Counts written entries in the health counters and metrics.
fn count_written(entries: &[Entry], shared: &Shared, meters: &mut Meters) {
    if entries.is_empty() {
        return;
    }
    let events = entries
        .iter()
        .filter(|e| matches!(e, Entry::Event(_)))
        .count() as u64;
    shared.written_total.fetch_add(events, Ordering::Relaxed);
    let now = Timestamp::now().unix_micros();
    shared.last_write_micros.store(now, Ordering::Relaxed);
    meters.written(entries);
    meters.last_write.set(now as f64 / 1e6);
}

/// The writer thread's metric handles, made on first use (after the application
/// installed its recorder, normally) and kept, so counting costs no lookup by name.
struct Meters {
    service: String,
    /// By action, then outcome.
    written: HashMap<String, Vec<(Outcome, metrics::Counter)>>,
    queue_depth: metrics::Gauge,
    flush_latency: metrics::Histogram,
    healthy: metrics::Gauge,
    last_write: metrics::Gauge,
}

impl Meters {
    fn new(service: &str) -> Meters {
        let label = || ("service", service.to_owned());
        let l = [label()];
        // Registered at zero now, so dashboards and alerts see them before any drop.
        metrics::counter!(metric::DROPPED, &l).increment(0);
        metrics::counter!(metric::WRITE_ERRORS, &l).increment(0);
        Meters {
            service: service.to_owned(),
            written: HashMap::new(),
            queue_depth: metrics::gauge!(metric::QUEUE_DEPTH, &l),
            flush_latency: metrics::histogram!(metric::FLUSH_LATENCY, &l),
            healthy: metrics::gauge!(metric::HEALTHY, &l),
            last_write: metrics::gauge!(metric::LAST_WRITE, &l),
        }
    }

    /// Counts an event whose action the run-time catalog does not have.
    fn not_in_catalog(&self, action: &str) {
        metrics::counter!(
            metric::NOT_IN_CATALOG,
            "service" => self.service.clone(),
            "action" => action.to_owned(),
        )
        .increment(1);
    }

    /// Counts the events of a written batch by action and outcome.
    fn written(&mut self, batch: &[Entry]) {
        for entry in batch {
            let Entry::Event(e) = entry else { continue };
            let by_outcome = match self.written.get_mut(e.action.as_str()) {
                Some(v) => v,
                None => self.written.entry(e.action.clone()).or_default(),
            };
            let counter = match by_outcome.iter().find(|(o, _)| *o == e.outcome) {
                Some((_, c)) => c,
                None => {
                    let c = metrics::counter!(
                        metric::WRITTEN,
                        "service" => self.service.clone(),
                        "action" => e.action.clone(),
                        "outcome" => e.outcome.as_str(),
                    );
                    by_outcome.push((e.outcome, c));
                    &by_outcome[by_outcome.len() - 1].1
                }
            };
            counter.increment(1);
        }
    }
}

/// Assigns UUIDv7 ids to events that have none, from the event's own time and
/// random bits fetched from the operating system 4 KiB at a time (one system call
/// per ~400 events instead of one per event on the caller's thread).
#[derive(Default)]
struct EventIds {
    random: Vec<u8>,
    /// Used only if the operating system cannot provide randomness: unique within
    /// this process, which is all an id needs beside its seq.
    fallback: u64,
}

impl EventIds {
    const CHUNK: usize = 4096;

    fn assign(&mut self, mut e: Event) -> Event {
        if !e.id.is_nil() {
            return e;
        }
        if self.random.len() < 10 {
            self.random.resize(Self::CHUNK, 0);
            if getrandom::fill(&mut self.random).is_err() {
                self.random.clear();
                self.fallback += 1;
                let mut bits = [0u8; 10];
                bits[2..].copy_from_slice(&self.fallback.to_be_bytes());
                e.id =
                    uuid::Builder::from_unix_timestamp_millis(Self::millis(&e), &bits).into_uuid();
                return e;
            }
        }
        let at = self.random.len() - 10;
        let mut bits = [0u8; 10];
        bits.copy_from_slice(&self.random[at..]);
        self.random.truncate(at);
        e.id = uuid::Builder::from_unix_timestamp_millis(Self::millis(&e), &bits).into_uuid();
        e
    }

    fn millis(e: &Event) -> u64 {
        u64::try_from(e.ts.unix_micros().max(0) / 1000).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_ids_are_distinct_uuidv7_at_the_event_time() {
        let mut ids = EventIds::default();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let e = ids.assign(Event::without_id("x"));
            assert_eq!(e.id.get_version_num(), 7);
            let (secs, nanos) = e.id.get_timestamp().unwrap().to_unix();
            let micros = i64::try_from(secs).unwrap() * 1_000_000 + i64::from(nanos / 1000);
            assert_eq!(micros / 1000, e.ts.unix_micros() / 1000);
            assert!(seen.insert(e.id), "duplicate id {}", e.id);
        }
        let given = Event::new("y");
        assert_eq!(
            ids.assign(given.clone()).id,
            given.id,
            "an id already set is kept"
        );
    }
}
