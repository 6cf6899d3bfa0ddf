//! `audit prove` and `audit verify-proof`: inclusion and consistency proofs of a
//! stream's records against its signed checkpoints (docs/FORMAT.md §4.2).
//!
//! `prove` reads the trail once, up to the checkpoint's size, keeping O(log n)
//! hashes ([`tracing_audit_core::proof`]), and prints the proof: a C2SP tlog-proof
//! file, or a C2SP tlog-witness `add-checkpoint` body. `verify-proof` checks one
//! offline, with the log's verifier key only.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tracing_audit_cli::terminal_safe;
use tracing_audit_core::merkle::{self, EMPTY_ROOT};
use tracing_audit_core::note::{
    self, Checkpoint, ConsistencyRequest, InclusionProofFile, MAX_NOTE_BYTES, MAX_PROOF_BYTES,
    Note, SignatureType, VerifierKey,
};
use tracing_audit_core::tree_index::TreeIndex;
use tracing_audit_core::{ErrorKind, Stream, proof};

/// `audit prove`'s help after its one-line summary.
pub const PROVE_HELP: &str = "\
Prove that a record is in the tree of a signed checkpoint (--seq), or that a newer
checkpoint extends an older one (--consistency), and print the proof on stdout.

--seq N prints a C2SP tlog-proof file (c2sp.org/tlog-proof):

  c2sp.org/tlog-proof@v1
  extra <base64 of the record's 32-byte hash>
  index <N>
  <base64 hash>...          the inclusion proof, from the leaf's sibling up
  <empty line>
  <the signed checkpoint note, verbatim>

The tree's leaves are the records' hashes in seq order (docs/FORMAT.md §4.2); the
extra line carries the proven record's hash, which `audit verify-proof` checks
against the record line given to it (--record-line) or, without one, uses as the
leaf. --record-out FILE also writes the record's line to FILE.

--consistency OLD NEW prints the body of a C2SP tlog-witness add-checkpoint request
(what `audit witness add` reads; `audit verify-proof --consistency OLD` checks it):

  old <OLD's size>
  <base64 hash>...          the consistency proof from OLD's tree to NEW's
  <empty line>
  <NEW, the signed checkpoint note, verbatim>

OLD is `0` for a log the witness has not seen yet (`old 0`, no proof; write ./0
for a file named 0).

The trail is read once, up to the checkpoint's size, holding O(log n) hashes
whatever its length. Its tree at that size must be the checkpoint's: the proof is
refused otherwise. Signatures are not checked here (verify-proof does).

Exit status:
  0  the proof is printed;
  1  the trail does not match the checkpoint: another root at its size, fewer
     records than its size (cut or rolled back), another stream, or a line that
     is not a record among them (run `audit verify`);
  2  usage or I/O error: N not below the checkpoint's size, OLD larger than NEW or
     of another log, a file that cannot be read or is not a signed checkpoint.";

/// `audit verify-proof`'s help after its one-line summary.
pub const VERIFY_PROOF_HELP: &str = "\
Check a proof printed by `audit prove`, offline, with the log's verifier key.

An inclusion proof (a C2SP tlog-proof file) is checked in this order:
  1. the checkpoint's signature by --pubkey;
  2. the cosignature of each --witness-key;
  3. the record: with --record-line FILE, the line's body must hash to its hash
     (docs/FORMAT.md §2) and its seq be the proof's index; with --record-hash
     HEX, that hash; either must equal the hash in the proof's extra line when
     there is one; with neither, the extra line's hash is the leaf;
  4. the Merkle inclusion of the record's leaf at the index, in the tree of the
     checkpoint's size and root.

With --consistency OLD, PROOF is an add-checkpoint body (`old N`, the proof, the
NEW checkpoint), checked in this order: OLD's signature, NEW's signature, each
--witness-key's cosignature of NEW, the same origin, `old` equal to OLD's size,
and the Merkle consistency proof from OLD's size and root to NEW's.

A witness key may be given as the witness's cosignature/v1 key (`audit witness key`)
or as the FILE.pub of its `audit keygen --signing FILE`.

