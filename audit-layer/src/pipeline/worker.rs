//! The writer thread: takes batches from the data queue, answers control requests
//! (which never wait behind data), keeps the durability interval when the service
//! goes quiet, and seals the segment on shutdown.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use tracing_audit_core::{Durability, Entry, Event, Writer, WriterConfig};

use super::control::{Control, PendingFlush, WriteFailure};
use super::ids::EventIds;
use super::queue::Queue;
use super::shared::{Lost, Shared};
use super::{Overflow, retry};
use crate::catalog::Catalogued;
use crate::metrics::Meters;
use crate::redact::Redactor;

/// The most events written in one batch (one `write`) when batches are not fsynced.
const MAX_BATCH: usize = 4096;

/// The most events in one batch when every batch is fsynced (group commit): writing
/// 4096 records takes about 4 ms here before the fsync even starts, so smaller
/// batches keep the flush latency down; fsync, not the batch size, bounds the rate.
const MAX_SYNCED_BATCH: usize = 1024;

/// How long the writer lets a batch gather after waking for an event. While it
/// sleeps, callers queue without waking it (a wake-up is a system call, several
/// times the cost of the rest of an `audit!` call). A flush or a shutdown that
/// arrives meanwhile ends it.
const LINGER: Duration = Duration::from_millis(1);

/// How long the writer waits for work when nothing is due (it wakes at once for an
/// event or a control request).
const IDLE: Duration = Duration::from_secs(3600);

/// Why the writer thread ended without writing everything: the cause (the last
/// write error), and how many accepted events it could not write (0 when only the
/// seal failed).
pub(crate) type Stopped = (WriteFailure, u64);

/// The handle of a running writer thread: its result arrives on `done`.
#[derive(Debug)]
pub(crate) struct Handle {
    pub thread: JoinHandle<()>,
    pub done: Receiver<Result<(), Stopped>>,
}

/// Starts the writer thread; returns the queue and the thread's handle.
pub(crate) fn start(
    writer: Writer,
    service: String,
    redactor: Redactor,
    capacity: usize,
    overflow: Overflow,
) -> std::io::Result<(Queue, Handle)> {
    let (data_tx, data_rx) = crossbeam_channel::bounded(capacity.max(1));
    let (control_tx, control_rx) = crossbeam_channel::unbounded();
    let (done_tx, done_rx) = crossbeam_channel::bounded(1);
    let shared = Arc::new(Shared::new(service));
    let worker = Worker::new(writer, redactor, data_rx, control_rx, Arc::clone(&shared));
    let thread = std::thread::Builder::new()
        .name("audit-writer".into())
        .spawn(move || {
            // Set even if the thread panics: the layer then refuses (and counts)
            // new events, and health says the writer is gone.
            let _closed = CloseOnExit(Arc::clone(&worker.shared));
            let result = worker.run();
            // The guard may have stopped waiting (its deadline passed); then the
            // result was already reported as a timeout.
            let _ = done_tx.send(result);
        })?;
    let queue = Queue {
        data: data_tx,
        control: control_tx,
        overflow,
        shared,
    };
    Ok((
        queue,
        Handle {
            thread,
            done: done_rx,
        },
    ))
}

/// Marks the pipeline closed when the writer thread ends, however it ends.
struct CloseOnExit(Arc<Shared>);

impl Drop for CloseOnExit {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
    }
}

pub(super) struct Worker {
    /// `None` only between dropping a stopped writer and reopening the stream.
    pub(super) slot: Option<Writer>,
    /// To reopen the stream after a failure that stops the writer.
    pub(super) config: WriterConfig,
    redactor: Redactor,
    data: Receiver<Event>,
    control: Receiver<Control>,
    pub(super) shared: Arc<Shared>,
    pub(super) meters: Meters,
    ids: EventIds,
    max_batch: usize,
    /// Events taken from the data queue so far.
    received: u64,
    /// Events written so far (some perhaps not yet durable).
    written: u64,
    /// Events written and durable so far.
    durable: u64,
    /// Since when written data waits for an fsync (interval or no durability).
    dirty_since: Option<Instant>,
    /// The events written but not yet durable (interval or no durability), apart
    /// from the batch being written: if an fsync fails, their durability is
    /// unknown, and a gap record says so.
    pub(super) unsynced: Lost,
    flushes: Vec<PendingFlush>,
    /// Set by a shutdown request: when to give up.
    pub(super) shutdown: Option<Instant>,
}

