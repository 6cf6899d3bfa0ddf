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
    "pass",
    "pw",
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
    "session_id",
];

/// Words that say how a value is encoded or kept, not what it is: a field name
/// ending with them is matched without them (`private_key_pem`, `secretValue`,
/// `password_hash` match `private_key`, `secret`, `password`).
pub const FIELD_NAME_QUALIFIERS: &[&str] = &[
    "pem",
    "der",
    "b64",
    "base64",
    "hex",
    "raw",
    "bytes",
    "str",
    "string",
    "text",
    "value",
    "plain",
    "plaintext",
    "encoded",
    "hash",
];

/// A field name prepared for matching against name rules (such as
/// [`SECRET_FIELD_NAMES`]): the one rule for names that the macros apply at compile
/// time and the layer at run time.
///
/// # The rule
///
/// A name is made of words: separated by `_`, `-` or `.`, or starting at a capital
/// after a lower-case letter or digit (`accessToken`), or at the last capital of a
/// run followed by a lower-case letter (`APIKey` is `API` `Key`). Trailing words
/// that are [`FIELD_NAME_QUALIFIERS`] are set aside. A rule word (snake_case)
/// matches when what is left **ends with it**, ignoring ASCII case and the
/// separators, and the matching part **begins a word**.
///
/// So `password` matches `password`, `DB_PASSWORD`, `userPassword`, `user.password`
/// and `password_hash`, but not `passwords_total` (it does not end with it),
/// `newpassword` (not at a word) or `pwd_hash_algo` (the algorithm's name is not a
/// secret); `pass` does not match `compass`, `passage` or `bypass`; `api_key`
/// matches `X-Api-Key`, `apiKey`, `APIKey` and `apikey`.
///
/// ```
/// use tracing_audit_schema::FieldName;
///
/// let name = FieldName::new("clientSecretValue");
/// assert!(name.matches("client_secret"));
/// assert!(name.matches("secret"));
/// assert!(!name.matches("value"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FieldName<'a> {
    name: &'a [u8],
    /// The end of the name without its trailing qualifiers and separators.
    end: usize,
}

impl<'a> FieldName<'a> {
    /// Prepares `name` (sets its trailing qualifiers aside).
    #[inline]
    pub fn new(name: &'a str) -> FieldName<'a> {
        let name = name.as_bytes();
        let mut end = name.len();
        'strip: loop {
            while end > 0 && is_separator(name[end - 1]) {
                end -= 1;
            }
            // Only the qualifiers ending with the name's last two bytes can be
            // there (most names end with none: two look-ups).
            if end < 2 {
                break;
            }
            let mut candidates = QUALIFIER_ENDINGS[0][name[end - 1].to_ascii_lowercase() as usize]
                & QUALIFIER_ENDINGS[1][name[end - 2].to_ascii_lowercase() as usize];
            while candidates != 0 {
                let q = FIELD_NAME_QUALIFIERS[candidates.trailing_zeros() as usize].as_bytes();
                candidates &= candidates - 1;
                let Some(start) = end.checked_sub(q.len()) else {
                    continue;
                };
                if name[start].to_ascii_lowercase() == q[0]
                    && name[start..end].eq_ignore_ascii_case(q)
                    && begins_word(name, start)
                {
                    end = start;
                    continue 'strip;
                }
            }
            break;
        }
        FieldName { name, end }
    }

    /// The last byte that a rule must match, lower-cased: the end of the name
    /// without its qualifiers (`None` when nothing is left).
    #[inline]
    pub fn last_byte(&self) -> Option<u8> {
        self.end
            .checked_sub(1)
            .map(|i| self.name[i].to_ascii_lowercase())
    }

    /// Whether the rule `word` (lower-case snake_case, as in [`SECRET_FIELD_NAMES`])
    /// matches this name: see [the rule](FieldName#the-rule).
    #[inline]
    pub fn matches(&self, word: &str) -> bool {
        let n = self.name;
        let mut i = self.end;
        for &w in word.as_bytes().iter().rev() {
            if w == b'_' {
                continue;
            }
            while i > 0 && is_separator(n[i - 1]) {
                i -= 1;
            }
            if i == 0 || n[i - 1].to_ascii_lowercase() != w {
                return false;
            }
            i -= 1;
        }
        i < self.end && begins_word(n, i)
    }
}

