//! The record model: what an audit event says, and the trail's own records.

use std::borrow::Cow;

use crate::timestamp::Timestamp;

/// The format version written in every record's `v` field. Verifiers read
/// versions 1 and 2 (docs/FORMAT.md §7).
pub const FORMAT_VERSION: u32 = 2;

pub use tracing_audit_schema::{Member, Outcome};

/// Who performed the action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Actor {
    /// The principal's id (user, service account, API key id).
    pub id: Option<String>,
    /// The client's IP address.
    pub ip: Option<String>,
    /// How the actor authenticated (`password`, `mtls`, `oidc`, …).
    pub auth: Option<String>,
    /// The session id.
    pub session: Option<String>,
}

impl Actor {
    /// An actor with only its id known; set the other parts directly.
    pub fn new(id: impl Into<String>) -> Actor {
        Actor {
            id: Some(id.into()),
            ..Actor::default()
        }
    }

    /// True when no part of the actor is known.
    pub fn is_empty(&self) -> bool {
        self.id.is_none() && self.ip.is_none() && self.auth.is_none() && self.session.is_none()
    }
}

/// The value of one entry in an event's `fields` object.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// JSON `null`.
    Null,
    /// JSON `true`/`false`.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer.
    U64(u64),
    /// A float; non-finite values are written as strings (`"NaN"`, `"inf"`, `"-inf"`)
    /// because JSON has no such numbers.
    F64(f64),
    /// A string.
    Str(String),
}

impl From<&str> for FieldValue {
    fn from(s: &str) -> Self {
        FieldValue::Str(s.to_owned())
    }
}
impl From<String> for FieldValue {
    fn from(s: String) -> Self {
        FieldValue::Str(s)
    }
}
impl From<i64> for FieldValue {
    fn from(v: i64) -> Self {
        FieldValue::I64(v)
    }
}
impl From<u64> for FieldValue {
    fn from(v: u64) -> Self {
        FieldValue::U64(v)
    }
}
impl From<bool> for FieldValue {
    fn from(v: bool) -> Self {
        FieldValue::Bool(v)
    }
}
impl From<f64> for FieldValue {
    fn from(v: f64) -> Self {
        FieldValue::F64(v)
    }
}

/// One audit event: who did what, when, to what, with what outcome.
///
/// `service`, `seq`, `prev`, `epoch`, `hash` and `mac` are added by the writer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// The event id (a UUIDv7, time-ordered).
    pub id: uuid::Uuid,
    /// When the event happened.
    pub ts: Timestamp,
    /// The catalog action name, e.g. `pool.delete`.
    pub action: String,
    /// The catalog category, e.g. `resources`.
    pub category: Option<String>,
    /// What happened.
    pub outcome: Outcome,
    /// Who did it.
    pub actor: Actor,
    /// What it was done to.
    pub resource: Option<String>,
    /// The justification or failure reason.
    pub reason: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// The distributed-trace id.
    pub trace_id: Option<String>,
    /// Tenancy: the organisation.
    pub org_id: Option<String>,
    /// Tenancy: the project.
    pub project_id: Option<String>,
    /// The legal hold this event falls under, if any.
    pub legal_hold_id: Option<String>,
    /// Further (already redacted) fields, written in this order. Names are usually
    /// `&'static str` (a `tracing` field name, a literal), so they cost no allocation.
    pub fields: Vec<(Cow<'static, str>, FieldValue)>,
}

impl Event {
    /// A new event for `action` with outcome `success`, a fresh UUIDv7 and the
    /// current time; set the other fields directly.
    pub fn new(action: impl Into<String>) -> Event {
        Event {
            id: uuid::Uuid::now_v7(),
            ..Event::new_at(action, Timestamp::now())
        }
    }

    /// Like [`Event::new`], but with a nil `id`, for pipelines that assign ids later
    /// (in bulk, off the caller's thread: a UUIDv7 needs random bits, and asking the
    /// operating system for them costs a system call per event). A nil id must be
    /// replaced before the event is written.
    pub fn without_id(action: impl Into<String>) -> Event {
        Event {
            id: uuid::Uuid::nil(),
            ..Event::new_at(action, Timestamp::now())
        }
    }