Exit status:
  0  valid: every check passed;
  1  invalid: the first check that failed is named (a malformed proof file too);
  2  usage or I/O error: a file that cannot be read, a key file that is not a
     verifier key, a malformed --record-hash, no record hash at all.";

/// The arguments of `audit prove`.
#[derive(clap::Args)]
pub struct ProveArgs {
    /// The stream directory (one service's trail).
    dir: PathBuf,
    /// The record to prove: its seq (its index in the tree).
    #[arg(
        long,
        value_name = "N",
        required_unless_present = "consistency",
        conflicts_with = "consistency"
    )]
    seq: Option<u64>,
    /// The signed checkpoint to prove the record against [default: DIR/checkpoint].
    #[arg(long, value_name = "FILE", conflicts_with = "consistency")]
    checkpoint: Option<PathBuf>,
    /// Also write the record's line (with its newline) to FILE, a new file.
    #[arg(long, value_name = "FILE", requires = "seq")]
    record_out: Option<PathBuf>,
    /// Build the proof from a proof index kept in DIR (created, or brought up to
    /// date from the trail, first): well under a millisecond per proof once the
    /// index holds the trail, instead of a pass over the whole trail. The index is
    /// derived data; the proof is checked against the checkpoint before printing.
    #[arg(long, value_name = "DIR", requires = "seq")]
    index: Option<PathBuf>,
    /// Prove that the checkpoint NEW extends the checkpoint OLD (files; OLD may be
    /// `0`, the empty tree).
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"])]
    consistency: Option<Vec<PathBuf>>,
}

/// The arguments of `audit verify-proof`.
#[derive(clap::Args)]
pub struct VerifyProofArgs {
    /// The proof file (`-`: standard input).
    proof: PathBuf,
    /// The log's verifier key (`FILE.pub` of `audit keygen --signing FILE`).
    #[arg(long, value_name = "FILE")]
    pubkey: PathBuf,
    /// A witness whose cosignature the (new) checkpoint must carry (repeatable).
    #[arg(long = "witness-key", value_name = "FILE")]
    witness_keys: Vec<PathBuf>,
    /// The record's line, as in its segment: checked against its hash and seq.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["record_hash", "consistency"])]
    record_line: Option<PathBuf>,
    /// The record's hash, 64 hexadecimal digits.
    #[arg(long, value_name = "HEX", conflicts_with = "consistency")]
    record_hash: Option<String>,
    /// Check a consistency proof (an add-checkpoint body) from the checkpoint OLD.
    #[arg(long, value_name = "OLD")]
    consistency: Option<PathBuf>,
}

/// A failure that ends the command with an exit status, its message already
/// printed.
pub(crate) struct Exit(pub ExitCode);

/// Prints `audit <cmd>: <message>` (made terminal-safe) and returns exit status `code`.
pub(crate) fn fail(cmd: &str, code: u8, message: &str) -> Exit {
    eprintln!("audit {cmd}: {}", terminal_safe(message));
    Exit(ExitCode::from(code))
}

/// Reads a text file named on the command line (`-`: standard input) of at most
/// `max` bytes. Anything but a regular file is refused before it is opened (a
/// FIFO would block). Errors exit 2.
pub(crate) fn read_text(cmd: &str, path: &Path, max: usize, what: &str) -> Result<String, Exit> {
    let shown = path.display().to_string();
    let mut bytes = Vec::new();
    let limit = max as u64 + 1;
    if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                fail(
                    cmd,
                    2,
                    &format!("cannot read {what} from standard input: {e}"),
                )
            })?;
    } else {
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err(fail(
                    cmd,
                    2,
                    &format!("{shown}: expected {what} in a regular file, found something else"),
                ));
            }
            Err(e) => return Err(fail(cmd, 2, &format!("{shown}: cannot read {what}: {e}"))),
        }
        std::fs::File::open(path)
            .and_then(|f| f.take(limit).read_to_end(&mut bytes))
            .map_err(|e| fail(cmd, 2, &format!("{shown}: cannot read {what}: {e}")))?;
    }
    if bytes.len() > max {
        return Err(fail(
            cmd,
            2,
            &format!("{shown}: expected {what} of at most {max} bytes, found more"),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        fail(
            cmd,
            2,
            &format!("{shown}: expected {what} (UTF-8 text), found binary content"),
        )
    })
}

