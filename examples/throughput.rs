//! Throughput of the storage core, single thread, release build:
//!
//! ```text
//! cargo run --release --example throughput -- [--records N]
//! ```
//!
//! 1. encode + hash + MAC + buffered write (durability `never`, batches of 1024) of N
//!    typical records of about 400 bytes;
//! 2. `verify_dir` over the written trail (hash, MAC, links, order);
//! 3. `sha256sum` over the same files, the peer that bounds any verifier.
//!
//! The trail goes to a temporary directory, removed at the end.

use std::process::Command;
use std::time::Instant;

use tracing_audit::storage::{Actor, Entry, Event, Outcome, Writer};
use tracing_audit::verify::{VerifyOptions, verify_dir};
use tracing_audit::{Durability, Key, Rotation, WriterConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut records: u64 = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--records" => {
                records = args
                    .next()
                    .ok_or("expected a number after --records")?
                    .parse()?
            }
            other => return Err(format!("expected `--records N`, found {other:?}").into()),
        }
    }
    println!("== typical event (action, outcome, actor id + ip, resource, 2 fields)");
    run(records, typical_event)?;
    println!("== compact event (action, outcome, actor id, 1 field)");
    run(records, compact_event)
}

fn run(records: u64, make: fn(u64) -> Entry) -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("trail");
    let key = Key::generate()?;
    let mut config = WriterConfig::new(&dir, "throughput", key.clone());
    config.durability = Durability::Never;
    config.rotation = "size:128MiB".parse::<Rotation>()?;

    let batch: Vec<Entry> = (0..1024u64).map(make).collect();
    let mut writer = Writer::open(config)?;
    let start = Instant::now();
    let mut written = 0u64;
    while written < records {
        let n =
            usize::try_from(records - written).map_or(batch.len(), |left| left.min(batch.len()));
        writer.append(&batch[..n])?;
        written += n as u64;
    }
    writer.sync()?;
    let write_secs = start.elapsed().as_secs_f64();
    writer.close()?;

    let stream = tracing_audit::storage::Stream::open(&dir)?;
    let files: Vec<_> = stream
        .segments()
        .iter()
        .map(|s| stream.segment_path(s))
        .collect();
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();

    let start = Instant::now();
    let report = verify_dir(&dir, &VerifyOptions::new().key(key))?;
    let verify_secs = start.elapsed().as_secs_f64();
    assert!(report.ok(), "{:?}", report.first_failure());

    let start = Instant::now();
    let status = Command::new("sha256sum")
        .args(&files)
        .stdout(std::process::Stdio::null())
        .status()?;
    let sha_secs = start.elapsed().as_secs_f64();
    assert!(status.success());

    let mib = bytes as f64 / (1024.0 * 1024.0);
    println!(
        "records: {records}, bytes: {bytes} ({:.0} bytes/record), segments: {}",
        bytes as f64 / report.records as f64,
        files.len()
    );
    println!(
        "write  (encode+hash+MAC+buffered write): {:>10.0} records/s  {:>7.1} MiB/s  ({write_secs:.3} s)",
        records as f64 / write_secs,
        mib / write_secs
    );
    println!(
        "verify (hash+MAC+links+order):            {:>10.0} records/s  {:>7.1} MiB/s  ({verify_secs:.3} s)",
        report.records as f64 / verify_secs,
        mib / verify_secs
    );
    println!(
        "peer: sha256sum over the same files:      {:>10.0} records/s  {:>7.1} MiB/s  ({sha_secs:.3} s)",
        report.records as f64 / sha_secs,
        mib / sha_secs
    );
    println!(
        "verify / sha256sum bytes per second: {:.2}",
        sha_secs / verify_secs
    );
    Ok(())
}

/// A typical event: an action, an outcome, an actor with id and IP, a resource and
/// two fields; about 420 bytes on disk with the header, hash and MAC.
fn typical_event(i: u64) -> Entry {
    let mut e = Event::new(
        [
            "pool.deleted",
            "auth.success",
            "token.created",
            "authz.denied",
        ][(i % 4) as usize],
    )
    .field("region", "eu-west-1")
    .field("attempt", i % 3);
    e.outcome = if i.is_multiple_of(10) {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    e.actor = Actor::new(format!("user-{:04}", i % 1000));
    e.actor.ip = Some("203.0.113.42".into());
    e.resource = Some(format!("pool-{:06}", i % 100_000));
    e.into()
}

/// A compact event, about 400 bytes on disk.
fn compact_event(i: u64) -> Entry {
    let mut e = Event::new("auth.success").field("attempt", i % 3);
    e.actor.id = Some(format!("user-{:04}", i % 1000));
    e.into()
}
