//! The pages a client lands on when it follows the appliance's redirects.
//! Clients detect them by the login page's title.

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};

/// The login page's title, which clients look for to spot a followed redirect.
pub const LOGIN_TITLE: &str = "<title>Log In | Darktrace</title>";

/// `GET /login`.
pub async fn login() -> Response {
    html(format!(
        "<!DOCTYPE html>\n<html>\n<head>\n{LOGIN_TITLE}\n</head>\n<body>\n<form method=\"post\" action=\"/login\"><input name=\"username\"><input name=\"password\" type=\"password\"></form>\n</body>\n</html>\n"
    ))
}

/// `GET /403`.
pub async fn forbidden() -> Response {
    html("<!DOCTYPE html>\n<html>\n<head>\n<title>403 | Darktrace</title>\n</head>\n<body>\n<h1>403</h1>\n<p>You do not have permission to access this page.</p>\n</body>\n</html>\n".to_string())
}

fn html(body: String) -> Response {
    let mut r = Html(body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}
