//! Properties of the value patterns over generated text: a secret embedded anywhere
//! in ordinary text never survives, the text around it does, and text without
//! secrets comes back unchanged.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tracing_audit_layer::redact_patterns;

/// Ordinary text: words, numbers, punctuation, spaces, some non-ASCII; it cannot
/// form a secret pattern by itself (no `://`, no `:` or `=`, no long base64 runs,
/// and not the word `bearer`, after which any word is taken for a token).
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
    .prop_filter("an authentication scheme", |t| !t.contains("bearer"))
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
        // Issue 13, finding 7: the shapes found in clear. A secret of any length
        // starts with `Q9`, so that what is left can be told from the markers.
        ("[ \t]{1,3}", "[A-Za-z0-9._~+/-]{0,30}").prop_map(|(ws, t)| (format!("Bearer{ws}Q9{t}"), format!("Q9{t}"))),
        "[A-Za-z0-9]{0,30}".prop_map(|t| (format!("Authorization: Token Q9{t}"), format!("Q9{t}"))),
        // Not digits and then `/`: that is a port (see the patterns' docs).
        ("[a-z]{3,8}", "[A-Za-z!$%@/][A-Za-z0-9!$%@/]{0,8}", "[A-Za-z0-9]{2,8}").prop_map(|(user, a, b)| {
            let pw = format!("{a}@{b}/x");
            (format!("mysql://{user}:{pw}@db.internal/app"), pw)
        }),
        "[A-Za-z0-9+/]{20,60}".prop_map(|body| (
            format!("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{body}\n-----END PGP PRIVATE KEY BLOCK-----"),
            body
        )),
        (
            prop_oneof![
                Just("password"),
                Just("userPassword"),
                Just("accessToken"),
                Just("client_secret"),
                Just("pw"),
                Just("private_key_pem")
            ],
            prop_oneof![Just(": "), Just("="), Just(" = ")],
            "[A-Za-z0-9!$%@/]{6,20}",
            any::<bool>()
        )
            .prop_map(|(name, sep, value, quoted)| {
                let shown = if quoted {
                    format!("{name}{sep}\"{value}\"")
                } else {
                    format!("{name}{sep}{value}")
                };
                (shown, value)
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
