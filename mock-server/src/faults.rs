//! Faults injected at run time (DECISIONS D4): delays, error statuses N times then
//! pass, truncated bodies, a fronting proxy's HTML page, and connection resets, each
//! on a route prefix. They reproduce the slow, flaky or broken appliances and proxies
//! that customers report, without touching the appliance logic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::journal::{Arrival, Record, Verdict};
use crate::state::AppState;

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FaultKind {
    /// Wait this long, then answer normally.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// Wait a log-normally distributed time with this median and 99th percentile.
    LongTail {
        /// Median delay, ms.
        median_ms: u64,
        /// 99th-percentile delay, ms.
        p99_ms: u64,
    },
    /// Answer this status instead of the appliance (an appliance error page).
    Status {
        /// The HTTP status, e.g. 500 or 503.
        status: u16,
    },
    /// Answer normally but cut the body in half (a well-formed HTTP answer whose
    /// JSON is truncated).
    Truncate,
    /// A fronting proxy's HTML error page with this status (e.g. 502, 400).
    Html {
        /// The HTTP status.
        status: u16,
    },
    /// Send the headers, then break the connection.
    Reset,
}

/// A fault as requested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// Path prefix it applies to (`/` or `*` for every appliance route).
    #[serde(default = "any_route")]
    pub route: String,
    /// What it does.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Apply this many times, then pass (absent: every time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

fn any_route() -> String {
    "/".into()
}

/// An installed fault.
#[derive(Debug, Clone, Serialize)]
pub struct ActiveFault {
    /// Its id, for removal.
    pub id: u64,
    /// The request.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Applications left (absent: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u32>,
    /// How often it has fired.
    pub fired: u64,
}

/// Most faults installed at once. Only the admin API adds faults, and every appliance
/// request scans the list, so a runaway harness must not grow it without bound.
pub const MAX_FAULTS: usize = 256;

/// The installed faults.
#[derive(Debug, Default)]
pub struct Faults {
    next_id: AtomicU64,
    rng: AtomicU64,
    active: Mutex<Vec<ActiveFault>>,
}

/// Why a fault request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// A status outside 100..=599.
    #[error("status {0} is not an HTTP status")]
    Status(u16),
    /// A long tail whose p99 is below its median.
    #[error("p99_ms must be at least median_ms")]
    Tail,
    /// `times: 0` would never fire.
    #[error("times must be at least 1")]
    Times,
    /// Delays above ten minutes are refused: they only hold connections.
    #[error("delays are limited to 600000 ms")]
    TooLong,
    /// [`MAX_FAULTS`] faults are already installed.
    #[error("{MAX_FAULTS} faults are already installed, the most the mock keeps: remove some (DELETE /_mock/faults/<id>) or all (DELETE /_mock/faults) first")]
    Full,
}

impl Faults {
    /// An empty set.
    pub fn new() -> Self {
        Faults {
            next_id: AtomicU64::new(1),
            rng: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
            active: Mutex::default(),
        }
    }

    /// Installs a fault and returns its id; refused when [`MAX_FAULTS`] are installed.
    pub fn add(&self, spec: FaultSpec) -> Result<u64, FaultError> {
        match &spec.kind {
            FaultKind::Status { status } | FaultKind::Html { status }
                if !(100..=599).contains(status) =>
            {
                return Err(FaultError::Status(*status))
            }
            FaultKind::LongTail { median_ms, p99_ms } if p99_ms < median_ms => {
                return Err(FaultError::Tail)
            }
            FaultKind::LongTail { p99_ms: ms, .. } | FaultKind::Delay { ms } if *ms > 600_000 => {
                return Err(FaultError::TooLong)
            }
            _ => {}
        }
        if spec.times == Some(0) {
            return Err(FaultError::Times);
        }
        let mut active = self.lock();
        if active.len() >= MAX_FAULTS {
            return Err(FaultError::Full);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed).max(1);
        let remaining = spec.times;
        active.push(ActiveFault {
            id,
            spec,
            remaining,
            fired: 0,
        });
        Ok(id)
    }

