//! The second redaction pass: the catalog's sensitive fields, field-name rules and
//! value patterns, applied on the writer thread to every audit event before it is
//! encoded, so no secret reaches the file (and the caller's thread does no hashing).
//!
//! The first pass happens at the source ([`redacted`], and the macros), before a
//! `tracing` event exists; this pass catches what was emitted without them.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use tracing_audit_core::{Event, FieldValue, Key};
use regex::{Captures, Regex};
use sha2::{Digest as _, Sha256};

/// What to do with the value of a sensitive field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Strategy {
    /// Leave the value as it is (to exempt a field a default rule would catch).
    Keep,
    /// Replace the value with `[redacted]`.
    Mask,
    /// Remove the field from the record.
    Drop,
    /// Replace the value with a keyed fingerprint, `hmac-sha256:<key id>:<hex>`: the
    /// same value gives the same fingerprint (so events correlate) without being
    /// revealed, and nobody without the key can test guesses against it.
    Fingerprint,
    /// Replace the value with its length and SHA-256, `[digest sha256:<hex>, N bytes]`:
    /// for large content (prompts, documents) whose holder can prove which it was.
    Digest,
    /// Keep at most this many bytes (on a character boundary) and add the marker
    /// `…[truncated, N bytes in all]`.
    Truncate(usize),
}

/// Field names caught by default, matched against the whole name or its last
/// `_`/`.`-separated part, ignoring case (`db_password`, `user.api_key`,
/// `Authorization`).
pub const DEFAULT_FIELD_RULES: &[(&str, Strategy)] = &[
    ("password", Strategy::Fingerprint),
    ("passwd", Strategy::Fingerprint),
    ("passphrase", Strategy::Fingerprint),
    ("pwd", Strategy::Fingerprint),
    ("secret", Strategy::Fingerprint),
    ("client_secret", Strategy::Fingerprint),
    ("token", Strategy::Fingerprint),
    ("api_key", Strategy::Fingerprint),
    ("apikey", Strategy::Fingerprint),
    ("access_key", Strategy::Fingerprint),
    ("secret_key", Strategy::Fingerprint),
    ("private_key", Strategy::Fingerprint),
    ("authorization", Strategy::Fingerprint),
    ("cookie", Strategy::Fingerprint),
    ("credential", Strategy::Fingerprint),
    ("credentials", Strategy::Fingerprint),
    // "Prompt content (log length/hash only)" — the audit-logging specification.
    ("prompt", Strategy::Digest),
    ("prompt_content", Strategy::Digest),
    ("completion", Strategy::Digest),
    // "Never log VRAM pointers" — ditto.
    ("vram_ptr", Strategy::Mask),
    ("ptr", Strategy::Mask),
    ("pointer", Strategy::Mask),
];

/// For each byte, the set (bit i = rule i) of default rules whose word ends with it.
static RULES_BY_LAST_BYTE: LazyLock<[u32; 256]> = LazyLock::new(|| {
    const _: () = assert!(DEFAULT_FIELD_RULES.len() <= 32);
    let mut table = [0u32; 256];
    for (i, (word, _)) in DEFAULT_FIELD_RULES.iter().enumerate() {
        if let Some(&b) = word.as_bytes().last() {
            table[usize::from(b.to_ascii_lowercase())] |= 1 << i;
        }
    }
    table
});

/// The text that replaces a masked value.
pub const MASK: &str = "[redacted]";

/// Computes keyed fingerprints with a subkey of the trail's key.
#[derive(Debug, Clone)]
pub struct Fingerprinter {
    subkey: Key,
    key_id: String,
}

impl Fingerprinter {
    /// Fingerprints made with a subkey of `key` (`Key::derive("fingerprint")`),
    /// labelled with `key`'s id so an investigator knows which key to ask for.
    pub fn new(key: &Key) -> Fingerprinter {
        Fingerprinter {
            subkey: key.derive("fingerprint"),
            key_id: key.id().to_owned(),
        }
    }

    /// True when `value` is already a fingerprint made with this key (redacted at
    /// the source), so the second pass leaves it as it is.
    pub fn is_fingerprint(&self, value: &str) -> bool {
        value
            .strip_prefix("hmac-sha256:")
            .and_then(|r| r.strip_prefix(self.key_id.as_str()))
            .and_then(|r| r.strip_prefix(':'))
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    }

