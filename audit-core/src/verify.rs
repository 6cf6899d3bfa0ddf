//! Verification: hashes, MACs, `prev` links, gapless `seq`, segment order and
//! open/seal consistency, with a report that pinpoints the first failing record.

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::encode::ZERO_HASH;
use crate::error::Result;
use crate::key::Key;
use crate::parse::{ParsedLine, header, split_line};
use crate::record::{FORMAT_VERSION, RecordKind};
use crate::segment::{
    Line, SegmentName, for_each_chunk, last_complete_line, list_segments, segment_path,
};
use crate::timestamp::Timestamp;

/// What is wrong with a record or segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The SHA-256 of the body differs from the record's `hash`.
    HashMismatch,
    /// The HMAC of the hash differs from the record's `mac`.
    MacMismatch,
    /// `prev` differs from the previous record's `hash`.
    PrevMismatch,
    /// `seq` is not the previous record's `seq` plus one.
    SeqGap,
    /// The line is not a record (no hash/mac suffix, or no header).
    MalformedLine,
    /// The file ends in bytes without a final newline (a write cut short).
    TornTail,
    /// A segment is missing before this one (the stream jumps forward at a segment start).
    MissingSegment,
    /// Segments are out of order, renamed, unsealed where they must be sealed, or
    /// records follow a seal.
    SegmentOrder,
    /// The record's format version is not one this verifier knows.
    UnknownVersion,
}

impl FailureKind {
    /// The name used in reports and `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::HashMismatch => "hash_mismatch",
            FailureKind::MacMismatch => "mac_mismatch",
            FailureKind::PrevMismatch => "prev_mismatch",
            FailureKind::SeqGap => "seq_gap",
            FailureKind::MalformedLine => "malformed_line",
            FailureKind::TornTail => "torn_tail",
            FailureKind::MissingSegment => "missing_segment",
            FailureKind::SegmentOrder => "segment_order",
            FailureKind::UnknownVersion => "unknown_version",
        }
    }
}

/// One failure: what, and exactly where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What is wrong.
    pub kind: FailureKind,
    /// The segment file name.
    pub file: String,
    /// The 1-based line in that file.
    pub line: u64,
    /// The record's `seq`, when it could be read.
    pub seq: Option<u64>,
    /// The record's `kind`, when it could be read.
    pub record_kind: Option<String>,
    /// What was expected and what was found.
    pub detail: String,
}

/// The verification result of one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentReport {
    /// The segment file name.
    pub file: String,
    /// Records (complete lines) read.
    pub records: u64,
    /// `seq` of the first record read.
    pub first_seq: Option<u64>,
    /// `seq` of the last record read.
    pub last_seq: Option<u64>,
    /// Whether the segment ends with a seal record.
    pub sealed: bool,
    /// How many failures are in this segment.
    pub failures: usize,
}

/// The result of verifying a stream directory.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Records read.
    pub records: u64,
    /// Per-segment results, in stream order.
    pub segments: Vec<SegmentReport>,
    /// Segments left out because they lie wholly outside the `--from/--to` window.
    pub skipped_segments: usize,
    /// Every failure found, in stream order.
    pub failures: Vec<Failure>,
    /// Whether MACs were checked (a key was given).
    pub mac_checked: bool,
    /// Key ids named by the open records that were read.
    pub trail_key_ids: Vec<String>,
    /// A live writer held the stream's lock and the newest segment ended in a
    /// partial line: a write in progress, not counted as a failure.
    pub write_in_progress: bool,
}

impl Report {
    /// True when no failure was found.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// The first failure in stream order.
    pub fn first_failure(&self) -> Option<&Failure> {
        self.failures.first()
    }

