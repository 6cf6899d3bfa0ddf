//! Control requests to the writer thread, on their own channel: a flush or a
//! shutdown never waits behind events in the data queue.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::Waker;
use std::time::Instant;

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
    Flush(Reply),
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
    pub reply: Reply,
}

/// Where the writer sends a flush's answer: the [`Slot`] a thread blocks on or a
/// task's waker is registered with.
#[derive(Debug)]
pub(crate) struct Reply(pub Arc<Slot>);

impl Reply {
    /// Answers; whoever asked may have given up already.
    pub(crate) fn send(&self, answer: FlushReply) {
        self.0.fill(Fill::Answer(answer));
    }
}

impl Drop for Reply {
    /// A request dropped unanswered (the writer thread ended) still wakes its waiter.
    fn drop(&mut self) {
        self.0.fill(Fill::Gone);
    }
}

/// A flush's answer for a thread or a task to collect: filled once, by the writer
/// (the answer) or by the deadline timer (expired), whichever comes first.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    state: Mutex<SlotState>,
    filled: Condvar,
}

#[derive(Debug, Default)]
struct SlotState {
    answer: Option<Fill>,
    waker: Option<Waker>,
}

/// What fills a [`Slot`].
#[derive(Debug, Clone)]
pub(crate) enum Fill {
    /// The writer's answer.
    Answer(FlushReply),
    /// The deadline passed first.
    Expired,
    /// The writer stopped without answering.
    Gone,
}

impl Slot {
    pub(crate) fn fill(&self, fill: Fill) {
        let waker = {
            let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if s.answer.is_some() {
                return;
            }
            s.answer = Some(fill);
            s.waker.take()
        };
        self.filled.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The answer if there is one; otherwise `waker` is woken when it comes.
    pub(crate) fn poll(&self, waker: &Waker) -> Option<Fill> {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(a) = &s.answer {
            return Some(a.clone());
        }
        match &mut s.waker {
            Some(w) if w.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
        None
    }

    /// Blocks until the answer, or `deadline` (then [`Fill::Expired`]).
    pub(crate) fn wait(&self, deadline: Instant) -> Fill {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(a) = &s.answer {
                return a.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Fill::Expired;
            }
            s = self
                .filled
                .wait_timeout(s, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
