//! Signed requests to the appliance, on reqwest with rustls.
//!
//! Every request is signed over exactly the path and query that go on the wire: the
//! URL is built first and the signed target is read back from it, so no encoding
//! step can make the two differ. Signatures carry the real UTC time from the
//! transport's signing clock, never a scheduler's virtual time, because the
//! appliance checks them against its own clock.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

type Bytes = Vec<u8>;
use dt_protocol::{sign, DateFormat, Secret, HEADER_DATE, HEADER_SIGNATURE, HEADER_TOKEN};
use time::OffsetDateTime;

use crate::error::{first_bytes, ClientError};

/// A URL and the DTAPI headers to send with it.
pub type SignedRequest = (String, Vec<(&'static str, String)>);

/// The source of the time that goes into `DTAPI-Date`.
pub type SignClock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// Everything the transport needs, taken from the settings.
#[derive(Clone)]
pub struct TransportSettings {
    /// `http(s)://host:port`, no trailing slash.
    pub base_url: String,
    /// The public token.
    pub api_key: String,
    /// The private token.
    pub api_secret: Secret,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Whether to verify the appliance's certificate.
    pub verify_ssl: bool,
    /// An extra CA certificate (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// A proxy URL, optionally with credentials.
    pub proxy: Option<String>,
    /// The `DTAPI-Date` format to sign with.
    pub date_format: DateFormat,
}

impl std::fmt::Debug for TransportSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportSettings")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("api_secret", &self.api_secret)
            .field("timeout", &self.timeout)
            .field("verify_ssl", &self.verify_ssl)
            .field("ca_file", &self.ca_file)
            .field("proxy", &self.proxy.as_deref().map(redact_url_credentials))
            .field("date_format", &self.date_format)
            .finish()
    }
}

/// Hides `user:password@` in a proxy URL.
pub fn redact_url_credentials(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://[redacted]@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// A successful answer: the status is 200 and the body is the appliance's.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status (always 2xx here).
    pub status: u16,
    /// The body bytes.
    pub body: Bytes,
}

impl Response {
    /// Parses the body as JSON, or reports a malformed answer with its first bytes.
    pub fn json(&self) -> Result<serde_json::Value, ClientError> {
        serde_json::from_slice(&self.body).map_err(|e| ClientError::Malformed {
            status: self.status,
            reason: if e.is_eof() {
                format!("truncated JSON ({e})")
            } else {
                format!("not JSON ({e})")
            },
            first_bytes: first_bytes(&self.body),
        })
    }
}

