//! Opening a stream: the newest segment is checked; a torn final line is cut and a
//! `recovery` record says so; any other damage stops the writer (docs/FORMAT.md §6).

use std::time::Instant;

use crate::chain::Chain;
use crate::encode;
use crate::error::{Error, ErrorKind, Result};
use crate::lock::take_writer_lock;
use crate::merkle::Frontier;
use crate::record::RecordKind;
use crate::segment::{SegmentName, list_stream, segment_path};
use crate::storage::LockGuard;
use crate::timestamp::{Timestamp, TsCache};
use crate::verify::{EpochKeys, FailureKind, Integrity, chain_after, scan_segment};

use super::integrity::{StreamState, new_stream_id, read_stream_state};
use super::{Opened, RotationStep, WitnessTransport, Writer, WriterConfig};

/// The trail must extend every checkpoint published of it (the `checkpoint` file
/// and the copies): a writer never continues, and never publishes over, a trail
/// that was rolled back or cut since.
fn check_published(config: &WriterConfig, state: &StreamState) -> Result<()> {
    if config.checkpoints.signing_key.is_none() {
        return Ok(());
    }
    let origin = super::integrity::origin(&config.service, &state.stream);
    let ours = crate::note::Checkpoint::new(origin, state.frontier.size(), state.frontier.root());
    let name = super::integrity::copy_name(&config.service, &state.stream);
    let mut places = vec![config.dir.join(super::integrity::CHECKPOINT_FILE)];
    places.extend(config.checkpoints.copies.iter().map(|d| d.join(&name)));
    for path in places {
        match super::integrity::read_published(&path) {
            Ok(Some(held)) => {
                if let Some(why) = super::integrity::would_roll_back(&held, &ours) {
                    return Err(Error::new(
                        ErrorKind::Corrupt,
                        format!(
                            "expected the trail to extend its published checkpoint, found that {why} (refusing to write; check it with `audit verify --checkpoint` against this file, and write to a new stream directory)"
                        ),
                    )
                    .at(&path));
                }
            }
            Ok(None) => {}
            // A copy that cannot be read is reported; it does not stop the trail.
            Err(why) => eprintln!("audit-core: cannot check the published checkpoint: {why}"),
        }
    }
    Ok(())
}

/// The shortest key epoch interval and checkpoint heartbeat a writer accepts.
const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

