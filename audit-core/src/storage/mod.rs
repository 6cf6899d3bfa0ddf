//! The storage seam: every I/O call of the writer, of recovery and of the readers.
//!
//! [`Storage`] is the small set of operations the trail needs from a file system.
//! [`FileStorage`] is the real one (the default): real `fsync`, files opened with
//! `O_NOFOLLOW` and checked to be regular files. With the `fault-injection` cargo
//! feature, `FaultStorage` wraps it to fail chosen calls or to simulate a crash,
//! so that tests can check what a failing disk or a power cut leaves behind.

use std::ffi::OsString;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

#[cfg(feature = "fault-injection")]
mod fault;
#[cfg(feature = "fault-injection")]
pub use fault::FaultStorage;

/// One kind of [`Storage`] call (to aim a fault at, or to name in a log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Op {
    /// [`Storage::create_dir_all`].
    CreateDir,
    /// [`Storage::list`].
    List,
    /// [`Storage::open_read`].
    OpenRead,
    /// One `read` from a [`ReadFile`].
    Read,
    /// One `seek` in a [`ReadFile`].
    Seek,
    /// [`Storage::create`].
    Create,
    /// [`Storage::open_append`].
    OpenAppend,
    /// [`AppendFile::append`].
    Append,
    /// [`AppendFile::set_len`].
    SetLen,
    /// [`AppendFile::sync_data`].
    SyncData,
    /// [`Storage::sync_dir`].
    SyncDir,
    /// [`Storage::remove`].
    Remove,
    /// [`Storage::set_readonly`].
    SetReadonly,
    /// [`Storage::lock`] and [`Storage::is_locked`].
    Lock,
}

impl Op {
    /// Every kind of call.
    pub const ALL: [Op; 14] = [
        Op::CreateDir,
        Op::List,
        Op::OpenRead,
        Op::Read,
        Op::Seek,
        Op::Create,
        Op::OpenAppend,
        Op::Append,
        Op::SetLen,
        Op::SyncData,
        Op::SyncDir,
        Op::Remove,
        Op::SetReadonly,
        Op::Lock,
    ];
}

/// A segment file opened for appending.
pub trait AppendFile: fmt::Debug + Send {
    /// Appends all of `buf` at the end of the file (one `write(2)` where possible).
    ///
    /// # Errors
    /// The operating system's error; part of `buf` may have been written.
    fn append(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Cuts (or extends) the file to `len` bytes.
    ///
    /// # Errors
    /// The operating system's error.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// Makes the file's data durable (`fdatasync`).
    ///
    /// # Errors
    /// The operating system's error: after it, nothing written since the last good
    /// sync is known to be durable.
    fn sync_data(&mut self) -> io::Result<()>;
}

/// A file opened for reading.
pub trait ReadFile: Read + Seek + fmt::Debug + Send {}

impl<T: Read + Seek + fmt::Debug + Send> ReadFile for T {}

/// Holds a stream's writer lock; dropping it releases the lock.
pub struct LockGuard {
    _held: Box<dyn Send + Sync>,
}

impl LockGuard {
    /// A guard that releases the lock when `held` is dropped.
    pub fn new(held: impl Send + Sync + 'static) -> LockGuard {
        LockGuard {
            _held: Box::new(held),
        }
    }
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}

/// The outcome of [`Storage::lock`].
#[derive(Debug)]
#[non_exhaustive]
pub enum TryLock {
    /// The lock is ours until the guard is dropped.
    Acquired(LockGuard),
    /// Another process holds it; `holder` is what the lock file says (its pid).
    Held {
        /// The content of the lock file, if it could be read.
        holder: Option<String>,
    },
}

/// The file-system operations of a stream.
///
/// Implementations must be safe to share between threads. Paths are the stream
/// directory, its lock file and its segment files.
pub trait Storage: fmt::Debug + Send + Sync {
    /// Creates a directory and its missing parents, mode 0700.
    ///
    /// # Errors
    /// The operating system's error.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The names of the entries of a directory, in no particular order.
    ///
    /// # Errors
    /// The operating system's error.
    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>>;
    /// Opens an existing regular file for reading; never follows a symlink and
    /// refuses FIFOs, devices and directories.
    ///
    /// # Errors
    /// The operating system's error, or `InvalidInput` for a non-regular file.
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadFile>>;
    /// Creates a new file (mode 0600) for appending; fails if it exists.
    ///
    /// # Errors
    /// The operating system's error (`AlreadyExists` when it exists).
    fn create(&self, path: &Path) -> io::Result<Box<dyn AppendFile>>;
    /// Opens an existing regular file for appending; never follows a symlink.
    ///
    /// # Errors
    /// The operating system's error, or `InvalidInput` for a non-regular file.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>>;
    /// fsyncs a directory, so that a create, rename or remove in it is durable.
    ///
    /// # Errors
    /// The operating system's error.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Removes a file.
    ///
    /// # Errors
    /// The operating system's error.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes a file read-only (mode 0400).
    ///
    /// # Errors
    /// The operating system's error.
    fn set_readonly(&self, path: &Path) -> io::Result<()>;
    /// Tries to take the exclusive writer lock on the lock file `path` (created
    /// 0600 if missing) without waiting; once taken, writes `pid` into the file.
    ///
    /// # Errors
    /// The operating system's error.
    fn lock(&self, path: &Path, pid: u32) -> io::Result<TryLock>;
    /// True when some process holds the writer lock on the lock file `path`
    /// (false when there is no lock file). Takes the lock shared for an instant,
    /// without waiting; never creates the file, nor follows a symlink, nor takes
    /// anything but a regular file for the lock file (an error).
    ///
    /// # Errors
    /// The operating system's error.
    fn is_locked(&self, path: &Path) -> io::Result<bool>;
    /// What `path` is when it is not a regular file (`"FIFO"`, `"directory"`,
    /// `"symlink"`, `"socket"`, `"device"`), `None` for a regular file. Looks with
    /// `lstat`: never opens the entry (a FIFO cannot block) nor follows a symlink
    /// (a symlink loop is a `"symlink"`, not an error).
    ///
    /// # Errors
    /// The operating system's error (`NotFound` when there is no such entry).
    fn not_regular(&self, path: &Path) -> io::Result<Option<&'static str>> {
        let t = std::fs::symlink_metadata(path)?.file_type();
        Ok((!t.is_file()).then(|| describe(t)))
    }
}

