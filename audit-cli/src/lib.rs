//! The presentation of `audit`'s reports, shared by the binary and by tests that
//! compare other verifiers with exactly what `audit verify --json` prints.
#![deny(missing_docs)]

use tracing_audit_core::{Failure, Report};

/// The `audit verify --json` form of a report (docs/FORMAT.md §4):
/// `{"ok","records","segments","skipped_segments","mac_checked","first_failure","failures"}`,
/// each failure `{"file","line","seq","kind","record_kind","detail"}`.
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
    serde_json::json!({
        "ok": report.ok(),
        "records": report.records,
        "segments": report.segments.len(),
        "skipped_segments": report.skipped_segments,
        "mac_checked": report.mac_checked,
        "first_failure": report.first_failure().map(failure),
        "failures": report.failures.iter().map(failure).collect::<Vec<_>>(),
    })
}
