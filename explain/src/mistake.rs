//! The known customer mistakes, and the search that names the one a captured
//! signature reproduces.
//!
//! Each mistake is a way of building the wrong string to sign (or keying the HMAC
//! with the wrong bytes). The search re-signs the captured request each wrong way
//! and compares with the captured `DTAPI-Signature`; the first exact match names the
//! mistake. Nothing found means the secret itself differs: [`MistakeId::WrongSecret`].
//!
//! No text built here ever contains the private token: details describe the
//! secret's *shape* (a trailing newline), never its value.

use std::collections::HashSet;
use std::fmt;

use base64::Engine as _;
use dt_protocol::sign::sign_bytes;
use dt_protocol::target::{decode_query, split_target};
use dt_protocol::verify::signed_targets;
use dt_protocol::{parse_dtapi_date, DateFormat, Rejection, RequestParts, Secret};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::encode;

/// A stable identifier for each mistake (kebab-case in JSON and text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MistakeId {
    /// One or more `DTAPI-*` headers were not sent (302 to /login).
    MissingHeaders,
    /// A `DTAPI-*` header was sent more than once (the values get joined).
    DuplicateHeader,
    /// `DTAPI-Date` is in no format the appliance reads.
    DateFormat,
    /// `DTAPI-Date` is local time labelled as UTC: off by a whole number of hours.
    LocalTimeAsUtc,
    /// `DTAPI-Date` is off by some other amount: the client's clock is wrong.
    ClockSkew,
    /// The public token is not the one the appliance knows.
    UnknownToken,
    /// Public and private tokens swapped.
    SwappedTokens,
    /// `DTAPI-Signature` is not 40 lowercase hex digits (uppercase, base64, ...).
    SignatureFormat,
    /// The private token had extra (or missing) surrounding whitespace.
    SecretWhitespace,
    /// A POST's body was left out of the signed string.
    BodyOmitted,
    /// A body (or the URL query with the body) was signed where it should not be.
    BodyIncluded,
    /// The JSON body was signed in a different serialization than sent.
    BodyReserialized,
    /// A `?` missing or extra between path and query.
    QuestionMark,
    /// The query parameters were signed sorted.
    SortedQuery,
    /// The query parameters were signed in another (unsorted) order than sent.
    QueryOrder,
    /// The query or path was signed in a different percent-encoding than sent.
    EncodingMismatch,
    /// A proxy path prefix was added or stripped between signing and the appliance.
    PathPrefix,
    /// The full URL (scheme and host) was signed instead of the path.
    FullUrl,
    /// The signature covers a different date than the header carries.
    DateMismatch,
    /// Nothing reproduces the signature: another private token.
    WrongSecret,
}

impl MistakeId {
    /// Every mistake, in the order the documentation lists them.
    pub const ALL: [MistakeId; 20] = [
        MistakeId::MissingHeaders,
        MistakeId::DuplicateHeader,
        MistakeId::DateFormat,
        MistakeId::LocalTimeAsUtc,
        MistakeId::ClockSkew,
        MistakeId::UnknownToken,
        MistakeId::SwappedTokens,
        MistakeId::SignatureFormat,
        MistakeId::SecretWhitespace,
        MistakeId::BodyOmitted,
        MistakeId::BodyIncluded,
        MistakeId::BodyReserialized,
        MistakeId::QuestionMark,
        MistakeId::SortedQuery,
        MistakeId::QueryOrder,
        MistakeId::EncodingMismatch,
        MistakeId::PathPrefix,
        MistakeId::FullUrl,
        MistakeId::DateMismatch,
        MistakeId::WrongSecret,
    ];

    /// The stable id, e.g. `sorted-query`.
    pub fn as_str(self) -> &'static str {
        match self {
            MistakeId::MissingHeaders => "missing-headers",
            MistakeId::DuplicateHeader => "duplicate-header",
            MistakeId::DateFormat => "date-format",
            MistakeId::LocalTimeAsUtc => "local-time-as-utc",
            MistakeId::ClockSkew => "clock-skew",
            MistakeId::UnknownToken => "unknown-token",
            MistakeId::SwappedTokens => "swapped-tokens",
            MistakeId::SignatureFormat => "signature-format",
            MistakeId::SecretWhitespace => "secret-whitespace",
            MistakeId::BodyOmitted => "body-omitted",
            MistakeId::BodyIncluded => "body-included",
            MistakeId::BodyReserialized => "body-reserialized",
            MistakeId::QuestionMark => "question-mark",
            MistakeId::SortedQuery => "sorted-query",
            MistakeId::QueryOrder => "query-order",
            MistakeId::EncodingMismatch => "encoding-mismatch",
            MistakeId::PathPrefix => "path-prefix",
            MistakeId::FullUrl => "full-url",
            MistakeId::DateMismatch => "date-mismatch",
            MistakeId::WrongSecret => "wrong-secret",
        }
    }
}

impl fmt::Display for MistakeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named mistake with what happened and what to do. Never holds the private token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mistake {
    /// The stable id.
    pub id: MistakeId,
    /// What the client did, in a sentence or two.
    pub detail: String,
    /// What to change.
    pub fix: String,
    /// The string the client actually signed (public token and date only), when
    /// the mistake was reproduced and the string is safe to show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_signed: Option<String>,
    /// For `local-time-as-utc`: the client's UTC offset in minutes (120 for UTC+2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utc_offset_minutes: Option<i32>,
}

impl Mistake {
    fn new(id: MistakeId, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Mistake {
            id,
            detail: detail.into(),
            fix: fix.into(),
            client_signed: None,
            utc_offset_minutes: None,
        }
    }

    fn signed(mut self, s: Option<String>) -> Self {
        self.client_signed = s;
        self
    }
}

/// Path prefixes a proxy commonly adds or strips; always tried.
pub const BUILTIN_PREFIXES: [&str; 4] = ["/darktrace", "/dt", "/api", "/proxy"];

