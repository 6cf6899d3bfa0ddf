//! `audit-bench`: every benchmark scenario and its peers in one command.
//!
//! ```text
//! cargo run --release -p audit-bench -- [--quick] [--json] [--rounds N]
//! ```
//!
//! Each scenario runs in a child process of its own (a fresh global `tracing`
//! subscriber, and a clean resident-memory peak), and the scenarios run in turn,
//! round after round, so that machine drift affects every side alike; the figure of
//! a scenario is its median over the rounds. Every event has the same shape: an
//! action and six fields (actor, resource, request id, region, size, tier).
#![allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]

mod scenarios;

use std::collections::BTreeMap;
use std::process::{Command, ExitCode};

use clap::Parser;
use serde_json::{Map, Value, json};

/// Benchmarks tracing-audit against tracing-appender and a naive fsync-per-event
/// writer, in one process tree, and prints a table (or JSON).
#[derive(Parser, Debug)]
#[command(name = "audit-bench", version)]
struct Args {
    /// A short run: fewer events and one round (under a minute on 2 cores).
    #[arg(long)]
    quick: bool,
    /// Print one JSON object (a field per figure and per ratio) instead of a table.
    #[arg(long)]
    json: bool,
    /// Rounds per scenario (default 3, or 1 with --quick).
    #[arg(long)]
    rounds: Option<usize>,
    /// Run only these scenarios (comma-separated names, as in the table's JSON).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    only: Vec<String>,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    save: Option<std::path::PathBuf>,
    /// Internal: run one scenario in this process and print its result as JSON.
    #[arg(long, hide = true)]
    child: Option<String>,
    /// Internal: events for the child scenario.
    #[arg(long, hide = true, default_value_t = 0)]
    events: u64,
}

/// A scenario: its name, and its event count in quick and full runs.
struct Plan {
    name: &'static str,
    quick: u64,
    full: u64,
}

