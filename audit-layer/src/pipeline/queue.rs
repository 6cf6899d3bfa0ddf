//! The callers' side of the pipeline: the bounded data queue, the overflow policy,
//! and flush / shutdown requests with deadlines.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crossbeam_channel::{Sender, TrySendError};
use tracing_audit_core::Event;

use super::Overflow;
use super::control::{Control, Fill, Reply, Slot};
use super::shared::{LossReason, Shared};
use crate::error::{AuditError, ErrorKind};

std::thread_local! {
    /// Set when an event emitted on this thread was not accepted (queue full under
    /// a dropping overflow policy, or the writer stopped): the next [`crate::flush`]
    /// on this thread reads it and fails, so that no flush (and no durable call)
    /// succeeds on a dropped record. Per thread: in async code, it covers the
    /// events of the same poll.
    pub(crate) static RECORD_LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Set when an event emitted on this thread was accepted by an audit layer's
    /// queue: a durable call checks that its record got that far (a filter may
    /// have kept it from the layer).
    pub(crate) static RECORD_ACCEPTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The sending side, used by the layer on the caller's thread and by the guard.
#[derive(Clone, Debug)]
pub(crate) struct Queue {
    pub(super) data: Sender<Event>,
    pub(super) control: Sender<Control>,
    pub(super) overflow: Overflow,
    pub shared: Arc<Shared>,
}

impl Queue {
    /// Hands an event to the writer per the overflow policy. No I/O, no hashing.
    pub(crate) fn send(&self, event: Event) {
        if self.shared.closed.load(Ordering::Acquire) {
            self.shared.refuse();
            RECORD_LOST.set(true);
            return;
        }
        let ts = event.ts;
        let result = match self.overflow {
            Overflow::Block => self.data.send(event).map_err(|_| false),
            Overflow::Drop => self
                .data
                .try_send(event)
                .map_err(|e| matches!(e, TrySendError::Full(_))),
            Overflow::BlockTimeout(d) => {
                self.data.send_timeout(event, d).map_err(|e| e.is_timeout())
            }
        };
        match result {
            Ok(()) => {
                RECORD_ACCEPTED.set(true);
                return;
            }
            // Full: the writer will record a gap.
            Err(true) => self.shared.record_loss(ts, LossReason::QueueFull),
            // The writer has stopped: nobody can record a gap any more, so say it here.
            Err(false) => self.shared.refuse(),
        }
        RECORD_LOST.set(true);
    }

    /// Waits until every event sent before this call is durable, or `deadline`.
    pub(crate) fn flush(&self, deadline: Instant) -> Result<(), AuditError> {
        let slot = self.flush_slot()?;
        self.flush_answer(slot.wait(deadline))
    }

    /// Asks the writer for a flush answered in a [`Slot`] (for a task or a thread
    /// that waits on it).
    pub(crate) fn flush_slot(&self) -> Result<Arc<Slot>, AuditError> {
        let slot = Arc::new(Slot::default());
        self.ask_flush(Reply(Arc::clone(&slot)))?;
        Ok(slot)
    }

    fn ask_flush(&self, reply: Reply) -> Result<(), AuditError> {
        if self.control.send(Control::Flush(reply)).is_err() {
            return Err(AuditError::new(
                ErrorKind::Stopped,
                "cannot flush: the audit writer has stopped",
            ));
        }
        Ok(())
    }

    /// A flush's result from what filled its slot.
    pub(crate) fn flush_answer(&self, fill: Fill) -> Result<(), AuditError> {
        match fill {
            Fill::Answer(Ok(())) => Ok(()),
            Fill::Answer(Err(failure)) => Err(AuditError::from_failure(
                ErrorKind::Write,
                "the audit records could not be made durable",
                failure,
            )
            .unwritten_events(self.not_durable())),
            Fill::Gone => self.writer_gone(),
            Fill::Expired => Err(self.flush_timed_out()),
        }
    }

    fn writer_gone(&self) -> Result<(), AuditError> {
        let left = self.not_durable();
        let message = if left == 0 {
            "cannot flush: the audit writer has stopped (after a shutdown)".to_owned()
        } else {
            format!(
                "the audit writer stopped before the flush completed; {left} accepted events are not durable"
            )
        };
        Err(AuditError::new(ErrorKind::Stopped, message).unwritten_events(left))
    }

    /// Asks the writer to write what is queued, seal, and stop by `deadline`. Never
    /// waits for room in the data queue.
    pub(crate) fn send_shutdown(&self, deadline: Instant) {
        // The writer may already be gone; the guard then learns it from the thread.
        let _ = self.control.send(Control::Shutdown { deadline });
    }

    /// The error of a flush that reached its deadline.
    fn flush_timed_out(&self) -> AuditError {
        self.timed_out("flush", self.not_durable(), "durable")
    }

    /// The error of a flush or shutdown that reached its deadline with `left` events
    /// not yet `what`.
    pub(crate) fn timed_out(&self, op: &str, left: u64, what: &str) -> AuditError {
        let cause = self.shared.last_error().map_or_else(
            || "the writer made no progress".to_owned(),
            |e| format!("last error: {e}"),
        );
        AuditError::new(
            ErrorKind::Timeout,
            format!(
                "the audit {op} reached its deadline with {left} accepted events not yet {what} ({cause})"
            ),
        )
        .unwritten_events(left)
    }

    /// Accepted events not yet written: those the writer holds and those still in
    /// the queue (crossbeam's bounded channel keeps its messages, and its length,
    /// after the receiver is gone). May count one batch too many, never too few.
    pub(crate) fn unwritten(&self) -> u64 {
        let queued = self.data.len() as u64;
        self.shared.in_hand(&self.shared.written_total) + queued
    }

    /// Accepted events not yet durable (written or not).
    pub(crate) fn not_durable(&self) -> u64 {
        let queued = self.data.len() as u64;
        self.shared.in_hand(&self.shared.durable_total) + queued
    }

    pub(crate) fn queue_depth(&self) -> usize {
        self.data.len()
    }
}
