//! The scenarios, each run in a child process. Each returns a JSON object whose
//! `main` field is the figure rounds are ranked by.

use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde_json::{Value, json};
use tracing::Level;
use tracing_audit::note::SigningKey;
use tracing_audit::storage::{Entry, Event, Writer};
use tracing_audit::tree_index::TreeIndex;
use tracing_audit::verify::{VerifyOptions, verify_dir};
use tracing_audit::{
    AuditBuilder, AuditGuard, AuditLayer, Durability, Key, Rotation, WriterConfig,
};
use tracing_subscriber::layer::SubscriberExt as _;

type Res = Result<Value, Box<dyn std::error::Error>>;

/// Runs scenario `name` with `n` events.
pub fn run(name: &str, n: u64) -> Res {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    let mut v = match name {
        "audit" => audit_e2e(dir, n),
        "appender-lossless" => appender(dir, n, false),
        "appender-lossy" => appender(dir, n, true),
        "audit-fsync-1" => audit_fsync(dir, n, 1),
        "audit-fsync-4" => audit_fsync(dir, n, 4),
        "naive-fsync" => naive(dir, n),
        "caller-cost" => caller_cost(dir, n),
        "non-audit-base" => non_audit(dir, n, false),
        "non-audit-with" => non_audit(dir, n, true),
        "verify" => verify(dir, n),
        "call-1" => calls(dir, n, 1, false),
        "call-durable-1" => calls(dir, n, 1, true),
        "call-8" => calls(dir, n, 8, false),
        "call-durable-8" => calls(dir, n, 8, true),
        "memory" => memory(dir, n),
        "audit-integrity" => audit_integrity(dir, n),
        "verify-checkpoint" => verify_checkpoint(dir, n),
        "prove" => prove(dir, n),
        "query" => query(dir, n),
        other => Err(format!("expected a scenario name, found {other:?}").into()),
    }?;
    if let Some(m) = v.as_object_mut() {
        m.insert("scenario".into(), json!(name));
        m.insert("events".into(), json!(n));
        m.insert("peak_rss_kib".into(), json!(proc_status_kib("VmHWM:")));
    }
    Ok(v)
}

/// The audit event every audit scenario emits: an action and six fields, through
/// the `audit!` macro (checked against the default catalog).
#[inline]
fn emit_audit(i: u64) {
    tracing_audit::audit!(
        action = "pool.created",
        actor = "alice",
        resource = "pool-42",
        request_id = i,
        region = "eu-west-1",
        size_gb = 128u64,
        tier = "gold"
    );
}

/// The same event as ordinary (non-audit) logging.
#[inline]
fn emit_plain(i: u64) {
    tracing::event!(target: "bench", Level::INFO,
        action = "pool.created", actor = "alice", resource = "pool-42",
        request_id = i, region = "eu-west-1", size_gb = 128u64, tier = "gold");
}

fn pipeline(
    dir: &Path,
    durability: Durability,
) -> Result<(AuditLayer, AuditGuard), Box<dyn std::error::Error>> {
    let mut config = WriterConfig::new(dir.join("trail"), "bench", Key::generate()?);
    config.durability = durability;
    config.rotation = "size:128MiB".parse::<Rotation>()?;
    // Without checkpoints and key epochs: `audit-integrity` is this with them.
    config.epoch_interval = None;
    Ok(AuditBuilder::new(config).build()?)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Emit → redact → chain → MAC → file, buffered, one flush (with fsync) at the end.
fn audit_e2e(dir: &Path, n: u64) -> Res {
    let (layer, guard) = pipeline(dir, Durability::Never)?;
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))?;
    let start = Instant::now();
    for i in 0..n {
        emit_audit(i);
    }
    let emitted = start.elapsed().as_secs_f64();
    guard.flush()?; // everything written and fsynced
    let secs = start.elapsed().as_secs_f64();
    let health = guard.health();
    guard.shutdown()?;
    if health.written != n || health.dropped != 0 {
        return Err(format!(
            "wrote {} and dropped {} of {n}",
            health.written, health.dropped
        )
        .into());
    }
    let rate = n as f64 / secs;
    Ok(json!({
        "main": rate, "rate": rate, "secs": secs, "emit_secs": emitted,
        "bytes": dir_bytes(&dir.join("trail")),
    }))
}

