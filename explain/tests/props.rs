//! Nothing panics: not parsing arbitrary text, not explaining arbitrary requests.

use dt_explain::{diagnose, explain, explain_with, parse_any, Captured, ExplainOptions};
use dt_protocol::{Secret, Verifier};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime};

fn header() -> impl Strategy<Value = (String, String)> {
    (
        prop_oneof![
            Just("DTAPI-Token".to_string()),
            Just("dtapi-date".to_string()),
            Just("DTAPI-Signature".to_string()),
            Just("Host".to_string()),
            "[A-Za-z-]{1,12}",
        ],
        prop_oneof![
            "\\PC{0,50}",
            "[0-9a-fA-F]{40}",
            "20[0-9]{2}[01][0-9][0-3][0-9]T[0-2][0-9][0-5][0-9][0-5][0-9]",
            "20[0-9]{2}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]",
            Just("9999-12-31T23:59:59Z".to_string()),
            Just("0000-01-01T00:00:00Z".to_string()),
        ],
    )
}

fn captured() -> impl Strategy<Value = Captured> {
    (
        prop_oneof![
            Just("GET".to_string()),
            Just("POST".to_string()),
            Just("DELETE".to_string()),
            "\\PC{0,8}"
        ],
        prop_oneof![
            "/[a-z/]{0,20}(\\?[a-z0-9=&%+ ]{0,30})?",
            "/advancedsearch/api/search/[A-Za-z0-9+/=%]{0,40}",
            "\\PC{0,40}",
        ],
        proptest::collection::vec(header(), 0..6),
        proptest::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(method, target, headers, body)| Captured {
            method,
            target,
            headers,
            body,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parse_any_never_panics(s in "\\PC{0,200}") {
        let _ = parse_any(&s);
    }

    #[test]
    fn parse_any_never_panics_on_format_like_input(
        prefix in prop_oneof![Just("curl "), Just("GET /"), Just("{\"log\":"), Just("DTAPI-Token: x\n"), Just("$ curl $'")],
        rest in "(\\PC|[\\\\'\"$\\r\\n])*",
    ) {
        let _ = parse_any(&format!("{prefix}{rest}"));
        let _ = Captured::from_http(format!("{prefix}{rest}").as_bytes());
    }

    #[test]
    fn from_http_never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Captured::from_http(&b);
    }

    #[test]
    fn explain_never_panics(
        c in captured(),
        secret in proptest::option::of("\\PC{0,20}"),
        known in proptest::option::of("\\PC{0,10}"),
        now_secs in -62_000_000_000i64..250_000_000_000i64,
        skew_secs in 0i64..200_000,
        prefixes in proptest::collection::vec("\\PC{0,8}", 0..3),
    ) {
        let now = OffsetDateTime::from_unix_timestamp(now_secs).unwrap();
        let secret = secret.map(Secret::new);
        let pre: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        let o = ExplainOptions {
            secret: secret.as_ref(),
            known_public: known.as_deref(),
            server_time: now,
            max_skew: Duration::seconds(skew_secs),
            prefixes: &pre,
        };
        let ex = explain_with(&c, &o);
        let _ = ex.render_text();
        let _ = serde_json::to_string(&ex).unwrap();
        let _ = explain(&c, secret.as_ref(), None, now, Duration::seconds(skew_secs));
        let parts = c.parts();
        if let Some(s) = &secret {
            let store = [(known.clone().unwrap_or_default(), s.clone())];
            if let Err(rej) = Verifier::new(Duration::seconds(skew_secs)).verify(&parts, store.as_slice(), now) {
                let _ = diagnose(&parts, Some(s), &rej, now, Duration::seconds(skew_secs));
                let _ = diagnose(&parts, None, &rej, now, Duration::seconds(skew_secs));
            }
        }
    }
}
