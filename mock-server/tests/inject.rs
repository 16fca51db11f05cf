//! `POST /_mock/inject`: demo detections at the mock's now, visible through every
//! endpoint that would show them (advanced search, `/details`, `/modelbreaches`).

use base64::Engine;
use serde_json::{json, Value};
use time::macros::datetime;
use time::OffsetDateTime;

use crate::support::{raw, signed_get, start_at, RawResponse};

const NOW: OffsetDateTime = datetime!(2024-05-01 12:00:00 UTC);
const NOW_MS: i64 = 1_714_564_800_000;

async fn inject(addr: std::net::SocketAddr, body: Value) -> RawResponse {
    raw(
        addr,
        "POST",
        "/_mock/inject",
        &[],
        body.to_string().as_bytes(),
    )
    .await
}

async fn search(addr: std::net::SocketAddr, query: &str) -> Value {
    let q = json!({
        "search": query,
        "fields": [],
        "offset": 0,
        "timeframe": "custom",
        "time": {"from": "2024-05-01T11:59:00.000Z", "to": "2024-05-01T12:01:00.000Z"},
        "size": 100,
    });
    let seg = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(q.to_string());
    let r = signed_get(addr, &format!("/advancedsearch/api/search/{seg}"), NOW).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn hit_ids(v: &Value) -> Vec<String> {
    v["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn firewall_deny_shows_in_search_and_details() {
    let m = start_at(NOW).await;
    let ips = raw(m.addr, "GET", "/_mock/demo-ips", &[], b"").await.json();
    let (src, dest) = (
        ips["src"].as_str().unwrap().to_string(),
        ips["dest"].as_str().unwrap().to_string(),
    );
    let r = inject(m.addr, json!({"src": src, "dest": dest})).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let done = r.json();
    assert_eq!(done["kind"], "firewall-deny");
    assert_eq!(done["time_ms"], NOW_MS);
    assert_eq!(done["record_type"], "firewall");
    let id = done["_id"].as_str().unwrap().to_string();
    let uid = done["uid"].as_str().unwrap().to_string();
    assert!(done.get("pbid").is_none());

    // The third-party record, as the default IP query of a client finds it.
    let found = search(
        m.addr,
        &format!("@fields.src_ip:(\"{src}\") OR @fields.dest_ip:(\"{src}\")"),
    )
    .await;
    let hit = found["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["_id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not in {found}"))
        .clone();
    let f = &hit["_source"]["@fields"];
    assert_eq!(hit["_source"]["@type"], "firewall");
    assert_eq!(f["vendor"], "Palo Alto Networks");
    assert_eq!(f["product"], "PAN-OS");
    assert_eq!(f["action"], "deny");
    assert_eq!(f["src_ip"], src.as_str());
    assert_eq!(f["dest_ip"], dest.as_str());
    assert_eq!(f["dest_port"], 445);
    assert!(f["msg_s"].as_str().unwrap().contains("TRAFFIC deny"));
    assert_eq!(f["host"], ips["src_device"]["hostname"]);
    assert_eq!(
        f["epochdate"].as_f64().unwrap().round() as i64,
        NOW_MS / 1000
    );

    // The connection, in /details of both devices and as its conn record.
    for did in [&ips["src_device"]["did"], &ips["dest_device"]["did"]] {
        let r = signed_get(
            m.addr,
            &format!(
                "/details?did={did}&starttime={}&endtime={}",
                NOW_MS - 60_000,
                NOW_MS + 60_000
            ),
            NOW,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(
            r.json()
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["uid"] == uid.as_str()),
            "{uid} not in /details?did={did}"
        );
    }
    let conn = search(m.addr, &format!("@fields.uid:\"{uid}\"")).await;
    assert_eq!(conn["hits"]["hits"][0]["_source"]["@type"], "conn");
}

#[tokio::test]
async fn model_breach_shows_in_modelbreaches_and_details_pbid() {
    let m = start_at(NOW).await;
    let r = inject(
        m.addr,
        json!({"src": "10.10.2.23", "dest": "10.10.1.11", "kind": "model-breach"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let done = r.json();
    let pbid = done["pbid"].as_u64().unwrap();
    assert!(done["model"].as_str().unwrap().contains("SMB"), "{done}");
    assert_eq!(done["record_type"], "notice");
    let r = signed_get(
        m.addr,
        &format!(
            "/modelbreaches?starttime={}&endtime={}",
            NOW_MS - 60_000,
            NOW_MS + 60_000
        ),
        NOW,
    )
    .await;
    let breaches = r.json();
    let b = breaches
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["pbid"] == pbid)
        .unwrap_or_else(|| panic!("pbid {pbid} not in {breaches}"));
    assert_eq!(b["device"]["ip"], "10.10.2.23");
    let details = signed_get(m.addr, &format!("/details?pbid={pbid}"), NOW).await;
    assert_eq!(details.status, 200, "{}", details.text());
    assert!(details.text().contains(done["uid"].as_str().unwrap()));
    let notice = search(m.addr, "@type:notice AND @fields.src_ip:\"10.10.2.23\"").await;
    assert!(hit_ids(&notice).contains(&done["_id"].as_str().unwrap().to_string()));
}

#[tokio::test]
async fn ids_and_edr_records_have_their_tools_shape() {
    let m = start_at(NOW).await;
    let ids = inject(
        m.addr,
        json!({"src": "10.10.2.23", "dest": "203.0.113.9", "kind": "ids-alert"}),
    )
    .await
    .json();
    let edr = inject(
        m.addr,
        json!({"src": "10.10.2.23", "dest": "203.0.113.9", "kind": "edr-detection", "host": "cfo-laptop"}),
    )
    .await
    .json();
    let found = search(m.addr, "@fields.dest_ip:\"203.0.113.9\"").await;
    let by_id = |id: &Value| {
        found["hits"]["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| &h["_id"] == id)
            .unwrap()["_source"]
            .clone()
    };
    let i = by_id(&ids["_id"]);
    assert_eq!(i["@type"], "ids");
    assert_eq!(i["@fields"]["vendor"], "Suricata");
    assert!(i["@fields"]["signature"]
        .as_str()
        .unwrap()
        .starts_with("ET "));
    assert_eq!(i["@fields"]["severity"], 1);
    assert!(i["@fields"]["SyslogMessage"]
        .as_str()
        .unwrap()
        .contains("203.0.113.9:4444"));
    let e = by_id(&edr["_id"]);
    assert_eq!(e["@type"], "edr");
    assert_eq!(e["@fields"]["vendor"], "CrowdStrike");
    assert_eq!(e["@fields"]["product"], "Falcon");
    assert_eq!(e["@fields"]["host"], "cfo-laptop");
    // An external destination is an external peer of the connection.
    assert!(ids.get("dest_did").is_none());
    assert_eq!(ids["src_did"], 135);
}

#[tokio::test]
async fn nonsense_is_refused_with_400() {
    let m = start_at(NOW).await;
    for (body, needle) in [
        (json!({"src": "10.0.0.256", "dest": "10.10.1.10"}), "src"),
        (json!({"src": "10.10.2.23", "dest": "evil.example"}), "dest"),
        (
            json!({"src": "10.10.2.23", "dest": "10.10.1.10", "kind": "meteor"}),
            "unknown variant",
        ),
        (
            json!({"src": "10.10.2.23", "dest": "10.10.1.10", "host": "<b>x</b>"}),
            "host",
        ),
        (
            json!({"src": "198.51.100.1", "dest": "10.10.1.10", "kind": "model-breach"}),
            "not a device",
        ),
        (
            json!({"src": "10.10.2.23", "dest": "10.10.1.10", "kind": "model-breach", "pid": 999}),
            "no model 999",
        ),
        (json!({"dest": "10.10.1.10"}), "src"),
    ] {
        let r = inject(m.addr, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        let err = r.json()["error"].as_str().unwrap().to_string();
        assert!(err.contains(needle), "{body}: {err}");
    }
    let r = raw(m.addr, "POST", "/_mock/inject", &[], b"not json").await;
    assert_eq!(r.status, 400);
    // Nothing was added by the refusals.
    assert_eq!(
        search(m.addr, "@fields.src_ip:\"198.51.100.1\"").await["hits"]["total"],
        json!(0)
    );
}

#[tokio::test]
async fn demo_ips_are_two_devices_of_the_world() {
    let m = start_at(NOW).await;
    let v = raw(m.addr, "GET", "/_mock/demo-ips", &[], b"").await.json();
    assert_eq!(v["src"], "10.10.2.22");
    assert_eq!(v["dest"], "10.10.4.10");
    assert_eq!(v["src_device"]["hostname"], "ws-1014");
}
