//! A [`Storage`] that fails chosen calls or "crashes", for tests (cargo feature
//! `fault-injection`; never enable it in production).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{AppendFile, FileStorage, Op, ReadFile, Storage, TryLock};

/// A fault plan: fail one call with an OS error number.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// `None`: any kind of call.
    op: Option<Op>,
    /// The 1-based number of the call (counted over `op`, or over all calls).
    nth: u64,
    errno: i32,
}

#[derive(Debug, Default)]
struct State {
    calls: u64,
    by_op: BTreeMap<Op, u64>,
    plans: Vec<Plan>,
    crash_after: Option<u64>,
    crashed: bool,
    /// Per file: the length known to be durable (at its last `sync_data`).
    durable: BTreeMap<PathBuf, u64>,
    /// Files created since the last `sync_dir` of their directory.
    undurable_names: BTreeSet<PathBuf>,
    log: Vec<(Op, PathBuf)>,
}

/// A [`Storage`] over the real file system that fails chosen calls, or simulates
/// a crash (a power cut) after a chosen call.
///
/// - [`FaultStorage::fail_nth_call`] / [`FaultStorage::fail_nth`]: the N-th call
///   (of any kind, or of one [`Op`]) fails once with the given `errno`.
/// - [`FaultStorage::crash_after`]: once N calls have been made, the next one
///   "crashes": what is on disk is cut back to what was durable (data appended to
///   a file after its last `sync_data` is removed; files created after the last
///   `sync_dir` of their directory vanish), and every call from then on fails with
///   `EIO`. Reopen the stream with the real [`FileStorage`] to check recovery.
///
/// Clones share their plans and counters.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use tracing_audit_core::storage::{FaultStorage, Op};
/// use tracing_audit_core::{Event, Key, Writer, WriterConfig};
///
/// let dir = tempfile::tempdir()?;
/// let faults = FaultStorage::new();
/// let config = WriterConfig::new(dir.path(), "svc", Key::generate()?)
///     .storage(Arc::new(faults.clone()));
/// let mut w = Writer::open(config)?;
/// faults.fail_next(Op::SyncData, 5); // EIO
/// let err = w.append(&[Event::new("a.b").into()]).unwrap_err();
/// assert!(err.to_string().contains("cannot fsync segment"), "{err}");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct FaultStorage {
    inner: FileStorage,
    state: Arc<Mutex<State>>,
}

