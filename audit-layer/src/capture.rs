//! Fields of a `tracing` event or span → the audit record.

use std::fmt;

use tracing_audit_core::{Event, FieldValue, Outcome};
use tracing::field::{Field, Visit};

/// The marker field every audit event carries (besides the audit target).
pub const MARKER_FIELD: &str = "audit.action";

/// Fills an [`Event`] from the fields of a `tracing` event on the audit target.
///
/// Fields named `audit.<member>` set the record's members (`audit.action`,
/// `audit.outcome`, `audit.category`, `audit.actor` / `audit.actor.id`,
/// `audit.actor.ip`, `audit.actor.auth`, `audit.actor.session`, `audit.resource`,
/// `audit.reason`, `audit.request_id`, `audit.trace_id`, `audit.org_id`,
/// `audit.project_id`, `audit.legal_hold_id`); every other field goes to `fields`.
pub(crate) struct EventVisitor<'a> {
    pub event: &'a mut Event,
}

impl EventVisitor<'_> {
    fn set(&mut self, name: &'static str, value: FieldValue) {
        let e = &mut *self.event;
        let slot = match name {
            "audit.action" => {
                e.action = text(value);
                return;
            }
            "audit.outcome" => {
                let t = text(value);
                e.outcome = match t.as_str() {
                    "success" | "ok" => Outcome::Success,
                    "failure" | "error" | "err" => Outcome::Failure,
                    "denied" => Outcome::Denied,
                    "panic" => Outcome::Panic,
                    "unknown" => Outcome::Unknown,
                    _ => {
                        e.fields.push(("audit.outcome".into(), FieldValue::Str(t)));
                        Outcome::Unknown
                    }
                };
                return;
            }
            "audit.category" => &mut e.category,
            "audit.actor" | "audit.actor.id" => &mut e.actor.id,
            "audit.actor.ip" => &mut e.actor.ip,
            "audit.actor.auth" => &mut e.actor.auth,
            "audit.actor.session" => &mut e.actor.session,
            "audit.resource" => &mut e.resource,
            "audit.reason" => &mut e.reason,
            "audit.request_id" => &mut e.request_id,
            "audit.trace_id" => &mut e.trace_id,
            "audit.org_id" => &mut e.org_id,
            "audit.project_id" => &mut e.project_id,
            "audit.legal_hold_id" => &mut e.legal_hold_id,
            other => {
                e.fields.push((other.into(), value));
                return;
            }
        };
        *slot = Some(text(value));
    }
}

fn text(v: FieldValue) -> String {
    match v {
        FieldValue::Str(s) => s,
        FieldValue::Null => String::new(),
        FieldValue::Bool(b) => b.to_string(),
        FieldValue::I64(n) => n.to_string(),
        FieldValue::U64(n) => n.to_string(),
        FieldValue::F64(f) => f.to_string(),
    }
}

impl Visit for EventVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field.name(), FieldValue::Str(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field.name(), FieldValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field.name(), FieldValue::U64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field.name(), FieldValue::Bool(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field.name(), FieldValue::F64(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.set(field.name(), FieldValue::Str(format!("{value:?}")));
    }
}

/// Which record member a span field provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpanTarget {
    /// `actor.id`
    ActorId,
    /// `actor.ip`
    ActorIp,
    /// `actor.auth`
    ActorAuth,
    /// `actor.session`
    ActorSession,
    /// `request_id`
    RequestId,
    /// `trace_id`
    TraceId,
    /// `org_id`
    OrgId,
    /// `project_id`
    ProjectId,
}

/// The span fields read by default, and what they provide.
pub const DEFAULT_SPAN_FIELDS: &[(&str, SpanTarget)] = &[
    ("actor", SpanTarget::ActorId),
    ("actor.id", SpanTarget::ActorId),
    ("actor_id", SpanTarget::ActorId),
    ("user_id", SpanTarget::ActorId),
    ("actor.ip", SpanTarget::ActorIp),
    ("client_ip", SpanTarget::ActorIp),
    ("actor.auth", SpanTarget::ActorAuth),
    ("auth_method", SpanTarget::ActorAuth),
    ("actor.session", SpanTarget::ActorSession),
    ("session_id", SpanTarget::ActorSession),
    ("request_id", SpanTarget::RequestId),
    ("trace_id", SpanTarget::TraceId),
    ("org_id", SpanTarget::OrgId),
    ("project_id", SpanTarget::ProjectId),
];

/// The context a span provides to audit events inside it (kept in its extensions).
#[derive(Debug, Clone, Default)]
pub(crate) struct SpanContext {
    values: Vec<(SpanTarget, String)>,
}

impl SpanContext {
    /// Fills the members of `e` that are still empty.
    pub(crate) fn fill(&self, e: &mut Event) {
        for (target, value) in &self.values {
            let slot = match target {
                SpanTarget::ActorId => &mut e.actor.id,
                SpanTarget::ActorIp => &mut e.actor.ip,
                SpanTarget::ActorAuth => &mut e.actor.auth,
                SpanTarget::ActorSession => &mut e.actor.session,
                SpanTarget::RequestId => &mut e.request_id,
                SpanTarget::TraceId => &mut e.trace_id,
                SpanTarget::OrgId => &mut e.org_id,
                SpanTarget::ProjectId => &mut e.project_id,
            };
            if slot.is_none() {
                *slot = Some(value.clone());
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Reads the mapped fields of a span (and only those: nothing else is kept).
pub(crate) struct SpanVisitor<'a> {
    pub map: &'a [(String, SpanTarget)],
    pub ctx: &'a mut SpanContext,
}

impl SpanVisitor<'_> {
    fn set(&mut self, field: &Field, value: String) {
        if let Some((_, target)) = self.map.iter().find(|(n, _)| n == field.name()) {
            self.ctx.values.retain(|(t, _)| t != target);
            self.ctx.values.push((*target, value));
        }
    }
}

impl Visit for SpanVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.map.iter().any(|(n, _)| n == field.name()) {
            self.set(field, format!("{value:?}"));
        }
    }
}