/// Checkpoint copy destinations must exist (each is another trust domain's mount,
/// which the writer does not create), and need a signing key.
fn check_checkpoint_copies(config: &WriterConfig) -> Result<()> {
    let c = &config.checkpoints;
    for (what, d) in [
        ("key epoch interval", config.epoch_interval),
        ("checkpoint heartbeat", Some(c.heartbeat)),
    ] {
        if let Some(d) = d
            && d < MIN_INTERVAL
        {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "expected a {what} of at least {MIN_INTERVAL:?}, found {d:?}: every idle tick would write a record"
                ),
            ));
        }
    }
    if c.witness.is_some() && c.signing_key.is_none() {
        return Err(Error::new(
            ErrorKind::Config,
            "expected a checkpoint signing key with a witness, found a witness without a key: there would be nothing to cosign (set AUDIT_SIGNING_KEY_FILE)",
        ));
    }
    match &c.witness {
        Some(WitnessTransport::Command(command)) if command.is_empty() => {
            return Err(Error::new(
                ErrorKind::Config,
                "expected a witness command (a program and its arguments), found an empty one",
            ));
        }
        Some(WitnessTransport::Spool(dir)) => match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::Config,
                    "expected a witness spool directory, found a file",
                )
                .at(dir));
            }
            Err(e) => {
                return Err(Error::io(dir, "cannot use the witness spool directory", e));
            }
        },
        _ => {}
    }
    if !c.copies.is_empty() && c.signing_key.is_none() {
        return Err(Error::new(
            ErrorKind::Config,
            "expected a checkpoint signing key with checkpoint copies, found copies without a key: nothing would be copied (set AUDIT_SIGNING_KEY_FILE)",
        ));
    }
    for dir in &c.copies {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::Config,
                    "expected a directory to copy checkpoints to, found a file",
                )
                .at(dir));
            }
            Err(e) => {
                return Err(Error::io(
                    dir,
                    "cannot use the checkpoint copy directory",
                    e,
                ));
            }
        }
    }
    Ok(())
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
    /// [`ErrorKind::Corrupt`] for damage a crash cannot explain (or a stream that
    /// already holds `seq = u64::MAX`), [`ErrorKind::Key`] when the trail was
    /// written with another key, [`ErrorKind::Io`] otherwise.
    pub fn open(config: WriterConfig) -> Result<Writer> {
        let storage = config.storage_backend().clone();
        let dir = config.dir.clone();
        if !dir.exists() {
            storage
                .create_dir_all(&dir)
                .map_err(|e| Error::io(&dir, "cannot create stream directory", e))?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                storage
                    .sync_dir(parent)
                    .map_err(|e| Error::io(parent, "cannot fsync directory", e))?;
            }
        }
        check_checkpoint_copies(&config)?;
        let lock = take_writer_lock(&*storage, &dir)?;
        let (segments, not_segments) = list_stream(&*storage, &dir)?;
        if let Some(n) = not_segments.first() {
            // Never opened: a FIFO would block the start-up.
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("refusing to start: {}", n.describe()),
            )
            .at(segment_path(&dir, &n.name)));
        }
        let now = Timestamp::now();
        let Some(newest) = segments.last().cloned() else {
            let state = StreamState {
                stream: new_stream_id()?,
                frontier: Frontier::new(),
            };
            return Writer::start_segment(config, lock, Chain::start(), Opened::New, now, state);
        };
        // Check the newest segment, linked to the end of the one before it.
        let mut chain = Chain::start();
        if let Some(before) = segments.len().checked_sub(2).map(|i| &segments[i]) {
            chain = chain_after(&*storage, &dir, before)?.ok_or_else(|| {
                Error::new(
                    ErrorKind::Corrupt,
                    "expected the segment before the newest to end with a readable record, found none (run `audit verify`)",
                )
                .at(segment_path(&dir, before))
            })?;
        }
        let start_chain = chain.clone();
        let mut failures = Vec::new();
        let scan = scan_segment(
            &*storage,
            &dir,
            &newest,
            &mut chain,
            &mut Integrity {
                keys: Some(EpochKeys::new(config.key.clone())),
                ..Integrity::default()
            },
            &mut failures,
        )?;
        let path = segment_path(&dir, &newest);
        if let Some(id) = scan.key_ids.iter().find(|id| *id != config.key.id()) {
            return Err(Error::new(
                ErrorKind::Key,
                format!(
                    "expected the trail's key (key id {id}), found a key with key id {}; use the key this trail was written with",
                    config.key.id()
                ),
            )
            .at(&path));
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
            .at(&path)
            .line(f.line));
        }
        if scan.report.sealed && scan.torn.is_none() {
            let state = read_stream_state(&*storage, &dir, &segments, &config.service)?;
            return Writer::start_segment(config, lock, chain, Opened::Clean, now, state);
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
            storage
                .remove(&path)
                .map_err(|e| Error::io(&path, "cannot remove empty segment", e))?;
            storage
                .sync_dir(&dir)
                .map_err(|e| Error::io(&dir, "cannot fsync directory", e))?;
            let opened = Opened::Recovered {
                segment: newest.file_name.clone(),
                cut_bytes,
                removed: true,
            };
            let rest = &segments[..segments.len() - 1];
            let state = read_stream_state(&*storage, &dir, rest, &config.service)?;
            let mut w = Writer::start_segment(config, lock, start_chain, opened, now, state)?;
            w.recover()?;
            w.after_start()?;
            return Ok(w);
        }
        let mut file = storage
            .open_append(&path)
            .map_err(|e| Error::io(&path, "cannot open segment for append", e))?;
        if let Some((offset, _)) = scan.torn {
            file.set_len(offset)
                .and_then(|()| file.sync_data())
                .map_err(|e| Error::io(&path, "cannot cut torn tail", e))?;
        }
        let state = read_stream_state(&*storage, &dir, &segments, &config.service)?;
        let opened = Opened::Recovered {
            segment: newest.file_name.clone(),
            cut_bytes,
            removed: false,
        };
        let mut w = Writer::assemble(config, lock, file, newest, &chain, opened, state)?;
        w.segment_bytes = scan.whole_bytes;
        w.segment_records = scan.report.records;
        w.rotation = RotationStep::Writing;
        w.recover()?;
        w.after_start()?;
        Ok(w)
    }

    /// A writer continuing `chain` in `segment` (empty unless the caller says
    /// otherwise), its key moved forward to the trail's epoch.
    fn assemble(
        mut config: WriterConfig,
        lock: LockGuard,
        file: Box<dyn crate::storage::AppendFile>,
        segment: SegmentName,
        chain: &Chain,
        opened: Opened,
        state: StreamState,
    ) -> Result<Writer> {
        // A key older than the trail (a crash between an epoch record and the key
        // file's replacement, or the initial key given again): derive forward.
        if chain.epoch.saturating_sub(config.key.epoch()) > crate::verify::MAX_EPOCH_DERIVATIONS {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "expected the trail's key epoch within {} of the key's (epoch {}), found epoch {}: run `audit verify` and investigate",
                    crate::verify::MAX_EPOCH_DERIVATIONS,
                    config.key.epoch(),
                    chain.epoch
                ),
            )
            .at(&config.dir));
        }
        // A key ahead of the trail: the trail was rolled back to an older copy
        // (or the key file comes from elsewhere). Continuing it would fork the
        // trail; records of the epochs in between could not be told from forgeries.
        if config.key.epoch() > chain.epoch && chain.next_seq != Some(0) {
            return Err(Error::new(
                ErrorKind::Key,
                format!(
                    "expected a key of the trail's epoch {} or earlier, found a key of epoch {}: the trail ends in an earlier epoch than its key has reached, so it was rolled back to an older copy (or the key file comes from another stream); it cannot be continued: check it against a copied checkpoint (`audit verify --checkpoint`), and write to a new stream directory",
                    chain.epoch,
                    config.key.epoch()
                ),
            )
            .at(&config.dir));
        }
        if let Some(key) = config.key.at_epoch(chain.epoch)
            && key.epoch() > config.key.epoch()
        {
            config.key = key;
            if let Some(path) = &config.key_file {
                config.key.replace_file(path)?;
            }
        }
        let size = state.frontier.size();
        check_published(&config, &state)?;
        let publisher = match &config.checkpoints.signing_key {
            Some(_) => {
                let name = super::integrity::copy_name(&config.service, &state.stream);
                let mut targets = vec![(
                    config.dir.clone(),
                    super::integrity::CHECKPOINT_FILE.to_owned(),
                )];
                for d in &config.checkpoints.copies {
                    targets.push((d.clone(), name.clone()));
                }
                let witness = match &config.checkpoints.witness {
                    Some(transport) => Some(
                        super::witness::WitnessClient::start(super::witness::Target {
                            transport: transport.clone(),
                            dir: config.dir.clone(),
                            copies: config
                                .checkpoints
                                .copies
                                .iter()
                                .map(|d| (d.clone(), format!("{name}.cosigned")))
                                .collect(),
                        })
                        .map_err(|e| {
                            Error::io(&config.dir, "cannot start the witness thread", e)
                        })?,
                    ),
                    None => None,
                };
                Some(
                    super::publish::Publisher::start(targets, witness).map_err(|e| {
                        Error::io(&config.dir, "cannot start the checkpoint thread", e)
                    })?,
                )
            }
            None => None,
        };
        let witnessed = config.checkpoints.witness.is_some() && publisher.is_some();
        Ok(Writer {
            config,
            _lock: lock,
            file,
            segment,
            segment_bytes: 0,
            segment_records: 0,
            next_seq: chain.next_seq,
            prev: chain.prev,
            buf: Vec::with_capacity(1 << 16),
            last_sync: Instant::now(),
            unsynced: false,
            poisoned: None,
            closed: false,
            opened,
            ts_cache: TsCache::new(),
            // Until its open record is written, a new segment is only created: if
            // that write fails, dropping the writer removes the empty segment
            // rather than sealing a segment that has no open record.
            rotation: RotationStep::Created,
            stream: state.stream,
            frontier: state.frontier,
            batch_hashes: Vec::new(),
            epoch_started: Instant::now(),
            checkpoint_at: Instant::now(),
            checkpointed_size: size,
            publisher,
            witnessed,
            witness_leaves: Vec::new(),
        })
    }

    /// After the open (and recovery) records of a starting writer: a checkpoint.
    /// (A key ahead of the trail, say after the directory was restored from an
    /// older copy, raises the epoch at the open or recovery record itself: the
    /// writer no longer holds the trail's epoch key.)
    fn after_start(&mut self) -> Result<()> {
        self.write_checkpoint()
    }

    /// Writes the recovery record; if that fails, the segment is left as it is
    /// (not sealed on drop), so that the next writer finds, and records, the
    /// unclean shutdown itself.
    fn recover(&mut self) -> Result<()> {
        let written = self.write_recovery();
        if written.is_err() {
            self.closed = true;
        }
        written
    }

    /// Starts a new segment continuing `chain`, with its open record (reason `start`).
    fn start_segment(
        config: WriterConfig,
        lock: LockGuard,
        chain: Chain,
        opened: Opened,
        now: Timestamp,
        state: StreamState,
    ) -> Result<Writer> {
        let next_seq = chain.next_seq.ok_or_else(|| {
            Error::new(
                ErrorKind::Corrupt,
                format!(
                    "expected room for another record, found the stream at seq {} (the largest seq): nothing can follow it",
                    u64::MAX
                ),
            )
            .at(&config.dir)
        })?;
        let (file, segment) = Writer::create_segment(&config, next_seq, now)?;
        let recovering = matches!(opened, Opened::Recovered { .. });
        let mut w = Writer::assemble(config, lock, file, segment, &chain, opened, state)?;
        w.write_open("start", now)?;
        w.rotation = RotationStep::Writing;
        if !recovering {
            w.after_start()?;
        }
        Ok(w)
    }

    /// Writes the `recovery` record saying what [`Writer::open`] found, and fsyncs.
    pub(super) fn write_recovery(&mut self) -> Result<()> {
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

    /// Creates the segment whose first record has `first_seq`, and fsyncs the directory.
    pub(super) fn create_segment(
        config: &WriterConfig,
        first_seq: u64,
        now: Timestamp,
    ) -> Result<(Box<dyn crate::storage::AppendFile>, SegmentName)> {
        let name = SegmentName::new(first_seq, now);
        let path = segment_path(&config.dir, &name);
        let storage = config.storage_backend();
        let file = storage
            .create(&path)
            .map_err(|e| Error::io(&path, "cannot create segment", e))?;
        storage
            .sync_dir(&config.dir)
            .map_err(|e| Error::io(&config.dir, "cannot fsync directory", e))?;
        Ok((file, name))
    }
}