    /// `hmac-sha256:<key id>:<64 hex>` of `value`.
    pub fn fingerprint(&self, value: &str) -> String {
        let mac = self.subkey.mac_bytes(value.as_bytes());
        format!("hmac-sha256:{}:{}", self.key_id, hex::encode(mac))
    }
}

/// The fingerprinter of the audit layer built last in this process, used by
/// [`redacted`] values.
static CURRENT: RwLock<Option<Arc<Fingerprinter>>> = RwLock::new(None);

pub(crate) fn set_current(fp: Arc<Fingerprinter>) {
    *CURRENT.write().unwrap_or_else(PoisonError::into_inner) = Some(fp);
}

/// A value redacted at the source: it shows as a keyed fingerprint (or as
/// `[redacted]` before any audit layer exists) to every layer and formatter, so the
/// raw value never enters a `tracing` event or span. Made by [`redacted`].
pub struct Redacted<T>(T);

impl<T> Redacted<T> {
    /// Wraps a value (see [`redacted`] for use in `tracing` fields).
    pub fn new(value: T) -> Redacted<T> {
        Redacted(value)
    }
}

impl<T: fmt::Display> fmt::Display for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = CURRENT
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match current {
            Some(fp) => f.write_str(&fp.fingerprint(&self.0.to_string())),
            None => f.write_str(MASK),
        }
    }
}

impl<T: fmt::Display> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Wraps a sensitive value for a `tracing` field so that no layer ever sees it:
/// every layer sees the keyed fingerprint `hmac-sha256:<key id>:<hex>` instead,
/// made with the key of the audit layer built last in this process (`[redacted]`
/// before any is built).
///
/// ```
/// let token = "s3cr3t-t0k3n";
/// let span = tracing::info_span!("request", api_token = tracing_audit_layer::redacted(token));
/// # drop(span);
/// ```
pub fn redacted<T: fmt::Display>(value: T) -> tracing::field::DisplayValue<Redacted<T>> {
    tracing::field::display(Redacted(value))
}

/// Value patterns recognised anywhere in a string: `(name, regex)`. Each regex's
/// first capture group, when present, is the only part replaced.
const PATTERNS: &[(&str, &str)] = &[
    (
        "private-key",
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)",
    ),
    (
        "jwt",
        r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
    ),
    (
        "bearer",
        r"(?:Bearer|bearer|BEARER|Basic|basic|BASIC)[ ]+([A-Za-z0-9._~+/-]{8,}=*)",
    ),
    (
        "url-password",
        r"[A-Za-z][A-Za-z0-9+.-]*://[^:/@ \t\r\n]*:([^@/ \t\r\n]+)@",
    ),
    (
        "aws-access-key",
        r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}(?-u:\b)",
    ),
    (
        "aws-secret-key",
        r#"(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY|SecretAccessKey)["']?[ ]*[:=][ ]*["']?([A-Za-z0-9/+]{40})"#,
    ),
    ("gcp-api-key", r"AIza[0-9A-Za-z_-]{35}"),
    (
        "github-token",
        r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
    ),
    ("slack-token", r"xox[abprs]-[A-Za-z0-9-]{10,}"),
    ("stripe-key", r"[sr]k_live_[A-Za-z0-9]{16,}"),
    ("azure-account-key", r"AccountKey=([A-Za-z0-9+/=]{40,})"),
];

struct Patterns {
    /// All patterns as one alternation: the fast "anything here?" test.
    any: Regex,
    each: Vec<(&'static str, Regex)>,
}

static COMPILED: LazyLock<Patterns> = LazyLock::new(|| {
    let build = |src: &str| {
        Regex::new(src).unwrap_or_else(|e| unreachable!("built-in pattern {src} is valid: {e}"))
    };
    let any = PATTERNS
        .iter()
        .map(|(_, p)| format!("(?:{p})"))
        .collect::<Vec<_>>()
        .join("|");
    Patterns {
        any: build(&any),
        each: PATTERNS.iter().map(|(n, p)| (*n, build(p))).collect(),
    }
});

/// Replaces every secret a value pattern recognises in `text` with
/// `[redacted:<pattern name>]`; returns `text` unchanged (and unallocated) when
/// there is none.
pub fn redact_patterns(text: &str) -> Cow<'_, str> {
    // Every pattern needs 14 bytes or more, except a URL password (`a://:x@`, 7
    // bytes, always with `://`): most values are short identifiers, and this skips
    // the regex engine for them.
    if text.len() < 7
        || (text.len() < 14 && !(text.as_bytes().contains(&b':') && text.contains("://")))
    {
        return Cow::Borrowed(text);
    }
    let p = &*COMPILED;
    if !p.any.is_match(text) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for (name, re) in &p.each {
        if !re.is_match(&out) {
            continue;
        }
        out = re
            .replace_all(&out, |c: &Captures<'_>| {
                let whole = c.get(0).map_or("", |m| m.as_str());
                match c.get(1) {
                    Some(secret) => {
                        let start = secret.start() - c.get(0).map_or(0, |m| m.start());
                        let end = start + secret.len();
                        format!("{}[redacted:{name}]{}", &whole[..start], &whole[end..])
                    }
                    None => format!("[redacted:{name}]"),
                }
            })
            .into_owned();
    }
    Cow::Owned(out)
}

