//! The console beside the trail: no line lost after an audit probe (tracing#2519),
//! and `init_from_env`'s console (RUST_LOG, `log` records), run as a child process.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use tracing_audit_core::{Key, WriterConfig};
use tracing_audit_layer::{AUDIT_TARGET, AuditBuilder};
use tracing_audit_testkit::{Captured, dispatch, events};
use tracing_subscriber::{Layer as _, layer::SubscriberExt as _};

fn builder(dir: &Path) -> AuditBuilder {
    AuditBuilder::new(WriterConfig::new(
        dir,
        "console-test",
        Key::from_hex(&"5a".repeat(32)).unwrap(),
    ))
}

/// tracing#2519: `enabled!` leaves a per-layer filter's "disabled" bit set when no
/// event follows, and the next event whose callsite is always enabled is skipped
/// by that layer. `#[audited]` probes the audit target like this on every call, so
/// with the old `non_audit()` the first console line inside an audited function
/// vanished.
#[test]
fn an_audit_probe_does_not_swallow_the_next_console_line() {
    let dir = tempfile::tempdir().unwrap();
    let console = Captured::default();
    let (audit, guard) = builder(dir.path()).build().unwrap();
    tracing::dispatcher::with_default(&dispatch(audit, &console), || {
        for i in 0..3 {
            assert!(tracing::enabled!(target: AUDIT_TARGET, tracing::Level::INFO));
            tracing::info!(i, "the line after the probe");
        }
        tracing::event!(target: AUDIT_TARGET, tracing::Level::INFO, audit.action = "probe.checked");
        tracing::info!("the line after an audit event");
    });
    guard.shutdown().unwrap();
    let text = console.text();
    assert_eq!(
        text.matches("the line after the probe").count(),
        3,
        "{text}"
    );
    assert!(text.contains("the line after an audit event"), "{text}");
    assert!(!text.contains("probe.checked"), "{text}");
    assert_eq!(events(dir.path()).len(), 1);
}

/// `non_audit().and(filter)`: the layer's own filter applies to everything else, and
/// is never asked about audit events, so a filter stricter than INFO leaves no mark
/// either.
#[test]
fn non_audit_and_a_strict_filter_loses_nothing_after_a_probe() {
    let dir = tempfile::tempdir().unwrap();
    let console = Captured::default();
    let (audit, guard) = builder(dir.path()).build().unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(console.clone())
                .with_filter(
                    tracing_audit_layer::non_audit()
                        .and(tracing_subscriber::filter::LevelFilter::WARN),
                ),
        )
        .with(audit);
    tracing::subscriber::with_default(subscriber, || {
        assert!(tracing::enabled!(target: AUDIT_TARGET, tracing::Level::INFO));
        tracing::warn!("the warning after the probe");
        tracing::info!("an info line");
        tracing::event!(target: AUDIT_TARGET, tracing::Level::INFO, audit.action = "probe.checked");
        tracing::warn!("the warning after the audit event");
    });
    guard.shutdown().unwrap();
    let text = console.text();
    assert!(text.contains("the warning after the probe"), "{text}");
    assert!(text.contains("the warning after the audit event"), "{text}");
    assert!(!text.contains("an info line"), "{text}");
    assert!(!text.contains("probe.checked"), "{text}");
    assert_eq!(events(dir.path()).len(), 1);
}

/// The same bug through `check_installed`, with a per-layer filter of the user's
/// own that rejects the audit target (not `non_audit()`): `init_from_env` calls
/// `check_installed` right after installing, so a service's first log line
/// ("serving on …") vanished.
#[test]
fn check_installed_does_not_swallow_the_next_line_whatever_the_filters() {
    let dir = tempfile::tempdir().unwrap();
    let console = Captured::default();
    let (audit, guard) = builder(dir.path()).build().unwrap();
    let own_filter = tracing_subscriber::filter::filter_fn(|m| m.target() != AUDIT_TARGET);
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(console.clone())
                .with_filter(tracing_subscriber::filter::LevelFilter::WARN)
                .with_filter(own_filter),
        )
        .with(audit);
    tracing::subscriber::with_default(subscriber, || {
        tracing_audit_layer::check_installed().unwrap();
        tracing::warn!("serving on 127.0.0.1:8080");
    });
    guard.shutdown().unwrap();
    let text = console.text();
    assert!(text.contains("serving on 127.0.0.1:8080"), "{text}");
}

/// Set in the environment of this binary's copy that runs as the probe.
const PROBE: &str = "TRACING_AUDIT_CONSOLE_PROBE";

