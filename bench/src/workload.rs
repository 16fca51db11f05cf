//! The measured requests: targets chosen from the world the mock serves, and their
//! DTAPI headers signed once (the mock accepts a date within ±30 min, so one
//! signature stays valid for the whole run while the mock still verifies every
//! request in full: HMAC, date parse and skew check).

use dt_client::config::DEFAULT_IP_QUERY;
use dt_client::flows::advanced_search_target;
use dt_client::macros::{expand_lists, Expansion};
use dt_client::window::WireWindow;
use dt_mock::{DEMO_PRIVATE, DEMO_PUBLIC};
use dt_protocol::{sign, DateFormat, Secret, HEADER_DATE, HEADER_SIGNATURE, HEADER_TOKEN};
use dt_world::World;
use serde_json::Value;
use time::OffsetDateTime;

/// Five minutes, the client's default query time (the window of every measured query).
pub const WINDOW_MS: i64 = 5 * 60 * 1000;

/// The DTAPI triplet for a GET of `target`, dated now (compact form).
pub fn signed_headers(target: &str) -> Vec<(String, String)> {
    let date = DateFormat::Compact.format(OffsetDateTime::now_utc());
    let sig = sign(&Secret::new(DEMO_PRIVATE), target, DEMO_PUBLIC, &date);
    vec![
        (HEADER_TOKEN.to_string(), DEMO_PUBLIC.to_string()),
        (HEADER_DATE.to_string(), date),
        (HEADER_SIGNATURE.to_string(), sig),
    ]
}

fn params(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// `/details?did=&starttime=&endtime=` over the last five minutes before `anchor_ms`,
/// for the device with the most events then; with the event count.
pub fn details_target(world: &World, anchor_ms: i64) -> (String, usize) {
    let (start, end) = (anchor_ms - WINDOW_MS, anchor_ms);
    let mut best: Option<(u32, usize)> = None;
    for d in world.devices() {
        let q = params(&[
            ("did", d.did.to_string()),
            ("starttime", start.to_string()),
            ("endtime", end.to_string()),
        ]);
        let n = dt_world::api::details(world, &q, anchor_ms)
            .ok()
            .and_then(|v| v.as_array().map(Vec::len))
            .unwrap_or(0);
        if best.is_none_or(|b| n > b.1) {
            best = Some((d.did, n));
        }
    }
    let (did, n) = best.unwrap_or((1, 0));
    (
        format!("/details?did={did}&starttime={start}&endtime={end}"),
        n,
    )
}

/// The search a client sends for one IP: the default IP query over the last five
/// minutes before `anchor_ms`, `size` 10000 (the client's page for the default limit).
pub fn search_target_for(ip: &str, anchor_ms: i64) -> (String, Vec<u8>) {
    let search = match expand_lists(DEFAULT_IP_QUERY, &[ip], &[] as &[&str]) {
        Expansion::Query(q) => q,
        Expansion::Skipped { .. } => unreachable!("one IP is given"),
    };
    let wire = WireWindow {
        from: ms_to_time(anchor_ms - WINDOW_MS),
        to: ms_to_time(anchor_ms),
    };
    let json = dt_client::flows::advanced_search_json(&search, &wire, 0, 10_000).to_string();
    (advanced_search_target(&search, &wire, 0, 10_000), json.into_bytes())
}

/// The device IP (current address) with the most hits for the default IP query in the
/// last five minutes; with its hit count and target.
pub fn search_target(world: &World, anchor_ms: i64) -> (String, String, u64) {
    let mut best: Option<(String, String, u64)> = None;
    for d in world.devices() {
        let Some(ip) = d.ips.last().map(|u| u.ip.to_string()) else {
            continue;
        };
        let (target, json) = search_target_for(&ip, anchor_ms);
        let hits = dt_world::api::search::advanced_search_json(world, &json, anchor_ms)
            .ok()
            .and_then(|v| total(&v))
            .unwrap_or(0);
        if best.as_ref().is_none_or(|b| hits > b.2) {
            best = Some((ip, target, hits));
        }
    }
    best.unwrap_or_default()
}

/// `hits.total` of a search answer.
pub fn total(v: &Value) -> Option<u64> {
    v["hits"]["total"].as_u64()
}

/// Epoch ms → time.
pub fn ms_to_time(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The `--anchor` argument for an epoch-ms anchor.
pub fn anchor_arg(ms: i64) -> String {
    DateFormat::Spaced.format(ms_to_time(ms))
}