/// A signed HTTP client for one appliance.
#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    settings: Arc<TransportSettings>,
    clock: SignClock,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Builds the HTTP client. Fails on an unreadable CA file or a bad proxy URL.
    pub fn new(settings: TransportSettings) -> Result<Self, TransportBuildError> {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // A 302 is the appliance's answer (login or 403), not something to follow.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("dt-client/", env!("CARGO_PKG_VERSION")));
        if !settings.verify_ssl {
            b = b.danger_accept_invalid_certs(true);
        }
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path).map_err(|e| TransportBuildError::CaFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                TransportBuildError::CaFile {
                    path: path.clone(),
                    reason: e.to_string(),
                }
            })?;
            if certs.is_empty() {
                return Err(TransportBuildError::CaFile {
                    path: path.clone(),
                    reason: "no PEM certificate in the file".into(),
                });
            }
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        match &settings.proxy {
            Some(p) => {
                let proxy = reqwest::Proxy::all(p).map_err(|e| TransportBuildError::Proxy {
                    url: redact_url_credentials(p),
                    reason: e.to_string(),
                })?;
                b = b.proxy(proxy);
            }
            // The platform only uses a proxy when one is configured.
            None => b = b.no_proxy(),
        }
        let http = b
            .build()
            .map_err(|e| TransportBuildError::Client(e.to_string()))?;
        Ok(Transport {
            http,
            settings: Arc::new(settings),
            clock: Arc::new(OffsetDateTime::now_utc),
        })
    }

    /// Replaces the signing clock (tests, and support reproductions of a skewed host).
    pub fn with_sign_clock(mut self, clock: SignClock) -> Self {
        self.clock = clock;
        self
    }

    /// The settings this transport was built from.
    pub fn settings(&self) -> &TransportSettings {
        &self.settings
    }

    /// `GET` a target (`/path?query`, already percent-encoded as it should be sent).
    pub async fn get(&self, target: &str) -> Result<Response, ClientError> {
        self.send(reqwest::Method::GET, target, None).await
    }

    /// `POST` a JSON body; the signature covers `path?<body>` (D1).
    pub async fn post_json(&self, target: &str, body: Vec<u8>) -> Result<Response, ClientError> {
        self.send(reqwest::Method::POST, target, Some(body)).await
    }

    /// The signed target and headers for a request, as they will be sent.
    pub fn signed_headers(
        &self,
        method: &str,
        target: &str,
        body: Option<&[u8]>,
    ) -> Result<SignedRequest, ClientError> {
        let url = self.url(target)?;
        let wire = wire_target(&url);
        let date = self.settings.date_format.format((self.clock)());
        let signed = match body {
            Some(b) if !b.is_empty() && method != "GET" && method != "DELETE" => {
                format!("{}?{}", url.path(), String::from_utf8_lossy(b))
            }
            _ => wire.clone(),
        };
        let sig = sign(
            &self.settings.api_secret,
            &signed,
            &self.settings.api_key,
            &date,
        );
        Ok((
            url.to_string(),
            vec![
                (HEADER_TOKEN, self.settings.api_key.clone()),
                (HEADER_DATE, date),
                (HEADER_SIGNATURE, sig),
            ],
        ))
    }

    fn url(&self, target: &str) -> Result<reqwest::Url, ClientError> {
        reqwest::Url::parse(&format!("{}{}", self.settings.base_url, target)).map_err(|e| {
            ClientError::Connect {
                url: self.settings.base_url.clone(),
                detail: format!("invalid URL: {e}"),
            }
        })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        target: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Response, ClientError> {
        let (url, headers) = self.signed_headers(method.as_str(), target, body.as_deref())?;
        let mut req = self.http.request(method, &url);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b);
        }
        let resp = req.send().await.map_err(|e| self.classify(&e))?;
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match resp.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) if e.is_timeout() => {
                return Err(ClientError::Timeout {
                    seconds: self.settings.timeout.as_secs(),
                })
            }
            Err(e) => {
                return Err(ClientError::Reset {
                    detail: format!("body cut short: {}", chain(&e)),
                })
            }
        };
        interpret(status, location.as_deref(), target, body)
    }

    fn classify(&self, e: &reqwest::Error) -> ClientError {
        let detail = chain(e);
        let lower = detail.to_ascii_lowercase();
        if e.is_timeout() {
            return ClientError::Timeout {
                seconds: self.settings.timeout.as_secs(),
            };
        }
        if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
            return ClientError::Tls { detail };
        }
        if self.settings.proxy.is_some()
            && (e.is_connect() || lower.contains("tunnel") || lower.contains("proxy"))
        {
            return ClientError::Proxy { detail };
        }
        if lower.contains("reset")
            || lower.contains("closed before message completed")
            || lower.contains("incomplete")
            || lower.contains("broken pipe")
        {
            return ClientError::Reset { detail };
        }
        ClientError::Connect {
            url: self.settings.base_url.clone(),
            detail,
        }
    }
}

