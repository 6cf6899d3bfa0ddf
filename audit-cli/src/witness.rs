//! `audit witness`: a C2SP tlog-witness run from the command line
//! ([`tracing_audit_core::witness`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tracing_audit_cli::terminal_safe;
use tracing_audit_core::note::{ConsistencyRequest, MAX_PROOF_BYTES, SigningKey, VerifierKey};
use tracing_audit_core::witness::spool::{self, MAX_REQUEST_BYTES, REQUEST_SUFFIX, SpoolName};
use tracing_audit_core::witness::{Refusal, Verdict, WitnessStore};

use crate::prove::{Exit, fail, print_out, read_text, to_hex};

/// `audit witness add`'s help after its one-line summary.
pub const ADD_HELP: &str = "\
Act as a witness (c2sp.org/tlog-witness) for one add-checkpoint request: cosign the
log's new checkpoint if, and only if, it is consistent with every checkpoint of that
log this witness cosigned before. REQUEST (default `-`, standard input) is what
`audit prove DIR --consistency OLD NEW` prints:

  old <size of the checkpoint the witness cosigned last; 0 for a new log>
  <base64 hash>...          the consistency proof
  <empty line>
  <the new signed checkpoint note>

Checks, in order: the log's signature on the new checkpoint (--log-key); with no
state for the log's origin, `old` must be 0 (the first checkpoint is trusted on
first use, and said so); a checkpoint smaller than the one cosigned last is a
rollback, one of the same size with another root a fork, both refused; `old` must be
the size cosigned last; the consistency proof must verify. Then the checkpoint is
cosigned (cosignature/v1, timestamped now), stored as the origin's state and printed
on stdout with the cosignature line added. A rollback or a fork is never cosigned.

The state (--state DIR, created with mode 0700) holds one file per origin, named by
the hex SHA-256 of the origin: the line `tracing-audit witness state v1` and the
cosigned checkpoint note. It is replaced atomically (temp file, fsync, rename,
directory fsync) and checked on every read (origin, and this witness's own
cosignature). DIR/.lock serializes witnesses sharing DIR.

