//! The presentation of `audit`'s reports, shared by the binary and by tests that
//! compare other verifiers with exactly what `audit verify --json` prints.
#![deny(missing_docs)]

use tracing_audit_core::{End, Failure, Report};

/// The `audit verify --json` form of a report (docs/FORMAT.md §4):
/// `{"ok","end","records","records_in_window","segments","skipped_segments","mac_checked","first_failure","failures"}`,
/// each failure `{"file","line","seq","kind","record_kind","detail"}`.
///
/// `ok` is true when no tampering or corruption was found; `end` says whether the
/// end of the trail is proven: `{"status":"sealed"|"live_writer"|"not_proven","reason"}`,
/// where `reason` is a sentence for `not_proven` and `null` otherwise.
/// `records_in_window` counts the records inside `--from/--to` (`null` without a
/// window; `0`: the window holds no record).
pub fn report_json(report: &Report) -> serde_json::Value {
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
    let reason = match &report.end {
        End::NotProven { reason } => Some(reason.as_str()),
        _ => None,
    };
    serde_json::json!({
        "ok": report.ok(),
        "end": { "status": report.end.as_str(), "reason": reason },
        "records": report.records,
        "records_in_window": report.records_in_window,
        "segments": report.segments.len(),
        "skipped_segments": report.skipped_segments,
        "mac_checked": report.mac_checked,
        "first_failure": report.first_failure().map(failure),
        "failures": report.failures.iter().map(failure).collect::<Vec<_>>(),
    })
}
