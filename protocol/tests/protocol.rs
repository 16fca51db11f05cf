//! Integration tests for dt-protocol: the golden vectors in `fixtures/signatures/`
//! and the sign/verify properties.

use std::path::PathBuf;

use dt_protocol::{sign, RejectKind, RequestParts, Secret, TokenStore, Verifier};
use proptest::prelude::*;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

fn vectors() -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/signatures");
    let mut out: Vec<Value> = std::fs::read_dir(&dir)
        .expect("fixtures/signatures exists")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap())
        .collect();
    out.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    out
}

struct Store(Vec<(String, Secret)>);

impl TokenStore for Store {
    fn private_for(&self, public: &str) -> Option<&Secret> {
        self.0.as_slice().private_for(public)
    }
}

#[test]
fn golden_vectors_are_all_present() {
    // Eleven from the reference plus the negative and edge cases.
    assert!(vectors().len() >= 32, "found {}", vectors().len());
}

#[test]
fn golden_vectors_sign_to_the_expected_value() {
    for v in vectors() {
        let s = |k: &str| v[k].as_str().unwrap().to_string();
        let got = sign(
            &Secret::new(s("private")),
            &s("signed_target"),
            &s("public"),
            &s("date"),
        );
        assert_eq!(got, s("signature"), "vector {}", s("name"));
    }
}

#[test]
fn golden_vectors_get_the_expected_verdict() {
    for v in vectors() {
        let name = v["name"].as_str().unwrap();
        let store = Store(
            v["server_tokens"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p[0].as_str().unwrap().to_string(),
                        Secret::new(p[1].as_str().unwrap()),
                    )
                })
                .collect(),
        );
        let headers: Vec<(&str, &str)> = v["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, x)| (k.as_str(), x.as_str().unwrap()))
            .collect();
        let body = v["body"].as_str().unwrap_or("").as_bytes();
        let parts = RequestParts::from_headers(
            v["method"].as_str().unwrap(),
            v["target"].as_str().unwrap(),
            headers,
            body,
        );
        let now = OffsetDateTime::parse(v["server_time"].as_str().unwrap(), &Rfc3339).unwrap();
        let verifier = Verifier::new(Duration::seconds(v["max_skew_seconds"].as_i64().unwrap()));
        let got = match verifier.verify(&parts, &store, now) {
            Ok(_) => "accept",
            Err(r) => match r.kind() {
                RejectKind::Login => "login",
                RejectKind::Date => "date-error",
                RejectKind::Signature => "signature-error",
            },
        };
        assert_eq!(got, v["verdict"].as_str().unwrap(), "vector {name}");
    }
}

fn wire_target() -> impl Strategy<Value = String> {
    // Paths and queries as they appear on a request line: no spaces, escapes allowed.
    (
        "/[a-z]{1,12}(/[A-Za-z0-9+/=]{1,20})?",
        proptest::option::of(
            "[a-z]{1,6}=[A-Za-z0-9%+.:-]{0,12}(&[a-z]{1,6}=[A-Za-z0-9%.-]{0,8}){0,3}",
        ),
    )
        .prop_map(|(p, q)| match q {
            Some(q) => format!("{p}?{q}"),
            None => p,
        })
}

fn request<'a>(target: &'a str, date: &'a str, sig: &'a str) -> RequestParts<'a> {
    RequestParts::from_headers(
        "GET",
        target,
        [
            ("DTAPI-Token", "pub"),
            ("DTAPI-Date", date),
            ("DTAPI-Signature", sig),
        ],
        b"",
    )
}

const NOW: OffsetDateTime = time::macros::datetime!(2024-05-01 12:00:00 UTC);
const DATE: &str = "2024-05-01 12:00:00";

fn store() -> Store {
    Store(vec![("pub".into(), Secret::new("priv"))])
}

proptest! {
    #[test]
    fn sign_then_verify_always_passes(target in wire_target(), skew in -1800i64..=1800) {
        let date = dt_protocol::DateFormat::Spaced.format(NOW + Duration::seconds(skew));
        let signed = target.strip_suffix('?').unwrap_or(&target).to_string();
        let sig = sign(&Secret::new("priv"), &signed, "pub", &date);
        prop_assert!(Verifier::default().verify(&request(&target, &date, &sig), &store(), NOW).is_ok());
    }

    #[test]
    fn a_one_byte_change_to_the_target_fails(target in wire_target(), pos in any::<prop::sample::Index>(), byte in b'!'..=b'~') {
        let sig = sign(&Secret::new("priv"), &target, "pub", DATE);
        let mut bytes = target.clone().into_bytes();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != byte && byte != b'?' && bytes[i] != b'?');
        bytes[i] = byte;
        let tampered = String::from_utf8(bytes).unwrap();
        prop_assert!(Verifier::default().verify(&request(&tampered, DATE, &sig), &store(), NOW).is_err());
    }

    #[test]
    fn a_one_byte_change_to_the_date_fails(pos in 0usize..19, byte in b' '..=b'~') {
        let sig = sign(&Secret::new("priv"), "/status", "pub", DATE);
        let mut bytes = DATE.as_bytes().to_vec();
        prop_assume!(bytes[pos] != byte);
        bytes[pos] = byte;
        let date = String::from_utf8(bytes).unwrap();
        prop_assert!(Verifier::default().verify(&request("/status", &date, &sig), &store(), NOW).is_err());
    }

    #[test]
    fn a_one_byte_change_to_the_signature_fails(pos in 0usize..40, byte in b' '..=b'~') {
        let sig = sign(&Secret::new("priv"), "/status", "pub", DATE);
        let mut bytes = sig.into_bytes();
        prop_assume!(bytes[pos] != byte);
        bytes[pos] = byte;
        let sig = String::from_utf8(bytes).unwrap();
        prop_assert!(Verifier::default().verify(&request("/status", DATE, &sig), &store(), NOW).is_err());
    }

    #[test]
    fn verify_never_panics(target in "\\PC{0,60}", date in "\\PC{0,30}", sig in "\\PC{0,45}", body in proptest::collection::vec(any::<u8>(), 0..40)) {
        let parts = RequestParts::from_headers("POST", &target, [("DTAPI-Token", "pub"), ("DTAPI-Date", date.as_str()), ("DTAPI-Signature", sig.as_str())], &body);
        let _ = Verifier::default().verify(&parts, &store(), NOW);
    }
}
