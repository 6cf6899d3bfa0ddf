//! `audit prove`, `audit verify-proof` and `audit witness` on a real signed trail,
//! run as operators run them.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use tracing_audit_core::note::{Checkpoint, ConsistencyRequest, Note, SigningKey, sign};
use tracing_audit_core::{Event, Key, Writer, WriterConfig};

fn audit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_audit"))
        .args(args)
        .env_remove("AUDIT_HMAC_KEY_FILE")
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Asserts the exit status, showing the output when it is not the one expected.
#[track_caller]
fn expect(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

struct Trail {
    tmp: tempfile::TempDir,
    dir: PathBuf,
    signer: SigningKey,
    /// The log's verifier key file.
    log_pub: PathBuf,
    /// Copies of `DIR/checkpoint` taken after the events asked for, in order.
    snapshots: Vec<PathBuf>,
    /// The records in the trail once closed.
    records: u64,
}

impl Trail {
    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes `text` to a new file of the test directory.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// A trail of `events` events written with a signing key and a checkpoint after
/// every append; a copy of its `checkpoint` file is taken after each of the
/// `snapshot_after` events (1-based counts).
fn trail(events: u64, snapshot_after: &[u64]) -> Trail {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("trail");
    let signer = SigningKey::generate("log.example").unwrap();
    let log_key = tmp.path().join("log.key");
    signer.write_new_files(&log_key).unwrap();
    let config = WriterConfig::new(&dir, "svc", Key::generate().unwrap())
        .signing_key(signer.clone())
        .checkpoint_interval(Duration::ZERO);
    let mut w = Writer::open(config).unwrap();
    let mut snapshots = Vec::new();
    for i in 1..=events {
        w.append(&[Event::new("pool.created").field("i", i).into()])
            .unwrap();
        if snapshot_after.contains(&i) {
            // Checkpoints are published by a thread of their own, once durable.
            assert!(w.wait_for_checkpoints(Duration::from_secs(60)));
            let copy = tmp.path().join(format!("checkpoint-{i}"));
            std::fs::copy(dir.join("checkpoint"), &copy).unwrap();
            snapshots.push(copy);
        }
    }
    w.close().unwrap();
    let records = tracing_audit_core::Stream::open(&dir)
        .unwrap()
        .records()
        .count() as u64;
    Trail {
        log_pub: tmp.path().join("log.key.pub"),
        tmp,
        dir,
        signer,
        snapshots,
        records,
    }
}

fn checkpoint_of(path: &Path) -> Checkpoint {
    let note = Note::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    Checkpoint::parse(note.body()).unwrap()
}

/// `audit prove DIR --seq N [--checkpoint FILE]`, its proof written to a file.
fn prove(t: &Trail, seq: u64, checkpoint: Option<&Path>) -> (Output, PathBuf) {
    let seq_text = seq.to_string();
    let mut args = vec!["prove", s(&t.dir), "--seq", &seq_text];
    if let Some(c) = checkpoint {
        args.extend(["--checkpoint", s(c)]);
    }
    let out = audit(&args);
    let file = t.file(&format!("proof-{seq}"), &stdout(&out));
    (out, file)
}

/// Changes the base64 character at `col` of line `line` (both 0-based) of a text:
/// the line still decodes, to other bytes.
fn flip_at(text: &str, line: usize, col: usize) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let c = lines[line].remove(col);
    lines[line].insert(col, if c == 'A' { 'B' } else { 'A' });
    lines.join("\n")
}

/// [`flip_at`] the first character of a line.
fn flip_line(text: &str, line: usize) -> String {
    flip_at(text, line, 0)
}

#[test]
fn inclusion_proofs_round_trip_and_any_change_is_found() {
    let t = trail(300, &[]);
    let size = checkpoint_of(&t.dir.join("checkpoint")).size;
    assert_eq!(size, t.records, "the final checkpoint covers every record");
    let log_pub = s(&t.log_pub);

    for seq in [0, 1, 2, 150, 255, 256, size - 1] {
        let (out, proof) = prove(&t, seq, None);
        expect(&out, 0);
        let text = stdout(&out);
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "), "{text}");
        assert!(text.contains(&format!("\nindex {seq}\n")), "{text}");
        let ok = audit(&["verify-proof", "--pubkey", log_pub, s(&proof)]);
        expect(&ok, 0);
        assert!(
            stdout(&ok).starts_with(&format!("valid: record seq {seq} ")),
            "{}",
            stdout(&ok)
        );
    }

    // The record line itself, written by --record-out, is checked against the proof.
    let line_file = t.path("record-150");
    let out = audit(&[
        "prove",
        s(&t.dir),
        "--seq",
        "150",
        "--record-out",
        s(&line_file),
    ]);
    expect(&out, 0);
    let proof = t.file("proof-150-again", &stdout(&out));
    let line = std::fs::read_to_string(&line_file).unwrap();
    assert!(
        line.contains("\"seq\":150,") && line.ends_with("}\n"),
        "{line}"
    );
    let ok = audit(&[
        "verify-proof",
        "--pubkey",
        log_pub,
        "--record-line",
        s(&line_file),
        s(&proof),
    ]);
    expect(&ok, 0);
    assert!(
        stdout(&ok).contains("from the record line"),
        "{}",
        stdout(&ok)
    );

    // A record line altered after it was hashed.
    let altered = t.file("altered", &line.replacen("pool.created", "pool.deleted", 1));
    let bad = audit(&[
        "verify-proof",
        "--pubkey",
        log_pub,
        "--record-line",
        s(&altered),
        s(&proof),
    ]);
    expect(&bad, 1);
    assert!(
        stderr(&bad).contains("INVALID: the record line: hash_mismatch"),
        "{}",
        stderr(&bad)
    );
    // Another record's line.
    let other_line = t.path("record-151");
    expect(
        &audit(&[
            "prove",
            s(&t.dir),
            "--seq",
            "151",
            "--record-out",
            s(&other_line),
        ]),
        0,
    );
    let bad = audit(&[
        "verify-proof",
        "--pubkey",
        log_pub,
        "--record-line",
        s(&other_line),
        s(&proof),
    ]);
    expect(&bad, 1);
    assert!(
        stderr(&bad).contains("expected the record at the proof's index 150, found record seq 151"),
        "{}",
        stderr(&bad)
    );

    let text = std::fs::read_to_string(&proof).unwrap();
    // Line 0 is the header, 1 the extra line, 2 the index, 3 the first hash.
    assert!(text.split('\n').nth(3).unwrap().len() == 44);
    for (name, changed, check) in [
        ("hash", flip_line(&text, 3), "INVALID: the inclusion proof"),
        (
            "extra",
            flip_at(&text, 1, "extra ".len()),
            "INVALID: the inclusion proof",
        ),
        (
            "index",
            text.replacen("\nindex 150\n", "\nindex 149\n", 1),
            "INVALID: the inclusion proof",
        ),
    ] {
        let p = t.file(&format!("changed-{name}"), &changed);
        let bad = audit(&["verify-proof", "--pubkey", log_pub, s(&p)]);
        expect(&bad, 1);
        assert!(stderr(&bad).contains(check), "{name}: {}", stderr(&bad));
    }
    // The checkpoint's root changed: its signature no longer verifies.
    let cp = checkpoint_of(&t.dir.join("checkpoint"));
    let body = cp.body().unwrap();
    let root_line = body.lines().nth(2).unwrap();
    let p = t.file("changed-root", &flip_line_containing(&text, root_line));
    let bad = audit(&["verify-proof", "--pubkey", log_pub, s(&p)]);
    expect(&bad, 1);
    assert!(
        stderr(&bad).contains("INVALID: the checkpoint: the log's signature"),
        "{}",
        stderr(&bad)
    );

    // Checked with another log's key.
    let other = t.path("other.key");
    expect(
        &audit(&["keygen", "--signing", "--name", "log.example", s(&other)]),
        0,
    );
    let bad = audit(&[
        "verify-proof",
        "--pubkey",
        s(&t.path("other.key.pub")),
        s(&proof),
    ]);
    expect(&bad, 1);
    assert!(
        stderr(&bad).contains("INVALID: the checkpoint: the log's signature"),
        "{}",
        stderr(&bad)
    );

    // Without a record hash anywhere: a usage error.
    let no_extra: String = text
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("extra "))
        .collect();
    let p = t.file("no-extra", &no_extra);
    let bad = audit(&["verify-proof", "--pubkey", log_pub, s(&p)]);
    expect(&bad, 2);
    assert!(stderr(&bad).contains("--record-line"), "{}", stderr(&bad));
    // …which --record-hash provides.
    let hash = line.split("\"hash\":\"").last().unwrap()[..64].to_owned();
    let ok = audit(&[
        "verify-proof",
        "--pubkey",
        log_pub,
        "--record-hash",
        &hash,
        s(&p),
    ]);
    expect(&ok, 0);
}