/// Names the mistake behind a rejection, for the mock's journal: cheap enough to
/// run on every rejected request (at most about a hundred HMAC-SHA1s).
///
/// `secret` is the private token of the request's public token, when known. For an
/// [`Rejection::UnknownToken`], pass a private token equal to the sent
/// `DTAPI-Token` if the store holds one: that is a swapped pair. Only the built-in
/// path prefixes are tried, and the full-URL check is skipped (the parts carry no
/// host); [`crate::explain_with`] does both.
pub fn diagnose(
    parts: &RequestParts<'_>,
    secret: Option<&Secret>,
    rejection: &Rejection,
    server_time: OffsetDateTime,
    max_skew: Duration,
) -> Option<Mistake> {
    // The skew rejection carries the server time and allowed skew it was checked
    // against; the two parameters keep the signature stable for callers.
    let _ = (server_time, max_skew);
    match rejection {
        Rejection::MissingHeaders { missing } => Some(missing_headers(missing, &[])),
        Rejection::UnparseableDate { value } => {
            Some(joined_duplicate("DTAPI-Date", value).unwrap_or_else(|| date_format(value)))
        }
        Rejection::Skew {
            request_time,
            server_time,
            allowed,
        } => Some(date_skew(
            parts.date.as_deref().unwrap_or(""),
            *request_time,
            *server_time,
            *allowed,
        )),
        Rejection::UnknownToken { public } => {
            if let Some(m) = joined_duplicate("DTAPI-Token", public) {
                return Some(m);
            }
            if secret.is_some_and(|s| !s.is_empty() && s.expose_secret() == public.as_str()) {
                return Some(swapped_config(None));
            }
            Some(unknown_token(public, None))
        }
        Rejection::SignatureMismatch { provided, .. } => {
            if let Some(m) = joined_duplicate("DTAPI-Signature", provided) {
                return Some(m);
            }
            let (Some(token), Some(date)) = (parts.token.as_deref(), parts.date.as_deref()) else {
                return None;
            };
            let input = SigInput {
                method: parts.method,
                target: parts.target,
                body: parts.body,
                token,
                date,
                provided,
                host: None,
                prefixes: &[],
                thorough: false,
            };
            match secret {
                Some(s) => Some(search_signature(&input, s)),
                None => signature_format_only(provided),
            }
        }
    }
}

// ----------------------------------------------------------------------------- headers and tokens

pub(crate) fn missing_headers(missing: &[&str], near: &[String]) -> Mistake {
    let near = if near.is_empty() {
        String::new()
    } else {
        format!(
            " It did send {}, which the appliance does not read: check the header names.",
            near.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Mistake::new(
        MistakeId::MissingHeaders,
        format!(
            "The request lacks {}; the appliance treats it as unauthenticated and redirects to /login.{near}",
            missing.join(", ")
        ),
        "Send all three headers on every request: DTAPI-Token, DTAPI-Date and DTAPI-Signature.",
    )
}

pub(crate) fn duplicate_header(name: &str, count: usize) -> Mistake {
    Mistake::new(
        MistakeId::DuplicateHeader,
        format!(
            "The {name} header was sent {count} times; the appliance joins repeated headers with \", \" and the joined value fails the check."
        ),
        "Send each DTAPI header exactly once (look for a proxy or a default-headers setting that adds a second copy).",
    )
}

/// A value the verifier joined from repeated headers (`a, b`), for when only the
/// joined value is at hand.
fn joined_duplicate(name: &str, value: &str) -> Option<Mistake> {
    let parts: Vec<&str> = value.split(", ").collect();
    if parts.len() < 2 || parts.iter().any(|p| p.trim().is_empty()) {
        return None;
    }
    let plausible = match name {
        "DTAPI-Date" => parts.iter().all(|p| parse_dtapi_date(p).is_ok()),
        "DTAPI-Signature" => parts
            .iter()
            .all(|p| p.len() == 40 && p.bytes().all(|b| b.is_ascii_hexdigit())),
        _ => parts.iter().all(|p| !p.contains(char::is_whitespace)),
    };
    plausible.then(|| duplicate_header(name, parts.len()))
}

pub(crate) fn unknown_token(token: &str, known: Option<&str>) -> Mistake {
    let detail = match known {
        Some(k) => format!(
            "The DTAPI-Token {token:?} is not the public token {k:?} paired with the private token: the appliance does not know it."
        ),
        None => format!("The appliance does not know the public token {token:?}."),
    };
    Mistake::new(
        MistakeId::UnknownToken,
        detail,
        "Use the public token shown with the private token on the appliance's API token page (System Config > Settings > API Token).",
    )
}

/// Both tokens swapped in the client's settings: the private token went out as
/// `DTAPI-Token`. The header value is the secret, so nothing here quotes it.
pub(crate) fn swapped_config(known_public: Option<&str>) -> Mistake {
    let key = match known_public {
        Some(_) => " and the signature was made with the public token as the HMAC key",
        None => "",
    };
    Mistake::new(
        MistakeId::SwappedTokens,
        format!(
            "The DTAPI-Token header carries the private token{key}: the public and private tokens are swapped in the client's settings. The private token has now been sent in clear in a header: consider rotating it."
        ),
        "Put the public token in the public-token (API key) field and the private token in the secret field.",
    )
}

// ----------------------------------------------------------------------------- dates

pub(crate) fn date_format(value: &str) -> Mistake {
    let v = value.trim();
    let hint = if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        " (it looks like a Unix timestamp)"
    } else if v.contains("GMT") || v.contains(", ") {
        " (it looks like an HTTP date, RFC 7231)"
    } else if v.len() >= 24
        && (v.ends_with("00") || v.ends_with("30") || v.ends_with("45"))
        && matches!(v.as_bytes().get(v.len() - 5), Some(b'+' | b'-'))
    {
        " (the zone offset needs a colon: `+02:00`, not `+0200`)"
    } else if value != v {
        " (it has surrounding whitespace)"
    } else {
        ""
    };
    Mistake::new(
        MistakeId::DateFormat,
        format!("DTAPI-Date {value:?} is not in a format the appliance reads{hint}."),
        "Send the current UTC time as `YYYYMMDDTHHMMSS` or `YYYY-MM-DD HH:MM:SS` (ISO-8601 with `T`, optional fraction and `Z`/`±HH:MM` also works).",
    )
}

/// The most a zone-offset date may be off besides its whole hours (15 minutes, or
/// the allowed skew when that is smaller).
pub const ZONE_TOLERANCE_SECS: i64 = 15 * 60;

/// Zone offsets that are not whole hours, in minutes.
const ODD_OFFSETS: [i64; 11] = [210, 270, 330, 345, 390, 525, 570, 630, 765, -210, -570];

pub(crate) fn date_skew(
    value: &str,
    request_time: OffsetDateTime,
    server_time: OffsetDateTime,
    allowed: Duration,
) -> Mistake {
    let skew = request_time - server_time;
    let secs = skew.whole_seconds();
    let allowed_s = allowed.whole_seconds().max(0);
    // A zone offset explains the skew when removing it leaves a date the appliance
    // would accept, and the rest is small: a client whose clock is merely 31 minutes
    // off is not in UTC-1.
    let tolerance = allowed_s.min(ZONE_TOLERANCE_SECS);
    let hours = (secs as f64 / 3600.0).round() as i64;
    let offset_min = if (1..=14).contains(&hours.abs()) && (secs - hours * 3600).abs() <= tolerance
    {
        Some(hours * 60)
    } else {
        ODD_OFFSETS
            .iter()
            .copied()
            .find(|m| (secs - m * 60).abs() <= tolerance)
    };
    let dir = if secs >= 0 { "ahead of" } else { "behind" };
    if let Some(m) = offset_min {
        let zone = utc_zone(m);
        let rest = secs - m * 60;
        let exactly = if rest == 0 {
            "exactly".to_string()
        } else {
            format!(
                "{} {} than",
                human_duration(rest),
                if rest > 0 { "more" } else { "less" }
            )
        };
        let mut mk = Mistake::new(
            MistakeId::LocalTimeAsUtc,
            format!(
                "DTAPI-Date {value:?} is {} {dir} the server's clock, {exactly} the {zone} offset: the client signed local time {zone} as if it were UTC.",
                human_duration(secs.abs())
            ),
            "Send the current time in UTC (Python `datetime.now(timezone.utc)`, not `datetime.now()`), or an ISO-8601 date with its offset (`+02:00`).",
        );
        mk.utc_offset_minutes = Some(m as i32);
        return mk;
    }
    let old = if secs.abs() > 86_400 {
        " If the capture is older than that, explain it against the time it was sent, not now."
    } else {
        ""
    };
    Mistake::new(
        MistakeId::ClockSkew,
        format!(
            "DTAPI-Date {value:?} is {} {dir} the server's clock; the appliance allows ±{}.{old}",
            human_duration(secs.abs()),
            human_duration(allowed_s)
        ),
        "Synchronise the client's clock (NTP) and sign with the current UTC time.",
    )
}

fn utc_zone(minutes: i64) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let (h, m) = (minutes.abs() / 60, minutes.abs() % 60);
    if m == 0 {
        format!("UTC{sign}{h}")
    } else {
        format!("UTC{sign}{h}:{m:02}")
    }
}

