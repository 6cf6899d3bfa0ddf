//! [`flush`]: making the audit records emitted so far durable, from code that does
//! not hold the [`AuditGuard`](crate::AuditGuard) — a handler that must not answer
//! before its record is on disk, sync or async.

use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, Sender};

use crate::AuditLayer;
use crate::error::{AuditError, ErrorKind};
use crate::pipeline::{DEFAULT_DEADLINE, Fill, Queue, Slot};

/// Starts making every audit event accepted so far durable: those emitted before
/// this call, on any thread, through the current default subscriber's
/// [`AuditLayer`].
///
/// The returned [`Flush`] is a future (`.await` it in async code) and has a
/// blocking [`Flush::wait`] for threads. Either gives up after
/// [`DEFAULT_DEADLINE`] unless [`Flush::within`] says otherwise. Concurrent flushes
/// share one `fsync` (group commit): a thousand handlers waiting for their records
/// cost about one disk flush, not a thousand.
///
/// `#[audited(durable)]` (and a catalog action with `durable = true`) does this
/// for you after the record is emitted; call it yourself when code emits with
/// `audit!` and must not go on before the record is on disk.
///
/// ```
/// # async fn handler() -> Result<(), tracing_audit::AuditError> {
/// tracing_audit::audit!(action = "pool.deleted", actor = "alice", resource = "p-42");
/// tracing_audit::flush().await?; // the record is on disk now
/// # Ok(()) }
/// ```
///
/// # Errors
/// The future (or [`Flush::wait`]) returns [`ErrorKind::Dropped`] when an audit
/// event emitted on this thread since its last flush was not accepted (the queue
/// was full under a dropping overflow policy, or the writer had stopped: the
/// record is not in the trail, a `gap` record is; the mark is kept per thread, so
/// in async code call `flush()` before the task next awaits, as the durable
/// `#[audited]` expansion does), [`ErrorKind::Install`] when no audit
/// layer is in the current subscriber, [`ErrorKind::Stopped`] after the guard shut
/// the writer down, [`ErrorKind::Write`] when the records could not be made durable,
/// and [`ErrorKind::Timeout`] at the deadline.
pub fn flush() -> Flush {
    if crate::pipeline::RECORD_LOST.take() {
        return Flush::failed(AuditError::new(
            ErrorKind::Dropped,
            "an audit event emitted on this thread was not accepted (the queue was full under a dropping overflow policy, or the writer had stopped)",
        ));
    }
    flush_accepted()
}

/// [`flush`] without looking at this thread's dropped-event mark.
pub(crate) fn flush_accepted() -> Flush {
    let queue = tracing::dispatcher::get_default(|d| {
        d.downcast_ref::<AuditLayer>().map(|l| l.queue.clone())
    });
    let state = match queue {
        None => State::Failed(Some(AuditError::new(
            ErrorKind::Install,
            "cannot flush: no audit layer is installed in the current subscriber",
        ))),
        Some(queue) => match queue.flush_slot() {
            Ok(slot) => State::Asked {
                queue,
                slot,
                timed: false,
            },
            Err(e) => State::Failed(Some(e)),
        },
    };
    Flush {
        state,
        asked: Instant::now(),
        timeout: DEFAULT_DEADLINE,
    }
}

impl Flush {
    /// A flush that fails at once with `error`.
    pub(crate) fn failed(error: AuditError) -> Flush {
        Flush {
            state: State::Failed(Some(error)),
            asked: Instant::now(),
            timeout: DEFAULT_DEADLINE,
        }
    }
}

/// A flush in progress: see [`flush`].
#[must_use = "a flush does nothing unless awaited or waited for"]
#[derive(Debug)]
pub struct Flush {
    state: State,
    asked: Instant,
    timeout: Duration,
}

#[derive(Debug)]
enum State {
    Asked {
        queue: Queue,
        slot: Arc<Slot>,
        /// Registered with the deadline timer (on the first poll).
        timed: bool,
    },
    Failed(Option<AuditError>),
}

impl Flush {
    /// Gives up `timeout` after the call of [`flush`] instead of after
    /// [`DEFAULT_DEADLINE`].
    pub fn within(mut self, timeout: Duration) -> Flush {
        self.timeout = timeout;
        self
    }

    fn deadline(&self) -> Instant {
        crate::pipeline::deadline(self.asked, self.timeout)
    }

    /// Blocks the thread until the records are durable, or the deadline.
    ///
    /// # Errors
    /// As [`flush`].
    pub fn wait(self) -> Result<(), AuditError> {
        let deadline = self.deadline();
        match self.state {
            State::Asked { queue, slot, .. } => queue.flush_answer(slot.wait(deadline)),
            State::Failed(e) => Err(e.unwrap_or_else(polled_after_ready)),
        }
    }
}