Exit status:
  0  cosigned: the cosigned checkpoint note is on stdout;
  1  refused: the log's signature does not verify (a checkpoint signed by another
     key, or altered), or the consistency proof does not verify;
  2  usage or I/O error: a key or request file that cannot be read or does not
     parse, a state file that is not this witness's, the state locked for over 10 s;
  3  refused, evidence against the log: a rollback or a fork (keep the request: it
     carries the log's signature);
  4  conflict: `old` is not the size this witness cosigned last; that size is
     printed on stdout (one decimal line, as the specification's 409 body): build
     the request again from that checkpoint.";

/// `audit witness serve`'s help after its one-line summary.
pub const SERVE_HELP: &str = "\
Answer the add-checkpoint requests that writers leave in a spool directory DIR
(their AUDIT_WITNESS_SPOOL, on a mount that both hosts reach), each exactly as
`audit witness add` with this --state, --key and --log-key would: the log host
writes requests, the witness host alone names the state and the key.

Files in DIR (any other name is ignored, those starting with `.` included):
  <id>.<n>.request  written by a writer: an add-checkpoint request (what `audit
                    witness add` reads, at most 2 MiB); <id> is the 64 hexadecimal
                    digits of SHA-256 of the log's origin, <n> a decimal number that
                    increases with each request of that log;
  <id>.<n>.answer   written here: on its first line the exit status `audit witness
                    add` gives the request (0 cosigned, 1 refused, 2 not a request
                    or an I/O error, 3 a rollback or a fork, 4 a conflict), then what
                    it prints on stdout (the cosigned note; the size held, for 4).

Requests are answered in order of <n> for each log. A request whose checkpoint is
not of the log its <id> names, that is not a regular file (a symbolic link is not
followed, a FIFO not waited on), or that is larger than 2 MiB is answered 2. Each
answer is written atomically (a temporary file `.<name>.new`, fsync, rename,
directory fsync), then the request is removed; one that cannot be removed (a
directory) is skipped, said once; one already answered (the witness stopped in
between) is removed, not answered again. Every answer is logged on standard error.

Without --once it looks at DIR every 200 ms until SIGTERM or SIGINT (the request
in hand is finished first). With --once it answers the requests present and exits.

Exit status:
  0  stopped by SIGTERM or SIGINT, or --once done;
  2  usage or I/O error: a key that cannot be read, the log's key as --key, DIR
     not a directory (with --once: DIR cannot be listed).";

/// The `audit witness` subcommands.
#[derive(clap::Subcommand)]
pub enum WitnessCommand {
    /// Cosign a log's checkpoint if it is consistent with all cosigned before.
    #[command(long_about = ADD_HELP)]
    Add(AddArgs),
    /// Answer the add-checkpoint requests in a spool directory, as `witness add`.
    #[command(long_about = SERVE_HELP)]
    Serve(ServeArgs),
    /// Print the witness's cosignature verifier key, for --witness-key.
    ///
    /// The cosignature/v1 verifier key (type 0x04) of the witness's signing key
    /// FILE (`audit keygen --signing FILE`), on one line: what `audit verify
    /// --witness-key` and `audit verify-proof --witness-key` take. Exit 0, or 2 when
    /// FILE is not a signing key.
    Key {
        /// The witness's signing key file.
        file: PathBuf,
    },
}

/// The witness's own files, named on its command line.
#[derive(clap::Args)]
pub struct WitnessArgs {
    /// The witness's state directory.
    #[arg(long, value_name = "DIR")]
    state: PathBuf,
    /// The witness's signing key (`audit keygen --signing FILE`; not the log's).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The log's verifier key (`FILE.pub` of the log's `audit keygen --signing FILE`).
    #[arg(long, value_name = "FILE")]
    log_key: PathBuf,
}

/// The arguments of `audit witness add`.
#[derive(clap::Args)]
pub struct AddArgs {
    #[command(flatten)]
    witness: WitnessArgs,
    /// The request file, or `-` for standard input.
    #[arg(default_value = "-")]
    request: PathBuf,
}

/// The arguments of `audit witness serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// The spool directory the writers' requests arrive in.
    #[arg(long, value_name = "DIR")]
    spool: PathBuf,
    #[command(flatten)]
    witness: WitnessArgs,
    /// Answer the requests present, then exit.
    #[arg(long)]
    once: bool,
}

const ADD: &str = "witness add";
const SERVE: &str = "witness serve";

/// How often `witness serve` looks at the spool.
const SERVE_POLL: Duration = Duration::from_millis(200);

/// `audit witness`.
pub fn witness(cmd: WitnessCommand) -> ExitCode {
    let result = match cmd {
        WitnessCommand::Add(args) => add(&args),
        WitnessCommand::Serve(args) => serve(&args),
        WitnessCommand::Key { file } => key(&file),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Exit(code)) => code,
    }
}

fn key(file: &Path) -> Result<(), Exit> {
    let k = SigningKey::from_file(file).map_err(|e| fail("witness key", 2, &e.to_string()))?;
    print_out("witness key", &format!("{}\n", k.cosignature_verifier()))
}

/// A witness: its state directory, its key, and the log's key.
struct Witness {
    state: PathBuf,
    key: SigningKey,
    log: VerifierKey,
}

impl Witness {
    fn load(cmd: &str, args: &WitnessArgs) -> Result<Witness, Exit> {
        Ok(Witness {
            state: args.state.clone(),
            key: SigningKey::from_file(&args.key).map_err(|e| fail(cmd, 2, &e.to_string()))?,
            log: VerifierKey::from_file(&args.log_key).map_err(|e| fail(cmd, 2, &e.to_string()))?,
        })
    }
}

/// What `audit witness add` makes of one request: its exit status, what it
/// prints on standard output, and its message for standard error (not yet made
/// terminal-safe).
struct Outcome {
    status: u8,
    stdout: String,
    message: String,
}