/// For each byte, the set (bit i = qualifier i) of the [`FIELD_NAME_QUALIFIERS`]
/// whose last byte (`[0]`) and next-to-last byte (`[1]`) it is.
static QUALIFIER_ENDINGS: [[u16; 256]; 2] = {
    assert!(FIELD_NAME_QUALIFIERS.len() <= 16);
    let mut table = [[0u16; 256]; 2];
    let mut i = 0;
    while i < FIELD_NAME_QUALIFIERS.len() {
        let q = FIELD_NAME_QUALIFIERS[i].as_bytes();
        assert!(q.len() >= 2);
        table[0][q[q.len() - 1] as usize] |= 1 << i;
        table[1][q[q.len() - 2] as usize] |= 1 << i;
        i += 1;
    }
    table
};

/// Whether a word of `name` begins at `i` (`i < name.len()`).
fn begins_word(name: &[u8], i: usize) -> bool {
    i == 0 || is_separator(name[i - 1]) || starts_word(name, i)
}

/// The separators between the words of a field name.
fn is_separator(b: u8) -> bool {
    matches!(b, b'_' | b'-' | b'.')
}

/// Whether a camelCase word starts at `i` (`0 < i < name.len()`): a capital after
/// a lower-case letter or digit, or the last capital of a run when a lower-case
/// letter follows (`APIKey`: `Key`).
fn starts_word(name: &[u8], i: usize) -> bool {
    let (before, at) = (name[i - 1], name[i]);
    at.is_ascii_uppercase()
        && (before.is_ascii_lowercase()
            || before.is_ascii_digit()
            || (before.is_ascii_uppercase() && name.get(i + 1).is_some_and(u8::is_ascii_lowercase)))
}

/// Whether the field `name` matches the rule `word` (`db_password`, `userPassword`,
/// `user.password` and `password_hash` match `password`; `X-Api-Key` and `apiKey`
/// match `api_key`): see [`FieldName`] for the rule.
pub fn field_name_matches(name: &str, word: &str) -> bool {
    FieldName::new(name).matches(word)
}

/// Whether `name` is the name of a field that holds a secret ([`SECRET_FIELD_NAMES`],
/// matched as [`FieldName`] says).
pub fn is_secret_field_name(name: &str) -> bool {
    let name = FieldName::new(name);
    SECRET_FIELD_NAMES.iter().any(|word| name.matches(word))
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
    /// `actor.session`: the session id, a credential: fingerprinted by default
    /// ([`Member::is_secret`]).
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

    /// Whether the member holds a credential, and is therefore fingerprinted by
    /// default (by the macros at the source, by the layer otherwise), whatever the
    /// catalog says: [`Member::ActorSession`], the session id.
    pub const fn is_secret(self) -> bool {
        matches!(self, Member::ActorSession)
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

    /// Issue 13, finding 7: camelCase and short names of secrets reached the trail
    /// in clear (`accessToken`, `userPassword`, `clientSecret`, `pass`, `pw`,
    /// `private_key_pem`); ordinary words that contain a secret's name must not be
    /// caught.
    #[test]
    fn camel_case_kebab_and_short_secret_names_match_one_rule() {
        for yes in [
            "accessToken",
            "AccessToken",
            "userPassword",
            "clientSecret",
            "client-secret",
            "CLIENT_SECRET",
            "pass",
            "db_pass",
            "userPass",
            "pw",
            "db_pw",
            "private_key_pem",
            "privateKeyPem",
            "APIKey",
            "apiKey",
            "x-api-key",
            "password_hash",
            "secretValue",
            "session_id",
            "sessionId",
            "SESSION_ID",
        ] {
            assert!(is_secret_field_name(yes), "{yes} is not caught");
        }
        for no in [
            "passage",
            "compass",
            "bypass",
            "passThrough",
            "pass_count",
            "pwd_hash_algo",
            "token_count",
            "tokenCount",
            "accessKeyId",
            "mytoken",
            "apikeys",
            "session_count",
            "value",
            "pem",
        ] {
            assert!(!is_secret_field_name(no), "{no} is caught");
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
