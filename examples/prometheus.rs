//! The audit pipeline's metrics in Prometheus' text format.
//!
//! ```text
//! cargo run --example prometheus
//! ```
//!
//! It installs the `metrics-exporter-prometheus` recorder (before building the audit
//! layer, so the layer's metric handles reach it), records a few audit events into a
//! temporary trail, and prints what a Prometheus scrape of `/metrics` would return.
//! A service serves the same text from its HTTP server (`PrometheusHandle::render`),
//! or lets the exporter listen by itself (its `http-listener` feature).

use metrics_exporter_prometheus::PrometheusBuilder;
use tracing_audit::{AUDIT_TARGET, AuditBuilder, Key, WriterConfig};
use tracing_subscriber::{layer::SubscriberExt as _, util::SubscriberInitExt as _};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prometheus = PrometheusBuilder::new().install_recorder()?;

    let dir = tempfile::tempdir()?;
    let (audit, guard) =
        AuditBuilder::new(WriterConfig::new(dir.path(), "billing", Key::generate()?)).build()?;
    tracing_subscriber::registry().with(audit).init();

    for i in 0..5u64 {
        tracing::event!(target: AUDIT_TARGET, tracing::Level::INFO,
            audit.action = "invoice.refund", audit.resource = format!("inv-{i}"));
    }
    tracing::event!(target: AUDIT_TARGET, tracing::Level::INFO,
        audit.action = "authz.denied", audit.outcome = "denied", audit.resource = "inv-9");
    guard.flush()?;

    print!("{}", prometheus.render());
    guard.shutdown()?;
    Ok(())
}
