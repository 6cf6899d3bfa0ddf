//! `audit hash`: the keyed fingerprint of a known value, as the layer writes it.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use tracing_audit_core::{Key, WriterConfig};
use tracing_audit_layer::{AUDIT_TARGET, AuditBuilder};
use tracing_audit_testkit::{Captured, dispatch, trail_text};

const KEY_HEX: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
const SECRET: &str = "correct-horse-battery-staple";

fn key() -> Key {
    Key::from_hex(KEY_HEX).unwrap()
}

fn key_file(dir: &Path, name: &str, key: &Key) -> std::path::PathBuf {
    let path = dir.join(name);
    key.replace_file(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn audit(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_audit"))
        .args(args)
        .env_remove("AUDIT_HMAC_KEY_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn printed(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        text.ends_with('\n') && text.lines().count() == 1,
        "{text:?}"
    );
    text.trim_end().to_owned()
}

#[test]
fn the_fingerprint_of_a_secret_written_by_the_layer_is_found_in_the_trail_by_grep() {
    let tmp = tempfile::tempdir().unwrap();
    let trail = tmp.path().join("trail");
    let (layer, guard) = AuditBuilder::new(WriterConfig::new(&trail, "hash-test", key()))
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch(layer, &Captured::default()), || {
        tracing::event!(
            target: AUDIT_TARGET,
            tracing::Level::INFO,
            audit.action = "user.login",
            audit.outcome = "success",
            password = SECRET,
        );
    });
    guard.shutdown().unwrap();
    let text = trail_text(&trail);
    assert!(!text.contains(SECRET), "the layer redacted the secret");

    let k = key_file(tmp.path(), "key", &key());
    let fp = printed(&audit(
        &["hash", "--key-file", k.to_str().unwrap(), SECRET],
        None,
    ));
    assert!(
        fp.starts_with(&format!("hmac-sha256:{}:", key().id())),
        "{fp}"
    );
    assert_eq!(fp.len(), "hmac-sha256:".len() + 16 + 1 + 64, "{fp}");
    let hits: Vec<&str> = text.lines().filter(|l| l.contains(&fp)).collect();
    assert_eq!(hits.len(), 1, "grep finds the one record:\n{text}");
    assert!(hits[0].contains("user.login"), "{}", hits[0]);

    // Another value's fingerprint is nowhere in the trail.
    let other = printed(&audit(
        &[
            "hash",
            "--key-file",
            k.to_str().unwrap(),
            "not-the-password",
        ],
        None,
    ));
    assert_ne!(other, fp);
    assert!(!text.contains(&other));
}

#[test]
fn the_value_from_stdin_gives_the_same_fingerprint_without_its_final_newline() {
    let tmp = tempfile::tempdir().unwrap();
    let k = key_file(tmp.path(), "key", &key());
    let k = k.to_str().unwrap();
    let arg = printed(&audit(&["hash", "--key-file", k, SECRET], None));
    for input in [
        format!("{SECRET}\n"),
        format!("{SECRET}\r\n"),
        SECRET.to_owned(),
    ] {
        let piped = printed(&audit(
            &["hash", "--key-file", k, "-"],
            Some(input.as_bytes()),
        ));
        assert_eq!(piped, arg, "{input:?}");
    }
    // Only one newline is the terminal's: a value ending in a newline keeps the other.
    let two = printed(&audit(
        &["hash", "--key-file", k, "-"],
        Some(format!("{SECRET}\n\n").as_bytes()),
    ));
    assert_ne!(two, arg);
}

#[test]
fn an_evolved_version_2_key_file_gives_the_initial_keys_fingerprint() {
    let tmp = tempfile::tempdir().unwrap();
    let initial = key_file(tmp.path(), "key.verifier", &key());
    let evolved = key_file(tmp.path(), "key", &key().at_epoch(7).unwrap());
    let v2 = std::fs::read_to_string(&evolved).unwrap();
    assert!(v2.starts_with("tracing-audit key v2\nepoch 7\n"), "{v2}");
    let a = printed(&audit(
        &["hash", "--key-file", initial.to_str().unwrap(), SECRET],
        None,
    ));
    let b = printed(&audit(
        &["hash", "--key-file", evolved.to_str().unwrap(), SECRET],
        None,
    ));
    assert_eq!(a, b);
}

#[test]
fn a_missing_key_file_or_invalid_utf8_on_stdin_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let out = audit(
        &["hash", "--key-file", missing.to_str().unwrap(), "x"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let k = key_file(tmp.path(), "key", &key());
    let out = audit(
        &["hash", "--key-file", k.to_str().unwrap(), "-"],
        Some(b"\xff\xfe"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("UTF-8"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