/// A signed checkpoint read from a file: its note and checkpoint.
struct SignedCheckpoint {
    note: Note,
    checkpoint: Checkpoint,
}

/// Reads and parses a signed checkpoint file; a file that does not parse exits
/// with `bad_code`.
fn read_checkpoint(cmd: &str, path: &Path, bad_code: u8) -> Result<SignedCheckpoint, Exit> {
    let text = read_text(cmd, path, MAX_NOTE_BYTES, "a signed checkpoint")?;
    let shown = path.display();
    let note = Note::parse(&text).map_err(|e| {
        fail(
            cmd,
            bad_code,
            &format!("{shown}: expected a signed checkpoint note: {e}"),
        )
    })?;
    let checkpoint = Checkpoint::parse(note.body()).map_err(|e| {
        fail(
            cmd,
            bad_code,
            &format!("{shown}: expected a checkpoint: {e}"),
        )
    })?;
    Ok(SignedCheckpoint { note, checkpoint })
}

/// Lowercase hexadecimal.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 64 hexadecimal digits (either case) as 32 bytes.
fn from_hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Writes `text` to standard output; a closed pipe is not an error.
pub(crate) fn print_out(cmd: &str, text: &str) -> Result<(), Exit> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(fail(
            cmd,
            2,
            &format!("cannot write to standard output: {e}"),
        )),
        _ => Ok(()),
    }
}

/// `audit prove`.
pub fn prove(args: ProveArgs) -> ExitCode {
    let result = match &args.consistency {
        Some(pair) => prove_consistency(&args.dir, &pair[0], &pair[1]),
        None => prove_inclusion(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Exit(code)) => code,
    }
}

const PROVE: &str = "prove";

fn open_stream(dir: &Path) -> Result<Stream, Exit> {
    if !dir.is_dir() {
        return Err(fail(
            PROVE,
            2,
            &format!(
                "expected a stream directory, found no directory at {}",
                dir.display()
            ),
        ));
    }
    Stream::open(dir).map_err(|e| fail(PROVE, 2, &e.to_string()))
}

/// An error reading the trail for a proof: exit 2 for I/O, 1 when the trail
/// cannot be the checkpoint's tree.
fn trail_error(e: &tracing_audit_core::Error, against: &str) -> Exit {
    if matches!(e.kind(), ErrorKind::Io | ErrorKind::Config) {
        return fail(PROVE, 2, &e.to_string());
    }
    fail(
        PROVE,
        1,
        &format!("the trail does not match {against}: {e}"),
    )
}

/// Exit 1 unless the trail's origin (when it has one) is the checkpoint's.
fn check_origin(trail: Option<&str>, checkpoint: &Checkpoint, against: &str) -> Result<(), Exit> {
    match trail {
        Some(o) if o != checkpoint.origin => Err(fail(
            PROVE,
            1,
            &format!(
                "the trail does not match {against}: expected a checkpoint of this trail's stream ({o}), found one of {}",
                checkpoint.origin
            ),
        )),
        _ => Ok(()),
    }
}