/// `1 h 59 min 30 s`, `31 min`, `12 s`.
pub(crate) fn human_duration(secs: i64) -> String {
    let secs = secs.abs();
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d} d"));
    }
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if m > 0 {
        parts.push(format!("{m} min"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(format!("{s} s"));
    }
    parts.join(" ")
}

// ----------------------------------------------------------------------------- signatures

/// Everything the signature search reads. None of it is secret.
pub(crate) struct SigInput<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub body: &'a [u8],
    /// `DTAPI-Token` as sent.
    pub token: &'a str,
    /// `DTAPI-Date` as sent.
    pub date: &'a str,
    /// `DTAPI-Signature` as sent.
    pub provided: &'a str,
    /// The `Host` the client sent to, for the full-URL check.
    pub host: Option<&'a str>,
    /// Extra path prefixes to try (on top of [`BUILTIN_PREFIXES`]).
    pub prefixes: &'a [&'a str],
    /// Try every order of up to five query parameters (else up to three), for an
    /// interactive explanation rather than a per-request diagnosis.
    pub thorough: bool,
}

/// What is wrong with the shape of a signature, and the lowercase hex it stands
/// for when that can be recovered.
pub(crate) struct SigShape {
    pub hex: Option<String>,
    pub problem: Option<String>,
}

pub(crate) fn signature_shape(provided: &str) -> SigShape {
    let is_lower_hex40 = |s: &str| {
        s.len() == 40
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if is_lower_hex40(provided) {
        return SigShape {
            hex: Some(provided.to_string()),
            problem: None,
        };
    }
    let t = provided.trim().trim_matches(|c| c == '"' || c == '\'');
    if t.len() == 40 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        let problem = if t.bytes().any(|b| b.is_ascii_uppercase()) {
            "is in uppercase hex"
        } else {
            "has quotes or spaces around it"
        };
        return SigShape {
            hex: Some(t.to_ascii_lowercase()),
            problem: Some(problem.to_string()),
        };
    }
    let lenient = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let lenient_url = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    if let Some(raw) = lenient
        .decode(t)
        .ok()
        .or_else(|| lenient_url.decode(t).ok())
        .filter(|r| r.len() == 20)
    {
        return SigShape {
            hex: Some(raw.iter().map(|b| format!("{b:02x}")).collect()),
            problem: Some("is base64, not hex".to_string()),
        };
    }
    let problem = if t.bytes().all(|b| b.is_ascii_hexdigit()) && t.len() == 64 {
        "is 64 hex digits: an HMAC-SHA256, but the appliance uses HMAC-SHA1".to_string()
    } else if t.bytes().all(|b| b.is_ascii_hexdigit()) && t.len() == 32 {
        "is 32 hex digits: an MD5, but the appliance uses HMAC-SHA1".to_string()
    } else if t.is_empty() {
        "is empty".to_string()
    } else {
        format!(
            "is {} characters, not 40 lowercase hex digits",
            provided.chars().count()
        )
    };
    SigShape {
        hex: None,
        problem: Some(problem),
    }
}

