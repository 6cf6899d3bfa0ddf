//! Control requests to the writer thread, on their own channel: a flush or a
//! shutdown never waits behind events in the data queue.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Sender;

/// A write failure as the writer thread reports it to flushes and to the guard: what
/// failed, and the storage error behind it, kept whole (it becomes the
/// [`source`](std::error::Error::source) of the caller's `AuditError`).
#[derive(Debug, Clone)]
pub(crate) struct WriteFailure {
    pub context: String,
    pub core: Option<Arc<tracing_audit_core::Error>>,
}

impl WriteFailure {
    pub(crate) fn new(context: impl Into<String>) -> WriteFailure {
        WriteFailure {
            context: context.into(),
            core: None,
        }
    }

    pub(crate) fn core(context: impl Into<String>, e: tracing_audit_core::Error) -> WriteFailure {
        WriteFailure {
            context: context.into(),
            core: Some(Arc::new(e)),
        }
    }
}

impl fmt::Display for WriteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.core {
            Some(e) if self.context.is_empty() => write!(f, "{e}"),
            Some(e) => write!(f, "{}: {e}", self.context),
            None => f.write_str(&self.context),
        }
    }
}

/// The writer's answer to a flush: `Ok` once every event it covers is durable, or
/// the write failure that stops that.
pub(crate) type FlushReply = Result<(), WriteFailure>;

/// A request to the writer thread.
#[derive(Debug)]
pub(crate) enum Control {
    /// Answer once every event in the data queue (or already taken from it) when
    /// the writer reads this request is written and durable.
    Flush(Sender<FlushReply>),
    /// Write what is queued, seal, and stop; give up at `deadline` if the stream
    /// cannot be written, and report how many events were left unwritten.
    Shutdown {
        /// When to give up.
        deadline: Instant,
    },
}

/// A flush the writer has taken but not answered yet.
#[derive(Debug)]
pub(crate) struct PendingFlush {
    /// Answered once this many events (counted from the thread's start) are written
    /// and durable.
    pub upto: u64,
    pub reply: Sender<FlushReply>,
}
