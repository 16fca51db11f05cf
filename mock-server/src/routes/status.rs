//! `GET /status`: the appliance's health object (reference §3.1, §6.1).
//!
//! The body is the 6.1 guide's example with placeholders filled in to agree with
//! the default world; every time in it is taken from the mock's clock.

use std::sync::{Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use dt_protocol::DateFormat;
use serde_json::Value;
use time::Duration;

use crate::error::ApiError;
use crate::json::{json_response, pretty, JSON_CONTENT_TYPE};
use crate::routes::{param, query_pairs};
use crate::state::AppState;

const TEMPLATE: &str = include_str!("../../../fixtures/appliance/status.json");

fn template() -> &'static Value {
    static T: OnceLock<Value> = OnceLock::new();
    T.get_or_init(|| {
        serde_json::from_str(TEMPLATE).expect("fixtures/appliance/status.json is valid JSON")
    })
}

/// The appliance's version string.
pub fn version() -> &'static str {
    template()["version"]
        .as_str()
        .unwrap_or("6.1.23 (f35936c6)")
}

/// A rendered body of the plain `/status` (no `responsedata`). Every time in it has a
/// resolution of one second, so the body is a pure function of the clock's second,
/// the appliance's hostname and `includechildren`: it is rendered once per second
/// instead of once per request (a clone of the 8 KB template, a dozen date
/// formattings and a pretty-print each time).
struct Rendered {
    second: i64,
    hostname: String,
    body: Bytes,
}

/// One slot per `includechildren` value.
static RENDERED: Mutex<[Option<Rendered>; 2]> = Mutex::new([None, None]);

/// The handler.
pub async fn status(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let q = query_pairs(&req);
    let include_children = parse_bool(&q, "includechildren")?.unwrap_or(true);
    let _fast = parse_bool(&q, "fast")?;
    let now = state.clock.now();
    let world = state.world.read().unwrap_or_else(|p| p.into_inner());
    if param(&q, "responsedata").is_some() {
        let mut v = render(now, world.hostname(), include_children);
        drop(world);
        dt_world::api::apply_responsedata(&mut v, &q);
        return Ok(json_response(StatusCode::OK, &v));
    }
    let second = now.unix_timestamp();
    let slot = usize::from(include_children);
    {
        let cache = RENDERED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = &cache[slot] {
            if r.second == second && r.hostname == world.hostname() {
                return Ok(body_response(r.body.clone()));
            }
        }
    }
    let hostname = world.hostname().to_string();
    drop(world);
    let body = Bytes::from(pretty(&render(now, &hostname, include_children)));
    RENDERED.lock().unwrap_or_else(|p| p.into_inner())[slot] = Some(Rendered {
        second,
        hostname,
        body: body.clone(),
    });
    Ok(body_response(body))
}

fn body_response(body: Bytes) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    resp
}

/// The health object at `now`.
fn render(now: time::OffsetDateTime, hostname: &str, include_children: bool) -> Value {
    let mut v = template().clone();
    let spaced = |d: Duration| DateFormat::Spaced.format(now - d);
    v["time"] = spaced(Duration::ZERO).into();
    // The appliance's name agrees with the breach URLs the world hands out.
    v["hostname"] = hostname.into();
    if let Some(o) = v.as_object_mut() {
        for (k, val) in o.iter_mut() {
            if k.starts_with("mostRecent") && k.ends_with("Traffic") {
                *val = spaced(Duration::minutes(2)).into();
            }
        }
    }
    if let Some(subnets) = v["subnetData"].as_array_mut() {
        for s in subnets {
            s["mostRecentTraffic"] = spaced(Duration::minutes(5)).into();
        }
    }
    if let Some(p) = v["probes"]["12"].as_object_mut() {
        let t = DateFormat::Spaced.format(now);
        p.insert("time".into(), t[..16].to_string().into());
    }
    if let Some(p) = v["probes"]["13"].as_object_mut() {
        p.insert("lastContact".into(), spaced(Duration::days(3)).into());
    }
    if !include_children {
        if let Some(o) = v.as_object_mut() {
            o.shift_remove("probes");
        }
    }
    v
}

/// Reads a boolean parameter: `true`/`false` (also `1`/`0`), else an input error.
pub fn parse_bool(q: &[(String, String)], name: &str) -> Result<Option<bool>, ApiError> {
    match param(q, name) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(other) => Err(ApiError::Input(format!(
            "{name} must be true or false, not {other:?}"
        ))),
    }
}
