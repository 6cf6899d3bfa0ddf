//! Metrics through the [`metrics`](https://docs.rs/metrics) facade: names, and the
//! writer thread's handles. The table of metrics is in the crate documentation.

use std::collections::HashMap;

use tracing_audit_core::{Entry, Outcome};

/// Metric names, all labelled with `service`. See the crate documentation.
pub(crate) mod metric {
    pub const WRITTEN: &str = "audit_events_written_total";
    pub const DROPPED: &str = "audit_events_dropped_total";
    pub const WRITE_ERRORS: &str = "audit_write_errors_total";
    pub const QUEUE_DEPTH: &str = "audit_queue_depth";
    pub const FLUSH_LATENCY: &str = "audit_flush_latency_seconds";
    pub const HEALTHY: &str = "audit_healthy";
    pub const LAST_WRITE: &str = "audit_last_write_timestamp_seconds";
    pub const NOT_IN_CATALOG: &str = "audit_events_not_in_catalog_total";
    pub const NOT_DURABLE: &str = "audit_durable_wait_failures_total";
    pub const CONTEXT_MISSING: &str = "audit_context_missing_total";
}

/// The writer thread's metric handles, made on first use (after the application
/// installed its recorder, normally) and kept, so counting costs no lookup by name.
pub(crate) struct Meters {
    service: String,
    /// By action, then outcome.
    written: HashMap<String, Vec<(Outcome, metrics::Counter)>>,
    pub queue_depth: metrics::Gauge,
    pub flush_latency: metrics::Histogram,
    pub healthy: metrics::Gauge,
    pub last_write: metrics::Gauge,
}

impl Meters {
    pub(crate) fn new(service: &str) -> Meters {
        let label = || ("service", service.to_owned());
        let l = [label()];
        // Registered at zero now, so dashboards and alerts see them before any drop.
        metrics::counter!(metric::DROPPED, &l).increment(0);
        metrics::counter!(metric::WRITE_ERRORS, &l).increment(0);
        Meters {
            service: service.to_owned(),
            written: HashMap::new(),
            queue_depth: metrics::gauge!(metric::QUEUE_DEPTH, &l),
            flush_latency: metrics::histogram!(metric::FLUSH_LATENCY, &l),
            healthy: metrics::gauge!(metric::HEALTHY, &l),
            last_write: metrics::gauge!(metric::LAST_WRITE, &l),
        }
    }

    /// Counts an event whose action the run-time catalog does not have.
    pub(crate) fn not_in_catalog(&self, action: &str) {
        metrics::counter!(
            metric::NOT_IN_CATALOG,
            "service" => self.service.clone(),
            "action" => action.to_owned(),
        )
        .increment(1);
    }

    /// Counts the events of a written batch by action and outcome.
    pub(crate) fn written(&mut self, batch: &[Entry]) {
        for entry in batch {
            let Entry::Event(e) = entry else { continue };
            let by_outcome = match self.written.get_mut(e.action.as_str()) {
                Some(v) => v,
                None => self.written.entry(e.action.clone()).or_default(),
            };
            let counter = match by_outcome.iter().find(|(o, _)| *o == e.outcome) {
                Some((_, c)) => c,
                None => {
                    let c = metrics::counter!(
                        metric::WRITTEN,
                        "service" => self.service.clone(),
                        "action" => e.action.clone(),
                        "outcome" => e.outcome.as_str(),
                    );
                    by_outcome.push((e.outcome, c));
                    &by_outcome[by_outcome.len() - 1].1
                }
            };
            counter.increment(1);
        }
    }
}
