//! Quickstart: writes a small audit trail and verifies it.
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

use std::path::PathBuf;
use std::process::ExitCode;

use audit_trail::{
    Actor, Event, Key, Outcome, Rotation, VerifyOptions, Writer, WriterConfig, verify_dir,
};

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
    let mut config = WriterConfig::new(&dir, "quickstart", key.clone());
    if let Ok(r) = std::env::var("AUDIT_ROTATION") {
        config.rotation = r.parse::<Rotation>()?;
    }

    let mut writer = Writer::open(config)?;
    println!(
        "writing {records} audit events to {} ({:?})",
        dir.display(),
        writer.opened()
    );
    let actions = [
        ("auth.success", "auth", Outcome::Success),
        ("pool.created", "resources", Outcome::Success),
        ("token.created", "auth", Outcome::Success),
        ("authz.denied", "authz", Outcome::Denied),
        ("pool.deleted", "resources", Outcome::Success),
    ];
    let mut batch = Vec::new();
    for (i, &(action, category, outcome)) in (0..records).zip(actions.iter().cycle()) {
        let mut e = Event::new(action)
            .field("pool_id", format!("pool-{}", i % 7))
            .field("attempt", i);
        e.category = Some(category.into());
        e.outcome = outcome;
        e.actor = Actor {
            id: Some(format!("user-{}", i % 3)),
            ip: Some("192.0.2.10".into()),
            auth: Some("oidc".into()),
            session: None,
        };
        e.request_id = Some(format!("req-{i:06}"));
        batch.push(e.into());
        if batch.len() == 256 {
            writer.append(&batch)?;
            batch.clear();
        }
    }
    writer.append(&batch)?;
    writer.close()?;

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
