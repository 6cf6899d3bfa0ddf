//! [`AuditGuard`]: keeps the writer running; flushes and seals on drop.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;
use tracing_audit_core::Timestamp;

use crate::error::{AuditError, ErrorKind};
use crate::pipeline::{self, DEFAULT_DEADLINE, Queue};

/// How long past a shutdown's deadline the guard waits for the writer thread to
/// report (it may be sealing the segment when the deadline passes).
const REPORT_GRACE: Duration = Duration::from_secs(1);

/// Keeps the audit writer running.
///
/// Dropping it writes what is queued, seals the segment and stops the writer thread
/// within [`DEFAULT_DEADLINE`] (printing any error, with the number of events it
/// could not write, to standard error); call [`AuditGuard::shutdown`] to get that
/// error as a `Result` instead, or [`AuditGuard::shutdown_within`] to choose the
/// deadline. No flush or shutdown waits behind the events in the queue, and none
/// waits for ever: a disk that stays broken makes them return an error by their
/// deadline, saying how many events were not written.
#[must_use = "dropping the guard stops the audit writer; keep it alive as long as the program runs"]
#[derive(Debug)]
pub struct AuditGuard {
    pub(crate) queue: Queue,
    pub(crate) handle: Option<pipeline::Handle>,
}

/// A snapshot of the pipeline's health.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// False after a failed write, until a write succeeds again; false once stopped.
    pub healthy: bool,
    /// When the last batch was written.
    pub last_write: Option<Timestamp>,
    /// The last write error.
    pub last_error: Option<String>,
    /// Events written so far.
    pub written: u64,
    /// Events written and made durable (per the durability setting) so far.
    pub durable: u64,
    /// Events dropped so far (overflow policy `Drop` / `BlockTimeout`, or after shutdown).
    pub dropped: u64,
    /// Failed write attempts so far.
    pub write_errors: u64,
    /// Events waiting in the queue.
    pub queue_depth: usize,
}

impl AuditGuard {
    /// Returns when every event emitted before this call is durable, or with an
    /// error after [`DEFAULT_DEADLINE`].
    ///
    /// # Errors
    /// [`ErrorKind::Timeout`] when the deadline passed first (the error says how
    /// many events were not yet written, and the last write error);
    /// [`ErrorKind::Write`] when the records could not be made durable;
    /// [`ErrorKind::Stopped`] after a shutdown.
    pub fn flush(&self) -> Result<(), AuditError> {
        self.flush_within(DEFAULT_DEADLINE)
    }

    /// Like [`AuditGuard::flush`], giving up after `timeout`.
    ///
    /// # Errors
    /// As [`AuditGuard::flush`].
    pub fn flush_within(&self, timeout: Duration) -> Result<(), AuditError> {
        self.queue
            .flush(pipeline::deadline(Instant::now(), timeout))
    }

    /// True while the writer is running and its last write succeeded.
    pub fn is_healthy(&self) -> bool {
        self.queue.shared.is_healthy()
    }

    /// The pipeline's health now.
    pub fn health(&self) -> Health {
        let s = &self.queue.shared;
        let last = s.last_write_micros.load(Ordering::Relaxed);
        Health {
            healthy: s.is_healthy(),
            last_write: (last != 0).then(|| Timestamp::from_unix_micros(last)),
            last_error: s.last_error(),
            written: s.written_total.load(Ordering::Relaxed),
            durable: s.durable_total.load(Ordering::Relaxed),
            dropped: s.dropped_total.load(Ordering::Relaxed),
            write_errors: s.write_errors.load(Ordering::Relaxed),
            queue_depth: self.queue.queue_depth(),
        }
    }

    /// Writes everything queued, seals the segment, and stops the writer thread,
    /// giving up after [`DEFAULT_DEADLINE`].
    ///
    /// # Errors
    /// Records could not be written before the deadline ([`ErrorKind::Timeout`];
    /// [`AuditError::unwritten`] says how many), or the segment could not be sealed
    /// ([`ErrorKind::Write`]).
    pub fn shutdown(self) -> Result<(), AuditError> {
        self.shutdown_within(DEFAULT_DEADLINE)
    }