    /// The `--json` form: `{"ok","records","segments","first_failure","failures",…}`.
    pub fn to_json(&self) -> serde_json::Value {
        let failure = |f: &Failure| {
            serde_json::json!({
                "file": f.file,
                "line": f.line,
                "seq": f.seq,
                "kind": f.kind.as_str(),
                "record_kind": f.record_kind,
                "detail": f.detail,
            })
        };
        serde_json::json!({
            "ok": self.ok(),
            "records": self.records,
            "segments": self.segments.len(),
            "skipped_segments": self.skipped_segments,
            "mac_checked": self.mac_checked,
            "first_failure": self.first_failure().map(failure),
            "failures": self.failures.iter().map(failure).collect::<Vec<_>>(),
        })
    }
}

/// What to verify and with which key.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The HMAC key; without it hashes, links and order are checked but not MACs
    /// (so a forger who recomputes SHA-256 goes unnoticed).
    pub key: Option<Key>,
    /// Verify only segments that may hold records at or after this time.
    pub from: Option<Timestamp>,
    /// Verify only segments that may hold records at or before this time.
    pub to: Option<Timestamp>,
}

/// Verifies a stream directory.
///
/// With a window, every segment whose time span overlaps it is verified in full,
/// linked to the last record before it (read from the preceding segment).
///
/// # Errors
/// Only for I/O problems (unreadable directory or file); tampering and corruption
/// are reported in the [`Report`], never as an `Err`.
///
/// # Example
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_audit_core::{Event, Key, VerifyOptions, Writer, WriterConfig, verify_dir};
/// let dir = tempfile::tempdir()?;
/// let key = Key::generate()?;
/// let mut w = Writer::open(WriterConfig::new(dir.path(), "billing", key.clone()))?;
/// w.append(&[Event::new("invoice.paid").into()])?;
/// w.close()?;
/// let report = verify_dir(dir.path(), &VerifyOptions { key: Some(key), ..Default::default() })?;
/// assert!(report.ok());
/// assert_eq!(report.records, 3); // open, the event, seal
/// # Ok(()) }
/// ```
pub fn verify_dir(dir: &Path, opts: &VerifyOptions) -> Result<Report> {
    let segments = list_segments(dir)?;
    let mut report = Report {
        mac_checked: opts.key.is_some(),
        ..Report::default()
    };
    let (first, last) = window(&segments, opts.from, opts.to);
    report.skipped_segments = segments.len() - (last - first);
    let chain_before = match first.checked_sub(1) {
        Some(before) => chain_after(dir, &segments[before])?,
        None => None,
    };
    let mut chain = chain_before.unwrap_or_else(Chain::start);
    for (i, name) in segments[first..last].iter().enumerate() {
        let is_last = first + i + 1 == segments.len();
        let scan = scan_segment(
            dir,
            name,
            &mut chain,
            opts.key.as_ref(),
            &mut report.failures,
        )?;
        if scan.report.sealed {
            chain.prev_sealed = true;
        } else if !is_last {
            report.failures.push(Failure {
                kind: FailureKind::SegmentOrder,
                file: name.file_name.clone(),
                line: scan.lines.max(1),
                seq: scan.report.last_seq,
                record_kind: scan.last_kind.clone(),
                detail: format!(
                    "expected a seal record at the end of a segment that has a successor ({}), found none",
                    segments[first + i + 1].file_name
                ),
            });
        }
        if is_last && scan.torn.is_some() && writer_is_live(dir) {
            // A live writer may be in the middle of its write(2): the bytes after the
            // last newline are a batch in progress, not damage.
            if report
                .failures
                .last()
                .is_some_and(|f| f.kind == FailureKind::TornTail)
            {
                report.failures.pop();
                report.write_in_progress = true;
            }
        }
        report.records += scan.report.records;
        for id in scan.key_ids {
            if !report.trail_key_ids.contains(&id) {
                report.trail_key_ids.push(id);
            }
        }
        let mut seg = scan.report;
        seg.failures = report
            .failures
            .iter()
            .filter(|f| f.file == name.file_name)
            .count();
        report.segments.push(seg);
    }
    Ok(report)
}

