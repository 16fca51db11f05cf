//! Verifying a request as the appliance does (DECISIONS D1–D3).
//!
//! The checks run in a fixed order, and the first failure decides the answer:
//! 1. all three `DTAPI-*` headers present, else the 302 to `/login`;
//! 2. the date parses and lies within the allowed skew of the server time, else
//!    `API DATE ERROR`;
//! 3. the public token is known, else `API SIGNATURE ERROR` (fail closed);
//! 4. the signature matches one of the accepted signed targets, else
//!    `API SIGNATURE ERROR`.
//!
//! The order of 2–4 is not observable on a correct request; where a request breaks
//! several rules at once the appliance's order is unknown and this one is pinned
//! (FIDELITY.md).
//!
//! Duplicated headers are joined with `", "`, as Node's HTTP parser joins repeated
//! custom headers, so a duplicate signature or date fails rather than being
//! silently picked from.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::date::parse_dtapi_date;
use crate::secret::Secret;
use crate::sign::{
    matches, matches_pieces, string_to_sign_bytes, HEADER_DATE, HEADER_SIGNATURE, HEADER_TOKEN,
};
use crate::target::{decode_query, split_target};

/// Where private tokens are looked up by public token.
pub trait TokenStore {
    /// The private token for a public token, if the pair is known.
    fn private_for(&self, public: &str) -> Option<&Secret>;
}

impl TokenStore for HashMap<String, Secret> {
    fn private_for(&self, public: &str) -> Option<&Secret> {
        self.get(public)
    }
}

impl TokenStore for [(String, Secret)] {
    fn private_for(&self, public: &str) -> Option<&Secret> {
        self.iter().find(|(p, _)| p == public).map(|(_, s)| s)
    }
}

/// The parts of a request that the signature check reads.
#[derive(Debug, Clone)]
pub struct RequestParts<'a> {
    /// The HTTP method, e.g. `GET`.
    pub method: &'a str,
    /// The raw request target, path and query exactly as on the request line.
    pub target: &'a str,
    /// `DTAPI-Token`, if present.
    pub token: Option<Cow<'a, str>>,
    /// `DTAPI-Date`, if present.
    pub date: Option<Cow<'a, str>>,
    /// `DTAPI-Signature`, if present.
    pub signature: Option<Cow<'a, str>>,
    /// The request body, byte for byte.
    pub body: &'a [u8],
}

impl<'a> RequestParts<'a> {
    /// Builds the parts from header pairs, matching names case-insensitively and
    /// joining repeated headers with `", "`.
    pub fn from_headers<I, V>(method: &'a str, target: &'a str, headers: I, body: &'a [u8]) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a V)>,
        V: AsRef<[u8]> + ?Sized + 'a,
    {
        let mut token: Option<Cow<'a, str>> = None;
        let mut date: Option<Cow<'a, str>> = None;
        let mut signature: Option<Cow<'a, str>> = None;
        for (name, value) in headers {
            let slot = if name.eq_ignore_ascii_case(HEADER_TOKEN) {
                &mut token
            } else if name.eq_ignore_ascii_case(HEADER_DATE) {
                &mut date
            } else if name.eq_ignore_ascii_case(HEADER_SIGNATURE) {
                &mut signature
            } else {
                continue;
            };
            // Borrowed when it is UTF-8 (every real request): no copy per header.
            let v = String::from_utf8_lossy(value.as_ref());
            *slot = Some(match slot.take() {
                Some(prev) => Cow::Owned(format!("{prev}, {v}")),
                None => v,
            });
        }
        RequestParts {
            method,
            target,
            token,
            date,
            signature,
            body,
        }
    }
}

/// Which signed target a valid signature covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignedForm {
    /// Path and query exactly as on the wire.
    Raw,
    /// Path and the percent-decoded query (`+` read as a space).
    Decoded,
    /// Path, `?` and the raw request body (POST with a body).
    Body,
}

impl fmt::Display for SignedForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignedForm::Raw => "raw query",
            SignedForm::Decoded => "decoded query",
            SignedForm::Body => "body",
        })
    }
}

/// A request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The public token that signed it.
    pub public: String,
    /// The signed target form that matched.
    pub form: SignedForm,
    /// The time the request claimed.
    pub request_time: OffsetDateTime,
}

/// The three answers an auth failure can get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RejectKind {
    /// 302 to `/login`.
    Login,
    /// 400 `API DATE ERROR`.
    Date,
    /// 400 `API SIGNATURE ERROR`.
    Signature,
}

