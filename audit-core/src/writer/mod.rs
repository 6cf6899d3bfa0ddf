//! The append-only writer of one stream.
//!
//! - `config`: [`WriterConfig`] and its parts ([`Durability`], [`Rotation`]) and
//!   their parsing;
//! - `recovery`: opening a stream — the newest segment's tail, the torn-tail cut,
//!   the `recovery` record;
//! - `append`: batches, fsync, rotation, seal;
//! - the lock protocol is in `crate::lock` (shared with the verifier).

mod append;
mod config;
mod integrity;
mod publish;
mod recovery;
mod witness;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Error, ErrorKind, Result};
use crate::merkle::Frontier;
use crate::segment::{SegmentName, segment_path};
use crate::storage::{AppendFile, LockGuard};
use crate::timestamp::TsCache;

pub use config::{
    Checkpoints, DEFAULT_CHECKPOINT_HEARTBEAT, DEFAULT_CHECKPOINT_INTERVAL, DEFAULT_EPOCH_INTERVAL,
    Durability, Period, Rotation, WitnessTransport, WriterConfig, parse_duration,
};
pub(crate) use integrity::{origin, write_atomic};

/// What [`Writer::append`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Appended {
    /// `seq` of the first appended record (`None` for an empty batch).
    pub first_seq: Option<u64>,
    /// `seq` of the last record written so far (including open/seal records of a rotation).
    pub last_seq: Option<u64>,
    /// True when the batch was fsynced before this call returned.
    pub durable: bool,
}

/// What the writer found when it opened an existing stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Opened {
    /// A new, empty stream.
    New,
    /// The newest segment was sealed: the previous writer shut down cleanly.
    Clean,
    /// The previous writer did not shut down cleanly; a `recovery` record was written.
    Recovered {
        /// The segment whose tail was examined.
        segment: String,
        /// Bytes cut from its end (a torn final line); 0 when every line was whole.
        cut_bytes: u64,
        /// True when the segment held no complete record and was removed.
        removed: bool,
    },
}

/// An append that failed after writing part of its batch (the batch spanned a
/// rotation, and a later part failed): the first `written` entries are in the
/// trail; the rest are not.
#[derive(Debug)]
#[non_exhaustive]
pub struct PartialAppend {
    /// How many entries, from the start of the batch, were written.
    pub written: usize,
    /// Why the rest were not.
    pub error: Error,
}

impl fmt::Display for PartialAppend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (after writing {} entries of the batch)",
            self.error, self.written
        )
    }
}

impl std::error::Error for PartialAppend {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// The steps of a rotation, so that one interrupted by an error resumes where it
/// stopped: never a second seal, never a segment without its open record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RotationStep {
    /// Writing into a segment that has its open record and no seal.
    Writing,
    /// The current segment is sealed; the next one is not created yet.
    Sealed,
    /// The next segment exists (empty); its open record is not written yet.
    Created,
}

/// The append-only writer of one stream directory.
///
/// One writer per directory (enforced by a lock file). Records are encoded, hashed,
/// MACed and written with one `write` per batch; see [`Durability`] for fsync.
///
/// Call [`Writer::close`] to seal the current segment. Dropping an open writer seals
/// it too, and prints to standard error if that fails (prefer `close` to see the error).
pub struct Writer {
    config: WriterConfig,
    _lock: LockGuard,
    file: Box<dyn AppendFile>,
    segment: SegmentName,
    segment_bytes: u64,
    segment_records: u64,
    /// The next record's seq; `None` once the stream holds `seq = u64::MAX`.
    next_seq: Option<u64>,
    prev: [u8; 32],
    buf: Vec<u8>,
    last_sync: Instant,
    unsynced: bool,
    poisoned: Option<String>,
    closed: bool,
    opened: Opened,
    ts_cache: TsCache,
    /// Where an interrupted rotation stands (a failed write in the middle of one is
    /// resumed, never redone).
    rotation: RotationStep,
    /// The stream id, fixed at genesis (32 lowercase hex digits).
    stream: String,
    /// The Merkle tree over every record written so far.
    frontier: Frontier,
    /// The hashes of the records in `buf`, pushed to the tree once written.
    batch_hashes: Vec<[u8; 32]>,
    /// When the current key epoch began (in this process).
    epoch_started: Instant,
    /// When the last checkpoint was written (or the writer started).
    checkpoint_at: Instant,
    /// The tree size the last checkpoint committed to.
    checkpointed_size: u64,
    /// The thread publishing checkpoints (with a signing key).
    publisher: Option<publish::Publisher>,
    /// Whether a witness is configured; then the leaf hashes since the last
    /// checkpoint sent to it.
    witnessed: bool,
    witness_leaves: Vec<[u8; 32]>,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("dir", &self.config.dir)
            .field("segment", &self.segment.file_name)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// What the writer found when it opened the stream.
    pub fn opened(&self) -> &Opened {
        &self.opened
    }

