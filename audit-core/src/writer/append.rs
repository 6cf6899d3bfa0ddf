//! Appending: batches with one write each, fsync per [`Durability`], rotation
//! (seal, read-only, next segment, open record) that resumes where it stopped.

use std::time::Instant;

use crate::chain::seq_after;
use crate::encode::{self, Header, Limits, MAX_LINE_BYTES};
use crate::error::{Error, ErrorKind, Result};
use crate::record::{Entry, RecordKind};
use crate::timestamp::Timestamp;

use super::{Appended, Durability, PartialAppend, RotationStep, Writer};

impl Writer {
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
    /// [`ErrorKind::Io`] naming the segment; [`ErrorKind::Encode`] for an entry
    /// whose record would be longer than [`MAX_LINE_BYTES`] (the entries before
    /// it are written); [`ErrorKind::Corrupt`] once the stream holds
    /// `seq = u64::MAX`.
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
            let batch_start_seq = self.seq_for_next().map_err(fail(done))?;
            let mut next = Some(batch_start_seq);
            let mut prev = self.prev;
            let mut n = 0;
            let mut too_long = None;
            while done + n < entries.len() {
                let Some(seq) = next else { break };
                let entry = &entries[done + n];
                let start = self.buf.len();
                let (ts, kind) = match entry {
                    Entry::Event(e) => (e.ts, RecordKind::Event),
                    Entry::Gap(_) => (now, RecordKind::Gap),
                };
                let header = Header {
                    seq,
                    ts,
                    epoch: self.config.key.epoch(),
                    prev: &prev,
                    kind,
                };
                let (service, limits) = (&self.config.service, &self.config.limits);
                let hash = encode::line(
                    &mut self.buf,
                    &header,
                    &mut self.ts_cache,
                    &self.config.key,
                    |out| encode::entry_body(out, entry, service, limits),
                );
                let line_len = self.buf.len() - start - 1;
                if line_len > MAX_LINE_BYTES {
                    self.buf.truncate(start);
                    too_long = Some((seq, line_len, entry_action(entry)));
                    break;
                }
                self.batch_hashes.push(hash);
                prev = hash;
                next = seq_after(seq);
                n += 1;
                if self.rotation_due(now, self.buf.len() as u64) {
                    break;
                }
            }
            if n > 0 {
                self.write_buf(n as u64, next, prev).map_err(fail(done))?;
                first_seq.get_or_insert(batch_start_seq);
                done += n;
            }
            if let Some((seq, len, action)) = too_long {
                return Err(fail(done)(
                    Error::new(
                        ErrorKind::Encode,
                        format!(
                            "expected a record of at most {MAX_LINE_BYTES} bytes, found {len} bytes for seq {seq} ({action}); the entry was not written"
                        ),
                    )
                    .at(self.path()),
                ));
            }
            if done < entries.len() {
                self.seq_for_next().map_err(fail(done))?;
            }
            if done < entries.len() || self.rotation_due(now, 0) {
                self.rotate(now).map_err(fail(done))?;
            }
        }
        let durable = self.sync_per_policy().map_err(fail(done))?;
        self.housekeeping(std::time::Instant::now())
            .map_err(fail(done))?;
        Ok(Appended {
            first_seq,
            last_seq: self.last_seq(),
            durable,
        })
    }

    /// The seq of the last record written, if any.
    fn last_seq(&self) -> Option<u64> {
        match self.next_seq {
            Some(n) => n.checked_sub(1),
            None => Some(u64::MAX),
        }
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
    pub(super) fn finish_segment(&mut self) -> Result<()> {
        match self.rotation {
            RotationStep::Writing => {
                self.seal("close")?;
                // The last checkpoint covers the seal: cutting it off shows.
                self.publish_final_checkpoint()?;
                if let Some(p) = &mut self.publisher {
                    p.finish(std::time::Duration::from_secs(10));
                }
                Ok(())
            }
            RotationStep::Sealed => Ok(()),
            RotationStep::Created => {
                let path = self.path();
                let storage = self.config.storage_backend();
                storage
                    .remove(&path)
                    .map_err(|e| Error::io(&path, "cannot remove the empty new segment", e))?;
                storage
                    .sync_dir(&self.config.dir)
                    .map_err(|e| Error::io(&self.config.dir, "cannot fsync directory", e))
            }
        }
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

    /// Writes `self.buf` (holding `records` records ending at `next_seq`/`prev`,
    /// whose hashes are in `self.batch_hashes`).
    fn write_buf(&mut self, records: u64, next_seq: Option<u64>, prev: [u8; 32]) -> Result<()> {
        debug_assert_eq!(self.batch_hashes.len() as u64, records);
        if let Err(e) = self.file.append(&self.buf) {
            self.batch_hashes.clear();
            // Cut back whatever part of the batch reached the file.
            let path = self.path();
            if let Err(e2) = self.file.set_len(self.segment_bytes) {
                self.poisoned = Some(format!(
                    "write failed ({e}) and cutting it back failed ({e2})"
                ));
            }
            return Err(Error::io(path, "cannot append to segment", e));
        }
        let witnessed = self.witnessed;
        for hash in self.batch_hashes.drain(..) {
            let leaf = crate::merkle::leaf_hash(&hash);
            // The record of seq u64::MAX is the last: no tree holds it.
            if !self.frontier.is_full() {
                self.frontier.push(leaf);
            }
            if witnessed {
                self.witness_leaves.push(leaf);
            }
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

    pub(super) fn fsync(&mut self) -> Result<()> {
        if let Err(e) = self.file.sync_data() {
            // After a failed fsync the kernel may have dropped dirty pages: do not
            // pretend later writes are safe.
            self.poisoned = Some(format!("fsync failed: {e}"));
            return Err(Error::io(self.path(), "cannot fsync segment", e));
        }
        self.unsynced = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Encodes and writes one of the trail's own records, MACed with the current
    /// epoch's key.
    pub(super) fn write_own(
        &mut self,
        kind: RecordKind,
        ts: Timestamp,
        body: impl FnOnce(&mut Vec<u8>, &Limits),
    ) -> Result<()> {
        self.write_own_with(kind, ts, None, body)
    }

    /// Like [`Writer::write_own`], with the key of another epoch (the `epoch`
    /// record is the first of its epoch, MACed with the new key).
    pub(super) fn write_own_with(
        &mut self,
        kind: RecordKind,
        ts: Timestamp,
        key: Option<&crate::key::Key>,
        body: impl FnOnce(&mut Vec<u8>, &Limits),
    ) -> Result<()> {
        self.check_usable()?;
        let seq = self.seq_for_next()?;
        self.buf.clear();
        self.batch_hashes.clear();
        let prev = self.prev;
        let key = key.unwrap_or(&self.config.key);
        let header = Header {
            seq,
            ts,
            epoch: key.epoch(),
            prev: &prev,
            kind,
        };
        let limits = &self.config.limits;
        let hash = encode::line(&mut self.buf, &header, &mut self.ts_cache, key, |out| {
            body(out, limits)
        });
        self.batch_hashes.push(hash);
        self.write_buf(1, seq_after(seq), hash)
    }

    pub(super) fn write_open(&mut self, reason: &str, now: Timestamp) -> Result<()> {
        let name = self.segment.file_name.clone();
        let service = self.config.service.clone();
        let key_id = self.config.key.id().to_owned();
        let stream = self.stream.clone();
        self.write_own(RecordKind::Open, now, |out, l| {
            encode::str_field(out, "segment", &name, l);
            encode::str_field(out, "service", &service, l);
            encode::str_field(out, "stream", &stream, l);
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

    fn seal(&mut self, reason: &str) -> Result<()> {
        let records = self.segment_records + 1;
        let (tree_size, frontier) = (self.frontier.size(), self.frontier.hashes().to_vec());
        self.write_own(RecordKind::Seal, Timestamp::now(), |out, l| {
            encode::u64_field(out, "records", records);
            encode::str_field(out, "reason", reason, l);
            encode::u64_field(out, "tree_size", tree_size);
            encode::hex_array_field(out, "frontier", &frontier);
        })?;
        self.rotation = RotationStep::Sealed;
        // Always, even with `Durability::Never`: a sealed segment must be whole on
        // disk before a newer one exists, or a power cut could leave a torn older
        // segment followed by a newer one — which reads as tampering, and which
        // recovery refuses. A rotation is rare; one fsync is its price.
        self.fsync()?;
        let path = self.path();
        self.config
            .storage_backend()
            .set_readonly(&path)
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
            let first_seq = self.seq_for_next()?;
            let (file, segment) = Writer::create_segment(&self.config, first_seq, now)?;
            self.file = file;
            self.segment = segment;
            self.segment_bytes = 0;
            self.segment_records = 0;
            self.rotation = RotationStep::Created;
        }
        self.write_open("rotate", now)?;
        self.rotation = RotationStep::Writing;
        self.advance_epoch("rotate")?;
        self.write_checkpoint()
    }
}

/// The action (or `gap`) of an entry, to name it in an error.
fn entry_action(entry: &Entry) -> String {
    match entry {
        Entry::Event(e) => format!("action {:?}", e.action),
        Entry::Gap(_) => "a gap record".to_owned(),
    }
}