impl Outcome {
    fn refused(status: u8, message: String) -> Outcome {
        Outcome {
            status,
            stdout: String::new(),
            message,
        }
    }
}

/// Answers the add-checkpoint request `text` (named `shown` in messages): the
/// one definition of what `witness add` and `witness serve` do with a request.
/// With `origin_id`, the request's checkpoint must be of that log.
fn answer(w: &Witness, text: &str, shown: &str, origin_id: Option<&str>) -> Outcome {
    let request = match ConsistencyRequest::parse(text) {
        Ok(r) => r,
        Err(e) => return Outcome::refused(2, format!("{shown}: {e}")),
    };
    if let Some(id) = origin_id {
        match request.checkpoint() {
            Ok(c) if spool::origin_id(&c.origin) == id => {}
            Ok(c) => {
                return Outcome::refused(
                    2,
                    format!(
                        "{shown}: expected a checkpoint of the log the name says, found one of {:?}",
                        c.origin
                    ),
                );
            }
            Err(e) => return Outcome::refused(2, format!("{shown}: {e}")),
        }
    }
    let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) else {
        return Outcome::refused(2, "the system clock is before 1970".to_owned());
    };
    let verdict = WitnessStore::open(&w.state)
        .and_then(|store| store.add_checkpoint(&request, &w.log, &w.key, now.as_secs()));
    match verdict {
        Err(e) => Outcome::refused(2, e.to_string()),
        Ok(Verdict::Cosigned { note, previous }) => {
            // The request's checkpoint parsed before it was cosigned.
            let (origin, size) = request
                .checkpoint()
                .map(|c| (c.origin, c.size))
                .unwrap_or_default();
            let message = match previous {
                None => format!(
                    "cosigned the first checkpoint of {origin} seen by this witness ({size} records), trusted on first use: nothing before it was checked"
                ),
                Some((old, root)) => format!(
                    "cosigned {origin} at {size} records, consistent with the {old} records (root {}) cosigned before",
                    to_hex(&root)
                ),
            };
            Outcome {
                status: 0,
                stdout: note.to_string(),
                message,
            }
        }
        Ok(Verdict::Refused(r)) => {
            let (status, stdout) = match &r {
                Refusal::Conflict { stored_size, .. } => (4, format!("{stored_size}\n")),
                Refusal::Rollback { .. } | Refusal::Fork { .. } => (3, String::new()),
                _ => (1, String::new()),
            };
            Outcome {
                status,
                stdout,
                message: format!("refused: {r}"),
            }
        }
    }
}

fn add(args: &AddArgs) -> Result<(), Exit> {
    let w = Witness::load(ADD, &args.witness)?;
    let text = read_text(
        ADD,
        &args.request,
        MAX_PROOF_BYTES,
        "an add-checkpoint request",
    )?;
    let outcome = answer(&w, &text, &args.request.display().to_string(), None);
    if !outcome.stdout.is_empty() {
        print_out(ADD, &outcome.stdout)?;
    }
    if outcome.status == 0 {
        eprintln!("audit {ADD}: {}", terminal_safe(&outcome.message));
        Ok(())
    } else {
        Err(fail(ADD, outcome.status, &outcome.message))
    }
}

