//! The D3 answers, byte for byte, and what the journal records.

use dt_mock::journal::Verdict;
use dt_protocol::{sign, DateFormat, Secret};
use time::macros::datetime;
use time::Duration;

use crate::support::{raw, signed_get, start_at, PRIV, PUB};

const NOW: time::OffsetDateTime = datetime!(2024-05-01 12:00:00 UTC);

#[tokio::test]
async fn d3_signature_error_is_byte_exact() {
    let m = start_at(NOW).await;
    let date = DateFormat::Compact.format(NOW);
    let sig = sign(&Secret::new("wrong"), "/status", PUB, &date);
    let r = raw(
        m.addr,
        "GET",
        "/status",
        &[
            ("DTAPI-Token", PUB),
            ("DTAPI-Date", &date),
            ("DTAPI-Signature", &sig),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(r.body, b"{\n  \"status\": \"API SIGNATURE ERROR\"\n}");
    assert_eq!(r.header("content-length"), Some("37"));
}

#[tokio::test]
async fn d3_date_error_is_byte_exact_and_keyed_by_segment() {
    let m = start_at(NOW).await;
    let date = DateFormat::Compact.format(NOW + Duration::minutes(31));
    let target = "/advancedsearch/api/search/e30=";
    let sig = sign(&Secret::new(PRIV), target, PUB, &date);
    let r = raw(
        m.addr,
        "GET",
        target,
        &[
            ("DTAPI-Token", PUB),
            ("DTAPI-Date", &date),
            ("DTAPI-Signature", &sig),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body, b"{\n  \"advancedsearch\": \"API DATE ERROR\"\n}");
    let e = m.state.journal.all().pop().unwrap();
    assert_eq!(e.verdict, Verdict::Rejected);
    let d = e.diagnosis.unwrap();
    assert_eq!(d["rule"], "skew");
    assert_eq!(d["skew_seconds"], 1860);
    assert_eq!(d["allowed_seconds"], 1800);
}

#[tokio::test]
async fn d3_missing_headers_redirect_to_login() {
    let m = start_at(NOW).await;
    let r = raw(m.addr, "GET", "/status", &[], b"").await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/login"));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.text(), "Found. Redirecting to /login");
}

#[tokio::test]
async fn d3_unknown_route_with_valid_signature_redirects_to_login() {
    let m = start_at(NOW).await;
    let r = signed_get(m.addr, "/nosuchroute?x=1", NOW).await;
    assert_eq!(r.status, 302);
    assert_eq!(r.text(), "Found. Redirecting to /login");
    let e = m.state.journal.all().pop().unwrap();
    assert_eq!(e.verdict, Verdict::Accepted);
    assert_eq!(e.reason.as_deref(), Some("signature valid; unknown route"));
}

#[tokio::test]
async fn login_page_carries_the_title_clients_look_for() {
    let m = start_at(NOW).await;
    let r = raw(m.addr, "GET", "/login", &[], b"").await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<title>Log In | Darktrace</title>"));
}

#[tokio::test]
async fn journal_records_headers_without_credentials() {
    let m = start_at(NOW).await;
    let _ = raw(
        m.addr,
        "GET",
        "/status",
        &[("Authorization", "Basic c2VjcmV0"), ("Cookie", "sid=1")],
        b"",
    )
    .await;
    let e = m.state.journal.all().pop().unwrap();
    assert!(e
        .headers
        .iter()
        .all(|h| h.name != "authorization" && h.name != "cookie"));
    assert_eq!(e.status, 302);
}

#[tokio::test]
async fn a_rejection_logs_one_line_saying_why() {
    let lines = crate::secrets::capture_logs();
    let m = start_at(NOW).await;
    let date = DateFormat::Compact.format(NOW);
    let target = "/status?log-line-test";
    let sig = sign(&Secret::new("wrong"), target, PUB, &date);
    let _ = raw(
        m.addr,
        "GET",
        target,
        &[
            ("DTAPI-Token", PUB),
            ("DTAPI-Date", &date),
            ("DTAPI-Signature", &sig),
        ],
        b"",
    )
    .await;
    let text = lines.text();
    let rejected: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("rejected:") && l.contains(target))
        .collect();
    assert_eq!(rejected.len(), 1, "{text}");
    assert!(
        rejected[0].contains("matches none") && rejected[0].contains("likely cause: wrong-secret"),
        "{}",
        rejected[0]
    );
}

#[tokio::test]
async fn journal_names_the_likely_mistake() {
    let m = start_at(NOW).await;
    let date = DateFormat::Compact.format(NOW);
    let sent = "/devices?seensince=1hour&count=5";
    let sig = sign(
        &Secret::new(PRIV),
        "/devices?count=5&seensince=1hour",
        PUB,
        &date,
    );
    let r = raw(
        m.addr,
        "GET",
        sent,
        &[
            ("DTAPI-Token", PUB),
            ("DTAPI-Date", &date),
            ("DTAPI-Signature", &sig),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 400);
    let e = m.state.journal.all().pop().unwrap();
    assert_eq!(e.diagnosis.unwrap()["mistake"]["id"], "sorted-query");
}
