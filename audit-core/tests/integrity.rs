//! Integrity beyond the chain (issue 11): signed checkpoints catch truncation,
//! rollback and rewritten history; key epochs keep a stolen key from forging the
//! past; the stream id catches segments of another stream. Every case runs on a
//! real trail written by the writer, tampered with as an attacker would.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use tracing_audit_core::note::{SigningKey, VerifierKey};
use tracing_audit_core::{
    ErrorKind, Event, FailureKind, Key, Report, Rotation, VerifyOptions, Writer, WriterConfig,
    verify_dir,
};

fn key() -> Key {
    Key::from_bytes([9; 32])
}

fn signer() -> SigningKey {
    SigningKey::from_seed("test-log", &[3; 32]).unwrap()
}

/// A writer that signs a checkpoint after every batch and rotates every 4 KiB (so
/// the key epoch advances at every rotation).
fn config(dir: &Path) -> WriterConfig {
    WriterConfig::new(dir, "billing", key())
        .signing_key(signer())
        .checkpoint_interval(Duration::ZERO)
        .rotation(Rotation::never().max_bytes(4096))
}

fn write_events(w: &mut Writer, n: u64) {
    for i in 0..n {
        let e = Event::new("invoice.paid").field("invoice", format!("inv-{i:04}"));
        w.append(&[e.into()]).unwrap();
    }
}

/// A closed trail of `n` events in `dir`; returns the final checkpoint's text.
fn trail(dir: &Path, n: u64) -> String {
    let mut w = Writer::open(config(dir)).unwrap();
    write_events(&mut w, n);
    w.close().unwrap();
    std::fs::read_to_string(dir.join("checkpoint")).unwrap()
}

fn verify_with(dir: &Path, checkpoint: Option<&str>, pubkey: VerifierKey) -> Report {
    let mut opts = VerifyOptions::new().key(key()).pubkey(pubkey);
    if let Some(c) = checkpoint {
        opts = opts.checkpoint("copied.checkpoint", c);
    }
    verify_dir(dir, &opts).unwrap()
}

fn verify_against(dir: &Path, checkpoint: &str) -> Report {
    verify_with(dir, Some(checkpoint), signer().verifier())
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("seg-"))
        .collect();
    v.sort();
    v
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .split_inclusive('\n')
        .map(str::to_owned)
        .collect()
}

fn rewrite(path: &Path, lines: &[String]) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(path, lines.concat()).unwrap();
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_str().unwrap().to_owned()
}

fn header(line: &str) -> serde_json::Value {
    let body = format!("{}}}", &line[..line.rfind(",\"hash\":").unwrap()]);
    serde_json::from_str(&body).unwrap()
}

/// Re-seals a line whose body was edited: sets `prev`, recomputes the hash and
/// MACs it with `key` — what a forger holding `key` does. Returns the new hash.
fn reseal(line: &str, prev: &str, key: &Key) -> (String, String) {
    let body_open = &line[..line.rfind(",\"hash\":").unwrap()];
    let at = body_open.find("\"prev\":\"").unwrap() + 8;
    let body_open = format!("{}{prev}{}", &body_open[..at], &body_open[at + 64..]);
    let hash: [u8; 32] = Sha256::digest(format!("{body_open}}}").as_bytes()).into();
    let mac = key.mac(&hash);
    (
        format!(
            "{body_open},\"hash\":\"{}\",\"mac\":\"{}\"}}\n",
            hex::encode(hash),
            hex::encode(mac)
        ),
        hex::encode(hash),
    )
}

fn only_failure(report: &Report) -> &tracing_audit_core::Failure {
    assert_eq!(report.failures.len(), 1, "{:#?}", report.failures);
    &report.failures[0]
}

#[test]
fn an_intact_trail_extends_its_checkpoint_and_every_signature_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let cp = trail(dir.path(), 60);
    let report = verify_against(dir.path(), &cp);
    assert!(report.ok(), "{:#?}", report.failures);
    assert_eq!(report.checkpoint_verified, Some(report.records));
    assert!(report.checkpoint_records > 10);
    assert_eq!(report.signatures_checked, report.checkpoint_records);
    assert!(segments(dir.path()).len() >= 3);
    assert_eq!(report.macs_unchecked, 0);
}

#[test]
fn the_last_records_cut_off_are_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let cp = trail(dir.path(), 60);
    let last = segments(dir.path()).pop().unwrap();
    let mut ls = lines(&last);
    ls.truncate(ls.len() - 3);
    rewrite(&last, &ls);
    let report = verify_against(dir.path(), &cp);
    let f = only_failure(&report);
    assert_eq!(f.kind, FailureKind::Truncated, "{f:?}");
    assert_eq!(
        (f.file.as_str(), f.line),
        (file_name(&last).as_str(), ls.len() as u64)
    );
    assert_eq!(f.seq, Some(report.records - 1));
    assert!(f.detail.contains("cut off the end"), "{}", f.detail);
}