/// The line of `text` equal to `line`, its first character changed.
fn flip_line_containing(text: &str, line: &str) -> String {
    let i = text.split('\n').position(|l| l == line).unwrap();
    flip_line(text, i)
}

#[test]
fn prove_refuses_what_the_checkpoint_does_not_cover_or_the_trail_does_not_match() {
    let t = trail(40, &[10]);
    let size = checkpoint_of(&t.dir.join("checkpoint")).size;

    // A seq at or past the checkpoint's size.
    let (out, _) = prove(&t, size, None);
    expect(&out, 2);
    assert!(
        stderr(&out).contains(&format!(
            "expected a seq below the checkpoint's tree size {size}"
        )),
        "{}",
        stderr(&out)
    );
    let early = &t.snapshots[0];
    let early_size = checkpoint_of(early).size;
    let (out, _) = prove(&t, early_size, Some(early));
    expect(&out, 2);

    // A checkpoint the trail does not match: same origin and size, another root,
    // signed by the log's key (a fork, or a rewritten trail).
    let cp = checkpoint_of(early);
    let forged = Checkpoint::new(cp.origin.clone(), cp.size, [7; 32]);
    let forged = t.file("forged", &sign(&forged.body().unwrap(), &t.signer).unwrap());
    let (out, _) = prove(&t, 3, Some(&forged));
    expect(&out, 1);
    assert!(
        stderr(&out).contains("the trail does not match the checkpoint"),
        "{}",
        stderr(&out)
    );
    // A checkpoint larger than the trail.
    let beyond = Checkpoint::new(cp.origin.clone(), size + 5, [7; 32]);
    let beyond = t.file("beyond", &sign(&beyond.body().unwrap(), &t.signer).unwrap());
    let (out, _) = prove(&t, 3, Some(&beyond));
    expect(&out, 1);
    assert!(
        stderr(&out).contains(&format!(
            "expected a tree of {} records, found a trail of {size}",
            size + 5
        )),
        "{}",
        stderr(&out)
    );
    // A checkpoint of another stream.
    let elsewhere = Checkpoint::new("tracing-audit/svc/0123", cp.size, cp.root);
    let elsewhere = t.file(
        "elsewhere",
        &sign(&elsewhere.body().unwrap(), &t.signer).unwrap(),
    );
    let (out, _) = prove(&t, 3, Some(&elsewhere));
    expect(&out, 1);
    assert!(
        stderr(&out).contains("expected a checkpoint of this trail's stream"),
        "{}",
        stderr(&out)
    );
    // Not a checkpoint at all.
    let (out, _) = prove(&t, 3, Some(&t.log_pub));
    expect(&out, 2);
}

