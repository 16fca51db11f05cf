//! The mock's verifier on arbitrary requests: method, target, headers and body.
//!
//! Never panics; a request signed correctly over its raw target (GET, the headers
//! sent once) is accepted; on a rejection the diagnosis runs as the mock runs it;
//! and no rejection, diagnosis or explanation shows the private token unless the
//! request itself carried it.
#![no_main]

use arbitrary::Arbitrary;
use dt_protocol::{sign, DateFormat, RequestParts, Secret, Verifier};
use libfuzzer_sys::fuzz_target;
use time::{Duration, OffsetDateTime};

const PUBLIC: &str = "PUBTOKEN";
const PRIVATE: &str = "PRIVTOKEN-fuzz-Zq9x";

#[derive(Arbitrary, Debug)]
enum Name<'a> {
    Token,
    Date,
    Signature,
    LowerToken,
    LowerDate,
    LowerSignature,
    Other(&'a str),
}

#[derive(Arbitrary, Debug)]
enum Sign {
    /// Only the fuzzed headers.
    None,
    /// Prepend correct headers over the raw target.
    Raw(u8),
    /// Prepend correct headers over the decoded query.
    Decoded(u8),
    /// Prepend correct headers over `path?body`.
    Body(u8),
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    method: &'a str,
    get: bool,
    target: &'a str,
    headers: Vec<(Name<'a>, &'a [u8])>,
    body: &'a [u8],
    sign: Sign,
    /// Seconds the date is moved from the server's clock.
    shift: i32,
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_714_564_800).unwrap()
}

fn format(n: u8, t: OffsetDateTime) -> String {
    DateFormat::ALL[usize::from(n) % DateFormat::ALL.len()].format(t)
}

fuzz_target!(|input: Input<'_>| {
    let secret = Secret::new(PRIVATE);
    let store = vec![(PUBLIC.to_string(), secret.clone())];
    let method = if input.get { "GET" } else { input.method };
    let date_at = now() + Duration::seconds(i64::from(input.shift));

    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    let signed = match input.sign {
        Sign::None => None,
        Sign::Raw(f) => Some((f, input.target.to_string())),
        Sign::Decoded(f) => {
            let (path, query) = dt_protocol::target::split_target(input.target);
            let q = dt_protocol::target::decode_component(query.unwrap_or(""));
            Some((f, format!("{path}?{q}")))
        }
        Sign::Body(f) => {
            let (path, _) = dt_protocol::target::split_target(input.target);
            Some((f, format!("{path}?{}", String::from_utf8_lossy(input.body))))
        }
    };
    if let Some((f, signed_target)) = &signed {
        let date = format(*f, date_at);
        let sig = sign(&secret, signed_target, PUBLIC, &date);
        headers.push(("DTAPI-Token".into(), PUBLIC.into()));
        headers.push(("DTAPI-Date".into(), date.into_bytes()));
        headers.push(("DTAPI-Signature".into(), sig.into_bytes()));
    }
    let extra_dtapi = input.headers.iter().any(|(n, _)| match n {
        Name::Other(s) => s.to_ascii_lowercase().starts_with("dtapi-"),
        _ => true,
    });
    for (name, value) in &input.headers {
        let name = match name {
            Name::Token => "DTAPI-Token",
            Name::Date => "DTAPI-Date",
            Name::Signature => "DTAPI-Signature",
            Name::LowerToken => "dtapi-token",
            Name::LowerDate => "dtapi-date",
            Name::LowerSignature => "dtapi-signature",
            Name::Other(s) => s,
        };
        headers.push((name.to_string(), value.to_vec()));
    }

    let parts = RequestParts::from_headers(
        method,
        input.target,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_slice())),
        input.body,
    );
    let verifier = Verifier::new(Duration::minutes(30));
    let result = verifier.verify(&parts, store.as_slice(), now());

    // A correct signature over the raw target of a GET within the skew is accepted.
    if matches!(input.sign, Sign::Raw(_))
        && method == "GET"
        && !extra_dtapi
        && i64::from(input.shift).abs() <= 30 * 60
    {
        assert!(result.is_ok(), "{result:?}");
    }

    let carried_secret = method.contains(PRIVATE)
        || input.target.contains(PRIVATE)
        || String::from_utf8_lossy(input.body).contains(PRIVATE)
        || headers.iter().any(|(k, v)| {
            k.contains(PRIVATE) || String::from_utf8_lossy(v).contains(PRIVATE)
        });

    let mut shown = Vec::new();
    match &result {
        Ok(accepted) => shown.push(format!("{accepted:?}")),
        Err(rejection) => {
            shown.push(rejection.to_string());
            shown.push(format!("{rejection:?}"));
            let mistake = dt_explain::diagnose(
                &parts,
                Some(&secret),
                rejection,
                now(),
                verifier.max_skew,
            );
            shown.push(format!("{mistake:?}"));
            shown.push(serde_json::to_string(&mistake).unwrap());
        }
    }
    // The explanation a support engineer would see for the same request.
    let captured = dt_explain::Captured {
        method: method.to_string(),
        target: input.target.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
            .collect(),
        body: input.body.to_vec(),
    };
    let explanation =
        dt_explain::explain(&captured, Some(&secret), None, now(), verifier.max_skew);
    shown.push(explanation.render_text());
    shown.push(serde_json::to_string(&explanation).unwrap());
    if !carried_secret {
        for s in &shown {
            assert!(!s.contains(PRIVATE), "the private token leaked: {s}");
        }
    }
});
