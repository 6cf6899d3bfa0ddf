//! Fields of a `tracing` event or span → the audit record.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_audit_core::{Event, FieldValue, Member, Outcome};
use tracing_audit_schema::{
    CATEGORY_FIELD, CONTEXT_FIELD, FIELD_PREFIX, MARKER_FIELD, OUTCOME_FIELD,
};

/// Fills an [`Event`] from the fields of a `tracing` event on the audit target.
///
/// [`MARKER_FIELD`] sets the action, [`OUTCOME_FIELD`] the outcome,
/// [`CATEGORY_FIELD`] the category, and `audit.<member>` a [`Member`]
/// (`audit.actor` / `audit.actor.id`, `audit.resource`, `audit.reason`, …); every
/// other field goes to `fields`.
pub(crate) struct EventVisitor<'a> {
    pub event: &'a mut Event,
    /// The members a `context(…)` declaration promised ([`CONTEXT_FIELD`]).
    pub context: Option<String>,
}

impl EventVisitor<'_> {
    fn set(&mut self, name: &'static str, value: FieldValue) {
        let e = &mut *self.event;
        if let Some(rest) = name.strip_prefix(FIELD_PREFIX) {
            match name {
                MARKER_FIELD => e.action = text(value),
                OUTCOME_FIELD => {
                    let t = text(value);
                    e.outcome = Outcome::parse(&t).unwrap_or_else(|| {
                        // Not an outcome: keep what was said, and say it is unknown.
                        e.fields.push((OUTCOME_FIELD.into(), FieldValue::Str(t)));
                        Outcome::Unknown
                    });
                }
                CATEGORY_FIELD => e.category = Some(text(value)),
                CONTEXT_FIELD => self.context = Some(text(value)),
                _ => match Member::from_name(rest) {
                    Some(member) => *e.member_mut(member) = Some(text(value)),
                    None => e.fields.push((name.into(), value)),
                },
            }
            return;
        }
        e.fields.push((name.into(), value));
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

/// The span fields read by default, and the record member each provides: an audit
/// event inside a span with one of these fields gets its value, unless the event
/// sets the member itself (the innermost span wins).
/// [`AuditBuilder::span_field`](crate::AuditBuilder::span_field) adds more.
///
/// The session id (`actor.session`) is a credential: the writer thread replaces it
/// with its keyed fingerprint, as it does the values of fields named like secrets
/// (`AuditBuilder::redact_field("actor.session", Strategy::Keep)` keeps it). To
/// keep it from every other layer too, give the span
/// [`redacted(session)`](crate::redacted) instead of the session itself.
///
/// | span field | record member |
/// |---|---|
/// | `actor` | `actor.id` |
/// | `actor.id` | `actor.id` |
/// | `actor_id` | `actor.id` |
/// | `user_id` | `actor.id` |
/// | `actor.ip` | `actor.ip` |
/// | `client_ip` | `actor.ip` |
/// | `actor.auth` | `actor.auth` |
/// | `auth_method` | `actor.auth` |
/// | `actor.session` | `actor.session` |
/// | `session_id` | `actor.session` |
/// | `request_id` | `request_id` |
/// | `trace_id` | `trace_id` |
/// | `org_id` | `org_id` |
/// | `project_id` | `project_id` |
pub const DEFAULT_SPAN_FIELDS: &[(&str, Member)] = &[
    ("actor", Member::ActorId),
    ("actor.id", Member::ActorId),
    ("actor_id", Member::ActorId),
    ("user_id", Member::ActorId),
    ("actor.ip", Member::ActorIp),
    ("client_ip", Member::ActorIp),
    ("actor.auth", Member::ActorAuth),
    ("auth_method", Member::ActorAuth),
    ("actor.session", Member::ActorSession),
    ("session_id", Member::ActorSession),
    ("request_id", Member::RequestId),
    ("trace_id", Member::TraceId),
    ("org_id", Member::OrgId),
    ("project_id", Member::ProjectId),
];

/// The context a span provides to audit events inside it (kept in its extensions).
#[derive(Debug, Clone, Default)]
pub(crate) struct SpanContext {
    values: Vec<(Member, String)>,
}

impl SpanContext {
    /// Fills the members of `e` that are still empty.
    pub(crate) fn fill(&self, e: &mut Event) {
        for (member, value) in &self.values {
            // An empty value provides nothing (an outer span's may).
            let slot = e.member_mut(*member);
            if slot.is_none() && !value.is_empty() {
                *slot = Some(value.clone());
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether this span provides `member` (an empty value provides nothing).
    pub(crate) fn provides(&self, member: Member) -> bool {
        self.values
            .iter()
            .any(|(m, v)| *m == member && !v.is_empty())
    }
}

/// Reads the mapped fields of a span (and only those: nothing else is kept).
pub(crate) struct SpanVisitor<'a> {
    pub map: &'a [(String, Member)],
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 10, item 7: the table in the documentation is the constant, row for row.
    #[test]
    fn the_documented_table_lists_every_span_field() {
        let source = include_str!("capture.rs");
        let docs = &source[..source.find("pub const DEFAULT_SPAN_FIELDS").unwrap()];
        let rows: Vec<(&str, &str)> = docs
            .lines()
            .filter_map(|l| l.strip_prefix("/// | `"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(|c| c.trim().trim_matches('`')).collect();
                (cells[0], cells[1])
            })
            .collect();
        let fields: Vec<(&str, &str)> = DEFAULT_SPAN_FIELDS
            .iter()
            .map(|(field, member)| (*field, member.name()))
            .collect();
        assert_eq!(rows, fields);
    }
}
