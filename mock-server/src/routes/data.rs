//! The data endpoints, served from the world: `/devices`, `/details`,
//! `/modelbreaches`, advanced search. Each handler decodes the query, reads the world
//! under a shared lock, and renders the world's answer or its error.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use dt_protocol::target::decode_query;
use dt_world::{api, ApiError as WorldError, World};
use serde_json::Value;

use crate::error::ApiError;
use crate::json::{json_response, JSON_CONTENT_TYPE};
use crate::routes::query_pairs;
use crate::state::AppState;

impl From<WorldError> for ApiError {
    fn from(e: WorldError) -> Self {
        match e {
            WorldError::Input(m) => ApiError::Input(m),
            WorldError::NotFound(m) => ApiError::NotFound(m),
            WorldError::BadSearch(_) => ApiError::BadSearch,
        }
    }
}

fn answer(
    state: &AppState,
    f: impl FnOnce(&World, i64) -> Result<Value, WorldError>,
) -> Result<Response, ApiError> {
    let now = state.clock.now_ms();
    let world = state.world.read().unwrap_or_else(|p| p.into_inner());
    let v = f(&world, now)?;
    Ok(json_response(StatusCode::OK, &v))
}

/// `GET /devices`.
pub async fn devices(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let q = query_pairs(&req);
    answer(&state, |w, now| api::devices(w, &q, now))
}

/// `GET /details`.
pub async fn details(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let q = query_pairs(&req);
    answer(&state, |w, now| api::details(w, &q, now))
}

/// `GET /modelbreaches`.
pub async fn modelbreaches(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let q = query_pairs(&req);
    answer(&state, |w, now| api::modelbreaches(w, &q, now))
}

/// `GET /modelbreaches/{pbid}`.
///
/// An id that does not decode to UTF-8 (`/modelbreaches/%FF`) is one more unknown
/// breach, a 404 like any other, not the router's plain-text 400 (`Invalid URL`).
pub async fn modelbreach(
    State(state): State<AppState>,
    pbid: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, ApiError> {
    let pbid = match pbid {
        Ok(Path(pbid)) => pbid,
        Err(_) => {
            let raw = req.uri().path().rsplit('/').next().unwrap_or("");
            // The path's `+` is a plus, not a form-encoded space.
            String::from_utf8_lossy(&decode_query(&raw.replace('+', "%2B"))).into_owned()
        }
    };
    let q = query_pairs(&req);
    answer(&state, |w, now| api::modelbreach(w, &pbid, &q, now))
}

/// The search route's prefix; what follows it is the base64 query, taken raw from
/// the request line (it may hold `/`, `+`, `=` or percent escapes).
const SEARCH_PREFIX: &str = "/advancedsearch/api/search/";

/// Like [`answer`], for a body the world already wrote as the appliance prints it.
fn answer_pretty(
    state: &AppState,
    f: impl FnOnce(&World, i64) -> Result<Vec<u8>, WorldError>,
) -> Result<Response, ApiError> {
    let now = state.clock.now_ms();
    let body = {
        let world = state.world.read().unwrap_or_else(|p| p.into_inner());
        f(&world, now)?
    };
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    Ok(resp)
}

/// `GET /advancedsearch/api/search/<base64>`.
pub async fn search_get(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let path = req.uri().path();
    let segment = path.strip_prefix(SEARCH_PREFIX).unwrap_or("").to_string();
    let q = query_pairs(&req);
    if q.iter().any(|(k, _)| k == "responsedata") {
        return answer(&state, |w, now| {
            let mut v = api::advanced_search_get(w, &segment, now)?;
            api::apply_responsedata(&mut v, &q);
            Ok(v)
        });
    }
    // The common case: hits written straight from their stored text (the same bytes).
    answer_pretty(&state, |w, now| {
        api::search::advanced_search_get_pretty(w, &segment, now)
    })
}

/// `POST /advancedsearch/api/search` with `{"hash": "<base64>"}` (6.1).
pub async fn search_post(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    answer_pretty(&state, |w, now| {
        api::search::advanced_search_post_pretty(w, &body, now)
    })
}