/// Why a request was refused. Nothing here holds a private token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// One or more `DTAPI-*` headers were absent.
    #[error("missing header(s): {}", missing.join(", "))]
    MissingHeaders {
        /// The absent header names.
        missing: Vec<&'static str>,
    },
    /// The date header is in no accepted format.
    #[error("DTAPI-Date {value:?} is not a recognised date")]
    UnparseableDate {
        /// The header as sent.
        value: String,
    },
    /// The date is further from the server's clock than allowed.
    #[error("DTAPI-Date {} is {} the server time {} (allowed ±{}s)", rfc3339(request_time), skew_text(*request_time - *server_time), rfc3339(server_time), allowed.whole_seconds())]
    Skew {
        /// The time the request claimed (UTC).
        request_time: OffsetDateTime,
        /// The server's time when it checked.
        server_time: OffsetDateTime,
        /// The allowed skew either way.
        allowed: Duration,
    },
    /// The public token is not known (fail closed).
    #[error("unknown public token {public:?}")]
    UnknownToken {
        /// The public token as sent.
        public: String,
    },
    /// No accepted signed target reproduces the signature.
    #[error("signature {provided:?} matches none of the {} signed string(s) tried", tried.len())]
    SignatureMismatch {
        /// The signature as sent.
        provided: String,
        /// Each string to sign that was tried (contains the public token and date only).
        tried: Vec<String>,
    },
}

fn skew_text(d: Duration) -> String {
    let secs = d.whole_seconds();
    let dir = if secs >= 0 { "ahead of" } else { "behind" };
    format!("{}s {dir}", secs.abs())
}

fn rfc3339(t: &OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Rejection {
    /// Which appliance answer this rejection gets.
    pub fn kind(&self) -> RejectKind {
        match self {
            Rejection::MissingHeaders { .. } => RejectKind::Login,
            Rejection::UnparseableDate { .. } | Rejection::Skew { .. } => RejectKind::Date,
            Rejection::UnknownToken { .. } | Rejection::SignatureMismatch { .. } => {
                RejectKind::Signature
            }
        }
    }
}

/// The signature checker: the allowed skew is its only setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verifier {
    /// The largest allowed distance between the request's date and the server's clock.
    pub max_skew: Duration,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            max_skew: Duration::minutes(30),
        }
    }
}

/// Whether a method's body takes part in the signature (D1: a POST with a body signs
/// `path?body`; GET and DELETE sign the query).
fn signs_body(method: &str, body: &[u8]) -> bool {
    !body.is_empty()
        && !method.eq_ignore_ascii_case("GET")
        && !method.eq_ignore_ascii_case("DELETE")
}

/// The signed targets the appliance accepts for a request, in the order tried.
///
/// - With a signed body: `path?<body>` only (the URL query is not signed).
/// - Otherwise: the path alone when the query is empty; else `path?<raw query>` and,
///   when it differs, `path?<decoded query>`.
pub fn signed_targets(method: &str, target: &str, body: &[u8]) -> Vec<(SignedForm, Vec<u8>)> {
    let (path, query) = split_target(target);
    if signs_body(method, body) {
        let mut t = Vec::with_capacity(path.len() + 1 + body.len());
        t.extend_from_slice(path.as_bytes());
        t.push(b'?');
        t.extend_from_slice(body);
        return vec![(SignedForm::Body, t)];
    }
    match query {
        None | Some("") => vec![(SignedForm::Raw, path.as_bytes().to_vec())],
        Some(q) => {
            let raw = format!("{path}?{q}").into_bytes();
            let decoded_q = decode_query(q);
            let mut out = vec![(SignedForm::Raw, raw)];
            if decoded_q != q.as_bytes() {
                let mut d = Vec::with_capacity(path.len() + 1 + decoded_q.len());
                d.extend_from_slice(path.as_bytes());
                d.push(b'?');
                d.extend_from_slice(&decoded_q);
                out.push((SignedForm::Decoded, d));
            }
            out
        }
    }
}