/// The second redaction pass, configured by field-name rules and, optionally, the
/// action catalog.
#[derive(Debug, Clone)]
pub struct Redactor {
    /// Rules for exact field names (lowercased), from the builder: checked first.
    exact: Vec<(String, Strategy)>,
    defaults: bool,
    fingerprinter: Arc<Fingerprinter>,
    catalog: Option<Arc<tracing_audit_catalog::Catalog>>,
}

/// What [`Redactor::apply`] found of the event's action in the run-time catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Catalogued {
    /// No catalog was given.
    NoCatalog,
    /// The action is in the catalog.
    Found,
    /// The action is not in the catalog (the event is kept all the same).
    Missing,
}

impl Redactor {
    /// A redactor with the default rules ([`DEFAULT_FIELD_RULES`] and every value
    /// pattern), fingerprinting with a subkey of `key`.
    pub fn new(key: &Key) -> Redactor {
        Redactor {
            exact: Vec::new(),
            defaults: true,
            fingerprinter: Arc::new(Fingerprinter::new(key)),
            catalog: None,
        }
    }

    /// Uses the action catalog too: an event of a catalogued action gets the
    /// catalog's category (if it has none) and its `sensitive` fields fingerprinted,
    /// as the macros do at compile time.
    pub fn catalog(&mut self, catalog: tracing_audit_catalog::Catalog) {
        self.catalog = Some(Arc::new(catalog));
    }

    /// Applies `strategy` to the field called exactly `name` (ignoring case), before
    /// any default rule.
    pub fn field(&mut self, name: &str, strategy: Strategy) {
        let name = name.to_ascii_lowercase();
        self.exact.retain(|(n, _)| *n != name);
        self.exact.push((name, strategy));
    }

    /// Turns the default field-name rules off (value patterns stay on).
    pub fn without_default_rules(&mut self) {
        self.defaults = false;
    }

    /// The fingerprinter (shared with [`redacted`] values once the layer is built).
    pub fn fingerprinter(&self) -> &Arc<Fingerprinter> {
        &self.fingerprinter
    }

