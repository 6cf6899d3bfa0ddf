//! `audit witness`: a C2SP tlog-witness run from the command line
//! ([`tracing_audit_core::witness`]).

use std::path::PathBuf;
use std::process::ExitCode;

use tracing_audit_cli::terminal_safe;
use tracing_audit_core::note::{ConsistencyRequest, MAX_PROOF_BYTES, SigningKey, VerifierKey};
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

/// The `audit witness` subcommands.
#[derive(clap::Subcommand)]
pub enum WitnessCommand {
    /// Cosign a log's checkpoint if it is consistent with all cosigned before.
    #[command(long_about = ADD_HELP)]
    Add(AddArgs),
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

/// The arguments of `audit witness add`.
#[derive(clap::Args)]
pub struct AddArgs {
    /// The witness's state directory.
    #[arg(long, value_name = "DIR")]
    state: PathBuf,
    /// The witness's signing key (`audit keygen --signing FILE`; not the log's).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The log's verifier key (`FILE.pub` of the log's `audit keygen --signing FILE`).
    #[arg(long, value_name = "FILE")]
    log_key: PathBuf,
    /// The request file, or `-` for standard input.
    #[arg(default_value = "-")]
    request: PathBuf,
}

const ADD: &str = "witness add";

/// `audit witness`.
pub fn witness(cmd: WitnessCommand) -> ExitCode {
    let result = match cmd {
        WitnessCommand::Add(args) => add(&args),
        WitnessCommand::Key { file } => key(&file),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Exit(code)) => code,
    }
}

fn key(file: &std::path::Path) -> Result<(), Exit> {
    let k = SigningKey::from_file(file).map_err(|e| fail("witness key", 2, &e.to_string()))?;
    print_out("witness key", &format!("{}\n", k.cosignature_verifier()))
}

fn add(args: &AddArgs) -> Result<(), Exit> {
    let witness = SigningKey::from_file(&args.key).map_err(|e| fail(ADD, 2, &e.to_string()))?;
    let log = VerifierKey::from_file(&args.log_key).map_err(|e| fail(ADD, 2, &e.to_string()))?;
    let text = read_text(
        ADD,
        &args.request,
        MAX_PROOF_BYTES,
        "an add-checkpoint request",
    )?;
    let request = ConsistencyRequest::parse(&text)
        .map_err(|e| fail(ADD, 2, &format!("{}: {e}", args.request.display())))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| fail(ADD, 2, "the system clock is before 1970"))?
        .as_secs();
    let store = WitnessStore::open(&args.state).map_err(|e| fail(ADD, 2, &e.to_string()))?;
    let verdict = store
        .add_checkpoint(&request, &log, &witness, now)
        .map_err(|e| fail(ADD, 2, &e.to_string()))?;
    match verdict {
        Verdict::Cosigned { note, previous } => {
            print_out(ADD, &note.to_string())?;
            // The request's checkpoint parsed before it was cosigned.
            let (origin, size) = request
                .checkpoint()
                .map(|c| (c.origin, c.size))
                .unwrap_or_default();
            let origin = terminal_safe(&origin);
            match previous {
                None => eprintln!(
                    "audit witness add: cosigned the first checkpoint of {origin} seen by this witness ({size} records), trusted on first use: nothing before it was checked"
                ),
                Some((old, root)) => eprintln!(
                    "audit witness add: cosigned {origin} at {size} records, consistent with the {old} records (root {}) cosigned before",
                    to_hex(&root)
                ),
            }
            Ok(())
        }
        Verdict::Refused(r) => {
            let code = match &r {
                Refusal::Conflict { stored_size, .. } => {
                    print_out(ADD, &format!("{stored_size}\n"))?;
                    4
                }
                Refusal::Rollback { .. } | Refusal::Fork { .. } => 3,
                _ => 1,
            };
            Err(fail(ADD, code, &format!("refused: {r}")))
        }
    }
}
