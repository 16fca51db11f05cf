//! The mock's own routes under `/_mock/` (DECISIONS D4): never appliance routes, and
//! switched off with `--no-admin`.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::faults::{FaultError, FaultSpec};
use crate::json::json_response;
use crate::state::AppState;

/// The admin router, mounted at `/_mock`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/journal", get(journal).delete(clear_journal))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/faults/{id}", delete(remove_fault))
        .route("/clock", get(get_clock).post(set_clock))
        .route("/reset", post(reset))
        .route("/inject", post(inject))
        .route("/demo-ips", get(demo_ips))
        .route("/openapi.json", get(openapi))
        .route("/", get(crate::ui::page))
        .route("/ui", get(crate::ui::page))
}

fn bad_request(message: impl Into<String>) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({"error": message.into()}))
}

async fn list_faults(State(state): State<AppState>) -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::to_value(state.faults.list()).unwrap_or_default(),
    )
}

/// `POST /_mock/faults` with a [`FaultSpec`], e.g. `{"route": "/status", "kind":
/// "status", "status": 503, "times": 2}`.
async fn add_fault(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let spec: FaultSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return bad_request(format!("not a fault: {e}")),
    };
    match state.faults.add(spec) {
        Ok(id) => json_response(StatusCode::CREATED, &json!({"id": id})),
        // A valid fault, but the list is full: 409, so a harness can tell it from its
        // own mistake.
        Err(e @ FaultError::Full) => {
            json_response(StatusCode::CONFLICT, &json!({"error": e.to_string()}))
        }
        Err(e) => bad_request(e.to_string()),
    }
}

async fn clear_faults(State(state): State<AppState>) -> Response {
    state.faults.clear();
    json_response(StatusCode::OK, &json!({"response": "SUCCESS"}))
}

async fn remove_fault(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match id.parse::<u64>().ok().filter(|id| state.faults.remove(*id)) {
        Some(_) => json_response(StatusCode::OK, &json!({"response": "SUCCESS"})),
        None => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no fault {id}")}),
        ),
    }
}

fn clock_view(state: &AppState) -> serde_json::Value {
    json!({
        "time": state.clock.now().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "offset_seconds": state.clock.offset().whole_seconds(),
        "max_skew_seconds": state.settings.max_skew.whole_seconds(),
    })
}

async fn get_clock(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, &clock_view(&state))
}

#[derive(Debug, Deserialize)]
struct ClockBody {
    /// A signed duration such as `31m` or `-45m`.
    offset: String,
}

/// `POST /_mock/clock` with `{"offset": "31m"}`.
async fn set_clock(
    State(state): State<AppState>,
    body: Result<Json<ClockBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return bad_request("expected {\"offset\": \"31m\"}");
    };
    match dt_protocol::parse_signed_duration(&body.offset) {
        // An appliance's clock is off by minutes or hours, never by centuries.
        Ok(d) if d.abs() > time::Duration::days(36_500) => {
            bad_request("offset must be within 100 years")
        }
        Ok(d) => {
            state.clock.set_offset(d);
            json_response(StatusCode::OK, &clock_view(&state))
        }
        Err(e) => bad_request(e.to_string()),
    }
}

/// `POST /_mock/reset`: the faults and clock offset the mock started with (none, or
/// its scenario's), an empty journal.
async fn reset(State(state): State<AppState>) -> Response {
    state.faults.clear();
    state.clock.reset_offset();
    if let Some(s) = &state.scenario {
        state
            .clock
            .set_offset(state.clock.offset() + s.clock_offset);
        for f in &s.faults {
            let _ = state.faults.add(f.clone());
        }
    }
    state.journal.clear();
    json_response(StatusCode::OK, &json!({"response": "SUCCESS"}))
}

/// `POST /_mock/inject` with `{"src": IP, "dest": IP, "host"?: NAME, "kind"?:
/// "firewall-deny" | "ids-alert" | "edr-detection" | "model-breach"}`: coherent records
/// at the mock's now (see [`crate::inject`]). 201 with the created ids.
async fn inject(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let req: crate::inject::InjectRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(format!("not an injection: {e}")),
    };
    let now = state.clock.now_ms();
    let result = {
        let mut world = state.world.write().unwrap_or_else(|p| p.into_inner());
        crate::inject::inject(&mut world, &req, now)
    };
    match result {
        Ok(done) => {
            tracing::info!(kind = done.kind.as_str(), src = %done.src, dest = %done.dest, id = %done.id, "injected");
            json_response(
                StatusCode::CREATED,
                &serde_json::to_value(done).unwrap_or_default(),
            )
        }
        Err(e) => bad_request(e.to_string()),
    }
}

/// `GET /_mock/demo-ips`: a client device and a server of the world, for demos.
async fn demo_ips(State(state): State<AppState>) -> Response {
    let v = {
        let world = state.world.read().unwrap_or_else(|p| p.into_inner());
        crate::inject::demo_ips(&world)
    };
    json_response(StatusCode::OK, &v)
}

async fn health(State(state): State<AppState>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "status": "ok",
            "time": state.clock.now().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "clock_offset_seconds": state.clock.offset().whole_seconds(),
            "max_skew_seconds": state.settings.max_skew.whole_seconds(),
            "journal_entries": state.journal.len(),
            "scenario": state.scenario.as_deref(),
            "faults": state.faults.list().len(),
        }),
    )
}

#[derive(Debug, Deserialize)]
struct JournalQuery {
    /// Only entries with a larger id.
    #[serde(default)]
    since: u64,
    /// At most this many entries.
    limit: Option<usize>,
}

async fn journal(State(state): State<AppState>, Query(q): Query<JournalQuery>) -> Response {
    let entries = state.journal.since(q.since, q.limit.unwrap_or(usize::MAX));
    json_response(
        StatusCode::OK,
        &serde_json::to_value(entries).unwrap_or_default(),
    )
}

async fn clear_journal(State(state): State<AppState>) -> Response {
    state.journal.clear();
    json_response(StatusCode::OK, &json!({"response": "SUCCESS"}))
}

/// The OpenAPI 3.0 description of the appliance routes, checked in beside the crate.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// `GET /_mock/openapi.json`: [`OPENAPI_JSON`], byte for byte.
async fn openapi() -> Response {
    let mut r = (StatusCode::OK, OPENAPI_JSON).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
