//! `note` against published vectors (golang.org/x/mod/sumdb/note, c2sp.org/signed-note,
//! a checkpoint of a Certificate Transparency log with a witness's cosignature), and
//! against an independent Ed25519 implementation: Python's `cryptography` package.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use tracing_audit_core::ErrorKind;
use tracing_audit_core::note::{
    Checkpoint, ConsistencyRequest, InclusionProofFile, Note, SignatureType, SigningKey,
    VerifierKey, cosign, sign, verify_cosignature,
};

/// golang.org/x/mod/sumdb/note, note_test.go (TestNewSigner, TestSign, TestOpen):
/// a signer key, its verifier key, a text and its signed note.
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                          then you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
/// The same test file's second key, and its signature of the same text.
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

#[test]
fn the_go_signer_key_gives_the_go_verifier_key_and_signature() {
    let key = SigningKey::parse(PETER_SKEY).unwrap();
    assert_eq!(key.name(), "PeterNeumann");
    assert_eq!(key.verifier().to_string(), PETER_VKEY);
    assert_eq!(*key.private_text(), PETER_SKEY);
    // Ed25519 is deterministic: the same bytes as Go's note.Sign.
    assert_eq!(
        sign(PETER_TEXT, &key).unwrap(),
        format!("{PETER_TEXT}\n{PETER_SIG}")
    );
}