#[test]
fn the_last_segment_deleted_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let cp = trail(dir.path(), 60);
    let mut segs = segments(dir.path());
    std::fs::remove_file(segs.pop().unwrap()).unwrap();
    let before = segs.pop().unwrap();
    let report = verify_against(dir.path(), &cp);
    let f = only_failure(&report);
    assert_eq!(f.kind, FailureKind::Truncated, "{f:?}");
    assert_eq!(
        (f.file.as_str(), f.line),
        (file_name(&before).as_str(), lines(&before).len() as u64)
    );
}

#[test]
fn the_seal_of_a_sealed_trail_cut_off_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let cp = trail(dir.path(), 10);
    let last = segments(dir.path()).pop().unwrap();
    let mut ls = lines(&last);
    assert_eq!(header(ls.last().unwrap())["kind"], "seal");
    ls.pop();
    rewrite(&last, &ls);
    // Without the copied checkpoint the records all verify: only the end is unproven.
    let alone = verify_with(dir.path(), None, signer().verifier());
    assert!(alone.ok(), "{:#?}", alone.failures);
    let report = verify_against(dir.path(), &cp);
    let f = only_failure(&report);
    assert_eq!(f.kind, FailureKind::Truncated, "{f:?}");
    assert_eq!(f.line, ls.len() as u64);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn a_directory_rolled_back_to_an_older_copy_is_truncated_then_inconsistent() {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    let old = root.path().join("old");
    trail(&live, 20);
    copy_dir(&live, &old);
    let cp = trail(&live, 20); // the writer carries on; its checkpoint is copied out
    // The attacker restores yesterday's copy.
    std::fs::remove_dir_all(&live).unwrap();
    copy_dir(&old, &live);
    let report = verify_against(&live, &cp);
    assert_eq!(only_failure(&report).kind, FailureKind::Truncated);
    // ... and lets the service write on, past the checkpoint's size.
    trail(&live, 40);
    let report = verify_against(&live, &cp);
    let f = only_failure(&report);
    assert_eq!(f.kind, FailureKind::Inconsistent, "{f:?}");
    let size = tracing_audit_core::note::Checkpoint::parse(
        tracing_audit_core::note::Note::parse(&cp).unwrap().body(),
    )
    .unwrap()
    .size;
    assert_eq!(f.seq, Some(size - 1));
}

#[test]
fn a_record_rewritten_and_remaced_with_the_right_key_is_caught_by_the_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let cp = trail(dir.path(), 60);
    let segs = segments(dir.path());
    let target = &segs[1];
    let mut ls = lines(target);
    // The first event of the second segment; the forger holds every key.
    let i = ls
        .iter()
        .position(|l| header(l)["kind"] == "event")
        .unwrap();
    let edited_seq = header(&ls[i])["seq"].as_u64().unwrap();
    ls[i] = ls[i].replacen("inv-", "INV-", 1);
    // Re-chain every record from there on, each with its own epoch's key.
    let mut prev = header(&ls[i])["prev"].as_str().unwrap().to_owned();
    let mut files = vec![(target.clone(), ls)];
    for s in &segs[2..] {
        files.push((s.clone(), lines(s)));
    }
    for (n, (_, ls)) in files.iter_mut().enumerate() {
        let from = if n == 0 { i } else { 0 };
        for l in &mut ls[from..] {
            let epoch = header(l)["epoch"].as_u64().unwrap();
            let (new, hash) = reseal(l, &prev, &key().at_epoch(epoch).unwrap());
            *l = new;
            prev = hash;
        }
    }
    for (p, ls) in &files {
        rewrite(p, ls);
    }
    let report = verify_against(dir.path(), &cp);
    assert!(!report.ok());
    // No link, hash or MAC breaks: the first failure is the first signed commitment
    // after the edit, which no longer matches the records.
    let first = report.first_failure().unwrap();
    assert_eq!(first.kind, FailureKind::CheckpointMismatch, "{first:?}");
    assert!(first.seq.unwrap() > edited_seq);
    assert!(report.failures.iter().all(|f| matches!(
        f.kind,
        FailureKind::CheckpointMismatch | FailureKind::Inconsistent
    )));
    // And the copied checkpoint does not match the trail of its size.
    let last = report.failures.last().unwrap();
    assert_eq!(last.kind, FailureKind::CheckpointMismatch);
    assert_eq!(last.seq, Some(report.records - 1));
    assert!(
        last.detail
            .contains("changed after the checkpoint was signed")
    );
}

