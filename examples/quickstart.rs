//! Quickstart: a service's `tracing` set-up with the audit layer beside its console
//! logging; annotated handlers (`#[audited]`) and one-off events (`audit!`), checked
//! against the default action catalog at compile time; narration stays out of the
//! trail; then it verifies the trail.
//!
//! ```text
//! cargo run --example quickstart [-- --records N]
//! ```
//!
//! Environment (the names operators already use):
//! - `AUDIT_STORAGE_PATH`: the stream directory (default `./audit-trail`).
//! - `AUDIT_HMAC_KEY_FILE`: the key file; when unset, `<storage path>.key` is used,
//!   and created (mode 0600) if it does not exist.
//! - `AUDIT_ROTATION`: `daily`, `hourly`, `size:64KiB`, one period and one size comma-separated (`daily,size:64MiB`), or `never`.
//! - `AUDIT_SIGNING_KEY_FILE`: the checkpoint signing key (`audit keygen --signing
//!   FILE`); with it the writer signs checkpoints, and the quickstart checks the
//!   trail against the last one with the verifier key `FILE.pub`.
//! - `AUDIT_FSYNC`, `AUDIT_OVERFLOW`, `AUDIT_SERVICE`, `AUDIT_CHECKPOINT_*`: as for
//!   `init_from_env`.

use std::path::PathBuf;
use std::process::ExitCode;

use tracing_audit::verify::{VerifyOptions, verify_dir};
use tracing_audit::{AuditBuilder, Key, audit, audited, non_audit};
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

/// A handler's error.
#[derive(Debug)]
struct PoolError(String);

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One audit record per call, with the outcome and duration; the actor comes from
/// the request span.
#[audited(action = "pool.created", context(actor), resource = name)]
fn create_pool(name: &str, gpus: u32) -> Result<(), PoolError> {
    let _ = (name, gpus);
    Ok(())
}

/// A failure is recorded with the error's text.
#[audited(action = "pool.deleted", context(actor), resource = name)]
fn delete_pool(name: &str) -> Result<(), PoolError> {
    if name.ends_with('2') {
        return Err(PoolError(format!("{name} still has running tasks")));
    }
    Ok(())
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
                // Beside a stream directory that may not exist yet, nor its parents
                // (`AUDIT_STORAGE_PATH=/srv/audit/billing/trail`): made as the
                // writer makes them, mode 0700.
                if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    use std::os::unix::fs::DirBuilderExt as _;
                    std::fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(parent)
                        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                }
                let key = Key::generate()?;
                let mut verifier = p.clone().into_os_string();
                verifier.push(".verifier");
                key.write_new_file(verifier.as_ref())?;
                key.write_new_file(&p)?;
                println!(
                    "created a new HMAC key at {} (the writer's: it moves on with each key epoch) and its verifier copy at {} (keep it secret, off the host: verification needs it)",
                    p.display(),
                    PathBuf::from(verifier).display()
                );
            }
            p
        }
    };
    // The verifier copy (`<key>.verifier`, the initial key) checks every key epoch;
    // the writer's key file, which moves on with the epochs, only its own.
    let mut verifier = key_path.clone().into_os_string();
    verifier.push(".verifier");
    let verify_key = match PathBuf::from(&verifier) {
        v if v.exists() => v,
        _ => key_path.clone(),
    };
    let key = Key::from_file(&verify_key)?;
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
        for i in 0..records {
            // The request's context (actor, request id, client IP) comes from its
            // span; `context(actor)` below tells the catalog check so.
            let span = tracing::info_span!("request", request_id = %format!("req-{i:06}"), actor = %format!("user-{}", i % 3), client_ip = "192.0.2.10");
            let _enter = span.enter();
            let pool = format!("pool-{}", i % 7);
            match i % 5 {
                0 => audit!(
                    action = "auth.success",
                    context(actor),
                    auth_method = "oidc"
                ),
                1 => {
                    let _ = create_pool(&pool, 8);
                }
                // The catalog marks `token` sensitive: only its fingerprint is kept.
                2 => {
                    audit!(action = "token.created", context(actor), resource = %pool, token = format!("tok-{i}-secret"))
                }
                3 => {
                    audit!(action = "authz.denied", context(actor), resource = %pool, outcome = "denied")
                }
                _ => {
                    if let Err(e) = delete_pool(&pool) {
                        tracing::warn!("delete refused: {e}");
                    }
                }
            }
        }
    });
    guard.shutdown()?;

    let mut opts = VerifyOptions::new().key(key);
    let signing = std::env::var_os("AUDIT_SIGNING_KEY_FILE").filter(|v| !v.is_empty());
    if let Some(signing) = &signing {
        let mut pubkey = signing.clone();
        pubkey.push(".pub");
        let checkpoint = dir.join("checkpoint");
        opts = opts
            .pubkey(tracing_audit::note::VerifierKey::from_file(
                pubkey.as_ref(),
            )?)
            .checkpoint("checkpoint", std::fs::read_to_string(&checkpoint)?);
    }
    let report = verify_dir(&dir, &opts)?;
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
    let checkpoint_args = signing.map_or_else(String::new, |s| {
        format!(
            " --pubkey {}.pub --checkpoint {}",
            PathBuf::from(s).display(),
            dir.join("checkpoint").display()
        )
    });
    println!(
        "verify it yourself: cargo run -p tracing-audit-cli -- verify {} --key-file {}{checkpoint_args}",
        dir.display(),
        verify_key.display()
    );
    Ok(report.ok())
}