fn signature_format(problem: &str, hmac_right: bool) -> Mistake {
    let rest = if hmac_right {
        " The HMAC itself is right: only its encoding is wrong."
    } else {
        ""
    };
    Mistake::new(
        MistakeId::SignatureFormat,
        format!("DTAPI-Signature {problem}; the appliance wants the HMAC-SHA1 digest as 40 lowercase hex digits.{rest}"),
        "Send the digest as lowercase hex (Python `hexdigest()`, Go `hex.EncodeToString`, Node `digest('hex')`).",
    )
}

/// Without a secret, only a malformed signature can be named.
pub(crate) fn signature_format_only(provided: &str) -> Option<Mistake> {
    signature_shape(provided)
        .problem
        .map(|p| signature_format(&p, false))
}

fn message(target: &[u8], public: &str, date: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(target.len() + public.len() + date.len() + 2);
    m.extend_from_slice(target);
    m.push(b'\n');
    m.extend_from_slice(public.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(date.as_bytes());
    m
}

fn shown(target: &[u8], public: &str, date: &str) -> String {
    String::from_utf8_lossy(&message(target, public, date)).into_owned()
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

struct Probe<'a> {
    inp: &'a SigInput<'a>,
    secret: &'a Secret,
    want: String,
    /// Targets already tried with the real key, token and date.
    seen: HashSet<Vec<u8>>,
}

impl<'a> Probe<'a> {
    fn new(inp: &'a SigInput<'a>, secret: &'a Secret, want: String) -> Self {
        let seen = signed_targets(inp.method, inp.target, inp.body)
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        Probe {
            inp,
            secret,
            want,
            seen,
        }
    }

    fn hit_with(&self, key: &Secret, target: &[u8], public: &str, date: &str) -> bool {
        sign_bytes(key, &message(target, public, date)) == self.want
    }

    /// Tries one wrong signed target with the right key, token and date.
    fn hit(&mut self, target: &[u8]) -> bool {
        if !self.seen.insert(target.to_vec()) {
            return false;
        }
        self.hit_with(self.secret, target, self.inp.token, self.inp.date)
    }

    /// The first of `targets` that reproduces the signature, as the shown string.
    fn first(&mut self, targets: impl IntoIterator<Item = Vec<u8>>) -> Option<(Vec<u8>, String)> {
        for t in targets {
            if self.hit(&t) {
                let s = shown(&t, self.inp.token, self.inp.date);
                return Some((t, s));
            }
        }
        None
    }

    /// The signed targets the appliance would accept for another request target.
    fn forms_of(&self, target: &str) -> Vec<Vec<u8>> {
        signed_targets(self.inp.method, target, self.inp.body)
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    fn accepted(&self) -> Vec<Vec<u8>> {
        self.forms_of(self.inp.target)
    }
}

/// Whether the appliance signs this request's body (POST/PUT/... with a body).
fn signs_body(method: &str, body: &[u8]) -> bool {
    !body.is_empty()
        && !method.eq_ignore_ascii_case("GET")
        && !method.eq_ignore_ascii_case("DELETE")
}

/// Searches the known mistakes for one that reproduces the captured signature.
/// Always returns a mistake: [`MistakeId::WrongSecret`] when nothing matches.
pub(crate) fn search_signature(inp: &SigInput<'_>, secret: &Secret) -> Mistake {
    if !secret.is_empty() && inp.token == secret.expose_secret() {
        return swapped_config(None);
    }
    let shape = signature_shape(inp.provided);
    let Some(want) = shape.hex.clone() else {
        return signature_format(shape.problem.as_deref().unwrap_or("is malformed"), false);
    };
    let mut p = Probe::new(inp, secret, want);
    if let Some(problem) = &shape.problem {
        let accepted = p.accepted();
        if accepted
            .iter()
            .any(|t| p.hit_with(secret, t, inp.token, inp.date))
        {
            return signature_format(problem, true);
        }
    }
    let found = swapped_tokens(&mut p)
        .or_else(|| secret_whitespace(&mut p))
        .or_else(|| body_mistakes(&mut p))
        .or_else(|| question_mark(&mut p))
        .or_else(|| query_order(&mut p))
        .or_else(|| encoding_mismatch(&mut p))
        .or_else(|| path_prefix(&mut p))
        .or_else(|| full_url(&mut p))
        .or_else(|| date_mismatch(&mut p));
    let mut m = found.unwrap_or_else(|| {
        Mistake::new(
            MistakeId::WrongSecret,
            format!(
                "None of the known mistakes reproduces the signature: it was made with another private token (or an unknown variation). Check that the client's private token is the one paired with the public token {:?}.",
                inp.token
            ),
            "Copy the private token again from the appliance's API token page (or generate a new pair) and configure it on the client.",
        )
    });
    if let Some(problem) = shape.problem {
        m.detail.push_str(&format!(
            " Also, DTAPI-Signature {problem}: the appliance wants 40 lowercase hex digits."
        ));
    }
    m
}

fn swapped_tokens(p: &mut Probe<'_>) -> Option<Mistake> {
    let inp = p.inp;
    let secret_text = p.secret.expose_secret();
    // The signing call swapped: keyed with the public token, the private token in
    // the message.
    let key = Secret::new(inp.token);
    for t in p.accepted() {
        if p.hit_with(&key, &t, secret_text, inp.date) {
            return Some(Mistake::new(
                MistakeId::SwappedTokens,
                "The signature was made with the public token as the HMAC key and the private token in the signed string: the two are swapped in the signing call.",
                "Key the HMAC with the private token; the signed string carries the public token.",
            ));
        }
    }
    None
}

fn secret_whitespace(p: &mut Probe<'_>) -> Option<Mistake> {
    let inp = p.inp;
    let s = p.secret.expose_secret();
    let mut variants: Vec<(String, &str)> = vec![
        (format!("{s}\n"), "a trailing newline (\\n)"),
        (format!("{s}\r\n"), "a trailing CRLF (\\r\\n)"),
        (format!("{s} "), "a trailing space"),
        (format!(" {s}"), "a leading space"),
        (format!("{s}\t"), "a trailing tab"),
        (format!(" {s} "), "a space on each side"),
    ];
    let trimmed = s.trim();
    if trimmed != s {
        variants.push((trimmed.to_string(), "TRIMMED"));
    }
    let accepted = p.accepted();
    for (v, what) in variants {
        let key = Secret::new(v);
        for t in &accepted {
            if p.hit_with(&key, t, inp.token, inp.date) {
                let detail = if what == "TRIMMED" {
                    "The client signed with the private token trimmed of whitespace, but the private token configured here has leading or trailing whitespace: one of the two copies is wrong (usually the one with the whitespace).".to_string()
                } else {
                    format!(
                        "The client's private token has {what} (typically read from a file, an `echo` without `-n`, or a copy and paste): the HMAC key must be the token alone."
                    )
                };
                return Some(
                    Mistake::new(
                        MistakeId::SecretWhitespace,
                        detail,
                        "Remove the stray whitespace from the private token in the client's settings.",
                    )
                    .signed(Some(shown(t, inp.token, inp.date))),
                );
            }
        }
    }
    None
}

fn join(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn body_mistakes(p: &mut Probe<'_>) -> Option<Mistake> {
    let inp = p.inp;
    let (path, query) = split_target(inp.target);
    let q = query.unwrap_or("");
    let pb = path.as_bytes();
    let body = inp.body;
    if signs_body(inp.method, body) {
        // Left out: signed as if there were no body.
        let mut omitted = vec![pb.to_vec(), join(&[pb, b"?"])];
        if !q.is_empty() {
            omitted.push(join(&[pb, b"?", q.as_bytes()]));
            omitted.push(join(&[pb, b"?", &decode_query(q)]));
        }
        if let Some((_, s)) = p.first(omitted) {
            return Some(
                Mistake::new(
                    MistakeId::BodyOmitted,
                    format!(
                        "This {} has a {}-byte body, which the appliance signs as `{path}?<body>`; the client left the body out of the signed string.",
                        inp.method,
                        body.len()
                    ),
                    "For a POST with a body, sign the path, `?` and the body exactly as sent (the URL query stays out).",
                )
                .signed(Some(s)),
            );
        }
        if !q.is_empty() {
            let included = [
                join(&[pb, b"?", q.as_bytes(), b"&", body]),
                join(&[pb, b"?", &decode_query(q), b"&", body]),
                join(&[pb, b"?", q.as_bytes(), b"?", body]),
                join(&[pb, b"?", q.as_bytes(), body]),
                join(&[pb, b"?", body, b"&", q.as_bytes()]),
            ];
            if let Some((_, s)) = p.first(included) {
                return Some(
                    Mistake::new(
                        MistakeId::BodyIncluded,
                        "The client signed the URL query together with the body (the darktrace-sdk style `path?query&body`); for a POST with a body the appliance signs only `path?<body>`: the URL query takes effect but is not signed.",
                        "Sign `path?<body>` and keep the URL query out of the signed string.",
                    )
                    .signed(Some(s)),
                );
            }
        }
        return body_reserialized(p, pb);
    }
    if !body.is_empty() {
        // GET or DELETE with a body: the appliance ignores it, the client signed it.
        let mut included = vec![join(&[pb, b"?", body])];
        if !q.is_empty() {
            included.push(join(&[pb, b"?", q.as_bytes(), b"&", body]));
            included.push(join(&[pb, b"?", &decode_query(q), b"&", body]));
        }
        if let Some((_, s)) = p.first(included) {
            return Some(
                Mistake::new(
                    MistakeId::BodyIncluded,
                    format!(
                        "This {} carries a body, which the appliance does not sign for GET and DELETE; the client included it in the signed string.",
                        inp.method
                    ),
                    "For GET and DELETE sign the path and query only (and send no body).",
                )
                .signed(Some(s)),
            );
        }
    }
    None
}

/// Python's `json.dumps` default layout: `", "` and `": "`, non-ASCII escaped.
struct PythonFormatter {
    ensure_ascii: bool,
}

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if !self.ensure_ascii {
            return w.write_all(fragment.as_bytes());
        }
        for ch in fragment.chars() {
            if ch.is_ascii() {
                w.write_all(&[ch as u8])?;
            } else {
                let mut buf = [0u16; 2];
                for unit in ch.encode_utf16(&mut buf) {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

fn python_dumps(v: &serde_json::Value, ensure_ascii: bool) -> Option<Vec<u8>> {
    use serde::Serialize as _;
    let mut out = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, PythonFormatter { ensure_ascii });
    v.serialize(&mut ser).ok()?;
    Some(out)
}

fn body_reserialized(p: &mut Probe<'_>, pb: &[u8]) -> Option<Mistake> {
    let body = p.inp.body;
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let styles: Vec<(&str, Option<Vec<u8>>)> = vec![
        ("compact, no spaces", serde_json::to_vec(&v).ok()),
        (
            "Python `json.dumps` default, `\", \"` and `\": \"`",
            python_dumps(&v, true),
        ),
        ("`\", \"` and `\": \"` separators", python_dumps(&v, false)),
        ("pretty-printed", serde_json::to_vec_pretty(&v).ok()),
    ];
    for (style, bytes) in styles {
        let Some(b) = bytes else { continue };
        if b == body {
            continue;
        }
        let t = join(&[pb, b"?", &b]);
        if p.hit(&t) {
            return Some(
                Mistake::new(
                    MistakeId::BodyReserialized,
                    format!(
                        "The client signed the JSON body serialized differently ({style}) from the bytes it sent; the appliance signs the body byte for byte."
                    ),
                    "Serialize the body once, then sign and send those same bytes.",
                )
                .signed(Some(shown(&t, p.inp.token, p.inp.date))),
            );
        }
    }
    None
}

fn question_mark(p: &mut Probe<'_>) -> Option<Mistake> {
    let inp = p.inp;
    let (path, query) = split_target(inp.target);
    let pb = path.as_bytes();
    let fix_q = "Put `?` and the query in the signed string only when the query is non-empty, exactly as on the request line.";
    if signs_body(inp.method, inp.body) {
        let t = join(&[pb, inp.body]);
        return p.first([t]).map(|(_, s)| {
            Mistake::new(
                MistakeId::QuestionMark,
                "The client joined the path and the body without the `?` between them.",
                "Sign the path, `?`, then the body exactly as sent.",
            )
            .signed(Some(s))
        });
    }
    match query {
        None | Some("") => {
            let extra = if query.is_some() {
                format!("The request line ends in a bare `?`, which the appliance drops: it signs `{path}` alone, but the client signed `{path}?`.")
            } else {
                format!("The client signed `{path}?` with a trailing `?`, but the request has no query, so the appliance signs `{path}` alone (the Go library's habit).")
            };
            p.first([join(&[pb, b"?"])])
                .map(|(_, s)| Mistake::new(MistakeId::QuestionMark, extra, fix_q).signed(Some(s)))
        }
        Some(q) => {
            if let Some((_, s)) = p.first([pb.to_vec()]) {
                return Some(
                    Mistake::new(
                        MistakeId::QuestionMark,
                        format!("The client signed only the path `{path}`, without the query `?{q}` it sent."),
                        format!("Sign the path and query exactly as sent: `{path}?{q}`."),
                    )
                    .signed(Some(s)),
                );
            }
            let without = [
                join(&[pb, q.as_bytes()]),
                join(&[pb, &decode_query(q)]),
                join(&[pb, b"&", q.as_bytes()]),
                join(&[pb, b"??", q.as_bytes()]),
            ];
            p.first(without).map(|(_, s)| {
                Mistake::new(
                    MistakeId::QuestionMark,
                    "The client joined the path and the query without a single `?` between them.",
                    fix_q,
                )
                .signed(Some(s))
            })
        }
    }
}

/// The part of the request whose parameters the client may have re-ordered or
/// re-encoded: the URL query (GET, DELETE, POST without a body) or a form body.
fn param_part<'a>(inp: &'a SigInput<'a>) -> Option<(&'a str, String, &'static str)> {
    let (path, query) = split_target(inp.target);
    if signs_body(inp.method, inp.body) {
        let body = std::str::from_utf8(inp.body).ok()?;
        let t = body.trim_start();
        if t.starts_with('{') || t.starts_with('[') || !body.contains('=') {
            return None;
        }
        return Some((path, body.to_string(), "form body"));
    }
    match query {
        Some(q) if !q.is_empty() => Some((path, q.to_string(), "query")),
        _ => None,
    }
}

fn permutations(items: &[&str]) -> Vec<Vec<String>> {
    if items.len() <= 1 {
        return vec![items.iter().map(|s| s.to_string()).collect()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest: Vec<&str> = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.to_string());
            out.push(tail);
        }
    }
    out
}

/// The signed forms of `path?v` a client may have produced: as is and decoded.
fn with_decoded(path: &str, v: &str) -> Vec<Vec<u8>> {
    let raw = format!("{path}?{v}").into_bytes();
    let dec = join(&[path.as_bytes(), b"?", &decode_query(v)]);
    if raw == dec {
        vec![raw]
    } else {
        vec![raw, dec]
    }
}

fn query_order(p: &mut Probe<'_>) -> Option<Mistake> {
    let inp = p.inp;
    let (path, q, what) = param_part(inp)?;
    let pairs: Vec<&str> = q.split('&').collect();
    if pairs.len() < 2 {
        return None;
    }
    let key = |s: &&str| s.split('=').next().unwrap_or("").to_string();
    let mut by_key = pairs.clone();
    by_key.sort_by_key(key);
    let mut by_pair = pairs.clone();
    by_pair.sort();
    let mut by_decoded = pairs.clone();
    by_decoded.sort_by_key(|s| decode_query(s));
    let fix = format!(
        "Sign the {what} in exactly the order it goes on the wire (or send it in the order signed)."
    );
    for (how, v) in [
        ("alphabetically by name", by_key.join("&")),
        ("as whole `name=value` pairs", by_pair.join("&")),
        ("by decoded pair", by_decoded.join("&")),
    ] {
        if v == q {
            continue;
        }
        if let Some((_, s)) = p.first(with_decoded(path, &v)) {
            return Some(
                Mistake::new(
                    MistakeId::SortedQuery,
                    format!(
                        "The client signed the {what} parameters sorted {how} (`{v}`) but sent them in another order (`{q}`); the appliance signs them in the order sent and never sorts."
                    ),
                    fix,
                )
                .signed(Some(s)),
            );
        }
    }
    if pairs.len() <= if inp.thorough { 5 } else { 3 } {
        for perm in permutations(&pairs) {
            let v = perm.join("&");
            if v == q {
                continue;
            }
            if let Some((_, s)) = p.first(with_decoded(path, &v)) {
                return Some(
                    Mistake::new(
                        MistakeId::QueryOrder,
                        format!(
                            "The client signed the {what} parameters in another order (`{v}`) than it sent them (`{q}`): its HTTP library re-orders them after signing (Go's `url.Values.Encode` sorts, for one)."
                        ),
                        fix,
                    )
                    .signed(Some(s)),
                );
            }
        }
    }
    None
}

fn encoding_mismatch(p: &mut Probe<'_>) -> Option<Mistake> {
    let inp = p.inp;
    let fix = "Sign exactly the bytes of the request line (for the query, its fully decoded form is also accepted; the path is only ever checked as sent).";
    if let Some((path, q, what)) = param_part(inp) {
        let variants: Vec<(String, &str)> = vec![
            (q.replace("%20", "+"), "signed `+` for spaces while sending `%20`"),
            (q.replace('+', "%20"), "signed `%20` for spaces while sending `+`"),
            (
                encode::reencode_pairs(&q, |b| encode::strict(b, true)),
                "signed every reserved character percent-encoded while sending them raw",
            ),
            (
                encode::reencode_pairs(&q, |b| encode::strict(b, false)),
                "signed every reserved character percent-encoded (lowercase hex) while sending them raw",
            ),
            (
                encode::reencode_pairs(&q, encode::form),
                "signed the values form-encoded (`+` for space, reserved characters escaped) while sending them otherwise",
            ),
            (
                encode::reencode_pairs(&q, encode::uri_component),
                "signed the values `encodeURIComponent`-encoded while sending them otherwise",
            ),
            (q.replace('%', "%25"), "signed the values double-encoded (`%2520`)"),
            (
                lossy(&encode::percent_decode(&q)),
                "signed the values percent-decoded but with `+` kept as a plus sign, while the appliance reads `+` as a space",
            ),
            (
                encode::flip_escape_case(&q),
                "signed the percent-escapes in the other hex case (`%3a` vs `%3A`)",
            ),
        ];
        for (v, how) in variants {
            if v == q {
                continue;
            }
            if let Some((_, s)) = p.first([format!("{path}?{v}").into_bytes()]) {
                return Some(
                    Mistake::new(
                        MistakeId::EncodingMismatch,
                        format!("The client signed a differently encoded {what} than it sent: it {how}."),
                        fix,
                    )
                    .signed(Some(s)),
                );
            }
        }
    }
    let (path, query) = split_target(inp.target);
    for (v, how) in path_variants(path) {
        let target = match query {
            Some(q) => format!("{v}?{q}"),
            None => v.clone(),
        };
        let forms = p.forms_of(&target);
        if let Some((_, s)) = p.first(forms) {
            return Some(
                Mistake::new(
                    MistakeId::EncodingMismatch,
                    format!("The client signed the path encoded differently than it sent it: it {how} (signed `{v}`, sent `{path}`). The appliance checks the path exactly as sent, never decoded."),
                    fix,
                )
                .signed(Some(s)),
            );
        }
    }
    None
}

const ADVANCED_SEARCH: &str = "/advancedsearch/api/search/";

/// Paths a client may have signed instead of the one sent, with what it did.
fn path_variants(path: &str) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    let mut push = |v: String, how: &'static str| {
        if v != path && !v.contains('?') && !out.iter().any(|(o, _)| *o == v) {
            out.push((v, how));
        }
    };
    if path.contains('%') {
        push(
            lossy(&encode::percent_decode(path)),
            "signed the path decoded (raw `=`, `/`, `+`) while sending it percent-encoded",
        );
        push(
            encode::flip_escape_case(path),
            "signed the path's percent-escapes in the other hex case",
        );
    }
    // Each segment percent-encoded (reserved characters such as `=` and `+`).
    let segs_enc = |upper: bool| {
        path.split('/')
            .map(|s| encode_reserved(s, upper, false))
            .collect::<Vec<_>>()
            .join("/")
    };
    push(
        segs_enc(true),
        "signed the path percent-encoded (`%3D`, `%2B`) while sending it raw",
    );
    push(
        segs_enc(false),
        "signed the path percent-encoded in lowercase hex while sending it raw",
    );
    if let Some(tail) = path.strip_prefix(ADVANCED_SEARCH) {
        for upper in [true, false] {
            push(
                format!("{ADVANCED_SEARCH}{}", encode_reserved(tail, upper, true)),
                "signed the advanced-search base64 segment percent-encoded (`%2F`, `%2B`, `%3D`) while sending it raw",
            );
        }
        let raw = encode::percent_decode(tail);
        let lenient = |alpha: &base64::alphabet::Alphabet| {
            base64::engine::GeneralPurpose::new(
                alpha,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
            )
        };
        let decoded = lenient(&base64::alphabet::STANDARD)
            .decode(&raw)
            .or_else(|_| lenient(&base64::alphabet::URL_SAFE).decode(&raw));
        if let Ok(bytes) = decoded {
            use base64::engine::general_purpose as gp;
            for enc in [
                gp::STANDARD.encode(&bytes),
                gp::STANDARD_NO_PAD.encode(&bytes),
                gp::URL_SAFE.encode(&bytes),
                gp::URL_SAFE_NO_PAD.encode(&bytes),
            ] {
                push(
                    format!("{ADVANCED_SEARCH}{enc}"),
                    "signed the advanced-search query in another base64 alphabet or padding than it sent",
                );
                push(
                    format!("{ADVANCED_SEARCH}{}", encode_reserved(&enc, true, true)),
                    "signed the advanced-search query in another base64 alphabet or padding, percent-encoded, than it sent",
                );
            }
        }
    }
    out
}

/// Percent-encodes the reserved characters of a path segment (and `/` when asked).
fn encode_reserved(s: &str, upper: bool, slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        let enc = matches!(
            ch,
            '=' | '+' | ':' | '@' | ',' | ';' | '!' | '$' | '\'' | '(' | ')' | '*' | '&' | ' '
        ) || (slash && ch == '/');
        if enc {
            let b = ch as u32 as u8;
            out.push_str(&if upper {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            });
        } else {
            out.push(ch);
        }
    }
    out
}