#[test]
fn the_go_notes_verify_and_unknown_signatures_are_kept() {
    let peter = VerifierKey::parse(PETER_VKEY).unwrap();
    let enoch = VerifierKey::parse(ENOCH_VKEY).unwrap();
    assert_eq!(enoch.key_id(), 0xaf0c_fe78);
    let text = format!("{PETER_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let note = Note::parse(&text).unwrap();
    assert_eq!(note.body(), PETER_TEXT);
    assert_eq!(note.to_string(), text);
    note.verify(&peter).unwrap();
    note.verify(&enoch).unwrap();
    let keys: Vec<(&str, u32)> = note
        .signatures()
        .iter()
        .map(|s| (s.name(), s.key_id()))
        .collect();
    assert_eq!(
        keys,
        [("PeterNeumann", 0xc74f_20a3), ("EnochRoot", 0xaf0c_fe78)]
    );

    // TestOpen's "invalid signature": four characters inserted in Peter's line.
    let bad = format!("{PETER_TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let err = Note::parse(&bad).unwrap().verify(&peter).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadSignature, "{err}");
    // Only Enoch signed: no signature by Peter.
    let only_enoch = Note::parse(&format!("{PETER_TEXT}\n{ENOCH_SIG}")).unwrap();
    let err = only_enoch.verify(&peter).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoSignature, "{err}");
    assert!(
        err.to_string()
            .contains("expected a signature by PeterNeumann+c74f20a3"),
        "{err}"
    );
}

/// The example of c2sp.org/signed-note v1.1.0 ("Verifier keys"), as quoted by several
/// implementations (the copy of the specification searched held an older version).
#[test]
fn the_signed_note_specification_example_verifies() {
    let key =
        VerifierKey::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
            .unwrap();
    let note = Note::parse(
        "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n",
    )
    .unwrap();
    note.verify(&key).unwrap();
    assert_eq!(
        hex::encode(key.public_key()),
        "e932791ae6e7a840a46164c904786426d5e7821dd8b29a00d61cae72afdd4da4"
    );
}

/// A checkpoint of the staging Certificate Transparency log arche2025h1 with five
/// witness cosignatures (from the tests of a Python implementation, tlog_scales),
/// and the verifier keys of the log and of the witness remora.n621.de (the latter
/// also in transparency-dev/formats, note/note_cosigv1_test.go). The first line is
/// an RFC 6962 tree head signature (type 0x05), which is kept and ignored.
const ARCHE: &str = "arche2025h1.staging.ct.transparency.dev
1432088532
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=

— arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=
— arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=
— transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==
— witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==
— remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==
— witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==
";
const ARCHE_VKEY: &str =
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f";
const REMORA_VKEY: &str = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";

#[test]
fn a_published_checkpoint_and_its_cosignature_verify() {
    let log = VerifierKey::parse(ARCHE_VKEY).unwrap();
    let witness = VerifierKey::parse(REMORA_VKEY).unwrap();
    assert_eq!(witness.signature_type(), SignatureType::CosignatureV1);
    let note = Note::parse(ARCHE).unwrap();
    assert_eq!(note.to_string(), ARCHE);
    assert_eq!(note.signatures().len(), 6);
    note.verify(&log).unwrap();
    // 2026-05-23T21:50:24Z.
    assert_eq!(verify_cosignature(&note, &witness).unwrap(), 1_779_573_024);
    let checkpoint = Checkpoint::parse(note.body()).unwrap();
    assert_eq!(checkpoint.origin, "arche2025h1.staging.ct.transparency.dev");
    assert_eq!(checkpoint.size, 1_432_088_532);
    assert!(checkpoint.extensions.is_empty());

    // One digit of the size changed: both signatures fail.
    let edited = Note::parse(&ARCHE.replacen("1432088532", "1432088533", 1)).unwrap();
    assert_eq!(
        edited.verify(&log).unwrap_err().kind(),
        ErrorKind::BadSignature
    );
    assert_eq!(
        verify_cosignature(&edited, &witness).unwrap_err().kind(),
        ErrorKind::BadSignature
    );
}

#[test]
fn key_files_round_trip_and_a_proof_file_carries_a_cosigned_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("log.key");
    let witness_path = dir.path().join("witness.key");
    SigningKey::generate("example.com/audit")
        .unwrap()
        .write_new_files(&log_path)
        .unwrap();
    SigningKey::generate("witness.example/w1")
        .unwrap()
        .write_new_files(&witness_path)
        .unwrap();
    let log = SigningKey::from_file(&log_path).unwrap();
    let witness = SigningKey::from_file(&witness_path).unwrap();
    let log_public = VerifierKey::from_file(&dir.path().join("log.key.pub")).unwrap();

    let leaves: Vec<[u8; 32]> = (0u8..9)
        .map(|i| tracing_audit_core::merkle::leaf_hash(&[i]))
        .collect();
    let checkpoint = Checkpoint::new(
        "example.com/audit",
        9,
        tracing_audit_core::merkle::root(&leaves),
    );
    let mut note = Note::parse(&sign(&checkpoint.body().unwrap(), &log).unwrap()).unwrap();

    // The witness receives the request, checks it, cosigns.
    let request = ConsistencyRequest {
        old_size: 5,
        proof: tracing_audit_core::merkle::consistency_proof(&leaves, 5).unwrap(),
        checkpoint_note: note.clone(),
    };
    let received = ConsistencyRequest::parse(&request.format().unwrap()).unwrap();
    received.checkpoint_note.verify(&log_public).unwrap();
    let line = cosign(received.checkpoint_note.body(), &witness, 1_767_225_600).unwrap();
    note.add_signature(line).unwrap();

    let path = dir.path().join("entry-4.tlog-proof");
    let proof = InclusionProofFile {
        extra: Some(b"entry 4".to_vec()),
        index: 4,
        hashes: tracing_audit_core::merkle::inclusion_proof(&leaves, 4).unwrap(),
        checkpoint_note: note,
    };
    std::fs::write(&path, proof.format().unwrap()).unwrap();

    let read = InclusionProofFile::from_file(&path).unwrap();
    assert_eq!(read, proof);
    read.checkpoint_note.verify(&log_public).unwrap();
    assert_eq!(
        verify_cosignature(&read.checkpoint_note, &witness.cosignature_verifier()).unwrap(),
        1_767_225_600
    );
    let checkpoint = read.checkpoint().unwrap();
    tracing_audit_core::merkle::verify_inclusion(
        &leaves[4],
        read.index,
        checkpoint.size,
        &read.hashes,
        &checkpoint.root,
    )
    .unwrap();
}

