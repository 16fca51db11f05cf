//! The mock's own routes under `/_mock/` (DECISIONS D4): never appliance routes, and
//! switched off with `--no-admin`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::json;

use crate::json::json_response;
use crate::state::AppState;

/// The admin router, mounted at `/_mock`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/journal", get(journal).delete(clear_journal))
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