    /// The `seq` the next record will get; `None` once the stream holds a record
    /// with `seq = u64::MAX`, after which nothing can be appended.
    pub fn next_seq(&self) -> Option<u64> {
        self.next_seq
    }

    /// The hash of the last record written.
    pub fn last_hash(&self) -> [u8; 32] {
        self.prev
    }

    /// The stream id: 32 lowercase hexadecimal digits drawn at random when the
    /// stream began, carried by every `open` record and by the checkpoint origin.
    pub fn stream_id(&self) -> &str {
        &self.stream
    }

    /// The current key epoch.
    pub fn epoch(&self) -> u64 {
        self.config.key.epoch()
    }

    /// The Merkle tree size (the number of records written) and its root.
    pub fn tree(&self) -> (u64, [u8; 32]) {
        (self.frontier.size(), self.frontier.root())
    }

    /// How many checkpoint copies (files in the stream directory or in a copy
    /// destination) could not be written; each failure is also printed to
    /// standard error.
    pub fn checkpoint_publish_failures(&self) -> u64 {
        self.publisher
            .as_ref()
            .map_or(0, |p| p.failures.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// How many checkpoints the witness cosigned, and how many submissions
    /// failed (each failure is also printed), since the writer started.
    pub fn witness_counts(&self) -> (u64, u64) {
        let counts = self.publisher.as_ref().and_then(|p| p.witness.as_ref());
        counts.map_or((0, 0), |(ok, failed)| {
            (
                ok.load(std::sync::atomic::Ordering::Relaxed),
                failed.load(std::sync::atomic::Ordering::Relaxed),
            )
        })
    }

    /// The file name of the segment being written.
    pub fn segment_name(&self) -> &str {
        &self.segment.file_name
    }

    /// The stream directory.
    pub fn dir(&self) -> &Path {
        &self.config.dir
    }

    /// When appended records are fsynced.
    pub fn durability(&self) -> Durability {
        self.config.durability
    }

    /// The configuration the writer was opened with (to reopen it).
    pub fn config(&self) -> &WriterConfig {
        &self.config
    }

    /// True after a failure that stops the writer (a failed fsync, or a failed
    /// write that could not be cut back): only reopening the stream goes on.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.is_some()
    }

    fn check_usable(&self) -> Result<()> {
        match &self.poisoned {
            Some(why) => Err(Error::new(
                ErrorKind::Io,
                format!("the writer stopped after an earlier failure ({why}); reopen the stream to recover"),
            )
            .at(self.path())),
            None => Ok(()),
        }
    }

    fn path(&self) -> PathBuf {
        segment_path(&self.config.dir, &self.segment)
    }

    /// The seq of the next record, or an error when the stream is full.
    fn seq_for_next(&self) -> Result<u64> {
        self.next_seq.ok_or_else(|| {
            Error::new(
                ErrorKind::Corrupt,
                format!(
                    "expected room for another record, found the stream at seq {} (the largest seq): nothing can follow it",
                    u64::MAX
                ),
            )
            .at(self.path())
        })
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        if let Some(why) = &self.poisoned {
            eprintln!(
                "audit-core: writer for {} dropped after a failure ({why}); the segment is left unsealed and the next writer will record a recovery",
                self.path().display()
            );
            return;
        }
        if let Err(e) = self.finish_segment() {
            eprintln!(
                "audit-core: could not seal {} when the writer was dropped: {e}; the next writer will record a recovery",
                self.path().display()
            );
        }
    }
}