impl FaultStorage {
    /// A backend with no faults planned.
    pub fn new() -> FaultStorage {
        FaultStorage::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Makes the `nth` call (1-based, counted from the start over every kind of
    /// call) fail once with `errno`.
    pub fn fail_nth_call(&self, nth: u64, errno: i32) {
        self.state().plans.push(Plan {
            op: None,
            nth,
            errno,
        });
    }

    /// Makes the `nth` call of kind `op` (1-based, counted from the start) fail
    /// once with `errno`.
    pub fn fail_nth(&self, op: Op, nth: u64, errno: i32) {
        self.state().plans.push(Plan {
            op: Some(op),
            nth,
            errno,
        });
    }

    /// Makes the next call of kind `op` fail once with `errno`.
    pub fn fail_next(&self, op: Op, errno: i32) {
        let mut s = self.state();
        let nth = s.by_op.get(&op).copied().unwrap_or(0) + 1;
        s.plans.push(Plan {
            op: Some(op),
            nth,
            errno,
        });
    }

    /// Crashes when the call after the `n`-th one is made (`0`: at the first call).
    pub fn crash_after(&self, n: u64) {
        self.state().crash_after = Some(n);
    }

    /// Crashes now: see the type's documentation.
    pub fn crash_now(&self) {
        self.state().crash();
    }

    /// True once the backend has crashed.
    pub fn crashed(&self) -> bool {
        self.state().crashed
    }

    /// How many calls were made (failed ones included).
    pub fn calls(&self) -> u64 {
        self.state().calls
    }

    /// How many calls of kind `op` were made.
    pub fn calls_of(&self, op: Op) -> u64 {
        self.state().by_op.get(&op).copied().unwrap_or(0)
    }

    /// Every call made, in order, with the path it concerned.
    pub fn log(&self) -> Vec<(Op, PathBuf)> {
        self.state().log.clone()
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn eio() -> io::Error {
    io::Error::from_raw_os_error(libc::EIO)
}

impl State {
    /// Counts a call and decides whether it fails.
    fn call(&mut self, op: Op, path: &Path) -> io::Result<()> {
        if self.crashed {
            return Err(eio());
        }
        if self.crash_after.is_some_and(|n| self.calls >= n) {
            self.crash();
            return Err(eio());
        }
        self.calls += 1;
        let of_op = self.by_op.entry(op).or_insert(0);
        *of_op += 1;
        let of_op = *of_op;
        self.log.push((op, path.to_path_buf()));
        let calls = self.calls;
        if let Some(i) = self.plans.iter().position(|p| match p.op {
            None => p.nth == calls,
            Some(o) => o == op && p.nth == of_op,
        }) {
            let plan = self.plans.remove(i);
            return Err(io::Error::from_raw_os_error(plan.errno));
        }
        Ok(())
    }

    /// Leaves on disk only what was durable.
    fn crash(&mut self) {
        if self.crashed {
            return;
        }
        self.crashed = true;
        for path in std::mem::take(&mut self.undurable_names) {
            // Best effort: the file may be gone already.
            let _ = std::fs::remove_file(&path);
            self.durable.remove(&path);
        }
        for (path, &len) in &self.durable {
            let Ok(meta) = std::fs::symlink_metadata(path) else {
                continue;
            };
            if meta.len() > len {
                let cut = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .and_then(|f| f.set_len(len));
                if let Err(e) = cut {
                    // A test helper: say so loudly rather than leave a wrong state.
                    panic!(
                        "FaultStorage: cannot cut {} back to {len} bytes: {e}",
                        path.display()
                    );
                }
            }
        }
    }
}

fn file_len(path: &Path) -> u64 {
    std::fs::symlink_metadata(path).map_or(0, |m| m.len())
}

#[derive(Debug)]
struct FaultAppend {
    inner: Box<dyn AppendFile>,
    path: PathBuf,
    state: Arc<Mutex<State>>,
}

impl AppendFile for FaultAppend {
    fn append(&mut self, buf: &[u8]) -> io::Result<()> {
        lock(&self.state).call(Op::Append, &self.path)?;
        self.inner.append(buf)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        lock(&self.state).call(Op::SetLen, &self.path)?;
        self.inner.set_len(len)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let mut s = lock(&self.state);
        s.call(Op::SyncData, &self.path)?;
        self.inner.sync_data()?;
        s.durable.insert(self.path.clone(), file_len(&self.path));
        Ok(())
    }
}

#[derive(Debug)]
struct FaultRead {
    inner: Box<dyn ReadFile>,
    path: PathBuf,
    state: Arc<Mutex<State>>,
}

impl Read for FaultRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        lock(&self.state).call(Op::Read, &self.path)?;
        self.inner.read(buf)
    }
}

impl Seek for FaultRead {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        lock(&self.state).call(Op::Seek, &self.path)?;
        self.inner.seek(pos)
    }
}

impl Storage for FaultStorage {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.state().call(Op::CreateDir, dir)?;
        self.inner.create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        self.state().call(Op::List, dir)?;
        self.inner.list(dir)
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadFile>> {
        self.state().call(Op::OpenRead, path)?;
        Ok(Box::new(FaultRead {
            inner: self.inner.open_read(path)?,
            path: path.to_path_buf(),
            state: Arc::clone(&self.state),
        }))
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn AppendFile>> {
        let mut s = self.state();
        s.call(Op::Create, path)?;
        let inner = self.inner.create(path)?;
        s.undurable_names.insert(path.to_path_buf());
        s.durable.insert(path.to_path_buf(), 0);
        Ok(Box::new(FaultAppend {
            inner,
            path: path.to_path_buf(),
            state: Arc::clone(&self.state),
        }))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>> {
        let mut s = self.state();
        s.call(Op::OpenAppend, path)?;
        let inner = self.inner.open_append(path)?;
        // What was there before this backend saw the file is taken as durable.
        if !s.durable.contains_key(path) {
            s.durable.insert(path.to_path_buf(), file_len(path));
        }
        Ok(Box::new(FaultAppend {
            inner,
            path: path.to_path_buf(),
            state: Arc::clone(&self.state),
        }))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.state();
        s.call(Op::SyncDir, dir)?;
        self.inner.sync_dir(dir)?;
        s.undurable_names.retain(|p| p.parent() != Some(dir));
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut s = self.state();
        s.call(Op::Remove, path)?;
        self.inner.remove(path)?;
        s.durable.remove(path);
        s.undurable_names.remove(path);
        Ok(())
    }

    fn set_readonly(&self, path: &Path) -> io::Result<()> {
        self.state().call(Op::SetReadonly, path)?;
        self.inner.set_readonly(path)
    }

    fn lock(&self, path: &Path, pid: u32) -> io::Result<TryLock> {
        self.state().call(Op::Lock, path)?;
        self.inner.lock(path, pid)
    }

    fn is_locked(&self, path: &Path) -> io::Result<bool> {
        self.state().call(Op::Lock, path)?;
        self.inner.is_locked(path)
    }

    fn not_regular(&self, path: &Path) -> io::Result<Option<&'static str>> {
        // A look at the directory entry, not an operation a fault is injected in.
        self.inner.not_regular(path)
    }
}
