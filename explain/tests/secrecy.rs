//! The private token never shows: not in the rendered text, not in the JSON, not in
//! any public type's Debug, whatever the mistake.

use crate::common::*;
use dt_explain::{diagnose, explain, parse_any, Captured, MistakeId};
use dt_protocol::{sign, Secret, Verifier};

/// A spread of captures that exercise every branch.
fn captures() -> Vec<Captured> {
    let body = r#"{"name":"x"}"#;
    let swapped = sign(&Secret::new(PUB), "/status", PRIV, DATE);
    vec![
        parse_any(&Req::get("/status", sig("/status")).curl()).unwrap(),
        parse_any(&Req::get("/status", sig("/status?")).http()).unwrap(),
        parse_any(&Req::get("/status", swapped).token(PRIV).har()).unwrap(),
        Req::get("/devices?b=1&a=2", sig("/devices?a=2&b=1")).parts(),
        Req::post("/tags", body, sig("/tags")).parts(),
        Req::get("/status", sig("/status"))
            .date("2020-04-15 17:00:00")
            .parts(),
        Req::get("/status", sig("/status"))
            .date("not a date")
            .parts(),
        Req::get("/status", "ZZZ".into()).parts(),
        Req::get("/status", sign(&Secret::new("other"), "/status", PUB, DATE)).parts(),
        // The secret pasted in odd places.
        Req::get(&format!("/status?key={PRIV}"), sig("/x")).parts(),
        Captured::from_parts(
            "GET",
            "/status",
            vec![("X-Secret".into(), PRIV.into())],
            Vec::new(),
        ),
    ]
}

#[test]
fn the_secret_never_appears_in_any_output() {
    for c in captures() {
        for known in [None, Some(PUB), Some("someone-else")] {
            let ex = explain(&c, Some(&secret()), known, NOW, skew());
            assert_no_secret(&ex, PRIV);
        }
    }
}

#[test]
fn a_secret_with_whitespace_is_scrubbed_in_both_forms() {
    let real = Secret::new(format!("  {PRIV}\n"));
    for c in captures() {
        let ex = explain(&c, Some(&real), None, NOW, skew());
        assert_no_secret(&ex, PRIV);
    }
}

#[test]
fn diagnose_never_carries_the_secret() {
    let store = [(PUB.to_string(), secret())];
    for c in captures() {
        let parts = c.parts();
        if let Err(rej) = Verifier::new(skew()).verify(&parts, store.as_slice(), NOW) {
            if let Some(m) = diagnose(&parts, Some(&secret()), &rej, NOW, skew()) {
                let shown = format!("{m:?} {} {}", serde_json::to_string(&m).unwrap(), m.id);
                assert!(!shown.contains(PRIV), "{shown}");
            }
        }
    }
}

#[test]
fn swapped_tokens_are_redacted_where_the_header_is_shown() {
    let c = parse_any(
        &Req::get("/status", sign(&Secret::new(PUB), "/status", PRIV, DATE))
            .token(PRIV)
            .curl(),
    )
    .unwrap();
    let ex = explain(&c, Some(&secret()), Some(PUB), NOW, skew());
    assert_eq!(ex.mistake.as_ref().unwrap().id, MistakeId::SwappedTokens);
    assert_eq!(ex.request.token.as_deref(), Some("[private token]"));
    assert!(ex
        .strings_to_sign
        .iter()
        .all(|s| s.contains("[private token]")));
}

#[test]
fn options_debug_is_redacted() {
    let s = secret();
    let o = dt_explain::ExplainOptions {
        secret: Some(&s),
        known_public: Some(PUB),
        server_time: NOW,
        max_skew: skew(),
        prefixes: &[],
    };
    assert!(!format!("{o:?}").contains(PRIV));
}
