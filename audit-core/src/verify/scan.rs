//! Scanning one segment: every line through the checks, in stream order.

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::chain::{Chain, seq_after};
use crate::error::Result;
use crate::key::Key;
use crate::parse::{ParsedLine, header, split_line};
use crate::record::RecordKind;
use crate::segment::{Line, LineReader, SegmentName, last_complete_line, segment_path};
use crate::storage::Storage;
use crate::timestamp::Timestamp;

use super::checks;
use super::integrity::{CheckpointFields, EpochKeys, Integrity, MAX_EPOCH_DERIVATIONS, NoEpochKey};
use super::report::{Failure, FailureKind, MAX_TIME_GAPS, SegmentReport, TimeGap};

/// The chain state after the last whole record of `segment` (a torn tail is
/// ignored), read from the end of the file; `None` when that record cannot be read.
///
/// # Errors
/// I/O errors reading the file.
pub(crate) fn chain_after(
    storage: &dyn Storage,
    dir: &Path,
    segment: &SegmentName,
) -> Result<Option<Chain>> {
    let Some(line) = last_complete_line(storage, &segment_path(dir, segment))? else {
        return Ok(None);
    };
    let Ok(p) = split_line(&line) else {
        return Ok(None);
    };
    let Ok(h) = header(p.body_open) else {
        return Ok(None);
    };
    Ok(Some(Chain {
        next_seq: seq_after(h.seq),
        prev: p.hash,
        resync: false,
        prev_sealed: h.kind == "seal",
        epoch: h.epoch,
    }))
}

/// The result of scanning one segment (so far).
#[derive(Debug)]
pub(crate) struct SegmentScan {
    pub report: SegmentReport,
    pub lines: u64,
    pub last_kind: Option<String>,
    pub key_ids: Vec<String>,
    /// Byte offset and length of a torn final line.
    pub torn: Option<(u64, u64)>,
    /// Bytes of whole lines read (where a torn tail begins).
    pub whole_bytes: u64,
    /// The `reason` of the seal when the last record read is a seal (`rotate`,
    /// `close`; an unreadable or absent reason is `None`).
    pub seal_reason: Option<String>,
    /// Records whose `ts` lies in the window (see [`SegmentScan::in_window`]).
    pub records_in_window: u64,
    /// The `--from/--to` window to count records in, if any.
    window: Option<(Option<Timestamp>, Option<Timestamp>)>,
    /// Count the records from this `seq` on in `records_in_window` (`--last`).
    min_seq: Option<u64>,
    /// The time gaps watched for, carried from segment to segment.
    pub gaps: Option<GapWatch>,
    after_seal: bool,
}

/// Looks for periods longer than `max_micros` between the `ts` of consecutive
/// records, across segments.
#[derive(Debug)]
pub(crate) struct GapWatch {
    max_micros: i64,
    /// The `ts` of the last record read (one that went back in time included).
    prev: Option<Timestamp>,
    /// The first [`MAX_TIME_GAPS`] gaps.
    pub found: Vec<TimeGap>,
    /// Every gap found.
    pub count: u64,
}

impl GapWatch {
    pub(crate) fn new(max: std::time::Duration) -> GapWatch {
        GapWatch {
            max_micros: i64::try_from(max.as_micros()).unwrap_or(i64::MAX),
            prev: None,
            found: Vec::new(),
            count: 0,
        }
    }

    /// Notes the record at `file` line `line`, of `seq`, written at `ts`.
    fn see(&mut self, ts: Timestamp, file: &str, line: u64, seq: u64) {
        if let Some(prev) = self.prev
            && ts.unix_micros().saturating_sub(prev.unix_micros()) > self.max_micros
        {
            self.count += 1;
            if self.found.len() < MAX_TIME_GAPS {
                self.found.push(TimeGap {
                    file: file.to_owned(),
                    line,
                    seq,
                    after: prev,
                    until: ts,
                });
            }
        }
        self.prev = Some(ts);
    }
}

impl SegmentScan {
    pub(crate) fn new(name: &SegmentName) -> SegmentScan {
        SegmentScan {
            report: SegmentReport::new(&name.file_name),
            lines: 0,
            last_kind: None,
            key_ids: Vec::new(),
            torn: None,
            whole_bytes: 0,
            seal_reason: None,
            records_in_window: 0,
            window: None,
            min_seq: None,
            gaps: None,
            after_seal: false,
        }
    }

    /// Counts the records whose `ts` lies in `[from, to]` (a missing bound is
    /// open) in [`SegmentScan::records_in_window`].
    pub(crate) fn in_window(mut self, from: Option<Timestamp>, to: Option<Timestamp>) -> Self {
        self.window = Some((from, to));
        self
    }