#[test]
fn a_checkpoint_signed_by_another_key_or_edited_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cp = trail(dir.path(), 10);
    let other = SigningKey::from_seed("test-log", &[4; 32]).unwrap();
    let report = verify_with(dir.path(), Some(&cp), other.verifier());
    assert_eq!(report.failures[0].kind, FailureKind::BadSignature);
    assert_eq!(report.failures[0].file, "copied.checkpoint");
    // The in-trail checkpoints are refused with that key too.
    assert!(
        report.failures[1..]
            .iter()
            .all(|f| f.kind == FailureKind::BadSignature)
    );
    assert_eq!(report.failures.len() as u64, report.checkpoint_records + 1);

    // One byte edited: the size.
    let size_line = cp.lines().nth(1).unwrap();
    let edited = cp.replacen(
        &format!("\n{size_line}\n"),
        &format!("\n{}\n", size_line.parse::<u64>().unwrap() - 1),
        1,
    );
    let report = verify_against(dir.path(), &edited);
    let f = only_failure(&report);
    assert_eq!(f.kind, FailureKind::BadSignature, "{f:?}");
}

/// A trail over several key epochs; returns (segments, the newest epoch).
fn epochs_trail(dir: &Path) -> (Vec<PathBuf>, u64) {
    let mut w = Writer::open(config(dir)).unwrap();
    write_events(&mut w, 60);
    let epoch = w.epoch();
    w.close().unwrap();
    assert!(epoch >= 3, "epoch {epoch}");
    (segments(dir), epoch)
}

#[test]
fn a_stolen_current_key_cannot_forge_an_earlier_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let (segs, epoch) = epochs_trail(dir.path());
    let stolen = key().at_epoch(epoch).unwrap();
    let target = &segs[segs.len() - 2];
    let mut ls = lines(target);
    let i = ls
        .iter()
        .position(|l| header(l)["kind"] == "event")
        .unwrap();
    let h = header(&ls[i]);
    assert!(h["epoch"].as_u64().unwrap() < epoch);
    // Re-MACed with the stolen key, its epoch left as it was.
    let edited = ls[i].replacen("inv-", "INV-", 1);
    let (forged, _) = reseal(&edited, h["prev"].as_str().unwrap(), &stolen);
    ls[i] = forged.clone();
    rewrite(target, &ls);
    let report = verify_with(dir.path(), None, signer().verifier());
    let first = report.first_failure().unwrap();
    assert_eq!(first.kind, FailureKind::MacMismatch, "{first:?}");
    assert_eq!(
        (first.file.as_str(), first.line),
        (file_name(target).as_str(), i as u64 + 1)
    );

    // Claiming the current epoch instead: the MAC is right, the position is not.
    let claimed = edited.replacen(
        &format!("\"epoch\":{},", h["epoch"]),
        &format!("\"epoch\":{epoch},"),
        1,
    );
    let (forged, _) = reseal(&claimed, h["prev"].as_str().unwrap(), &stolen);
    ls[i] = forged;
    rewrite(target, &ls);
    let report = verify_with(dir.path(), None, signer().verifier());
    let first = report.first_failure().unwrap();
    assert_eq!(first.kind, FailureKind::EpochMismatch, "{first:?}");
    assert_eq!(first.line, i as u64 + 1);
}

#[test]
fn a_record_copied_from_another_epochs_position_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (segs, _) = epochs_trail(dir.path());
    let from = lines(&segs[0]);
    let copied = from
        .iter()
        .find(|l| header(l)["kind"] == "event")
        .unwrap()
        .clone();
    let last = segs.last().unwrap();
    let mut ls = lines(last);
    ls.insert(3, copied);
    rewrite(last, &ls);
    let report = verify_with(dir.path(), None, signer().verifier());
    let first = report.first_failure().unwrap();
    assert_eq!(first.kind, FailureKind::EpochMismatch, "{first:?}");
    assert_eq!(
        (first.file.as_str(), first.line),
        (file_name(last).as_str(), 4)
    );
}

#[test]
fn a_segment_of_another_stream_with_the_same_key_is_caught() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    trail(&a, 60);
    trail(&b, 60);
    let (sa, sb) = (segments(&a), segments(&b));
    assert_eq!(sa.len(), sb.len());
    // B's last segment in place of A's (same first seq: the trails are alike).
    let victim = sa.last().unwrap();
    std::fs::remove_file(victim).unwrap();
    let spliced = a.join(sb.last().unwrap().file_name().unwrap());
    std::fs::copy(sb.last().unwrap(), &spliced).unwrap();
    let report = verify_with(&a, None, signer().verifier());
    let first = report.first_failure().unwrap();
    assert_eq!(first.kind, FailureKind::StreamMismatch, "{first:?}");
    assert_eq!(
        (first.file.as_str(), first.line),
        (file_name(&spliced).as_str(), 1)
    );
}