fn prove_inclusion(args: &ProveArgs) -> Result<(), Exit> {
    let Some(seq) = args.seq else {
        return Err(fail(PROVE, 2, "expected --seq N or --consistency OLD NEW"));
    };
    let cp_path = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| args.dir.join("checkpoint"));
    let cp = read_checkpoint(PROVE, &cp_path, 2)?;
    let (size, root) = (cp.checkpoint.size, cp.checkpoint.root);
    if seq >= size {
        return Err(fail(
            PROVE,
            2,
            &format!(
                "expected a seq below the checkpoint's tree size {size} ({}), found {seq}: the checkpoint does not cover that record yet (take a later checkpoint)",
                cp_path.display()
            ),
        ));
    }
    let stream = open_stream(&args.dir)?;
    let against = format!("the checkpoint {}", cp_path.display());
    let built = match &args.index {
        Some(index) => from_index(&stream, index, seq, size, &against)?,
        None => {
            let b = proof::prove_inclusion(&stream, seq, size)
                .map_err(|e| trail_error(&e, &against))?;
            Built {
                hashes: b.proof.hashes,
                root: b.proof.root,
                record: b.record,
                origin: b.origin,
            }
        }
    };
    check_origin(built.origin.as_deref(), &cp.checkpoint, &against)?;
    if let Some(index) = &args.index
        && built.root != root
    {
        return Err(fail(
            PROVE,
            1,
            &format!(
                "the trail or the proof index {} does not match {against}: remove the index and run again (without --index, the trail alone is read; `audit verify {} --checkpoint {}` says whether the trail matches)",
                index.display(),
                args.dir.display(),
                cp_path.display()
            ),
        ));
    }
    if built.root != root {
        return Err(fail(
            PROVE,
            1,
            &format!(
                "the trail does not match {against}: expected the root of its first {size} records to be the checkpoint's {}, found {}: the trail was rewritten, rolled back or forked since it was signed (run `audit verify {} --checkpoint {}`)",
                to_hex(&root),
                to_hex(&built.root),
                args.dir.display(),
                cp_path.display()
            ),
        ));
    }
    let Some(record) = built.record else {
        // Not reached: `prove_inclusion` reads every record below `size`.
        return Err(fail(PROVE, 2, &format!("record seq {seq} was not read")));
    };
    let file = InclusionProofFile {
        extra: Some(record.hash.to_vec()),
        index: seq,
        hashes: built.hashes,
        checkpoint_note: cp.note,
    };
    let text = file.format().map_err(|e| fail(PROVE, 2, &e.to_string()))?;
    if let Some(out) = &args.record_out {
        let mut line = record.raw.clone();
        line.push(b'\n');
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(out)
            .and_then(|mut f| f.write_all(&line).and_then(|()| f.sync_all()))
            .map_err(|e| {
                fail(
                    PROVE,
                    2,
                    &format!(
                        "{}: cannot write the record line to a new file: {e}",
                        out.display()
                    ),
                )
            })?;
    }
    print_out(PROVE, &text)?;
    eprintln!(
        "audit prove: record seq {seq} (hash {}) is in the tree of {size} records of {} (root {})",
        to_hex(&record.hash),
        terminal_safe(&cp.checkpoint.origin),
        to_hex(&root)
    );
    Ok(())
}

/// An inclusion proof with what it was built against.
struct Built {
    hashes: Vec<[u8; 32]>,
    root: [u8; 32],
    record: Option<tracing_audit_core::Record>,
    origin: Option<String>,
}

/// The inclusion proof of `seq` from the proof index in `index` (brought up to
/// date first), with the record read from its own segment.
fn from_index(
    stream: &Stream,
    index: &Path,
    seq: u64,
    size: u64,
    against: &str,
) -> Result<Built, Exit> {
    let io = |e: tracing_audit_core::Error| trail_error(&e, against);
    let first = stream.record(0).map_err(io)?;
    let origin_of = |r: &tracing_audit_core::Record| -> Option<(String, String)> {
        let v = r.json().ok()?;
        Some((
            v["service"].as_str()?.to_owned(),
            v["stream"].as_str()?.to_owned(),
        ))
    };
    let Some((service, stream_id)) = first.as_ref().and_then(origin_of) else {
        return Err(fail(
            PROVE,
            2,
            "--index: expected a version 2 trail whose first record names its stream, found none (prove without --index)",
        ));
    };
    let mut tree = TreeIndex::open(index, &stream_id).map_err(io)?;
    let held = tree.update(stream.dir()).map_err(io)?;
    if held < size {
        return Err(fail(
            PROVE,
            1,
            &format!(
                "the trail does not match {against}: expected at least {size} records, found {held}"
            ),
        ));
    }
    let record = stream.record(seq).map_err(io)?;
    if let Some(r) = &record
        && tracing_audit_core::merkle::leaf_hash(&r.hash) != tree.leaf(seq).map_err(io)?
    {
        return Err(fail(
            PROVE,
            2,
            &format!(
                "the proof index {} does not match the trail at seq {seq}: remove it and run again",
                index.display()
            ),
        ));
    }
    // The index is not trusted: the proof must lead from the record to the root.
    let hashes = tree.inclusion_proof(seq, size).map_err(io)?;
    let root = tree.root(size).map_err(io)?;
    let leaf = tree.leaf(seq).map_err(io)?;
    if merkle::verify_inclusion(&leaf, seq, size, &hashes, &root).is_err() {
        return Err(fail(
            PROVE,
            2,
            &format!(
                "the proof index {} is damaged (its proof of seq {seq} does not lead to its root): remove it and run again",
                index.display()
            ),
        ));
    }
    Ok(Built {
        hashes,
        root,
        record,
        origin: Some(tracing_audit_core::checkpoint_origin(&service, &stream_id)),
    })
}

