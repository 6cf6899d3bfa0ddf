//! Integrity beyond the chain, on the writer's side (docs/FORMAT.md §4.2, §5.2):
//! the Merkle tree over every record, signed checkpoints (records, the
//! `checkpoint` file, copies), and key epochs.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::time::Instant;

use crate::encode;
use crate::error::{Error, ErrorKind, Result};
use crate::merkle::{self, Frontier};
use crate::note::{self, Checkpoint};
use crate::parse::{header, split_line};
use crate::record::RecordKind;
use crate::segment::{LineReader, SegmentName, segment_path};
use crate::storage::Storage;
use crate::timestamp::Timestamp;

use super::publish::Job;
use super::witness::Submission;
use super::{RotationStep, Writer};

/// The file in the stream directory holding the latest signed checkpoint.
pub(crate) const CHECKPOINT_FILE: &str = "checkpoint";

/// The checkpoint origin of a stream: `tracing-audit/<service>/<stream id>`, with
/// every character of the service name other than ASCII letters, digits, `.`, `_`
/// and `-` written as `_` (an origin holds no space and no `+`).
pub(crate) fn origin(service: &str, stream: &str) -> String {
    let service: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("tracing-audit/{service}/{stream}")
}

/// The file name of a stream's checkpoint in a copy directory:
/// `<service>.<stream id>.checkpoint` (the service as in the origin).
pub(super) fn copy_name(service: &str, stream: &str) -> String {
    format!(
        "{}.checkpoint",
        origin(service, stream)
            .trim_start_matches("tracing-audit/")
            .replace('/', ".")
    )
}

/// Reads a published checkpoint file: a regular file (never through a symlink,
/// never blocking on a FIFO) of at most [`note::MAX_NOTE_BYTES`], parsed; `None`
/// when there is none. Errors say why it cannot be read.
pub(super) fn read_published(path: &Path) -> std::result::Result<Option<Checkpoint>, String> {
    let Some(bytes) =
        crate::storage::read_small_file(path, note::MAX_NOTE_BYTES).map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{}: not a checkpoint: binary content", path.display()))?;
    let parsed = note::Note::parse(&text)
        .and_then(|n| Checkpoint::parse(n.body()))
        .map_err(|e| format!("{}: not a checkpoint: {e}", path.display()))?;
    Ok(Some(parsed))
}

/// Why `new` must not replace `held` (a checkpoint of the same origin): it is
/// smaller, or of the same size with another root. `None` when it may.
pub(super) fn would_roll_back(held: &Checkpoint, new: &Checkpoint) -> Option<String> {
    if held.origin != new.origin {
        return None;
    }
    if held.size > new.size {
        return Some(format!(
            "it holds a checkpoint of {} records and the trail has {}: the trail was rolled back or cut",
            held.size, new.size
        ));
    }
    (held.size == new.size && held.root != new.root).then(|| {
        format!(
            "it holds a checkpoint of {} records with another root: the trail was rewritten or forked",
            held.size
        )
    })
}

/// A new random stream id: 16 bytes from the operating system, as 32 lowercase
/// hexadecimal digits.
pub(crate) fn new_stream_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot get random bytes for a stream id: {e}"),
        )
    })?;
    Ok(hex::encode(bytes))
}

/// Writes `bytes` to `dir/name` atomically: a new file beside it (mode 0644,
/// never through a symlink) is written and fsynced, renamed over `name`, and the
/// directory fsynced. A reader sees the old file or the new one, never a mix.
///
/// # Errors
/// [`ErrorKind::Io`] naming the file.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.new"));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .map_err(|e| Error::io(&tmp, "cannot create file", e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(&tmp, "cannot write file", e))?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, "cannot replace file", e))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, "cannot fsync directory", e))
}

impl Writer {
    /// Does what is due without an append: a checkpoint when records arrived
    /// since the last one and the checkpoint interval passed, a heartbeat
    /// checkpoint when none was written for the heartbeat interval, and a new key
    /// epoch when the epoch interval passed. Call it when idle, at
    /// [`Writer::next_due`] ([`Writer::append`] calls it after every batch).
    ///
    /// # Errors
    /// As [`Writer::append`].
    pub fn tick(&mut self) -> Result<()> {
        self.check_usable()?;
        self.housekeeping(Instant::now())
    }

