//! Authentication: signatures, dates and the appliance's answers to failures
//! (DECISIONS D1–D3, reference §1–2).

use dt_protocol::target::first_segment;
use dt_protocol::DateFormat;
use time::Duration;

use crate::case;
use crate::case::{ensure, Case, Failure};
use crate::probe::{DateSpec, Exchange, Probe, Signing};
use crate::target::Target;

/// The cases.
pub fn cases() -> Vec<Case> {
    vec![
        case!("auth.date.format-compact", "A valid signature with a YYYYMMDDTHHMMSS date MUST be accepted.", "D2; ref 1.4", [Appliance], date_compact),
        case!("auth.date.format-spaced", "A valid signature with a YYYY-MM-DD HH:MM:SS date MUST be accepted.", "D2; ref 1.4", [Appliance], date_spaced),
        case!("auth.date.format-iso", "A valid signature with an ISO-8601 date ending in Z MUST be accepted.", "D2; ref 1.4", [Appliance], date_iso),
        case!("auth.date.format-iso-millis", "A valid signature with an ISO-8601 date with milliseconds MUST be accepted.", "D2; ref 1.4", [Appliance], date_iso_millis),
        case!("auth.query.encoded-form", "A query signed exactly as sent (percent-encoded) MUST be accepted.", "D1; ref 1.6", [Appliance], query_encoded),
        case!("auth.query.decoded-form", "A query signed percent-decoded but sent encoded MUST be accepted.", "D1; ref 1.6", [Appliance], query_decoded),
        case!("auth.sig.wrong-secret", "A signature made with another private token MUST get 400 {\"<segment>\": \"API SIGNATURE ERROR\"}.", "D3; ref 2.1", [Appliance], wrong_secret),
        case!("auth.token.unknown", "An unknown public token MUST get 400 API SIGNATURE ERROR (fail closed).", "D3; ref 8.1", [Appliance], unknown_token),
        case!("auth.date.skew-ahead-31m", "A date 31 minutes ahead of the appliance MUST get 400 API DATE ERROR.", "D2, D3; ref 1.5", [Appliance], skew_ahead),
        case!("auth.date.skew-behind-31m", "A date 31 minutes behind the appliance MUST get 400 API DATE ERROR.", "D2, D3; ref 1.5", [Appliance], skew_behind),
        case!("auth.query.resorted", "A query signed sorted but sent in another order MUST get 400 API SIGNATURE ERROR.", "D1; ref 1.6", [Appliance], resorted),
        case!("auth.headers.missing", "A request without DTAPI headers MUST get 302 to /login with body 'Found. Redirecting to /login'.", "D3; ref 2.1", [Appliance], missing_headers),
    ]
}

async fn accepted(t: &Target, p: Probe) -> Result<(), Failure> {
    let ex = t.send(&p).await?;
    ensure(
        ex.status == 200 && ex.json().is_some(),
        &ex,
        "HTTP 200 with a JSON body",
    )
}

async fn date_in(t: &Target, f: DateFormat) -> Result<(), Failure> {
    accepted(
        t,
        Probe::get("/status?includechildren=false").date(DateSpec::Now(Duration::ZERO, f)),
    )
    .await
}

async fn date_compact(t: &Target) -> Result<(), Failure> {
    date_in(t, DateFormat::Compact).await
}
async fn date_spaced(t: &Target) -> Result<(), Failure> {
    date_in(t, DateFormat::Spaced).await
}
async fn date_iso(t: &Target) -> Result<(), Failure> {
    date_in(t, DateFormat::Iso).await
}
async fn date_iso_millis(t: &Target) -> Result<(), Failure> {
    date_in(t, DateFormat::IsoMillis).await
}

async fn query_encoded(t: &Target) -> Result<(), Failure> {
    accepted(
        t,
        Probe::get("/status?includechildren=false&responsedata=version%2Ctime"),
    )
    .await
}

async fn query_decoded(t: &Target) -> Result<(), Failure> {
    accepted(
        t,
        Probe::get("/status?includechildren=false&responsedata=version%2Ctime").signing(
            Signing::Over("/status?includechildren=false&responsedata=version,time".into()),
        ),
    )
    .await
}

/// Checks the exact auth error answer: 400, JSON content type, the 2-space body
/// keyed by the first path segment.
pub fn is_auth_error(ex: &Exchange, value: &str) -> Result<(), Failure> {
    let segment = first_segment(ex.target.split('?').next().unwrap_or(""));
    let want = format!("{{\n  \"{segment}\": \"{value}\"\n}}");
    ensure(
        ex.status == 400
            && ex.content_type.as_deref() == Some("application/json; charset=utf-8")
            && ex.body == want,
        ex,
        format!("HTTP 400 application/json; charset=utf-8 {want:?}"),
    )
}

async fn wrong_secret(t: &Target) -> Result<(), Failure> {
    let ex = t
        .send(&Probe::get("/status").signing(Signing::WrongSecret))
        .await?;
    is_auth_error(&ex, "API SIGNATURE ERROR")
}

async fn unknown_token(t: &Target) -> Result<(), Failure> {
    let ex = t
        .send(&Probe::get("/status").signing(Signing::UnknownToken))
        .await?;
    is_auth_error(&ex, "API SIGNATURE ERROR")
}

async fn skew_ahead(t: &Target) -> Result<(), Failure> {
    let ex = t
        .send(
            &Probe::get("/status").date(DateSpec::Now(Duration::minutes(31), DateFormat::Compact)),
        )
        .await?;
    is_auth_error(&ex, "API DATE ERROR")
}

async fn skew_behind(t: &Target) -> Result<(), Failure> {
    let ex = t
        .send(
            &Probe::get("/status").date(DateSpec::Now(Duration::minutes(-31), DateFormat::Compact)),
        )
        .await?;
    is_auth_error(&ex, "API DATE ERROR")
}

async fn resorted(t: &Target) -> Result<(), Failure> {
    let ex = t
        .send(
            &Probe::get("/status?includechildren=false&fast=true").signing(Signing::Over(
                "/status?fast=true&includechildren=false".into(),
            )),
        )
        .await?;
    is_auth_error(&ex, "API SIGNATURE ERROR")
}

async fn missing_headers(t: &Target) -> Result<(), Failure> {
    let ex = t
        .send(&Probe::get("/status").signing(Signing::Unsigned))
        .await?;
    ensure(
        ex.status == 302
            && ex.location.as_deref() == Some("/login")
            && ex.body == "Found. Redirecting to /login",
        &ex,
        "HTTP 302, Location /login, body 'Found. Redirecting to /login'",
    )
}