fn path_prefix(p: &mut Probe<'_>) -> Option<Mistake> {
    let inp = p.inp;
    let (path, query) = split_target(inp.target);
    let rest = |pth: &str| match query {
        Some(q) => format!("{pth}?{q}"),
        None => pth.to_string(),
    };
    let fix = "Sign the path exactly as the appliance receives it: if a proxy adds or strips a prefix, sign the path as seen behind the proxy (or configure the client's base URL without the prefix).";
    // Stripped: the client signed without the first one or two segments it sent.
    let segs: Vec<&str> = path.split('/').collect();
    for n in 1..=2usize {
        if segs.len() > n + 1 {
            let stripped = format!("/{}", segs[n + 1..].join("/"));
            let prefix = segs[1..=n].join("/");
            let forms = p.forms_of(&rest(&stripped));
            if let Some((_, s)) = p.first(forms) {
                return Some(
                    Mistake::new(
                        MistakeId::PathPrefix,
                        format!(
                            "The client signed `{stripped}` but the request carries `{path}`: the `/{prefix}` prefix was added in front of the API path after signing (a base URL with a path, or a proxy that adds it)."
                        ),
                        fix,
                    )
                    .signed(Some(s)),
                );
            }
        }
    }
    // Added: the client signed a prefix that a proxy stripped before the appliance.
    let mut prefixes: Vec<String> = Vec::new();
    for pre in inp.prefixes.iter().copied().chain(BUILTIN_PREFIXES) {
        let pre = format!("/{}", pre.trim_matches('/'));
        if pre.len() > 1 && !prefixes.contains(&pre) {
            prefixes.push(pre);
        }
    }
    for pre in prefixes {
        let signed_path = format!("{pre}{path}");
        let forms = p.forms_of(&rest(&signed_path));
        if let Some((_, s)) = p.first(forms) {
            return Some(
                Mistake::new(
                    MistakeId::PathPrefix,
                    format!(
                        "The client signed `{signed_path}` but the appliance sees `{path}`: a proxy in between strips the `{pre}` prefix after the request was signed."
                    ),
                    fix,
                )
                .signed(Some(s)),
            );
        }
    }
    None
}

