//! The one error type the mock answers with. Every appliance failure is rendered
//! here, so status codes and bodies live in one place (DECISIONS D3).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::json::json_response;

/// How auth failures are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorStyle {
    /// As the live appliance answers: 400 for signature and date errors, 302 otherwise.
    #[default]
    Live,
    /// As the API guide describes: 401 for signature and date errors, 403 for permission.
    Documented,
}

/// An appliance answer other than success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Bad signature or unknown token: `{"<segment>": "API SIGNATURE ERROR"}`.
    Signature { segment: String, style: ErrorStyle },
    /// Date unparseable or outside the window: `{"<segment>": "API DATE ERROR"}`.
    Date { segment: String, style: ErrorStyle },
    /// No credentials, or an unknown route: 302 to `/login`.
    Login,
    /// Missing permission: 302 to `/403` (403 in the documented style).
    Forbidden { style: ErrorStyle },
    /// A missing object: 404 `{"error": ...}`.
    NotFound(String),
    /// An invalid parameter value: 400 `{"error": ..., "response": "INPUT ERROR"}`.
    Input(String),
    /// An advanced-search request the appliance's front end refuses (bad base64,
    /// JSON or query): its plain HTML 400 page.
    BadSearch,
    /// A body larger than the mock accepts.
    PayloadTooLarge,
}

/// The HTML 400 page that the appliance's front end serves for a bad request.
pub const BAD_REQUEST_HTML: &str =
    "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Signature { segment, style } => json_response(
                auth_status(style),
                &json!({ segment: "API SIGNATURE ERROR" }),
            ),
            ApiError::Date { segment, style } => {
                json_response(auth_status(style), &json!({ segment: "API DATE ERROR" }))
            }
            ApiError::Login => redirect("/login"),
            ApiError::Forbidden {
                style: ErrorStyle::Live,
            } => redirect("/403"),
            ApiError::Forbidden {
                style: ErrorStyle::Documented,
            } => json_response(
                StatusCode::FORBIDDEN,
                &json!({"error": "Insufficient permissions"}),
            ),
            ApiError::NotFound(msg) => {
                json_response(StatusCode::NOT_FOUND, &json!({ "error": msg }))
            }
            ApiError::Input(msg) => json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": msg, "response": "INPUT ERROR" }),
            ),
            ApiError::BadSearch => {
                let mut r = (StatusCode::BAD_REQUEST, BAD_REQUEST_HTML).into_response();
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
                r
            }
            ApiError::PayloadTooLarge => json_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                &json!({"error": "request body too large", "response": "INPUT ERROR"}),
            ),
        }
    }
}

fn auth_status(style: ErrorStyle) -> StatusCode {
    match style {
        ErrorStyle::Live => StatusCode::BAD_REQUEST,
        ErrorStyle::Documented => StatusCode::UNAUTHORIZED,
    }
}

/// Express 4's `res.redirect`: 302, a `Location`, and a one-line text body.
pub fn redirect(to: &'static str) -> Response {
    let body = format!("Found. Redirecting to {to}");
    let mut r = (StatusCode::FOUND, body).into_response();
    let h = r.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_static(to));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    r
}
