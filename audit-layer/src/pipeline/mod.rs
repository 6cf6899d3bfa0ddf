//! The pipeline between the callers and the one writer thread of a stream.
//!
//! - [`queue`]: the callers' side: a bounded data queue of events, the overflow
//!   policy, and the control requests (flush, shutdown) with their deadlines.
//! - [`control`]: the control channel. It is separate from the data queue, so a
//!   flush or a shutdown never waits behind events (with a full queue and a broken
//!   disk, a shutdown still returns by its deadline and says what it could not write).
//! - [`shared`]: the state the layer, the guard and the writer thread share: counters,
//!   health, lost events not yet reported.
//! - [`worker`]: the writer thread: batches, the durability timer, flushes, shutdown.
//! - [`retry`]: writing a batch again after an error, reopening a stopped stream.
//! - [`ids`]: event ids assigned in bulk on the writer thread.

mod control;
mod ids;
mod queue;
mod retry;
mod shared;
mod worker;

use std::time::Duration;

pub(crate) use control::{Fill, Slot, WriteFailure};
pub(crate) use queue::{Queue, RECORD_ACCEPTED, RECORD_LOST};
pub(crate) use shared::Shared;
pub(crate) use worker::{Handle, start};

/// What happens when the queue to the writer is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
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

/// `at + timeout`, or about a century later when that is past what an `Instant`
/// can hold (`Duration::MAX` means "no deadline", not a panic).
pub(crate) fn deadline(at: std::time::Instant, timeout: Duration) -> std::time::Instant {
    at.checked_add(timeout)
        .or_else(|| at.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(at)
}

/// How long a flush or a shutdown waits by default before it gives up and reports
/// what it could not make durable.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