    /// Counts the records whose `seq` is at least `seq` in
    /// [`SegmentScan::records_in_window`].
    pub(crate) fn counting_from_seq(mut self, seq: u64) -> Self {
        self.min_seq = Some(seq);
        self
    }

    /// Checks every line of one segment, appending failures; updates `chain`.
    pub(crate) fn read_all(
        mut self,
        storage: &dyn Storage,
        dir: &Path,
        name: &SegmentName,
        chain: &mut Chain,
        integ: &mut Integrity,
        failures: &mut Vec<Failure>,
    ) -> Result<SegmentScan> {
        let mut reader = LineReader::open(storage, &segment_path(dir, name))?;
        while let Some(lines) = reader.next_batch()? {
            self.check_lines(&lines, name, chain, integ, failures);
        }
        Ok(self)
    }

    /// Checks a batch of consecutive lines, appending failures; updates `chain`.
    pub(crate) fn check_lines(
        &mut self,
        lines: &[Line<'_>],
        name: &SegmentName,
        chain: &mut Chain,
        integ: &mut Integrity,
        failures: &mut Vec<Failure>,
    ) {
        let digests = digest_lines(lines, integ.keys.as_ref().map(EpochKeys::current));
        for (line, digest) in lines.iter().zip(digests) {
            self.check_line(line, digest, name, chain, integ, failures);
        }
    }

    /// Checks one line in stream order (see docs/FORMAT.md, "Verification"):
    /// at most one failure per line, the first that fails.
    fn check_line(
        &mut self,
        line: &Line<'_>,
        digest: Result<Digest<'_>, String>,
        name: &SegmentName,
        chain: &mut Chain,
        integ: &mut Integrity,
        failures: &mut Vec<Failure>,
    ) {
        self.lines = line.number;
        let mut fail = |kind: FailureKind, seq: Option<u64>, rk: Option<&str>, detail: String| {
            failures.push(Failure {
                kind,
                file: name.file_name.clone(),
                line: line.number,
                seq,
                record_kind: rk.map(str::to_owned),
                detail,
            });
        };
        if let Some(detail) = checks::torn_tail(line) {
            self.torn = Some((line.offset, line.len()));
            fail(FailureKind::TornTail, None, None, detail);
            return;
        }
        self.whole_bytes = line.offset + line.len() + 1;
        let unreadable = checks::overlong(line).or_else(|| digest.as_ref().err().cloned());
        let digest = match (unreadable, digest) {
            (None, Ok(d)) => d,
            (Some(msg), _) | (None, Err(msg)) => {
                fail(FailureKind::MalformedLine, None, None, msg);
                chain.skip_unreadable(None);
                integ.tree = None;
                return;
            }
        };
        let parsed = &digest.parsed;
        let hdr = header(parsed.body_open);
        let (seq, kind_text) = match &hdr {
            Ok(h) => (Some(h.seq), Some(h.kind.as_ref())),
            Err(_) => (None, None),
        };
        let mut failed = false;
        // The MAC with the key of the record's own epoch: the digest was MACed with
        // the key of the current epoch; a record of another epoch is checked again.
        let mac_check = match integ.keys.as_mut() {
            None => MacCheck::NoKey,
            Some(keys) => {
                let epoch = hdr.as_ref().map_or(digest.mac_epoch, |h| h.epoch);
                let segment_key_id = self.key_ids.last().map(String::as_str);
                let judged = |key: &Key, ok: bool| match checks::mac_mismatch(
                    key,
                    ok,
                    &digest.hash,
                    &parsed.mac,
                    segment_key_id,
                ) {
                    Some(detail) => MacCheck::Bad(detail),
                    None => MacCheck::Good,
                };
                if epoch == digest.mac_epoch {
                    judged(keys.current(), digest.mac_ok)
                } else {
                    match keys.key_for(epoch) {
                        Ok(key) => judged(key, key.mac(&digest.hash) == parsed.mac),
                        Err(NoEpochKey::Earlier) => MacCheck::Unchecked,
                        Err(NoEpochKey::TooFar) => MacCheck::Bad(format!(
                            "expected a key epoch at most {MAX_EPOCH_DERIVATIONS} past the key given (epoch {}), found epoch {epoch}: its key was not derived",
                            keys.current().epoch()
                        )),
                    }
                }
            }
        };
        if let Some(detail) = checks::hash_mismatch(&digest.hash, &parsed.hash) {
            failed = true;
            fail(FailureKind::HashMismatch, seq, kind_text, detail);
        } else if let MacCheck::Bad(detail) = mac_check {
            failed = true;
            fail(FailureKind::MacMismatch, seq, kind_text, detail);
        } else if mac_check == MacCheck::Unchecked {
            integ.macs_unchecked += 1;
        }
        let h = match hdr {
            Ok(h) => h,
            Err(msg) => {
                if !failed {
                    fail(FailureKind::MalformedLine, None, None, msg);
                }
                chain.skip_unreadable(Some(parsed.hash));
                integ.tree = None;
                return;
            }
        };
        let kind = RecordKind::parse(&h.kind);
        let first_line = self.report.records == 0;
        let mut check = |kind: FailureKind, detail: Option<String>| {
            if let (false, Some(detail)) = (failed, detail) {
                failed = true;
                fail(kind, Some(h.seq), Some(&h.kind), detail);
            }
        };
        check(
            FailureKind::UnknownVersion,
            checks::unknown_version(h.v, integ.version),
        );
        check(
            FailureKind::MalformedLine,
            checks::unknown_kind(&h.kind, kind, h.v),
        );
        let body = || {
            let mut body = parsed.body_open.to_vec();
            body.push(b'}');
            body
        };
        let mut epoch_from = None;
        let mut seal_fields = None;
        let mut checkpoint_fields = None;
        let mut open_fields = None;
        match kind {
            Some(RecordKind::Open) => {
                open_fields = serde_json::from_slice::<OpenFields>(&body()).ok();
            }
            Some(RecordKind::Epoch) => {
                epoch_from = serde_json::from_slice::<EpochFields>(&body())
                    .ok()
                    .and_then(|e| e.from);
            }
            Some(RecordKind::Seal) => {
                seal_fields = serde_json::from_slice::<SealFields>(&body()).ok();
            }
            Some(RecordKind::Checkpoint) => {
                checkpoint_fields = serde_json::from_slice::<CheckpointFields>(&body()).ok();
            }
            _ => {}
        }
        // Check 6: segment order, then the stream's identity.
        if let Some(o) = &open_fields {
            if let Some(id) = &o.key_id {
                self.key_ids.push(id.clone());
            }
            check(
                FailureKind::SegmentOrder,
                checks::renamed(name, o.segment.as_deref()),
            );
            check(
                FailureKind::KeyMismatch,
                checks::key_id(
                    integ.keys.as_ref().map(EpochKeys::current),
                    o.key_id.as_deref(),
                ),
            );
        }
        if first_line {
            check(
                FailureKind::SegmentOrder,
                checks::bad_first_record(name, &h.kind, kind, h.seq),
            );
        }
        check(
            FailureKind::SegmentOrder,
            checks::after_seal(self.after_seal),
        );
        if let Some(o) = open_fields {
            check(
                FailureKind::StreamMismatch,
                checks::stream(integ, h.v, o.stream.as_deref(), o.service.as_deref()),
            );
            // The stream is the first open record's: a spliced one changes nothing.
            if integ.stream.is_none() {
                integ.stream = o.stream;
            }
            if integ.service.is_none() {
                integ.service = o.service;
            }
        }
        // Check 6a: the epoch fits the record's position.
        // The epoch is checked against the record before, except after a missing
        // segment (the first record of a segment, later than expected: that is
        // `missing_segment`, and the epochs of the missing records are unknown).
        let after_missing = first_line && chain.next_seq.is_some_and(|n| h.seq > n);
        let first_ever = (chain.next_seq == Some(0) && h.seq == 0) || after_missing;
        check(
            FailureKind::EpochMismatch,
            Integrity::epoch(chain.epoch, h.epoch, h.v, kind, epoch_from, first_ever),
        );
        // Check 6b: the tree.
        if kind == Some(RecordKind::Seal) && h.v >= 2 {
            let found = match &seal_fields {
                Some(s) => integ.seal(h.seq, s.tree_size, s.frontier.as_deref()),
                None => None,
            };
            if let Some((k, detail)) = found {
                check(k, Some(detail));
            }
        }
        if kind == Some(RecordKind::Checkpoint) {
            let found = match &checkpoint_fields {
                Some(c) => integ.checkpoint(h.seq, c),
                None => Some((
                    FailureKind::MalformedLine,
                    "expected a checkpoint record with size, root and note".to_owned(),
                )),
            };
            if let Some((k, detail)) = found {
                check(k, Some(detail));
            }
        }
        if let Some((k, detail)) = checks::seq(chain, h.seq, first_line) {
            check(k, Some(detail));
        }
        check(
            FailureKind::PrevMismatch,
            checks::prev_mismatch(chain, &h.prev),
        );
        chain.advance(h.seq, parsed.hash);
        chain.epoch = h.epoch;
        chain.prev_sealed = false;
        integ.version = integ.version.max(h.v);
        if h.seq == 0 && integ.tree.is_none() {
            integ.tree = Some(crate::merkle::Frontier::new());
        }
        integ.push(&parsed.hash, h.seq, &name.file_name, line.number);
        self.after_seal |= kind == Some(RecordKind::Seal);
        self.report.records += 1;
        self.report.first_seq.get_or_insert(h.seq);
        self.report.last_seq = Some(h.seq);
        self.report.sealed = kind == Some(RecordKind::Seal);
        self.seal_reason = None;
        if let Some(s) = seal_fields {
            self.seal_reason = s.reason;
        }
        let ts = if self.window.is_some() || self.gaps.is_some() {
            Timestamp::parse(&h.ts).ok()
        } else {
            None
        };
        if let Some((from, to)) = self.window
            && let Some(ts) = ts
            && from.is_none_or(|from| from <= ts)
            && to.is_none_or(|to| ts <= to)
        {
            self.records_in_window += 1;
        }
        if self.min_seq.is_some_and(|min| min <= h.seq) {
            self.records_in_window += 1;
        }
        if let (Some(g), Some(ts)) = (self.gaps.as_mut(), ts) {
            g.see(ts, &name.file_name, line.number, h.seq);
        }
        self.last_kind = Some(h.kind.into_owned());
    }

    /// The failure at the end of a segment that has a successor but no seal.
    pub(crate) fn end_failure(
        &self,
        name: &SegmentName,
        successor: &SegmentName,
    ) -> Option<Failure> {
        let detail = checks::unsealed_with_successor(self.report.sealed, successor)?;
        Some(Failure {
            kind: FailureKind::SegmentOrder,
            file: name.file_name.clone(),
            line: self.lines.max(1),
            seq: self.report.last_seq,
            record_kind: self.last_kind.clone(),
            detail,
        })
    }
}

#[derive(Deserialize)]
struct OpenFields {
    segment: Option<String>,
    key_id: Option<String>,
    service: Option<String>,
    stream: Option<String>,
}

#[derive(Deserialize)]
struct SealFields {
    reason: Option<String>,
    tree_size: Option<u64>,
    frontier: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct EpochFields {
    from: Option<u64>,
}

/// The MAC check of one record.
#[derive(Debug, PartialEq, Eq)]
enum MacCheck {
    /// No key was given.
    NoKey,
    /// The record's epoch key is not at hand (an earlier epoch).
    Unchecked,
    Good,
    /// What was expected and found.
    Bad(String),
}

/// Checks every line of one segment, appending failures; updates `chain`.
pub(crate) fn scan_segment(
    storage: &dyn Storage,
    dir: &Path,
    name: &SegmentName,
    chain: &mut Chain,
    integ: &mut Integrity,
    failures: &mut Vec<Failure>,
) -> Result<SegmentScan> {
    SegmentScan::new(name).read_all(storage, dir, name, chain, integ, failures)
}

/// A line split into body, hash and MAC, the SHA-256 of its body, and whether its
/// MAC matched (true without a key).
#[derive(Debug, Clone)]
struct Digest<'a> {
    parsed: ParsedLine<'a>,
    hash: [u8; 32],
    mac_ok: bool,
    /// The epoch of the key `mac_ok` was computed with.
    mac_epoch: u64,
}

/// Hashes (and MACs) the bodies of `lines`, on several threads for large chunks:
/// hashing is the bulk of verification and every line's digest is independent.
/// A line that does not split gives the reason; torn and overlong lines are not split.
fn digest_lines<'a>(lines: &[Line<'a>], key: Option<&Key>) -> Vec<Result<Digest<'a>, String>> {
    let one = |line: &Line<'a>| {
        if !line.terminated || line.overlong.is_some() {
            return Err(String::new());
        }
        let parsed = split_line(line.bytes)?;
        let mut h = Sha256::new();
        h.update(parsed.body_open);
        h.update(b"}");
        let hash: [u8; 32] = h.finalize().into();
        let mac_ok = key.is_none_or(|k| k.mac(&hash) == parsed.mac);
        Ok(Digest {
            parsed,
            hash,
            mac_ok,
            mac_epoch: key.map_or(0, Key::epoch),
        })
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    if threads == 1 || lines.len() < 512 {
        return lines.iter().map(one).collect();
    }
    let per = lines.len().div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = lines
            .chunks(per)
            .map(|part| s.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