    /// Like [`AuditGuard::shutdown`], giving up after `timeout`: it returns within
    /// about `timeout` and one second, whatever the disk does.
    ///
    /// # Errors
    /// As [`AuditGuard::shutdown`].
    pub fn shutdown_within(mut self, timeout: Duration) -> Result<(), AuditError> {
        self.stop(timeout)
    }

    fn stop(&mut self, timeout: Duration) -> Result<(), AuditError> {
        let Some(handle) = self.handle.take() else {
            return Ok(());
        };
        let deadline = pipeline::deadline(Instant::now(), timeout);
        self.queue.send_shutdown(deadline);
        let wait = deadline.saturating_duration_since(Instant::now()) + REPORT_GRACE;
        let result = match handle.done.recv_timeout(wait) {
            Ok(result) => {
                // It has sent its result: joining takes no time.
                let _ = handle.thread.join();
                result
            }
            // The thread is stuck (a hung disk, a stalled write): leave it, and say
            // what it holds.
            Err(RecvTimeoutError::Timeout) => {
                let left = self.queue.unwritten();
                return Err(self.queue.timed_out("shutdown", left, "written"));
            }
            Err(RecvTimeoutError::Disconnected) => {
                let why = match handle.thread.join() {
                    Err(payload) => payload
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic without a message".to_owned()),
                    Ok(()) => "no result".to_owned(),
                };
                let left = self.queue.unwritten();
                return Err(AuditError::new(
                    ErrorKind::Stopped,
                    format!(
                        "the audit writer thread stopped ({why}); {left} accepted events were not written"
                    ),
                )
                .unwritten_events(left));
            }
        };
        match result {
            Ok(()) => {
                // An event that got into the queue as the writer finished (racing
                // the shutdown) would be lost: say so rather than nothing.
                let left = self.queue.unwritten();
                if left == 0 {
                    Ok(())
                } else {
                    Err(AuditError::new(
                        ErrorKind::Write,
                        format!("{left} audit events were accepted while the writer was shutting down and were not written"),
                    )
                    .unwritten_events(left))
                }
            }
            Err((failure, 0)) => Err(AuditError::from_failure(
                ErrorKind::Write,
                "the audit writer could not finish",
                failure,
            )),
            Err((failure, unwritten)) => {
                // The writer emptied the queue when it gave up: what is in it now
                // came from producers that were blocked on it, and is lost too.
                let unwritten = unwritten + self.queue.queue_depth() as u64;
                Err(AuditError::from_failure(
                    ErrorKind::Timeout,
                    format_args!(
                        "{unwritten} accepted audit events could not be written before the shutdown deadline"
                    ),
                    failure,
                )
                .unwritten_events(unwritten))
            }
        }
    }

    #[doc(hidden)]
    /// Test seam: holds the writer thread before its next batch while the returned
    /// value lives (as a hung disk would).
    pub fn stall_writer(&self) -> WriterStall {
        self.queue.shared.stalled.store(true, Ordering::Release);
        WriterStall(std::sync::Arc::clone(&self.queue.shared))
    }
}

impl Drop for AuditGuard {
    fn drop(&mut self) {
        if let Err(e) = self.stop(DEFAULT_DEADLINE) {
            eprintln!("tracing-audit: shutting down the audit writer failed: {e}");
        }
    }
}

/// Holds the writer thread while it lives (test seam; see
/// [`AuditGuard::stall_writer`]).
#[doc(hidden)]
#[derive(Debug)]
pub struct WriterStall(std::sync::Arc<crate::pipeline::Shared>);

impl WriterStall {
    /// True once the writer thread holds in the stall, its next batch taken from
    /// the queue (so that what the queue holds now stays there).
    pub fn engaged(&self) -> bool {
        self.0.stall_engaged.load(Ordering::Acquire)
    }
}

impl Drop for WriterStall {
    fn drop(&mut self) {
        self.0.stalled.store(false, Ordering::Release);
        self.0.stall_engaged.store(false, Ordering::Release);
    }
}
