//! The second redaction pass: the catalog's sensitive fields, field-name rules and
//! value patterns, applied on the writer thread to every audit event before it is
//! encoded, so no secret reaches the file (and the caller's thread does no hashing).
//!
//! The first pass happens at the source ([`redacted`], and the macros), before a
//! `tracing` event exists; this pass catches what was emitted without them.

mod fingerprint;
mod patterns;
mod rules;

use std::borrow::Cow;
use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use tracing_audit_core::{Event, FieldValue, Key, Member};

use crate::catalog::{Catalogued, RuntimeCatalog};
pub use fingerprint::{Fingerprinter, Redacted, redacted};
pub use patterns::redact_patterns;
use patterns::scrub;
pub use rules::DEFAULT_FIELD_RULES;
use rules::{RULES_BY_LAST_BYTE, name_matches};

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

/// The text that replaces a masked value.
pub const MASK: &str = "[redacted]";

/// The second redaction pass, configured by field-name rules and, optionally, the
/// action catalog. Internal: configured through the builder.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Redactor {
    /// Rules for exact field names (lowercased), from the builder: checked first.
    exact: Vec<(String, Strategy)>,
    defaults: bool,
    fingerprinter: Arc<Fingerprinter>,
    catalog: Option<RuntimeCatalog>,
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
        self.catalog = Some(RuntimeCatalog::new(catalog));
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

    /// Redacts `event` in place: the catalog's sensitive members and fields (when a
    /// catalog was given; [`tracing_audit_catalog::Action::is_sensitive`], the rule
    /// the macros apply at compile time), field-name rules on `fields`, value
    /// patterns on every remaining string (fields, members, category). Says whether
    /// the catalog has the event's action.
    pub fn apply(&self, event: &mut Event) -> Catalogued {
        let (found, action) = match &self.catalog {
            Some(catalog) => catalog.enrich(event),
            None => (Catalogued::NoCatalog, None),
        };
        let sensitive = |name: &str| action.is_some_and(|a| a.is_sensitive(name));
        let mut i = 0;
        while i < event.fields.len() {
            let (name, value) = &mut event.fields[i];
            let strategy = if sensitive(name) {
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
        for member in Member::ALL {
            let Some(value) = event.member_mut(member) else {
                continue;
            };
            if sensitive(member.name()) {
                if !self.fingerprinter.is_fingerprint(value) {
                    *value = self.fingerprinter.fingerprint(value);
                }
            } else {
                scrub(value);
            }
        }
        if let Some(category) = &mut event.category {
            scrub(category);
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
