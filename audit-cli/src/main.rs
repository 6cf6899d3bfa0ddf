//! `audit`: the operator's command for tracing-audit streams.
//!
//! Exit status of `audit verify`: 0 when the trail is intact and its end proven, 1
//! when tampering or corruption was found, 2 for usage or I/O errors (including a
//! directory with no segment at all, and a key other than the trail's), 3 when the
//! records are intact but the end of the trail is not proven, 4 when the records are
//! intact and the end proven but `--max-gap` found a time gap.

mod hash;
mod prove;
mod query;
mod summary;
mod witness;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tracing_audit_cli::terminal_safe;

use std::io::Write as _;
use tracing_audit_core::note::{SignatureType, SigningKey, VerifierKey};
use tracing_audit_core::{End, Key, Report, Timestamp, VerifyOptions, verify_dir};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "audit",
    version,
    about = "Verify and manage tamper-evident audit trails"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a stream directory: hashes, MACs, prev links, gapless seq, segment
    /// order, and whether the end of the trail is proven.
    ///
    /// Exit status:
    ///   0  intact, and the end proven: the newest segment is sealed by its writer,
    ///      or a live writer holds the stream's lock ("open");
    ///   1  tampering or corruption found;
    ///   2  usage or I/O error (also: no segment in DIR at all, a key other than the
    ///      trail's, --from after --to);
    ///   3  records intact, end not proven: the newest segment is unsealed, or sealed
    ///      for a rotation whose next segment is missing, and no writer holds the
    ///      lock, so records may have been cut off the end (deleted segments, cut
    ///      lines). Not a finding of tampering: the records present verify, but
    ///      nothing shows that the trail was not cut.
    ///   4  records intact and end proven, but --max-gap found a period longer than
    ///      DURATION without any record, not even a heartbeat checkpoint (a time
    ///      gap: the service or its writer was down or stalled, or checkpoints are
    ///      off). Not a finding of tampering: a record deleted from the middle is a
    ///      seq_gap (exit 1). Exit 1 and 3 take precedence over 4; the report and
    ///      the summary still list the gaps.
    ///
    /// A --from/--to window that holds no record says so ("no record in the
    /// window"); the exit status is still that of the segments verified.
    ///
    /// Scheduled verification (cron, a systemd timer):
    ///   audit verify DIR --key-file K --lookback-days 1 --max-gap 15m --summary
    /// verifies the segments holding the last day's records, linked to the record
    /// before them, and prints one line: `OK trail DIR: …`, `WARN trail DIR: …`
    /// (exit 3 or 4) or `FAIL trail DIR: …` with the first failure.
    #[command(verbatim_doc_comment)]
    Verify {
        /// The stream directory (one service's trail).
        dir: PathBuf,
        /// The HMAC key file (64 hex characters, mode 0600). Without it MACs are not
        /// checked and a forger who recomputes SHA-256 goes unnoticed.
        #[arg(long, env = "AUDIT_HMAC_KEY_FILE")]
        key_file: Option<PathBuf>,
        /// Verify segments that may hold records at or after this time (RFC 3339 or
        /// a date such as 2026-11-23).
        #[arg(long, value_parser = parse_time)]
        from: Option<Timestamp>,
        /// Verify segments that may hold records at or before this time; a date
        /// means the end of that day.
        #[arg(long, value_parser = parse_time_end)]
        to: Option<Timestamp>,
        /// Print one JSON object instead of the text report.
        #[arg(long)]
        json: bool,
        /// The checkpoint signer's verifier key (`FILE.pub` of `audit keygen
        /// --signing FILE`): checks the signatures of the trail's checkpoints and of
        /// --checkpoint.
        #[arg(long, value_name = "FILE")]
        pubkey: Option<PathBuf>,
        /// A checkpoint copied out of the host (needs --pubkey): the trail must
        /// extend it. Finds records cut off the end (truncated), history rewritten
        /// (checkpoint_mismatch) and a directory rolled back or forked (inconsistent).
        #[arg(long, value_name = "FILE", requires = "pubkey")]
        checkpoint: Option<PathBuf>,
        /// A witness's verifier key: --checkpoint must carry its cosignature
        /// (repeatable).
        #[arg(long = "witness-key", value_name = "FILE", requires = "checkpoint")]
        witness_keys: Vec<PathBuf>,
        /// Verify only the records of the last N days (a window from now − N × 24 h),
        /// linked to the record before them: the segments that may hold them are
        /// verified in full, older segments are not read (but the last record of the
        /// one before).
        #[arg(
            long,
            value_name = "N",
            env = "AUDIT_VERIFY_LOOKBACK_DAYS",
            value_parser = clap::value_parser!(u32).range(1..=100_000),
            conflicts_with_all = ["from", "to", "last", "checkpoint"],
        )]
        lookback_days: Option<u32>,
        /// The end of the --lookback-days window instead of now: re-runs the
        /// scheduled check of that time (segments begun after it are not read).
        #[arg(long, value_name = "TIME", value_parser = parse_time, requires = "lookback_days")]
        as_of: Option<Timestamp>,
        /// Verify only the last N records (the segments holding them, in full),
        /// linked to the record before them.
        #[arg(
            long,
            value_name = "N",
            value_parser = clap::value_parser!(u64).range(1..),
            conflicts_with_all = ["from", "to", "checkpoint"],
        )]
        last: Option<u64>,
        /// Report every period longer than DURATION (`15m`, `1h 30m`) between the
        /// timestamps of two consecutive records read: a time gap (exit 4).
        #[arg(long, value_name = "DURATION", value_parser = parse_gap)]
        max_gap: Option<Duration>,
        /// Print one line fit for cron and alerting instead of the report:
        /// `OK|WARN|FAIL trail DIR: N records in window, end …` (FAIL with the first
        /// failure, WARN for exit 3 and 4 with the reason and the first time gap).
        #[arg(long, conflicts_with = "json")]
        summary: bool,
    },
    /// Write a new random HMAC key to FILE and the verifier's copy to
    /// FILE.verifier (both mode 0600; refuses to overwrite), or with --signing an
    /// Ed25519 checkpoint signing key to FILE (0600) and its verifier key to
    /// FILE.pub.
    ///
    /// The writer replaces FILE with each new key epoch's key; FILE.verifier keeps
    /// the initial key, from which every epoch's key is derived: move it off the
    /// host (it is what `audit verify --key-file` needs to check every record).
    #[command(verbatim_doc_comment)]
    Keygen {
        /// Where to write the key.
        file: PathBuf,
        /// Write an Ed25519 signing key for checkpoints instead of an HMAC key.
        #[arg(long)]
        signing: bool,
        /// The signer name in checkpoint signatures (with --signing; default: the
        /// host name, or `audit`).
        #[arg(long, requires = "signing")]
        name: Option<String>,
    },
    /// Check or list an action catalog (see docs/CATALOG.md).
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Print a proof that a record is in a signed checkpoint, or that one
    /// checkpoint extends another.
    #[command(long_about = prove::PROVE_HELP)]
    Prove(prove::ProveArgs),
    /// Check a proof printed by `audit prove` with the log's verifier key.
    #[command(long_about = prove::VERIFY_PROOF_HELP)]
    VerifyProof(prove::VerifyProofArgs),
    /// Witness a log: cosign its checkpoints only when consistent with those
    /// cosigned before.
    #[command(subcommand)]
    Witness(witness::WitnessCommand),
    /// Print the keyed fingerprint of a value, as the layer writes it in place of
    /// a redacted value: to search a trail for a secret without storing it.
    #[command(long_about = hash::HASH_HELP)]
    Hash(hash::HashArgs),
    /// Find event records by action (globs such as `pool.*`), actor, outcome,
    /// resource, tenancy, request id and time.
    #[command(long_about = query::QUERY_HELP)]
    Query(query::QueryArgs),
    /// Print the last matching records, and with --follow the new ones as they
    /// are written.
    #[command(long_about = query::TAIL_HELP)]
    Tail(query::TailArgs),
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Check a catalog file; exit 0 when valid, 1 with the file, line and problem
    /// when not, 2 when it cannot be read.
    Check {
        /// The catalog file.
        file: PathBuf,
    },
    /// List the actions of a catalog (the default catalog when FILE is `-`).
    List {
        /// The catalog file, or `-` for the catalog shipped with tracing-audit.
        file: PathBuf,
        /// Print JSON Lines (one action per line) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn load_catalog(file: &std::path::Path) -> Result<tracing_audit_catalog::Catalog, ExitCode> {
    if file.as_os_str() == "-" {
        return Ok(tracing_audit_catalog::Catalog::default_catalog());
    }
    let text = std::fs::read_to_string(file).map_err(|e| {
        eprintln!("audit catalog: cannot read {}: {e}", file.display());
        ExitCode::from(2)
    })?;
    tracing_audit_catalog::Catalog::parse(&text, &file.display().to_string()).map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(1)
    })
}