/// The first of [`signed_targets`], as pieces to concatenate (nothing allocated).
fn first_signed_target<'a>(
    method: &str,
    target: &'a str,
    body: &'a [u8],
) -> (SignedForm, [&'a [u8]; 3]) {
    let (path, query) = split_target(target);
    if signs_body(method, body) {
        return (SignedForm::Body, [path.as_bytes(), b"?", body]);
    }
    match query {
        None | Some("") => (SignedForm::Raw, [path.as_bytes(), b"", b""]),
        Some(q) => (SignedForm::Raw, [path.as_bytes(), b"?", q.as_bytes()]),
    }
}

impl Verifier {
    /// A verifier with the given allowed skew.
    pub fn new(max_skew: Duration) -> Self {
        Verifier { max_skew }
    }

    /// Runs every check, in order, against `now` (the server's clock).
    pub fn verify<S: TokenStore + ?Sized>(
        &self,
        parts: &RequestParts<'_>,
        store: &S,
        now: OffsetDateTime,
    ) -> Result<Accepted, Rejection> {
        let (token, date, signature) = self.headers(parts)?;
        let request_time = self.check_date(date, now)?;
        let private = store
            .private_for(token)
            .ok_or_else(|| Rejection::UnknownToken {
                public: token.to_string(),
            })?;
        let form = self.check_signature(parts, private, token, date, signature)?;
        Ok(Accepted {
            public: token.to_string(),
            form,
            request_time,
        })
    }

    fn headers<'p>(
        &self,
        parts: &'p RequestParts<'_>,
    ) -> Result<(&'p str, &'p str, &'p str), Rejection> {
        match (
            parts.token.as_deref(),
            parts.date.as_deref(),
            parts.signature.as_deref(),
        ) {
            (Some(t), Some(d), Some(s)) => Ok((t, d, s)),
            (t, d, s) => {
                let missing = [(t, HEADER_TOKEN), (d, HEADER_DATE), (s, HEADER_SIGNATURE)]
                    .into_iter()
                    .filter(|(v, _)| v.is_none())
                    .map(|(_, n)| n)
                    .collect();
                Err(Rejection::MissingHeaders { missing })
            }
        }
    }

    /// The date rule alone: parse, then compare with `now` (inclusive at the limit).
    pub fn check_date(&self, date: &str, now: OffsetDateTime) -> Result<OffsetDateTime, Rejection> {
        let request_time =
            parse_dtapi_date(date).map_err(|e| Rejection::UnparseableDate { value: e.value })?;
        if (request_time - now).abs() > self.max_skew {
            return Err(Rejection::Skew {
                request_time,
                server_time: now,
                allowed: self.max_skew,
            });
        }
        Ok(request_time)
    }

    /// The signature rule alone, for a known private token.
    pub fn check_signature(
        &self,
        parts: &RequestParts<'_>,
        private: &Secret,
        public: &str,
        date: &str,
        provided: &str,
    ) -> Result<SignedForm, Rejection> {
        // The first form the appliance tries, hashed in place: an accepted request
        // allocates nothing here. The loop below re-checks it only on a mismatch.
        let (form, [path, mark, rest]) =
            first_signed_target(parts.method, parts.target, parts.body);
        let message = [
            path,
            mark,
            rest,
            b"\n",
            public.as_bytes(),
            b"\n",
            date.as_bytes(),
        ];
        if matches_pieces(private, &message, provided) {
            return Ok(form);
        }
        let candidates = signed_targets(parts.method, parts.target, parts.body);
        let mut tried = Vec::with_capacity(candidates.len());
        for (form, target) in candidates {
            let message = string_to_sign_bytes(&target, public, date);
            if matches(private, &message, provided) {
                return Ok(form);
            }
            tried.push(String::from_utf8_lossy(&message).into_owned());
        }
        Err(Rejection::SignatureMismatch {
            provided: provided.to_string(),
            tried,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::sign;
    use time::macros::datetime;

    fn store() -> HashMap<String, Secret> {
        HashMap::from([("PUBTOKEN".to_string(), Secret::new("PRIVTOKEN"))])
    }

    fn parts<'a>(
        method: &'a str,
        target: &'a str,
        date: &'a str,
        sig: &'a str,
        body: &'a [u8],
    ) -> RequestParts<'a> {
        RequestParts::from_headers(
            method,
            target,
            [
                ("dtapi-token", "PUBTOKEN"),
                ("DTAPI-Date", date),
                ("Dtapi-Signature", sig),
            ],
            body,
        )
    }

    const NOW: OffsetDateTime = datetime!(2020-04-15 13:34:00 UTC);

    #[test]
    fn accepts_a_valid_request_with_any_header_case() {
        let p = parts(
            "GET",
            "/status",
            "20200415T133400",
            "6348ccfcae96ef2aefce2a9762302aa2c3912a5c",
            b"",
        );
        let ok = Verifier::default().verify(&p, &store(), NOW).unwrap();
        assert_eq!(ok.form, SignedForm::Raw);
        assert_eq!(ok.public, "PUBTOKEN");
    }

    #[test]
    fn both_query_forms_verify_against_the_encoded_wire() {
        let wire = "/details?did=1&from=2020-04-15%2008%3A00%3A00&to=2020-04-15%2009%3A00%3A00";
        let enc = parts(
            "GET",
            wire,
            "20200415T133400",
            "56d043c938d3f9766d287d838261bd5dec80c86e",
            b"",
        );
        let dec = parts(
            "GET",
            wire,
            "20200415T133400",
            "9310143f3d07b5596b69c12f6ecdd313b32f45ba",
            b"",
        );
        assert_eq!(
            Verifier::default()
                .verify(&enc, &store(), NOW)
                .unwrap()
                .form,
            SignedForm::Raw
        );
        assert_eq!(
            Verifier::default()
                .verify(&dec, &store(), NOW)
                .unwrap()
                .form,
            SignedForm::Decoded
        );
    }

    #[test]
    fn missing_headers_are_listed() {
        let p = RequestParts::from_headers("GET", "/status", [("DTAPI-Token", "PUBTOKEN")], b"");
        let err = Verifier::default().verify(&p, &store(), NOW).unwrap_err();
        assert_eq!(
            err,
            Rejection::MissingHeaders {
                missing: vec![HEADER_DATE, HEADER_SIGNATURE]
            }
        );
        assert_eq!(err.kind(), RejectKind::Login);
    }

    #[test]
    fn duplicate_signature_headers_are_joined_and_fail() {
        let good = "6348ccfcae96ef2aefce2a9762302aa2c3912a5c";
        let p = RequestParts::from_headers(
            "GET",
            "/status",
            [
                ("DTAPI-Token", "PUBTOKEN"),
                ("DTAPI-Date", "20200415T133400"),
                ("DTAPI-Signature", good),
                ("DTAPI-Signature", good),
            ],
            b"",
        );
        let err = Verifier::default().verify(&p, &store(), NOW).unwrap_err();
        assert_eq!(err.kind(), RejectKind::Signature);
    }

    #[test]
    fn skew_is_inclusive_at_the_limit() {
        let v = Verifier::default();
        assert!(v.check_date("2020-04-15 14:04:00", NOW).is_ok());
        assert!(v.check_date("2020-04-15 13:04:00", NOW).is_ok());
        assert!(matches!(
            v.check_date("2020-04-15 14:04:01", NOW),
            Err(Rejection::Skew { .. })
        ));
        assert!(matches!(
            v.check_date("2020-04-15 13:03:59", NOW),
            Err(Rejection::Skew { .. })
        ));
    }

    #[test]
    fn json_post_signs_the_body_not_the_query() {
        let body = br#"{"hash":"eyJzZWFyY2giOiIifQ=="}"#;
        let target = "/advancedsearch/api/search?responsedata=hits";
        let st = format!(
            "/advancedsearch/api/search?{}",
            std::str::from_utf8(body).unwrap()
        );
        let sig = sign(
            &Secret::new("PRIVTOKEN"),
            &st,
            "PUBTOKEN",
            "20200415T133400",
        );
        let p = parts("POST", target, "20200415T133400", &sig, body);
        assert_eq!(
            Verifier::default().verify(&p, &store(), NOW).unwrap().form,
            SignedForm::Body
        );
        // Signing the query as well (an SDK mistake) is refused.
        let wrong = sign(
            &Secret::new("PRIVTOKEN"),
            &format!("{target}&{}", std::str::from_utf8(body).unwrap()),
            "PUBTOKEN",
            "20200415T133400",
        );
        let p = parts("POST", target, "20200415T133400", &wrong, body);
        assert!(matches!(
            Verifier::default().verify(&p, &store(), NOW),
            Err(Rejection::SignatureMismatch { .. })
        ));
    }

    #[test]
    fn unknown_token_fails_closed() {
        let p = RequestParts::from_headers(
            "GET",
            "/status",
            [
                ("DTAPI-Token", "NOBODY"),
                ("DTAPI-Date", "20200415T133400"),
                ("DTAPI-Signature", "00"),
            ],
            b"",
        );
        assert_eq!(
            Verifier::default().verify(&p, &store(), NOW).unwrap_err(),
            Rejection::UnknownToken {
                public: "NOBODY".into()
            }
        );
    }

    #[test]
    fn mismatch_lists_the_strings_tried_without_the_secret() {
        let p = parts(
            "GET",
            "/a?x=%20",
            "20200415T133400",
            "0000000000000000000000000000000000000000",
            b"",
        );
        let Err(Rejection::SignatureMismatch { tried, .. }) =
            Verifier::default().verify(&p, &store(), NOW)
        else {
            panic!("expected a mismatch");
        };
        assert_eq!(
            tried,
            vec![
                "/a?x=%20\nPUBTOKEN\n20200415T133400",
                "/a?x= \nPUBTOKEN\n20200415T133400"
            ]
        );
        assert!(!format!("{tried:?}").contains("PRIVTOKEN"));
    }

    proptest::proptest! {
        /// The in-place first form is exactly the first signed target, for any method,
        /// target and body.
        #[test]
        fn the_first_form_hashed_in_place_is_the_first_signed_target(
            method in "(GET|POST|DELETE|PUT|get)",
            target in "/[a-z/]{0,8}(\\?[a-z=&%+ ?]{0,12})?",
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..6),
        ) {
            let (form, pieces) = first_signed_target(&method, &target, &body);
            let (want_form, want) = signed_targets(&method, &target, &body).remove(0);
            proptest::prop_assert_eq!(form, want_form);
            proptest::prop_assert_eq!(pieces.concat(), want);
        }
    }
}
