//! The append-only writer of one stream: group commit, rotation, locking and recovery.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::encode::{self, Header, Limits};
use crate::error::{Error, ErrorKind, Result};
use crate::key::Key;
use crate::record::{Entry, RecordKind};
use crate::segment::{LOCK_FILE, SegmentName, list_segments, segment_path, sync_dir};
use crate::timestamp::{Timestamp, TsCache};
use crate::verify::{Chain, FailureKind, chain_after, scan_segment};

/// When the writer calls `fsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync after every batch (group commit): an acknowledged record survives a
    /// crash or power loss. The default.
    #[default]
    EveryBatch,
    /// fsync when this much time has passed since the last one; up to that much
    /// acknowledged data can be lost on power loss (not on a process crash).
    Interval(Duration),
    /// Never fsync (the operating system writes back when it likes); for tests and
    /// benchmarks. A process crash loses nothing, a power loss may lose anything recent.
    Never,
}

impl FromStr for Durability {
    type Err = Error;

    /// Parses `batch`, `never`, or `interval:<N>ms` / `interval:<N>s`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::new(
                ErrorKind::Config,
                format!("expected durability `batch`, `never` or `interval:<N>ms|s`, found {s:?}"),
            )
        };
        match s.trim().to_ascii_lowercase().as_str() {
            "batch" | "always" => Ok(Durability::EveryBatch),
            "never" | "off" => Ok(Durability::Never),
            other => other
                .strip_prefix("interval:")
                .and_then(parse_duration)
                .map(Durability::Interval)
                .ok_or_else(bad),
        }
    }
}

/// Parses a duration written `<N>ms` or `<N>s` (as in `interval:200ms`); `None` for
/// anything else.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let (num, millis_per_unit) = match text.strip_suffix("ms") {
        Some(n) => (n, 1),
        None => (text.strip_suffix('s')?, 1000),
    };
    let n: u64 = num.parse().ok()?;
    Some(Duration::from_millis(n.saturating_mul(millis_per_unit)))
}

/// A time period for rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// A new segment at each UTC hour.
    Hourly,
    /// A new segment at each UTC midnight.
    Daily,
}

impl Period {
    /// The number of the UTC hour or day `t` falls in.
    fn index(self, t: Timestamp) -> i64 {
        const HOUR: i64 = 3_600_000_000;
        t.unix_micros().div_euclid(match self {
            Period::Hourly => HOUR,
            Period::Daily => 24 * HOUR,
        })
    }
}

/// When the writer closes the current segment and opens the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate when the UTC day (or hour) changes.
    pub period: Option<Period>,
    /// Rotate once a segment reaches this many bytes.
    pub max_bytes: Option<u64>,
}

impl Default for Rotation {
    /// Daily, and at 128 MiB.
    fn default() -> Self {
        Rotation {
            period: Some(Period::Daily),
            max_bytes: Some(128 * 1024 * 1024),
        }
    }
}

impl FromStr for Rotation {
    type Err = Error;

    /// Parses a comma-separated list of `daily`, `hourly`, `size:<N>[B|KiB|MiB|GiB]`,
    /// or `never`; e.g. `daily,size:64MiB`.
    fn from_str(s: &str) -> Result<Self> {
        let mut r = Rotation {
            period: None,
            max_bytes: None,
        };
        for part in s.split(',').map(str::trim) {
            let bad = |what: &str| {
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "expected rotation `daily`, `hourly`, `size:<N>[KiB|MiB|GiB]` or `never` (comma-separated), found {what:?} in {s:?}"
                    ),
                )
            };
            match part.to_ascii_lowercase().as_str() {
                "daily" => r.period = Some(Period::Daily),
                "hourly" => r.period = Some(Period::Hourly),
                "never" | "none" => {}
                p => {
                    let size = p.strip_prefix("size:").ok_or_else(|| bad(part))?;
                    let (num, mul) = [
                        ("gib", 1u64 << 30),
                        ("mib", 1 << 20),
                        ("kib", 1 << 10),
                        ("b", 1),
                    ]
                    .iter()
                    .find_map(|(suf, m)| size.strip_suffix(suf).map(|n| (n, *m)))
                    .unwrap_or((size, 1));
                    let n: u64 = num.trim().parse().map_err(|_| bad(part))?;
                    if n == 0 {
                        return Err(bad(part));
                    }
                    r.max_bytes = Some(n.saturating_mul(mul));
                }
            }
        }
        Ok(r)
    }
}