fn catalog(cmd: CatalogCommand) -> ExitCode {
    match cmd {
        CatalogCommand::Check { file } => match load_catalog(&file) {
            Ok(c) => {
                println!("{}: valid, {} actions", file.display(), c.actions.len());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        CatalogCommand::List { file, json } => {
            let c = match load_catalog(&file) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let mut out = std::io::stdout().lock();
            for a in c.actions.values() {
                let line = if json {
                    let v = serde_json::json!({
                        "action": a.name, "category": a.category,
                        "severity": a.severity.as_str(), "description": a.description,
                        "required": a.required, "sensitive": a.sensitive,
                        "requires_justification": a.requires_justification,
                        "durable": a.durable,
                    });
                    v.to_string()
                } else {
                    let mut flags = Vec::new();
                    if !a.required.is_empty() {
                        flags.push(format!("requires {}", a.required.join(", ")));
                    }
                    if !a.sensitive.is_empty() {
                        flags.push(format!("redacts {}", a.sensitive.join(", ")));
                    }
                    if a.requires_justification {
                        flags.push("justification".into());
                    }
                    if a.durable {
                        flags.push("durable".into());
                    }
                    format!(
                        "{:<40} {:<11} {:<8} {}{}",
                        a.name,
                        a.category,
                        a.severity.as_str(),
                        a.description,
                        if flags.is_empty() {
                            String::new()
                        } else {
                            format!(" [{}]", flags.join("; "))
                        }
                    )
                };
                if let Err(e) = writeln!(out, "{line}") {
                    // A closed pipe (`| head`) is the reader's choice, not an error.
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        return ExitCode::SUCCESS;
                    }
                    eprintln!("audit catalog list: cannot write the list: {e}");
                    return ExitCode::from(2);
                }
            }
            ExitCode::SUCCESS
        }
    }
}

pub(crate) fn parse_time(s: &str) -> Result<Timestamp, String> {
    Timestamp::parse(s).map_err(|e| e.to_string())
}

fn parse_gap(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("expected a duration greater than zero, found zero".to_owned());
    }
    Ok(d)
}

