//! The one definition of `tracing-audit`'s record schema.
//!
//! An audit event is a `tracing` event whose target is [`TARGET`] and whose field set
//! contains [`MARKER_FIELD`]. Its fields named `audit.<member>` set the record's
//! [`Member`]s; `audit.outcome` sets its [`Outcome`]; every other field goes to the
//! record's `fields` object. The record format itself is described in the project's
//! [FORMAT.md](https://docs.rs/tracing-audit/latest/tracing_audit/docs/format/index.html).
//!
//! The macros, the layer and the storage core take every name from here, so they
//! cannot disagree (an earlier copy that drifted let a catalog-sensitive member be
//! written in clear).
//!
//! # Example
//!
//! ```
//! use tracing_audit_schema::{Member, Outcome};
//!
//! assert_eq!(Member::ActorId.name(), "actor.id");
//! assert_eq!(Member::ActorId.field(), "audit.actor.id");
//! assert_eq!(Member::from_name("actor"), Some(Member::ActorId)); // the short form
//! assert_eq!(Member::from_field("audit.resource"), Some(Member::Resource));
//! assert_eq!(Outcome::parse("ok"), Some(Outcome::Success));
//! assert_eq!(Outcome::Denied.as_str(), "denied");
//! ```
#![deny(missing_docs)]
#![no_std]

/// The `tracing` target of every audit event. It can never equal a Rust module path,
/// so `EnvFilter`'s prefix matching on module paths never selects it by accident.
pub const TARGET: &str = "@audit";

/// The field every audit event carries (it names the action), besides the target.
pub const MARKER_FIELD: &str = "audit.action";

/// The `tracing` field that sets the record's outcome.
pub const OUTCOME_FIELD: &str = "audit.outcome";

/// The `tracing` field that sets the record's category.
pub const CATEGORY_FIELD: &str = "audit.category";

/// The prefix of the `tracing` fields that set record members; user fields may not
/// start with it.
pub const FIELD_PREFIX: &str = "audit.";

/// The `tracing` field in which the macros list the members an enclosing span
/// must provide (`context(actor, request_id)` → `"actor,request_id"`). The layer
/// checks them; it is not a field of the record.
pub const CONTEXT_FIELD: &str = "audit.context";

/// The record field that names the members a `context(…)` declaration promised and
/// no span provided (comma-separated): such a record is written, and marked.
pub const CONTEXT_MISSING_FIELD: &str = "context_missing";

/// Field names that hold secrets (the fingerprinted ones among the layer's default
/// field-name rules). The macros fingerprint a field or argument so named at the
/// source, before the `tracing` event exists, whatever the catalog says, so that
/// no other layer sees it; names match as in [`field_name_matches`].
pub const SECRET_FIELD_NAMES: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "client_secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "secret_key",
    "private_key",
    "authorization",
    "cookie",
    "credential",
    "credentials",
];

/// Whether the field `name` is `word`, or ends with `_word`, `.word` or `-word`,
/// ignoring ASCII case and taking `-` for `_` (`db_password`, `user.api_key` and
/// `X-Api-Key` match `password` and `api_key`).
pub fn field_name_matches(name: &str, word: &str) -> bool {
    let (n, w) = (name.as_bytes(), word.as_bytes());
    if n.len() < w.len() {
        return false;
    }
    let fold = |b: u8| {
        if b == b'-' {
            b'_'
        } else {
            b.to_ascii_lowercase()
        }
    };
    let tail = &n[n.len() - w.len()..];
    if !tail.iter().zip(w).all(|(&a, &b)| fold(a) == fold(b)) {
        return false;
    }
    n.len() == w.len() || matches!(n[n.len() - w.len() - 1], b'_' | b'.' | b'-')
}

/// Whether `name` is the name of a field that holds a secret ([`SECRET_FIELD_NAMES`]).
pub fn is_secret_field_name(name: &str) -> bool {
    SECRET_FIELD_NAMES
        .iter()
        .any(|word| field_name_matches(name, word))
}

/// The `#[audited]` field holding the call's duration in microseconds.
pub const DURATION_FIELD: &str = "duration_us";

/// The `#[audited]` field holding the error text of a failed call.
pub const ERROR_FIELD: &str = "error";

/// A member of an audit record that a macro argument, a `tracing` field or an
/// enclosing span can set: who did it, to what, why, and in which request and tenant.
///
/// `action`, `outcome` and `category` are not members: they have their own fields
/// ([`MARKER_FIELD`], [`OUTCOME_FIELD`], [`CATEGORY_FIELD`]).
///
/// Exhaustive on purpose: a new member is a change of the record format
/// ([FORMAT.md](https://docs.rs/tracing-audit/latest/tracing_audit/docs/format/index.html)), and every crate that maps members must then handle it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Member {
    /// `actor.id`: the principal (user, service account, API key id). Also named
    /// `actor` in macro arguments and catalogs.
    ActorId,
    /// `actor.ip`: the client's address.
    ActorIp,
    /// `actor.auth`: how the actor authenticated.
    ActorAuth,
    /// `actor.session`: the session id (a credential: mark it sensitive).
    ActorSession,
    /// `resource`: what was acted on.
    Resource,
    /// `reason`: the justification given.
    Reason,
    /// `request_id`: the request this happened in.
    RequestId,
    /// `trace_id`: the distributed trace this happened in.
    TraceId,
    /// `org_id`: the tenant (organisation).
    OrgId,
    /// `project_id`: the project within the tenant.
    ProjectId,
    /// `legal_hold_id`: the legal hold this record falls under.
    LegalHoldId,
}