#[test]
fn a_writer_refuses_to_carry_on_a_stream_under_another_service() {
    let dir = tempfile::tempdir().unwrap();
    trail(dir.path(), 3);
    let mut c = config(dir.path());
    c.service = "payroll".into();
    let err = Writer::open(c).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string().contains(
            "expected a stream of service \"payroll\", found the stream of service \"billing\""
        ),
        "{err}"
    );
}

#[test]
fn the_key_file_holds_only_the_current_epoch_and_the_initial_key_checks_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    key().write_new_file(&key_file).unwrap();
    let initial_hex = hex::encode([9u8; 32]);
    let trail_dir = dir.path().join("trail");
    let mut w = Writer::open(config(&trail_dir).key_file(&key_file)).unwrap();
    write_events(&mut w, 40);
    let epoch = w.epoch();
    w.close().unwrap();
    assert!(epoch >= 2);
    let text = std::fs::read_to_string(&key_file).unwrap();
    assert!(text.starts_with("tracing-audit key v2\n"), "{text}");
    assert!(text.contains(&format!("\nepoch {epoch}\n")), "{text}");
    assert!(!text.contains(&initial_hex));
    let evolved = Key::from_file(&key_file).unwrap();
    assert_eq!((evolved.epoch(), evolved.id()), (epoch, key().id()));
    // Fingerprints keep correlating: the subkey is the initial key's.
    assert_eq!(
        evolved.fingerprint_key().mac_bytes(b"alice"),
        key().derive("fingerprint").mac_bytes(b"alice")
    );

    // A writer started with the evolved key carries on.
    let mut w = Writer::open(
        WriterConfig::new(&trail_dir, "billing", evolved.clone())
            .signing_key(signer())
            .key_file(&key_file),
    )
    .unwrap();
    write_events(&mut w, 3);
    w.close().unwrap();

    let all = verify_dir(&trail_dir, &VerifyOptions::new().key(key())).unwrap();
    assert!(all.ok(), "{:#?}", all.failures);
    assert_eq!(all.macs_unchecked, 0);
    // The evolved key cannot check the earlier epochs: counted, not failed.
    let later = verify_dir(&trail_dir, &VerifyOptions::new().key(evolved)).unwrap();
    assert!(later.ok(), "{:#?}", later.failures);
    assert!(later.macs_unchecked > 0 && later.macs_unchecked < later.records);
}

#[test]
fn a_zero_heartbeat_or_epoch_interval_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for c in [
        config(dir.path()).checkpoint_heartbeat(Duration::ZERO),
        config(dir.path()).epoch_interval(Some(Duration::ZERO)),
    ] {
        let err = Writer::open(c).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(
            err.to_string()
                .contains("every idle tick would write a record"),
            "{err}"
        );
    }
}

#[test]
fn an_idle_writer_signs_a_heartbeat_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(
        config(dir.path())
            .checkpoint_interval(Duration::from_secs(3600))
            .checkpoint_heartbeat(Duration::from_millis(10)),
    )
    .unwrap();
    let before = verify_with(dir.path(), None, signer().verifier()).checkpoint_records;
    assert!(w.next_due().is_some());
    // Idle past the heartbeat, twice (waiting for a condition, not timing one).
    for _ in 0..2 {
        while w.next_due().is_some_and(|t| t > std::time::Instant::now()) {
            std::thread::sleep(Duration::from_millis(2));
        }
        w.tick().unwrap();
    }
    // Ticks before the heartbeat is due write nothing.
    w.tick().unwrap();
    let after = verify_with(dir.path(), None, signer().verifier());
    assert_eq!(after.checkpoint_records, before + 2);
    w.close().unwrap();
}

