//! Verification: hashes, MACs, `prev` links, gapless `seq`, segment order and
//! open/seal consistency, with a report that pinpoints the first failing record and
//! says whether the end of the trail is proven ([`End`]).
//!
//! - `checks`: one check per failure kind;
//! - `scan`: one segment's lines through the checks, in order;
//! - `report`: the [`Report`] and its parts, and [`VerifyOptions`].

mod checks;
mod integrity;
mod report;
mod scan;

use std::path::Path;

use crate::chain::Chain;
use crate::error::Result;
use crate::lock::writer_is_live;
use crate::segment::{SegmentName, list_stream};
use crate::storage::{FileStorage, Storage};
use crate::timestamp::Timestamp;

pub(crate) use integrity::{EpochKeys, Integrity, MAX_EPOCH_DERIVATIONS};
pub use report::{
    End, Failure, FailureKind, MAX_TIME_GAPS, Report, SegmentReport, TimeGap, VerifyOptions,
};
pub(crate) use scan::{GapWatch, SegmentScan, chain_after, scan_segment};

/// Verifies a stream directory.
///
/// With a window, every segment whose time span overlaps it is verified in full,
/// linked to the last record before it (read from the preceding segment), and
/// [`Report::records_in_window`] counts the records inside the window.
///
/// The report also says whether the end is proven ([`Report::end`]): the last
/// segment verified is sealed, and not for a rotation whose next segment is
/// missing; or a live writer holds the stream's lock (probed without waiting,
/// without creating a file, without following a symlink). Otherwise the end is
/// [`End::NotProven`], with the reason: records may have been cut off the end, which
/// the chain alone cannot show ([FORMAT.md](https://docs.rs/tracing-audit/latest/tracing_audit/docs/format/index.html) §4). That is not a failure:
/// [`Report::ok`] stays true.
///
/// # Errors
/// Only for I/O problems (unreadable directory or file); an entry named like a
/// segment that is not a regular file is a [`FailureKind::NotASegment`] failure,
/// never opened; tampering and corruption are reported in the
/// [`Report`], never as an `Err`.
///
/// # Example
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tracing_audit::storage::{Event, Key, Writer, WriterConfig};
/// use tracing_audit::verify::{VerifyOptions, verify_dir};
///
/// let dir = tempfile::tempdir()?;
/// let key = Key::generate()?;
/// let mut w = Writer::open(WriterConfig::new(dir.path(), "billing", key.clone()))?;
/// w.append(&[Event::new("invoice.paid").into()])?;
/// w.close()?;
/// let report = verify_dir(dir.path(), &VerifyOptions::new().key(key))?;
/// assert!(report.ok() && report.end_proven()); // sealed by `close`
/// assert_eq!(report.records, 3); // open, the event, seal
/// # Ok(()) }
/// ```
pub fn verify_dir(dir: &Path, opts: &VerifyOptions) -> Result<Report> {
    let storage = FileStorage::new();
    let storage: &dyn Storage = &storage;
    let (segments, not_segments) = list_stream(storage, dir)?;
    let windowed = opts.last.is_none() && (opts.from.is_some() || opts.to.is_some());
    let mut report = Report {
        mac_checked: opts.key.is_some(),
        records_in_window: (windowed || opts.last.is_some()).then_some(0),
        ..Report::default()
    };
    // Entries named like segments that are not regular files: never opened (a FIFO
    // would block, a directory or a symlink loop would end the whole report).
    report.failures.extend(not_segments.iter().map(|n| Failure {
        kind: FailureKind::NotASegment,
        file: n.name.file_name.clone(),
        line: 0,
        seq: None,
        record_kind: None,
        detail: n.describe(),
    }));
    let (first, last, from_seq) = match opts.last {
        Some(n) => {
            let (first, from_seq) = last_records(storage, dir, &segments, n)?;
            (first, segments.len(), from_seq)
        }
        None => {
            let (first, last) = window(&segments, opts.from, opts.to);
            (first, last, None)
        }
    };
    let mut gaps = opts.max_gap.map(GapWatch::new);
    report.skipped_segments = segments.len() - (last - first);
    let chain_before = match first.checked_sub(1) {
        Some(before) => chain_after(storage, dir, &segments[before])?,
        None => None,
    };
    let mut chain = chain_before.unwrap_or_else(Chain::start);
    let mut integ = Integrity {
        keys: opts.key.clone().map(integrity::EpochKeys::new),
        pubkey: opts.pubkey.clone(),
        ..Integrity::default()
    };
    if let Some((name, text)) = &opts.checkpoint {
        match integrity::copied_checkpoint(name, text, opts.pubkey.as_ref(), &opts.witnesses) {
            Ok(target) => integ.target = Some(target),
            Err(f) => report.failures.push(f),
        }
    }
    let mut last_position = (String::new(), 0, None);
    let mut live = None;
    let mut is_live = || *live.get_or_insert_with(|| writer_is_live(storage, dir));
    for (i, name) in segments[first..last].iter().enumerate() {
        let successor = segments.get(first + i + 1);
        let mut scan = SegmentScan::new(name);
        if windowed {
            scan = scan.in_window(opts.from, opts.to);
        }
        if let Some(seq) = from_seq {
            scan = scan.counting_from_seq(seq);
        }
        scan.gaps = gaps.take();
        let mut scan = scan.read_all(
            storage,
            dir,
            name,
            &mut chain,
            &mut integ,
            &mut report.failures,
        )?;
        if scan.report.sealed {
            chain.prev_sealed = true;
        } else if let Some(f) = successor.and_then(|next| scan.end_failure(name, next)) {
            report.failures.push(f);
        }
        if successor.is_none() && scan.torn.is_some() && is_live() {
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
        gaps = scan.gaps.take();
        last_position = (name.file_name.clone(), scan.lines, scan.report.last_seq);
        report.records += scan.report.records;
        if let Some(n) = report.records_in_window.as_mut() {
            *n += scan.records_in_window;
        }
        for id in &scan.key_ids {
            if !report.trail_key_ids.contains(id) {
                report.trail_key_ids.push(id.clone());
            }
        }
        report.end = end_of(&scan, successor.is_some(), &mut is_live);
        let mut seg = scan.report;
        seg.failures = report
            .failures
            .iter()
            .filter(|f| f.file == name.file_name)
            .count();
        report.segments.push(seg);
    }
    if let Some(t) = &integ.target {
        match integrity::judge_target(t, &integ, &last_position) {
            Ok(size) => report.checkpoint_verified = Some(size),
            Err(f) => {
                if let Some(seg) = report.segments.iter_mut().find(|s| s.file == f.file) {
                    seg.failures += 1;
                }
                report.failures.push(f);
            }
        }
    }
    report.stream = integ.stream.clone();
    report.service = integ.service.clone();
    report.macs_unchecked = integ.macs_unchecked;
    report.checkpoint_records = integ.checkpoint_records;
    report.signatures_checked = integ.signatures_checked;
    report.tree = integ.tree.as_ref().map(|t| (t.size(), t.root()));
    if let Some(g) = gaps {
        report.time_gaps = g.found;
        report.time_gaps_found = g.count;
    }
    Ok(report)
}

/// For the last `n` records (at least one): the index of the segment holding the
/// `n`-th last record, and that record's `seq`. The newest record's `seq` is read
/// from the end of the newest segment; segment names give the first `seq` of each.
/// When the newest record cannot be read, every segment (`(0, None)`): more is
/// verified, never less.
///
/// # Errors
/// I/O errors reading the newest segment.
fn last_records(
    storage: &dyn Storage,
    dir: &Path,
    segments: &[SegmentName],
    n: u64,
) -> Result<(usize, Option<u64>)> {
    let Some(newest) = segments.last() else {
        return Ok((0, None));
    };
    let newest_seq = match chain_after(storage, dir, newest)? {
        Some(chain) => chain
            .next_seq
            .map_or(u64::MAX, |next| next.saturating_sub(1)),
        None => return Ok((0, None)),
    };
    let from_seq = newest_seq.saturating_sub(n.max(1) - 1);
    let first = segments
        .iter()
        .rposition(|s| s.first_seq <= from_seq)
        .unwrap_or(0);
    Ok((first, Some(from_seq)))
}

/// Whether the end of the verified segments is proven, from the scan of the last one
/// (`followed`: whether the stream has a segment after it) and, when needed, a
/// probe of the writer lock.
fn end_of(last: &SegmentScan, followed: bool, is_live: &mut impl FnMut() -> bool) -> End {
    let seg = &last.report;
    let rotated = last.seal_reason.as_deref() == Some("rotate");
    if seg.sealed && (followed || !rotated) {
        return End::Sealed;
    }
    if followed {
        // Already a `segment_order` failure; the end of this segment is not proven
        // either.
        return End::NotProven {
            reason: format!(
                "segment {} ends without a seal, although a segment follows it",
                seg.file
            ),
        };
    }
    if is_live() {
        return End::LiveWriter;
    }
    let reason = match seg.last_seq {
        Some(last_seq) if seg.sealed => {
            let next = last_seq.checked_add(1).map_or_else(
                || "none can follow".to_owned(),
                |n| format!("seg-{n:020}-<UTC time>.jsonl, from seq {n}"),
            );
            format!(
                "the newest segment {} is sealed for rotation, but the segment after it ({next}) is missing (deleted, or its writer stopped in the middle of the rotation), and no writer holds the stream's lock",
                seg.file
            )
        }
        Some(last_seq) => format!(
            "the newest segment {} ends without a seal (last record seq {last_seq}) and no writer holds the stream's lock: its last records may have been cut off, or its writer stopped without closing it",
            seg.file
        ),
        None => format!(
            "the newest segment {} holds no record and no writer holds the stream's lock",
            seg.file
        ),
    };
    End::NotProven { reason }
}

/// The range `[first, last)` of segments overlapping the window.
pub(crate) fn window(
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