/// `audit`, with what issue 11 adds: a signed checkpoint every second while records
/// arrive and a key epoch every hour (and at each rotation).
fn audit_integrity(dir: &Path, n: u64) -> Res {
    let trail = dir.join("trail");
    let config = WriterConfig::new(&trail, "bench", Key::generate()?)
        .durability(Durability::Never)
        .rotation("size:128MiB".parse::<Rotation>()?)
        .signing_key(SigningKey::generate("bench")?)
        .checkpoint_interval(std::time::Duration::from_secs(1))
        .epoch_interval(Some(std::time::Duration::from_secs(3600)));
    let (layer, guard) = AuditBuilder::new(config).build()?;
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))?;
    let start = Instant::now();
    for i in 0..n {
        emit_audit(i);
    }
    guard.flush()?;
    let secs = start.elapsed().as_secs_f64();
    let health = guard.health();
    guard.shutdown()?;
    if health.written != n || health.dropped != 0 {
        return Err(format!(
            "wrote {} and dropped {} of {n}",
            health.written, health.dropped
        )
        .into());
    }
    let report = verify_dir(&trail, &VerifyOptions::new())?;
    let rate = n as f64 / secs;
    Ok(json!({
        "main": rate, "rate": rate, "secs": secs,
        "checkpoints": report.checkpoint_records, "bytes": dir_bytes(&trail),
    }))
}

/// A trail of `n` events written straight to the writer, signed checkpoints
/// every second; returns (key, signing key, events per batch written).
fn signed_trail(trail: &Path, n: u64) -> Result<(Key, SigningKey), Box<dyn std::error::Error>> {
    let key = Key::generate()?;
    let signer = SigningKey::generate("bench")?;
    let config = WriterConfig::new(trail, "bench", key.clone())
        .durability(Durability::Never)
        .rotation("size:64MiB".parse::<Rotation>()?)
        .signing_key(signer.clone());
    let mut writer = Writer::open(config)?;
    let batch = event_batch();
    let mut written = 0;
    while written < n {
        let k = (n - written).min(1024) as usize;
        writer.append(&batch[..k])?;
        written += k as u64;
    }
    writer.close()?;
    Ok((key, signer))
}

/// `audit verify --checkpoint --pubkey`: every MAC, every in-trail checkpoint's
/// root and signature, and the trail against its final checkpoint.
fn verify_checkpoint(dir: &Path, n: u64) -> Res {
    let trail = dir.join("trail");
    let (key, signer) = signed_trail(&trail, n)?;
    let note = std::fs::read_to_string(trail.join("checkpoint"))?;
    let opts = VerifyOptions::new()
        .key(key)
        .pubkey(signer.verifier())
        .checkpoint("checkpoint", note);
    let start = Instant::now();
    let report = verify_dir(&trail, &opts)?;
    let secs = start.elapsed().as_secs_f64();
    if !report.ok() || report.checkpoint_verified.is_none() {
        return Err(format!(
            "the benchmark trail does not verify: {:?}",
            report.first_failure()
        )
        .into());
    }
    let rate = report.records as f64 / secs;
    Ok(json!({
        "main": rate, "rate": rate, "secs": secs,
        "verify_mb_s": dir_bytes(&trail) as f64 / secs / 1e6,
        "checkpoints": report.checkpoint_records,
    }))
}

/// Inclusion proofs of random records of an `n`-record trail from the proof
/// index (built once), against one proof built by a pass over the trail.
fn prove(dir: &Path, n: u64) -> Res {
    use tracing_audit::note::merkle;
    let trail = dir.join("trail");
    signed_trail(&trail, n)?;
    let stream = tracing_audit::storage::Stream::open(&trail)?;
    let stream_id = stream.records().next().ok_or("an empty trail")??.json()?["stream"]
        .as_str()
        .ok_or("no stream id")?
        .to_owned();
    let start = Instant::now();
    let mut index = TreeIndex::open(&dir.join("index"), &stream_id)?;
    let size = index.update(&trail)?;
    let index_build_s = start.elapsed().as_secs_f64();
    let root = index.root(size)?;
    // Random indices, the same in every round.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut times = Vec::with_capacity(1000);
    for _ in 0..1000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let i = x % size;
        let t = Instant::now();
        let proof = index.inclusion_proof(i, size)?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
        merkle::verify_inclusion(&index.leaf(i)?, i, size, &proof, &root)
            .map_err(|e| format!("a proof from the index does not verify: {e:?}"))?;
    }
    times.sort_by(f64::total_cmp);
    let t = Instant::now();
    let streamed = tracing_audit::proof::prove_inclusion(&stream, size / 2, size)?;
    let streaming_ms = t.elapsed().as_secs_f64() * 1e3;
    if streamed.proof.hashes != index.inclusion_proof(size / 2, size)? {
        return Err("the index and the pass over the trail disagree".into());
    }
    let median = percentile(&times, 0.5);
    Ok(json!({
        "main": median, "rate": 1e6 / median, "median_us": median,
        "p99_us": percentile(&times, 0.99), "index_build_s": index_build_s,
        "streaming_ms": streaming_ms, "records": size,
    }))
}

