//! Value patterns: secrets recognised anywhere in a string (bearer tokens, JWTs,
//! private keys, URL passwords, `Authorization` values, cloud keys, and the values
//! of fields named like secrets in `Debug` text, JSON, query strings and
//! connection strings).
//!
//! How a pattern's match is replaced: a pattern without capture groups is
//! replaced whole by `[redacted:<name>]`. A pattern with groups replaces only the
//! groups that took part in the match, and keeps its match as it is when none did
//! (an alternative that recognises text already redacted, so that redacting twice
//! changes nothing: the macros redact an error's text at the source, the layer
//! once more). A group named `key` is not replaced: it is the field name of a
//! `key: value` pair, and the value is redacted only when the name is a secret's
//! by the schema's one rule for names
//! ([`tracing_audit_schema::is_secret_field_name`]).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use tracing_audit_schema::{FIELD_NAME_QUALIFIERS, SECRET_FIELD_NAMES, is_secret_field_name};

/// The name of the pattern for the values of fields named like secrets.
const SECRET_FIELD: &str = "secret-field";

/// A token after an authentication scheme (RFC 6750's `b64token`).
const TOKEN: &str = r"[A-Za-z0-9._~+/-]+=*";

/// Value patterns recognised anywhere in a string: `(name, regex)`, applied in this
/// order (see the module docs for how groups are replaced).
fn patterns() -> Vec<(&'static str, String)> {
    let bearer = "(?:Bearer|bearer|BEARER)";
    vec![
        (
            "private-key",
            r"-----BEGIN [A-Z0-9 ]*(?:PRIVATE|SECRET) KEY(?: BLOCK)?-----(?s:.*?)(?:-----END [A-Z0-9 ]*(?:PRIVATE|SECRET) KEY(?: BLOCK)?-----|$)"
                .to_owned(),
        ),
        (
            "jwt",
            r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*".to_owned(),
        ),
        (
            "bearer",
            format!(
                r"{bearer}[ \t]+((?:[A-Za-z0-9._~+/-]*{bearer}[ \t]+)*{TOKEN})|(?:Basic|basic|BASIC)[ \t]+([A-Za-z0-9._~+/-]{{8,}}=*)"
            ),
        ),
        (
            "authorization",
            // The scheme word is kept; `[` after it is a value already redacted.
            r#"(?:Authorization|authorization|AUTHORIZATION)["']?[ \t]*[:=][ \t]*["']?(?:[A-Za-z][A-Za-z0-9_-]*[ \t]+(?:\[|([^ \t\r\n"',;\[\]]+))|([^ \t\r\n"',;\[\]]+))"#
                .to_owned(),
        ),
        (
            "url-password",
            // A password starting with digits and then `/`, `?` or `#` is a port.
            r#"[A-Za-z][A-Za-z0-9+.-]*://[^:/ \t\r\n"'<>]*:([^0-9 \t\r\n"'<>][^ \t\r\n"'<>]*|[0-9]+[^0-9 \t\r\n"'<>/?#][^ \t\r\n"'<>]*|[0-9]+)@"#
                .to_owned(),
        ),
        (
            "aws-access-key",
            r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}(?-u:\b)".to_owned(),
        ),
        (
            "aws-secret-key",
            r#"(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY|SecretAccessKey)["']?[ ]*[:=][ ]*["']?([A-Za-z0-9/+]{40})"#
                .to_owned(),
        ),
        ("gcp-api-key", r"AIza[0-9A-Za-z_-]{35}".to_owned()),
        (
            "github-token",
            r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})".to_owned(),
        ),
        ("slack-token", r"xox[abprs]-[A-Za-z0-9-]{10,}".to_owned()),
        ("stripe-key", r"[sr]k_live_[A-Za-z0-9]{16,}".to_owned()),
        (
            "azure-account-key",
            r"AccountKey=([A-Za-z0-9+/=]{40,})".to_owned(),
        ),
        (SECRET_FIELD, secret_field_pattern()),
    ]
}