fn prove_consistency(dir: &Path, old_path: &Path, new_path: &Path) -> Result<(), Exit> {
    let new = read_checkpoint(PROVE, new_path, 2)?;
    let old = if old_path.as_os_str() == "0" {
        None
    } else {
        Some(read_checkpoint(PROVE, old_path, 2)?)
    };
    let (old_size, old_root) = old
        .as_ref()
        .map_or((0, EMPTY_ROOT), |o| (o.checkpoint.size, o.checkpoint.root));
    if let Some(o) = &old {
        if o.checkpoint.origin != new.checkpoint.origin {
            return Err(fail(
                PROVE,
                2,
                &format!(
                    "expected OLD and NEW to be checkpoints of one log, found origins {} and {}",
                    o.checkpoint.origin, new.checkpoint.origin
                ),
            ));
        }
        if old_size > new.checkpoint.size {
            return Err(fail(
                PROVE,
                2,
                &format!(
                    "expected OLD to be at most as large as NEW, found OLD of {old_size} records and NEW of {}: swap them",
                    new.checkpoint.size
                ),
            ));
        }
    }
    let stream = open_stream(dir)?;
    let built = proof::prove_consistency(&stream, old_size, new.checkpoint.size)
        .map_err(|e| trail_error(&e, &format!("the checkpoint NEW {}", new_path.display())))?;
    let against_new = format!("the checkpoint NEW {}", new_path.display());
    check_origin(built.origin.as_deref(), &new.checkpoint, &against_new)?;
    for (name, path, expected, found, size) in [
        ("OLD", old_path, old_root, built.proof.old_root, old_size),
        (
            "NEW",
            new_path,
            new.checkpoint.root,
            Some(built.proof.root),
            new.checkpoint.size,
        ),
    ] {
        if found != Some(expected) {
            return Err(fail(
                PROVE,
                1,
                &format!(
                    "the trail does not match the checkpoint {name} {}: expected the root of its first {size} records to be the checkpoint's {}, found {}",
                    path.display(),
                    to_hex(&expected),
                    found.map_or_else(|| "none".to_owned(), |r| to_hex(&r))
                ),
            ));
        }
    }
    let request = ConsistencyRequest {
        old_size,
        proof: built.proof.hashes,
        checkpoint_note: new.note,
    };
    let text = request
        .format()
        .map_err(|e| fail(PROVE, 2, &e.to_string()))?;
    print_out(PROVE, &text)?;
    eprintln!(
        "audit prove: the tree of {} records of {} extends its tree of {old_size} records",
        new.checkpoint.size,
        terminal_safe(&new.checkpoint.origin)
    );
    Ok(())
}

const VERIFY_PROOF: &str = "verify-proof";

/// `audit verify-proof`.
pub fn verify_proof(args: VerifyProofArgs) -> ExitCode {
    let result = load_keys(&args).and_then(|(log, witnesses)| match &args.consistency {
        Some(old) => verify_consistency(&args, old, &log, &witnesses),
        None => verify_inclusion(&args, &log, &witnesses),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Exit(code)) => code,
    }
}