    /// Waits until every checkpoint written so far is published (the
    /// `checkpoint` file and the copies replaced, the witness handed it), at most
    /// `timeout`: they are published by a thread of their own, once durable. True
    /// when they are (or when there are no checkpoints).
    pub fn wait_for_checkpoints(&self, timeout: std::time::Duration) -> bool {
        self.publisher.as_ref().is_none_or(|p| p.wait(timeout))
    }

    /// When [`Writer::tick`] next has something to do, if ever.
    pub fn next_due(&self) -> Option<Instant> {
        let mut due: Option<Instant> = None;
        let mut earliest = |t: Instant| due = Some(due.map_or(t, |d| d.min(t)));
        if let Some(iv) = self.config.epoch_interval {
            earliest(self.epoch_started + iv);
        }
        let c = &self.config.checkpoints;
        if c.signing_key.is_some() {
            if self.frontier.size() > self.checkpointed_size {
                earliest(self.checkpoint_at + c.interval);
            }
            earliest(self.checkpoint_at + c.heartbeat);
        }
        due
    }

    pub(super) fn housekeeping(&mut self, now: Instant) -> Result<()> {
        if self.rotation != RotationStep::Writing || self.closed {
            // An interrupted rotation: the next append resumes it first.
            return Ok(());
        }
        if self
            .config
            .epoch_interval
            .is_some_and(|iv| now.duration_since(self.epoch_started) >= iv)
        {
            self.advance_epoch("interval")?;
        }
        let c = &self.config.checkpoints;
        if c.signing_key.is_some() {
            let since = now.duration_since(self.checkpoint_at);
            let grown = self.frontier.size() > self.checkpointed_size;
            if (grown && since >= c.interval) || since >= c.heartbeat {
                self.write_checkpoint()?;
            }
        }
        Ok(())
    }

    /// Advances the key epoch: an `epoch` record MACed with the new key, fsync,
    /// then the key file replaced and the old key dropped (its memory zeroised).
    pub(super) fn advance_epoch(&mut self, reason: &str) -> Result<()> {
        let next = self.config.key.next_epoch();
        let from = self.config.key.epoch();
        self.write_own_with(
            RecordKind::Epoch,
            Timestamp::now(),
            Some(&next),
            |out, l| {
                encode::u64_field(out, "from", from);
                encode::str_field(out, "reason", reason, l);
            },
        )?;
        // The record is durable before the old key is gone: a crash in between
        // leaves the old key on disk, from which the next writer derives forward.
        self.fsync()?;
        self.config.key = next;
        self.epoch_started = Instant::now();
        if let Some(path) = self.config.key_file.clone() {
            self.config.key.replace_file(&path).map_err(|e| {
                Error::new(
                    e.kind(),
                    format!(
                        "the trail moved to key epoch {} but the key file still holds an earlier epoch's key (the next writer derives forward from it, so nothing is lost, but the old key stays on disk): {e}",
                        self.config.key.epoch()
                    ),
                )
            })?;
        }
        Ok(())
    }

    /// Writes a signed checkpoint of the tree as it stands (before this record) as
    /// a `checkpoint` record, fsyncs, and publishes it. Nothing without a signing key.
    pub(super) fn write_checkpoint(&mut self) -> Result<()> {
        let Some(signer) = self.config.checkpoints.signing_key.clone() else {
            return Ok(());
        };
        let (size, root) = (self.frontier.size(), self.frontier.root());
        let checkpoint = Checkpoint::new(origin(&self.config.service, &self.stream), size, root);
        let note = note::sign(&checkpoint.body()?, &signer)?;
        // What the witness gets: the tree at the checkpoint's size, before the
        // checkpoint record itself joins it.
        let witness = self.witnessed.then(|| Submission {
            note: note.clone(),
            frontier: self.frontier.clone(),
            leaves: std::mem::take(&mut self.witness_leaves),
        });
        self.write_own(RecordKind::Checkpoint, Timestamp::now(), |out, _| {
            encode::u64_field(out, "size", size);
            encode::key(out, "root");
            out.push(b'"');
            encode::push_hex(out, &root);
            out.push(b'"');
            encode::key(out, "note");
            encode::string(out, &note, usize::MAX);
        })?;
        self.checkpoint_at = Instant::now();
        self.checkpointed_size = size;
        // Published once durable (the publishing thread fsyncs the segment first):
        // a checkpoint must never be ahead of the trail, or a crash would make the
        // trail look cut.
        if let Some(p) = &self.publisher {
            p.send(Job {
                sync: Some(self.path()),
                note,
                witness,
            });
        }
        Ok(())
    }

