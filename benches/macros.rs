//! What `#[audited]` costs when no audit layer is installed: the same function with
//! and without the attribute.
//!
//! `cargo bench --bench macros`

// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tracing_audit::audited;

#[inline(never)]
fn plain(pool: &str, size: u64) -> Result<u64, String> {
    if pool.is_empty() {
        return Err("no pool".into());
    }
    Ok(size * 2)
}

#[inline(never)]
#[audited(action = "pool.modified", actor = "bench", resource = pool)]
fn audited(pool: &str, size: u64) -> Result<u64, String> {
    if pool.is_empty() {
        return Err("no pool".into());
    }
    Ok(size * 2)
}

fn no_layer(c: &mut Criterion) {
    let mut g = c.benchmark_group("no_audit_layer");
    g.bench_function("plain_fn", |b| {
        b.iter(|| plain(black_box("pool-42"), black_box(64)))
    });
    g.bench_function("audited_fn", |b| {
        b.iter(|| audited(black_box("pool-42"), black_box(64)))
    });
    g.finish();
}

criterion_group!(benches, no_layer);
criterion_main!(benches);