/// The log's key, and the witnesses' cosignature/v1 keys (a note key of a
/// witness is turned into its cosignature key: the same name and Ed25519 key).
fn load_keys(args: &VerifyProofArgs) -> Result<(VerifierKey, Vec<VerifierKey>), Exit> {
    let key =
        |p: &Path| VerifierKey::from_file(p).map_err(|e| fail(VERIFY_PROOF, 2, &e.to_string()));
    let log = key(&args.pubkey)?;
    if log.signature_type() != SignatureType::Ed25519 {
        return Err(fail(
            VERIFY_PROOF,
            2,
            &format!(
                "{}: expected the log's note verifier key (type 0x01), found a witness cosignature key",
                args.pubkey.display()
            ),
        ));
    }
    let mut witnesses = Vec::new();
    for p in &args.witness_keys {
        let k = key(p)?;
        let k = match k.signature_type() {
            SignatureType::Ed25519 => {
                VerifierKey::new(k.name(), SignatureType::CosignatureV1, &k.public_key())
                    .map_err(|e| fail(VERIFY_PROOF, 2, &format!("{}: {e}", p.display())))?
            }
            _ => k,
        };
        witnesses.push(k);
    }
    Ok((log, witnesses))
}

/// Prints the failed check and returns exit status 1.
fn invalid(check: &str, detail: &str) -> Exit {
    eprintln!(
        "audit verify-proof: INVALID: {check}: {}",
        terminal_safe(detail)
    );
    Exit(ExitCode::from(1))
}

/// Checks a note's signature by the log and the witnesses' cosignatures.
fn check_signatures(
    what: &str,
    note: &Note,
    log: &VerifierKey,
    witnesses: &[VerifierKey],
) -> Result<(), Exit> {
    note.verify(log)
        .map_err(|e| invalid(&format!("{what}: the log's signature"), &e.to_string()))?;
    for w in witnesses {
        note::verify_cosignature(note, w).map_err(|e| {
            invalid(
                &format!("{what}: the cosignature of witness {}", w.name()),
                &e.to_string(),
            )
        })?;
    }
    Ok(())
}

fn verify_inclusion(
    args: &VerifyProofArgs,
    log: &VerifierKey,
    witnesses: &[VerifierKey],
) -> Result<(), Exit> {
    let text = read_text(VERIFY_PROOF, &args.proof, MAX_PROOF_BYTES, "a proof file")?;
    let file = InclusionProofFile::parse(&text).map_err(|e| {
        invalid(
            "the proof file",
            &format!("expected a C2SP tlog-proof file: {e}"),
        )
    })?;
    let cp = file
        .checkpoint()
        .map_err(|e| invalid("the proof file", &e.to_string()))?;
    check_signatures("the checkpoint", &file.checkpoint_note, log, witnesses)?;

    let carried = file
        .extra
        .as_deref()
        .and_then(|e| <[u8; 32]>::try_from(e).ok());
    let given = if let Some(path) = &args.record_line {
        let line = read_text(
            VERIFY_PROOF,
            path,
            tracing_audit_core::MAX_LINE_BYTES + 1,
            "a record line",
        )?;
        let r = proof::record_line(line.as_bytes())
            .map_err(|e| invalid("the record line", &e.to_string()))?;
        if r.seq != file.index {
            return Err(invalid(
                "the record line",
                &format!(
                    "expected the record at the proof's index {}, found record seq {}",
                    file.index, r.seq
                ),
            ));
        }
        Some((r.hash, "the record line"))
    } else if let Some(hex) = &args.record_hash {
        let Some(h) = from_hex32(hex) else {
            return Err(fail(
                VERIFY_PROOF,
                2,
                &format!("expected --record-hash as 64 hexadecimal digits, found {hex:?}"),
            ));
        };
        Some((h, "--record-hash"))
    } else {
        None
    };
    let (hash, source) = match (given, carried) {
        (Some((h, source)), Some(c)) if h != c => {
            return Err(invalid(
                "the record",
                &format!(
                    "expected {source} to have the hash the proof file carries ({}), found {}: the proof is of another record",
                    to_hex(&c),
                    to_hex(&h)
                ),
            ));
        }
        (Some((h, source)), _) => (h, source),
        (None, Some(c)) => (c, "the proof file's extra line"),
        (None, None) => {
            return Err(fail(
                VERIFY_PROOF,
                2,
                "expected the record: give --record-line FILE or --record-hash HEX (the proof file carries no record hash in an extra line)",
            ));
        }
    };
    merkle::verify_inclusion(
        &merkle::leaf_hash(&hash),
        file.index,
        cp.size,
        &file.hashes,
        &cp.root,
    )
    .map_err(|e| {
        invalid(
            "the inclusion proof",
            &format!(
                "record seq {} (hash {}) in the tree of {} records: {e}",
                file.index,
                to_hex(&hash),
                cp.size
            ),
        )
    })?;
    let witnessed = witness_names(witnesses);
    print_out(
        VERIFY_PROOF,
        &format!(
            "valid: record seq {} (hash {}, from {source}) is in the tree of {} records of {} (root {}), signed by {}{witnessed}\n",
            file.index,
            to_hex(&hash),
            cp.size,
            terminal_safe(&cp.origin),
            to_hex(&cp.root),
            terminal_safe(log.name()),
        ),
    )
}

