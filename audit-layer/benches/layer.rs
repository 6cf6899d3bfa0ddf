//! Criterion micro-benchmarks of the caller's side of the layer: capturing an audit
//! event (the whole `tracing::event!` call), and its parts (redaction, event id).
//!
//! `cargo bench -p tracing-audit-layer`

// criterion_group! defines an undocumented public function.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tracing_audit_core::{Durability, Event, Key, WriterConfig};
use tracing_audit_layer::bench_support::Redactor;
use tracing_audit_layer::{AUDIT_TARGET, AuditBuilder};
use tracing_subscriber::layer::SubscriberExt as _;

fn typical() -> Event {
    let mut e = Event::new("pool.created")
        .field("request_id", 7u64)
        .field("region", "eu-west-1")
        .field("size_gb", 128u64)
        .field("tier", "gold");
    e.actor.id = Some("alice".into());
    e.resource = Some("pool-42".into());
    e
}

fn parts(c: &mut Criterion) {
    let redactor = Redactor::new(&Key::from_hex(&"00".repeat(32)).unwrap());
    let event = typical();
    c.bench_function("redact/typical_event", |b| {
        b.iter_batched_ref(
            || event.clone(),
            |e| redactor.apply(black_box(e)),
            criterion::BatchSize::SmallInput,
        )
    });
    c.bench_function("redact/strategy_for_4_names", |b| {
        b.iter(|| {
            for n in ["request_id", "region", "size_gb", "tier"] {
                black_box(redactor.strategy_for(black_box(n)));
            }
        })
    });
    c.bench_function("redact/patterns_4_values", |b| {
        b.iter(|| {
            for v in ["alice", "pool-42", "eu-west-1", "gold"] {
                black_box(tracing_audit_layer::redact_patterns(black_box(v)));
            }
        })
    });
    // Longer values without a secret (error texts, URLs, `Debug` output): the
    // cost every such value pays for the "anything here?" test.
    c.bench_function("redact/patterns_4_ordinary_texts", |b| {
        b.iter(|| {
            for v in [
                "connection to db.internal:5432 refused after 3 attempts (timeout 5s)",
                "https://api.example.com:8443/v1/pools/pool-42?region=eu-west-1&tier=gold",
                "CreatePool { name: \"pool-42\", size_gb: 128, region: \"eu-west-1\", force: false }",
                "error: unexpected end of input at line 12, column 7; expected `}`",
            ] {
                black_box(tracing_audit_layer::redact_patterns(black_box(v)));
            }
        })
    });
    c.bench_function("redact/strategy_for_4_secretish_names", |b| {
        b.iter(|| {
            for n in ["password", "accessToken", "token_count", "compass"] {
                black_box(redactor.strategy_for(black_box(n)));
            }
        })
    });
    c.bench_function("event_id/uuid_now_v7", |b| b.iter(uuid::Uuid::now_v7));
    c.bench_function("event/new", |b| {
        b.iter(|| Event::new(black_box("pool.created")))
    });
}

fn capture(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = WriterConfig::new(dir.path(), "bench", Key::generate().unwrap());
    config.durability = Durability::Never;
    let (layer, guard) = AuditBuilder::new(config).build().unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    c.bench_function("capture/audit_event_six_fields", |b| {
        b.iter_custom(|iters| {
            tracing::dispatcher::with_default(&dispatch, || {
                let mut total = Duration::ZERO;
                let mut i = 0;
                while i < iters {
                    let chunk = (iters - i).min(10_000);
                    let start = Instant::now();
                    for n in 0..chunk {
                        tracing::event!(target: AUDIT_TARGET, tracing::Level::INFO,
                            audit.action = "pool.created", audit.actor = "alice",
                            audit.resource = "pool-42", request_id = n, region = "eu-west-1",
                            size_gb = 128u64, tier = "gold");
                    }
                    total += start.elapsed();
                    guard.flush().unwrap(); // keep the queue from filling (untimed)
                    i += chunk;
                }
                total
            })
        })
    });
}

criterion_group!(benches, parts, capture);
criterion_main!(benches);
