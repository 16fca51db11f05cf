//! One pinned response per endpoint shape, from a small seeded world with a fixed anchor.
//! Review changes with `INSTA_UPDATE=always cargo test -p dt-world --test snapshots`
//! and read the `.snap` files.

use std::sync::OnceLock;

use base64::Engine;
use dt_world::api::{
    self, advanced_search_get, advanced_search_post, details, devices, modelbreach, modelbreaches,
};
use dt_world::{generate, GenParams, World};
use insta::assert_json_snapshot;
use serde_json::json;

/// 2024-03-10 18:00:00 UTC.
const NOW: i64 = 1_710_093_600_000;

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        generate(&GenParams {
            devices: 12,
            records: 300,
            seed: 7,
            anchor_ms: NOW,
        })
    })
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The laptop with the most connections: a device with both internal and external peers.
fn laptop() -> &'static dt_world::model::Device {
    let w = world();
    w.devices()
        .iter()
        .filter(|d| d.typename == "laptop" && d.hostname.is_some())
        .max_by_key(|d| {
            w.connections()
                .iter()
                .filter(|c| c.src.did == Some(d.did))
                .count()
        })
        .unwrap()
}

#[test]
fn devices_list() {
    assert_json_snapshot!(devices(
        world(),
        &params(&[("count", "3"), ("includetags", "true")]),
        NOW
    )
    .unwrap());
}

#[test]
fn device_single() {
    let did = laptop().did.to_string();
    assert_json_snapshot!(devices(world(), &params(&[("did", &did)]), NOW).unwrap());
}

#[test]
fn details_connections() {
    let did = laptop().did.to_string();
    assert_json_snapshot!(
        details(world(), &params(&[("did", &did), ("count", "3")]), NOW).unwrap()
    );
}

#[test]
fn details_pbid() {
    let b = world()
        .breaches()
        .iter()
        .min_by_key(|b| (b.uids.len(), b.pbid))
        .unwrap();
    assert_json_snapshot!(
        details(world(), &params(&[("pbid", &b.pbid.to_string())]), NOW).unwrap()
    );
}

#[test]
fn modelbreaches_default() {
    assert_json_snapshot!(modelbreaches(world(), &params(&[("count", "1")]), NOW).unwrap());
}

#[test]
fn modelbreaches_historic_expanded() {
    let p = params(&[
        ("expandenums", "true"),
        ("historicmodelonly", "true"),
        ("includeacknowledged", "true"),
        ("includebreachurl", "true"),
        ("count", "1"),
    ]);
    assert_json_snapshot!(modelbreaches(world(), &p, NOW).unwrap());
}

#[test]
fn modelbreaches_minimal() {
    assert_json_snapshot!(modelbreaches(
        world(),
        &params(&[("minimal", "true"), ("count", "2")]),
        NOW
    )
    .unwrap());
}

#[test]
fn modelbreach_single_device_in_components() {
    let pbid = world().breaches()[0].pbid.to_string();
    let p = params(&[("deviceattop", "false"), ("historicmodelonly", "true")]);
    assert_json_snapshot!(modelbreach(world(), &pbid, &p, NOW).unwrap());
}

#[test]
fn advanced_search_ip_query() {
    let ip = laptop().ip().to_string();
    let q = json!({
        "search": format!("@fields.src_ip:(\"{ip}\") OR @fields.dest_ip:(\"{ip}\") OR @fields.source_ip:\"{ip}\""),
        "fields": [],
        "offset": 0,
        "timeframe": "custom",
        "time": {"from": "2024-03-09T18:00:00.000Z", "to": "2024-03-10T18:00:00.000Z"},
        "size": 3
    });
    let b64 = base64::engine::general_purpose::STANDARD.encode(q.to_string());
    let got = advanced_search_get(world(), &b64, NOW).unwrap();
    let body = json!({"hash": b64}).to_string();
    assert_eq!(
        advanced_search_post(world(), body.as_bytes(), NOW).unwrap(),
        got
    );
    assert_json_snapshot!(got);
}

#[test]
fn advanced_search_bad_custom_range() {
    let q = json!({"search": "", "timeframe": "custom", "time": {"from": "2024-03-10T18:00:00Z", "to": "2024-03-09T18:00:00Z"}});
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(q.to_string());
    assert_json_snapshot!(advanced_search_get(world(), &b64, NOW).unwrap());
}

#[test]
fn advanced_search_responsedata() {
    let q = json!({"search": "@type:dns", "timeframe": "3600", "size": 1});
    let b64 = base64::engine::general_purpose::STANDARD.encode(q.to_string());
    let mut got = advanced_search_get(world(), &b64, NOW).unwrap();
    api::apply_responsedata(&mut got, &params(&[("responsedata", "hits")]));
    assert_json_snapshot!(got);
}
