//! State shared by the layer, the guard and the writer thread.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use tracing_audit_core::{Gap, Timestamp};

use crate::metrics::metric;

/// Why events were lost before the writer could write them (the `reason` of their
/// `gap` record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LossReason {
    /// The overflow policy dropped them: the queue was full.
    QueueFull,
    /// The writer cannot encode them: their record would be longer than the
    /// format's maximum line (`tracing_audit_core::MAX_LINE_BYTES`).
    TooLarge,
    /// They were written, but the fsync that should have made them durable failed:
    /// they may or may not be in the trail before this record (the kernel may have
    /// dropped the pages). Only with `Durability::Interval` or `Never`; a batch
    /// fsynced with `EveryBatch` is written again instead.
    FsyncFailed,
}

impl LossReason {
    const ALL: [LossReason; 3] = [
        LossReason::QueueFull,
        LossReason::TooLarge,
        LossReason::FsyncFailed,
    ];

    fn as_str(self) -> &'static str {
        match self {
            LossReason::QueueFull => "queue_full",
            LossReason::TooLarge => "record_too_large",
            LossReason::FsyncFailed => "fsync_failed",
        }
    }
}

/// Lost events not yet reported in a `gap` record.
#[derive(Debug, Default)]
pub(crate) struct Lost {
    count: u64,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
}

impl Lost {
    pub(crate) fn add(&mut self, ts: Timestamp) {
        self.count += 1;
        self.from = Some(self.from.map_or(ts, |f| f.min(ts)));
        self.to = Some(self.to.map_or(ts, |t| t.max(ts)));
    }

    fn take(&mut self, reason: LossReason) -> Option<Gap> {
        if self.count == 0 {
            return None;
        }
        let gap = Gap::new(
            self.count,
            self.from.unwrap_or_else(Timestamp::now),
            self.to.unwrap_or_else(Timestamp::now),
            reason.as_str(),
        );
        *self = Lost::default();
        Some(gap)
    }

    /// Adds everything in `other` to this account.
    fn absorb(&mut self, other: Lost) {
        if other.count == 0 {
            return;
        }
        self.count += other.count;
        for ts in [other.from, other.to].into_iter().flatten() {
            self.from = Some(self.from.map_or(ts, |f| f.min(ts)));
            self.to = Some(self.to.map_or(ts, |t| t.max(ts)));
        }
    }

    pub(crate) fn count(&self) -> u64 {
        self.count
    }
}

/// Counters and health, shared by the layer, the guard and the writer thread.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// The stream's service name: the `service` label of every metric.
    pub service: String,
    /// Per [`LossReason`] (its index in `LossReason::ALL`).
    lost: Mutex<[Lost; 3]>,
    /// Events the writer thread has taken from the data queue.
    pub received: AtomicU64,
    /// Events written (whatever the durability).
    pub written_total: AtomicU64,
    /// Events taken from the queue that can never be written (reported in a gap
    /// record instead).
    pub unwritable_total: AtomicU64,
    /// Events written and made durable per the durability setting.
    pub durable_total: AtomicU64,
    pub dropped_total: AtomicU64,
    pub write_errors: AtomicU64,
    /// Microseconds since the Unix epoch of the last successful write; 0 = never.
    pub last_write_micros: AtomicI64,
    pub last_error: Mutex<Option<String>>,
    pub healthy: AtomicBool,
    /// Set when the writer stops taking events (shutdown, or the thread ended).
    pub closed: AtomicBool,
    refused_after_close: AtomicU64,
    /// Test seam: while set, the writer thread waits before each batch, as on a
    /// hung disk (see `AuditGuard::stall_writer`).
    pub stalled: AtomicBool,
    /// Test seam: the writer thread is holding in the stall (with its batch taken).
    pub stall_engaged: AtomicBool,
}

impl Shared {
    pub(crate) fn new(service: String) -> Shared {
        Shared {
            service,
            healthy: AtomicBool::new(true),
            ..Shared::default()
        }
    }

    /// Running, and the last write succeeded.
    pub(crate) fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire) && !self.closed.load(Ordering::Acquire)
    }

    /// Events taken from the queue but not yet written (add the queue's length for
    /// every accepted event not yet written).
    ///
    /// `done` is the writer's count of events written (or made durable, for a
    /// flush); it is read before `received`, so that an event in motion is counted
    /// once too often rather than not at all.
    pub(crate) fn in_hand(&self, done: &AtomicU64) -> u64 {
        let done = done.load(Ordering::Acquire) + self.unwritable_total.load(Ordering::Acquire);
        self.received.load(Ordering::Acquire).saturating_sub(done)
    }

    /// An event lost before it was written: the writer will report it in a gap
    /// record with `reason`, and the dropped counter rises.
    pub(crate) fn record_loss(&self, ts: Timestamp, reason: LossReason) {
        self.lost.lock().unwrap_or_else(PoisonError::into_inner)[reason as usize].add(ts);
        self.dropped_total.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(metric::DROPPED, "service" => self.service.clone()).increment(1);
    }

    /// Events written whose durability a failed fsync made unknown: the writer
    /// reports them in a gap record (they are not counted as dropped: they may well
    /// be in the trail).
    pub(crate) fn record_unsynced(&self, lost: Lost) {
        self.lost.lock().unwrap_or_else(PoisonError::into_inner)[LossReason::FsyncFailed as usize]
            .absorb(lost);
    }

    /// The gap records for the events lost since the last ones, if any.
    pub(crate) fn take_gaps(&self) -> Vec<Gap> {
        let mut lost = self.lost.lock().unwrap_or_else(PoisonError::into_inner);
        LossReason::ALL
            .into_iter()
            .filter_map(|reason| lost[reason as usize].take(reason))
            .collect()
    }

    /// An event emitted after the writer stopped: nobody can record a gap any more,
    /// so say it here (once) and count it.
    pub(crate) fn refuse(&self) {
        if self.refused_after_close.fetch_add(1, Ordering::Relaxed) == 0 {
            eprintln!(
                "tracing-audit: an audit event was emitted after the audit writer stopped; it was not recorded (and neither will later ones be)"
            );
        }
        self.dropped_total.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(metric::DROPPED, "service" => self.service.clone()).increment(1);
    }

    /// A failed write attempt: unhealthy until a write succeeds.
    pub(crate) fn set_error(&self, e: &dyn fmt::Display) {
        self.write_errors.fetch_add(1, Ordering::Relaxed);
        self.healthy.store(false, Ordering::Release);
        metrics::counter!(metric::WRITE_ERRORS, "service" => self.service.clone()).increment(1);
        metrics::gauge!(metric::HEALTHY, "service" => self.service.clone()).set(0.0);
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
    }

    /// The last write error, if any.
    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