impl Member {
    /// Every member, in the order the record writes them.
    pub const ALL: [Member; 11] = [
        Member::ActorId,
        Member::ActorIp,
        Member::ActorAuth,
        Member::ActorSession,
        Member::Resource,
        Member::Reason,
        Member::RequestId,
        Member::TraceId,
        Member::OrgId,
        Member::ProjectId,
        Member::LegalHoldId,
    ];

    /// The member's name in macro arguments, catalogs and the record (`actor.id`,
    /// `resource`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Member::ActorId => "actor.id",
            Member::ActorIp => "actor.ip",
            Member::ActorAuth => "actor.auth",
            Member::ActorSession => "actor.session",
            Member::Resource => "resource",
            Member::Reason => "reason",
            Member::RequestId => "request_id",
            Member::TraceId => "trace_id",
            Member::OrgId => "org_id",
            Member::ProjectId => "project_id",
            Member::LegalHoldId => "legal_hold_id",
        }
    }

    /// The `tracing` field that sets it: `audit.` and its [`name`](Member::name).
    pub const fn field(self) -> &'static str {
        match self {
            Member::ActorId => "audit.actor.id",
            Member::ActorIp => "audit.actor.ip",
            Member::ActorAuth => "audit.actor.auth",
            Member::ActorSession => "audit.actor.session",
            Member::Resource => "audit.resource",
            Member::Reason => "audit.reason",
            Member::RequestId => "audit.request_id",
            Member::TraceId => "audit.trace_id",
            Member::OrgId => "audit.org_id",
            Member::ProjectId => "audit.project_id",
            Member::LegalHoldId => "audit.legal_hold_id",
        }
    }

    /// The member a macro argument or catalog entry names: its [`name`](Member::name),
    /// or `actor` for [`Member::ActorId`].
    pub fn from_name(name: &str) -> Option<Member> {
        if name == "actor" {
            return Some(Member::ActorId);
        }
        Member::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The member a `tracing` field sets: `audit.<name>` (and `audit.actor`).
    pub fn from_field(field: &str) -> Option<Member> {
        Member::from_name(field.strip_prefix(FIELD_PREFIX)?)
    }

    /// Whether two names (of members or plain fields) name the same thing:
    /// `actor` and `actor.id` do; anything else only when equal.
    pub fn same_name(a: &str, b: &str) -> bool {
        a == b
            || matches!(
                (Member::from_name(a), Member::from_name(b)),
                (Some(x), Some(y)) if x == y
            )
    }
}

impl core::fmt::Display for Member {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// What happened to the audited operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The operation completed as asked.
    Success,
    /// The operation was attempted and failed.
    Failure,
    /// The operation was refused (authorisation, policy).
    Denied,
    /// The operation panicked.
    Panic,
    /// The outcome is not known (for example, an event about an attempt, or a call
    /// canceled before it completed).
    Unknown,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 5] = [
        Outcome::Success,
        Outcome::Failure,
        Outcome::Denied,
        Outcome::Panic,
        Outcome::Unknown,
    ];

    /// The string written in the record's `outcome` field.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
            Outcome::Panic => "panic",
            Outcome::Unknown => "unknown",
        }
    }

    /// The outcome an `audit.outcome` value names: its [`as_str`](Outcome::as_str)
    /// form, or `ok` (success), `error` / `err` (failure).
    pub fn parse(text: &str) -> Option<Outcome> {
        match text {
            "ok" => Some(Outcome::Success),
            "error" | "err" => Some(Outcome::Failure),
            _ => Outcome::ALL.into_iter().find(|o| o.as_str() == text),
        }
    }
}

impl core::fmt::Display for Outcome {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_field_names_match_whole_words_at_the_end() {
        for yes in [
            "password",
            "db_password",
            "user.api_key",
            "X-Api-Key",
            "Authorization",
            "TOKEN",
        ] {
            assert!(is_secret_field_name(yes), "{yes}");
        }
        for no in [
            "tokenizer",
            "passwords_total",
            "pool_id",
            "keyboard",
            "apikeys",
        ] {
            assert!(!is_secret_field_name(no), "{no}");
        }
    }

    #[test]
    fn every_member_round_trips_through_its_name_and_field() {
        for m in Member::ALL {
            assert_eq!(Member::from_name(m.name()), Some(m));
            assert_eq!(Member::from_field(m.field()), Some(m));
            assert_eq!(m.field().strip_prefix(FIELD_PREFIX), Some(m.name()));
        }
        assert_eq!(Member::from_field("audit.actor"), Some(Member::ActorId));
        assert_eq!(Member::from_name("action"), None);
        assert_eq!(Member::from_field("resource"), None, "the prefix is needed");
    }

    #[test]
    fn same_name_knows_the_actor_alias_and_nothing_else() {
        assert!(Member::same_name("actor", "actor.id"));
        assert!(Member::same_name("token", "token"));
        assert!(!Member::same_name("actor", "actor.ip"));
        assert!(!Member::same_name("reason", "resource"));
    }

    #[test]
    fn every_outcome_round_trips_and_the_aliases_parse() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("err"), Some(Outcome::Failure));
        assert_eq!(Outcome::parse("Success"), None, "case matters");
    }

    #[test]
    fn the_marker_and_outcome_fields_use_the_member_prefix() {
        assert!(MARKER_FIELD.starts_with(FIELD_PREFIX));
        assert!(OUTCOME_FIELD.starts_with(FIELD_PREFIX));
        assert!(CATEGORY_FIELD.starts_with(FIELD_PREFIX));
        assert!(
            !TARGET
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == ':')
        );
    }
}
