//! The lock protocol of a stream, shared by the writer and the verifier.
//!
//! The writer holds an exclusive `flock` on `<dir>/.lock` (which holds its pid)
//! for as long as it is open: one writer per stream. A verifier takes the lock
//! shared for an instant to learn whether a writer is live, and so whether a torn
//! tail of the newest segment is a write in progress rather than damage.

use std::path::Path;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};
use crate::segment::LOCK_FILE;
use crate::storage::{LockGuard, Storage, TryLock};

/// How often, and how long apart, the writer retries a lock held for an instant
/// (a verifier's probe).
const TRIES: u32 = 20;
const RETRY_AFTER: Duration = Duration::from_millis(25);

/// Takes the writer lock of `dir`, waiting out a verifier's brief shared lock.
///
/// # Errors
/// [`ErrorKind::Locked`] naming the holder's pid when another writer holds it;
/// [`ErrorKind::Io`] otherwise.
pub(crate) fn take_writer_lock(storage: &dyn Storage, dir: &Path) -> Result<LockGuard> {
    let path = dir.join(LOCK_FILE);
    let mut tries = 0;
    loop {
        match storage
            .lock(&path, std::process::id())
            .map_err(|e| Error::io(&path, "cannot lock", e))?
        {
            TryLock::Acquired(guard) => return Ok(guard),
            TryLock::Held { .. } if tries < TRIES => {
                tries += 1;
                std::thread::sleep(RETRY_AFTER);
            }
            TryLock::Held { holder } => {
                return Err(Error::new(
                    ErrorKind::Locked,
                    format!(
                        "expected to be the only writer of this stream, found the lock held by another process{}",
                        holder.map_or(String::new(), |pid| format!(" (pid {pid})"))
                    ),
                )
                .at(&path));
            }
        }
    }
}

/// True when a writer process holds the stream's lock right now (false when the
/// lock cannot be probed: the torn tail is then reported, never hidden).
pub(crate) fn writer_is_live(storage: &dyn Storage, dir: &Path) -> bool {
    storage.is_locked(&dir.join(LOCK_FILE)).unwrap_or(false)
}
