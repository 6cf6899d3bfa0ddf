//! Field-name rules: which field names are redacted by default, and how a name
//! matches a rule.

use super::Strategy;

/// Field names caught by default, matched by the schema's one rule for names
/// ([`FieldName`](tracing_audit_schema::FieldName), which the macros apply too):
/// the name, ignoring case and its separators, ends with the rule's word at the
/// start of one of its words (`db_password`, `userPassword`, `user.api_key`,
/// `X-Api-Key`, `Authorization`), after setting aside trailing encoding words
/// ([`FIELD_NAME_QUALIFIERS`](tracing_audit_schema::FIELD_NAME_QUALIFIERS):
/// `private_key_pem`, `secretValue`, `password_hash`). `passage`, `compass`,
/// `bypass`, `token_count` and `pwd_hash_algo` are not caught.
///
/// | field name | strategy |
/// |---|---|
/// | `password` | [`Strategy::Fingerprint`] |
/// | `passwd` | [`Strategy::Fingerprint`] |
/// | `passphrase` | [`Strategy::Fingerprint`] |
/// | `pwd` | [`Strategy::Fingerprint`] |
/// | `pass` | [`Strategy::Fingerprint`] |
/// | `pw` | [`Strategy::Fingerprint`] |
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
/// | `session_id` | [`Strategy::Fingerprint`] |
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
    ("pass", Strategy::Fingerprint),
    ("pw", Strategy::Fingerprint),
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
    // A session id is a credential (the member `actor.session` is fingerprinted
    // by default too).
    ("session_id", Strategy::Fingerprint),
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
pub(super) static RULES_BY_LAST_BYTE: [u32; 256] = {
    assert!(DEFAULT_FIELD_RULES.len() <= 32);
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < DEFAULT_FIELD_RULES.len() {
        let word = DEFAULT_FIELD_RULES[i].0.as_bytes();
        table[word[word.len() - 1].to_ascii_lowercase() as usize] |= 1 << i;
        i += 1;
    }
    table
};

/// A name prepared for the rules: the schema's one rule, which the macros apply too.
pub(super) use tracing_audit_schema::FieldName;

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
