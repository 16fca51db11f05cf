//! The client's response handling on arbitrary answers: `interpret` with any
//! status, location and body, then `.json()`, then the reading each endpoint does
//! (the health check's shape test, advanced-search pages, arrays of breaches or
//! events, `/devices` lookups) and normalization of every record.
#![no_main]

use dt_client::fieldmap::FieldMap;
use dt_client::normalize::{tuple_hash, Kind, Normalizer, Source};
use dt_client::transport::interpret;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[derive(Debug, Clone, Copy)]
enum Endpoint {
    StatusHealth,
    DevicesHealth,
    Search,
    ModelBreaches,
    Details,
    DevicesIp,
}

/// The input: a first line `STATUS ENDPOINT [LOCATION [ADJUST_SECONDS]]` (e.g.
/// `200 search`), then the body. Endpoints: status, devices (the two health
/// checks), search, modelbreaches, details, devices-ip.
struct Input<'a> {
    status: u16,
    endpoint: Endpoint,
    location: Option<String>,
    adjust_s: i64,
    body: &'a [u8],
}

fn read(data: &[u8]) -> Input<'_> {
    let (line, body) = match data.iter().position(|&c| c == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let status = words.next().and_then(|w| w.parse().ok()).unwrap_or(200);
    let endpoint = match words.next().unwrap_or("") {
        "status" => Endpoint::StatusHealth,
        "devices" => Endpoint::DevicesHealth,
        "modelbreaches" => Endpoint::ModelBreaches,
        "details" => Endpoint::Details,
        "devices-ip" => Endpoint::DevicesIp,
        _ => Endpoint::Search,
    };
    let location = words.next().map(str::to_string);
    let adjust_s = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
    Input {
        status,
        endpoint,
        location,
        adjust_s,
        body,
    }
}

fn normalize_all(n: &Normalizer, list: Vec<Value>, source: Source, kind: Kind) {
    for record in list {
        let e = n.normalize(record, source, kind, Some("q"));
        let _ = tuple_hash(&e);
        let _ = serde_json::to_string(&e).unwrap();
    }
}

fuzz_target!(|data: &[u8]| {
    let input = read(data);
    let target = match input.endpoint {
        Endpoint::StatusHealth => "/status",
        Endpoint::DevicesHealth => "/devices?seensince=7days",
        Endpoint::Search => "/advancedsearch/api/search/e30",
        Endpoint::ModelBreaches => "/modelbreaches?starttime=1&endtime=2",
        Endpoint::Details => "/details?pbid=1",
        Endpoint::DevicesIp => "/devices?ip=10.0.0.1",
    };
    let _ = dt_client::flows::decode_advanced_search_target(&String::from_utf8_lossy(input.body));
    let resp = match interpret(
        input.status,
        input.location.as_deref(),
        target,
        input.body.to_vec().into(),
    ) {
        Ok(r) => r,
        Err(e) => {
            let _ = (e.to_string(), e.kind());
            return;
        }
    };
    assert!((200..=299).contains(&resp.status));
    let v = match resp.json() {
        Ok(v) => v,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let n = Normalizer::new(
        FieldMap::darktrace_default(),
        time::Duration::seconds(input.adjust_s),
        true,
    );
    match input.endpoint {
        // The health check's shape test (health.rs `probe`).
        Endpoint::StatusHealth | Endpoint::DevicesHealth => {
            let shape_ok = match input.endpoint {
                Endpoint::StatusHealth => v.is_object(),
                _ => v.is_array(),
            };
            if shape_ok {
                let _ = v.get("version").and_then(|x| x.as_str()).map(str::to_owned);
            }
        }
        Endpoint::Search => {
            if let Ok((total, hits)) = dt_client::flows::search_page(v, &resp) {
                let _ = total;
                normalize_all(&n, hits, Source::AdvancedSearch, Kind::Event);
            }
        }
        Endpoint::ModelBreaches => {
            if let Value::Array(list) = v {
                normalize_all(&n, list, Source::ModelBreaches, Kind::Alert);
            }
        }
        Endpoint::Details => {
            if let Value::Array(list) = v {
                normalize_all(&n, list, Source::Details, Kind::Event);
            }
        }
        Endpoint::DevicesIp => {
            let did = |d: &Value| d.get("did").and_then(Value::as_u64);
            let _ = match &v {
                Value::Array(list) => list.iter().filter_map(did).min(),
                _ => did(&v),
            };
        }
    }
});
