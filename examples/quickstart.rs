//! Quickstart: a service's `tracing` set-up with the audit layer beside its console
//! logging; it emits audit events (and narration, which stays out of the trail),
//! then verifies the trail.
//!
//! ```text
//! cargo run --example quickstart [-- --records N]
//! ```
//!
//! Environment (the names operators already use):
//! - `AUDIT_STORAGE_PATH`: the stream directory (default `./audit-trail`).
//! - `AUDIT_HMAC_KEY_FILE`: the key file; when unset, `<storage path>.key` is used,
//!   and created (mode 0600) if it does not exist.
//! - `AUDIT_ROTATION`: `daily`, `hourly`, `size:64KiB`, or a comma-separated mix.
//! - `AUDIT_FSYNC`, `AUDIT_OVERFLOW`, `AUDIT_SERVICE`: as for `init_from_env`.

use std::path::PathBuf;
use std::process::ExitCode;

use audit_trail::{AUDIT_TARGET, AuditBuilder, Key, VerifyOptions, non_audit, verify_dir};
use tracing_subscriber::{Layer as _, layer::SubscriberExt as _};

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("quickstart: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let mut records: u64 = 20;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--records" => {
                let v = args
                    .next()
                    .ok_or("expected a number after --records, found nothing")?;
                records = v
                    .parse()
                    .map_err(|_| format!("expected a number after --records, found {v:?}"))?;
            }
            other => return Err(format!("expected `--records N`, found {other:?}").into()),
        }
    }
    let dir = PathBuf::from(
        std::env::var("AUDIT_STORAGE_PATH").unwrap_or_else(|_| "./audit-trail".into()),
    );
    let key_path = match std::env::var_os("AUDIT_HMAC_KEY_FILE") {
        Some(p) => PathBuf::from(p),
        None => {
            let p = PathBuf::from(format!("{}.key", dir.display()));
            if !p.exists() {
                Key::generate()?.write_new_file(&p)?;
                println!(
                    "created a new HMAC key at {} (keep it secret; verification needs it)",
                    p.display()
                );
            }
            p
        }
    };
    let key = Key::from_file(&key_path)?;
    // The operators' variables (AUDIT_ROTATION, AUDIT_FSYNC, AUDIT_OVERFLOW, …), with the
    // quickstart's defaults for the path, the key it may just have created, and the name.
    let lookup = |name: &str| match name {
        "AUDIT_STORAGE_PATH" => Some(dir.display().to_string()),
        "AUDIT_HMAC_KEY_FILE" => Some(key_path.display().to_string()),
        "AUDIT_SERVICE" => Some(std::env::var(name).unwrap_or_else(|_| "quickstart".into())),
        _ => std::env::var(name).ok(),
    };
    let Some(builder) = AuditBuilder::from_lookup(lookup)? else {
        return Err("AUDIT_ENABLED=false: the quickstart has nothing to show".into());
    };
    let (audit, guard) = builder.build()?;
    // The service's usual console logging, which never shows audit events, plus the
    // audit layer.
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_filter(non_audit()),
        )
        .with(audit);
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("writing {records} audit events to {}", dir.display());
        // Narration with the same field names as an audit event: console only.
        tracing::info!(
            actor = "scheduler",
            action = "pool.deleted",
            "narration never enters the audit trail"
        );
        let actions = [
            ("auth.success", "auth", "success"),
            ("pool.created", "resources", "success"),
            ("token.created", "auth", "success"),
            ("authz.denied", "authz", "denied"),
            ("pool.deleted", "resources", "success"),
        ];
        for (i, &(action, category, outcome)) in (0..records).zip(actions.iter().cycle()) {
            // The request's context comes from its span.
            let span = tracing::info_span!("request", request_id = %format!("req-{i:06}"), actor = %format!("user-{}", i % 3), client_ip = "192.0.2.10");
            let _enter = span.enter();
            tracing::event!(
                target: AUDIT_TARGET,
                tracing::Level::INFO,
                audit.action = action,
                audit.category = category,
                audit.outcome = outcome,
                audit.resource = %format!("pool-{}", i % 7),
                attempt = i,
            );
        }
    });
    guard.shutdown()?;

    let report = verify_dir(
        &dir,
        &VerifyOptions {
            key: Some(key),
            ..Default::default()
        },
    )?;
    println!(
        "audit verify: {} records in {} segment(s): {}",
        report.records,
        report.segments.len(),
        match report.first_failure() {
            None => "trail intact".to_owned(),
            Some(f) => format!(
                "FAILED at {} line {}: {}: {}",
                f.file,
                f.line,
                f.kind.as_str(),
                f.detail
            ),
        }
    );
    println!(
        "verify it yourself: cargo run -p audit-cli -- verify {} --key-file {}",
        dir.display(),
        key_path.display()
    );
    Ok(report.ok())
}