const PLANS: &[Plan] = &[
    Plan {
        name: "audit",
        quick: 300_000,
        full: 2_000_000,
    },
    Plan {
        name: "appender-lossless",
        quick: 300_000,
        full: 2_000_000,
    },
    Plan {
        name: "appender-lossy",
        quick: 300_000,
        full: 2_000_000,
    },
    Plan {
        name: "audit-fsync-1",
        quick: 200_000,
        full: 1_000_000,
    },
    Plan {
        name: "audit-fsync-4",
        quick: 200_000,
        full: 1_000_000,
    },
    Plan {
        name: "naive-fsync",
        quick: 2_000,
        full: 10_000,
    },
    Plan {
        name: "caller-cost",
        quick: 200_000,
        full: 1_000_000,
    },
    Plan {
        name: "non-audit-base",
        quick: 5_000_000,
        full: 20_000_000,
    },
    Plan {
        name: "non-audit-with",
        quick: 5_000_000,
        full: 20_000_000,
    },
    Plan {
        name: "verify",
        quick: 500_000,
        full: 2_000_000,
    },
    Plan {
        name: "call-1",
        quick: 20_000,
        full: 100_000,
    },
    Plan {
        name: "call-durable-1",
        quick: 1_000,
        full: 5_000,
    },
    Plan {
        name: "call-8",
        quick: 80_000,
        full: 400_000,
    },
    Plan {
        name: "call-durable-8",
        quick: 8_000,
        full: 40_000,
    },
    Plan {
        name: "audit-integrity",
        quick: 300_000,
        full: 2_000_000,
    },
    Plan {
        name: "verify-checkpoint",
        quick: 500_000,
        full: 2_000_000,
    },
    Plan {
        name: "prove",
        quick: 1_000_000,
        full: 10_000_000,
    },
    Plan {
        name: "query",
        quick: 500_000,
        full: 2_000_000,
    },
    Plan {
        name: "memory",
        quick: 2_000_000,
        full: 10_000_000,
    },
];

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(name) = &args.child {
        return match scenarios::run(name, args.events) {
            Ok(v) => {
                println!("{v}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("audit-bench: scenario {name}: {e}");
                ExitCode::from(2)
            }
        };
    }
    match parent(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audit-bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn parent(args: &Args) -> Result<(), String> {
    let rounds = args.rounds.unwrap_or(if args.quick { 1 } else { 3 }).max(1);
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own binary: {e}"))?;
    let mut results: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    if let Some(unknown) = args
        .only
        .iter()
        .find(|n| !PLANS.iter().any(|p| p.name == n.as_str()))
    {
        let names: Vec<&str> = PLANS.iter().map(|p| p.name).collect();
        return Err(format!(
            "--only: expected scenario names among {}, found {unknown:?}",
            names.join(", ")
        ));
    }
    for round in 0..rounds {
        for plan in PLANS
            .iter()
            .filter(|p| args.only.is_empty() || args.only.iter().any(|n| n == p.name))
        {
            let events = if args.quick { plan.quick } else { plan.full };
            if !args.json {
                eprintln!(
                    "round {}/{rounds}: {} ({events} events)",
                    round + 1,
                    plan.name
                );
            }
            let out = Command::new(&exe)
                .args(["--child", plan.name, "--events", &events.to_string()])
                .output()
                .map_err(|e| format!("cannot run scenario {}: {e}", plan.name))?;
            if !out.status.success() {
                return Err(format!(
                    "scenario {} failed ({}): {}",
                    plan.name,
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            let text = String::from_utf8_lossy(&out.stdout);
            let v: Value = serde_json::from_str(text.trim()).map_err(|e| {
                format!(
                    "scenario {} printed something that is not JSON ({e}): {text}",
                    plan.name
                )
            })?;
            results.entry(plan.name).or_default().push(v);
        }
    }
    let summary = summarize(&results);
    let report = report(args, rounds, &summary);
    if let Some(path) = &args.save {
        std::fs::write(path, format!("{report:#}\n"))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if args.json {
        println!("{report}");
    } else {
        print_table(&report);
    }
    Ok(())
}

/// The median round of each scenario, by its main figure.
fn summarize(results: &BTreeMap<&str, Vec<Value>>) -> BTreeMap<String, Value> {
    results
        .iter()
        .map(|(name, runs)| {
            let main = |v: &Value| v["main"].as_f64().unwrap_or(f64::NAN);
            let mut sorted = runs.clone();
            sorted.sort_by(|a, b| main(a).total_cmp(&main(b)));
            let mut median = sorted[sorted.len() / 2].clone();
            if runs.len() > 1
                && let Some(m) = median.as_object_mut()
            {
                m.insert(
                    "rounds".into(),
                    json!(runs.iter().map(main).collect::<Vec<_>>()),
                );
            }
            ((*name).to_owned(), median)
        })
        .collect()
}

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    json!({ "cpu": cpu, "cores": cores, "kernel": kernel })
}

fn report(args: &Args, rounds: usize, s: &BTreeMap<String, Value>) -> Value {
    let get = |n: &str| s.get(n).cloned().unwrap_or(Value::Null);
    let audit = get("audit");
    let lossless = get("appender-lossless");
    let lossy = get("appender-lossy");
    let fsync1 = get("audit-fsync-1");
    let fsync4 = get("audit-fsync-4");
    let naive = get("naive-fsync");
    let caller = get("caller-cost");
    let base = get("non-audit-base");
    let with = get("non-audit-with");
    let verify = get("verify");
    let memory = get("memory");
    let call1 = get("call-1");
    let durable1 = get("call-durable-1");
    let call8 = get("call-8");
    let durable8 = get("call-durable-8");
    let integrity = get("audit-integrity");
    let verify_cp = get("verify-checkpoint");
    let prove = get("prove");
    let query = get("query");

    let overhead_ns = f(&with, "ns_per_event") - f(&base, "ns_per_event");
    let mut ratios = Map::new();
    ratios.insert(
        "audit_vs_appender_lossless".into(),
        json!(f(&audit, "rate") / f(&lossless, "rate")),
    );
    ratios.insert(
        "audit_vs_appender_lossy".into(),
        json!(f(&audit, "rate") / f(&lossy, "rate")),
    );
    ratios.insert(
        "audit_fsync_1_vs_naive_fsync".into(),
        json!(f(&fsync1, "rate") / f(&naive, "rate")),
    );
    ratios.insert(
        "verify_vs_sha256sum".into(),
        json!(f(&verify, "verify_mb_s") / f(&verify, "sha256sum_mb_s")),
    );
    ratios.insert(
        "durable_call_vs_call_median_latency_1_thread".into(),
        json!(f(&durable1, "median_us") / f(&call1, "median_us")),
    );
    ratios.insert(
        "durable_call_vs_call_median_latency_8_threads".into(),
        json!(f(&durable8, "median_us") / f(&call8, "median_us")),
    );
    ratios.insert(
        "audit_integrity_vs_audit".into(),
        json!(f(&integrity, "rate") / f(&audit, "rate")),
    );
    ratios.insert(
        "verify_checkpoint_vs_verify_records".into(),
        json!(f(&verify_cp, "rate") / f(&verify, "rate")),
    );
    ratios.insert(
        "proof_streaming_vs_index".into(),
        json!(f(&prove, "streaming_ms") * 1000.0 / f(&prove, "median_us")),
    );
    ratios.insert(
        "query_vs_grep_c".into(),
        json!(f(&query, "rate") / f(&query, "grep_rate")),
    );
    ratios.insert(
        "memory_last_vs_first_sample".into(),
        json!(f(&memory, "rss_last_kib") / f(&memory, "rss_first_kib")),
    );

    // `null` when a figure it needs was not measured (a scenario left out by --only).
    let target = |met: bool, figures: &[f64]| {
        if figures.iter().all(|x| x.is_finite()) {
            json!(met)
        } else {
            Value::Null
        }
    };
    let targets = json!({
        "end_to_end_2x_appender_lossless": target(
            f(&audit, "rate") >= 2.0 * f(&lossless, "rate"),
            &[f(&audit, "rate"), f(&lossless, "rate")],
        ),
        "group_commit_200k_per_s": target(
            f(&fsync1, "rate") >= 200_000.0 && f(&fsync4, "rate") >= 200_000.0,
            &[f(&fsync1, "rate"), f(&fsync4, "rate")],
        ),
        "group_commit_p99_5ms": target(
            f(&fsync1, "p99_ms") <= 5.0 && f(&fsync4, "p99_ms") <= 5.0,
            &[f(&fsync1, "p99_ms"), f(&fsync4, "p99_ms")],
        ),
        "verify_half_of_sha256sum": target(
            f(&verify, "verify_mb_s") >= 0.5 * f(&verify, "sha256sum_mb_s"),
            &[f(&verify, "verify_mb_s"), f(&verify, "sha256sum_mb_s")],
        ),
        "caller_median_500ns": target(
            f(&caller, "median_ns") <= 500.0,
            &[f(&caller, "median_ns")],
        ),
        "non_audit_overhead_2ns": target(overhead_ns <= 2.0, &[overhead_ns]),
        "integrity_within_3_percent": target(
            f(&integrity, "rate") >= 0.97 * f(&audit, "rate"),
            &[f(&integrity, "rate"), f(&audit, "rate")],
        ),
        "verify_checkpoint_1m_records_per_s": target(
            f(&verify_cp, "rate") >= 1_000_000.0,
            &[f(&verify_cp, "rate")],
        ),
        "inclusion_proof_under_1ms": target(
            f(&prove, "p99_us") < 1000.0,
            &[f(&prove, "p99_us")],
        ),
        "query_2m_records_per_s": target(
            f(&query, "rate") >= 2_000_000.0,
            &[f(&query, "rate")],
        ),
        "memory_flat": target(
            f(&memory, "rss_last_kib") <= 1.1 * f(&memory, "rss_first_kib"),
            &[f(&memory, "rss_last_kib"), f(&memory, "rss_first_kib")],
        ),
    });
    json!({
        "command": format!("cargo run --release -p audit-bench --{}{}",
            if args.quick { " --quick" } else { "" }, if args.json { " --json" } else { "" }),
        "mode": if args.quick { "quick" } else { "full" },
        "rounds": rounds,
        "date": tracing_audit::storage::Timestamp::now().to_string(),
        "machine": machine(),
        "scenarios": s,
        "non_audit_overhead_ns": overhead_ns,
        "ratios": ratios,
        "targets_met": targets,
    })
}

/// A handler call's latency, for the table.
fn call_note(v: &Value) -> String {
    format!(
        "call p50 {:.1} µs, p99 {:.1} µs",
        f(v, "median_us"),
        f(v, "p99_us")
    )
}

fn print_table(r: &Value) {
    let s = &r["scenarios"];
    let m = &r["machine"];
    println!(
        "audit-bench ({} run, {} round(s)) on {} ({} cores, Linux {}), {}",
        r["mode"].as_str().unwrap_or(""),
        r["rounds"],
        m["cpu"].as_str().unwrap_or(""),
        m["cores"],
        m["kernel"].as_str().unwrap_or(""),
        r["date"].as_str().unwrap_or("")
    );
    println!();
    println!(
        "| {:<40} | {:>10} | {:>14} | {:>12} | {:<34} |",
        "scenario", "events", "events/s", "peak RSS", "notes"
    );
    println!(
        "|{:-<42}|{:->12}|{:->16}|{:->14}|{:-<36}|",
        "", "", "", "", ""
    );
    let rows: &[(&str, &str, String)] = &[
        (
            "audit",
            "audit layer, buffered, flushed at end",
            String::new(),
        ),
        (
            "appender-lossless",
            "peer: tracing-appender lossless + fmt JSON",
            format!("lines {}", s["appender-lossless"]["lines"]),
        ),
        (
            "appender-lossy",
            "peer: tracing-appender lossy + fmt JSON",
            format!(
                "dropped {} of {}",
                s["appender-lossy"]["dropped"], s["appender-lossy"]["events"]
            ),
        ),
        (
            "audit-fsync-1",
            "audit layer, fsync per batch, 1 thread",
            format!(
                "batch p50 {:.2} ms, p99 {:.2} ms",
                f(&s["audit-fsync-1"], "p50_ms"),
                f(&s["audit-fsync-1"], "p99_ms")
            ),
        ),
        (
            "audit-fsync-4",
            "audit layer, fsync per batch, 4 threads",
            format!(
                "batch p50 {:.2} ms, p99 {:.2} ms",
                f(&s["audit-fsync-4"], "p50_ms"),
                f(&s["audit-fsync-4"], "p99_ms")
            ),
        ),
        (
            "naive-fsync",
            "peer: open+append+fsync per event",
            String::new(),
        ),
        (
            "caller-cost",
            "caller cost of one audit event",
            format!(
                "median {:.0} ns, p99 {:.0} ns",
                f(&s["caller-cost"], "median_ns"),
                f(&s["caller-cost"], "p99_ns")
            ),
        ),
        (
            "non-audit-base",
            "non-audit event, counting layer only",
            format!("{:.2} ns/event", f(&s["non-audit-base"], "ns_per_event")),
        ),
        (
            "non-audit-with",
            "non-audit event, + audit layer",
            format!("{:.2} ns/event", f(&s["non-audit-with"], "ns_per_event")),
        ),
        (
            "verify",
            "verify (records/s) vs sha256sum",
            format!(
                "{:.0} vs {:.0} MB/s",
                f(&s["verify"], "verify_mb_s"),
                f(&s["verify"], "sha256sum_mb_s")
            ),
        ),
        (
            "call-1",
            "#[audited] handler, 1 thread",
            call_note(&s["call-1"]),
        ),
        (
            "call-durable-1",
            "#[audited(durable)] handler, 1 thread",
            call_note(&s["call-durable-1"]),
        ),
        (
            "call-8",
            "#[audited] handler, 8 threads",
            call_note(&s["call-8"]),
        ),
        (
            "call-durable-8",
            "#[audited(durable)] handler, 8 threads",
            call_note(&s["call-durable-8"]),
        ),
        (
            "audit-integrity",
            "end to end, checkpoints 1 s, epochs 1 h",
            format!(
                "{:.2}x audit; {} checkpoints",
                f(&s["audit-integrity"], "rate") / f(&s["audit"], "rate"),
                s["audit-integrity"]["checkpoints"]
            ),
        ),
        (
            "verify-checkpoint",
            "verify --checkpoint --pubkey (records/s)",
            format!(
                "{:.0} MB/s; {} checkpoints",
                f(&s["verify-checkpoint"], "verify_mb_s"),
                s["verify-checkpoint"]["checkpoints"]
            ),
        ),
        (
            "prove",
            "inclusion proof from the index",
            format!(
                "p50 {:.0} µs, p99 {:.0} µs; index {:.1} s; stream {:.0} ms",
                f(&s["prove"], "median_us"),
                f(&s["prove"], "p99_us"),
                f(&s["prove"], "index_build_s"),
                f(&s["prove"], "streaming_ms")
            ),
        ),
        (
            "query",
            "audit query, selective filter (records/s)",
            format!(
                "{} found; grep -c {:.0} lines/s",
                s["query"]["found"],
                f(&s["query"], "grep_rate")
            ),
        ),
        (
            "memory",
            "audit layer, RSS over the run",
            format!(
                "RSS {:.0} → {:.0} MiB",
                f(&s["memory"], "rss_first_kib") / 1024.0,
                f(&s["memory"], "rss_last_kib") / 1024.0
            ),
        ),
    ];
    for (name, label, note) in rows {
        let v = &s[*name];
        if v.is_null() {
            continue; // not run (--only)
        }
        let rate = f(v, "rate");
        println!(
            "| {:<40} | {:>10} | {:>14} | {:>9.1} MiB | {:<34} |",
            label,
            v["events"],
            if rate.is_finite() {
                format!("{rate:.0}")
            } else {
                "-".into()
            },
            f(v, "peak_rss_kib") / 1024.0,
            note
        );
    }
    println!();
    println!(
        "non-audit overhead of the audit layer: {:.2} ns/event",
        f(r, "non_audit_overhead_ns")
    );
    if let Some(ratios) = r["ratios"].as_object() {
        for (k, v) in ratios {
            let v = v.as_f64().unwrap_or(f64::NAN);
            if v.is_finite() {
                println!("ratio {k}: {v:.2}");
            }
        }
    }
    if let Some(t) = r["targets_met"].as_object() {
        for (k, v) in t {
            println!(
                "target {k}: {}",
                match v.as_bool() {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "not run",
                }
            );
        }
    }
}
