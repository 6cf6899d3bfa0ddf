//! The one-line summary of `audit verify --summary`, for cron and alerting, and the
//! description of a time gap shared with the text report.

use std::path::Path;
use std::time::Duration;

use tracing_audit_cli::terminal_safe;
use tracing_audit_core::{End, Report, TimeGap};

/// `OK|WARN|FAIL trail DIR: …`: the verdict first (FAIL: a failure, exit 1; WARN:
/// the end not proven or a time gap, exit 3 or 4; OK: exit 0), then the records
/// verified (in the window, with `--lookback-days`, `--from/--to` or `--last`), the
/// end, the first failure and the first time gap. Everything read from the trail
/// goes through [`terminal_safe`]: the line stays one line.
pub(crate) fn summary_line(dir: &Path, report: &Report) -> String {
    let trail = terminal_safe(&dir.display().to_string()).into_owned();
    let records = |n: u64| format!("{n} record{}", if n == 1 { "" } else { "s" });
    let mut parts = vec![match report.records_in_window {
        Some(n) => format!("{} in window", records(n)),
        None => records(report.records),
    }];
    if let Some(f) = report.first_failure() {
        parts.push(format!(
            "{} failure(s), first at {} line {}{} ({})",
            report.failures.len(),
            terminal_safe(&f.file),
            f.line,
            f.seq.map(|s| format!(" seq {s}")).unwrap_or_default(),
            f.kind.as_str()
        ));
    }
    parts.push(match &report.end {
        End::NotProven { reason } => format!("end not proven: {}", terminal_safe(reason)),
        End::LiveWriter => "end open (live writer)".to_owned(),
        _ => "end sealed".to_owned(),
    });
    if let Some(g) = report.time_gaps.first() {
        parts.push(format!(
            "{} time gap(s), first {}",
            report.time_gaps_found,
            describe_gap(g)
        ));
    }
    if !report.mac_checked {
        parts.push("MACs NOT checked (no key)".to_owned());
    }
    let verdict = if !report.ok() {
        "FAIL"
    } else if !report.end_proven() || report.has_time_gaps() {
        "WARN"
    } else {
        "OK"
    };
    // A reason may end in a full stop of its own; the line carries none.
    format!("{verdict} trail {trail}: {}", parts.join(", "))
}

/// `no record for 2h 5m from <ts> to <ts> (before FILE line L seq S)`.
pub(crate) fn describe_gap(g: &TimeGap) -> String {
    // Whole seconds: the micros of a gap of hours are noise.
    let d = Duration::from_secs(g.duration().as_secs());
    format!(
        "no record for {} from {} to {} (before {} line {} seq {})",
        humantime::format_duration(d),
        g.after,
        g.until,
        terminal_safe(&g.file),
        g.line,
        g.seq
    )
}
