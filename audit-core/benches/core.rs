//! Criterion micro-benchmarks of the storage core: encoding (and its hand-written
//! hex and timestamp cache beside the crates they replace), hashing + MAC, batch
//! append (encode + hash + MAC + buffered write), and verification.
//!
//! `cargo bench -p tracing-audit-core`

// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sha2::{Digest as _, Sha256};
use tracing_audit_core::{
    Actor, Durability, Entry, Event, Key, Outcome, Rotation, VerifyOptions, Writer, WriterConfig,
    verify_dir,
};

fn typical_event(i: u64) -> Entry {
    let mut e = Event::new(["pool.deleted", "auth.success"][(i % 2) as usize])
        .field("region", "eu-west-1")
        .field("attempt", i % 3);
    e.outcome = Outcome::Success;
    e.actor = Actor::new(format!("user-{:04}", i % 1000));
    e.actor.ip = Some("203.0.113.42".into());
    e.resource = Some(format!("pool-{:06}", i % 100_000));
    e.into()
}

fn config(dir: &std::path::Path, key: Key) -> WriterConfig {
    let mut c = WriterConfig::new(dir, "bench", key);
    c.durability = Durability::Never;
    c.rotation = "size:256MiB".parse::<Rotation>().expect("valid rotation");
    c
}

fn hash_and_mac(c: &mut Criterion) {
    let key = Key::generate().expect("key");
    let line = vec![b'x'; 529 - tracing_audit_core::SUFFIX_LEN];
    let mut g = c.benchmark_group("hash_mac");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sha256+hmac_529B_record", |b| {
        b.iter(|| {
            let mut h = Sha256::new();
            h.update(black_box(&line));
            h.update(b"}");
            let hash: [u8; 32] = h.finalize().into();
            black_box(key.mac(&hash))
        })
    });
    g.finish();
}

fn encode(c: &mut Criterion) {
    let entry = typical_event(7);
    let prev = [7u8; 32];
    let mut buf = Vec::with_capacity(1024);
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(1));
    g.bench_function("typical_record_header_and_body", |b| {
        b.iter(|| {
            buf.clear();
            tracing_audit_core::bench_support::encode_unsealed(
                &mut buf,
                black_box(&entry),
                42,
                &prev,
            );
            black_box(buf.len())
        })
    });
    g.finish();
}

/// The hand-written hex and timestamp cache of the encoder, each beside what it
/// replaces: the `hex` crate and the formatter (through the `time` crate).
fn hex_and_timestamps(c: &mut Criterion) {
    use tracing_audit_core::Timestamp;
    use tracing_audit_core::bench_support::{TimestampCache, push_hex};
    let bytes = *b"0123456789abcdef fedcba987654321";
    let mut out = Vec::with_capacity(128);
    let mut g = c.benchmark_group("hex");
    g.bench_function("table_32B", |b| {
        b.iter(|| {
            out.clear();
            push_hex(&mut out, black_box(&bytes));
            black_box(out.len())
        })
    });
    g.bench_function("hex_crate_32B", |b| {
        b.iter(|| {
            out.clear();
            let mut buf = [0u8; 64];
            hex::encode_to_slice(black_box(&bytes), &mut buf).expect("64 bytes");
            out.extend_from_slice(&buf);
            black_box(out.len())
        })
    });
    g.finish();
    // Records a microsecond apart, as in a busy second.
    let start = Timestamp::now().unix_micros();
    let mut g = c.benchmark_group("timestamp");
    let mut cache = TimestampCache::new();
    let mut t = start;
    g.bench_function("per_second_cache", |b| {
        b.iter(|| {
            out.clear();
            t += 1;
            cache.write(black_box(Timestamp::from_unix_micros(t)), &mut out);
            black_box(out.len())
        })
    });
    let mut t = start;
    g.bench_function("write_rfc3339", |b| {
        b.iter(|| {
            out.clear();
            t += 1;
            black_box(Timestamp::from_unix_micros(t)).write_rfc3339(&mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = Writer::open(config(dir.path(), Key::generate().expect("key"))).expect("writer");
    let batch: Vec<Entry> = (0..1024).map(typical_event).collect();
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.bench_function("batch_1024_typical_never_fsync", |b| {
        b.iter(|| w.append(black_box(&batch)).expect("append"))
    });
    g.finish();
}

fn verify(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = Key::generate().expect("key");
    let mut w = Writer::open(config(dir.path(), key.clone())).expect("writer");
    let batch: Vec<Entry> = (0..1000).map(typical_event).collect();
    for _ in 0..100 {
        w.append(&batch).expect("append");
    }
    w.close().expect("close");
    let opts = VerifyOptions::new().key(key);
    let mut g = c.benchmark_group("verify");
    g.sample_size(10);
    g.throughput(Throughput::Elements(100_002));
    g.bench_function("100k_typical_records", |b| {
        b.iter(|| {
            let r = verify_dir(dir.path(), &opts).expect("verify");
            assert!(r.ok());
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    encode,
    hex_and_timestamps,
    hash_and_mac,
    append,
    verify
);
criterion_main!(benches);
