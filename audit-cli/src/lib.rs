//! The presentation of `audit`'s reports, shared by the binary and by tests that
//! compare other verifiers with exactly what `audit verify --json` prints.
#![deny(missing_docs)]

use std::borrow::Cow;

use tracing_audit_core::{End, Failure, Report};

/// `text` (bytes read from a trail: a detail, a file name, a reason) made safe for
/// a terminal: control characters (C0, DEL, C1: escape sequences that clear the
/// screen or draw a fake verdict) and the invisible bidirectional-text and
/// zero-width formatting characters are written as `\u{…}` escapes; everything
/// else, and a backslash, as it is.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
    }
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The `audit verify --json` form of a report (docs/FORMAT.md §4):
/// `{"ok","end","records","records_in_window","segments","skipped_segments","mac_checked","first_failure","failures"}`,
/// each failure `{"file","line","seq","kind","record_kind","detail"}`.
///
/// `ok` is true when no tampering or corruption was found; `end` says whether the
/// end of the trail is proven: `{"status":"sealed"|"live_writer"|"not_proven","reason"}`,
/// where `reason` is a sentence for `not_proven` and `null` otherwise.
/// `records_in_window` counts the records inside `--from/--to` (`null` without a
/// window; `0`: the window holds no record). `time_gaps_found` counts the periods
/// longer than `--max-gap` without a record, and `time_gaps` lists the first
/// [`tracing_audit_core::MAX_TIME_GAPS`] of them, each
/// `{"file","line","seq","after","until","seconds"}` (the record after the gap).
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
        "macs_unchecked": report.macs_unchecked,
        "stream": report.stream,
        "service": report.service,
        "tree": report.tree.map(|(size, root)| serde_json::json!({"size": size, "root": hex::encode(root)})),
        "checkpoint_records": report.checkpoint_records,
        "signatures_checked": report.signatures_checked,
        "checkpoint_verified": report.checkpoint_verified,
        "first_failure": report.first_failure().map(failure),
        "failures": report.failures.iter().map(failure).collect::<Vec<_>>(),
        "time_gaps_found": report.time_gaps_found,
        "time_gaps": report.time_gaps.iter().map(|g| serde_json::json!({
            "file": g.file,
            "line": g.line,
            "seq": g.seq,
            "after": g.after.to_string(),
            "until": g.until.to_string(),
            "seconds": g.duration().as_secs(),
        })).collect::<Vec<_>>(),
    })
}