#[test]
fn consistency_proofs_between_checkpoints_round_trip() {
    let t = trail(260, &[1, 100, 128, 250]);
    let log_pub = s(&t.log_pub);
    let last = t.dir.join("checkpoint");
    let mut pairs: Vec<(&Path, &Path)> = Vec::new();
    for (i, a) in t.snapshots.iter().enumerate() {
        for b in &t.snapshots[i..] {
            pairs.push((a, b));
        }
        pairs.push((a, &last));
    }
    for (old, new) in pairs {
        let out = audit(&["prove", s(&t.dir), "--consistency", s(old), s(new)]);
        expect(&out, 0);
        let text = stdout(&out);
        let old_size = checkpoint_of(old).size;
        assert!(text.starts_with(&format!("old {old_size}\n")), "{text}");
        let proof = t.file("consistency", &text);
        let ok = audit(&[
            "verify-proof",
            "--pubkey",
            log_pub,
            "--consistency",
            s(old),
            s(&proof),
        ]);
        expect(&ok, 0);
        assert!(
            stdout(&ok).starts_with("valid: the tree of "),
            "{}",
            stdout(&ok)
        );
    }

    let (old, new) = (&t.snapshots[1], &t.snapshots[3]);
    let out = audit(&["prove", s(&t.dir), "--consistency", s(old), s(new)]);
    let text = stdout(&out);
    let proof = t.file("consistency-100-250", &text);

    // One hash changed.
    let bad = t.file("bad-hash", &flip_line(&text, 1));
    let o = audit(&[
        "verify-proof",
        "--pubkey",
        log_pub,
        "--consistency",
        s(old),
        s(&bad),
    ]);
    expect(&o, 1);
    assert!(
        stderr(&o).contains("INVALID: the consistency proof"),
        "{}",
        stderr(&o)
    );
    // Checked from another old checkpoint than the one it was made from.
    let o = audit(&[
        "verify-proof",
        "--pubkey",
        log_pub,
        "--consistency",
        s(&t.snapshots[2]),
        s(&proof),
    ]);
    expect(&o, 1);
    assert!(
        stderr(&o).contains("INVALID: the old size"),
        "{}",
        stderr(&o)
    );
    // With another log's key.
    let other = t.path("other.key");
    expect(&audit(&["keygen", "--signing", s(&other)]), 0);
    let o = audit(&[
        "verify-proof",
        "--pubkey",
        s(&t.path("other.key.pub")),
        "--consistency",
        s(old),
        s(&proof),
    ]);
    expect(&o, 1);
    assert!(
        stderr(&o).contains("INVALID: the checkpoint OLD: the log's signature"),
        "{}",
        stderr(&o)
    );
    // OLD and NEW swapped: a usage error.
    let o = audit(&["prove", s(&t.dir), "--consistency", s(new), s(old)]);
    expect(&o, 2);
    assert!(stderr(&o).contains("swap them"), "{}", stderr(&o));
    // From the empty tree: `old 0` and no proof.
    let o = audit(&["prove", s(&t.dir), "--consistency", "0", s(new)]);
    expect(&o, 0);
    assert!(stdout(&o).starts_with("old 0\n\n"), "{}", stdout(&o));
}

