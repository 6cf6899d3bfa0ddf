//! Every example runs and its trail verifies. `cargo test` builds the examples
//! before it runs the tests; this runs the binaries it built.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>/examples/<name>`, next to this test's own binary
/// (`target/<profile>/deps/examples-…`).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "expected the example binary at {}; `cargo test` builds it (`cargo test --test examples` alone does not: run `cargo build --examples` first)",
        path.display()
    );
    path
}

fn run(name: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(example(name))
        .args(args)
        .current_dir(dir.path())
        .env_remove("AUDIT_STORAGE_PATH")
        .env_remove("AUDIT_HMAC_KEY_FILE")
        .env_remove("AUDIT_CATALOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn quickstart_writes_a_trail_that_verifies() {
    let out = run("quickstart", &["--records", "25"]);
    assert!(
        out.contains("audit verify: 27 records in 1 segment(s): trail intact"),
        "{out}"
    );
}

#[test]
fn http_service_records_its_handlers_with_the_actor_from_the_header() {
    let out = run("http_service", &[]);
    assert!(out.contains("trail intact"), "{out}");
    assert!(
        out.lines().any(|l| l.contains("pool.deleted")
            && l.contains("failure")
            && l.contains("actor=carol")),
        "{out}"
    );
}

#[test]
fn kernel_runbook_records_every_step_and_refuses_break_glass_without_a_trail() {
    let out = run("kernel_runbook", &[]);
    assert!(
        out.contains("without a trail, break-glass refused"),
        "{out}"
    );
    for action in [
        "kernel.component.start",
        "kernel.config.reload.success",
        "kernel.config.reload.failure",
        "kernel.capability.denied",
        "breakglass.activated",
        "secret.rotated",
        "kernel.component.stop",
    ] {
        assert!(out.contains(action), "{action} missing:\n{out}");
    }
    assert!(out.contains("trail intact"), "{out}");
}

#[test]
fn prometheus_example_prints_the_metrics() {
    let out = run("prometheus", &[]);
    assert!(
        out.contains(r#"audit_events_written_total{service="billing",action="invoice.refund",outcome="success"} 5"#),
        "{out}"
    );
}
