//! Every scenario runs (with few events) and reports the figures the table needs.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::Value;

fn run(scenario: &str, events: u64) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_audit-bench"))
        .args(["--child", scenario, "--events", &events.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{scenario}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["scenario"], scenario);
    assert_eq!(v["events"], events);
    assert!(v["peak_rss_kib"].as_u64().unwrap() > 0, "{v}");
    assert!(v["main"].as_f64().unwrap() > 0.0, "{scenario}: {v}");
    v
}

#[test]
fn every_scenario_reports_its_figures() {
    for s in [
        "audit",
        "appender-lossless",
        "audit-fsync-1",
        "audit-fsync-4",
        "memory",
    ] {
        assert!(run(s, 2_000)["rate"].as_f64().unwrap() > 0.0, "{s}");
    }
    // Lossless: every line written; lossy: lines + dropped = events.
    assert_eq!(run("appender-lossless", 2_000)["lines"], 2_000);
    let lossy = run("appender-lossy", 2_000);
    assert_eq!(
        lossy["lines"].as_u64().unwrap() + lossy["dropped"].as_u64().unwrap(),
        2_000
    );
    let fsync = run("audit-fsync-4", 2_000);
    assert!(fsync["p99_ms"].as_f64().unwrap() >= fsync["p50_ms"].as_f64().unwrap());
    run("naive-fsync", 50);
    let caller = run("caller-cost", 2_000);
    assert!(caller["p99_ns"].as_f64().unwrap() >= caller["median_ns"].as_f64().unwrap());
    run("non-audit-base", 10_000);
    run("non-audit-with", 10_000);
    let verify = run("verify", 5_000);
    assert!(verify["sha256sum_mb_s"].as_f64().unwrap() > 0.0);
    let memory = run("memory", 5_000);
    assert_eq!(memory["rss_samples_kib"].as_array().unwrap().len(), 10);
}

#[test]
fn an_unknown_scenario_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_audit-bench"))
        .args(["--child", "nope", "--events", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("expected a scenario name, found \"nope\""),
        "{err}"
    );
}