/// `Query` with a selective filter (one actor among many) over an `n`-record
/// trail, against `grep -c` of the actor's name over the same files.
fn query(dir: &Path, n: u64) -> Res {
    use tracing_audit::query::Query;
    let trail = dir.join("trail");
    signed_trail(&trail, n)?;
    let stream = tracing_audit::storage::Stream::open(&trail)?;
    let start = Instant::now();
    let found = Query::new()
        .actor("mallory")
        .action("pool.*")
        .run(&stream)
        .count();
    let secs = start.elapsed().as_secs_f64();
    let files: Vec<_> = stream
        .segments()
        .iter()
        .map(|s| stream.segment_path(s))
        .collect();
    let start = Instant::now();
    let grep = std::process::Command::new("grep")
        .arg("-c")
        .arg("mallory")
        .args(&files)
        .stdout(std::process::Stdio::null())
        .status()?;
    let grep_secs = start.elapsed().as_secs_f64();
    if grep.code() == Some(2) {
        return Err("grep failed".into());
    }
    let rate = n as f64 / secs;
    Ok(json!({
        "main": rate, "rate": rate, "secs": secs, "found": found,
        "grep_rate": n as f64 / grep_secs,
    }))
}

/// The peer: `tracing-appender` non-blocking (lossless or its lossy default) with
/// the `fmt` JSON layer, writing to a file (its `rolling::never` appender).
fn appender(dir: &Path, n: u64, lossy: bool) -> Res {
    let file = tracing_appender::rolling::never(dir, "app.log");
    let (writer, worker) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(lossy)
        .finish(file);
    let errors = writer.error_counter();
    let layer = tracing_subscriber::fmt::layer().json().with_writer(writer);
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))?;
    let start = Instant::now();
    for i in 0..n {
        emit_plain(i);
    }
    drop(worker); // writes what is queued
    // Durable at the end, as the audit side's flush() is: fsync the file.
    std::fs::File::open(dir.join("app.log"))?.sync_all()?;
    let secs = start.elapsed().as_secs_f64();
    let text = std::fs::read(dir.join("app.log"))?;
    let lines = text.iter().filter(|&&b| b == b'\n').count() as u64;
    let dropped = errors.dropped_lines() as u64;
    if !lossy && lines != n {
        return Err(format!("lossless mode wrote {lines} lines of {n}").into());
    }
    let rate = lines as f64 / secs;
    Ok(json!({
        "main": rate, "rate": rate, "secs": secs, "lines": lines, "dropped": dropped,
        "bytes": text.len(),
    }))
}

/// Keeps the values of the flush-latency histogram.
#[derive(Default)]
struct Latencies(Mutex<Vec<f64>>);

impl metrics::HistogramFn for Latencies {
    fn record(&self, value: f64) {
        if let Ok(mut v) = self.0.lock() {
            v.push(value);
        }
    }
}

struct LatencyRecorder(Arc<Latencies>);

impl metrics::Recorder for LatencyRecorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::noop()
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        key: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        if key.name() == "audit_flush_latency_seconds" {
            metrics::Histogram::from_arc(Arc::clone(&self.0))
        } else {
            metrics::Histogram::noop()
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// Durable group commit: fsync per batch, `threads` producers.
fn audit_fsync(dir: &Path, n: u64, threads: u64) -> Res {
    let latencies = Arc::new(Latencies::default());
    metrics::set_global_recorder(LatencyRecorder(Arc::clone(&latencies)))
        .map_err(|e| format!("cannot install the latency recorder: {e}"))?;
    let (layer, guard) = pipeline(dir, Durability::EveryBatch)?;
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))?;
    let per = n / threads;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                for i in 0..per {
                    emit_audit(t * per + i);
                }
            });
        }
    });
    guard.flush()?;
    let secs = start.elapsed().as_secs_f64();
    let health = guard.health();
    guard.shutdown()?;
    let total = per * threads;
    if health.written != total {
        return Err(format!("wrote {} of {total}", health.written).into());
    }
    let mut l = latencies.0.lock().map_err(|_| "poisoned")?.clone();
    l.sort_by(f64::total_cmp);
    let rate = total as f64 / secs;
    Ok(json!({
        "main": rate, "rate": rate, "secs": secs, "batches": l.len(),
        "p50_ms": percentile(&l, 0.50) * 1e3, "p99_ms": percentile(&l, 0.99) * 1e3,
        "mean_batch": total as f64 / l.len().max(1) as f64,
    }))
}

