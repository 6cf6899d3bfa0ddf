//! The kernel security runbook as code: components start and stop, configuration
//! reloads succeed and fail, a capability check denies an operation, an operator
//! uses break-glass with a justification, a secret is rotated — every step recorded
//! through the default catalog's kernel, secrets and break-glass actions, then the
//! trail is verified.
//!
//! ```text
//! cargo run --example kernel_runbook
//! ```
//!
//! The trail goes to a temporary directory, removed at the end; with `--keep` it is
//! kept, with its key written beside it, and the command that verifies it is printed.

use std::process::ExitCode;

use tracing_audit::verify::{VerifyOptions, verify_dir};
use tracing_audit::{AuditBuilder, AuditUnavailable, Key, WriterConfig, audit, audited, non_audit};
use tracing_subscriber::{Layer as _, layer::SubscriberExt as _};

/// The kernel's error type; break-glass refuses to run without a working trail.
#[derive(Debug)]
enum KernelError {
    Config(String),
    Denied(String),
    AuditDown(AuditUnavailable),
}

impl std::fmt::Display for KernelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KernelError::Config(m) => write!(f, "configuration rejected: {m}"),
            KernelError::Denied(m) => write!(f, "capability denied: {m}"),
            KernelError::AuditDown(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for KernelError {}

impl From<AuditUnavailable> for KernelError {
    fn from(e: AuditUnavailable) -> Self {
        KernelError::AuditDown(e)
    }
}

struct Kernel {
    config_version: u32,
}

impl Kernel {
    fn start(&self, component: &str) {
        audit!(
            action = "kernel.component.start",
            resource = component,
            version = self.config_version
        );
    }

    fn stop(&self, component: &str) {
        audit!(action = "kernel.component.stop", resource = component);
    }

    /// Reloads the configuration. The runbook has one action for success and one
    /// for failure, so both are explicit events here.
    fn reload(&mut self, text: &str) -> Result<u32, KernelError> {
        if !text.starts_with("version=") {
            audit!(
                action = "kernel.config.reload.failure",
                reason = "missing version line",
                outcome = "failure"
            );
            return Err(KernelError::Config("missing version line".into()));
        }
        self.config_version += 1;
        audit!(
            action = "kernel.config.reload.success",
            version = self.config_version
        );
        Ok(self.config_version)
    }

    /// The capability gate: a denial is an audit event, and an error for the caller.
    fn require(&self, actor: &str, capability: &str) -> Result<(), KernelError> {
        let granted = actor.starts_with("admin-");
        if !granted {
            audit!(
                action = "kernel.capability.denied",
                actor = actor,
                resource = capability,
                outcome = "denied"
            );
            return Err(KernelError::Denied(format!("{actor} lacks {capability}")));
        }
        Ok(())
    }

    /// Break-glass: needs a justification (the catalog says so, checked at compile
    /// time) and refuses to run at all while the trail cannot record (`fail_closed`).
    #[audited(action = "breakglass.activated", actor = operator, resource = capability, reason = justification, fail_closed, skip(self))]
    fn break_glass(
        &self,
        operator: &str,
        capability: &str,
        justification: &str,
    ) -> Result<(), KernelError> {
        Ok(())
    }

    /// Rotating a secret: the new value is never recorded, only its fingerprint
    /// (`value` is sensitive in the catalog).
    #[audited(action = "secret.rotated", actor = operator, resource = name, fields(value = new_value.as_str()), skip(self, new_value))]
    fn rotate_secret(&self, operator: &str, name: &str, new_value: String) {
        let _ = new_value;
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("kernel_runbook: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let keep = std::env::args().any(|a| a == "--keep");
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("kernel-trail");
    let key = Key::generate()?;
    let (audit, guard) =
        AuditBuilder::new(WriterConfig::new(&dir, "kernel", key.clone())).build()?;
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_filter(non_audit()),
        )
        .with(audit);

    // Before the trail exists, break-glass refuses to run (fail closed).
    let kernel = Kernel { config_version: 1 };
    match kernel.break_glass("admin-ana", "secrets.read", "incident 7731: vault sealed") {
        Err(KernelError::AuditDown(e)) => println!("without a trail, break-glass refused: {e}"),
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }

    tracing::subscriber::with_default(subscriber, || -> Result<(), KernelError> {
        let mut kernel = Kernel { config_version: 1 };
        for c in ["scheduler", "secrets", "gateway"] {
            kernel.start(c);
        }
        let v = kernel.reload("version=2\nmax_pools=8")?;
        tracing::info!("configuration version {v} loaded");
        if let Err(e) = kernel.reload("max_pools=9") {
            tracing::warn!("{e}");
        }
        if let Err(e) = kernel.require("svc-report", "secrets.read") {
            tracing::warn!("{e}");
        }
        kernel.break_glass(
            "oncall-bo",
            "secrets.read",
            "incident 7731: vault sealed, payments down",
        )?;
        kernel.rotate_secret("oncall-bo", "db-password", "n3w-s3cr3t".to_owned());
        for c in ["gateway", "secrets", "scheduler"] {
            kernel.stop(c);
        }
        Ok(())
    })?;
    guard.shutdown()?;

    let report = verify_dir(&dir, &VerifyOptions::new().key(key.clone()))?;
    if keep {
        println!("\nthe trail ({}):", dir.display());
    } else {
        println!(
            "\nthe trail ({}, temporary: removed at exit; `-- --keep` keeps it):",
            dir.display()
        );
    }
    let mut trail = String::new();
    for record in tracing_audit::storage::Stream::open(&dir)?.records() {
        let record = record?;
        trail.push_str(record.text().unwrap_or_default());
        let v = record.json()?;
        if v["kind"] == "event" {
            println!(
                "  {:<30} {:<8} actor={:<10} resource={:<14} {}",
                v["action"].as_str().unwrap_or(""),
                v["outcome"].as_str().unwrap_or(""),
                v["actor"]["id"].as_str().unwrap_or("-"),
                v["resource"].as_str().unwrap_or("-"),
                v["reason"]
                    .as_str()
                    .or(v["fields"]["error"].as_str())
                    .unwrap_or("")
            );
        }
    }
    assert!(
        !trail.contains("n3w-s3cr3t"),
        "the rotated secret must not be in the trail"
    );
    println!(
        "\naudit verify: {} records: {}",
        report.records,
        if report.ok() {
            "trail intact"
        } else {
            "FAILED"
        }
    );
    if keep {
        let key_file = tmp.path().join("kernel-trail.key");
        key.write_new_file(&key_file)?;
        let kept = tmp.keep();
        println!(
            "kept in {}; verify it with: cargo run -p tracing-audit-cli -- verify {} --key-file {}",
            kept.display(),
            dir.display(),
            key_file.display()
        );
    }
    Ok(report.ok())
}
