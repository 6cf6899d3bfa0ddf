//! Field-name rules: which field names are redacted by default, and how a name
//! matches a rule.

use std::sync::LazyLock;

use super::Strategy;

/// Field names caught by default, matched against the whole name or its last
/// `_`/`.`-separated part, ignoring case (`db_password`, `user.api_key`,
/// `Authorization`).
///
/// | field name | strategy |
/// |---|---|
/// | `password` | [`Strategy::Fingerprint`] |
/// | `passwd` | [`Strategy::Fingerprint`] |
/// | `passphrase` | [`Strategy::Fingerprint`] |
/// | `pwd` | [`Strategy::Fingerprint`] |
/// | `secret` | [`Strategy::Fingerprint`] |
/// | `client_secret` | [`Strategy::Fingerprint`] |
/// | `token` | [`Strategy::Fingerprint`] |
/// | `api_key` | [`Strategy::Fingerprint`] |
/// | `apikey` | [`Strategy::Fingerprint`] |
/// | `access_key` | [`Strategy::Fingerprint`] |
/// | `secret_key` | [`Strategy::Fingerprint`] |
/// | `private_key` | [`Strategy::Fingerprint`] |
/// | `authorization` | [`Strategy::Fingerprint`] |
/// | `cookie` | [`Strategy::Fingerprint`] |
/// | `credential` | [`Strategy::Fingerprint`] |
/// | `credentials` | [`Strategy::Fingerprint`] |
/// | `prompt` | [`Strategy::Digest`] |
/// | `prompt_content` | [`Strategy::Digest`] |
/// | `completion` | [`Strategy::Digest`] |
/// | `vram_ptr` | [`Strategy::Mask`] |
/// | `ptr` | [`Strategy::Mask`] |
/// | `pointer` | [`Strategy::Mask`] |
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
pub(super) static RULES_BY_LAST_BYTE: LazyLock<[u32; 256]> = LazyLock::new(|| {
    const _: () = assert!(DEFAULT_FIELD_RULES.len() <= 32);
    let mut table = [0u32; 256];
    for (i, (word, _)) in DEFAULT_FIELD_RULES.iter().enumerate() {
        if let Some(&b) = word.as_bytes().last() {
            table[usize::from(b.to_ascii_lowercase())] |= 1 << i;
        }
    }
    table
});

/// `name` is `word`, or ends with `_word`, `.word` or `-word`, ignoring ASCII case
/// and taking `-` for `_` (`X-Api-Key` matches `api_key`).
pub(super) fn name_matches(name: &str, word: &str) -> bool {
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

    /// Issue 10, item 7: the table in the documentation is the constant, row for row.
    #[test]
    fn the_documented_table_lists_every_rule() {
        let source = include_str!("rules.rs");
        let docs = &source[..source.find("pub const DEFAULT_FIELD_RULES").unwrap()];
        let rows: Vec<(String, String)> = docs
            .lines()
            .filter_map(|l| l.strip_prefix("/// | `"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let strategy = cells[1].trim_matches(|c| "[]`".contains(c));
                (
                    cells[0].trim_end_matches('`').to_owned(),
                    strategy.trim_start_matches("Strategy::").to_owned(),
                )
            })
            .collect();
        let rules: Vec<(String, String)> = DEFAULT_FIELD_RULES
            .iter()
            .map(|(name, strategy)| ((*name).to_owned(), format!("{strategy:?}")))
            .collect();
        assert_eq!(rows, rules);
    }
}
