//! Verification: hashes, MACs, `prev` links, gapless `seq`, segment order and
//! open/seal consistency, with a report that pinpoints the first failing record.
//!
//! - `checks`: one check per failure kind;
//! - `scan`: one segment's lines through the checks, in order;
//! - `report`: the [`Report`] and its parts, and [`VerifyOptions`].

mod checks;
mod report;
mod scan;

use std::path::Path;

use crate::chain::Chain;
use crate::error::Result;
use crate::lock::writer_is_live;
use crate::segment::{SegmentName, list_segments};
use crate::storage::{FileStorage, Storage};
use crate::timestamp::Timestamp;

pub use report::{Failure, FailureKind, Report, SegmentReport, VerifyOptions};
pub(crate) use scan::{SegmentScan, chain_after, scan_segment};

/// Verifies a stream directory.
///
/// With a window, every segment whose time span overlaps it is verified in full,
/// linked to the last record before it (read from the preceding segment).
///
/// # Errors
/// Only for I/O problems (unreadable directory or file, a segment that is a
/// symlink or not a regular file); tampering and corruption are reported in the
/// [`Report`], never as an `Err`.
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
/// let report = verify_dir(dir.path(), &VerifyOptions::new().key(key))?;
/// assert!(report.ok());
/// assert_eq!(report.records, 3); // open, the event, seal
/// # Ok(()) }
/// ```
pub fn verify_dir(dir: &Path, opts: &VerifyOptions) -> Result<Report> {
    let storage = FileStorage::new();
    let storage: &dyn Storage = &storage;
    let segments = list_segments(storage, dir)?;
    let mut report = Report {
        mac_checked: opts.key.is_some(),
        ..Report::default()
    };
    let (first, last) = window(&segments, opts.from, opts.to);
    report.skipped_segments = segments.len() - (last - first);
    let chain_before = match first.checked_sub(1) {
        Some(before) => chain_after(storage, dir, &segments[before])?,
        None => None,
    };
    let mut chain = chain_before.unwrap_or_else(Chain::start);
    for (i, name) in segments[first..last].iter().enumerate() {
        let successor = segments.get(first + i + 1);
        let scan = scan_segment(
            storage,
            dir,
            name,
            &mut chain,
            opts.key.as_ref(),
            &mut report.failures,
        )?;
        if scan.report.sealed {
            chain.prev_sealed = true;
        } else if let Some(f) = successor.and_then(|next| scan.end_failure(name, next)) {
            report.failures.push(f);
        }
        if successor.is_none() && scan.torn.is_some() && writer_is_live(storage, dir) {
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
