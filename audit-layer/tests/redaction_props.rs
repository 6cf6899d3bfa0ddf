//! Properties of the value patterns over generated text: a secret embedded anywhere
//! in ordinary text never survives, the text around it does, and text without
//! secrets comes back unchanged.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tracing_audit_layer::redact_patterns;

/// Ordinary text: words, numbers, punctuation, spaces, some non-ASCII; it cannot
/// form a secret pattern by itself (no `://`, no long base64 runs).
fn ordinary() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            "[a-z]{1,8}",
            "[0-9]{1,4}",
            Just(" ".to_owned()),
            Just(", ".to_owned()),
            Just("é".to_owned()),
            Just("pool-42".to_owned()),
        ],
        0..12,
    )
    .prop_map(|parts| parts.join(" "))
}

/// A secret in one of the recognised shapes, and the part that must disappear.
fn secret() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        "[A-Za-z0-9]{20,40}".prop_map(|t| (format!("Bearer {t}"), t)),
        (
            "[A-Za-z0-9_-]{8,30}",
            "[A-Za-z0-9_-]{8,30}",
            "[A-Za-z0-9_-]{8,40}"
        )
            .prop_map(|(a, b, c)| {
                let jwt = format!("eyJ{a}.eyJ{b}.{c}");
                (jwt.clone(), jwt)
            }),
        ("[a-z]{3,10}", "[a-z]{3,8}", "[A-Za-z0-9!$%]{6,20}").prop_map(|(host, user, pw)| (
            format!("postgres://{user}:{pw}@{host}.internal:5432/db"),
            format!(":{pw}@")
        )),
        "[A-Z0-9]{16}".prop_map(|k| {
            let key = format!("AKIA{k}");
            (key.clone(), key)
        }),
        "[A-Za-z0-9+/]{40,80}".prop_map(|body| (
            format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"),
            body
        )),
        "[A-Za-z0-9]{36,40}".prop_map(|t| {
            let tok = format!("ghp_{t}");
            (tok.clone(), tok)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn an_embedded_secret_never_survives(before in ordinary(), (shown, hidden) in secret(), after in ordinary()) {
        let text = format!("{before} {shown} {after}");
        let out = redact_patterns(&text);
        prop_assert!(!out.contains(&hidden), "{hidden:?} survived in {out:?}");
        prop_assert!(out.contains("[redacted:"), "no marker in {out:?}");
        prop_assert!(out.starts_with(before.as_str()), "{out:?} lost {before:?}");
        prop_assert!(out.ends_with(after.as_str()), "{out:?} lost {after:?}");
    }

    #[test]
    fn ordinary_text_comes_back_unchanged(text in ordinary()) {
        let out = redact_patterns(&text);
        prop_assert_eq!(out.as_ref(), text.as_str());
    }
}
