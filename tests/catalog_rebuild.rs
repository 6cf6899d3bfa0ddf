//! Editing the catalog (or changing `AUDIT_CATALOG`) rebuilds the crates that use
//! the macros, with no `cargo clean`: a real crate, built by cargo, four times.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn cargo_build(dir: &Path, catalog_env: Option<&str>) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.arg("build")
        .arg("--quiet")
        .current_dir(dir)
        // Its own target directory (the outer `cargo test` may hold the main one),
        // kept between runs so only the first builds the dependencies.
        .env(
            "CARGO_TARGET_DIR",
            root.join("target/tests/catalog-rebuild"),
        )
        .env_remove("AUDIT_CATALOG");
    if let Some(v) = catalog_env {
        cmd.env("AUDIT_CATALOG", v);
    }
    cmd.output().unwrap()
}

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
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!(
            "[package]\nname = \"catalog-probe\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\ntracing-audit = {{ path = {:?} }}\n\n[workspace]\n",
            root.display().to_string()
        ),
    )
    .unwrap();
    // The workspace's lock file, so the probe builds the same dependency versions.
    std::fs::copy(root.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("src/main.rs"),
        "fn main() {\n    tracing_audit::audit!(action = \"billing.refund\", amount_cents = 1299u64);\n}\n",
    )
    .unwrap();
    let catalog = dir.path().join("audit-catalog.toml");

    // 1. The action is not in the catalog: the build fails, saying so.
    std::fs::write(&catalog, CATALOG).unwrap();
    let out = cargo_build(dir.path(), None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("unknown action `billing.refund`") && err.contains("audit-catalog.toml"),
        "{err}"
    );

    // 2. Add it: the same crate builds.
    std::fs::write(&catalog, format!("{CATALOG}{REFUND}")).unwrap();
    let out = cargo_build(dir.path(), None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 3. Remove it again: the build fails again (no stale success).
    std::fs::write(&catalog, CATALOG).unwrap();
    let out = cargo_build(dir.path(), None);
    assert!(!out.status.success());

    // 4. AUDIT_CATALOG names another catalog, which has the action: it builds; and
    //    without the variable, it fails again.
    std::fs::write(dir.path().join("other.toml"), format!("{CATALOG}{REFUND}")).unwrap();
    let out = cargo_build(dir.path(), Some("other.toml"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cargo_build(dir.path(), None);
    assert!(!out.status.success());
}