/// The witness's files: its signing key and its cosignature verifier key.
struct Witness {
    key: PathBuf,
    cosignature_pub: PathBuf,
    state: PathBuf,
}

fn witness(t: &Trail) -> Witness {
    let key = t.path("witness.key");
    expect(
        &audit(&["keygen", "--signing", "--name", "witness.example", s(&key)]),
        0,
    );
    let out = audit(&["witness", "key", s(&key)]);
    expect(&out, 0);
    let cosignature_pub = t.file("witness.cosignature.pub", &stdout(&out));
    Witness {
        key,
        cosignature_pub,
        state: t.path("witness-state"),
    }
}

fn witness_add(t: &Trail, w: &Witness, request: &Path) -> Output {
    audit(&[
        "witness",
        "add",
        "--state",
        s(&w.state),
        "--key",
        s(&w.key),
        "--log-key",
        s(&t.log_pub),
        s(request),
    ])
}

/// `audit prove DIR --consistency OLD NEW`, written to a request file.
fn request(t: &Trail, name: &str, old: &str, new: &Path) -> PathBuf {
    let out = audit(&["prove", s(&t.dir), "--consistency", old, s(new)]);
    expect(&out, 0);
    t.file(name, &stdout(&out))
}

#[test]
fn the_witness_cosigns_consistent_checkpoints_only_and_remembers() {
    let t = trail(200, &[50, 120]);
    let w = witness(&t);
    let (cp50, cp120, last) = (&t.snapshots[0], &t.snapshots[1], t.dir.join("checkpoint"));
    let size = |p: &Path| checkpoint_of(p).size;

    // First sight of the log: old 0, trusted on first use.
    let first = request(&t, "req-0-50", "0", cp50);
    let out = witness_add(&t, &w, &first);
    expect(&out, 0);
    assert!(
        stderr(&out).contains("trusted on first use"),
        "{}",
        stderr(&out)
    );
    let cosigned = stdout(&out);
    assert!(cosigned.starts_with(&std::fs::read_to_string(cp50).unwrap()));
    assert!(cosigned.contains("\n— witness.example "), "{cosigned}");
    let state_files: Vec<String> = std::fs::read_dir(&w.state)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(state_files.len(), 1);
    assert_eq!(state_files[0].len(), 64, "{state_files:?}");

    // The same request again, in a new process: the state survived, and `old 0` is
    // no longer the size the witness holds (409: the size is on stdout).
    let out = witness_add(&t, &w, &first);
    expect(&out, 4);
    assert_eq!(stdout(&out), format!("{}\n", size(cp50)));
    assert!(stderr(&out).contains("conflict"), "{}", stderr(&out));

    // A consistent later checkpoint.
    let next = request(&t, "req-50-120", s(cp50), cp120);
    let out = witness_add(&t, &w, &next);
    expect(&out, 0);
    assert!(
        stderr(&out).contains(&format!("consistent with the {} records", size(cp50))),
        "{}",
        stderr(&out)
    );

    // A rollback: the older checkpoint after the newer one, whatever `old` says.
    let back = request(&t, "req-0-50-again", "0", cp50);
    let out = witness_add(&t, &w, &back);
    expect(&out, 3);
    assert!(stderr(&out).contains("rollback"), "{}", stderr(&out));

    // A wrong `old`: a proof from 50 when the witness holds 120.
    let stale = request(&t, "req-50-last", s(cp50), &last);
    let out = witness_add(&t, &w, &stale);
    expect(&out, 4);
    assert_eq!(stdout(&out), format!("{}\n", size(cp120)));

    // A fork: the log's key signs another root for the size the witness holds.
    let cp = checkpoint_of(cp120);
    let fork_note = sign(
        &Checkpoint::new(cp.origin.clone(), cp.size, [9; 32])
            .body()
            .unwrap(),
        &t.signer,
    )
    .unwrap();
    let fork = ConsistencyRequest {
        old_size: cp.size,
        proof: Vec::new(),
        checkpoint_note: Note::parse(&fork_note).unwrap(),
    };
    let fork = t.file("req-fork", &fork.format().unwrap());
    let out = witness_add(&t, &w, &fork);
    expect(&out, 3);
    assert!(stderr(&out).contains("fork"), "{}", stderr(&out));

    // A checkpoint signed by another key of the same name.
    let impostor = SigningKey::generate("log.example").unwrap();
    let good = std::fs::read_to_string(request(&t, "req-120-last", s(cp120), &last)).unwrap();
    let mut forged = ConsistencyRequest::parse(&good).unwrap();
    forged.checkpoint_note =
        Note::parse(&sign(forged.checkpoint_note.body(), &impostor).unwrap()).unwrap();
    let forged = t.file("req-impostor", &forged.format().unwrap());
    let out = witness_add(&t, &w, &forged);
    expect(&out, 1);
    assert!(
        stderr(&out).contains("the log's signature does not verify"),
        "{}",
        stderr(&out)
    );

    // A consistency proof with a hash changed.
    let bad = t.file("req-bad-proof", &flip_line(&good, 1));
    let out = witness_add(&t, &w, &bad);
    expect(&out, 1);
    assert!(
        stderr(&out).contains("the consistency proof does not verify"),
        "{}",
        stderr(&out)
    );

    // None of the refusals moved the state: the good request is still accepted.
    let out = witness_add(&t, &w, &t.path("req-120-last"));
    expect(&out, 0);
    let cosigned = t.file("cosigned", &stdout(&out));

    // `audit verify` accepts the trail against the cosigned checkpoint, requiring
    // the witness's cosignature…
    let out = audit(&[
        "verify",
        s(&t.dir),
        "--checkpoint",
        s(&cosigned),
        "--pubkey",
        s(&t.log_pub),
        "--witness-key",
        s(&w.cosignature_pub),
    ]);
    expect(&out, 0);
    // …and refuses the same checkpoint without it.
    let out = audit(&[
        "verify",
        s(&t.dir),
        "--checkpoint",
        s(&last),
        "--pubkey",
        s(&t.log_pub),
        "--witness-key",
        s(&w.cosignature_pub),
    ]);
    expect(&out, 1);

    // An inclusion proof against the cosigned checkpoint, checked with the witness's
    // key (its cosignature key, or the FILE.pub of its keygen).
    let (out, proof) = prove(&t, 42, Some(&cosigned));
    expect(&out, 0);
    for witness_key in [&w.cosignature_pub, &t.path("witness.key.pub")] {
        let ok = audit(&[
            "verify-proof",
            "--pubkey",
            s(&t.log_pub),
            "--witness-key",
            s(witness_key),
            s(&proof),
        ]);
        expect(&ok, 0);
        assert!(
            stdout(&ok).contains("cosigned by witness.example"),
            "{}",
            stdout(&ok)
        );
    }
    let (out, proof) = prove(&t, 42, Some(&last));
    expect(&out, 0);
    let bad = audit(&[
        "verify-proof",
        "--pubkey",
        s(&t.log_pub),
        "--witness-key",
        s(&w.cosignature_pub),
        s(&proof),
    ]);
    expect(&bad, 1);
    assert!(
        stderr(&bad).contains("the cosignature of witness witness.example"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn witness_usage_errors_exit_2() {
    let t = trail(5, &[]);
    let w = witness(&t);
    // The log's key as the witness's: a log cannot witness itself.
    let req = request(&t, "req", "0", &t.dir.join("checkpoint"));
    let out = audit(&[
        "witness",
        "add",
        "--state",
        s(&w.state),
        "--key",
        s(&t.path("log.key")),
        "--log-key",
        s(&t.log_pub),
        s(&req),
    ]);
    expect(&out, 2);
    assert!(
        stderr(&out).contains("log cannot witness itself"),
        "{}",
        stderr(&out)
    );
    // A request that does not parse.
    let junk = t.file("junk", "hello\n");
    expect(&witness_add(&t, &w, &junk), 2);
    // No request file.
    expect(&witness_add(&t, &w, &t.path("missing")), 2);
    // The request on standard input works as a file does.
    let mut child = Command::new(env!("CARGO_BIN_EXE_audit"))
        .args([
            "witness",
            "add",
            "--state",
            s(&w.state),
            "--key",
            s(&w.key),
            "--log-key",
            s(&t.log_pub),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(std::fs::read_to_string(&req).unwrap().as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    expect(&out, 0);
}

/// `audit prove --index DIR` gives the very proof a pass over the trail gives, from
/// an index it builds the first time and brings up to date after that; a damaged
/// index is refused, never printed from.
#[test]
fn proofs_from_the_index_are_those_from_the_trail() {
    let t = trail(600, &[300]);
    let index = t.path("index");
    for seq in [0, 1, 255, 256, 300, 599] {
        let (plain, _) = prove(
            &t,
            seq,
            Some(t.snapshots[0].as_path()).filter(|_| seq < 300),
        );
        expect(&plain, 0);
        let seq_text = seq.to_string();
        let mut args = vec!["prove", s(&t.dir), "--seq", &seq_text, "--index", s(&index)];
        if seq < 300 {
            args.extend(["--checkpoint", s(&t.snapshots[0])]);
        }
        let indexed = audit(&args);
        expect(&indexed, 0);
        assert_eq!(stdout(&indexed), stdout(&plain), "seq {seq}");
    }
    assert_eq!(
        std::fs::metadata(index.join("L0")).unwrap().len(),
        t.records * 32,
        "one leaf hash per record"
    );
    // A damaged index: the proof does not match the checkpoint, nothing printed.
    let l0 = index.join("L0");
    let mut bytes = std::fs::read(&l0).unwrap();
    bytes[40 * 32] ^= 1;
    std::fs::write(&l0, bytes).unwrap();
    let out = audit(&["prove", s(&t.dir), "--seq", "3", "--index", s(&index)]);
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout(&out).is_empty());
}
