//! Metrics through the `metrics` facade, read back from a real Prometheus exporter.
//!
//! One test per process (the recorder is global), so this file holds one test.
#![allow(clippy::unwrap_used)]

use metrics_exporter_prometheus::PrometheusBuilder;
use tracing_audit_core::{Key, WriterConfig};
use tracing_audit_layer::{AUDIT_TARGET, AuditBuilder, Overflow};
use tracing_subscriber::layer::SubscriberExt as _;

/// The value of the sample whose name is `name` and whose labels include `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| {
            l.split(['{', ' ']).next() == Some(name) && labels.iter().all(|lab| l.contains(lab))
        })
        .and_then(|l| l.rsplit(' ').next())
        .map(|v| v.parse().unwrap())
}

#[test]
fn written_dropped_depth_latency_and_health_reach_the_exporter() {
    let prometheus = PrometheusBuilder::new().install_recorder().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = Key::generate().unwrap();
    let (audit, guard) = AuditBuilder::new(WriterConfig::new(dir.path(), "metrics-test", key))
        .overflow(Overflow::Drop)
        .queue_capacity(4)
        .build()
        .unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(audit));
    // One at a time, so the small queue drops none of these.
    tracing::dispatcher::with_default(&dispatch, || {
        for _ in 0..3 {
            tracing::event!(target: AUDIT_TARGET, tracing::Level::INFO, audit.action = "pool.created");
            guard.flush().unwrap();
        }
        for _ in 0..2 {
            tracing::event!(target: AUDIT_TARGET, tracing::Level::INFO,
                audit.action = "pool.created", audit.outcome = "failure");
            guard.flush().unwrap();
        }
        tracing::event!(target: AUDIT_TARGET, tracing::Level::INFO,
            audit.action = "authz.denied", audit.outcome = "denied");
        guard.flush().unwrap();
    });
    assert_eq!(guard.health().dropped, 0);
    {
        // A stalled writer and a full queue: the drops are counted.
        let _stall = guard.stall_writer();
        tracing::dispatcher::with_default(&dispatch, || {
            for _ in 0..50 {
                tracing::event!(target: AUDIT_TARGET, tracing::Level::INFO, audit.action = "task.submitted");
            }
        });
    }
    guard.flush().unwrap();
    let health = guard.health();
    assert!(health.dropped > 0);

    let text = prometheus.render();
    assert_eq!(
        sample(
            &text,
            "audit_write_errors_total",
            &[r#"service="metrics-test""#]
        ),
        Some(0.0),
        "registered at zero before any error: {text}"
    );
    let svc = r#"service="metrics-test""#;
    let written = |action: &str, outcome: &str| {
        sample(
            &text,
            "audit_events_written_total",
            &[
                svc,
                &format!(r#"action="{action}""#),
                &format!(r#"outcome="{outcome}""#),
            ],
        )
    };
    assert_eq!(written("pool.created", "success"), Some(3.0), "{text}");
    assert_eq!(written("pool.created", "failure"), Some(2.0), "{text}");
    assert_eq!(written("authz.denied", "denied"), Some(1.0), "{text}");
    assert_eq!(
        written("task.submitted", "success"),
        Some((50 - health.dropped) as f64),
        "{text}"
    );
    assert_eq!(
        sample(&text, "audit_events_dropped_total", &[svc]),
        Some(health.dropped as f64),
        "{text}"
    );
    assert_eq!(sample(&text, "audit_healthy", &[svc]), Some(1.0), "{text}");
    assert!(
        sample(&text, "audit_queue_depth", &[svc]).is_some(),
        "{text}"
    );
    let batches = sample(&text, "audit_flush_latency_seconds_count", &[svc]).unwrap();
    assert!(batches >= 2.0, "{text}");
    let last = sample(&text, "audit_last_write_timestamp_seconds", &[svc]).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - last).abs() < 60.0, "last write {last}, now {now}");
    guard.shutdown().unwrap();
}
