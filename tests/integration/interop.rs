//! The independent Python verifier (written from docs/FORMAT.md alone) agrees with
//! `audit verify --json` (`tracing_audit_cli::report_json`, what the binary prints) on intact and tampered trails, and on
//! whether their end is proven, and the worked example in docs/FORMAT.md verifies.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tracing_audit::Key;
use tracing_audit::verify::{VerifyOptions, verify_dir};
use tracing_audit_cli::report_json;

use crate::common::{config, event, key, lines, rewrite, segments, verify};
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
    let out = Command::new("python3")
        .arg(repo_file("tests/interop/verify.py"))
        .arg(dir)
        .arg("--key-file")
        .arg(key_file)
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

/// The parts both verifiers must agree on.
fn essence(v: &Value) -> Value {
    let failures: Vec<Value> = v["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| serde_json::json!([f["kind"], f["file"], f["line"], f["seq"]]))
        .collect();
    serde_json::json!({
        "ok": v["ok"], "end": v["end"]["status"], "records": v["records"],
        "segments": v["segments"], "mac_checked": v["mac_checked"], "failures": failures,
    })
}

#[test]
fn python_verifier_agrees_on_intact_and_tampered_trails() {
    let keys = tempfile::tempdir().unwrap();
    let kf = key_file(keys.path(), &"5a".repeat(32));
    let intact = trail();
    let rust = essence(&report_json(&verify(intact.path())));
    assert_eq!(rust["ok"], true);
    assert_eq!(essence(&python_verify(intact.path(), &kf)), rust);
    for (name, _, tamper) in CASES {
        let dir = trail();
        tamper(dir.path());
        let rust = essence(&report_json(&verify(dir.path())));
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
        let rust = essence(&report_json(&verify(dir.path())));
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
    let rust = essence(&report_json(&verify(dir.path())));
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
        essence(&report_json(&rust))
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
