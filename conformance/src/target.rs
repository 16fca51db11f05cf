//! Where the cases run: a URL with credentials and TLS options, or an in-process
//! mock started for the run.

use std::path::PathBuf;
use std::time::Duration;

use dt_mock::{AppState, MockClock, MockConfig, TokenSet};
use dt_protocol::Secret;
use time::OffsetDateTime;

use crate::case::Failure;
use crate::probe::{Exchange, Probe};

/// A target under test.
pub struct Target {
    /// `http(s)://host:port`.
    pub base_url: String,
    /// The public token.
    pub api_key: String,
    /// The private token.
    pub api_secret: Secret,
    /// The HTTP client (no redirects followed).
    http: reqwest::Client,
    /// The in-process mock's state, when the run started one.
    pub mock: Option<AppState>,
    /// Whether the target answers the mock's admin API (so mock-only cases can run).
    pub is_mock: bool,
    /// The appliance's version from `/status`, for known divergences.
    pub appliance_version: Option<String>,
    _server: Option<tokio::sync::oneshot::Sender<()>>,
}

/// TLS choices for a URL target.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Skip certificate verification.
    pub insecure: bool,
    /// An extra CA to trust.
    pub ca: Option<PathBuf>,
}

fn http_client(tls: &TlsOptions) -> anyhow::Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(30));
    if tls.insecure {
        b = b.danger_accept_invalid_certs(true);
    }
    if let Some(ca) = &tls.ca {
        for c in reqwest::Certificate::from_pem_bundle(&std::fs::read(ca)?)? {
            b = b.add_root_certificate(c);
        }
    }
    Ok(b.build()?)
}

impl Target {
    /// A target at a URL.
    pub async fn url(
        base_url: &str,
        api_key: &str,
        api_secret: Secret,
        tls: &TlsOptions,
    ) -> anyhow::Result<Self> {
        let mut t = Target {
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
            api_secret,
            http: http_client(tls)?,
            mock: None,
            is_mock: false,
            appliance_version: None,
            _server: None,
        };
        t.is_mock = t
            .raw_get("/_mock/health")
            .await
            .map(|(s, _)| s == 200)
            .unwrap_or(false);
        t.appliance_version = t
            .send(&Probe::get(
                "/status?includechildren=false&responsedata=version",
            ))
            .await
            .ok()
            .and_then(|ex| ex.json())
            .and_then(|v| v["version"].as_str().map(str::to_owned));
        Ok(t)
    }

    /// Starts an in-process mock on `127.0.0.1:0` with its system clock and a fresh
    /// token pair, and targets it.
    pub async fn in_process() -> anyhow::Result<Self> {
        Self::in_process_with(|_| {}).await
    }

    /// Like [`Target::in_process`], with a chance to adjust the mock's configuration.
    pub async fn in_process_with(adjust: impl FnOnce(&mut MockConfig)) -> anyhow::Result<Self> {
        let (public, private) = ("conformance-public", "conformance-private");
        let tokens = TokenSet::parse_pairs([format!("{public}:{private}").as_str()])?;
        let mut config = MockConfig::new(tokens, MockClock::system(time::Duration::ZERO));
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mock = dt_mock::Mock::new(config);
        let state = mock.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(mock.serve(listener, async {
            let _ = rx.await;
        }));
        Ok(Target {
            base_url: format!("http://{addr}"),
            api_key: public.into(),
            api_secret: Secret::new(private),
            http: http_client(&TlsOptions::default())?,
            mock: Some(state),
            is_mock: true,
            appliance_version: Some(dt_mock::routes::status::version().to_string()),
            _server: Some(tx),
        })
    }

    /// The time a probe should sign with: the mock's own clock when in process, so
    /// a mock with a manual clock can be probed; otherwise the real UTC time.
    pub fn sign_time(&self) -> OffsetDateTime {
        match &self.mock {
            Some(s) => s.clock.now(),
            None => OffsetDateTime::now_utc(),
        }
    }

    /// Sends a probe and records the exchange.
    pub async fn send(&self, probe: &Probe) -> Result<Exchange, Failure> {
        let (headers, signed_target, _date) =
            probe.headers(&self.api_key, &self.api_secret, self.sign_time());
        let url = format!("{}{}", self.base_url, probe.target);
        let method =
            reqwest::Method::from_bytes(probe.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut req = self.http.request(method, &url);
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        if let Some(b) = &probe.body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.clone());
        }
        let mut ex = Exchange {
            method: probe.method.to_string(),
            url: url.clone(),
            target: probe.target.clone(),
            signed_target,
            request_headers: headers,
            request_body: probe.body.clone(),
            status: 0,
            content_type: None,
            location: None,
            body: String::new(),
        };
        let resp = req
            .send()
            .await
            .map_err(|e| Failure::with(&ex, "an HTTP answer", format!("request failed: {e}")))?;
        ex.status = resp.status().as_u16();
        let h = |n: reqwest::header::HeaderName| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        ex.content_type = h(reqwest::header::CONTENT_TYPE);
        ex.location = h(reqwest::header::LOCATION);
        let body = resp
            .bytes()
            .await
            .map_err(|e| Failure::with(&ex, "a whole body", format!("body failed: {e}")))?;
        ex.body = String::from_utf8_lossy(&body).into_owned();
        Ok(ex)
    }

    /// An unsigned GET (admin API, pages).
    pub async fn raw_get(&self, target: &str) -> Result<(u16, String), Failure> {
        let resp = self
            .http
            .get(format!("{}{}", self.base_url, target))
            .send()
            .await
            .map_err(|e| Failure::new(format!("an answer from {target}"), e.to_string()))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        Ok((status, text))
    }
}
