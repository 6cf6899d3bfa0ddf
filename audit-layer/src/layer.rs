//! The `tracing_subscriber::Layer` that picks audit events out of the stream.

use std::sync::Arc;

use tracing::span::{Attributes, Id, Record};
use tracing::{Metadata, Subscriber};
use tracing_audit_core::{Event, Member};
use tracing_audit_schema::MARKER_FIELD;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::capture::{EventVisitor, SpanContext, SpanVisitor};
use crate::pipeline::Queue;
use crate::redact::Fingerprinter;

/// The `tracing` target of every audit event ([`tracing_audit_schema::TARGET`]).
///
/// It starts with `@`, so it can never be a Rust module path, and no `EnvFilter`
/// directive written for a module can be a prefix of it.
pub const AUDIT_TARGET: &str = tracing_audit_schema::TARGET;

/// True when `meta` is an audit event's callsite: the audit target and the marker field.
pub fn is_audit(meta: &Metadata<'_>) -> bool {
    meta.target() == AUDIT_TARGET && meta.fields().field(MARKER_FIELD).is_some()
}

/// A filter for other layers (`fmt`, OpenTelemetry, …) that lets everything through
/// except audit events, so they appear only in the audit trail.
///
/// ```
/// use tracing_subscriber::{Layer as _, layer::SubscriberExt as _};
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_subscriber::fmt::layer().with_filter(tracing_audit_layer::non_audit()));
/// # drop(subscriber);
/// ```
pub fn non_audit() -> tracing_subscriber::filter::FilterFn<fn(&Metadata<'_>) -> bool> {
    tracing_subscriber::filter::FilterFn::new(|meta| meta.target() != AUDIT_TARGET)
}

/// The audit layer: register it once at start-up beside the service's other layers.
///
/// Only events whose target is [`AUDIT_TARGET`] are recorded; everything else passes
/// by untouched (this layer never disables a callsite for other layers). On the
/// caller's thread it only captures fields and span context and queues the record:
/// the second redaction pass (field-name rules and value patterns), ids, sequence numbers,
/// hashing, MACs and I/O happen on the writer thread.
pub struct AuditLayer {
    pub(crate) queue: Queue,
    pub(crate) span_fields: Vec<(String, Member)>,
    pub(crate) fingerprinter: Arc<Fingerprinter>,
}

impl std::fmt::Debug for AuditLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLayer")
            .field("service", &self.queue.shared.service)
            .field("healthy", &self.is_healthy())
            .field("span_fields", &self.span_fields)
            .finish_non_exhaustive()
    }
}

impl AuditLayer {
    /// The keyed fingerprints of this layer's stream: [`redacted`](crate::redacted)
    /// values use it, and an investigator can fingerprint a known value with it to
    /// find the records that mention it.
    pub fn fingerprinter(&self) -> &Fingerprinter {
        &self.fingerprinter
    }

    /// True while this layer's writer is running and its last write succeeded.
    pub fn is_healthy(&self) -> bool {
        self.queue.shared.is_healthy()
    }
}

impl<S> tracing_subscriber::Layer<S> for AuditLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut sc = SpanContext::default();
        attrs.record(&mut SpanVisitor {
            map: &self.span_fields,
            ctx: &mut sc,
        });
        if !sc.is_empty()
            && let Some(span) = ctx.span(id)
        {
            span.extensions_mut().insert(sc);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        let mut sc = ext.remove::<SpanContext>().unwrap_or_default();
        values.record(&mut SpanVisitor {
            map: &self.span_fields,
            ctx: &mut sc,
        });
        if !sc.is_empty() {
            ext.insert(sc);
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        if meta.target() != AUDIT_TARGET {
            return;
        }
        // The id is assigned on the writer thread, in bulk (see pipeline::EventIds).
        let mut record = Event::without_id(String::new());
        event.record(&mut EventVisitor { event: &mut record });
        if record.action.is_empty() {
            // On the audit target without the marker: a mistake in the emitting code.
            // Keep the record (nothing is dropped silently) under a name that says so.
            record.action = "audit.unmarked".into();
        }
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                if let Some(sc) = span.extensions().get::<SpanContext>() {
                    sc.fill(&mut record);
                }
            }
        }
        self.queue.send(record);
    }
}