pub(crate) fn parse_time_end(s: &str) -> Result<Timestamp, String> {
    let t = Timestamp::parse(s).map_err(|e| e.to_string())?;
    let is_date = !s.contains('T') && !s.contains(' ');
    Ok(if is_date {
        Timestamp::from_unix_micros(t.unix_micros() + 86_400_000_000 - 1)
    } else {
        t
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Verify {
            dir,
            key_file,
            from,
            to,
            json,
            pubkey,
            checkpoint,
            witness_keys,
            lookback_days,
            as_of,
            last,
            max_gap,
            summary,
        } => {
            let (from, to) = match lookback_days {
                Some(days) => {
                    let end = as_of.unwrap_or_else(Timestamp::now);
                    let start = end
                        .unix_micros()
                        .saturating_sub(i64::from(days) * 86_400_000_000);
                    (Some(Timestamp::from_unix_micros(start)), as_of)
                }
                None => (from, to),
            };
            let key = match key_file.as_deref().map(Key::from_file).transpose() {
                Ok(k) => k,
                Err(e) => return usage_error(&e),
            };
            let pubkey = match pubkey.as_deref().map(VerifierKey::from_file).transpose() {
                Ok(k) => k,
                Err(e) => return usage_error(&e),
            };
            let mut witnesses = Vec::new();
            for w in &witness_keys {
                match VerifierKey::from_file(w) {
                    // The `.pub` of `audit keygen --signing` is the witness's key as
                    // a note signer; its cosignatures are checked as cosignature/v1.
                    Ok(k) if k.signature_type() == SignatureType::Ed25519 => {
                        match VerifierKey::new(
                            k.name(),
                            SignatureType::CosignatureV1,
                            &k.public_key(),
                        ) {
                            Ok(k) => witnesses.push(k),
                            Err(e) => return usage_error(&e),
                        }
                    }
                    Ok(k) => witnesses.push(k),
                    Err(e) => return usage_error(&e),
                }
            }
            if let Some(log) = &pubkey
                && witnesses.iter().any(|w| w.public_key() == log.public_key())
            {
                eprintln!(
                    "audit verify: expected a witness's key in --witness-key, found the log's own key (--pubkey): a log cannot witness itself"
                );
                return ExitCode::from(2);
            }
            if checkpoint.is_some() && (from.is_some() || to.is_some()) {
                eprintln!(
                    "audit verify: --checkpoint checks the whole trail against the checkpoint; expected no --from/--to with it, found a window"
                );
                return ExitCode::from(2);
            }
            let copied = match checkpoint.as_deref().map(read_note_file).transpose() {
                Ok(c) => c,
                Err(code) => return code,
            };
            if !dir.is_dir() {
                eprintln!(
                    "audit verify: expected a stream directory, found no directory at {}",
                    dir.display()
                );
                return ExitCode::from(2);
            }
            if let (Some(from), Some(to)) = (from, to)
                && from > to
            {
                eprintln!(
                    "audit verify: expected --from at or before --to, found --from {from} after --to {to}"
                );
                return ExitCode::from(2);
            }
            let key_id = key.as_ref().map(|k| k.id().to_owned());
            let mut opts = VerifyOptions::new();
            opts.key = key.clone();
            opts.from = from;
            opts.to = to;
            opts.pubkey = pubkey;
            opts.witnesses = witnesses;
            opts.checkpoint = copied;
            opts.last = last;
            opts.max_gap = max_gap;
            let report = match verify_dir(&dir, &opts) {
                Ok(r) => r,
                Err(e) => return usage_error(&e),
            };
            // A key other than the trail's: every MAC fails, and the open records
            // name another key id. Not tampering: say so (exit 2). When some MAC
            // verifies with the key given, a key id that differs was edited, and the
            // failures are reported as tampering.
            if let Some(k) = &key
                && !report.trail_key_ids.is_empty()
                && report.trail_key_ids.iter().all(|id| id != k.id())
                && report.records > 0
                && report.failures.len() as u64 == report.records
                && report
                    .failures
                    .iter()
                    .all(|f| f.kind == tracing_audit_core::FailureKind::MacMismatch)
            {
                let ids = report.trail_key_ids.join(", ");
                let written_with = terminal_safe(&ids);
                eprintln!(
                    "audit verify: this trail was written with key id {written_with}; the key given ({}) has key id {}: verify it with the trail's key",
                    key_file
                        .as_deref()
                        .map_or_else(String::new, |p| p.display().to_string()),
                    k.id()
                );
                return ExitCode::from(2);
            }
            if report.segments.is_empty()
                && report.skipped_segments == 0
                && report.failures.is_empty()
            {
                // Nothing is not an intact trail: a wrong path, or every segment gone.
                // (Entries named like segments that are not files are failures.)
                eprintln!(
                    "audit verify: no trail here: expected segment files (seg-<first seq>-<UTC time>.jsonl) in {}, found none",
                    dir.display()
                );
                return ExitCode::from(2);
            }
            let mut out = std::io::stdout().lock();
            let printed = if json {
                writeln!(out, "{}", tracing_audit_cli::report_json(&report))
            } else if summary {
                writeln!(out, "{}", summary::summary_line(&dir, &report))
            } else {
                print_text(&mut out, &dir, &report, key_id.as_deref(), (from, to))
            };
            // A closed pipe (`| head`) is the reader's choice; the exit status still
            // says whether the trail is intact.
            if let Err(e) = printed
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                eprintln!("audit verify: cannot write the report: {e}");
                return ExitCode::from(2);
            }
            if !report.ok() {
                ExitCode::from(1)
            } else if !report.end_proven() {
                ExitCode::from(3)
            } else if report.has_time_gaps() {
                ExitCode::from(4)
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Keygen {
            file,
            signing: true,
            name,
        } => {
            let name = name.unwrap_or_else(default_signer_name);
            match SigningKey::generate(&name).and_then(|k| {
                k.write_new_files(&file)?;
                Ok(k)
            }) {
                Ok(k) => {
                    println!(
                        "wrote a new Ed25519 signing key to {} and its verifier key to {}.pub:\n  {}\nFor a log: give its writer AUDIT_SIGNING_KEY_FILE={} and auditors the verifier key. For a witness: `audit witness add --key` it, and `audit witness key` it for verifiers.",
                        file.display(),
                        file.display(),
                        k.verifier(),
                        file.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => usage_error(&e),
            }
        }
        Command::Keygen { file, .. } => {
            let mut verifier = file.clone().into_os_string();
            verifier.push(".verifier");
            let verifier = PathBuf::from(verifier);
            let written = Key::generate().and_then(|k| {
                k.write_new_file(&verifier)?;
                if let Err(e) = k.write_new_file(&file) {
                    // Not half a pair: the verifier copy alone is of no use.
                    let _ = std::fs::remove_file(&verifier);
                    return Err(e);
                }
                Ok(k)
            });
            match written {
                Ok(k) => {
                    println!(
                        "wrote a new key (key id {}) to {} (the writer's: it replaces the file with each new key epoch's key) and its verifier copy to {} (the initial key: keep it off the host; `audit verify --key-file` needs it to check every epoch)",
                        k.id(),
                        file.display(),
                        verifier.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => usage_error(&e),
            }
        }
        Command::Catalog(cmd) => catalog(cmd),
        Command::Prove(args) => prove::prove(args),
        Command::VerifyProof(args) => prove::verify_proof(args),
        Command::Witness(cmd) => witness::witness(cmd),
        Command::Hash(args) => hash::hash(args),
        Command::Query(args) => query::query(args),
        Command::Tail(args) => query::tail(args),
    }
}

/// The signer name `audit keygen --signing` uses by default: the host name (as
/// the kernel reports it), or `audit`.
fn default_signer_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && !h.contains(['+', ' ']))
        .unwrap_or_else(|| "audit".to_owned())
}

/// Reads a signed note (a checkpoint) given on the command line: a regular file
/// of at most 1 MiB, as text. Returns its name and text.
fn read_note_file(path: &std::path::Path) -> Result<(String, String), ExitCode> {
    use std::io::Read as _;
    let fail = |what: String| {
        eprintln!(
            "audit: {}: {}",
            terminal_safe(&path.display().to_string()),
            terminal_safe(&what)
        );
        ExitCode::from(2)
    };
    // Opened without blocking (a FIFO would hang a plain open) and checked on the
    // open file.
    let file = {
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| fail(format!("cannot read: {e}")))?
    };
    let meta = file
        .metadata()
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(fail("expected a regular file".to_owned()));
    }
    let mut bytes = Vec::new();
    file.take(tracing_audit_core::note::MAX_NOTE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    if bytes.len() > tracing_audit_core::note::MAX_NOTE_BYTES {
        return Err(fail(format!(
            "expected a signed note of at most {} bytes, found a larger file",
            tracing_audit_core::note::MAX_NOTE_BYTES
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        fail("expected a signed note (UTF-8 text), found binary content".to_owned())
    })?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok((name, text))
}

fn usage_error(e: &tracing_audit_core::Error) -> ExitCode {
    eprintln!("audit: {}", terminal_safe(&e.to_string()));
    ExitCode::from(2)
}

fn print_text(
    out: &mut impl std::io::Write,
    dir: &std::path::Path,
    report: &Report,
    key_id: Option<&str>,
    (from, to): (Option<Timestamp>, Option<Timestamp>),
) -> std::io::Result<()> {
    // Everything read from the trail (or named by it) goes through `terminal_safe`.
    writeln!(
        out,
        "Verifying {}",
        terminal_safe(&dir.display().to_string())
    )?;
    match key_id {
        Some(id) => writeln!(out, "  MACs checked with key id {id}")?,
        None => writeln!(
            out,
            "  WARNING: no key given (--key-file): MACs NOT checked; hashes, links and order only"
        )?,
    }
    if let Some(stream) = &report.stream {
        writeln!(
            out,
            "  stream {} of service {}",
            terminal_safe(stream),
            terminal_safe(report.service.as_deref().unwrap_or("?"))
        )?;
    }
    if report.macs_unchecked > 0 {
        writeln!(
            out,
            "  WARNING: {} record(s) of key epochs before the key given: their MACs NOT checked (give the initial key, FILE.verifier of `audit keygen`)",
            report.macs_unchecked
        )?;
    }
    if report.checkpoint_records > 0 {
        if report.signatures_checked == report.checkpoint_records {
            writeln!(
                out,
                "  {} checkpoint(s) in the trail, every signature checked",
                report.checkpoint_records
            )?;
        } else {
            writeln!(
                out,
                "  {} checkpoint(s) in the trail, roots checked, signatures NOT checked (give --pubkey)",
                report.checkpoint_records
            )?;
        }
    }
    if let Some(size) = report.checkpoint_verified {
        writeln!(
            out,
            "  the trail extends the checkpoint given ({size} records, signature checked)"
        )?;
    }
    if report.skipped_segments > 0 {
        writeln!(
            out,
            "  {} segment(s) outside the time window skipped",
            report.skipped_segments
        )?;
    }
    for seg in &report.segments {
        let range = match (seg.first_seq, seg.last_seq) {
            (Some(a), Some(b)) => format!("seq {a}..={b}"),
            _ => "no records".to_owned(),
        };
        let state = if seg.sealed { "sealed" } else { "open" };
        if seg.failures == 0 {
            writeln!(
                out,
                "{}  valid    ({} records, {range}, {state})",
                terminal_safe(&seg.file),
                seg.records
            )?;
        } else {
            writeln!(
                out,
                "{}  INVALID  ({} records, {range}, {state}, {} failure(s))",
                terminal_safe(&seg.file),
                seg.records,
                seg.failures
            )?;
            for f in report
                .failures
                .iter()
                .filter(|f| f.file == seg.file)
                .take(20)
            {
                writeln!(
                    out,
                    "    line {}{}: {}: {}",
                    f.line,
                    f.seq.map(|s| format!(" seq {s}")).unwrap_or_default(),
                    f.kind.as_str(),
                    terminal_safe(&f.detail)
                )?;
            }
            if seg.failures > 20 {
                writeln!(out, "    … {} more (use --json for all)", seg.failures - 20)?;
            }
        }
    }
    // Failures of a copied checkpoint (its signature, a witness's cosignature, or
    // a copy that does not parse), named by the checkpoint's file.
    for f in report
        .failures
        .iter()
        .filter(|f| !report.segments.iter().any(|s| s.file == f.file))
    {
        writeln!(
            out,
            "{}  INVALID: {}: {}",
            terminal_safe(&f.file),
            f.kind.as_str(),
            terminal_safe(&f.detail)
        )?;
    }
    for g in report.time_gaps.iter().take(20) {
        writeln!(out, "TIME GAP: {}", summary::describe_gap(g))?;
    }
    if report.time_gaps_found > 20 {
        writeln!(
            out,
            "  … {} more time gap(s) (use --json for all)",
            report.time_gaps_found - 20
        )?;
    }
    if report.write_in_progress {
        writeln!(
            out,
            "  note: the newest segment ends in a write in progress (a live writer holds the lock)"
        )?;
    }
    let valid = report.segments.iter().filter(|s| s.failures == 0).count();
    writeln!(out)?;
    writeln!(
        out,
        "Results: {} record(s) in {} segment(s): {valid} valid, {} INVALID",
        report.records,
        report.segments.len(),
        report.segments.len() - valid
    )?;
    if report.records_in_window == Some(0) {
        let window = match (from, to) {
            (Some(from), Some(to)) => format!("from {from} to {to}"),
            (Some(from), None) => format!("at or after {from}"),
            (None, Some(to)) => format!("at or before {to}"),
            (None, None) => "given".to_owned(),
        };
        writeln!(
            out,
            "No record in the window ({window}): the {} segment(s) overlapping it hold none; they were verified all the same.",
            report.segments.len()
        )?;
    }
    let end = match &report.end {
        End::NotProven { reason } => format!("not proven: {}", terminal_safe(reason)),
        End::LiveWriter => {
            "open (a writer is live): records written after this check are not covered".to_owned()
        }
        _ => "sealed by its writer".to_owned(),
    };
    match report.first_failure() {
        None if !report.end_proven() => writeln!(out, "Records intact; end {end}.")?,
        None if report.has_time_gaps() => {
            writeln!(out, "End: {end}.")?;
            writeln!(
                out,
                "Records intact; {} TIME GAP(S) without any record.",
                report.time_gaps_found
            )?;
        }
        None => {
            writeln!(out, "End: {end}.")?;
            writeln!(out, "Trail intact.")?;
        }
        Some(f) => {
            writeln!(out, "End: {end}.")?;
            writeln!(
                out,
                "TAMPERING OR CORRUPTION FOUND: {} failure(s); first at {} line {}{} ({})",
                report.failures.len(),
                terminal_safe(&f.file),
                f.line,
                f.seq.map(|s| format!(" seq {s}")).unwrap_or_default(),
                f.kind.as_str()
            )?;
        }
    }
    Ok(())
}