    /// The strategy for a field name, if any rule matches.
    pub fn strategy_for(&self, name: &str) -> Option<Strategy> {
        if let Some((_, s)) = self
            .exact
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            return Some(*s);
        }
        if !self.defaults {
            return None;
        }
        // Only the rules whose word ends with the name's last byte can match.
        let last = name.as_bytes().last()?.to_ascii_lowercase();
        let mut candidates = RULES_BY_LAST_BYTE[usize::from(last)];
        while candidates != 0 {
            let i = candidates.trailing_zeros() as usize;
            candidates &= candidates - 1;
            let (word, strategy) = DEFAULT_FIELD_RULES[i];
            if name_matches(name, word) {
                return Some(strategy);
            }
        }
        None
    }

    /// Redacts `event` in place: the catalog's sensitive fields (when a catalog was
    /// given), field-name rules on `fields`, value patterns on every remaining
    /// string (fields, resource, reason, actor, ids). Says whether the catalog has
    /// the event's action.
    pub fn apply(&self, event: &mut Event) -> Catalogued {
        let mut found = Catalogued::NoCatalog;
        let mut sensitive: &[String] = &[];
        if let Some(catalog) = &self.catalog {
            found = Catalogued::Missing;
            if let Some(action) = catalog.get(&event.action) {
                found = Catalogued::Found;
                sensitive = &action.sensitive;
                if event.category.is_none() {
                    event.category = Some(action.category.clone());
                }
            }
        }
        let mut i = 0;
        while i < event.fields.len() {
            let (name, value) = &mut event.fields[i];
            let strategy = if sensitive.iter().any(|s| s == name) {
                Some(Strategy::Fingerprint)
            } else {
                self.strategy_for(name)
            };
            match strategy {
                Some(Strategy::Drop) => {
                    event.fields.remove(i);
                    continue;
                }
                Some(Strategy::Keep) => {}
                Some(s) => *value = FieldValue::Str(self.rewrite(value, s)),
                None => {
                    if let FieldValue::Str(s) = value {
                        scrub(s);
                    }
                }
            }
            i += 1;
        }
        for slot in [
            &mut event.resource,
            &mut event.reason,
            &mut event.actor.id,
            &mut event.actor.ip,
            &mut event.actor.auth,
            &mut event.actor.session,
            &mut event.request_id,
            &mut event.trace_id,
            &mut event.org_id,
            &mut event.project_id,
            &mut event.legal_hold_id,
            &mut event.category,
        ]
        .into_iter()
        .flatten()
        {
            scrub(slot);
        }
        found
    }

    fn rewrite(&self, value: &FieldValue, strategy: Strategy) -> String {
        let text: Cow<'_, str> = match value {
            FieldValue::Str(s) => Cow::Borrowed(s),
            FieldValue::Null => Cow::Borrowed(""),
            FieldValue::Bool(b) => Cow::Owned(b.to_string()),
            FieldValue::I64(n) => Cow::Owned(n.to_string()),
            FieldValue::U64(n) => Cow::Owned(n.to_string()),
            FieldValue::F64(f) => Cow::Owned(f.to_string()),
        };
        match strategy {
            Strategy::Mask | Strategy::Keep | Strategy::Drop => MASK.to_owned(),
            Strategy::Fingerprint if self.fingerprinter.is_fingerprint(&text) => text.into_owned(),
            Strategy::Fingerprint => self.fingerprinter.fingerprint(&text),
            Strategy::Digest => format!(
                "[digest sha256:{}, {} bytes]",
                hex::encode(Sha256::digest(text.as_bytes())),
                text.len()
            ),
            Strategy::Truncate(max) => {
                let text = redact_patterns(&text);
                if text.len() <= max {
                    return text.into_owned();
                }
                let mut cut = max;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                format!("{}…[truncated, {} bytes in all]", &text[..cut], text.len())
            }
        }
    }
}

/// Applies the value patterns to `s` in place.
fn scrub(s: &mut String) {
    if let Cow::Owned(clean) = redact_patterns(s) {
        *s = clean;
    }
}