impl Future for Flush {
    type Output = Result<(), AuditError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let deadline = this.deadline();
        match &mut this.state {
            State::Failed(e) => Poll::Ready(Err(e.take().unwrap_or_else(polled_after_ready))),
            State::Asked { queue, slot, timed } => {
                if let Some(fill) = slot.poll(cx.waker()) {
                    return Poll::Ready(queue.flush_answer(fill));
                }
                if !*timed {
                    *timed = true;
                    // If the timer thread could not start (said on standard error),
                    // the flush waits for the writer's answer without a deadline.
                    let _ = timer().send((deadline, Arc::downgrade(slot)));
                }
                Poll::Pending
            }
        }
    }
}

fn polled_after_ready() -> AuditError {
    AuditError::new(ErrorKind::Stopped, "the flush was already awaited")
}

/// The deadlines of awaited flushes: one thread per process, started on first use,
/// that marks a slot expired (and wakes its task) when its deadline passes. Without
/// it a task awaiting a flush on a hung disk would wait for ever.
fn timer() -> &'static Sender<(Instant, Weak<Slot>)> {
    static TIMER: OnceLock<Sender<(Instant, Weak<Slot>)>> = OnceLock::new();
    TIMER.get_or_init(|| {
        let (tx, rx) = crossbeam_channel::unbounded::<(Instant, Weak<Slot>)>();
        let spawned = std::thread::Builder::new()
            .name("audit-flush-deadlines".into())
            .spawn(move || {
                let mut deadlines = Deadlines::default();
                loop {
                    let wait = deadlines.expire(Instant::now());
                    match rx.recv_timeout(wait) {
                        Ok((at, slot)) => deadlines.push(at, slot),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            });
        if let Err(e) = spawned {
            eprintln!(
                "tracing-audit: cannot start the flush deadline thread ({e}); an awaited flush on a hung disk will not time out"
            );
        }
        tx
    })
}

/// The waiting flushes' deadlines, earliest first.
struct Deadlines {
    heap: BinaryHeap<Deadline>,
    /// Answered flushes drop their slot; their entries are pruned when the heap
    /// reaches this size, so memory follows the flushes still waiting.
    prune_at: usize,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            heap: BinaryHeap::new(),
            prune_at: 1024,
        }
    }
}

impl Deadlines {
    fn push(&mut self, at: Instant, slot: Weak<Slot>) {
        self.heap.push(Deadline { at, slot });
        if self.heap.len() >= self.prune_at {
            self.heap.retain(|d| d.slot.strong_count() > 0);
            self.heap.shrink_to_fit();
            self.prune_at = (self.heap.len() * 2).max(1024);
        }
    }

    /// Expires the slots whose deadline has passed; returns how long until the next.
    fn expire(&mut self, now: Instant) -> Duration {
        while self.heap.peek().is_some_and(|d| d.at <= now) {
            if let Some(Deadline { slot, .. }) = self.heap.pop()
                && let Some(slot) = slot.upgrade()
            {
                slot.fill(Fill::Expired);
            }
        }
        self.heap
            .peek()
            .map_or(Duration::from_secs(3600), |d| d.at - now)
    }
}

struct Deadline {
    at: Instant,
    slot: Weak<Slot>,
}

impl PartialEq for Deadline {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}
impl Eq for Deadline {}
impl PartialOrd for Deadline {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Deadline {
    /// Reversed: the heap's top is the earliest deadline.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.at.cmp(&self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Red-team finding: a million awaited flushes answered early kept their
    /// entries (and slots' memory) until their deadlines.
    #[test]
    fn answered_flushes_do_not_accumulate_in_the_deadline_heap() {
        let mut d = Deadlines::default();
        let later = Instant::now() + Duration::from_secs(3600);
        let waiting: Vec<Arc<Slot>> = (0..10).map(|_| Arc::new(Slot::default())).collect();
        for s in &waiting {
            d.push(later, Arc::downgrade(s));
        }
        for _ in 0..100_000 {
            let answered = Arc::new(Slot::default());
            d.push(later, Arc::downgrade(&answered));
        }
        assert!(d.heap.len() < 2048, "{} entries kept", d.heap.len());
        // The waiting ones are kept, and expire at their deadline.
        assert_eq!(
            d.heap.iter().filter(|e| e.slot.strong_count() > 0).count(),
            10
        );
        d.expire(later);
        let expired = waiting
            .iter()
            .filter(|s| matches!(s.poll(std::task::Waker::noop()), Some(Fill::Expired)))
            .count();
        assert_eq!(expired, 10);
    }
}