/// `name: value` / `name = value` where `name` ends like one of the schema's
/// secret names (the replacement checks the whole name by the schema's rule).
/// `Authorization` values are the `authorization` pattern's.
fn secret_field_pattern() -> String {
    let words: Vec<String> = SECRET_FIELD_NAMES
        .iter()
        .filter(|w| **w != "authorization")
        .map(|w| w.split('_').collect::<Vec<_>>().join("[_.-]?"))
        .collect();
    let key = format!(
        r"[A-Za-z0-9_.-]*(?i-u:{})(?:[_.-]?(?i-u:{}))*",
        words.join("|"),
        FIELD_NAME_QUALIFIERS.join("|")
    );
    let value = concat!(
        r"(?:[A-Za-z_][A-Za-z0-9_]*\()*",
        r#"(?:"((?:[^"\\]|\\.)*)""#,
        r#"|\\"((?:[^"\\]|\\[^"])*)\\""#,
        r"|'((?:[^'\\]|\\.)*)'",
        r"|(\[[0-9, ]*\])",
        r#"|([^ \t\r\n"',;&)}\[\]]+))"#,
    );
    format!(r#"(?P<key>{key})\\?["']?[ \t]*[:=][ \t]*{value}"#)
}

struct Pattern {
    name: &'static str,
    re: Regex,
    /// The index of the `key` group, if any.
    key: Option<usize>,
    /// Whether the regex has groups to replace (else the whole match is replaced).
    groups: bool,
}

struct Patterns {
    /// All patterns as one alternation: the fast "anything here?" test.
    any: Regex,
    each: Vec<Pattern>,
}

static COMPILED: LazyLock<Patterns> = LazyLock::new(|| {
    let build = |src: &str| {
        Regex::new(src).unwrap_or_else(|e| unreachable!("built-in pattern {src} is valid: {e}"))
    };
    let all = patterns();
    let any = all
        .iter()
        // The alternation has no use for groups (and may not repeat a name).
        .map(|(_, p)| format!("(?:{})", p.replace("(?P<key>", "(?:")))
        .collect::<Vec<_>>()
        .join("|");
    Patterns {
        any: build(&any),
        each: all
            .into_iter()
            .map(|(name, p)| {
                let re = build(&p);
                let key = re.capture_names().position(|n| n == Some("key"));
                let groups = re.captures_len() > 1 + usize::from(key.is_some());
                Pattern {
                    name,
                    re,
                    key,
                    groups,
                }
            })
            .collect(),
    }
});

/// Whether `text` is too short, or lacks every byte the short patterns need, to
/// hold any secret a pattern recognises: most values are short identifiers, and
/// this skips the regex engine for them. Every pattern needs 14 bytes or more,
/// except a bearer token (`Bearer\tx`, 8 bytes: a space or tab), a URL password
/// (`a://:x@`, 7 bytes: a `:`), and a secret field's value (`pw=x`, 4 bytes: a
/// `:` or `=`).
#[inline]
fn cannot_hold_a_secret(text: &str) -> bool {
    const NEEDED: u64 = (1 << b':') | (1 << b'=') | (1 << b' ') | (1 << b'\t');
    text.len() < 4 || (text.len() < 14 && !text.bytes().any(|b| b < 64 && (NEEDED >> b) & 1 == 1))
}

/// Replaces every secret a value pattern recognises in `text` with
/// `[redacted:<pattern name>]`; returns `text` unchanged (and unallocated) when
/// there is none. Redacting the result again changes nothing.
///
/// # What is recognised, and what is not
///
/// - `Bearer` (written so, `bearer` or `BEARER`), spaces or tabs, and a token of
///   any length; a token glued to a second `Bearer` (`abc/Bearer def`, `Bearer
///   Bearer x`) is redacted with it. `Basic` needs 8 token characters ("the basic
///   plan" stays). Prose such as "the bearer token expired" loses the word after
///   `bearer`.
/// - An `Authorization` (or `Proxy-Authorization`) value after `:` or `=`, quoted
///   or not: the scheme word is kept, the credentials of any length replaced
///   (`Authorization: Token [redacted:authorization]`).
/// - A URL password runs from the `:` after the user name to the **last** `@` of
///   the URL (which ends at a space, tab, line break, quote or `<>`), so a raw `@`
///   or `/` in it is covered, and a user name may hold `@`. `host:8080/…@…` (a
///   port, then a path holding `@`) is not taken for a password, so neither is a
///   password made of digits and then `/`, `?` or `#` (`u:123/x@h`). A URL whose
///   path or query holds an `@` after a password loses the text up to that `@`.
/// - `-----BEGIN … PRIVATE KEY-----` and `-----BEGIN PGP PRIVATE KEY BLOCK-----`
///   (or `SECRET KEY`), to the matching end line or the end of the text.
/// - JWTs, AWS access and secret keys, GCP API keys, GitHub, Slack and Stripe
///   tokens, Azure account keys.
/// - `name: value` and `name = value` where `name` is a secret's (`password`,
///   `clientSecret`, `pw`, `api_key`, `session_id`, …, by the rule of
///   [`FieldName`](tracing_audit_schema::FieldName)): the value quoted with `"` or
///   `'` (escapes included, also `\"…\"` inside an escaped string), wrapped
///   (`Some("…")`), a list of numbers (`[104, 117]`, a `Vec<u8>`'s `Debug`), or
///   bare up to white space or one of `",;&)}[]'`. A bare password holding a
///   space is redacted only up to the space.
///
/// ```
/// use tracing_audit_layer::redact_patterns;
///
/// assert_eq!(
///     redact_patterns(r#"Login { user: "alice", password: "hunter2" }"#),
///     r#"Login { user: "alice", password: "[redacted:secret-field]" }"#,
/// );
/// assert_eq!(
///     redact_patterns("Authorization: Token tok"),
///     "Authorization: Token [redacted:authorization]",
/// );
/// assert_eq!(redact_patterns("compass: north"), "compass: north");
/// ```
#[inline]
pub fn redact_patterns(text: &str) -> Cow<'_, str> {
    if cannot_hold_a_secret(text) {
        return Cow::Borrowed(text);
    }
    redact_with_regexes(text)
}

