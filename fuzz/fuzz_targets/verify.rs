//! The mock's verifier on arbitrary requests: method, target, headers and body.
//!
//! Never panics; a request signed correctly over its raw target (GET, the headers
//! sent once; an empty query signs the bare path) is accepted; on a rejection the diagnosis runs as the mock runs it;
//! and no rejection, diagnosis or explanation shows the private token unless the
//! request itself carried it.
#![no_main]

use dt_protocol::{sign, DateFormat, RequestParts, Secret, Verifier};
use libfuzzer_sys::fuzz_target;
use time::{Duration, OffsetDateTime};

const PUBLIC: &str = "PUBTOKEN";
const PRIVATE: &str = "PRIVTOKEN-fuzz-Zq9x";

/// How the input asks for correct DTAPI headers to be added before its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    /// Only the headers in the input.
    None,
    /// Correct headers over the raw target, as the appliance signs it: a bare
    /// `?` (empty query) is not part of the signed string (reference §1.6).
    Raw,
    /// Correct headers over the decoded query.
    Decoded,
    /// Correct headers over `path?body`.
    Body,
}

/// The input: one control byte (bits 0–1 the [`Sign`] mode, bits 2–3 the date
/// format), two bytes of date shift (big-endian `i16`, in seconds), then a request
/// as text: `METHOD TARGET` on the first line, `Name: value` lines, a blank line
/// and the body. Any bytes are read somehow; the seeds are plain requests.
struct Input<'a> {
    sign: Sign,
    format: u8,
    shift: i16,
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: &'a [u8],
}

fn split_line(b: &[u8]) -> (&[u8], &[u8]) {
    match b.iter().position(|&c| c == b'\n') {
        Some(i) => (b[..i].strip_suffix(b"\r").unwrap_or(&b[..i]), &b[i + 1..]),
        None => (b, &[]),
    }
}

fn read(data: &[u8]) -> Option<Input<'_>> {
    let (&control, rest) = data.split_first()?;
    let (shift, rest) = match rest {
        [a, b, rest @ ..] => (i16::from_be_bytes([*a, *b]), rest),
        _ => return None,
    };
    let sign = match control & 3 {
        0 => Sign::None,
        1 => Sign::Raw,
        2 => Sign::Decoded,
        _ => Sign::Body,
    };
    let (line, mut rest) = split_line(rest);
    let line = String::from_utf8_lossy(line);
    let mut words = line.splitn(3, ' ');
    let method = words.next().unwrap_or("").to_string();
    let target = words.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    while !rest.is_empty() {
        let (line, next) = split_line(rest);
        rest = next;
        if line.is_empty() {
            break;
        }
        let colon = line.iter().position(|&c| c == b':').unwrap_or(line.len());
        let name = String::from_utf8_lossy(&line[..colon]).trim().to_string();
        let value = line.get(colon + 1..).unwrap_or(&[]);
        let value = value.strip_prefix(b" ").unwrap_or(value).to_vec();
        headers.push((name, value));
    }
    Some(Input {
        sign,
        format: (control >> 2) & 3,
        shift,
        method,
        target,
        headers,
        body: rest,
    })
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_714_564_800).unwrap()
}

fn format(n: u8, t: OffsetDateTime) -> String {
    DateFormat::ALL[usize::from(n) % DateFormat::ALL.len()].format(t)
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = read(data) else {
        return;
    };
    let secret = Secret::new(PRIVATE);
    let store = vec![(PUBLIC.to_string(), secret.clone())];
    let method = input.method.as_str();
    let target = input.target.as_str();
    let date_at = now() + Duration::seconds(i64::from(input.shift));

    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    let signed = match input.sign {
        Sign::None => None,
        Sign::Raw => {
            let (path, query) = dt_protocol::target::split_target(target);
            Some(match query {
                None | Some("") => path.to_string(),
                Some(q) => format!("{path}?{q}"),
            })
        }
        Sign::Decoded => {
            let (path, query) = dt_protocol::target::split_target(target);
            let q = dt_protocol::target::decode_component(query.unwrap_or(""));
            Some(format!("{path}?{q}"))
        }
        Sign::Body => {
            let (path, _) = dt_protocol::target::split_target(target);
            Some(format!("{path}?{}", String::from_utf8_lossy(input.body)))
        }
    };
    if let Some(signed_target) = &signed {
        let date = format(input.format, date_at);
        let sig = sign(&secret, signed_target, PUBLIC, &date);
        headers.push(("DTAPI-Token".into(), PUBLIC.into()));
        headers.push(("DTAPI-Date".into(), date.into_bytes()));
        headers.push(("DTAPI-Signature".into(), sig.into_bytes()));
    }
    let extra_dtapi = input
        .headers
        .iter()
        .any(|(n, _)| n.to_ascii_lowercase().starts_with("dtapi-"));
    headers.extend(input.headers.iter().cloned());

    let parts = RequestParts::from_headers(
        method,
        target,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_slice())),
        input.body,
    );
    let verifier = Verifier::new(Duration::minutes(30));
    let result = verifier.verify(&parts, store.as_slice(), now());

    // A correct signature over the raw target of a GET within the skew is accepted.
    if input.sign == Sign::Raw
        && method == "GET"
        && !extra_dtapi
        && i64::from(input.shift).abs() <= 30 * 60
    {
        assert!(result.is_ok(), "{result:?}");
    }

    let carried_secret = data.windows(PRIVATE.len()).any(|w| w == PRIVATE.as_bytes());

    let mut shown = Vec::new();
    match &result {
        Ok(accepted) => shown.push(format!("{accepted:?}")),
        Err(rejection) => {
            shown.push(rejection.to_string());
            shown.push(format!("{rejection:?}"));
            let mistake =
                dt_explain::diagnose(&parts, Some(&secret), rejection, now(), verifier.max_skew);
            shown.push(format!("{mistake:?}"));
            shown.push(serde_json::to_string(&mistake).unwrap());
        }
    }
    // The explanation a support engineer would see for the same request.
    let captured = dt_explain::Captured {
        method: method.to_string(),
        target: target.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
            .collect(),
        body: input.body.to_vec(),
    };
    let explanation = dt_explain::explain(&captured, Some(&secret), None, now(), verifier.max_skew);
    shown.push(explanation.render_text());
    shown.push(serde_json::to_string(&explanation).unwrap());
    if !carried_secret {
        for s in &shown {
            assert!(!s.contains(PRIVATE), "the private token leaked: {s}");
        }
    }
});
