//! Writing a batch again after an error, and reopening a stream that stopped.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tracing_audit_core::{Entry, ErrorKind as CoreErrorKind, Timestamp, Writer};

use super::control::WriteFailure;
use super::shared::LossReason;
use super::worker::Worker;

/// The first pause after a failed write; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Appends `batch`, retrying failed writes with backoff (100 ms doubling to 5 s).
/// Returns whether the batch is durable.
///
/// While running, it retries until the write succeeds (callers wait or drop with a
/// gap, per the overflow policy). It waits for control requests between attempts,
/// so a flush or a shutdown is taken even while the disk stays broken; once a
/// shutdown is asked, it gives up at its deadline and returns the error and how
/// many entries of `batch` (its end) were not written.
///
/// A failure that stops the writer (a failed fsync) closes it and reopens the
/// stream (its recovery record says so), then writes the whole failed attempt again:
/// none of it is known to be durable. Records of it that did reach the disk then
/// appear twice, with the same event `id`.
pub(super) fn write_with_retry(
    w: &mut Worker,
    batch: &[Entry],
) -> Result<bool, (WriteFailure, usize)> {
    let mut backoff = FIRST_BACKOFF;
    // What is left to write: a failure after part of the batch was written (it
    // spanned a rotation) retries only the rest, so nothing is written twice.
    let mut rest = batch;
    loop {
        let mut failure = match w.slot.as_mut() {
            Some(writer) => match writer.append_partial(rest) {
                Ok(appended) => {
                    count_written(w, rest);
                    w.shared.healthy.store(true, Ordering::Release);
                    w.meters.healthy.set(1.0);
                    return Ok(appended.durable);
                }
                Err(partial) if partial.error.kind() == CoreErrorKind::Encode => {
                    // One entry cannot be written at all (its record would be longer
                    // than a line may be): retrying cannot help. Skip it, never
                    // silently: a gap record says so and the dropped counter rises.
                    count_written(w, &rest[..partial.written]);
                    let Some(bad) = rest.get(partial.written) else {
                        return Ok(false);
                    };
                    eprintln!(
                        "tracing-audit: an audit event was not written: {}",
                        partial.error
                    );
                    w.shared.record_loss(entry_ts(bad), LossReason::TooLarge);
                    if matches!(bad, Entry::Event(_)) {
                        w.shared.unwritable_total.fetch_add(1, Ordering::AcqRel);
                    }
                    rest = &rest[partial.written + 1..];
                    if rest.is_empty() {
                        return Ok(false);
                    }
                    continue;
                }
                Err(partial) => {
                    w.shared.set_error(&partial.error);
                    if writer.is_poisoned() {
                        // Dropping it says on stderr that it stopped.
                        w.slot = None;
                    } else {
                        count_written(w, &rest[..partial.written]);
                        rest = &rest[partial.written..];
                    }
                    WriteFailure::core("cannot write the audit records", partial.error)
                }
            },
            None => WriteFailure::new("the audit stream is not open (reopening it failed)"),
        };
        if w.slot.is_none() {
            match Writer::open(w.config.clone()) {
                Ok(writer) => {
                    eprintln!(
                        "tracing-audit: reopened the audit stream {} after: {failure}; writing the {} unconfirmed entries again",
                        w.config.dir.display(),
                        rest.len()
                    );
                    w.slot = Some(writer);
                    // What was written before this batch and not yet fsynced may be
                    // lost with the stopped writer: a gap record says so.
                    if w.unsynced.count() > 0 {
                        let unsynced = std::mem::take(&mut w.unsynced);
                        w.shared.record_unsynced(unsynced);
                    }
                }
                Err(e) => {
                    w.shared.set_error(&e);
                    failure = WriteFailure::core(
                        format!("cannot reopen the audit stream after: {failure}"),
                        e,
                    );
                }
            }
        }
        let pause = match w.shutdown {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err((failure, rest.len()));
                }
                backoff.min(left)
            }
            None => backoff,
        };
        // A flush or shutdown that arrives now is taken at once.
        w.wait_control(pause);
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Counts written entries in the health counters and metrics.
fn count_written(w: &mut Worker, entries: &[Entry]) {
    if entries.is_empty() {
        return;
    }
    let events = entries
        .iter()
        .filter(|e| matches!(e, Entry::Event(_)))
        .count() as u64;
    w.shared.written_total.fetch_add(events, Ordering::AcqRel);
    let now = Timestamp::now().unix_micros();
    w.shared.last_write_micros.store(now, Ordering::Relaxed);
    w.meters.written(entries);
    w.meters.last_write.set(now as f64 / 1e6);
}

/// When an entry happened (an event's time, a gap's last loss).
fn entry_ts(entry: &Entry) -> Timestamp {
    match entry {
        Entry::Event(e) => e.ts,
        Entry::Gap(g) => g.to,
        // `Entry` is non-exhaustive for other crates.
        #[allow(unreachable_patterns)]
        _ => Timestamp::now(),
    }
}