/// Maps an answer to success or the D13 error it stands for.
pub fn interpret(
    status: u16,
    location: Option<&str>,
    target: &str,
    body: Bytes,
) -> Result<Response, ClientError> {
    let compact = || {
        serde_json::from_slice::<serde_json::Value>(&body)
            .map(|v| v.to_string())
            .unwrap_or_else(|_| first_bytes(&body))
    };
    let json_values_contain = |needle: &str| {
        serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.as_object()
                    .map(|o| o.values().any(|x| x.as_str() == Some(needle)))
            })
            .unwrap_or(false)
    };
    match status {
        200..=299 => {
            // A followed redirect lands on the login page with a 200.
            if body
                .windows(30)
                .any(|w| w == b"<title>Log In | Darktrace</title>")
            {
                return Err(ClientError::LoginRedirect {
                    target: target.to_string(),
                });
            }
            Ok(Response { status, body })
        }
        301..=303 | 307 | 308 => match location {
            Some(l) if l.ends_with("/403") => Err(ClientError::Forbidden {
                target: target.to_string(),
            }),
            _ => Err(ClientError::LoginRedirect {
                target: target.to_string(),
            }),
        },
        400 if json_values_contain("API SIGNATURE ERROR") => {
            Err(ClientError::Signature { body: compact() })
        }
        400 if json_values_contain("API DATE ERROR") => Err(ClientError::Date { body: compact() }),
        400 if json_values_contain("INPUT ERROR") => {
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_else(|| first_bytes(&body));
            Err(ClientError::Input { message })
        }
        // The API guide's documented style: 401 for a bad signature, token or date.
        401 => Err(ClientError::Signature { body: compact() }),
        403 => Err(ClientError::Forbidden {
            target: target.to_string(),
        }),
        407 => Err(ClientError::Proxy {
            detail: "the proxy requires authentication (HTTP 407)".into(),
        }),
        // A proxy or load balancer in front of the appliance answers with its own HTML
        // page; the appliance itself answers JSON or text.
        400..=599 if looks_like_html(&body) => Err(ClientError::Malformed {
            status,
            reason: "an HTML error page instead of the appliance's answer".into(),
            first_bytes: first_bytes(&body),
        }),
        500..=599 => Err(ClientError::Server {
            status,
            first_bytes: first_bytes(&body),
        }),
        _ => Err(ClientError::Unexpected {
            status,
            first_bytes: first_bytes(&body),
        }),
    }
}

/// Whether a body is an HTML page (a proxy's error page).
fn looks_like_html(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

/// The path and query exactly as the URL will send them.
fn wire_target(url: &reqwest::Url) -> String {
    match url.query() {
        Some(q) if !q.is_empty() => format!("{}?{}", url.path(), q),
        _ => url.path().to_string(),
    }
}

/// An error and its causes, joined, for messages.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TransportBuildError {
    /// The CA file could not be read or holds no certificate.
    #[error("cannot use CA file {}: {reason}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The proxy URL is invalid.
    #[error("invalid proxy URL {url}: {reason}")]
    Proxy {
        /// The URL, credentials redacted.
        url: String,
        /// Why.
        reason: String,
    },
    /// reqwest refused the configuration.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl TransportSettings {
    /// The transport settings of an integration's configuration.
    pub fn from_config(c: &crate::config::Config) -> Self {
        TransportSettings {
            base_url: c.base_url(),
            api_key: c.api_key.clone(),
            api_secret: c.api_secret.clone(),
            timeout: c.timeout,
            verify_ssl: c.verify_ssl,
            ca_file: c.ca_file.clone(),
            proxy: c.proxy.clone(),
            date_format: DateFormat::Compact,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_are_redacted() {
        assert_eq!(
            redact_url_credentials("http://u:p@proxy:3128"),
            "http://[redacted]@proxy:3128"
        );
        assert_eq!(
            redact_url_credentials("http://proxy:3128"),
            "http://proxy:3128"
        );
    }

    #[test]
    fn d13_signature_and_date_bodies_are_told_apart() {
        let sig = interpret(
            400,
            None,
            "/status",
            b"{\n  \"status\": \"API SIGNATURE ERROR\"\n}".to_vec(),
        );
        assert!(matches!(sig, Err(ClientError::Signature { .. })));
        let date = interpret(
            400,
            None,
            "/status",
            b"{\n  \"status\": \"API DATE ERROR\"\n}".to_vec(),
        );
        assert!(matches!(date, Err(ClientError::Date { .. })));
    }

    #[test]
    fn d13_redirects_are_told_apart() {
        assert!(matches!(
            interpret(302, Some("/login"), "/x", vec![]),
            Err(ClientError::LoginRedirect { .. })
        ));
        assert!(matches!(
            interpret(302, Some("/403"), "/x", vec![]),
            Err(ClientError::Forbidden { .. })
        ));
    }

    #[test]
    fn d13_html_is_malformed_with_first_bytes() {
        let r = interpret(
            200,
            None,
            "/status",
            b"<html><body>502 Bad Gateway</body></html>".to_vec(),
        )
        .unwrap();
        let Err(ClientError::Malformed { first_bytes, .. }) = r.json() else {
            panic!("expected malformed")
        };
        assert!(first_bytes.starts_with("<html>"));
    }

    #[test]
    fn truncated_json_is_transient() {
        let r = interpret(200, None, "/status", b"{\"version\": \"6.1".to_vec()).unwrap();
        assert!(r.json().unwrap_err().is_transient());
    }
}
