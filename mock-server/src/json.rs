//! JSON bodies as the appliance writes them: 2-space indented (Express's
//! `json spaces` of 2), `application/json; charset=utf-8`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The content type of every JSON answer, success or error.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// Renders a value exactly as the appliance does.
pub fn pretty(value: &serde_json::Value) -> Vec<u8> {
    // serde_json's pretty printer indents by two spaces and puts `": "` after keys,
    // which is byte-for-byte what `JSON.stringify(v, null, 2)` prints.
    serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"{}".to_vec())
}

/// A JSON response with the appliance's formatting.
pub fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut resp = (status, pretty(value)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_matches_the_live_byte_count() {
        // The live appliance's signature error for /status is 37 bytes.
        let body = pretty(&serde_json::json!({"status": "API SIGNATURE ERROR"}));
        assert_eq!(body, b"{\n  \"status\": \"API SIGNATURE ERROR\"\n}");
        assert_eq!(body.len(), 37);
        assert_eq!(
            pretty(&serde_json::json!({"tags": "API DATE ERROR"})).len(),
            30
        );
        assert_eq!(
            pretty(&serde_json::json!({"advancedsearch": "API SIGNATURE ERROR"})).len(),
            45
        );
        assert_eq!(pretty(&serde_json::json!([{}])).len(), 8);
    }
}
