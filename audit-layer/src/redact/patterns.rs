//! Value patterns: secrets recognised anywhere in a string (bearer tokens, JWTs,
//! private keys, URL passwords, cloud keys).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

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

/// Applies the value patterns to `s` in place.
pub(super) fn scrub(s: &mut String) {
    if let Cow::Owned(clean) = redact_patterns(s) {
        *s = clean;
    }
}