/// Everything the writer needs to know.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// The stream directory (created 0700 if missing).
    pub dir: PathBuf,
    /// The service name written in every event.
    pub service: String,
    /// The HMAC key (epoch 0).
    pub key: Key,
    /// When to fsync.
    pub durability: Durability,
    /// When to rotate.
    pub rotation: Rotation,
    /// Value size limits.
    pub limits: Limits,
}

impl WriterConfig {
    /// A configuration with the defaults: fsync every batch, daily and 128 MiB rotation.
    pub fn new(dir: impl Into<PathBuf>, service: impl Into<String>, key: Key) -> WriterConfig {
        WriterConfig {
            dir: dir.into(),
            service: service.into(),
            key,
            durability: Durability::default(),
            rotation: Rotation::default(),
            limits: Limits::default(),
        }
    }
}

/// What [`Writer::append`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// The append-only writer of one stream directory.
///
/// One writer per directory (enforced by a lock file). Records are encoded, hashed,
/// MACed and written with one `write` per batch; see [`Durability`] for fsync.
///
/// Call [`Writer::close`] to seal the current segment. Dropping an open writer seals
/// it too, and prints to standard error if that fails (prefer `close` to see the error).
pub struct Writer {
    config: WriterConfig,
    _lock: File,
    file: File,
    segment: SegmentName,
    segment_bytes: u64,
    segment_records: u64,
    next_seq: u64,
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

/// An append that failed after writing part of its batch (the batch spanned a
/// rotation, and a later part failed): the first `written` entries are in the
/// trail; the rest are not.
#[derive(Debug)]
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
    /// Opens (or creates) the stream directory and continues its chain.
    ///
    /// A torn final line of the newest segment (a crash mid-write) is cut off and a
    /// `recovery` record says how many bytes were cut. Anything else wrong in the
    /// newest segment is a hard error naming the file and line: nothing is repaired.
    ///
    /// # Errors
    /// [`ErrorKind::Locked`] when another writer holds the directory,
    /// [`ErrorKind::Corrupt`] for damage a crash cannot explain, [`ErrorKind::Key`]
    /// when the trail was written with another key, [`ErrorKind::Io`] otherwise.
    pub fn open(config: WriterConfig) -> Result<Writer> {
        let dir = config.dir.clone();
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|e| Error::io(&dir, "cannot create stream directory", e))?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent)?;
            }
        }
        let lock = take_lock(&dir)?;
        let segments = list_segments(&dir)?;
        let now = Timestamp::now();
        let Some(newest) = segments.last().cloned() else {
            return Writer::start_segment(
                config,
                lock,
                0,
                encode::ZERO_HASH,
                Opened::New,
                "start",
                now,
            );
        };
        // Check the newest segment, linked to the end of the one before it.
        let mut chain = Chain::start();
        if let Some(before) = segments.len().checked_sub(2).map(|i| &segments[i]) {
            chain = chain_after(&dir, before)?.ok_or_else(|| {
                Error::new(
                    ErrorKind::Corrupt,
                    "expected the segment before the newest to end with a readable record, found none (run `audit verify`)",
                )
                .at(segment_path(&dir, before))
            })?;
        }
        let start_chain = chain.clone();
        let mut failures = Vec::new();
        let scan = scan_segment(&dir, &newest, &mut chain, Some(&config.key), &mut failures)?;
        if let Some(id) = scan.key_ids.iter().find(|id| *id != config.key.id()) {
            return Err(Error::new(
                ErrorKind::Key,
                format!(
                    "expected the trail's key (key id {id}), found a key with key id {}; use the key this trail was written with",
                    config.key.id()
                ),
            )
            .at(segment_path(&dir, &newest)));
        }
        if let Some(f) = failures.iter().find(|f| f.kind != FailureKind::TornTail) {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "{}: {} (refusing to append; run `audit verify` and investigate — nothing was changed)",
                    f.kind.as_str(),
                    f.detail
                ),
            )
            .at(segment_path(&dir, &newest))
            .line(f.line));
        }
        let path = segment_path(&dir, &newest);
        if scan.report.sealed && scan.torn.is_none() {
            return Writer::start_segment(
                config,
                lock,
                chain.next_seq,
                chain.prev,
                Opened::Clean,
                "start",
                now,
            );
        }
        let cut_bytes = scan.torn.map_or(0, |(_, len)| len);
        if scan.report.sealed {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("torn_tail: expected nothing after the seal record, found {cut_bytes} bytes (refusing to append; nothing was changed)"),
            )
            .at(&path)
            .line(scan.lines));
        }
        if scan.report.records == 0 {
            // A crash while the segment was being created: nothing whole to continue
            // in. Remove it and start a new one, saying what was removed.
            std::fs::remove_file(&path)
                .map_err(|e| Error::io(&path, "cannot remove empty segment", e))?;
            sync_dir(&dir)?;
            let opened = Opened::Recovered {
                segment: newest.file_name.clone(),
                cut_bytes,
                removed: true,
            };
            let mut w = Writer::start_segment(
                config,
                lock,
                start_chain.next_seq,
                start_chain.prev,
                opened,
                "start",
                now,
            )?;
            w.write_recovery()?;
            return Ok(w);
        }
        cut_tail(&path, scan.torn)?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, "cannot open segment for append", e))?;
        let segment_bytes = file
            .metadata()
            .map_err(|e| Error::io(&path, "cannot stat segment", e))?
            .len();
        let mut w = Writer {
            config,
            _lock: lock,
            file,
            segment: newest.clone(),
            segment_bytes,
            segment_records: scan.report.records,
            next_seq: chain.next_seq,
            prev: chain.prev,
            buf: Vec::with_capacity(1 << 16),
            last_sync: Instant::now(),
            unsynced: false,
            poisoned: None,
            closed: false,
            opened: Opened::Recovered {
                segment: newest.file_name,
                cut_bytes,
                removed: false,
            },
            ts_cache: TsCache::new(),
            rotation: RotationStep::Writing,
        };
        w.write_recovery()?;
        Ok(w)
    }

    fn start_segment(
        config: WriterConfig,
        lock: File,
        next_seq: u64,
        prev: [u8; 32],
        opened: Opened,
        reason: &str,
        now: Timestamp,
    ) -> Result<Writer> {
        let (file, segment) = create_segment(&config.dir, next_seq, now)?;
        let mut w = Writer {
            config,
            _lock: lock,
            file,
            segment,
            segment_bytes: 0,
            segment_records: 0,
            next_seq,
            prev,
            buf: Vec::with_capacity(1 << 16),
            last_sync: Instant::now(),
            unsynced: false,
            poisoned: None,
            closed: false,
            opened,
            ts_cache: TsCache::new(),
            rotation: RotationStep::Writing,
        };
        w.write_open(reason, now)?;
        Ok(w)
    }

    /// What the writer found when it opened the stream.
    pub fn opened(&self) -> &Opened {
        &self.opened
    }

    /// The `seq` the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The hash of the last record written.
    pub fn last_hash(&self) -> [u8; 32] {
        self.prev
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

    /// Appends a batch of entries with one `write`, rotating first when due, and
    /// fsyncs according to the [`Durability`].
    ///
    /// If the write fails, the file is cut back to where the write began and the
    /// chain does not advance. A batch that spans a rotation is written in parts; if
    /// a later part fails, the earlier parts stay written — use
    /// [`Writer::append_partial`] to learn how many entries, so that a retry does
    /// not write them twice. An interrupted rotation is resumed by the next call. If
    /// a cut or an fsync fails, the writer refuses further appends (reopen it to
    /// recover).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] naming the segment.
    pub fn append(&mut self, entries: &[Entry]) -> Result<Appended> {
        self.append_partial(entries).map_err(|p| p.error)
    }

    /// Like [`Writer::append`], but on error says how many entries of the batch
    /// (from its start) were written before the failure: retry with the rest.
    ///
    /// # Errors
    /// [`PartialAppend`]: the error, and how many entries were written.
    pub fn append_partial(
        &mut self,
        entries: &[Entry],
    ) -> std::result::Result<Appended, PartialAppend> {
        let mut done = 0;
        let fail = |written: usize| move |error: Error| PartialAppend { written, error };
        self.check_usable().map_err(fail(0))?;
        let now = Timestamp::now();
        if self.rotation != RotationStep::Writing || self.rotation_due(now, 0) {
            self.rotate(now).map_err(fail(0))?;
        }
        let mut first_seq = None;
        while done < entries.len() {
            self.buf.clear();
            let batch_start_seq = self.next_seq;
            let mut seq = self.next_seq;
            let mut prev = self.prev;
            let mut n = 0;
            while done + n < entries.len() {
                let entry = &entries[done + n];
                let start = self.buf.len();
                let (ts, kind) = match entry {
                    Entry::Event(e) => (e.ts, RecordKind::Event),
                    Entry::Gap(_) => (now, RecordKind::Gap),
                };
                encode::begin(
                    &mut self.buf,
                    &Header {
                        seq,
                        ts,
                        epoch: 0,
                        prev: &prev,
                        kind,
                    },
                    &mut self.ts_cache,
                );
                encode::entry_body(
                    &mut self.buf,
                    entry,
                    &self.config.service,
                    &self.config.limits,
                );
                prev = encode::finish(&mut self.buf, start, &self.config.key);
                seq += 1;
                n += 1;
                if self.rotation_due(now, self.buf.len() as u64) {
                    break;
                }
            }
            self.write_buf(n as u64, seq, prev).map_err(fail(done))?;
            first_seq.get_or_insert(batch_start_seq);
            done += n;
            if done < entries.len() || self.rotation_due(now, 0) {
                self.rotate(now).map_err(fail(done))?;
            }
        }
        let durable = self.sync_per_policy().map_err(fail(done))?;
        Ok(Appended {
            first_seq,
            last_seq: self.next_seq.checked_sub(1),
            durable,
        })
    }

    /// fsyncs the current segment now, whatever the [`Durability`].
    ///
    /// # Errors
    /// [`ErrorKind::Io`]; the writer then refuses further appends.
    pub fn sync(&mut self) -> Result<()> {
        self.check_usable()?;
        if self.unsynced {
            self.fsync()?;
        }
        Ok(())
    }

    /// Seals the current segment (a `seal` record, fsync, read-only) and releases the lock.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] naming the segment; the segment is then left unsealed and the
    /// next writer will record a recovery.
    pub fn close(mut self) -> Result<()> {
        self.closed = true;
        self.check_usable()?;
        self.finish_segment()
    }

    /// Seals the current segment — or, in the middle of an interrupted rotation,
    /// finishes what is left: nothing when it is sealed already, and the removal of
    /// the new, still empty segment when its open record was not written.
    fn finish_segment(&mut self) -> Result<()> {
        match self.rotation {
            RotationStep::Writing => self.seal("close"),
            RotationStep::Sealed => Ok(()),
            RotationStep::Created => {
                let path = self.path();
                std::fs::remove_file(&path)
                    .map_err(|e| Error::io(&path, "cannot remove the empty new segment", e))?;
                sync_dir(&self.config.dir)
            }
        }
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

    fn rotation_due(&self, now: Timestamp, pending: u64) -> bool {
        let r = &self.config.rotation;
        if let Some(max) = r.max_bytes {
            // Never rotate a segment that holds only its open record.
            if self.segment_bytes + pending >= max && (self.segment_records > 1 || pending > 0) {
                return true;
            }
        }
        r.period
            .is_some_and(|p| p.index(now) != p.index(self.segment.start))
    }

    /// Writes `self.buf` (holding `records` records ending at `next_seq`/`prev`).
    fn write_buf(&mut self, records: u64, next_seq: u64, prev: [u8; 32]) -> Result<()> {
        let written = crate::fault::check(&self.config.dir, crate::fault::Op::Write)
            .and_then(|()| self.file.write_all(&self.buf));
        if let Err(e) = written {
            // Cut back whatever part of the batch reached the file.
            let path = self.path();
            if let Err(e2) = self.file.set_len(self.segment_bytes) {
                self.poisoned = Some(format!(
                    "write failed ({e}) and cutting it back failed ({e2})"
                ));
            }
            return Err(Error::io(path, "cannot append to segment", e));
        }
        self.segment_bytes += self.buf.len() as u64;
        self.segment_records += records;
        self.next_seq = next_seq;
        self.prev = prev;
        self.unsynced = true;
        Ok(())
    }

    fn sync_per_policy(&mut self) -> Result<bool> {
        match self.config.durability {
            Durability::EveryBatch => {
                self.fsync()?;
                Ok(true)
            }
            Durability::Interval(iv) if self.last_sync.elapsed() >= iv => {
                self.fsync()?;
                Ok(true)
            }
            _ => Ok(!self.unsynced),
        }
    }

    fn fsync(&mut self) -> Result<()> {
        let synced = crate::fault::check(&self.config.dir, crate::fault::Op::Fsync)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = synced {
            // After a failed fsync the kernel may have dropped dirty pages: do not
            // pretend later writes are safe.
            self.poisoned = Some(format!("fsync failed: {e}"));
            return Err(Error::io(self.path(), "cannot fsync segment", e));
        }
        self.unsynced = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Encodes and writes one of the trail's own records.
    fn write_own(
        &mut self,
        kind: RecordKind,
        ts: Timestamp,
        body: impl FnOnce(&mut Vec<u8>, &Limits),
    ) -> Result<()> {
        self.check_usable()?;
        self.buf.clear();
        let prev = self.prev;
        encode::begin(
            &mut self.buf,
            &Header {
                seq: self.next_seq,
                ts,
                epoch: 0,
                prev: &prev,
                kind,
            },
            &mut self.ts_cache,
        );
        body(&mut self.buf, &self.config.limits);
        let hash = encode::finish(&mut self.buf, 0, &self.config.key);
        self.write_buf(1, self.next_seq + 1, hash)
    }

    fn write_open(&mut self, reason: &str, now: Timestamp) -> Result<()> {
        let name = self.segment.file_name.clone();
        let service = self.config.service.clone();
        let key_id = self.config.key.id().to_owned();
        self.write_own(RecordKind::Open, now, |out, l| {
            encode::str_field(out, "segment", &name, l);
            encode::str_field(out, "service", &service, l);
            encode::str_field(out, "key_id", &key_id, l);
            encode::str_field(out, "reason", reason, l);
            encode::str_field(
                out,
                "writer",
                concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION")),
                l,
            );
        })?;
        if self.config.durability != Durability::Never {
            self.fsync()?;
        }
        Ok(())
    }

    fn write_recovery(&mut self) -> Result<()> {
        let Opened::Recovered {
            segment,
            cut_bytes,
            removed,
        } = self.opened.clone()
        else {
            return Ok(());
        };
        self.write_own(RecordKind::Recovery, Timestamp::now(), |out, l| {
            encode::str_field(out, "segment", &segment, l);
            encode::u64_field(out, "cut_bytes", cut_bytes);
            encode::key(out, "segment_removed");
            out.extend_from_slice(if removed { b"true" } else { b"false" });
        })?;
        self.fsync()
    }

    fn seal(&mut self, reason: &str) -> Result<()> {
        let records = self.segment_records + 1;
        self.write_own(RecordKind::Seal, Timestamp::now(), |out, l| {
            encode::u64_field(out, "records", records);
            encode::str_field(out, "reason", reason, l);
        })?;
        self.rotation = RotationStep::Sealed;
        if self.config.durability != Durability::Never {
            self.fsync()?;
        }
        let path = self.path();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400))
            .map_err(|e| Error::io(&path, "cannot make sealed segment read-only", e))?;
        Ok(())
    }

    /// Seals the current segment and starts the next; resumes an interrupted
    /// rotation at the step where it stopped.
    fn rotate(&mut self, now: Timestamp) -> Result<()> {
        if self.rotation == RotationStep::Writing {
            self.seal("rotate")?;
        }
        if self.rotation == RotationStep::Sealed {
            let (file, segment) = create_segment(&self.config.dir, self.next_seq, now)?;
            self.file = file;
            self.segment = segment;
            self.segment_bytes = 0;
            self.segment_records = 0;
            self.rotation = RotationStep::Created;
        }
        self.write_open("rotate", now)?;
        self.rotation = RotationStep::Writing;
        Ok(())
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

fn take_lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io(&path, "cannot open lock file", e))?;
    // A verifier takes the lock shared for an instant; wait that out.
    let mut tries = 0;
    loop {
        match f.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) if tries < 20 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                return Err(Error::new(
                    ErrorKind::Locked,
                    format!(
                        "expected to be the only writer of this stream, found the lock held by another process{}",
                        match holder.trim() {
                            "" => String::new(),
                            pid => format!(" (pid {pid})"),
                        }
                    ),
                )
                .at(&path));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, "cannot lock", e)),
        }
    }
    f.set_len(0)
        .and_then(|()| f.write_all(format!("{}\n", std::process::id()).as_bytes()))
        .map_err(|e| Error::io(&path, "cannot write lock file", e))?;
    Ok(f)
}

