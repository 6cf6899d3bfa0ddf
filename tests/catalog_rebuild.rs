//! Real crates that use the macros, built by cargo: editing the catalog (or changing
//! `AUDIT_CATALOG`) rebuilds them with no `cargo clean`; a renamed dependency is
//! named with `crate = path`; a catalog that does not load is reported beside the
//! invocation's other errors.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A crate in a temporary directory that depends on the facade.
struct Probe {
    dir: tempfile::TempDir,
}

impl Probe {
    /// A binary crate `name`: `dependency` is its `[dependencies]` line for the
    /// facade (`{path}` stands for the facade's path), `main` its `src/main.rs`.
    fn new(name: &str, dependency: &str, main: &str) -> Probe {
        let root = root();
        let dir = tempfile::tempdir().unwrap();
        let dependency = dependency.replace("{path}", &format!("{:?}", root.display().to_string()));
        std::fs::write(
            dir.path().join("Cargo.toml"),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\n{dependency}\n\n[workspace]\n"
            ),
        )
        .unwrap();
        // The workspace's lock file, so the probe builds the same dependency versions.
        std::fs::copy(root.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/main.rs"), main).unwrap();
        Probe { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn catalog(&self, text: &str) {
        std::fs::write(self.path().join("audit-catalog.toml"), text).unwrap();
    }

    /// `cargo <command> --quiet`, with `AUDIT_CATALOG` set to `catalog_env` (else
    /// unset) and the extra variables `env`.
    fn cargo(&self, command: &str, catalog_env: Option<&str>, env: &[(&str, &Path)]) -> Output {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.arg(command)
            .arg("--quiet")
            .current_dir(self.path())
            // Its own target directory (the outer `cargo test` may hold the main one),
            // kept between runs and shared by the probes, so only the first builds
            // the dependencies.
            .env(
                "CARGO_TARGET_DIR",
                root().join("target/tests/catalog-rebuild"),
            )
            .env_remove("AUDIT_CATALOG");
        if let Some(v) = catalog_env {
            cmd.env("AUDIT_CATALOG", v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn build(&self, catalog_env: Option<&str>) -> Output {
        self.cargo("build", catalog_env, &[])
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const FACADE: &str = "tracing-audit = { path = {path} }";

const CATALOG: &str = r#"version = 1

[actions."billing.charge"]
category = "billing"
severity = "medium"
description = "A customer was charged."
"#;

const REFUND: &str = r#"
[actions."billing.refund"]
category = "billing"
severity = "high"
description = "A charge was refunded."
"#;

#[test]
fn editing_the_catalog_rebuilds_the_crates_that_use_it() {
    let probe = Probe::new(
        "catalog-probe",
        FACADE,
        "fn main() {\n    tracing_audit::audit!(action = \"billing.refund\", amount_cents = 1299u64);\n}\n",
    );

    // 1. The action is not in the catalog: the build fails, saying so.
    probe.catalog(CATALOG);
    let out = probe.build(None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("unknown action `billing.refund`") && err.contains("audit-catalog.toml"),
        "{err}"
    );

    // 2. Add it: the same crate builds.
    probe.catalog(&format!("{CATALOG}{REFUND}"));
    let out = probe.build(None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 3. Remove it again: the build fails again (no stale success).
    probe.catalog(CATALOG);
    let out = probe.build(None);
    assert!(!out.status.success());

    // 4. AUDIT_CATALOG names another catalog, which has the action: it builds; and
    //    without the variable, it fails again.
    std::fs::write(
        probe.path().join("other.toml"),
        format!("{CATALOG}{REFUND}"),
    )
    .unwrap();
    let out = probe.build(Some("other.toml"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = probe.build(None);
    assert!(!out.status.success());
}

/// Builds and runs `probe` with an audit trail (`init_from_env`) in its directory;
/// returns the trail's text and its events.
fn run_with_a_trail(probe: &Probe) -> (String, Vec<serde_json::Value>) {
    let storage = probe.path().join("trail");
    let key = probe.path().join("trail.key");
    std::fs::write(&key, "6b".repeat(32)).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = probe.cargo(
        "run",
        None,
        &[
            ("AUDIT_STORAGE_PATH", storage.as_path()),
            ("AUDIT_HMAC_KEY_FILE", key.as_path()),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut trail = String::new();
    for entry in std::fs::read_dir(&storage).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            trail.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    let events = trail
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|e: &serde_json::Value| e["kind"] == "event")
        .collect();
    (trail, events)
}

/// Issue 9, bug 3: the catalog's `sensitive` names members too; `audit!` applied it
/// to them but `#[audited]` wrote `reason` (and `actor.session`) in clear.
#[test]
fn audited_fingerprints_the_members_the_catalog_marks_sensitive() {
    let probe = Probe::new(
        "sensitive-members-probe",
        FACADE,
        r#"
#[tracing_audit::audited(action = "billing.refund", actor = "alice", actor.session = session, reason = why, skip(session, why))]
fn refund(session: &str, why: &str) -> Result<(), String> {
    let _ = (session, why);
    Ok(())
}

fn main() {
    let guard = tracing_audit::init_from_env().expect("the trail starts").expect("enabled");
    refund("session-of-the-audited-call", "reason-of-the-audited-call").expect("refunded");
    tracing_audit::audit!(
        action = "billing.refund",
        actor = "bob",
        actor.session = "session-of-audit-macro",
        reason = "reason-of-audit-macro",
    );
    drop(guard); // flushes and seals
}
"#,
    );
    probe.catalog(&format!(
        "{CATALOG}{REFUND}sensitive = [\"reason\", \"actor.session\"]\n"
    ));
    let (trail, events) = run_with_a_trail(&probe);
    assert_eq!(events.len(), 2, "{trail}");
    for (event, actor) in events.iter().zip(["alice", "bob"]) {
        assert_eq!(event["actor"]["id"], actor);
        for value in [&event["reason"], &event["actor"]["session"]] {
            let value = value.as_str().unwrap();
            assert!(value.starts_with("hmac-sha256:"), "{event}");
        }
    }
    assert!(
        !trail.contains("reason-of-"),
        "a sensitive reason in clear:\n{trail}"
    );
    assert!(
        !trail.contains("session-of-"),
        "a sensitive session in clear:\n{trail}"
    );
}

/// Issue 9: a crate that depends on the facade as `trail` names it with
/// `crate = trail`. No `tracing_audit` exists there, so an expansion that still
/// named `::tracing_audit` anywhere would not compile.
#[test]
fn a_renamed_dependency_is_named_with_crate_path() {
    let probe = Probe::new(
        "renamed-probe",
        "trail = { package = \"tracing-audit\", path = {path} }",
        r#"
#[trail::audited(crate = trail, action = "billing.refund", actor = "alice", resource = id, fields(amount_cents), fail_closed)]
fn refund(id: &str, amount_cents: u64) -> Result<(), trail::AuditUnavailable> {
    let _ = (id, amount_cents);
    Ok(())
}

fn main() {
    let guard = trail::init_from_env().expect("the trail starts").expect("enabled");
    refund("ch-1", 1299).expect("refunded");
    let note = ("second", 2);
    trail::audit!(crate = trail, action = "billing.refund", actor = "bob", ?note);
    drop(guard); // flushes and seals
}
"#,
    );
    probe.catalog(&format!("{CATALOG}{REFUND}"));
    let (trail, events) = run_with_a_trail(&probe);
    assert_eq!(events.len(), 2, "{trail}");
    assert_eq!(events[0]["actor"]["id"], "alice");
    assert_eq!(events[0]["resource"], "ch-1");
    assert_eq!(events[0]["fields"]["amount_cents"], 1299);
    assert_eq!(events[1]["actor"]["id"], "bob");
    assert_eq!(events[1]["fields"]["note"], "(\"second\", 2)");
    assert!(events.iter().all(|e| e["action"] == "billing.refund"));
}

/// Issue 9, bug 6: `audit!` dropped the errors it had collected when the catalog
/// failed to load; both macros now report them beside the catalog's error.
#[test]
fn a_catalog_that_does_not_load_is_reported_with_the_other_errors() {
    let probe = Probe::new(
        "broken-catalog-probe",
        FACADE,
        r#"
#[tracing_audit::audited(action = "billing.refund", colour = "red")]
fn refund() {}

fn main() {
    refund();
    tracing_audit::audit!(action = "billing.refund", category = "billing", amount = 3);
}
"#,
    );
    probe.catalog(&format!("{CATALOG}{REFUND}").replace("\"high\"", "\"severe\""));
    let out = probe.build(None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(
        err.matches("expected a severity").count(),
        2,
        "the catalog's error, once per invocation:\n{err}"
    );
    assert!(err.contains("unknown argument `colour`"), "{err}");
    assert!(
        err.contains("`category` comes from the catalog"),
        "audit! kept its own error:\n{err}"
    );
}