/// A handler: its record is written by the next batch (fsynced per batch), after
/// the call returned.
#[tracing_audit::audited(action = "pool.created", actor = "alice", resource = id)]
fn handler(id: u64) -> u64 {
    id
}

/// The same handler, durable: it returns once its record is fsynced.
#[tracing_audit::audited(action = "pool.created", actor = "alice", resource = id, durable)]
fn durable_handler(id: u64) -> u64 {
    id
}

/// What a call of an `#[audited]` handler takes, durable or not, with `threads`
/// callers (concurrent durable calls share fsyncs: group commit).
fn calls(dir: &Path, n: u64, threads: u64, durable: bool) -> Res {
    let (layer, guard) = pipeline(dir, Durability::EveryBatch)?;
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))?;
    let per = n / threads;
    let start = Instant::now();
    let mut us: Vec<f64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut us = Vec::with_capacity(per as usize);
                    for i in 0..per {
                        let at = Instant::now();
                        let id = if durable {
                            durable_handler(t * per + i)
                        } else {
                            handler(t * per + i)
                        };
                        us.push(at.elapsed().as_secs_f64() * 1e6);
                        std::hint::black_box(id);
                    }
                    us
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    guard.flush()?;
    let secs = start.elapsed().as_secs_f64();
    let health = guard.health();
    guard.shutdown()?;
    let total = per * threads;
    if health.written != total || us.len() as u64 != total {
        return Err(format!("wrote {} of {total}", health.written).into());
    }
    us.sort_by(f64::total_cmp);
    let median = percentile(&us, 0.5);
    let rate = total as f64 / secs;
    Ok(json!({
        "main": median, "median_us": median, "p99_us": percentile(&us, 0.99),
        "rate": rate, "secs": secs,
    }))
}

/// The naive design: open, append one JSON line, fsync, close — per event.
fn naive(dir: &Path, n: u64) -> Res {
    use std::io::Write as _;
    let path = dir.join("naive.jsonl");
    let start = Instant::now();
    for i in 0..n {
        let line = json!({
            "ts": tracing_audit::storage::Timestamp::now().to_string(),
            "action": "pool.created", "actor": "alice", "resource": "pool-42",
            "request_id": i, "region": "eu-west-1", "size_gb": 128, "tier": "gold",
        });
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        let mut bytes = serde_json::to_vec(&line)?;
        bytes.push(b'\n');
        f.write_all(&bytes)?;
        f.sync_data()?;
    }
    let secs = start.elapsed().as_secs_f64();
    let rate = n as f64 / secs;
    Ok(json!({ "main": rate, "rate": rate, "secs": secs }))
}

/// What one audit event costs its caller: the time `tracing::event!` takes on the
/// audit target with six fields, queue never full (flushed between chunks, untimed).
fn caller_cost(dir: &Path, n: u64) -> Res {
    let (layer, guard) = pipeline(dir, Durability::Never)?;
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))?;
    let mut ns = Vec::with_capacity(n as usize);
    let mut timer = Vec::with_capacity(10_000);
    let mut i = 0;
    while i < n {
        let chunk = (n - i).min(10_000);
        for _ in 0..chunk {
            let t = Instant::now();
            emit_audit(i);
            ns.push(t.elapsed().as_nanos() as f64);
            i += 1;
        }
        guard.flush()?;
    }
    for _ in 0..10_000 {
        let t = Instant::now();
        timer.push(t.elapsed().as_nanos() as f64);
    }
    guard.shutdown()?;
    ns.sort_by(f64::total_cmp);
    timer.sort_by(f64::total_cmp);
    let median = percentile(&ns, 0.5);
    Ok(json!({
        "main": median, "median_ns": median, "p99_ns": percentile(&ns, 0.99),
        "timer_median_ns": percentile(&timer, 0.5),
    }))
}