fn witness_names(witnesses: &[VerifierKey]) -> String {
    if witnesses.is_empty() {
        return String::new();
    }
    let names: Vec<String> = witnesses
        .iter()
        .map(|w| terminal_safe(w.name()).into_owned())
        .collect();
    format!(", cosigned by {}", names.join(", "))
}

fn verify_consistency(
    args: &VerifyProofArgs,
    old_path: &Path,
    log: &VerifierKey,
    witnesses: &[VerifierKey],
) -> Result<(), Exit> {
    let old = read_checkpoint(VERIFY_PROOF, old_path, 1)?;
    let text = read_text(
        VERIFY_PROOF,
        &args.proof,
        MAX_PROOF_BYTES,
        "a consistency proof",
    )?;
    let request = ConsistencyRequest::parse(&text).map_err(|e| {
        invalid(
            "the proof file",
            &format!("expected a consistency proof (old N, the proof, the new checkpoint): {e}"),
        )
    })?;
    let new = request
        .checkpoint()
        .map_err(|e| invalid("the proof file", &e.to_string()))?;
    check_signatures("the checkpoint OLD", &old.note, log, &[])?;
    check_signatures(
        "the new checkpoint",
        &request.checkpoint_note,
        log,
        witnesses,
    )?;
    let old_cp = &old.checkpoint;
    if old_cp.origin != new.origin {
        return Err(invalid(
            "the origin",
            &format!(
                "expected the new checkpoint to be of OLD's log {}, found {}",
                old_cp.origin, new.origin
            ),
        ));
    }
    if request.old_size != old_cp.size {
        return Err(invalid(
            "the old size",
            &format!(
                "expected a proof from OLD's size {}, found a proof from size {}",
                old_cp.size, request.old_size
            ),
        ));
    }
    let checked = if old_cp.size == 0 {
        // Every tree extends the empty one; the empty tree has one root.
        if old_cp.root == EMPTY_ROOT {
            Ok(())
        } else {
            Err(format!(
                "expected OLD, a tree of 0 records, to have the empty tree's root {}, found {}",
                to_hex(&EMPTY_ROOT),
                to_hex(&old_cp.root)
            ))
        }
    } else {
        merkle::verify_consistency(
            old_cp.size,
            new.size,
            &old_cp.root,
            &new.root,
            &request.proof,
        )
        .map_err(|e| e.to_string())
    };
    checked.map_err(|e| {
        invalid(
            "the consistency proof",
            &format!("from {} to {} records: {e}", old_cp.size, new.size),
        )
    })?;
    let witnessed = witness_names(witnesses);
    print_out(
        VERIFY_PROOF,
        &format!(
            "valid: the tree of {} records (root {}) of {} extends its tree of {} records (root {}), both signed by {}{witnessed}\n",
            new.size,
            to_hex(&new.root),
            terminal_safe(&new.origin),
            old_cp.size,
            to_hex(&old_cp.root),
            terminal_safe(log.name()),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_what_is_not_32_bytes() {
        let b: [u8; 32] = std::array::from_fn(|i| [0x5a, 0xa5, 0x00, 0xff, 0x13][i % 5]);
        assert_eq!(from_hex32(&to_hex(&b)), Some(b));
        assert_eq!(from_hex32(&to_hex(&b).to_uppercase()), Some(b));
        assert_eq!(from_hex32("ab"), None);
        assert_eq!(from_hex32(&"zz".repeat(32)), None);
        assert_eq!(from_hex32(&"é".repeat(32)), None);
    }
}