/// The range `[first, last)` of segments overlapping the window.
fn window(
    segments: &[SegmentName],
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> (usize, usize) {
    let mut first = 0;
    let mut last = segments.len();
    if let Some(from) = from {
        // Segment i spans [start_i, start_{i+1}); skip those ending before `from`.
        while first + 1 < segments.len() && segments[first + 1].start <= from {
            first += 1;
        }
    }
    if let Some(to) = to {
        while last > first + 1 && segments[last - 1].start > to {
            last -= 1;
        }
    }
    (first, last)
}

/// True when a writer process holds the stream's lock right now.
fn writer_is_live(dir: &Path) -> bool {
    let Ok(f) = std::fs::File::open(dir.join(crate::segment::LOCK_FILE)) else {
        return false;
    };
    match f.try_lock_shared() {
        Ok(()) => {
            let _ = f.unlock();
            false
        }
        Err(_) => true,
    }
}

/// The chain state after the last whole record of `segment` (a torn tail is ignored),
/// read from the end of the file; `None` when that record cannot be read.
///
/// # Errors
/// I/O errors reading the file.
pub(crate) fn chain_after(dir: &Path, segment: &SegmentName) -> Result<Option<Chain>> {
    let Some((line, _)) = last_complete_line(&segment_path(dir, segment))? else {
        return Ok(None);
    };
    let Ok(p) = split_line(&line) else {
        return Ok(None);
    };
    let Ok(h) = header(p.body_open) else {
        return Ok(None);
    };
    Ok(Some(Chain {
        next_seq: h.seq + 1,
        prev: p.hash,
        resync: false,
        prev_sealed: h.kind == "seal",
    }))
}

/// The running state of the chain between records.
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    pub next_seq: u64,
    pub prev: [u8; 32],
    /// After an unreadable line: accept the next record's seq/prev as they are.
    pub resync: bool,
    /// Whether the previous segment (if any) ended with a seal.
    pub prev_sealed: bool,
}

impl Chain {
    pub(crate) fn start() -> Chain {
        Chain {
            next_seq: 0,
            prev: ZERO_HASH,
            resync: false,
            prev_sealed: true,
        }
    }
}

/// The result of scanning one segment.
#[derive(Debug)]
pub(crate) struct SegmentScan {
    pub report: SegmentReport,
    pub lines: u64,
    pub last_kind: Option<String>,
    pub key_ids: Vec<String>,
    /// Byte offset and length of a torn final line.
    pub torn: Option<(u64, u64)>,
}

#[derive(Deserialize)]
struct OpenFields {
    segment: Option<String>,
    key_id: Option<String>,
}

/// Checks every line of one segment, appending failures; updates `chain`.
pub(crate) fn scan_segment(
    dir: &Path,
    name: &SegmentName,
    chain: &mut Chain,
    key: Option<&Key>,
    failures: &mut Vec<Failure>,
) -> Result<SegmentScan> {
    let mut scan = SegmentScan {
        report: SegmentReport {
            file: name.file_name.clone(),
            records: 0,
            first_seq: None,
            last_seq: None,
            sealed: false,
            failures: 0,
        },
        lines: 0,
        last_kind: None,
        key_ids: Vec::new(),
        torn: None,
    };
    let mut after_seal = false;
    for_each_chunk(&segment_path(dir, name), |lines| {
        let digests = digest_lines(lines, key);
        for (&line, digest) in lines.iter().zip(digests) {
            check_line(
                line,
                digest,
                name,
                chain,
                key,
                failures,
                &mut scan,
                &mut after_seal,
            );
        }
    })?;
    Ok(scan)
}

/// A line split into body, hash and MAC, the SHA-256 of its body, and whether its
/// MAC matched (true without a key).
#[derive(Debug, Clone)]
struct Digest<'a> {
    parsed: ParsedLine<'a>,
    hash: [u8; 32],
    mac_ok: bool,
}