/// [`redact_patterns`] past its inlined pre-check.
fn redact_with_regexes(text: &str) -> Cow<'_, str> {
    let p = &*COMPILED;
    if !p.any.is_match(text) {
        return Cow::Borrowed(text);
    }
    let mut out = Cow::Borrowed(text);
    for pattern in &p.each {
        if !pattern.re.is_match(&out) {
            continue;
        }
        let replaced = pattern
            .re
            .replace_all(&out, |c: &Captures<'_>| replacement(pattern, c));
        if let Cow::Owned(s) = replaced {
            out = Cow::Owned(s);
        }
    }
    match out {
        // Only look-alikes matched (`compass: north`).
        Cow::Owned(s) if s == text => Cow::Borrowed(text),
        out => out,
    }
}

/// What replaces one match of `pattern` (see the module docs).
fn replacement(pattern: &Pattern, c: &Captures<'_>) -> String {
    let Some(whole) = c.get(0) else {
        return String::new();
    };
    let marker = format!("[redacted:{}]", pattern.name);
    if !pattern.groups {
        return marker;
    }
    if let Some(key) = pattern.key.and_then(|i| c.get(i))
        && !is_secret_field_name(key.as_str())
    {
        return whole.as_str().to_owned();
    }
    let (text, base) = (whole.as_str(), whole.start());
    let mut out = String::with_capacity(text.len() + marker.len());
    let mut at = 0;
    for secret in c
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(i, _)| Some(*i) != pattern.key)
        .filter_map(|(_, g)| g)
    {
        out.push_str(&text[at..secret.start() - base]);
        out.push_str(&marker);
        at = secret.end() - base;
    }
    out.push_str(&text[at..]);
    out
}

/// Applies the value patterns to `s` in place.
pub(super) fn scrub(s: &mut String) {
    if let Cow::Owned(clean) = redact_patterns(s) {
        *s = clean;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workspace builds `regex` without its Unicode tables: `\s`, `\d`, `\w`,
    /// `\b` and `(?i)` in Unicode mode fail to compile there (at the first value
    /// redacted, on the writer thread), though they compile in this crate's tests,
    /// whose dev-dependencies turn the tables on.
    #[test]
    fn the_patterns_need_no_unicode_tables() {
        for (name, p) in patterns() {
            for class in [r"\s", r"\d", r"\w", r"\S", r"\D", r"\W", "(?i:", "(?i)"] {
                assert!(!p.contains(class), "{name} uses {class}: {p}");
            }
            assert!(
                !p.replace("(?-u:\\b)", "").contains(r"\b"),
                "{name} uses \\b in Unicode mode: {p}"
            );
        }
    }
}
