//! `GET /status`: the appliance's health object (reference §3.1, §6.1).
//!
//! The body is the 6.1 guide's example with placeholders filled in to agree with
//! the default world; every time in it is taken from the mock's clock.

use std::sync::OnceLock;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use dt_protocol::DateFormat;
use serde_json::Value;
use time::Duration;

use crate::error::ApiError;
use crate::json::json_response;
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

/// The handler.
pub async fn status(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let q = query_pairs(&req);
    let include_children = parse_bool(&q, "includechildren")?.unwrap_or(true);
    let _fast = parse_bool(&q, "fast")?;
    let now = state.clock.now();
    let mut v = template().clone();
    let spaced = |d: Duration| DateFormat::Spaced.format(now - d);
    v["time"] = spaced(Duration::ZERO).into();
    // The appliance's name agrees with the breach URLs the world hands out.
    v["hostname"] = state
        .world
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .hostname()
        .into();
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
    dt_world::api::apply_responsedata(&mut v, &q);
    Ok(json_response(StatusCode::OK, &v))
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
