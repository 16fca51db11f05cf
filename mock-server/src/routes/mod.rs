//! Appliance routes. Each handler reads the decoded query, asks the world or the
//! mock's own state, and answers with the appliance's shapes.

pub mod data;
pub mod pages;
pub mod status;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use dt_protocol::target::{parse_query, split_target};

use crate::auth::UnknownRoute;
use crate::error::ApiError;

/// The query parameters of a request, decoded, in the order sent.
pub fn query_pairs(req: &Request) -> Vec<(String, String)> {
    let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("");
    match split_target(target) {
        (_, Some(q)) => parse_query(q),
        _ => Vec::new(),
    }
}

/// The last value of a parameter (the appliance's parsers keep the last repeat).
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A validly signed request to a route the appliance does not have.
pub async fn unknown_route() -> Response {
    let mut r = ApiError::Login.into_response();
    r.extensions_mut().insert(UnknownRoute);
    r
}
