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
/// and taking `-` for `_` (`X-Api-Key` matches `api_key`): the schema's rule, which
/// the macros apply too.
pub(super) use tracing_audit_schema::field_name_matches as name_matches;

#[cfg(test)]
mod tests {
    use super::*;

    /// The names the macros fingerprint at the source are the fingerprinted rules
    /// here, and no other.
    #[test]
    fn the_schemas_secret_names_are_the_fingerprinted_rules() {
        let fingerprinted: Vec<&str> = DEFAULT_FIELD_RULES
            .iter()
            .filter(|(_, s)| *s == Strategy::Fingerprint)
            .map(|(w, _)| *w)
            .collect();
        assert_eq!(fingerprinted, tracing_audit_schema::SECRET_FIELD_NAMES);
    }

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
