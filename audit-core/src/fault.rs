//! Deterministic I/O fault injection, for tests (cargo feature `fault-injection`;
//! without it every check is an inlined no-op).
//!
//! A plan is per stream directory, so tests running in parallel do not disturb
//! each other: `fail(dir, Op::Fsync, 2)` makes the third fsync of the writer of
//! `dir` fail once, with `EIO`, as a failing disk would.

use std::path::Path;

/// An I/O operation of the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// The `write` of a batch.
    Write,
    /// The fsync of a segment.
    Fsync,
}

#[cfg(feature = "fault-injection")]
mod imp {
    use std::path::{Path, PathBuf};
    use std::sync::{Mutex, PoisonError};

    use super::Op;

    struct Plan {
        dir: PathBuf,
        op: Op,
        /// Operations of this kind to let through before failing.
        skip: u64,
    }

    static PLANS: Mutex<Vec<Plan>> = Mutex::new(Vec::new());

    /// Makes the operation `op` of the writer of `dir` fail once with `EIO`, after
    /// `skip` more of them succeed.
    pub fn fail(dir: &Path, op: Op, skip: u64) {
        PLANS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Plan {
                dir: dir.to_path_buf(),
                op,
                skip,
            });
    }

    pub(crate) fn check(dir: &Path, op: Op) -> std::io::Result<()> {
        let mut plans = PLANS.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(i) = plans.iter().position(|p| p.op == op && p.dir == dir) else {
            return Ok(());
        };
        if plans[i].skip > 0 {
            plans[i].skip -= 1;
            return Ok(());
        }
        plans.remove(i);
        Err(std::io::Error::from_raw_os_error(5)) // EIO
    }
}

#[cfg(feature = "fault-injection")]
pub use imp::fail;

/// Fails when a plan says so (never without the `fault-injection` feature).
#[inline]
pub(crate) fn check(dir: &Path, op: Op) -> std::io::Result<()> {
    #[cfg(feature = "fault-injection")]
    {
        imp::check(dir, op)
    }
    #[cfg(not(feature = "fault-injection"))]
    {
        let _ = (dir, op);
        Ok(())
    }
}
