//! `audit query`: find records by action, actor, outcome, resource, tenancy,
//! request id and time, as a table (escaped for the terminal), JSON Lines, JSON or
//! CSV.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use tracing_audit_cli::terminal_safe;
use tracing_audit_core::query::Query;
use tracing_audit_core::{Record, Stream, Timestamp};

pub(crate) const QUERY_HELP: &str = "\
Find event records of a stream directory: every filter given must hold, and a
filter given twice matches either value. Segments wholly outside --from/--to are
not opened; memory stays flat on any trail size.

  audit query ./audit-trail --action 'pool.*' --actor alice --from 2026-11-24 --to 2026-11-24

A query reads, it does not verify: run `audit verify` to know whether the records
can be trusted. Table output escapes control characters and bidi overrides, so that
a record cannot draw lines on the terminal; JSON Lines prints the records as
written.

Exit status: 0 when records were found, 1 when none matched, 2 for usage or I/O
errors (a line that is not a record is reported on standard error and skipped).";

/// How `audit query` prints records.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Format {
    /// A table: time, seq, action, outcome, actor, resource (escaped).
    Table,
    /// One record per line, as written in the trail.
    Jsonl,
    /// One JSON array of the records.
    Json,
    /// CSV: ts, seq, action, outcome, actor, resource, request_id, category.
    Csv,
}

