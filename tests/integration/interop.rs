//! The independent Python verifier (written from docs/FORMAT.md alone) agrees with
//! `audit verify --json` (`tracing_audit_cli::report_json`, what the binary prints) on intact and tampered trails, and on
//! whether their end is proven, and the worked example in docs/FORMAT.md verifies.
//!
//! Format version 2 too: key epochs (an evolved key file), stream ids, the Merkle
//! tree (seal frontiers, checkpoint records), checkpoint signatures (`--pubkey`,
//! which needs Python's `cryptography`) and a copied checkpoint (`--checkpoint`).
//! Where `audit verify` departs from docs/FORMAT.md, the test is `#[ignore]`d with
//! the reason (`bug:` the code, `doc:` the document is silent or weaker).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tracing_audit::storage::{Entry, Writer};
use tracing_audit::verify::{Report, VerifyOptions, verify_dir};
use tracing_audit::{Key, Rotation, WriterConfig};
use tracing_audit_cli::report_json;
use tracing_audit_core::note::{SigningKey, VerifierKey};

use crate::common::{config, event, file_name, key, lines, rewrite, segments, verify};
use crate::tamper::{CASES, trail};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn key_file(dir: &Path, key_hex: &str) -> PathBuf {
    let p = dir.join("key");
    std::fs::write(&p, format!("{key_hex}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

fn python_verify(dir: &Path, key_file: &Path) -> Value {
    python_verify_with(dir, &[("--key-file", key_file)])
}

/// Runs verify.py on `dir` with `args` (each a flag and the file it names) and
/// `--json`; checks its exit status agrees with its verdict.
fn python_verify_with(dir: &Path, args: &[(&str, &Path)]) -> Value {
    let mut cmd = Command::new("python3");
    cmd.arg(repo_file("tests/interop/verify.py")).arg(dir);
    for (flag, file) in args {
        cmd.arg(flag).arg(file);
    }
    let out = cmd
        .arg("--json")
        .output()
        .expect("python3 must be installed for the interop test");
    let code = out.status.code();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let expected = match (v["ok"] == true, v["end"]["status"] == "not_proven") {
        (false, _) => 1,
        (true, true) => 3,
        (true, false) => 0,
    };
    assert_eq!(code, Some(expected), "verify.py exit status: {v}");
    v
}

/// The parts both verifiers must agree on, from verify.py's output.
fn essence(v: &Value) -> Value {
    let failures: Vec<Value> = v["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| serde_json::json!([f["kind"], f["file"], f["line"], f["seq"]]))
        .collect();
    serde_json::json!({
        "ok": v["ok"], "end": v["end"]["status"], "records": v["records"],
        "segments": v["segments"], "mac_checked": v["mac_checked"],
        "macs_unchecked": v["macs_unchecked"], "failures": failures,
    })
}

/// The same parts of `audit verify --json` (and the count of records whose MAC
/// could not be checked, which verify.py prints as `macs_unchecked`).
fn rust_essence(report: &Report) -> Value {
    let mut e = essence(&report_json(report));
    e["macs_unchecked"] = report.macs_unchecked.into();
    e
}

#[test]
fn python_verifier_agrees_on_intact_and_tampered_trails() {
    let keys = tempfile::tempdir().unwrap();
    let kf = key_file(keys.path(), &"5a".repeat(32));
    let intact = trail();
    let rust = rust_essence(&verify(intact.path()));
    assert_eq!(rust["ok"], true);
    assert_eq!(essence(&python_verify(intact.path(), &kf)), rust);
    for (name, _, tamper) in CASES {
        let dir = trail();
        tamper(dir.path());
        let rust = rust_essence(&verify(dir.path()));
        assert_eq!(rust["ok"], false, "{name}");
        assert_eq!(
            essence(&python_verify(dir.path(), &kf)),
            rust,
            "{name}: the verifiers disagree"
        );
    }
}

/// Issue 10, item 3: both verifiers say whether the end of the trail is proven.
#[test]
fn python_verifier_agrees_on_the_end_of_the_trail() {
    let keys = tempfile::tempdir().unwrap();
    let kf = key_file(keys.path(), &"5a".repeat(32));
    let delete_newest = |dir: &Path| std::fs::remove_file(segments(dir).pop().unwrap()).unwrap();
    let cut_seal = |dir: &Path| {
        let newest = segments(dir).pop().unwrap();
        let ls = lines(&newest);
        rewrite(&newest, &ls[..ls.len() - 1].concat());
    };
    type Change<'a> = &'a dyn Fn(&Path);
    let cases: [(&str, Change<'_>, &str); 3] = [
        ("untouched", &|_| {}, "sealed"),
        ("newest segment deleted", &delete_newest, "not_proven"),
        ("seal cut off", &cut_seal, "not_proven"),
    ];
    for (name, change, end) in cases {
        let dir = trail();
        change(dir.path());
        let rust = rust_essence(&verify(dir.path()));
        assert_eq!(
            (&rust["ok"], &rust["end"]),
            (&true.into(), &end.into()),
            "{name}"
        );
        assert_eq!(
            essence(&python_verify(dir.path(), &kf)),
            rust,
            "{name}: the verifiers disagree"
        );
    }

    // A live writer holds the newest segment open.
    let dir = tempfile::tempdir().unwrap();
    let mut w = tracing_audit::storage::Writer::open(config(dir.path())).unwrap();
    w.append(&[event(0), event(1)]).unwrap();
    let rust = rust_essence(&verify(dir.path()));
    assert_eq!(rust["end"], "live_writer");
    assert_eq!(essence(&python_verify(dir.path(), &kf)), rust);
    w.close().unwrap();
}

#[test]
fn python_verifier_rejects_a_wrong_key_like_rust() {
    let keys = tempfile::tempdir().unwrap();
    let other = "11".repeat(32);
    let kf = key_file(keys.path(), &other);
    let dir = trail();
    let rust = verify_dir(
        dir.path(),
        &VerifyOptions::new().key(Key::from_hex(&other).unwrap()),
    )
    .unwrap();
    assert!(
        rust.failures
            .iter()
            .all(|f| f.kind == tracing_audit::verify::FailureKind::MacMismatch)
    );
    assert_eq!(
        essence(&python_verify(dir.path(), &kf)),
        rust_essence(&rust)
    );
}

const DEMO_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

#[test]
fn format_doc_example_verifies() {
    let doc = std::fs::read_to_string(repo_file("docs/FORMAT.md")).unwrap();
    let start = doc.find("<!-- example-segment: BEGIN -->").unwrap();
    let end = doc.find("<!-- example-segment: END -->").unwrap();
    let block = &doc[start..end];
    let lines: Vec<&str> = block.lines().filter(|l| l.starts_with('{')).collect();
    assert_eq!(lines.len(), 3);
    let open: Value = serde_json::from_str(lines[0]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    std::fs::create_dir(&trail).unwrap();
    std::fs::write(
        trail.join(open["segment"].as_str().unwrap()),
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let demo = Key::from_hex(DEMO_KEY).unwrap();
    assert_eq!(open["key_id"], demo.id(), "the doc's key id");
    assert!(doc.contains(&format!("Its key id is `{}`", demo.id())));
    let report = verify_dir(&trail, &VerifyOptions::new().key(demo)).unwrap();
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(report.records, 3);
    let kf = key_file(dir.path(), DEMO_KEY);
    assert_eq!(python_verify(&trail, &kf)["ok"], true);
    // The hash and mac the doc's shell commands print are those of line 2.
    let l2: Value = serde_json::from_str(lines[1]).unwrap();
    assert!(doc.contains(&format!("# {}  -", l2["hash"].as_str().unwrap())));
    assert!(doc.contains(&format!("= {}", l2["mac"].as_str().unwrap())));
    let _ = key();
}

// ---------------------------------------------------------------------------------
// Format version 2 (docs/FORMAT.md §3 `open` `stream`, `seal` `frontier`, kinds
// `epoch` and `checkpoint`; §4 checks 5, 6, 6a, 6b; §4.2; §5.2).
// ---------------------------------------------------------------------------------

/// The key files both verifiers are given: the HMAC key K(0), the checkpoint
/// signer's verifier key, and another signer's.
struct V2Keys {
    dir: tempfile::TempDir,
    signer: SigningKey,
}

impl V2Keys {
    fn new() -> V2Keys {
        let dir = tempfile::tempdir().unwrap();
        key_file(dir.path(), &"5a".repeat(32));
        let signer = SigningKey::generate("interop.example/log").unwrap();
        let other = SigningKey::generate("interop.example/log").unwrap();
        std::fs::write(dir.path().join("pub"), format!("{}\n", signer.verifier())).unwrap();
        std::fs::write(
            dir.path().join("other.pub"),
            format!("{}\n", other.verifier()),
        )
        .unwrap();
        V2Keys { dir, signer }
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("key")
    }

    fn pubkey(&self) -> PathBuf {
        self.dir.path().join("pub")
    }

    fn other_pubkey(&self) -> PathBuf {
        self.dir.path().join("other.pub")
    }
}

/// The writer configuration of the version 2 trails: rotation by size (so several
/// segments, each starting a new key epoch), no epochs on a timer, and a checkpoint
/// record after every batch, signed by `signer`.
fn v2_config(dir: &Path, signer: &SigningKey) -> WriterConfig {
    config(dir)
        .rotation("size:8KiB".parse::<Rotation>().unwrap())
        .epoch_interval(None)
        .signing_key(signer.clone())
        .checkpoint_interval(Duration::ZERO)
}

/// Appends `events` in batches of 10 with `c`, and closes.
fn write_with(c: WriterConfig, events: std::ops::Range<u64>) {
    let mut w = Writer::open(c).unwrap();
    let all: Vec<Entry> = events.map(event).collect();
    for chunk in all.chunks(10) {
        w.append(chunk).unwrap();
    }
    w.close().unwrap();
}

/// A version 2 trail of at least 4 segments and 3 key epochs, with checkpoint
/// records, that both verifiers accept; and a copy of its `checkpoint` file (the
/// one published after the final seal) outside the trail.
fn v2_trail(keys: &V2Keys) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    write_with(v2_config(&trail, &keys.signer), 0..60);
    let segs = segments(&trail);
    assert!(
        segs.len() >= 4,
        "expected at least 4 segments, found {}",
        segs.len()
    );
    let last = lines(segs.last().unwrap());
    assert!(
        json(&last[0])["v"] == 2 && epoch_of(&last[1]) >= 3,
        "{}",
        last[1]
    );
    assert!(
        last.iter().any(|l| json(l)["kind"] == "checkpoint"),
        "no checkpoint record in {last:?}"
    );
    let copied = dir.path().join("copied.checkpoint");
    std::fs::copy(trail.join("checkpoint"), &copied).unwrap();
    (dir, copied)
}

fn trail_of(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("trail")
}

/// `audit verify` on `dir` with K(0), optionally the verifier key at `pubkey` and
/// the copied checkpoint at `checkpoint`, as the binary reads them.
fn rust_verify(dir: &Path, pubkey: Option<&Path>, checkpoint: Option<&Path>) -> Report {
    let mut opts = VerifyOptions::new().key(key());
    if let Some(p) = pubkey {
        opts = opts.pubkey(VerifierKey::from_file(p).unwrap());
    }
    if let Some(c) = checkpoint {
        opts = opts.checkpoint(file_name(c), std::fs::read_to_string(c).unwrap());
    }
    verify_dir(dir, &opts).unwrap()
}

/// Both verifiers on `dir`; asserts they agree and returns their common verdict.
fn both(dir: &Path, keys: &V2Keys, pubkey: Option<&Path>, checkpoint: Option<&Path>) -> Value {
    let kf = keys.key();
    let mut args: Vec<(&str, &Path)> = vec![("--key-file", &kf)];
    if let Some(p) = pubkey {
        args.push(("--pubkey", p));
    }
    if let Some(c) = checkpoint {
        args.push(("--checkpoint", c));
    }
    let rust = rust_essence(&rust_verify(dir, pubkey, checkpoint));
    let python = essence(&python_verify_with(dir, &args));
    assert_eq!(
        python, rust,
        "the verifiers disagree (left: verify.py, right: audit verify)"
    );
    rust
}

fn json(line: &str) -> Value {
    serde_json::from_str(line).unwrap()
}

fn epoch_of(line: &str) -> u64 {
    json(line)["epoch"].as_u64().unwrap()
}

/// The body of a record line: the line without its hash and mac, closed by `}`.
fn body(line: &str) -> String {
    let l = line.strip_suffix('\n').unwrap_or(line);
    format!("{}}}", &l[..l.len() - tracing_audit_core::SUFFIX_LEN])
}

/// The record line of `body`, hashed and MACed with the key of `epoch`: what a
/// forger who holds that epoch's key writes.
fn forge(body: &str, epoch: u64) -> String {
    let hash: [u8; 32] = Sha256::digest(body.as_bytes()).into();
    let mac = key().at_epoch(epoch).unwrap().mac(&hash);
    format!(
        "{},\"hash\":\"{}\",\"mac\":\"{}\"}}\n",
        &body[..body.len() - 1],
        hex::encode(hash),
        hex::encode(mac)
    )
}

/// Rewrites line `index` (0-based) of the segment at `path` as `change` makes its
/// body, hashed and MACed with the key of its (new) epoch; with `rechain`, every
/// later line of the file is linked to it again (prev, hash, mac with the key of
/// its epoch), as a forger holding the current key does. Returns the file name
/// and the 1-based line.
fn forge_line(
    path: &Path,
    index: usize,
    change: impl FnOnce(&str) -> String,
    rechain: bool,
) -> (String, u64) {
    let mut ls = lines(path);
    let b = change(&body(&ls[index]));
    assert_ne!(b, body(&ls[index]), "the change changed nothing");
    ls[index] = forge(&b, json(&b)["epoch"].as_u64().unwrap());
    if rechain {
        for j in index + 1..ls.len() {
            let old = format!("\"prev\":\"{}\"", json(&ls[j])["prev"].as_str().unwrap());
            let new = format!(
                "\"prev\":\"{}\"",
                json(&ls[j - 1])["hash"].as_str().unwrap()
            );
            let b = body(&ls[j]).replacen(&old, &new, 1);
            ls[j] = forge(&b, epoch_of(&ls[j]));
        }
    }
    rewrite(path, &ls.concat());
    (file_name(path), index as u64 + 1)
}

/// The index of the first line of `kind` in the segment at `path`, after `from`.
fn find(path: &Path, kind: &str, from: usize) -> usize {
    lines(path)
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, l)| json(l)["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} record after line {from} of {}", path.display()))
        .0
}

fn first_failure(v: &Value) -> (String, String, u64) {
    let f = &v["failures"][0];
    (
        f[0].as_str().unwrap().to_owned(),
        f[1].as_str().unwrap().to_owned(),
        f[2].as_u64().unwrap(),
    )
}

fn kinds(v: &Value) -> Vec<String> {
    v["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn python_verifier_agrees_on_an_intact_version_2_trail() {
    let keys = V2Keys::new();
    let (dir, copied) = v2_trail(&keys);
    let trail = trail_of(&dir);
    for (pubkey, checkpoint) in [
        (None, None),
        (Some(keys.pubkey()), None),
        (Some(keys.pubkey()), Some(copied.clone())),
    ] {
        let v = both(&trail, &keys, pubkey.as_deref(), checkpoint.as_deref());
        assert_eq!(
            (&v["ok"], &v["end"]),
            (&true.into(), &"sealed".into()),
            "{v}"
        );
        assert_eq!(v["macs_unchecked"], 0);
    }
    let report = rust_verify(&trail, Some(&keys.pubkey()), Some(&copied));
    assert!(
        report.checkpoint_records >= 8,
        "{}",
        report.checkpoint_records
    );
    assert_eq!(report.signatures_checked, report.checkpoint_records);
    assert_eq!(report.checkpoint_verified, Some(report.records));
}

/// The tamper matrix of version 2: each case is found by both verifiers, first at
/// the place docs/FORMAT.md §4 says, and they agree on every failure.
#[test]
fn python_verifier_agrees_on_version_2_tampering() {
    type Tamper = fn(&Path, &Path) -> (String, u64);
    let cases: [(&str, &str, Tamper); 8] = [
        (
            "a value changed and re-MACed with its epoch's key, the rest re-chained",
            "checkpoint_mismatch",
            |trail, _| {
                let last = segments(trail).pop().unwrap();
                let i = find(&last, "event", 0);
                forge_line(&last, i, |b| b.replacen("\"pool-", "\"poOl-", 1), true);
                // The chain is whole again: the next checkpoint record's root shows it.
                (file_name(&last), find(&last, "checkpoint", i) as u64 + 1)
            },
        ),
        (
            "a record's epoch moved back, MACed with that epoch's key",
            "epoch_mismatch",
            |trail, _| {
                let last = segments(trail).pop().unwrap();
                let i = find(&last, "event", 0);
                forge_line(
                    &last,
                    i,
                    |b| {
                        let e = json(b)["epoch"].as_u64().unwrap();
                        b.replacen(
                            &format!("\"epoch\":{e},"),
                            &format!("\"epoch\":{},", e - 1),
                            1,
                        )
                    },
                    true,
                )
            },
        ),
        (
            "a record's epoch moved forward, MACed with that epoch's key",
            "epoch_mismatch",
            |trail, _| {
                let last = segments(trail).pop().unwrap();
                let i = find(&last, "event", 0);
                forge_line(
                    &last,
                    i,
                    |b| {
                        let e = json(b)["epoch"].as_u64().unwrap();
                        b.replacen(
                            &format!("\"epoch\":{e},"),
                            &format!("\"epoch\":{},", e + 1),
                            1,
                        )
                    },
                    true,
                )
            },
        ),
        (
            "an epoch record whose from is wrong",
            "epoch_mismatch",
            |trail, _| {
                let last = segments(trail).pop().unwrap();
                let i = find(&last, "epoch", 0);
                forge_line(
                    &last,
                    i,
                    |b| {
                        let from = json(b)["from"].as_u64().unwrap();
                        b.replacen(
                            &format!("\"from\":{from}"),
                            &format!("\"from\":{}", from + 1),
                            1,
                        )
                    },
                    true,
                )
            },
        ),
        (
            "a version 1 record after version 2 ones",
            "unknown_version",
            |trail, _| {
                let last = segments(trail).pop().unwrap();
                let i = find(&last, "event", 0);
                forge_line(&last, i, |b| b.replacen("{\"v\":2,", "{\"v\":1,", 1), true)
            },
        ),
        (
            "the last lines cut off, against a copied checkpoint",
            "truncated",
            |trail, _| {
                let last = segments(trail).pop().unwrap();
                let ls = lines(&last);
                rewrite(&last, &ls[..ls.len() - 3].concat());
                (file_name(&last), ls.len() as u64 - 3)
            },
        ),
        (
            "the newest segment deleted, against a copied checkpoint",
            "truncated",
            |trail, _| {
                let segs = segments(trail);
                std::fs::remove_file(segs.last().unwrap()).unwrap();
                let before = &segs[segs.len() - 2];
                (file_name(before), lines(before).len() as u64)
            },
        ),
        (
            "history rolled back and continued, against an older copied checkpoint",
            "checkpoint_mismatch",
            |trail, copied| {
                // The copy is the note of a checkpoint record in the newest segment;
                // a record before it is changed (and re-chained): the trail holds more
                // records than the copy, whose root no longer matches.
                let last = segments(trail).pop().unwrap();
                let ls = lines(&last);
                let c = find(&last, "checkpoint", find(&last, "event", 0));
                std::fs::write(copied, json(&ls[c])["note"].as_str().unwrap()).unwrap();
                let i = find(&last, "event", 0);
                assert!(i < c);
                forge_line(&last, i, |b| b.replacen("\"pool-", "\"poOl-", 1), true);
                (file_name(&last), c as u64 + 1)
            },
        ),
    ];
    let keys = V2Keys::new();
    let mut wrong = Vec::new();
    for (name, kind, tamper) in cases {
        let (dir, copied) = v2_trail(&keys);
        let trail = trail_of(&dir);
        let (file, line) = tamper(&trail, &copied);
        let v = both(&trail, &keys, Some(&keys.pubkey()), Some(&copied));
        if first_failure(&v) != (kind.to_owned(), file.clone(), line) {
            wrong.push(format!(
                "{name}: expected {kind} at {file}:{line}, found {}",
                v["failures"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The newest segment's open record replaced by one of another stream (re-MACed,
/// the rest of the segment re-chained): `stream_mismatch` there.
#[test]
fn python_verifier_agrees_on_an_open_record_of_another_stream() {
    let keys = V2Keys::new();
    let (dir, _copied) = v2_trail(&keys);
    let trail = trail_of(&dir);
    let last = segments(&trail).pop().unwrap();
    forge_line(&last, 0, other_stream, true);
    let v = both(&trail, &keys, Some(&keys.pubkey()), None);
    assert_eq!(
        first_failure(&v),
        ("stream_mismatch".into(), file_name(&last), 1),
        "{v}"
    );
}

/// The open record `b` with another stream id.
fn other_stream(b: &str) -> String {
    let s = json(b)["stream"].as_str().unwrap().to_owned();
    b.replacen(&s, &"0f".repeat(16), 1)
}

/// docs/FORMAT.md §4 check 6: every open record must carry the stream of the
/// *first* open record read, and §4.2: a copied checkpoint's origin must be this
/// stream's. After a spliced open record of another stream, the genuine segments
/// that follow it are of this stream, and the copied checkpoint too.
#[test]
fn python_verifier_agrees_after_a_spliced_open_record() {
    let keys = V2Keys::new();
    // In a middle segment: the genuine open records after it pass.
    let (dir, _) = v2_trail(&keys);
    let trail = trail_of(&dir);
    let second = &segments(&trail)[1];
    forge_line(second, 0, other_stream, false);
    let v = both(&trail, &keys, Some(&keys.pubkey()), None);
    assert_eq!(
        kinds(&v).iter().filter(|k| *k == "stream_mismatch").count(),
        1,
        "{v}"
    );

    // In the newest segment, against the copied checkpoint (of the genuine
    // stream): checkpoint_mismatch at record N - 1 (the root), not stream_mismatch.
    let (dir, copied) = v2_trail(&keys);
    let trail = trail_of(&dir);
    let last = segments(&trail).pop().unwrap();
    forge_line(&last, 0, other_stream, true);
    let v = both(&trail, &keys, Some(&keys.pubkey()), Some(&copied));
    assert_eq!(kinds(&v).last().unwrap(), "checkpoint_mismatch", "{v}");
}

/// docs/FORMAT.md §4: check 6 (nothing follows a seal: `segment_order`) comes
/// before check 6a (`epoch_mismatch`) and 6b.
#[test]
fn python_verifier_agrees_on_an_epoch_record_after_the_seal() {
    let keys = V2Keys::new();
    let (dir, _) = v2_trail(&keys);
    let trail = trail_of(&dir);
    let last = segments(&trail).pop().unwrap();
    let mut ls = lines(&last);
    let epoch_record = ls[find(&last, "epoch", 0)].clone();
    ls.push(epoch_record);
    rewrite(&last, &ls.concat());
    let v = both(&trail, &keys, Some(&keys.pubkey()), None);
    assert_eq!(
        first_failure(&v),
        ("segment_order".into(), file_name(&last), ls.len() as u64),
        "{v}"
    );
}

/// docs/FORMAT.md §4 check 6b: a version 2 seal's `tree_size` and `frontier` must
/// equal the tree's (`malformed_line` for missing members). The final seal
/// stripped of both and re-MACed with the current key.
#[test]
fn python_verifier_agrees_on_a_seal_without_its_frontier() {
    let keys = V2Keys::new();
    let (dir, _) = v2_trail(&keys);
    let trail = trail_of(&dir);
    let last = segments(&trail).pop().unwrap();
    let n = lines(&last).len();
    let at = forge_line(
        &last,
        n - 1,
        |b| {
            let cut = b.find(",\"tree_size\":").unwrap();
            format!("{}}}", &b[..cut])
        },
        false,
    );
    let v = both(&trail, &keys, Some(&keys.pubkey()), None);
    assert_eq!(
        first_failure(&v),
        ("malformed_line".into(), at.0, at.1),
        "{v}"
    );
}

/// docs/FORMAT.md §4 check 5: the MAC is checked with the key of the record's own
/// epoch. A record claiming epoch 2^62 (hash recomputed, no key) must not make a
/// verifier derive 2^62 keys: verify.py reports `mac_mismatch` (nobody can have
/// made that MAC); `audit verify` must finish too.
#[test]
fn python_verifier_agrees_on_a_record_of_an_epoch_far_ahead() {
    let keys = V2Keys::new();
    let (dir, _) = v2_trail(&keys);
    let trail = trail_of(&dir);
    let last = segments(&trail).pop().unwrap();
    let i = find(&last, "event", 0);
    let mut ls = lines(&last);
    let e = epoch_of(&ls[i]);
    let b = body(&ls[i]).replacen(
        &format!("\"epoch\":{e},"),
        &format!("\"epoch\":{},", 1u64 << 62),
        1,
    );
    let hash: [u8; 32] = Sha256::digest(b.as_bytes()).into();
    ls[i] = format!(
        "{},\"hash\":\"{}\",\"mac\":\"{}\"}}\n",
        &b[..b.len() - 1],
        hex::encode(hash),
        "ab".repeat(32)
    );
    rewrite(&last, &ls.concat());
    let python = essence(&python_verify(&trail, &keys.key()));
    assert_eq!(
        first_failure(&python),
        ("mac_mismatch".into(), file_name(&last), i as u64 + 1),
        "{python}"
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let t = trail.clone();
    std::thread::spawn(move || tx.send(rust_essence(&rust_verify(&t, None, None))).unwrap());
    let rust = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("audit verify returns within a minute instead of deriving 2^62 epoch keys");
    assert_eq!(python, rust);
}

/// docs/FORMAT.md §4 check 6b: a checkpoint record's note "must parse as a
/// checkpoint of this stream's origin with that size and root; otherwise
/// checkpoint_mismatch" (`malformed_line` only for missing members).
#[test]
fn python_verifier_agrees_on_a_checkpoint_record_whose_note_does_not_parse() {
    let keys = V2Keys::new();
    let (dir, _) = v2_trail(&keys);
    let trail = trail_of(&dir);
    let last = segments(&trail).pop().unwrap();
    let c = find(&last, "checkpoint", 0);
    let at = forge_line(
        &last,
        c,
        |b| {
            let cut = b.find(",\"note\":\"").unwrap();
            format!("{},\"note\":\"not a signed note\\n\"}}", &b[..cut])
        },
        true,
    );
    let v = both(&trail, &keys, None, None);
    assert_eq!(
        first_failure(&v),
        ("checkpoint_mismatch".into(), at.0, at.1),
        "{v}"
    );
}

/// docs/FORMAT.md §4 check 6: "every open record must carry the stream and service
/// of the first open record read that has them".
#[test]
fn python_verifier_agrees_on_an_open_record_without_its_service() {
    let keys = V2Keys::new();
    let (dir, _) = v2_trail(&keys);
    let trail = trail_of(&dir);
    let last = segments(&trail).pop().unwrap();
    let at = forge_line(
        &last,
        0,
        |b| b.replacen("\"service\":\"test-service\",", "", 1),
        true,
    );
    let v = both(&trail, &keys, None, None);
    assert_eq!(
        first_failure(&v),
        ("stream_mismatch".into(), at.0, at.1),
        "{v}"
    );
}

/// docs/FORMAT.md §4 check 5: records whose epoch is earlier than the key given
/// cannot have their MAC checked, and verifiers "MUST say how many records were
/// not checked". verify.py counts every such record; `audit verify` leaves out
/// those that already failed `hash_mismatch`.
#[test]
fn python_verifier_agrees_on_unchecked_macs_of_a_changed_record() {
    let keys = V2Keys::new();
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    let writer_key = dir.path().join("writer.key");
    std::fs::copy(keys.key(), &writer_key).unwrap();
    write_with(v2_config(&trail, &keys.signer).key_file(&writer_key), 0..60);
    let first = &segments(&trail)[0];
    let mut ls = lines(first);
    ls[3] = ls[3].replacen("\"pool-", "\"poOl-", 1);
    rewrite(first, &ls.concat());
    let evolved = Key::from_file(&writer_key).unwrap();
    let rust = verify_dir(&trail, &VerifyOptions::new().key(evolved)).unwrap();
    assert_eq!(
        essence(&python_verify(&trail, &writer_key)),
        rust_essence(&rust)
    );
}

/// docs/FORMAT.md §4: after a line whose header could not be read the tree is
/// unknown "until the next `seal` gives it again": both verifiers take it from the
/// next seal's frontier, and so still find a later rewrite at the checkpoints after
/// it.
#[test]
fn python_verifier_agrees_on_the_tree_after_an_unreadable_line() {
    let keys = V2Keys::new();
    let (dir, _) = v2_trail(&keys);
    let trail = trail_of(&dir);
    let second = &segments(&trail)[1];
    let mut ls = lines(second);
    let i = find(second, "event", 0);
    ls[i] = ls[i].replacen(",\"mac\":\"", ",\"mac\" :\"", 1);
    rewrite(second, &ls.concat());
    let last = segments(&trail).pop().unwrap();
    let j = find(&last, "event", 0);
    forge_line(&last, j, |b| b.replacen("\"pool-", "\"poOl-", 1), true);
    let v = both(&trail, &keys, None, None);
    assert_eq!(
        kinds(&v),
        [
            "malformed_line",
            "checkpoint_mismatch",
            "checkpoint_mismatch"
        ],
        "{v}"
    );
}

/// §4.2: a trail cut at its end, or rewritten, against a copied checkpoint of
/// exactly its size (`checkpoint_mismatch` at record N − 1) or of an older size
/// (`inconsistent`).
#[test]
fn python_verifier_agrees_on_a_copied_checkpoint() {
    let keys = V2Keys::new();
    // The final checkpoint covers the seal: a re-chained change anywhere in the
    // newest segment makes the root of all N records differ.
    let (dir, copied) = v2_trail(&keys);
    let trail = trail_of(&dir);
    let last = segments(&trail).pop().unwrap();
    let n = lines(&last).len();
    let i = (0..n)
        .rev()
        .find(|&i| json(&lines(&last)[i])["kind"] == "event")
        .unwrap();
    forge_line(&last, i, |b| b.replacen("\"pool-", "\"poOl-", 1), true);
    let v = both(&trail, &keys, Some(&keys.pubkey()), Some(&copied));
    let f = v["failures"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        f,
        serde_json::json!([
            "checkpoint_mismatch",
            file_name(&last),
            n,
            json(&lines(&last)[n - 1])["seq"]
        ]),
        "{v}"
    );

    // An older copy, and the trail changed before it, then continued.
    let (dir, copied) = v2_trail(&keys);
    let trail = trail_of(&dir);
    let segs = segments(&trail);
    let second = &segs[1];
    let c = find(second, "checkpoint", find(second, "event", 0));
    let note = json(&lines(second)[c])["note"].as_str().unwrap().to_owned();
    std::fs::write(&copied, &note).unwrap();
    let v = both(&trail, &keys, Some(&keys.pubkey()), Some(&copied));
    assert_eq!(v["ok"], true, "an older checkpoint of the same trail: {v}");
    let i = find(second, "event", 0);
    forge_line(second, i, |b| b.replacen("\"pool-", "\"poOl-", 1), true);
    let v = both(&trail, &keys, Some(&keys.pubkey()), Some(&copied));
    let f = v["failures"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(f[0], "inconsistent", "{v}");
    assert_eq!(
        (&f[1], &f[2]),
        (&file_name(second).into(), &(c as u64).into()),
        "{v}"
    );
}

/// A wrong verifier key, a checkpoint whose signature was altered, and a
/// checkpoint of another stream.
#[test]
fn python_verifier_agrees_on_signatures_and_other_streams() {
    let keys = V2Keys::new();
    let (dir, copied) = v2_trail(&keys);
    let trail = trail_of(&dir);
    let v = both(&trail, &keys, Some(&keys.other_pubkey()), Some(&copied));
    let k = kinds(&v);
    assert!(
        k.len() >= 9 && k.iter().all(|k| k == "bad_signature"),
        "{v}"
    );
    assert_eq!(
        first_failure(&v),
        ("bad_signature".into(), "copied.checkpoint".into(), 1)
    );

    // The copied checkpoint's signature altered (a base64 character of the
    // signature, away from the padding).
    let text = std::fs::read_to_string(&copied).unwrap();
    let at = text.trim_end().len() - 6;
    let c = if &text[at..=at] == "A" { "B" } else { "A" };
    std::fs::write(&copied, format!("{}{c}{}", &text[..at], &text[at + 1..])).unwrap();
    let v = both(&trail, &keys, Some(&keys.pubkey()), Some(&copied));
    assert_eq!(kinds(&v), ["bad_signature"], "{v}");

    // The checkpoint of another stream, by the same signer.
    let (other, other_copied) = v2_trail(&keys);
    let v = both(&trail, &keys, Some(&keys.pubkey()), Some(&other_copied));
    assert_eq!(kinds(&v), ["stream_mismatch"], "{v}");
    drop(other);
}

/// §7: a stream may begin in version 1 and continue in version 2. The worked
/// example of docs/FORMAT.md (version 1) continued by a version 2 writer.
#[test]
fn python_verifier_agrees_on_a_version_1_stream_continued_in_version_2() {
    let doc = std::fs::read_to_string(repo_file("docs/FORMAT.md")).unwrap();
    let start = doc.find("<!-- example-segment: BEGIN -->").unwrap();
    let end = doc.find("<!-- example-segment: END -->").unwrap();
    let v1: Vec<&str> = doc[start..end]
        .lines()
        .filter(|l| l.starts_with('{'))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    std::fs::create_dir(&trail).unwrap();
    std::fs::set_permissions(&trail, std::fs::Permissions::from_mode(0o700)).unwrap();
    let first = trail.join(json(v1[0])["segment"].as_str().unwrap());
    std::fs::write(
        &first,
        v1.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let signer = SigningKey::generate("interop.example/log").unwrap();
    let demo = Key::from_hex(DEMO_KEY).unwrap();
    let c = WriterConfig::new(&trail, "quickstart", demo.clone())
        .rotation("size:8KiB".parse::<Rotation>().unwrap())
        .epoch_interval(None)
        .signing_key(signer.clone())
        .checkpoint_interval(Duration::ZERO);
    write_with(c, 0..40);
    let kf = key_file(dir.path(), DEMO_KEY);
    let pubkey = dir.path().join("pub");
    std::fs::write(&pubkey, format!("{}\n", signer.verifier())).unwrap();
    let opts = VerifyOptions::new()
        .key(demo)
        .pubkey(signer.verifier())
        .checkpoint(
            "checkpoint",
            std::fs::read_to_string(trail.join("checkpoint")).unwrap(),
        );
    let rust = rust_essence(&verify_dir(&trail, &opts).unwrap());
    let python = essence(&python_verify_with(
        &trail,
        &[
            ("--key-file", &kf),
            ("--pubkey", &pubkey),
            ("--checkpoint", &trail.join("checkpoint")),
        ],
    ));
    assert_eq!(python, rust);
    assert_eq!(rust["ok"], true, "{rust}");
    let segs = segments(&trail);
    assert!(segs.len() >= 3);
    assert_eq!(json(&lines(&segs[1])[0])["v"], 2);

    // Going back: a version 1 segment after the version 2 ones.
    let newest = segs.last().unwrap();
    let i = find(newest, "event", 0);
    forge_line_with(newest, i, DEMO_KEY, |b| {
        b.replacen("{\"v\":2,", "{\"v\":1,", 1)
    });
    let rust = rust_essence(
        &verify_dir(
            &trail,
            &VerifyOptions::new().key(Key::from_hex(DEMO_KEY).unwrap()),
        )
        .unwrap(),
    );
    let python = essence(&python_verify(&trail, &kf));
    assert_eq!(python, rust);
    assert_eq!(rust["failures"][0][0], "unknown_version", "{rust}");
}

/// Like [`forge_line`] without re-chaining, with another initial key.
fn forge_line_with(path: &Path, index: usize, key_hex: &str, change: impl FnOnce(&str) -> String) {
    let mut ls = lines(path);
    let b = change(&body(&ls[index]));
    let hash: [u8; 32] = Sha256::digest(b.as_bytes()).into();
    let epoch = json(&b)["epoch"].as_u64().unwrap();
    let mac = Key::from_hex(key_hex)
        .unwrap()
        .at_epoch(epoch)
        .unwrap()
        .mac(&hash);
    ls[index] = format!(
        "{},\"hash\":\"{}\",\"mac\":\"{}\"}}\n",
        &b[..b.len() - 1],
        hex::encode(hash),
        hex::encode(mac)
    );
    rewrite(path, &ls.concat());
}

/// §5.2: the writer's key file after its epochs advanced (the version 2 form)
/// checks the records of its epoch and later, and counts the earlier ones as
/// unchecked; K(0) (the verifier's copy) checks them all.
#[test]
fn python_verifier_agrees_with_an_evolved_key_file() {
    let keys = V2Keys::new();
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    let writer_key = dir.path().join("writer.key");
    std::fs::copy(keys.key(), &writer_key).unwrap();
    std::fs::set_permissions(&writer_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    write_with(v2_config(&trail, &keys.signer).key_file(&writer_key), 0..60);
    let text = std::fs::read_to_string(&writer_key).unwrap();
    assert!(text.starts_with("tracing-audit key v2\nepoch "), "{text}");
    let evolved = Key::from_file(&writer_key).unwrap();
    assert!(evolved.epoch() >= 3);
    let rust = verify_dir(&trail, &VerifyOptions::new().key(evolved.clone())).unwrap();
    let python = essence(&python_verify(&trail, &writer_key));
    assert_eq!(python, rust_essence(&rust));
    assert!(
        rust.ok() && rust.macs_unchecked > 0 && rust.macs_unchecked < rust.records,
        "{}",
        rust.macs_unchecked
    );

    // A record of the key's epoch MACed with another key (K(0)) is still found.
    let last = segments(&trail).pop().unwrap();
    let i = find(&last, "event", 0);
    let mut ls = lines(&last);
    let b = body(&ls[i]).replacen("\"pool-", "\"poOl-", 1);
    ls[i] = forge(&b, 0);
    rewrite(&last, &ls.concat());
    let rust = verify_dir(&trail, &VerifyOptions::new().key(evolved)).unwrap();
    let python = essence(&python_verify(&trail, &writer_key));
    assert_eq!(python, rust_essence(&rust));
    assert_eq!(python["failures"][0][0], "mac_mismatch", "{python}");
}

/// verify.py given --pubkey without the `cryptography` package stops with an error
/// that says so rather than skipping the signatures; --checkpoint needs --pubkey.
#[test]
fn python_verifier_refuses_pubkey_without_cryptography() {
    let keys = V2Keys::new();
    let (dir, copied) = v2_trail(&keys);
    let fake = tempfile::tempdir().unwrap();
    std::fs::create_dir(fake.path().join("cryptography")).unwrap();
    std::fs::write(
        fake.path().join("cryptography/__init__.py"),
        "raise ImportError('no cryptography here (test)')\n",
    )
    .unwrap();
    let run = |args: &[&std::ffi::OsStr], pythonpath: Option<&Path>| {
        let mut cmd = Command::new("python3");
        cmd.arg(repo_file("tests/interop/verify.py"))
            .arg(trail_of(&dir))
            .args(args);
        if let Some(p) = pythonpath {
            cmd.env("PYTHONPATH", p);
        }
        cmd.output().unwrap()
    };
    let pubkey = keys.pubkey();
    let out = run(
        &["--pubkey".as_ref(), pubkey.as_os_str()],
        Some(fake.path()),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--pubkey needs the Python package `cryptography`"),
        "{err}"
    );
    let out = run(&["--checkpoint".as_ref(), copied.as_os_str()], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--checkpoint needs --pubkey"), "{err}");
}