    /// The checkpoint of the whole trail after its final seal: published (the
    /// `checkpoint` file, copies) but not a record, since nothing follows a seal.
    pub(super) fn publish_final_checkpoint(&mut self) -> Result<()> {
        let Some(signer) = self.config.checkpoints.signing_key.clone() else {
            return Ok(());
        };
        let checkpoint = Checkpoint::new(
            origin(&self.config.service, &self.stream),
            self.frontier.size(),
            self.frontier.root(),
        );
        let note = note::sign(&checkpoint.body()?, &signer)?;
        let witness = self.witnessed.then(|| Submission {
            note: note.clone(),
            frontier: self.frontier.clone(),
            leaves: std::mem::take(&mut self.witness_leaves),
        });
        // The seal was fsynced: durable already.
        if let Some(p) = &self.publisher {
            p.send(Job {
                sync: None,
                note,
                witness,
            });
        }
        Ok(())
    }
}

/// What a writer continuing a stream needs to know of it, beyond the chain.
#[derive(Debug)]
pub(super) struct StreamState {
    /// The stream id (a new one for a new stream, or one whose open records carry none).
    pub stream: String,
    /// The Merkle tree over every record.
    pub frontier: Frontier,
}

/// The fields of an `open` or `seal` record a continuing writer reads.
#[derive(serde::Deserialize)]
struct OwnFields {
    service: Option<String>,
    stream: Option<String>,
    tree_size: Option<u64>,
    frontier: Option<Vec<String>>,
}

/// Reads the stream's state at its end: the stream id from the newest segment's
/// open record (checking its service name), and the Merkle tree from the last
/// seal that carries one, plus the hashes of every record after it (from the
/// first record when no seal carries one: a stream begun by a version 1 writer).
///
/// # Errors
/// [`ErrorKind::Config`] when the stream belongs to another service;
/// [`ErrorKind::Io`] reading the segments.
pub(super) fn read_stream_state(
    storage: &dyn Storage,
    dir: &Path,
    segments: &[SegmentName],
    service: &str,
) -> Result<StreamState> {
    let mut stream = None;
    // Hashes of the segments after the base, newest first.
    let mut tail: Vec<Vec<[u8; 32]>> = Vec::new();
    let mut base = None;
    for (i, name) in segments.iter().enumerate().rev() {
        let path = segment_path(dir, name);
        let mut hashes = Vec::new();
        let mut reader = LineReader::open(storage, &path)?;
        let mut first = true;
        while let Some(lines) = reader.next_batch()? {
            for line in lines.iter().filter(|l| l.terminated) {
                let Ok(p) = split_line(line.bytes) else {
                    continue;
                };
                let Ok(h) = header(p.body_open) else {
                    continue;
                };
                let own = matches!(&*h.kind, "open" | "seal").then(|| {
                    let mut body = p.body_open.to_vec();
                    body.push(b'}');
                    serde_json::from_slice::<OwnFields>(&body).ok()
                });
                let own = own.flatten();
                if first
                    && i + 1 == segments.len()
                    && let Some(o) = &own
                {
                    if let Some(found) = o.service.as_deref().filter(|s| *s != service) {
                        return Err(Error::new(
                            ErrorKind::Config,
                            format!(
                                "expected a stream of service {service:?}, found the stream of service {found:?}: a stream keeps one service name (use another directory for another service)"
                            ),
                        )
                        .at(&path)
                        .line(line.number));
                    }
                    stream = o.stream.clone();
                }
                first = false;
                if h.kind == "seal"
                    && let Some(o) = &own
                    && let (Some(size), Some(hexes)) = (o.tree_size, &o.frontier)
                    && size == h.seq
                    && let Some(f) = Frontier::from_hex(size, hexes)
                {
                    base = Some(f);
                    hashes.clear();
                }
                hashes.push(p.hash);
            }
        }
        tail.push(hashes);
        if base.is_some() {
            break;
        }
    }
    let mut frontier = base.unwrap_or_default();
    for hashes in tail.iter().rev() {
        for h in hashes {
            if !frontier.is_full() {
                frontier.push(merkle::leaf_hash(h));
            }
        }
    }
    let stream = match stream {
        Some(s) => s,
        None => new_stream_id()?,
    };
    Ok(StreamState { stream, frontier })
}