/// Counts events: the cheapest layer there is, as the baseline subscriber.
struct Count(Arc<AtomicU64>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Count {
    fn on_event(&self, _: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Non-audit events through a counting layer, with or without the audit layer.
fn non_audit(dir: &Path, n: u64, with_audit: bool) -> Res {
    let count = Arc::new(AtomicU64::new(0));
    let base = tracing_subscriber::registry().with(Count(Arc::clone(&count)));
    let guard = if with_audit {
        let (layer, guard) = pipeline(dir, Durability::Never)?;
        tracing::subscriber::set_global_default(base.with(layer))?;
        Some(guard)
    } else {
        tracing::subscriber::set_global_default(base)?;
        None
    };
    let start = Instant::now();
    for i in 0..n {
        emit_plain(i);
    }
    let secs = start.elapsed().as_secs_f64();
    if count.load(Ordering::Relaxed) != n {
        return Err("the counting layer missed events".into());
    }
    if let Some(g) = guard {
        let written = g.health().written;
        g.shutdown()?;
        if written != 0 {
            return Err(format!("{written} non-audit events reached the trail").into());
        }
    }
    let per = secs * 1e9 / n as f64;
    Ok(json!({ "main": per, "ns_per_event": per, "secs": secs }))
}

/// The 1,024 events every storage-level scenario appends, batch after batch: the
/// shape of `emit_audit`'s event.
fn event_batch() -> Vec<Entry> {
    (0..1024u64)
        .map(|i| {
            let mut e = Event::new("pool.created")
                .field("request_id", i)
                .field("region", "eu-west-1")
                .field("size_gb", 128u64)
                .field("tier", "gold");
            e.actor.id = Some("alice".into());
            e.resource = Some("pool-42".into());
            Entry::Event(e)
        })
        .collect()
}

/// `verify_dir` against `sha256sum` over the same segment files.
fn verify(dir: &Path, n: u64) -> Res {
    let trail = dir.join("trail");
    let key = Key::generate()?;
    let mut config = WriterConfig::new(&trail, "bench", key.clone());
    config.durability = Durability::Never;
    config.rotation = "size:64MiB".parse::<Rotation>()?;
    let mut writer = Writer::open(config)?;
    let batch = event_batch();
    let mut written = 0;
    while written < n {
        let k = (n - written).min(1024) as usize;
        writer.append(&batch[..k])?;
        written += k as u64;
    }
    writer.close()?;
    let bytes = dir_bytes(&trail) as f64;
    let opts = VerifyOptions::new().key(key);
    let start = Instant::now();
    let report = verify_dir(&trail, &opts)?;
    let verify_secs = start.elapsed().as_secs_f64();
    if !report.ok() {
        return Err("the benchmark trail does not verify".into());
    }
    let stream = tracing_audit::storage::Stream::open(&trail)?;
    let files: Vec<_> = stream
        .segments()
        .iter()
        .map(|s| stream.segment_path(s))
        .collect();
    let start = Instant::now();
    let status = std::process::Command::new("sha256sum")
        .args(&files)
        .stdout(std::process::Stdio::null())
        .status()?;
    let sha_secs = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err("sha256sum failed".into());
    }
    let verify_mb_s = bytes / verify_secs / 1e6;
    Ok(json!({
        "main": verify_mb_s, "rate": report.records as f64 / verify_secs,
        "verify_mb_s": verify_mb_s, "sha256sum_mb_s": bytes / sha_secs / 1e6, "bytes": bytes,
    }))
}

/// Resident memory over a long run: sampled at every tenth of it.
fn memory(dir: &Path, n: u64) -> Res {
    let (layer, guard) = pipeline(dir, Durability::Never)?;
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))?;
    let tenth = (n / 10).max(1);
    let mut samples = Vec::new();
    let start = Instant::now();
    for i in 0..n {
        emit_audit(i);
        if (i + 1) % tenth == 0 {
            samples.push(proc_status_kib("VmRSS:"));
        }
    }
    guard.flush()?;
    let secs = start.elapsed().as_secs_f64();
    guard.shutdown()?;
    let first = samples.first().copied().unwrap_or(0);
    let last = samples.last().copied().unwrap_or(0);
    let rate = n as f64 / secs;
    Ok(json!({
        "main": rate, "rate": rate, "rss_samples_kib": samples,
        "rss_first_kib": first, "rss_last_kib": last,
    }))
}

/// A `kB` line of `/proc/self/status` (`VmRSS:`, `VmHWM:`).
fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