fn serve(args: &ServeArgs) -> Result<(), Exit> {
    let w = Witness::load(SERVE, &args.witness)?;
    if w.key.verifier() == w.log {
        return Err(fail(
            SERVE,
            2,
            "expected a witness key other than the log's key (--log-key), found the log's own key: a log cannot witness itself",
        ));
    }
    let dir = &args.spool;
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(fail(
                SERVE,
                2,
                &format!(
                    "{}: expected a spool directory, found a file",
                    dir.display()
                ),
            ));
        }
        Err(e) => {
            return Err(fail(
                SERVE,
                2,
                &format!("{}: cannot use the spool directory: {e}", dir.display()),
            ));
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| fail(SERVE, 2, &format!("cannot handle signals: {e}")))?;
    }
    let mut skipped = HashSet::new();
    let mut last_error: Option<String> = None;
    loop {
        match serve_pass(dir, &w, &stop, &mut skipped) {
            Ok(()) => last_error = None,
            Err(e) if args.once => return Err(fail(SERVE, 2, &e)),
            // A shared mount may come back: said once, tried again.
            Err(e) => {
                if last_error.as_ref() != Some(&e) {
                    eprintln!("audit {SERVE}: {}", terminal_safe(&e));
                    last_error = Some(e);
                }
            }
        }
        if args.once || stop.load(Ordering::Relaxed) {
            break;
        }
        std::thread::sleep(SERVE_POLL);
        if stop.load(Ordering::Relaxed) {
            break;
        }
    }
    if stop.load(Ordering::Relaxed) {
        eprintln!("audit {SERVE}: stopped by a signal");
    }
    Ok(())
}

/// Answers every request in `dir`, in order of number for each log, but those
/// `skipped` (said before, and still there).
fn serve_pass(
    dir: &Path,
    w: &Witness,
    stop: &AtomicBool,
    skipped: &mut HashSet<String>,
) -> Result<(), String> {
    let listing = |e: std::io::Error| format!("{}: cannot list the spool: {e}", dir.display());
    let mut requests: Vec<(SpoolName, String)> = Vec::new();
    let mut present = HashSet::new();
    for entry in std::fs::read_dir(dir).map_err(listing)? {
        let entry = entry.map_err(listing)?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if let Some(parsed) = spool::parse_name(&name, REQUEST_SUFFIX) {
            present.insert(name.clone());
            if !skipped.contains(&name) {
                requests.push((parsed, name));
            }
        }
    }
    skipped.retain(|name| present.contains(name));
    requests.sort();
    for (parsed, name) in requests {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        serve_request(dir, w, &parsed, &name, skipped);
    }
    Ok(())
}

/// Answers the request `name` of `dir` and removes it; adds it to `skipped` when
/// it cannot be removed.
fn serve_request(
    dir: &Path,
    w: &Witness,
    parsed: &SpoolName,
    name: &str,
    skipped: &mut HashSet<String>,
) {
    let say = |m: &str| {
        eprintln!(
            "audit {SERVE}: {}: {}",
            terminal_safe(name),
            terminal_safe(m)
        )
    };
    let path = dir.join(name);
    let answer_name = spool::answer_name(&parsed.id, parsed.n);
    // Answered before a crash, not removed: the answer stands.
    if std::fs::symlink_metadata(dir.join(&answer_name)).is_ok_and(|m| m.is_file()) {
        say("already answered; the request is removed");
        remove_request(&path, skipped, name, &say);
        return;
    }
    let outcome = match spool::read_file(&path, MAX_REQUEST_BYTES) {
        // Taken back by its writer.
        Ok(None) => return,
        Ok(Some(bytes)) => match String::from_utf8(bytes) {
            Ok(text) => answer(w, &text, name, Some(&parsed.id)),
            Err(_) => Outcome::refused(
                2,
                "expected an add-checkpoint request (UTF-8 text), found binary content".to_owned(),
            ),
        },
        Err(e) => Outcome::refused(2, format!("expected an add-checkpoint request: {e}")),
    };
    say(&format!("answered {}: {}", outcome.status, outcome.message));
    let text = spool::format_answer(outcome.status, &outcome.stdout);
    if let Err(e) = spool::write_file(dir, &answer_name, text.as_bytes()) {
        say(&format!(
            "cannot write the answer ({e}); the request is skipped while it is there"
        ));
        skipped.insert(name.to_owned());
        return;
    }
    remove_request(&path, skipped, name, &say);
}

fn remove_request(path: &Path, skipped: &mut HashSet<String>, name: &str, say: &dyn Fn(&str)) {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            say(&format!(
                "cannot remove the request ({e}); it is skipped while it is there"
            ));
            skipped.insert(name.to_owned());
        }
    }
}