fn create_segment(dir: &Path, first_seq: u64, now: Timestamp) -> Result<(File, SegmentName)> {
    let name = SegmentName::new(first_seq, now);
    let path = segment_path(dir, &name);
    let file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io(&path, "cannot create segment", e))?;
    sync_dir(dir)?;
    Ok((file, name))
}

fn cut_tail(path: &Path, torn: Option<(u64, u64)>) -> Result<()> {
    let Some((offset, _)) = torn else {
        return Ok(());
    };
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, "cannot open segment to cut its torn tail", e))?;
    f.set_len(offset)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(path, "cannot cut torn tail", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_parses_and_explains_bad_values() {
        assert_eq!(
            "batch".parse::<Durability>().unwrap(),
            Durability::EveryBatch
        );
        assert_eq!("never".parse::<Durability>().unwrap(), Durability::Never);
        assert_eq!(
            "interval:250ms".parse::<Durability>().unwrap(),
            Durability::Interval(Duration::from_millis(250))
        );
        assert_eq!(
            "interval:2s".parse::<Durability>().unwrap(),
            Durability::Interval(Duration::from_secs(2))
        );
        let err = "sometimes".parse::<Durability>().unwrap_err();
        assert!(err.to_string().contains("\"sometimes\""), "{err}");
    }

    #[test]
    fn periods_change_at_utc_midnight_and_on_the_hour() {
        let t = |s| Timestamp::parse(s).unwrap();
        let d = Period::Daily;
        assert_eq!(
            d.index(t("2026-11-23T00:00:00Z")),
            d.index(t("2026-11-23T23:59:59.999999Z"))
        );
        assert_ne!(
            d.index(t("2026-11-23T23:59:59.999999Z")),
            d.index(t("2026-11-24T00:00:00Z"))
        );
        // 23:30 in UTC-01:00 is already the next UTC day.
        assert_eq!(
            d.index(t("2026-11-23T23:30:00-01:00")),
            d.index(t("2026-11-24T00:00:00Z"))
        );
        let h = Period::Hourly;
        assert_eq!(
            h.index(t("2026-11-23T08:00:00Z")),
            h.index(t("2026-11-23T08:59:59Z"))
        );
        assert_ne!(
            h.index(t("2026-11-23T08:59:59Z")),
            h.index(t("2026-11-23T09:00:00Z"))
        );
    }

    #[test]
    fn rotation_parses_periods_sizes_and_mixes() {
        let r: Rotation = "daily".parse().unwrap();
        assert_eq!((r.period, r.max_bytes), (Some(Period::Daily), None));
        let r: Rotation = "hourly, size:64KiB".parse().unwrap();
        assert_eq!((r.period, r.max_bytes), (Some(Period::Hourly), Some(65536)));
        let r: Rotation = "size:3MiB".parse().unwrap();
        assert_eq!((r.period, r.max_bytes), (None, Some(3 << 20)));
        assert_eq!("size:100".parse::<Rotation>().unwrap().max_bytes, Some(100));
        for bad in ["weekly", "size:", "size:0", "size:1TB"] {
            let err = bad.parse::<Rotation>().unwrap_err();
            assert!(
                err.to_string().contains("expected rotation"),
                "{bad}: {err}"
            );
        }
    }
}