/// Hashes (and MACs) the bodies of `lines`, on several threads for large chunks:
/// hashing is the bulk of verification and every line's digest is independent.
/// A line that does not split gives the reason; a torn final line is not split.
fn digest_lines<'a>(lines: &[Line<'a>], key: Option<&Key>) -> Vec<Result<Digest<'a>, String>> {
    let one = |line: &Line<'a>| {
        if !line.terminated {
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

/// Checks one line in stream order (see docs/FORMAT.md, "Verification").
#[allow(clippy::too_many_arguments)]
fn check_line(
    line: Line<'_>,
    digest: Result<Digest<'_>, String>,
    name: &SegmentName,
    chain: &mut Chain,
    key: Option<&Key>,
    failures: &mut Vec<Failure>,
    scan: &mut SegmentScan,
    after_seal: &mut bool,
) {
    scan.lines = line.number;
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
    if !line.terminated {
        scan.torn = Some((line.offset, line.bytes.len() as u64));
        fail(
            FailureKind::TornTail,
            None,
            None,
            format!(
                "expected a newline-terminated record, found {} bytes with no final newline at byte offset {} (a write cut short)",
                line.bytes.len(),
                line.offset
            ),
        );
        return;
    }
    let digest = match digest {
        Ok(d) => d,
        Err(msg) => {
            fail(FailureKind::MalformedLine, None, None, msg);
            chain.resync = true;
            chain.next_seq += 1;
            return;
        }
    };
    let mut failed = false;
    let parsed = &digest.parsed;
    let hash = digest.hash;
    let hdr = header(parsed.body_open);
    let (seq, kind_text) = match &hdr {
        Ok(h) => (Some(h.seq), Some(h.kind.as_ref())),
        Err(_) => (None, None),
    };
    if hash != parsed.hash {
        failed = true;
        fail(
            FailureKind::HashMismatch,
            seq,
            kind_text,
            format!(
                "expected hash {} (SHA-256 of the body), found {}",
                hex::encode(hash),
                hex::encode(parsed.hash)
            ),
        );
    } else if let Some(key) = key
        && !digest.mac_ok
    {
        {
            failed = true;
            let written_with = scan.key_ids.last().map_or(String::new(), |id| {
                if id == key.id() {
                    String::new()
                } else {
                    format!("; the segment was written with key id {id}")
                }
            });
            fail(
                FailureKind::MacMismatch,
                seq,
                kind_text,
                format!(
                    "expected mac {} (HMAC with key id {}), found {}{written_with}",
                    hex::encode(key.mac(&hash)),
                    key.id(),
                    hex::encode(parsed.mac)
                ),
            );
        }
    }
    let h = match hdr {
        Ok(h) => h,
        Err(msg) => {
            if !failed {
                fail(FailureKind::MalformedLine, None, None, msg);
            }
            chain.resync = true;
            chain.next_seq += 1;
            chain.prev = parsed.hash;
            return;
        }
    };
    let kind = RecordKind::parse(&h.kind);
    let first_line = scan.report.records == 0;
    if !failed && h.v != u64::from(FORMAT_VERSION) {
        failed = true;
        fail(
            FailureKind::UnknownVersion,
            Some(h.seq),
            Some(&h.kind),
            format!("expected format version {FORMAT_VERSION}, found {}", h.v),
        );
    }
    if !failed && kind.is_none() {
        failed = true;
        fail(
            FailureKind::MalformedLine,
            Some(h.seq),
            Some(&h.kind),
            format!(
                "expected kind open, seal, recovery, gap or event, found {:?}",
                h.kind
            ),
        );
    }
    if kind == Some(RecordKind::Open) {
        let mut body = parsed.body_open.to_vec();
        body.push(b'}');
        if let Ok(o) = serde_json::from_slice::<OpenFields>(&body) {
            if let Some(id) = o.key_id {
                scan.key_ids.push(id);
            }
            if !failed && o.segment.as_deref() != Some(name.file_name.as_str()) {
                failed = true;
                fail(
                    FailureKind::SegmentOrder,
                    Some(h.seq),
                    Some(&h.kind),
                    format!(
                        "expected the open record to name this file ({}), found {:?}: the segment was renamed or moved",
                        name.file_name, o.segment
                    ),
                );
            }
        }
    }
    if !failed && first_line {
        if kind != Some(RecordKind::Open) {
            failed = true;
            fail(
                FailureKind::SegmentOrder,
                Some(h.seq),
                Some(&h.kind),
                format!(
                    "expected the segment to begin with an open record, found kind {:?}",
                    h.kind
                ),
            );
        } else if h.seq != name.first_seq {
            failed = true;
            fail(
                FailureKind::SegmentOrder,
                Some(h.seq),
                Some(&h.kind),
                format!(
                    "expected seq {} as the file name says, found {}",
                    name.first_seq, h.seq
                ),
            );
        }
    }
    if !failed && *after_seal {
        failed = true;
        fail(
            FailureKind::SegmentOrder,
            Some(h.seq),
            Some(&h.kind),
            "expected nothing after the seal record, found another record".to_owned(),
        );
    }
    if !failed && !chain.resync && h.seq != chain.next_seq {
        failed = true;
        let missing = first_line && chain.prev_sealed && h.seq > chain.next_seq;
        fail(
            if missing {
                FailureKind::MissingSegment
            } else {
                FailureKind::SeqGap
            },
            Some(h.seq),
            Some(&h.kind),
            if missing {
                format!(
                    "expected the stream to continue at seq {}, found a segment starting at {}: records {}..{} are missing",
                    chain.next_seq,
                    h.seq,
                    chain.next_seq,
                    h.seq - 1
                )
            } else {
                format!("expected seq {}, found {}", chain.next_seq, h.seq)
            },
        );
    }
    if !failed && !chain.resync && h.prev != chain.prev {
        fail(
            FailureKind::PrevMismatch,
            Some(h.seq),
            Some(&h.kind),
            format!(
                "expected prev {} (the previous record's hash), found {}",
                hex::encode(chain.prev),
                hex::encode(h.prev)
            ),
        );
    }
    chain.next_seq = h.seq.wrapping_add(1);
    chain.prev = parsed.hash;
    chain.resync = false;
    chain.prev_sealed = false;
    *after_seal |= kind == Some(RecordKind::Seal);
    scan.report.records += 1;
    scan.report.first_seq.get_or_insert(h.seq);
    scan.report.last_seq = Some(h.seq);
    scan.report.sealed = kind == Some(RecordKind::Seal);
    scan.last_kind = Some(h.kind.into_owned());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(seq: u64, start: &str) -> SegmentName {
        SegmentName::new(seq, Timestamp::parse(start).unwrap())
    }

    #[test]
    fn window_keeps_the_segments_whose_span_overlaps() {
        let segs = [
            seg(0, "2026-11-20T00:00:00Z"),
            seg(10, "2026-11-21T00:00:00Z"),
            seg(20, "2026-11-22T00:00:00Z"),
            seg(30, "2026-11-23T00:00:00Z"),
        ];
        let t = |s| Some(Timestamp::parse(s).unwrap());
        assert_eq!(window(&segs, None, None), (0, 4));
        assert_eq!(
            window(&segs, t("2026-11-21T12:00:00Z"), t("2026-11-21T13:00:00Z")),
            (1, 2)
        );
        assert_eq!(
            window(&segs, t("2026-11-21T00:00:00Z"), t("2026-11-22T00:00:00Z")),
            (1, 3)
        );
        assert_eq!(window(&segs, t("2030-01-01"), None), (3, 4));
        assert_eq!(window(&segs, None, t("2000-01-01")), (0, 1));
    }
}
