//! Control requests to the writer thread, on their own channel: a flush or a
//! shutdown never waits behind events in the data queue.

use std::time::Instant;

use crossbeam_channel::Sender;

/// The writer's answer to a flush: `Ok` once every event it covers is durable, or
/// the write error that stops that.
pub(crate) type FlushReply = Result<(), String>;

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
