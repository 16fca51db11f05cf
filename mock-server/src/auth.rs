//! The auth layer: DECISIONS D1–D3 applied to every appliance route.
//!
//! It reads the whole body (bounded), verifies the request with `dt-protocol`
//! against the mock's clock, answers failures exactly as the appliance does, and
//! records every request in the journal. A rejection logs one line saying why; the
//! diagnosis goes to the log and the journal, never into the appliance-faithful
//! response.

use std::borrow::Cow;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dt_protocol::target::{first_segment, split_target};
use dt_protocol::{RejectKind, Rejection, RequestParts, SignedForm, TokenStore, Verifier};
use serde_json::json;

use crate::error::ApiError;
use crate::journal::{Arrival, Record, Verdict};
use crate::state::AppState;

/// Marks a response produced by the unknown-route fallback.
#[derive(Debug, Clone, Copy)]
pub struct UnknownRoute;

/// The journal's reason for an accepted request.
fn accepted_reason(form: SignedForm, unknown_route: bool) -> &'static str {
    if unknown_route {
        return "signature valid; unknown route";
    }
    match form {
        SignedForm::Raw => "signature valid (raw query)",
        SignedForm::Decoded => "signature valid (decoded query)",
        SignedForm::Body => "signature valid (body)",
    }
}

/// The middleware.
pub async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let now = state.clock.now();
    let (parts, body) = req.into_parts();
    let mut arrival = Arrival::new(now, &parts.method, &parts.uri, &parts.headers);
    // A rejection's record; the accepted path builds its own below.
    let record = |arrival: Arrival, status: StatusCode, reason: Cow<'static, str>| Record {
        arrival,
        verdict: Verdict::Rejected,
        status: status.as_u16(),
        reason: Some(reason),
        diagnosis: None,
    };

    // A declared length over the limit is refused before anything is read.
    let limit = state.settings.body_limit;
    let declared_too_large = axum::body::HttpBody::size_hint(&body).lower() > limit as u64;
    let read = if declared_too_large {
        None
    } else {
        Some(axum::body::to_bytes(body, limit).await)
    };
    let body = match read {
        Some(Ok(b)) => b,
        failed => {
            let too_large = match &failed {
                Some(Err(e)) => std::error::Error::source(e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>()),
                _ => true,
            };
            // Too large: 413. Cut short or stalled past the deadline: 400.
            let (resp, reason) = if too_large {
                let reason = format!("body larger than {limit} bytes");
                (ApiError::PayloadTooLarge.into_response(), reason)
            } else {
                let reason = "body incomplete or not received in time".to_string();
                (ApiError::Input(reason.clone()).into_response(), reason)
            };
            state
                .journal
                .record(record(arrival, resp.status(), reason.into()));
            return resp;
        }
    };

    let target = arrival.target();
    let (path, _) = split_target(target);
    let verify_target = if state.settings.sort_query_before_verify {
        Cow::Owned(sorted_target(target))
    } else {
        Cow::Borrowed(target)
    };
    let rp = RequestParts::from_headers(
        parts.method.as_str(),
        &verify_target,
        parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_bytes())),
        &body,
    );
    let verdict = {
        let tokens = state.tokens.read().unwrap_or_else(|p| p.into_inner());
        Verifier::new(state.settings.max_skew)
            .verify(&rp, &*tokens, now)
            .map(|ok| {
                let permitted = tokens.permits(&ok.public, path);
                (ok, permitted)
            })
    };

    match verdict {
        Ok((accepted, false)) => {
            let resp = ApiError::Forbidden {
                style: state.settings.error_style,
            }
            .into_response();
            let reason = format!(
                "token {:?} lacks the permission for {path}",
                accepted.public
            );
            tracing::warn!(method = %parts.method, target = %target, "forbidden: {reason}");
            state
                .journal
                .record(record(arrival, resp.status(), reason.into()));
            resp
        }
        Ok((accepted, true)) => {
            let resp = next.run(Request::from_parts(parts, Body::from(body))).await;
            let unknown = resp.extensions().get::<UnknownRoute>().is_some();
            state.journal.record(Record {
                arrival,
                verdict: Verdict::Accepted,
                status: resp.status().as_u16(),
                reason: Some(accepted_reason(accepted.form, unknown).into()),
                diagnosis: None,
            });
            resp
        }
        Err(rejection) => {
            let style = state.settings.error_style;
            let segment = first_segment(path).to_string();
            let err = match rejection.kind() {
                RejectKind::Login => ApiError::Login,
                RejectKind::Date => ApiError::Date { segment, style },
                RejectKind::Signature => ApiError::Signature { segment, style },
            };
            let resp = err.into_response();
            // Diagnose with the private token of the named pair. When the "public" token
            // sent is in fact a known private token (the pair swapped), diagnose with it
            // and redact it everywhere it would be shown.
            let (secret, swapped) = {
                let tokens = state.tokens.read().unwrap_or_else(|p| p.into_inner());
                match &rejection {
                    Rejection::UnknownToken { public } => {
                        match tokens
                            .tokens()
                            .iter()
                            .find(|t| same_secret(&t.private, public))
                        {
                            Some(t) => (Some(t.private.clone()), true),
                            None => (None, false),
                        }
                    }
                    _ => (
                        rp.token
                            .as_deref()
                            .and_then(|p| tokens.private_for(p))
                            .cloned(),
                        false,
                    ),
                }
            };
            let mistake = dt_explain::diagnose(
                &rp,
                secret.as_ref(),
                &rejection,
                now,
                state.settings.max_skew,
            );
            let shown = if swapped {
                Rejection::UnknownToken {
                    public: REDACTED_PRIVATE.to_string(),
                }
            } else {
                rejection
            };
            let cause = mistake
                .as_ref()
                .map(|m| format!(" — likely cause: {}", m.id.as_str()))
                .unwrap_or_default();
            tracing::warn!(method = %parts.method, target = %target, status = resp.status().as_u16(), "rejected: {shown}{cause}");
            let mut d = diagnosis(&shown);
            if let (Some(m), Some(o)) = (mistake, d.as_object_mut()) {
                o.insert(
                    "mistake".into(),
                    serde_json::to_value(m).unwrap_or_default(),
                );
            }
            drop(rp);
            drop(verify_target);
            if swapped {
                arrival.redact(dt_protocol::HEADER_TOKEN, REDACTED_PRIVATE);
            }
            state.journal.record(Record {
                diagnosis: Some(d),
                ..record(arrival, resp.status(), shown.to_string().into())
            });
            resp
        }
    }
}