/// The real file system: the default [`Storage`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FileStorage;

impl FileStorage {
    /// The real file system.
    pub fn new() -> FileStorage {
        FileStorage
    }
}

/// Fails with `InvalidInput` unless `file` is a regular file.
fn regular(file: File, path: &Path) -> io::Result<File> {
    let meta = file.metadata()?;
    if meta.file_type().is_file() {
        Ok(file)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "expected a regular file, found a {} at {}",
                describe(meta.file_type()),
                path.display()
            ),
        ))
    }
}

pub(crate) fn describe(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if t.is_symlink() {
        "symlink"
    } else if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_block_device() || t.is_char_device() {
        "device"
    } else {
        "non-regular file"
    }
}

/// `O_NOFOLLOW` (a symlink is `ELOOP`, never followed) and `O_NONBLOCK` (opening a
/// FIFO does not wait for a writer; it is then refused as not a regular file).
const NO_FOLLOW: i32 = libc::O_NOFOLLOW | libc::O_NONBLOCK;

#[derive(Debug)]
struct RealAppend(File);

impl AppendFile for RealAppend {
    fn append(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
}

impl Storage for FileStorage {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect()
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadFile>> {
        let f = OpenOptions::new()
            .read(true)
            .custom_flags(NO_FOLLOW)
            .open(path)?;
        Ok(Box::new(regular(f, path)?))
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn AppendFile>> {
        let f = OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(NO_FOLLOW)
            .open(path)?;
        Ok(Box::new(RealAppend(f)))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn AppendFile>> {
        let f = OpenOptions::new()
            .append(true)
            .custom_flags(NO_FOLLOW)
            .open(path)?;
        Ok(Box::new(RealAppend(regular(f, path)?)))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn set_readonly(&self, path: &Path) -> io::Result<()> {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o400))
    }

    fn lock(&self, path: &Path, pid: u32) -> io::Result<TryLock> {
        let mut f = regular(
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(NO_FOLLOW)
                .open(path)?,
            path,
        )?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // Bounded: a pid is a few bytes; anything longer is not ours to print.
                let holder = (&f)
                    .take(64)
                    .read_to_string(&mut holder)
                    .ok()
                    .map(|_| holder.trim().to_owned())
                    .filter(|h| !h.is_empty());
                return Ok(TryLock::Held { holder });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        f.set_len(0)?;
        f.write_all(format!("{pid}\n").as_bytes())?;
        Ok(TryLock::Acquired(LockGuard::new(f)))
    }

    fn is_locked(&self, path: &Path) -> io::Result<bool> {
        let f = match OpenOptions::new()
            .read(true)
            .custom_flags(NO_FOLLOW)
            .open(path)
        {
            Ok(f) => regular(f, path)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        match f.try_lock_shared() {
            Ok(()) => {
                f.unlock()?;
                Ok(false)
            }
            Err(std::fs::TryLockError::WouldBlock) => Ok(true),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// Reads a small file whole: never through a symbolic link (refused, `ELOOP`),
/// never blocking on a FIFO (opened without waiting, then refused as not a
/// regular file), at most `max` bytes; `None` when there is none. The one reader
/// of the files beside a trail: published checkpoints, the proof index's stream
/// file, witness state and spool files.
///
/// # Errors
/// [`crate::ErrorKind::Io`] when it cannot be opened or read;
/// [`crate::ErrorKind::Corrupt`] when it is a symbolic link, not a regular file,
/// or larger than `max`.
pub(crate) fn read_small_file(path: &Path, max: usize) -> crate::error::Result<Option<Vec<u8>>> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(crate::error::Error::new(
                crate::error::ErrorKind::Corrupt,
                "expected a regular file, found a symbolic link (not followed)",
            )
            .at(path));
        }
        Err(e) => return Err(crate::error::Error::io(path, "cannot open", e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| crate::error::Error::io(path, "cannot read", e))?;
    if !meta.is_file() {
        return Err(crate::error::Error::new(
            crate::error::ErrorKind::Corrupt,
            "expected a regular file, found something else (a FIFO, a device or a directory)",
        )
        .at(path));
    }
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| crate::error::Error::io(path, "cannot read", e))?;
    if bytes.len() > max {
        return Err(crate::error::Error::new(
            crate::error::ErrorKind::Corrupt,
            format!("expected at most {max} bytes, found more"),
        )
        .at(path));
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_and_fifos_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"x\n").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let s = FileStorage::new();
        assert!(s.open_read(&target).is_ok());
        let err = s.open_read(&link).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP), "{err}");
        assert!(s.open_append(&link).is_err());
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        // Opening does not block, and the FIFO is refused.
        let err = s.open_read(&fifo).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        assert!(s.open_read(dir.path()).is_err());
    }
}
