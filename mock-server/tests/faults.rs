//! Run-time faults through the admin API, as a client sees them.

use time::macros::datetime;

use crate::support::{raw, signed_get, start_at};

const NOW: time::OffsetDateTime = datetime!(2024-05-01 12:00:00 UTC);

async fn admin(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    body: &str,
) -> crate::support::RawResponse {
    raw(addr, method, target, &[], body.as_bytes()).await
}

#[tokio::test]
async fn status_fault_fires_n_times_then_passes() {
    let m = start_at(NOW).await;
    let r = admin(
        m.addr,
        "POST",
        "/_mock/faults",
        r#"{"route":"/status","kind":"status","status":503,"times":2}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(signed_get(m.addr, "/status", NOW).await.status, 503);
    assert_eq!(signed_get(m.addr, "/status", NOW).await.status, 503);
    assert_eq!(signed_get(m.addr, "/status", NOW).await.status, 200);
    let faulted = m
        .state
        .journal
        .all()
        .iter()
        .filter(|e| e.verdict == dt_mock::journal::Verdict::Faulted)
        .count();
    assert_eq!(faulted, 2);
}

#[tokio::test]
async fn html_fault_is_a_proxy_page() {
    let m = start_at(NOW).await;
    admin(
        m.addr,
        "POST",
        "/_mock/faults",
        r#"{"kind":"html","status":502}"#,
    )
    .await;
    let r = signed_get(m.addr, "/devices", NOW).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert!(r.text().contains("<title>502 Bad Gateway</title>"));
}

#[tokio::test]
async fn truncate_fault_cuts_the_json() {
    let m = start_at(NOW).await;
    admin(
        m.addr,
        "POST",
        "/_mock/faults",
        r#"{"route":"/status","kind":"truncate","times":1}"#,
    )
    .await;
    let r = signed_get(m.addr, "/status", NOW).await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body)
        .unwrap_err()
        .is_eof());
    assert!(serde_json::from_slice::<serde_json::Value>(
        &signed_get(m.addr, "/status", NOW).await.body
    )
    .is_ok());
}

#[tokio::test]
async fn reset_fault_breaks_the_body() {
    let m = start_at(NOW).await;
    admin(
        m.addr,
        "POST",
        "/_mock/faults",
        r#"{"kind":"reset","times":1}"#,
    )
    .await;
    // The connection closes without a complete answer, as a reset looks to a client.
    let date = dt_protocol::DateFormat::Compact.format(NOW);
    let sig = dt_protocol::sign(
        &dt_protocol::Secret::new(crate::support::PRIV),
        "/status",
        crate::support::PUB,
        &date,
    );
    let req = format!(
        "GET /status HTTP/1.1\r\nHost: x\r\nDTAPI-Token: {}\r\nDTAPI-Date: {date}\r\nDTAPI-Signature: {sig}\r\n\r\n",
        crate::support::PUB
    );
    let mut s = tokio::net::TcpStream::connect(m.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut s, req.as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::io::AsyncReadExt::read_to_end(&mut s, &mut buf).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(
        !text.contains("\r\n0\r\n\r\n") && !text.contains("content-length"),
        "a complete answer arrived: {text:?}"
    );
    assert_eq!(signed_get(m.addr, "/status", NOW).await.status, 200);
}

#[tokio::test]
async fn faults_are_listed_removed_and_validated() {
    let m = start_at(NOW).await;
    let id = admin(
        m.addr,
        "POST",
        "/_mock/faults",
        r#"{"kind":"delay","ms":1}"#,
    )
    .await
    .json()["id"]
        .as_u64()
        .unwrap();
    assert_eq!(
        admin(m.addr, "GET", "/_mock/faults", "")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        admin(m.addr, "DELETE", &format!("/_mock/faults/{id}"), "")
            .await
            .status,
        200
    );
    assert_eq!(
        admin(m.addr, "DELETE", "/_mock/faults/999", "")
            .await
            .status,
        404
    );
    let bad = admin(
        m.addr,
        "POST",
        "/_mock/faults",
        r#"{"kind":"status","status":42}"#,
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].as_str().unwrap().contains("42"));
    assert_eq!(
        admin(m.addr, "POST", "/_mock/faults", "not json")
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn clock_offset_is_set_at_run_time_and_reset() {
    let m = start_at(NOW).await;
    let r = admin(m.addr, "POST", "/_mock/clock", r#"{"offset":"31m"}"#).await;
    assert_eq!(r.json()["offset_seconds"], 1860);
    let r = signed_get(m.addr, "/status", NOW).await;
    assert_eq!(r.text(), "{\n  \"status\": \"API DATE ERROR\"\n}");
    admin(m.addr, "POST", "/_mock/reset", "").await;
    assert_eq!(signed_get(m.addr, "/status", NOW).await.status, 200);
    assert_eq!(
        admin(m.addr, "POST", "/_mock/clock", r#"{"offset":"soon"}"#)
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn an_absurd_clock_offset_is_refused() {
    let m = start_at(NOW).await;
    let r = admin(
        m.addr,
        "POST",
        "/_mock/clock",
        r#"{"offset":"9223372036854775807ms"}"#,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(signed_get(m.addr, "/status", NOW).await.status, 200);
}

#[tokio::test]
async fn the_fault_list_is_capped_with_a_conflict() {
    let m = start_at(NOW).await;
    let max = dt_mock::faults::MAX_FAULTS;
    let add = || {
        admin(
            m.addr,
            "POST",
            "/_mock/faults",
            r#"{"route":"/status","kind":"delay","ms":1}"#,
        )
    };
    let mut first = None;
    for _ in 0..max {
        let r = add().await;
        assert_eq!(r.status, 201, "{}", r.text());
        first.get_or_insert(r.json()["id"].as_u64().unwrap());
    }
    let full = add().await;
    assert_eq!(full.status, 409, "{}", full.text());
    let error = full.json()["error"].as_str().unwrap().to_string();
    assert!(
        error.contains(&max.to_string()) && error.contains("DELETE /_mock/faults"),
        "{error}"
    );
    assert_eq!(
        admin(m.addr, "GET", "/_mock/faults", "")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        max
    );
    // The appliance routes still answer, and removing one fault makes room for one.
    assert_eq!(signed_get(m.addr, "/status", NOW).await.status, 200);
    let id = first.unwrap();
    assert_eq!(
        admin(m.addr, "DELETE", &format!("/_mock/faults/{id}"), "")
            .await
            .status,
        200
    );
    assert_eq!(add().await.status, 201);
    assert_eq!(add().await.status, 409);
    assert_eq!(
        admin(m.addr, "DELETE", "/_mock/faults", "").await.status,
        200
    );
    assert_eq!(add().await.status, 201);
}