    /// Removes one fault; false when there was none with that id.
    pub fn remove(&self, id: u64) -> bool {
        let mut g = self.lock();
        let before = g.len();
        g.retain(|f| f.id != id);
        g.len() != before
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The installed faults.
    pub fn list(&self) -> Vec<ActiveFault> {
        self.lock().clone()
    }

    /// The fault to apply to a request for `path`, if any: the first installed one
    /// whose route matches. A counted fault is used up and removed.
    pub fn take(&self, path: &str) -> Option<FaultKind> {
        let mut g = self.lock();
        let i = g.iter().position(|f| route_matches(&f.spec.route, path))?;
        let f = &mut g[i];
        f.fired += 1;
        let kind = f.spec.kind.clone();
        if let Some(r) = f.remaining.as_mut() {
            *r -= 1;
            if *r == 0 {
                g.remove(i);
            }
        }
        Some(kind)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ActiveFault>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A log-normal delay: deterministic sequence, no global RNG.
    fn long_tail(&self, median_ms: u64, p99_ms: u64) -> Duration {
        let next = || {
            // xorshift64*
            let mut x = self.rng.load(Ordering::Relaxed);
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.rng.store(x, Ordering::Relaxed);
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        };
        let (u1, u2) = (next().max(f64::MIN_POSITIVE), next());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let sigma = ((p99_ms.max(1) as f64) / (median_ms.max(1) as f64)).ln() / 2.326;
        let ms = (median_ms as f64) * (sigma * z).exp();
        Duration::from_millis(ms.clamp(0.0, 600_000.0) as u64)
    }
}

fn route_matches(route: &str, path: &str) -> bool {
    route == "*"
        || route == "/"
        || path == route
        || path.starts_with(&format!("{}/", route.trim_end_matches('/')))
}

/// A fronting proxy's error page (nginx's wording).
pub fn proxy_page(status: StatusCode) -> String {
    let line = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    format!(
        "<html>\r\n<head><title>{line}</title></head>\r\n<body>\r\n<center><h1>{line}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
}

/// The middleware, outermost on appliance routes: a faulted request is answered
/// (or delayed) here, before auth, as a proxy or an overloaded appliance would.
pub async fn inject(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(kind) = state.faults.take(req.uri().path()) else {
        return next.run(req).await;
    };
    let record = |state: &AppState, req: &Request, status: u16, what: &str| {
        state.journal.record(Record {
            arrival: Arrival::new(state.clock.now(), req.method(), req.uri(), req.headers()),
            verdict: Verdict::Faulted,
            status,
            reason: Some(format!("fault: {what}").into()),
            diagnosis: None,
        });
    };
    match kind {
        FaultKind::Delay { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(req).await
        }
        FaultKind::LongTail { median_ms, p99_ms } => {
            tokio::time::sleep(state.faults.long_tail(median_ms, p99_ms)).await;
            next.run(req).await
        }
        FaultKind::Status { status } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            record(&state, &req, status, &format!("status {status}"));
            let mut r =
                (code, code.canonical_reason().unwrap_or("Error").to_string()).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        FaultKind::Html { status } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            record(&state, &req, status, &format!("proxy HTML page {status}"));
            let mut r = (code, proxy_page(code)).into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            r.headers_mut()
                .insert(header::SERVER, HeaderValue::from_static("nginx"));
            r
        }
        FaultKind::Truncate => {
            let resp = next.run(req).await;
            let (mut parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
                .await
                .unwrap_or_default();
            let cut = bytes.slice(..bytes.len() / 2);
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(cut))
        }
        FaultKind::Reset => {
            record(&state, &req, 200, "connection reset");
            let stream = futures_once_error();
            let mut r = Response::new(Body::from_stream(stream));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            r
        }
    }
}

/// A body stream whose first item is an error, so hyper aborts the connection after
/// the headers.
fn futures_once_error(
) -> impl futures_core::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send {
    struct Once(bool);
    impl futures_core::Stream for Once {
        type Item = Result<bytes::Bytes, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            if self.0 {
                return std::task::Poll::Ready(None);
            }
            self.0 = true;
            std::task::Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "fault: reset",
            ))))
        }
    }
    Once(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_fire_then_pass() {
        let f = Faults::new();
        f.add(FaultSpec {
            route: "/status".into(),
            kind: FaultKind::Status { status: 503 },
            times: Some(2),
        })
        .unwrap();
        assert!(f.take("/status").is_some());
        assert!(f.take("/devices").is_none());
        assert!(f.take("/status").is_some());
        assert!(f.take("/status").is_none());
    }

    #[test]
    fn routes_match_by_segment_prefix() {
        assert!(route_matches(
            "/advancedsearch",
            "/advancedsearch/api/search/abc"
        ));
        assert!(!route_matches("/details", "/detailsx"));
        assert!(route_matches("*", "/anything"));
    }

    #[test]
    fn refuses_nonsense() {
        let f = Faults::new();
        assert_eq!(
            f.add(FaultSpec {
                route: "/".into(),
                kind: FaultKind::Status { status: 9 },
                times: None
            }),
            Err(FaultError::Status(9))
        );
        assert_eq!(
            f.add(FaultSpec {
                route: "/".into(),
                kind: FaultKind::Reset,
                times: Some(0)
            }),
            Err(FaultError::Times)
        );
        assert_eq!(
            f.add(FaultSpec {
                route: "/".into(),
                kind: FaultKind::LongTail {
                    median_ms: 10,
                    p99_ms: 5
                },
                times: None
            }),
            Err(FaultError::Tail)
        );
    }

    #[test]
    fn the_list_is_capped_until_a_fault_goes() {
        let f = Faults::new();
        let spec = FaultSpec {
            route: "/status".into(),
            kind: FaultKind::Status { status: 503 },
            times: Some(1),
        };
        let ids: Vec<u64> = (0..MAX_FAULTS)
            .map(|_| f.add(spec.clone()).unwrap())
            .collect();
        assert_eq!(f.add(spec.clone()), Err(FaultError::Full));
        assert_eq!(f.list().len(), MAX_FAULTS);
        // Removed, or used up: room again.
        assert!(f.remove(ids[0]));
        f.add(spec.clone()).unwrap();
        assert_eq!(f.add(spec.clone()), Err(FaultError::Full));
        assert!(f.take("/status").is_some());
        f.add(spec).unwrap();
    }

    #[test]
    fn long_tail_has_the_requested_median_roughly() {
        let f = Faults::new();
        let mut v: Vec<u64> = (0..2001)
            .map(|_| f.long_tail(100, 1000).as_millis() as u64)
            .collect();
        v.sort_unstable();
        let median = v[1000];
        assert!((70..=140).contains(&median), "median {median}");
        assert!(v[1980] > 400, "p99 {}", v[1980]);
    }

    #[test]
    fn spec_json_round_trips() {
        let s: FaultSpec =
            serde_json::from_str(r#"{"route":"/status","kind":"status","status":503,"times":2}"#)
                .unwrap();
        assert_eq!(s.kind, FaultKind::Status { status: 503 });
        let d: FaultSpec = serde_json::from_str(r#"{"kind":"delay","ms":50}"#).unwrap();
        assert_eq!(d.route, "/");
    }
}
