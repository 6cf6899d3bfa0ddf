//! State shared by the layer, the guard and the writer thread.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use tracing_audit_core::{Gap, Timestamp};

use crate::metrics::metric;

/// Lost events not yet reported in a `gap` record.
#[derive(Debug, Default)]
struct Lost {
    count: u64,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
}

/// Counters and health, shared by the layer, the guard and the writer thread.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// The stream's service name: the `service` label of every metric.
    pub service: String,
    lost: Mutex<Lost>,
    /// Events the writer thread has taken from the data queue.
    pub received: AtomicU64,
    /// Events written (whatever the durability).
    pub written_total: AtomicU64,
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
    pub(crate) fn in_hand(&self) -> u64 {
        self.received
            .load(Ordering::Acquire)
            .saturating_sub(self.written_total.load(Ordering::Acquire))
    }

    /// An event dropped by the overflow policy: the writer will report it in a gap
    /// record.
    pub(crate) fn record_loss(&self, ts: Timestamp) {
        let mut lost = self.lost.lock().unwrap_or_else(PoisonError::into_inner);
        lost.count += 1;
        lost.from.get_or_insert(ts);
        lost.to = Some(ts);
        self.dropped_total.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(metric::DROPPED, "service" => self.service.clone()).increment(1);
    }

    /// The gap record for the events lost since the last one, if any.
    pub(crate) fn take_gap(&self) -> Option<Gap> {
        let mut lost = self.lost.lock().unwrap_or_else(PoisonError::into_inner);
        if lost.count == 0 {
            return None;
        }
        let gap = Gap::new(
            lost.count,
            lost.from.unwrap_or_else(Timestamp::now),
            lost.to.unwrap_or_else(Timestamp::now),
            "queue_full",
        );
        *lost = Lost::default();
        Some(gap)
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