/// `name` is `word`, or ends with `_word`, `.word` or `-word`, ignoring ASCII case
/// and taking `-` for `_` (`X-Api-Key` matches `api_key`).
fn name_matches(name: &str, word: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(&Key::from_hex(&"00".repeat(32)).unwrap())
    }

    #[test]
    fn each_pattern_is_replaced_and_the_context_kept() {
        let cases = [
            (
                "Authorization: Bearer abcDEF123456789.xyz",
                "Authorization: Bearer [redacted:bearer]",
            ),
            (
                "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U here",
                "token [redacted:jwt] here",
            ),
            (
                "connect postgres://admin:hunter2@db.internal:5432/app failed",
                "connect postgres://admin:[redacted:url-password]@db.internal:5432/app failed",
            ),
            (
                "key AKIAIOSFODNN7EXAMPLE used",
                "key [redacted:aws-access-key] used",
            ),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws_secret_access_key = [redacted:aws-secret-key]",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\nrest",
                "[redacted:private-key]\nrest",
            ),
            (
                "pem -----BEGIN PRIVATE KEY-----\nMIIEow (cut)",
                "pem [redacted:private-key]",
            ),
            (
                "gh ghp_abcdefghijklmnopqrstuvwxyz0123456789",
                "gh [redacted:github-token]",
            ),
            (
                "AIzaSyA-1234567890abcdefghijklmnopqrstu",
                "[redacted:gcp-api-key]",
            ),
            ("xoxb-123456789012-abcdef", "[redacted:slack-token]"),
            ("sk_live_abcdefghijklmnop1234", "[redacted:stripe-key]"),
            (
                "DefaultEndpointsProtocol=https;AccountKey=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH==;",
                "DefaultEndpointsProtocol=https;AccountKey=[redacted:azure-account-key];",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact_patterns(input), want, "input: {input:?}");
        }
    }

    #[test]
    fn ordinary_text_is_left_alone_without_allocating() {
        for s in [
            "pool-42",
            "https://example.com/path?q=1",
            "user@example.com",
            "Bearer",
            "the basic plan",
            "AKIA",
        ] {
            assert!(
                matches!(redact_patterns(s), Cow::Borrowed(b) if b == s),
                "{s:?} was changed"
            );
        }
    }

    #[test]
    fn field_names_match_whole_or_last_part_only() {
        let r = redactor();
        assert_eq!(r.strategy_for("password"), Some(Strategy::Fingerprint));
        assert_eq!(r.strategy_for("DB_PASSWORD"), Some(Strategy::Fingerprint));
        assert_eq!(r.strategy_for("user.api_key"), Some(Strategy::Fingerprint));
        assert_eq!(r.strategy_for("X-Api-Key"), Some(Strategy::Fingerprint));
        assert_eq!(r.strategy_for("token_count"), None);
        assert_eq!(r.strategy_for("mytoken"), None);
        assert_eq!(r.strategy_for("prompt"), Some(Strategy::Digest));
        assert_eq!(r.strategy_for("vram_ptr"), Some(Strategy::Mask));
        assert_eq!(r.strategy_for("pool_id"), None);
    }

    #[test]
    fn strategies_rewrite_as_documented() {
        let mut r = redactor();
        r.field("note", Strategy::Truncate(4));
        r.field("internal", Strategy::Drop);
        r.field("token", Strategy::Keep);
        let mut e = Event::new("x")
            .field("password", "hunter2")
            .field("prompt", "tell me a secret")
            .field("vram_ptr", 0xdead_beef_u64)
            .field("note", "abcdefgh")
            .field("internal", "gone")
            .field("token", "visible")
            .field("error", "login with Bearer abcdefgh12345 failed");
        e.reason = Some("redis://:pa55word@cache:6379".into());
        r.apply(&mut e);
        let f: Vec<_> = e
            .fields
            .iter()
            .map(|(n, v)| (n.as_ref(), v.clone()))
            .collect();
        let fp = r.fingerprinter().fingerprint("hunter2");
        // Computed independently: Python's hmac over the documented derivation.
        assert_eq!(
            fp,
            "hmac-sha256:a420d7df5e6fee2d:4d0fb7c3d18e6d625060a2075016e3fa97a93104988e05c7daa272f6c15dd3c6"
        );
        assert_eq!(
            f,
            vec![
                ("password", FieldValue::Str(fp)),
                (
                    "prompt",
                    FieldValue::Str(format!(
                        "[digest sha256:{}, 16 bytes]",
                        hex::encode(Sha256::digest(b"tell me a secret"))
                    ))
                ),
                ("vram_ptr", FieldValue::Str(MASK.into())),
                (
                    "note",
                    FieldValue::Str("abcd…[truncated, 8 bytes in all]".into())
                ),
                ("token", FieldValue::Str("visible".into())),
                (
                    "error",
                    FieldValue::Str("login with Bearer [redacted:bearer] failed".into())
                ),
            ]
        );
        assert_eq!(
            e.reason.as_deref(),
            Some("redis://:[redacted:url-password]@cache:6379")
        );
    }

    #[test]
    fn a_value_fingerprinted_at_the_source_is_not_fingerprinted_again() {
        let r = redactor();
        let fp = r.fingerprinter().fingerprint("s3cret");
        let mut e = Event::new("x").field("token", fp.clone());
        r.apply(&mut e);
        assert_eq!(e.fields[0].1, FieldValue::Str(fp));
        // A look-alike with another key id is fingerprinted like any value.
        let other = format!("hmac-sha256:0000000000000000:{}", "ab".repeat(32));
        let mut e = Event::new("x").field("token", other.clone());
        r.apply(&mut e);
        assert_eq!(
            e.fields[0].1,
            FieldValue::Str(r.fingerprinter().fingerprint(&other))
        );
    }

    #[test]
    fn fingerprints_correlate_and_depend_on_the_key() {
        let a = redactor();
        let b = Redactor::new(&Key::from_hex(&"01".repeat(32)).unwrap());
        let fa = a.fingerprinter().fingerprint("tok-1");
        assert_eq!(fa, a.fingerprinter().fingerprint("tok-1"));
        assert_ne!(fa, a.fingerprinter().fingerprint("tok-2"));
        assert_ne!(fa[29..], b.fingerprinter().fingerprint("tok-1")[29..]);
    }
}