    fn new_at(action: impl Into<String>, ts: Timestamp) -> Event {
        Event {
            id: uuid::Uuid::nil(),
            ts,
            action: action.into(),
            category: None,
            outcome: Outcome::Success,
            actor: Actor::default(),
            resource: None,
            reason: None,
            request_id: None,
            trace_id: None,
            org_id: None,
            project_id: None,
            legal_hold_id: None,
            fields: Vec::new(),
        }
    }

    /// The value of a record member, if set.
    pub fn member(&self, member: Member) -> Option<&str> {
        match member {
            Member::ActorId => self.actor.id.as_deref(),
            Member::ActorIp => self.actor.ip.as_deref(),
            Member::ActorAuth => self.actor.auth.as_deref(),
            Member::ActorSession => self.actor.session.as_deref(),
            Member::Resource => self.resource.as_deref(),
            Member::Reason => self.reason.as_deref(),
            Member::RequestId => self.request_id.as_deref(),
            Member::TraceId => self.trace_id.as_deref(),
            Member::OrgId => self.org_id.as_deref(),
            Member::ProjectId => self.project_id.as_deref(),
            Member::LegalHoldId => self.legal_hold_id.as_deref(),
        }
    }

    /// The slot of a record member, to set or rewrite it.
    pub fn member_mut(&mut self, member: Member) -> &mut Option<String> {
        match member {
            Member::ActorId => &mut self.actor.id,
            Member::ActorIp => &mut self.actor.ip,
            Member::ActorAuth => &mut self.actor.auth,
            Member::ActorSession => &mut self.actor.session,
            Member::Resource => &mut self.resource,
            Member::Reason => &mut self.reason,
            Member::RequestId => &mut self.request_id,
            Member::TraceId => &mut self.trace_id,
            Member::OrgId => &mut self.org_id,
            Member::ProjectId => &mut self.project_id,
            Member::LegalHoldId => &mut self.legal_hold_id,
        }
    }

    /// Adds one field (builder style).
    pub fn field(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<FieldValue>,
    ) -> Event {
        self.fields.push((name.into(), value.into()));
        self
    }
}

/// A record that says events were lost before they reached the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Gap {
    /// How many events were lost.
    pub count: u64,
    /// When the first lost event was emitted.
    pub from: Timestamp,
    /// When the last lost event was emitted.
    pub to: Timestamp,
    /// Why they were lost (e.g. `queue_full`).
    pub reason: String,
}

impl Gap {
    /// `count` events, emitted from `from` to `to`, were lost for `reason`
    /// (e.g. `queue_full`).
    pub fn new(count: u64, from: Timestamp, to: Timestamp, reason: impl Into<String>) -> Gap {
        Gap {
            count,
            from,
            to,
            reason: reason.into(),
        }
    }
}

/// What a caller appends to a stream.
// Events are the common case; boxing them would add an allocation per event for the
// sake of the rare gap record.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// An audit event.
    Event(Event),
    /// A loss report.
    Gap(Gap),
}

impl From<Event> for Entry {
    fn from(e: Event) -> Self {
        Entry::Event(e)
    }
}

impl From<Gap> for Entry {
    fn from(g: Gap) -> Self {
        Entry::Gap(g)
    }
}

/// The `kind` of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordKind {
    /// First record of every segment.
    Open,
    /// Last record of a closed segment.
    Seal,
    /// Written after an unclean shutdown; says what was cut.
    Recovery,
    /// Events were lost before reaching the writer.
    Gap,
    /// An audit event.
    Event,
    /// A signed checkpoint of the stream's Merkle tree (version 2).
    Checkpoint,
    /// The key epoch advanced (version 2).
    Epoch,
}

impl RecordKind {
    /// The string written in the `kind` field.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Open => "open",
            RecordKind::Seal => "seal",
            RecordKind::Recovery => "recovery",
            RecordKind::Gap => "gap",
            RecordKind::Event => "event",
            RecordKind::Checkpoint => "checkpoint",
            RecordKind::Epoch => "epoch",
        }
    }

    /// Parses a `kind` value; `None` for kinds this version does not know.
    pub fn parse(s: &str) -> Option<RecordKind> {
        Some(match s {
            "open" => RecordKind::Open,
            "seal" => RecordKind::Seal,
            "recovery" => RecordKind::Recovery,
            "gap" => RecordKind::Gap,
            "event" => RecordKind::Event,
            "checkpoint" => RecordKind::Checkpoint,
            "epoch" => RecordKind::Epoch,
            _ => return None,
        })
    }
}