/// The arguments of `audit query`.
#[derive(Args)]
pub(crate) struct QueryArgs {
    /// The stream directory.
    dir: PathBuf,
    #[command(flatten)]
    filters: Filters,
    /// Records at or after this time (RFC 3339, or a date).
    #[arg(long, value_parser = crate::parse_time)]
    from: Option<Timestamp>,
    /// Records at or before this time (a date means the end of that day).
    #[arg(long, value_parser = crate::parse_time_end)]
    to: Option<Timestamp>,
    /// Only the last N matching records.
    #[arg(long, value_name = "N", conflicts_with = "limit")]
    last: Option<u64>,
    /// At most N records, the first that match.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// How to print them.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

/// The arguments of `audit tail`.
#[derive(Args)]
pub(crate) struct TailArgs {
    /// The stream directory.
    dir: PathBuf,
    #[command(flatten)]
    filters: Filters,
    /// How many of the last matching records to print first.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 10)]
    lines: u64,
    /// Keep printing matching records as they are written, across rotations,
    /// until interrupted.
    #[arg(short, long)]
    follow: bool,
    /// How to print them.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

/// The filters `audit query` and `audit tail` share.
#[derive(Args)]
pub(crate) struct Filters {
    /// An action name or glob (`pool.*`); repeatable.
    #[arg(long)]
    action: Vec<String>,
    /// A category; repeatable.
    #[arg(long)]
    category: Vec<String>,
    /// An actor id; repeatable.
    #[arg(long)]
    actor: Vec<String>,
    /// An outcome (success, failure, denied, panic, unknown); repeatable.
    #[arg(long)]
    outcome: Vec<String>,
    /// A resource; repeatable.
    #[arg(long)]
    resource: Vec<String>,
    /// An organisation id; repeatable.
    #[arg(long)]
    org: Vec<String>,
    /// A project id; repeatable.
    #[arg(long)]
    project: Vec<String>,
    /// A request id; repeatable.
    #[arg(long = "request-id")]
    request_id: Vec<String>,
}

impl Filters {
    fn query(self) -> Query {
        let mut q = Query::new();
        q.actions = self.action;
        q.categories = self.category;
        q.actors = self.actor;
        q.outcomes = self.outcome;
        q.resources = self.resource;
        q.orgs = self.org;
        q.projects = self.project;
        q.request_ids = self.request_id;
        q
    }
}

/// Runs `audit query`.
pub(crate) fn query(args: QueryArgs) -> ExitCode {
    if !args.dir.is_dir() {
        eprintln!(
            "audit query: expected a stream directory, found no directory at {}",
            terminal_safe(&args.dir.display().to_string())
        );
        return ExitCode::from(2);
    }
    let stream = match Stream::open(&args.dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("audit query: {}", terminal_safe(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    let mut q = args.filters.query();
    q.from = args.from;
    q.to = args.to;
    q.last = args.last;
    q.limit = args.limit;
    let mut out = std::io::stdout().lock();
    let mut printer = Printer {
        format: args.format,
        found: 0,
    };
    for r in q.run(&stream) {
        let printed = match r {
            Ok(r) => printer.print(&mut out, &r),
            Err(e) => {
                eprintln!("audit query: {}", terminal_safe(&e.to_string()));
                Ok(())
            }
        };
        if let Err(e) = printed {
            // A closed pipe (`| head`) is the reader's choice.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("audit query: cannot write: {e}");
            return ExitCode::from(2);
        }
    }
    if matches!(args.format, Format::Json) {
        let closing: &[u8] = if printer.found == 0 {
            b"[]\n"
        } else {
            b"\n]\n"
        };
        let _ = out.write_all(closing);
    }
    if printer.found == 0 {
        eprintln!("audit query: no record matched");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// Prints records in one format, counting them.
struct Printer {
    format: Format,
    found: u64,
}

impl Printer {
    fn print(&mut self, out: &mut impl std::io::Write, r: &Record) -> std::io::Result<()> {
        let first = self.found == 0;
        self.found += 1;
        match self.format {
            Format::Jsonl => {
                out.write_all(&r.raw)?;
                out.write_all(b"\n")
            }
            Format::Json => {
                out.write_all(if first { b"[\n" } else { b",\n" })?;
                out.write_all(&r.raw)
            }
            Format::Table | Format::Csv => {
                let v = r.json().unwrap_or_default();
                let get = |path: &[&str]| -> String {
                    let mut at = &v;
                    for p in path {
                        at = &at[p];
                    }
                    at.as_str().unwrap_or_default().to_owned()
                };
                if matches!(self.format, Format::Csv) {
                    if first {
                        writeln!(
                            out,
                            "ts,seq,action,outcome,actor,resource,request_id,category"
                        )?;
                    }
                    let cells = [
                        get(&["ts"]),
                        r.seq.to_string(),
                        get(&["action"]),
                        get(&["outcome"]),
                        get(&["actor", "id"]),
                        get(&["resource"]),
                        get(&["request_id"]),
                        get(&["category"]),
                    ];
                    let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
                    writeln!(out, "{}", line.join(","))
                } else {
                    if first {
                        writeln!(
                            out,
                            "{:<27} {:>8}  {:<28} {:<8} {:<20} RESOURCE",
                            "TIME", "SEQ", "ACTION", "OUTCOME", "ACTOR"
                        )?;
                    }
                    writeln!(
                        out,
                        "{:<27} {:>8}  {:<28} {:<8} {:<20} {}",
                        terminal_safe(&get(&["ts"])),
                        r.seq,
                        terminal_safe(&get(&["action"])),
                        terminal_safe(&get(&["outcome"])),
                        terminal_safe(&get(&["actor", "id"])),
                        terminal_safe(&get(&["resource"]))
                    )
                }
            }
        }
    }
}

pub(crate) const TAIL_HELP: &str = "\
Print the last matching event records of a stream directory (10 by default, -n N),
and with --follow keep printing new ones as the service writes them, across
rotations, until interrupted. The filters are those of `audit query`; JSON output is
JSON Lines (one record per line) so that it can be followed.

Exit status: 0, or 2 for usage or I/O errors.";

/// Runs `audit tail`.
pub(crate) fn tail(args: TailArgs) -> ExitCode {
    if !args.dir.is_dir() {
        eprintln!(
            "audit tail: expected a stream directory, found no directory at {}",
            terminal_safe(&args.dir.display().to_string())
        );
        return ExitCode::from(2);
    }
    let format = match args.format {
        Format::Json => Format::Jsonl,
        f => f,
    };
    let mut printer = Printer { format, found: 0 };
    let q = args.filters.query();
    let mut out = std::io::stdout().lock();
    // The next seq to look at: records below it were printed or passed over.
    let mut next = 0u64;
    let mut first = true;
    loop {
        let stream = match Stream::open(&args.dir) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("audit tail: {}", terminal_safe(&e.to_string()));
                return ExitCode::from(2);
            }
        };
        let from = stream
            .segments()
            .iter()
            .rposition(|s| s.first_seq <= next)
            .unwrap_or(0);
        let mut q = q.clone();
        if first {
            q.last = Some(args.lines);
        }
        let matched: Vec<Record> = q
            .run_segments(&stream, from..stream.segments().len())
            .filter_map(std::result::Result::ok)
            .filter(|r| first || r.seq >= next)
            .collect();
        let high = stream
            .records_of(from..stream.segments().len())
            .filter_map(std::result::Result::ok)
            .map(|r| r.seq + 1)
            .max();
        for r in &matched {
            if let Err(e) = printer.print(&mut out, r).and_then(|()| out.flush()) {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
                eprintln!("audit tail: cannot write: {e}");
                return ExitCode::from(2);
            }
        }
        next = high.unwrap_or(next).max(next);
        first = false;
        if !args.follow {
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// A CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break;
/// a cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first)
/// is prefixed with `'`.
fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}