impl Worker {
    fn new(
        writer: Writer,
        redactor: Redactor,
        data: Receiver<Event>,
        control: Receiver<Control>,
        shared: Arc<Shared>,
    ) -> Worker {
        let max_batch = if writer.durability() == Durability::EveryBatch {
            MAX_SYNCED_BATCH
        } else {
            MAX_BATCH
        };
        Worker {
            config: writer.config().clone(),
            slot: Some(writer),
            redactor,
            data,
            control,
            meters: Meters::new(&shared.service),
            shared,
            ids: EventIds::default(),
            max_batch,
            received: 0,
            written: 0,
            durable: 0,
            dirty_since: None,
            unsynced: Lost::default(),
            flushes: Vec::new(),
            shutdown: None,
        }
    }

    fn run(mut self) -> Result<(), Stopped> {
        let mut batch: Vec<Entry> = Vec::with_capacity(self.max_batch);
        while self.shutdown.is_none() {
            let first = crossbeam_channel::select_biased! {
                recv(self.control) -> c => {
                    match c {
                        Ok(c) => self.take_control(c),
                        // The guard is gone without a shutdown (it sends one on
                        // drop, so only if leaked); stop as if asked, with the
                        // default deadline.
                        Err(_) => self.shutdown = Some(Instant::now() + super::DEFAULT_DEADLINE),
                    }
                    None
                }
                recv(self.data) -> e => match e {
                    Ok(e) => Some(e),
                    // Every sender is gone: nothing more can arrive. Finish as a
                    // shutdown would, with the default deadline.
                    Err(_) => {
                        self.shutdown = Some(Instant::now() + super::DEFAULT_DEADLINE);
                        break;
                    }
                },
                default(self.timer()) => {
                    // The durability interval, a checkpoint, the heartbeat or a new
                    // key epoch is due with nothing else to do. A failure is in
                    // health and metrics; the next write retries.
                    let _ = self.sync_now();
                    self.tick();
                    None
                }
            };
            let Some(first) = first else {
                self.answer_flushes();
                continue;
            };
            self.push(first, &mut batch);
            if self.flushes.is_empty() && self.data.len() < self.max_batch {
                // A flush (a durable call waiting for its record) or a shutdown
                // ends the linger at once.
                if let Ok(c) = self.control.recv_timeout(LINGER) {
                    self.take_control(c);
                }
            }
            self.fill(&mut batch);
            if let Err(stopped) = self.write(&mut batch) {
                return Err(self.give_up(stopped));
            }
            self.answer_flushes();
        }
        self.finish(batch)
    }

    /// Handles one control request.
    pub(super) fn take_control(&mut self, c: Control) {
        match c {
            Control::Flush(reply) => self.flushes.push(PendingFlush {
                // Everything taken so far, and everything in the queue now.
                upto: self.received + self.data.len() as u64,
                reply,
            }),
            Control::Shutdown { deadline } => {
                // From here on the layer refuses new events (and says so).
                self.shared.closed.store(true, Ordering::Release);
                self.shutdown = Some(deadline);
            }
        }
    }

    /// Takes every control request waiting, without blocking.
    fn poll_control(&mut self) {
        while let Ok(c) = self.control.try_recv() {
            self.take_control(c);
        }
    }