/// What Python runs: from the documented formats alone, it reads the verifier keys,
/// finds the signature lines by name and key id, verifies the log's signature and
/// the witness's cosignature with `cryptography`'s Ed25519, and signs the same
/// messages again from the signer key texts, which must give the same bytes.
const PYTHON_CHECK: &str = r#"
import base64, hashlib, struct, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

log_vkey, witness_vkey, log_skey, witness_skey = sys.argv[1:5]
note = sys.stdin.buffer.read()
split = note.rindex(b"\n\n")
text, lines = note[:split + 1], note[split + 2:].decode("utf-8").split("\n")
assert lines[-1] == "", "the last signature line ends with a newline"

def vkey(v, want_type):
    name, key_id, b64 = v.split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    assert raw[0] == want_type and len(raw) == 33, "type and length"
    assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == key_id, "key id"
    return name, int(key_id, 16), raw[1:]

def signature(name, key_id):
    for line in lines[:-1]:
        assert line.startswith("\u2014 "), line
        n, b64 = line[2:].split(" ")
        raw = base64.b64decode(b64, validate=True)
        if n == name and struct.unpack(">I", raw[:4])[0] == key_id:
            return raw[4:]
    raise SystemExit("no signature line of " + name)

def seed(skey):
    prefix, key, name, key_id, b64 = skey.split("+", 4)
    assert (prefix, key) == ("PRIVATE", "KEY")
    raw = base64.b64decode(b64, validate=True)
    assert raw[0] == 1 and len(raw) == 33
    return raw[1:]

name, key_id, public = vkey(log_vkey, 1)
sig = signature(name, key_id)
Ed25519PublicKey.from_public_bytes(public).verify(sig, text)

w_name, w_key_id, w_public = vkey(witness_vkey, 4)
cosig = signature(w_name, w_key_id)
assert len(cosig) == 72
timestamp = struct.unpack(">Q", cosig[:8])[0]
message = b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + text
Ed25519PublicKey.from_public_bytes(w_public).verify(cosig[8:], message)

assert Ed25519PrivateKey.from_private_bytes(seed(log_skey)).sign(text) == sig
assert Ed25519PrivateKey.from_private_bytes(seed(witness_skey)).sign(message) == cosig[8:]
print("verified", timestamp)
"#;

fn python_check(note: &str, args: &[String]) -> std::process::Output {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(PYTHON_CHECK)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(note.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Needs python3 with the `cryptography` package; fails, rather than passes, without
/// it (`pip install cryptography`).
#[test]
fn python_cryptography_verifies_our_notes_and_cosignatures_and_signs_the_same_bytes() {
    let probe = Command::new("python3")
        .args(["-c", "import cryptography"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "this test checks our signatures with Python's `cryptography` package, which python3 cannot import: run `pip install cryptography` ({})",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(e) => panic!(
            "this test needs python3 with the `cryptography` package (`pip install cryptography`); python3 cannot be run: {e}"
        ),
    }
    let log = SigningKey::generate("example.com/audit-log").unwrap();
    let witness = SigningKey::generate("witness.example/w1").unwrap();
    let mut checkpoint = Checkpoint::new("example.com/audit-log", 1234, [0x5a; 32]);
    checkpoint.extensions = vec!["an extension — with UTF-8".to_owned()];
    let body = checkpoint.body().unwrap();
    let mut note = Note::parse(&sign(&body, &log).unwrap()).unwrap();
    note.add_signature(cosign(&body, &witness, 1_767_225_600).unwrap())
        .unwrap();
    let text = note.to_string();
    let args = [
        log.verifier().to_string(),
        witness.cosignature_verifier().to_string(),
        log.private_text().to_string(),
        witness.private_text().to_string(),
    ];

    let out = python_check(&text, &args);
    assert!(
        out.status.success(),
        "Python refused our note:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "verified 1767225600"
    );

    // The check can fail: Python refuses the note with one byte of the size changed.
    let edited = text.replacen("\n1234\n", "\n1235\n", 1);
    let out = python_check(&edited, &args);
    assert!(!out.status.success(), "Python accepted an edited note");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("InvalidSignature"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
