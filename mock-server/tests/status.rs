//! `GET /status`: the 6.1 shape, with times from the mock's clock.

use time::macros::datetime;

use crate::support::{signed_get, start_at};

const NOW: time::OffsetDateTime = datetime!(2024-05-01 12:00:00 UTC);

#[tokio::test]
async fn status_shape_matches_the_6_1_example() {
    let m = start_at(NOW).await;
    let r = signed_get(m.addr, "/status", NOW).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let body = r.text();
    assert!(body.starts_with("{\n  \""), "2-space indented");
    let v = r.json();
    assert!(v["version"].as_str().unwrap().starts_with("6.1."));
    assert_eq!(v["time"], "2024-05-01 12:00:00");
    assert_eq!(v["type"], "master");
    insta::assert_json_snapshot!("status", v);
}

#[tokio::test]
async fn status_honours_includechildren_and_responsedata() {
    let m = start_at(NOW).await;
    let v = signed_get(m.addr, "/status?includechildren=false&fast=true", NOW)
        .await
        .json();
    assert!(v.get("probes").is_none());
    let v = signed_get(m.addr, "/status?responsedata=version,time", NOW)
        .await
        .json();
    assert_eq!(v.as_object().unwrap().len(), 2);
    let r = signed_get(m.addr, "/status?includechildren=maybe", NOW).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["response"], "INPUT ERROR");
}

#[tokio::test]
async fn status_time_follows_the_clock_offset() {
    let m = start_at(NOW).await;
    m.state.clock.set_offset(time::Duration::minutes(31));
    let later = NOW + time::Duration::minutes(31);
    let v = signed_get(m.addr, "/status", later).await.json();
    assert_eq!(v["time"], "2024-05-01 12:31:00");
}