/// What is shown instead of a private token sent as the public one.
const REDACTED_PRIVATE: &str = "[redacted: a private token was sent as DTAPI-Token]";

/// Constant-time comparison of a known private token with a header value.
fn same_secret(private: &dt_protocol::Secret, value: &str) -> bool {
    use subtle::ConstantTimeEq;
    let (a, b) = (private.expose_secret().as_bytes(), value.as_bytes());
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Support details for a rejection. Holds the public token and dates only.
pub fn diagnosis(rejection: &Rejection) -> serde_json::Value {
    let rfc = |t: &time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    match rejection {
        Rejection::MissingHeaders { missing } => json!({ "rule": "headers", "missing": missing }),
        Rejection::UnparseableDate { value } => json!({
            "rule": "date",
            "value": value,
            "accepted_formats": ["YYYYMMDDTHHMMSS", "YYYY-MM-DD HH:MM:SS", "ISO-8601 (T, optional fraction, Z or ±HH:MM)"],
        }),
        Rejection::Skew {
            request_time,
            server_time,
            allowed,
        } => json!({
            "rule": "skew",
            "request_time": rfc(request_time),
            "server_time": rfc(server_time),
            "skew_seconds": (*request_time - *server_time).whole_seconds(),
            "allowed_seconds": allowed.whole_seconds(),
        }),
        Rejection::UnknownToken { public } => json!({ "rule": "token", "public_token": public }),
        Rejection::SignatureMismatch { provided, tried } => json!({
            "rule": "signature",
            "provided": provided,
            "strings_to_sign_tried": tried,
        }),
    }
}

/// The target with its query parameters sorted: what a broken verifier checks.
fn sorted_target(target: &str) -> String {
    match split_target(target) {
        (path, Some(q)) if !q.is_empty() => {
            let mut pairs: Vec<&str> = q.split('&').collect();
            pairs.sort_unstable();
            format!("{path}?{}", pairs.join("&"))
        }
        _ => target.to_string(),
    }
}