    /// Waits up to `d` for a control request (the pause between write retries).
    pub(super) fn wait_control(&mut self, d: Duration) {
        let until = super::deadline(Instant::now(), d);
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match self.control.recv_timeout(left) {
                Ok(c) => {
                    self.take_control(c);
                    if self.shutdown.is_some() {
                        // The caller checks the deadline now.
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => return,
                Err(RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(left);
                    return;
                }
            }
        }
    }

    /// Readies a queued event for the writer, off the caller's thread: the second
    /// redaction pass (hashing included: fingerprints, digests) and its id.
    fn push(&mut self, mut e: Event, batch: &mut Vec<Entry>) {
        self.received += 1;
        self.shared.received.store(self.received, Ordering::Release);
        if self.redactor.apply(&mut e) == Catalogued::Missing {
            self.meters.not_in_catalog(&e.action);
        }
        batch.push(Entry::Event(self.ids.assign(e)));
    }

    fn fill(&mut self, batch: &mut Vec<Entry>) {
        while batch.len() < self.max_batch {
            match self.data.try_recv() {
                Ok(e) => self.push(e, batch),
                Err(_) => break,
            }
        }
    }

    /// Writes `batch` (a gap record first if events were lost), retrying on errors;
    /// clears it once written.
    fn write(&mut self, batch: &mut Vec<Entry>) -> Result<(), Stopped> {
        while self.shared.stalled.load(Ordering::Acquire) {
            self.shared.stall_engaged.store(true, Ordering::Release);
            std::thread::sleep(Duration::from_millis(1));
        }
        let gaps: Vec<Entry> = self
            .shared
            .take_gaps()
            .into_iter()
            .map(Entry::Gap)
            .collect();
        if !gaps.is_empty() {
            batch.splice(0..0, gaps);
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.meters.queue_depth.set(self.data.len() as f64);
        let started = Instant::now();
        let events = count_events(batch);
        let durable = retry::write_with_retry(self, batch)
            .map_err(|(message, left)| (message, count_events(&batch[batch.len() - left..])))?;
        self.written += events;
        if durable {
            self.durable = self.written;
            self.dirty_since = None;
            self.unsynced = Lost::default();
        } else {
            self.dirty_since.get_or_insert(started);
            for entry in batch.iter() {
                if let Entry::Event(e) = entry {
                    self.unsynced.add(e.ts);
                }
            }
            if self.config.durability == Durability::EveryBatch {
                // Only when an entry was skipped (too large): what was written
                // before it still has to be durable now.
                let _ = self.sync_now();
            }
        }
        self.shared
            .durable_total
            .store(self.durable, Ordering::Release);
        self.meters
            .flush_latency
            .record(started.elapsed().as_secs_f64());
        batch.clear();
        self.follow_epoch();
        Ok(())
    }

    /// How long until the durability interval requires an fsync, or the writer
    /// has something due (a checkpoint, the heartbeat, a new key epoch).
    fn timer(&self) -> Duration {
        let now = Instant::now();
        let sync = match (self.dirty_since, self.config.durability) {
            (Some(since), Durability::Interval(every)) => {
                (since + every).saturating_duration_since(now)
            }
            _ => IDLE,
        };
        let due = self
            .slot
            .as_ref()
            .and_then(|w| w.next_due())
            .map_or(IDLE, |t| t.saturating_duration_since(now));
        sync.min(due)
    }

    /// Lets the writer do what is due while idle; a failure is in health (the
    /// next write reopens a stopped stream).
    fn tick(&mut self) {
        if let Some(w) = self.slot.as_mut()
            && let Err(e) = w.tick()
        {
            self.shared.set_error(&e);
        }
        self.follow_epoch();
    }

    /// Keeps the configuration a reopen uses at the writer's key epoch, so that
    /// the old epoch's key is dropped (and erased) here too.
    fn follow_epoch(&mut self) {
        if let Some(w) = &self.slot
            && w.epoch() != self.config.key.epoch()
        {
            self.config.key = w.config().key.clone();
        }
    }

    /// fsyncs what was written; a failure is reported in health (the next write
    /// reopens a stopped stream).
    fn sync_now(&mut self) -> Result<(), WriteFailure> {
        if self.dirty_since.is_none() {
            return Ok(());
        }
        let synced = match self.slot.as_mut() {
            Some(w) => w.sync().map_err(|e| {
                self.shared.set_error(&e);
                // The flush error says what could not be done.
                WriteFailure::core("", e)
            }),
            None => Err(WriteFailure::new(
                "the audit stream is not open (reopening it failed)",
            )),
        };
        if synced.is_err() {
            // What was written since the last fsync may or may not be on disk now
            // (the kernel may have dropped the pages). It cannot be written again
            // (it is no longer in memory), so a chained gap record says so; the
            // stream is reopened (the failed fsync stopped the writer) to write it.
            if self.slot.as_ref().is_some_and(Writer::is_poisoned) {
                self.slot = None;
            }
            let unsynced = std::mem::take(&mut self.unsynced);
            self.shared.record_unsynced(unsynced);
            self.dirty_since = None;
            let mut nothing = Vec::new();
            // Only fails once a shutdown gave up; the shutdown reports that.
            let _ = self.write(&mut nothing);
        }
        // Every event written is now durable, or reported in a gap record.
        self.durable = self.written;
        self.dirty_since = None;
        self.unsynced = Lost::default();
        self.shared
            .durable_total
            .store(self.durable, Ordering::Release);
        synced
    }

    /// Answers the flushes whose events are all written, fsyncing first if needed.
    fn answer_flushes(&mut self) {
        if !self.flushes.iter().any(|f| f.upto <= self.written) {
            return;
        }
        // Gap records waiting to be written are part of what a flush covers.
        let mut nothing = Vec::new();
        if let Err((failure, _)) = self.write(&mut nothing) {
            for f in self.flushes.drain(..) {
                f.reply.send(Err(failure.clone()));
            }
            return;
        }
        let synced = self.sync_now();
        let durable = self.durable;
        self.flushes.retain(|f| {
            if f.upto > durable && synced.is_ok() {
                return true;
            }
            f.reply.send(synced.clone());
            false
        });
    }

    /// The shutdown: write whatever was queued (behind the request or not), seal,
    /// and stop. Gives up at the deadline if the stream cannot be written.
    fn finish(mut self, mut batch: Vec<Entry>) -> Result<(), Stopped> {
        self.shared.closed.store(true, Ordering::Release);
        // Everything queued, in batches; senders that were blocked on a full queue
        // get in as it drains (and are written too).
        loop {
            self.poll_control();
            self.fill(&mut batch);
            let more = !batch.is_empty();
            if let Err(stopped) = self.write(&mut batch) {
                return Err(self.give_up(stopped));
            }
            if !more {
                break;
            }
        }
        self.meters.queue_depth.set(0.0);
        let sealed = match self.slot.take() {
            Some(w) => w.close().map_err(|e| {
                self.shared.set_error(&e);
                WriteFailure::core("the audit segment could not be sealed", e)
            }),
            None => Err(WriteFailure::new(
                "the audit stream is not open (reopening it failed)",
            )),
        };
        if sealed.is_ok() {
            self.durable = self.written;
        }
        let written = self.written;
        for f in self.flushes.drain(..) {
            // Only what was written is sealed: an event that reached the queue after
            // the last batch (racing the shutdown) is not.
            let answer = match &sealed {
                Ok(()) if f.upto > written => Err(WriteFailure::new(format!(
                    "{} events the flush covers reached the queue after the writer's last batch and were not written",
                    f.upto - written
                ))),
                other => other.clone(),
            };
            f.reply.send(answer);
        }
        sealed.map_err(|e| (e, 0))
    }

    /// Gives up after the shutdown deadline: counts what is left (the failed part of
    /// the batch and everything still queued) and tells the waiting flushes.
    fn give_up(mut self, (failure, left_in_batch): Stopped) -> Stopped {
        self.shared.closed.store(true, Ordering::Release);
        let queued = self.data.try_iter().count() as u64;
        let unwritten = left_in_batch + queued;
        for f in self.flushes.drain(..) {
            f.reply.send(Err(WriteFailure {
                context: format!(
                    "{unwritten} accepted audit events could not be written before the shutdown deadline; {}",
                    failure.context
                ),
                core: failure.core.clone(),
            }));
        }
        (failure, unwritten)
    }
}

fn count_events(entries: &[Entry]) -> u64 {
    entries
        .iter()
        .filter(|e| matches!(e, Entry::Event(_)))
        .count() as u64
}