/// The probe binary: `init_from_env()`, then at once a first line, a warning, two
/// `log` records, an audit event and a line after it. Does nothing unless run by
/// [`probe`].
#[test]
fn probe_child() {
    match std::env::var(PROBE).as_deref() {
        Ok("logger-first") => return logger_first(),
        Ok(_) => {}
        Err(_) => return,
    }
    let guard = tracing_audit_layer::init_from_env().unwrap();
    tracing::info!("probe: first line");
    tracing::warn!("probe: a warning");
    log::info!("probe: an info log record");
    log::warn!("probe: a warn log record");
    tracing::event!(target: AUDIT_TARGET, tracing::Level::INFO, audit.action = "probe.checked");
    tracing::info!("probe: after the audit event");
    if let Some(guard) = guard {
        guard.shutdown().unwrap();
    }
}

/// A `log` logger of the program's own, installed before `init_from_env`.
fn logger_first() {
    struct Own;
    impl log::Log for Own {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            eprintln!("own logger: {}", record.args());
        }
        fn flush(&self) {}
    }
    log::set_logger(&Own).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    let err = tracing_audit_layer::init_from_env().unwrap_err();
    assert_eq!(err.kind(), tracing_audit_layer::ErrorKind::Install);
    eprintln!("init_from_env: {err}");
    log::info!("still mine");
}

/// Runs [`probe_child`] in a child process with a trail in `dir` and `vars` on top
/// of a clean environment; returns its standard error.
fn probe(dir: &Path, vars: &[(&str, &str)]) -> String {
    let key = dir.join("key");
    if !key.exists() {
        Key::generate().unwrap().write_new_file(&key).unwrap();
    }
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "probe_child", "--nocapture", "--test-threads=1"])
        .env(PROBE, "1")
        .env_remove("RUST_LOG");
    // `vars` may set PROBE again, to choose a variant.
    for (name, _) in tracing_audit_layer::ENV_VARS {
        cmd.env_remove(name);
    }
    cmd.env("AUDIT_STORAGE_PATH", dir.join("trail"))
        .env("AUDIT_HMAC_KEY_FILE", &key)
        .envs(vars.iter().copied());
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "the probe failed ({}):\n{}\n{stderr}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

fn audit_actions(dir: &Path) -> Vec<String> {
    events(&dir.join("trail"))
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

/// Issue 10, item 4: `init_from_env()`'s `check_installed()` ate the next line
/// (tokio-rs/tracing#2519), so `http_service` never printed "serving on …".
#[test]
fn init_from_env_prints_its_first_line_and_log_records_and_keeps_audit_events_off_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let console = probe(dir.path(), &[]);
    for line in [
        "probe: first line",
        "probe: a warning",
        "probe: an info log record",
        "probe: a warn log record",
        "probe: after the audit event",
    ] {
        assert_eq!(console.matches(line).count(), 1, "{line}:\n{console}");
    }
    assert!(!console.contains("probe.checked"), "{console}");
    assert_eq!(audit_actions(dir.path()), ["probe.checked"]);
}

#[test]
fn rust_log_filters_the_console_and_never_the_trail() {
    let dir = tempfile::tempdir().unwrap();
    let console = probe(dir.path(), &[("RUST_LOG", "warn")]);
    for line in ["probe: a warning", "probe: a warn log record"] {
        assert!(console.contains(line), "{line}:\n{console}");
    }
    for line in [
        "probe: first line",
        "probe: an info log record",
        "probe: after the audit event",
        "probe.checked",
    ] {
        assert!(!console.contains(line), "{line}:\n{console}");
    }
    // Not even `off` removes audit events. (A directive cannot name the audit
    // target `@audit`: `EnvFilter` rejects it, and so does `init_from_env`.)
    for rust_log in ["off", "error"] {
        let console = probe(dir.path(), &[("RUST_LOG", rust_log)]);
        assert!(!console.contains("probe:"), "{rust_log}:\n{console}");
    }
    assert_eq!(audit_actions(dir.path()), ["probe.checked"; 3]);
}

#[test]
fn a_disabled_trail_is_an_ordinary_value_and_the_console_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let console = probe(dir.path(), &[("AUDIT_ENABLED", "false")]);
    assert!(
        console.contains("AUDIT_ENABLED=false: audit events are NOT being recorded"),
        "{console}"
    );
    for line in ["probe: first line", "probe: an info log record"] {
        assert!(console.contains(line), "{line}:\n{console}");
    }
    assert!(!console.contains("probe.checked"), "{console}");
    assert!(!dir.path().join("trail").exists());
}

/// A `log` logger installed before is an error, found before anything is changed:
/// no subscriber installed, no trail opened, the program's logger still in place.
#[test]
fn a_log_logger_installed_before_is_an_install_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let console = probe(dir.path(), &[(PROBE, "logger-first")]);
    assert!(
        console.contains(
            "init_from_env: cannot forward `log` records to tracing (attempted to set a logger after the logging system was already initialized): expected no `log` logger installed before init_from_env"
        ),
        "{console}"
    );
    assert!(console.contains("own logger: still mine"), "{console}");
    assert!(!dir.path().join("trail").exists());
}