/// An independent Ed25519 implementation (OpenSSL's command line) verifies the
/// checkpoint the writer published, from the documented text alone: the verifier
/// key `<name>+<key id>+<base64(0x01 ‖ key)>`, the signature line `— <name>
/// <base64(key id ‖ signature)>`, the signature over the text before the blank line.
#[test]
fn openssl_verifies_the_published_checkpoint() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let cp = trail(dir.path(), 5);
    let b64 = base64::engine::general_purpose::STANDARD;
    let vkey = signer().verifier().to_string();
    let raw = b64.decode(vkey.split('+').nth(2).unwrap()).unwrap();
    assert_eq!((raw[0], raw.len()), (1, 33));
    let mut der = hex::decode("302a300506032b6570032100").unwrap();
    der.extend_from_slice(&raw[1..]);
    let split = cp.find("\n\n").unwrap();
    let (text, sigs) = (&cp[..=split], &cp[split + 2..]);
    let sig_line = sigs.lines().next().unwrap();
    let sig = b64.decode(sig_line.rsplit(' ').next().unwrap()).unwrap();
    assert_eq!(sig.len(), 68);
    let work = tempfile::tempdir().unwrap();
    let (pubf, textf, sigf) = (
        work.path().join("pub.der"),
        work.path().join("text"),
        work.path().join("sig"),
    );
    std::fs::write(&pubf, &der).unwrap();
    std::fs::write(&sigf, &sig[4..]).unwrap();
    let check = |text: &str| {
        std::fs::write(&textf, text).unwrap();
        Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-rawin"])
            .arg("-inkey")
            .arg(&pubf)
            .arg("-in")
            .arg(&textf)
            .arg("-sigfile")
            .arg(&sigf)
            .output()
            .expect("openssl runs (install it: apt-get install openssl)")
    };
    let out = check(text);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully"));
    // The check can fail: another size.
    let out = check(&text.replacen('\n', "\n9", 1));
    assert!(!out.status.success());
}

#[test]
fn a_writer_refuses_a_key_ahead_of_a_rolled_back_trail() {
    let root = tempfile::tempdir().unwrap();
    let (live, old) = (root.path().join("live"), root.path().join("old"));
    let key_file = root.path().join("key");
    key().write_new_file(&key_file).unwrap();
    // As a service starts: the key read from the key file the writer evolves.
    let open = |dir: &Path| {
        let mut c = config(dir).key_file(&key_file);
        c.key = Key::from_file(&key_file).unwrap();
        Writer::open(c)
    };
    let mut w = open(&live).unwrap();
    write_events(&mut w, 5);
    w.close().unwrap();
    copy_dir(&live, &old);
    let mut w = open(&live).unwrap();
    write_events(&mut w, 40); // rotations: the key file moves on
    let epoch = w.epoch();
    w.close().unwrap();
    // The directory restored from the old copy, the key file as it is now.
    std::fs::remove_dir_all(&live).unwrap();
    copy_dir(&old, &live);
    let err = open(&live).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Key, "{err}");
    assert!(
        err.to_string()
            .contains(&format!("found a key of epoch {epoch}"))
            && err.to_string().contains("rolled back"),
        "{err}"
    );
}

#[test]
fn an_epoch_raised_anywhere_but_by_one_at_an_epoch_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (segs, _) = epochs_trail(dir.path());
    let last = segs.last().unwrap();
    let ls = lines(last);
    // The rotation's epoch record (line 2), made to jump by two, MACed with the
    // key of the epoch it claims (whoever holds a later key can do that).
    let h = header(&ls[1]);
    assert_eq!(h["kind"], "epoch");
    let e = h["epoch"].as_u64().unwrap();
    let jumped = ls[1].replacen(
        &format!("\"epoch\":{e},"),
        &format!("\"epoch\":{},", e + 1),
        1,
    );
    let (forged, _) = reseal(
        &jumped,
        h["prev"].as_str().unwrap(),
        &key().at_epoch(e + 1).unwrap(),
    );
    let mut edited = ls.clone();
    edited[1] = forged;
    rewrite(last, &edited);
    let first = verify_with(dir.path(), None, signer().verifier())
        .first_failure()
        .cloned()
        .unwrap();
    assert_eq!(
        (first.kind, first.line),
        (FailureKind::EpochMismatch, 2),
        "{first:?}"
    );

    // An open record raising the epoch (a writer starting with a later key, after
    // the trail was cut): refused too.
    let h = header(&ls[0]);
    let raised = ls[0].replacen(
        &format!("\"epoch\":{},", h["epoch"]),
        &format!("\"epoch\":{},", e + 5),
        1,
    );
    let (forged, _) = reseal(
        &raised,
        h["prev"].as_str().unwrap(),
        &key().at_epoch(e + 5).unwrap(),
    );
    let mut edited = ls.clone();
    edited[0] = forged;
    rewrite(last, &edited);
    let first = verify_with(dir.path(), None, signer().verifier())
        .first_failure()
        .cloned()
        .unwrap();
    assert_eq!(
        (first.kind, first.line),
        (FailureKind::EpochMismatch, 1),
        "{first:?}"
    );
}