fn full_url(p: &mut Probe<'_>) -> Option<Mistake> {
    let inp = p.inp;
    let host = inp.host?;
    let mut hosts = vec![host.to_string()];
    if let Some((h, _port)) = host
        .rsplit_once(':')
        .filter(|(h, port)| !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
    {
        hosts.push(h.to_string());
    }
    let accepted = p.accepted();
    for h in &hosts {
        for scheme in ["https://", "http://", ""] {
            let prefix = format!("{scheme}{h}");
            for t in &accepted {
                let full = join(&[prefix.as_bytes(), t]);
                if p.hit(&full) {
                    return Some(
                        Mistake::new(
                            MistakeId::FullUrl,
                            format!("The client signed the full URL (`{}`) instead of the path and query alone.", lossy(&full)),
                            "Sign only the path and query (`/status?...`), without the scheme and host.",
                        )
                        .signed(Some(shown(&full, inp.token, inp.date))),
                    );
                }
            }
        }
    }
    None
}

fn date_mismatch(p: &mut Probe<'_>) -> Option<Mistake> {
    let inp = p.inp;
    let t = parse_dtapi_date(inp.date).ok()?;
    let fmt = DateFormat::ALL
        .into_iter()
        .find(|f| f.format(t) == inp.date)?;
    let accepted = p.accepted();
    for dt in [-1i64, 1, -2, 2, -3, 3] {
        let Some(shifted) = t.checked_add(Duration::seconds(dt)) else {
            continue;
        };
        let d = fmt.format(shifted);
        for target in &accepted {
            if p.hit_with(p.secret, target, inp.token, &d) {
                let dir = if dt < 0 { "earlier" } else { "later" };
                return Some(
                    Mistake::new(
                        MistakeId::DateMismatch,
                        format!(
                            "The signature covers the date `{d}`, {} s {dir} than the DTAPI-Date header it sent: the client read the clock twice.",
                            dt.abs()
                        ),
                        "Read the time once and use the same string for the header and the signed string.",
                    )
                    .signed(Some(shown(target, inp.token, &d))),
                );
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab() {
        let ids: HashSet<&str> = MistakeId::ALL.iter().map(|m| m.as_str()).collect();
        assert_eq!(ids.len(), MistakeId::ALL.len());
        for m in MistakeId::ALL {
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(0), "0 s");
        assert_eq!(human_duration(1860), "31 min");
        assert_eq!(human_duration(-7290), "2 h 1 min 30 s");
        assert_eq!(human_duration(90_000), "1 d 1 h");
    }

    #[test]
    fn signature_shapes() {
        let lower = "6348ccfcae96ef2aefce2a9762302aa2c3912a5c";
        assert!(signature_shape(lower).problem.is_none());
        let up = signature_shape(&lower.to_ascii_uppercase());
        assert_eq!(up.hex.as_deref(), Some(lower));
        assert!(up.problem.unwrap().contains("uppercase"));
        let b64 = base64::engine::general_purpose::STANDARD.encode([0xab; 20]);
        assert_eq!(signature_shape(&b64).hex.unwrap(), "ab".repeat(20));
        assert!(signature_shape(&"a".repeat(64))
            .problem
            .unwrap()
            .contains("SHA256"));
        assert!(signature_shape("").hex.is_none());
    }

    #[test]
    fn permutations_count() {
        assert_eq!(permutations(&["a", "b", "c"]).len(), 6);
    }

    #[test]
    fn zones() {
        assert_eq!(utc_zone(120), "UTC+2");
        assert_eq!(utc_zone(-300), "UTC-5");
        assert_eq!(utc_zone(330), "UTC+5:30");
    }
}
