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

/// The busiest window of `WINDOW_MS` over sorted times (ms): its start (floored to the
/// second, as a client's windows are) and how many times it holds.
fn busiest_window(times: &mut [i64]) -> (i64, usize) {
    times.sort_unstable();
    let mut best = (0i64, 0usize);
    let mut j = 0;
    for i in 0..times.len() {
        let from = times[i] / 1000 * 1000;
        while j < times.len() && times[j] <= from + WINDOW_MS {
            j += 1;
        }
        let n = j - times[..j].partition_point(|&t| t < from);
        if n > best.1 {
            best = (from, n);
        }
    }
    best
}

/// `/details?did=&starttime=&endtime=`: the device and five-minute window with the most
/// connection events in the world's day; with the event count.
pub fn details_target(world: &World, anchor_ms: i64) -> (String, usize) {
    let day = 24 * 3600 * 1000;
    let mut best: Option<(u32, i64, usize)> = None;
    for d in world.devices() {
        let q = params(&[
            ("did", d.did.to_string()),
            ("starttime", (anchor_ms - day).to_string()),
            ("endtime", anchor_ms.to_string()),
        ]);
        let mut times: Vec<i64> = dt_world::api::details(world, &q, anchor_ms)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e["timems"].as_i64())
            .collect();
        let (from, n) = busiest_window(&mut times);
        if best.is_none_or(|b| n > b.2) {
            best = Some((d.did, from, n));
        }
    }
    let (did, from, _) = best.unwrap_or((1, anchor_ms - WINDOW_MS, 0));
    let target = format!(
        "/details?did={did}&starttime={from}&endtime={}",
        from + WINDOW_MS
    );
    // The count as the endpoint gives it for exactly that window.
    let n = dt_world::api::details(
        world,
        &params(&[
            ("did", did.to_string()),
            ("starttime", from.to_string()),
            ("endtime", (from + WINDOW_MS).to_string()),
        ]),
        anchor_ms,
    )
    .ok()
    .and_then(|v| v.as_array().map(Vec::len))
    .unwrap_or(0);
    (target, n)
}

/// The search a client sends for one IP: the default IP query over
/// `[from_ms, from_ms + 5 min]`, `size` 10000 (the client's page for the default limit).
/// Returns the GET target and the query JSON.
pub fn search_target_for(ip: &str, from_ms: i64) -> (String, Vec<u8>) {
    let search = match expand_lists(DEFAULT_IP_QUERY, &[ip], &[] as &[&str]) {
        Expansion::Query(q) => q,
        Expansion::Skipped { .. } => unreachable!("one IP is given"),
    };
    let wire = WireWindow {
        from: ms_to_time(from_ms),
        to: ms_to_time(from_ms + WINDOW_MS),
    };
    let json = dt_client::flows::advanced_search_json(&search, &wire, 0, 10_000).to_string();
    (
        advanced_search_target(&search, &wire, 0, 10_000),
        json.into_bytes(),
    )
}

/// The chosen search: a device's current IP and the five-minute window of the world's
/// day where the default IP query finds the most hits for it.
#[derive(Debug, Clone, Default)]
pub struct SearchChoice {
    /// The IP.
    pub ip: String,
    /// The GET target.
    pub target: String,
    /// The query JSON.
    pub json: Vec<u8>,
    /// Hits (`hits.total`).
    pub hits: u64,
    /// The window's start, epoch ms.
    pub from_ms: i64,
    /// The same IP over the last five minutes before the anchor (a live client's
    /// window): its target and hits.
    pub latest_target: String,
    /// Hits of that window.
    pub latest_hits: u64,
}

/// Picks the busiest (IP, window) for the default IP query.
pub fn search_target(world: &World, anchor_ms: i64) -> SearchChoice {
    let day = 24 * 3600 * 1000;
    let mut best: Option<(String, i64, usize)> = None;
    for d in world.devices() {
        let Some(ip) = d.ips.last().map(|u| u.ip.to_string()) else {
            continue;
        };
        // Every hit of the day, by the index (no JSON rendering).
        let search = match expand_lists(DEFAULT_IP_QUERY, &[ip.as_str()], &[] as &[&str]) {
            Expansion::Query(q) => q,
            Expansion::Skipped { .. } => continue,
        };
        let Ok(query) = dt_search::parse(&search) else {
            continue;
        };
        let found = dt_world::api::search::search_records(
            world,
            &query,
            dt_world::Window::from_ms(anchor_ms - day, anchor_ms),
        );
        let store = world.search();
        let mut times: Vec<i64> = found
            .ids
            .iter()
            .map(|&id| store.record(id).time_ms())
            .collect();
        let (from, n) = busiest_window(&mut times);
        if best.as_ref().is_none_or(|b| n > b.2) {
            best = Some((ip, from, n));
        }
    }
    let (ip, from_ms, _) = best.unwrap_or_default();
    let (target, json) = search_target_for(&ip, from_ms);
    let hits_of = |json: &[u8]| {
        dt_world::api::search::advanced_search_json(world, json, anchor_ms)
            .ok()
            .and_then(|v| total(&v))
            .unwrap_or(0)
    };
    let hits = hits_of(&json);
    let (latest_target, latest_json) = search_target_for(&ip, anchor_ms - WINDOW_MS);
    let latest_hits = hits_of(&latest_json);
    SearchChoice {
        ip,
        target,
        json,
        hits,
        from_ms,
        latest_target,
        latest_hits,
    }
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
