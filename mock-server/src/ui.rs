//! The live journal page at `GET /_mock/` (and `/_mock/ui`): one self-contained HTML
//! file with vanilla JS, embedded in the binary, no build step and no external assets.
//!
//! It polls `/_mock/journal?since=N`, `/_mock/health` and `/_mock/faults` every second
//! and shows each request with its verdict and, for rejections, the diagnosis; the
//! mock's clock and skew; the active scenario and faults; and buttons to inject a demo
//! detection and to clear faults. Everything it inserts into the page goes through
//! `textContent` (the journal holds attacker-controlled targets and headers).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// The page.
pub const PAGE: &str = include_str!("ui/journal.html");

/// `GET /_mock/`.
pub async fn page() -> Response {
    let mut r = PAGE.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Only the page's own inline script and style, and requests to this origin.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}
