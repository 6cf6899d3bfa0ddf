//! The `tracing_subscriber::Layer` that picks audit events out of the stream.

use std::sync::Arc;

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_audit_core::{Event, FieldValue, Member};
use tracing_audit_schema::{CONTEXT_MISSING_FIELD, MARKER_FIELD};
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::LookupSpan;

use crate::capture::{EventVisitor, SpanContext, SpanVisitor};
use crate::pipeline::Queue;
use crate::redact::Fingerprinter;

/// The `tracing` target of every audit event, `"@audit"` (the schema's
/// [`TARGET`](tracing_audit_schema::TARGET)).
///
/// It starts with `@`, so it can never be a Rust module path, and no `EnvFilter`
/// directive written for a module can be a prefix of it.
pub const AUDIT_TARGET: &str = tracing_audit_schema::TARGET;

/// True when `meta` is an audit event's callsite: the audit target and the marker field.
pub fn is_audit(meta: &Metadata<'_>) -> bool {
    meta.target() == AUDIT_TARGET && meta.fields().field(MARKER_FIELD).is_some()
}

/// A per-layer filter for the other layers (`fmt`, OpenTelemetry, …) that lets
/// everything through except audit events, so they appear only in the audit trail.
///
/// ```
/// use tracing_subscriber::{Layer as _, layer::SubscriberExt as _};
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_subscriber::fmt::layer().with_filter(tracing_audit::non_audit()));
/// # drop(subscriber);
/// ```
///
/// To filter that layer further, give its own filter to [`NonAudit::and`]
/// (`non_audit().and(EnvFilter::from_default_env())`) rather than nesting a second
/// `with_filter`: see [`NonAudit`] for why.
pub fn non_audit() -> NonAudit {
    NonAudit { inner: Everything }
}

/// The filter [`non_audit`] returns: audit events never pass; everything else passes
/// when `F` lets it.
///
/// It answers "yes" when `tracing` asks whether an audit event's *metadata* is
/// enabled and "no" when the event itself arrives (`event_enabled`). A per-layer
/// filter that said "no" to the metadata would leave its "disabled" mark set on the
/// thread whenever the question is asked with no event following — as
/// `tracing::enabled!`, `#[audited]` on every call and [`check_installed`](crate::check_installed)
/// do — and the layer would then skip the next event on that thread, whatever it is
/// (tokio-rs/tracing#2519). For the same reason `F` is never asked about audit
/// events; a filter nested outside or inside with a second `with_filter` would be.
#[derive(Debug, Clone, Copy)]
pub struct NonAudit<F = Everything> {
    inner: F,
}

/// What [`non_audit`] alone lets through: everything that is not an audit event.
#[derive(Debug, Clone, Copy, Default)]
pub struct Everything;

impl NonAudit {
    /// Also requires `filter` (an `EnvFilter`, a `LevelFilter`, a `filter_fn`, …)
    /// to enable what passes, as `FilterExt::and` would, but never asks `filter`
    /// about audit events.
    ///
    /// ```
    /// use tracing_subscriber::{Layer as _, filter::LevelFilter, layer::SubscriberExt as _};
    /// let console = tracing_subscriber::fmt::layer()
    ///     .with_filter(tracing_audit::non_audit().and(LevelFilter::WARN));
    /// let subscriber = tracing_subscriber::registry().with(console);
    /// # drop(subscriber);
    /// ```
    pub fn and<F>(self, filter: F) -> NonAudit<F> {
        NonAudit { inner: filter }
    }
}

impl<S> Filter<S> for Everything {
    fn enabled(&self, _: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        true
    }

    fn callsite_enabled(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::always()
    }
}

impl<S, F: Filter<S>> Filter<S> for NonAudit<F> {
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        if meta.target() == AUDIT_TARGET {
            // Events, and the hints `enabled!` asks about: "yes" here, "no" in
            // `event_enabled` (see the type's docs). Spans: "no".
            return !meta.is_span();
        }
        self.inner.enabled(meta, cx)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if meta.target() == AUDIT_TARGET {
            // With an audit layer in the subscriber, `tracing` turns this into
            // "sometimes" and asks `enabled`; without one, audit callsites stay off.
            return Interest::never();
        }
        self.inner.callsite_enabled(meta)
    }

    fn event_enabled(&self, event: &tracing::Event<'_>, cx: &Context<'_, S>) -> bool {
        event.metadata().target() != AUDIT_TARGET && self.inner.event_enabled(event, cx)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.inner.max_level_hint()
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.inner.on_record(id, values, ctx);
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_exit(id, ctx);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.inner.on_close(id, ctx);
    }
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

impl AuditLayer {
    /// A `context(…)` declaration promised members from an enclosing span: those
    /// no span provided are counted (`audit_context_missing_total`) and named in
    /// the record's [`CONTEXT_MISSING_FIELD`] field, never left silently empty.
    fn check_context(&self, record: &mut Event, declared: &str) {
        let missing: Vec<&str> = declared
            .split(',')
            .filter(|name| {
                Member::from_name(name).is_some_and(|m| record.member(m).is_none_or(str::is_empty))
            })
            .collect();
        if missing.is_empty() {
            return;
        }
        for member in &missing {
            metrics::counter!(
                crate::metrics::metric::CONTEXT_MISSING,
                "service" => self.queue.shared.service.clone(),
                // Not yet redacted (that happens on the writer thread).
                "action" => crate::redact_patterns(&record.action).into_owned(),
                "member" => (*member).to_owned(),
            )
            .increment(1);
        }
        record.fields.push((
            CONTEXT_MISSING_FIELD.into(),
            FieldValue::Str(missing.join(",")),
        ));
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
        let mut visitor = EventVisitor {
            event: &mut record,
            context: None,
        };
        event.record(&mut visitor);
        let declared = visitor.context;
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
        if let Some(declared) = declared {
            self.check_context(&mut record, &declared);
        }
        self.queue.send(record);
    }
}
