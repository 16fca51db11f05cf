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
    /// Whether an HTTP proxy forwards the requests itself (plain-HTTP appliance), so
    /// that some answers may be the proxy's own rather than the appliance's.
    proxy_forwards: bool,
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
        let proxy_forwards = settings.proxy.as_deref().is_some_and(|p| {
            let p = p.to_ascii_lowercase();
            p.starts_with("http://") || p.starts_with("https://")
        }) && settings
            .base_url
            .to_ascii_lowercase()
            .starts_with("http://");
        Ok(Transport {
            http,
            settings: Arc::new(settings),
            clock: Arc::new(OffsetDateTime::now_utc),
            proxy_forwards,
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
        let proxy_authenticate = resp
            .headers()
            .contains_key(reqwest::header::PROXY_AUTHENTICATE);
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
        if self.proxy_forwards {
            if let Some(e) = proxy_refusal(status, proxy_authenticate, &body) {
                return Err(e);
            }
        }
        interpret(status, location.as_deref(), target, body)
    }

    /// reqwest reports any failed `CONNECT` other than a 407 as "tunnel error:
    /// unsuccessful", without the proxy's status (tinyproxy: 403 for a client or port
    /// it does not allow, 401 for wrong credentials, 500 when it cannot reach the
    /// appliance): say what that can mean.
    fn explain_tunnel(&self, detail: String) -> String {
        if !detail.contains("tunnel error: unsuccessful") {
            return detail;
        }
        let authority = self
            .settings
            .base_url
            .split_once("://")
            .map_or(self.settings.base_url.as_str(), |(_, a)| a);
        format!(
            "{detail} (the proxy did not open a tunnel, CONNECT {authority}: it could not reach the appliance, does not allow this client or this port, or did not accept the proxy credentials)"
        )
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
            return ClientError::Proxy {
                detail: self.explain_tunnel(detail),
            };
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

/// The proxy's own refusal of a request it was asked to forward (plain HTTP through
/// an HTTP proxy), or `None` when the answer may be the appliance's.
///
/// Over HTTPS the proxy only tunnels, and refuses the `CONNECT` itself (reqwest's
/// tunnel error); over plain HTTP its refusal comes back as an ordinary answer. The
/// appliance never answers 401 or 403 with anything but JSON (its documented style),
/// and never asks for proxy authentication, so a 401 or 403 that is not JSON, or any
/// answer with `Proxy-Authenticate`, is the proxy's: tinyproxy answers a client it
/// does not allow with a 403 page and wrong credentials with a 401 page. Without this,
/// they were reported as a token without permission and as a signature error.
pub fn proxy_refusal(status: u16, proxy_authenticate: bool, body: &[u8]) -> Option<ClientError> {
    let refused = proxy_authenticate
        || (matches!(status, 401 | 403)
            && serde_json::from_slice::<serde_json::Value>(body).is_err());
    if !refused {
        return None;
    }
    let page = html_title(body)
        .map(|t| format!(", its page says {t:?}"))
        .unwrap_or_default();
    let why = match status {
        401 | 407 => "it did not accept the proxy credentials (none, or wrong ones)",
        _ => "it does not allow this client or this destination",
    };
    Some(ClientError::Proxy {
        detail: format!("the proxy refused to forward the request with HTTP {status}{page}: {why}"),
    })
}

/// The `<title>` of an HTML page, if it has a short one.
fn html_title(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    let title = text.get(start..end)?.trim();
    (!title.is_empty() && title.len() <= 120).then(|| title.to_string())
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

    /// tinyproxy 1.11's own pages, as it answers a forwarded plain-HTTP request.
    const TINYPROXY_403: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.1//EN\" \"http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd\">\n<html>\n<head><title>403 Access denied</title></head>\n<body>\n<h1>Access denied</h1>\n<p>The administrator of this proxy has not configured it to service requests from your host.</p>\n</body>\n</html>\n";
    const TINYPROXY_401: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<html>\n<head><title>401 Unauthorized</title></head>\n<body>\n<h1>Unauthorized</h1>\n</body>\n</html>\n";

    #[test]
    fn d13_a_forwarding_proxy_refusal_is_the_proxy_error() {
        let e = proxy_refusal(403, false, TINYPROXY_403).unwrap();
        assert_eq!(e.kind(), crate::error::ErrorKind::Proxy);
        assert!(e.to_string().contains("HTTP 403"), "{e}");
        assert!(e.to_string().contains("403 Access denied"), "{e}");
        // tinyproxy answers wrong proxy credentials with 401, not 407.
        let e = proxy_refusal(401, false, TINYPROXY_401).unwrap();
        assert_eq!(e.kind(), crate::error::ErrorKind::Proxy);
        assert!(e.to_string().contains("proxy credentials"), "{e}");
        let e = proxy_refusal(407, true, b"").unwrap();
        assert_eq!(e.kind(), crate::error::ErrorKind::Proxy);
        assert!(proxy_refusal(403, false, b"").is_some());
    }

    #[test]
    fn d13_the_appliance_answers_are_not_taken_for_the_proxy() {
        // The documented style's 401 and 403 are JSON; the live style's are 400 and 302.
        assert!(proxy_refusal(401, false, br#"{"status": "API SIGNATURE ERROR"}"#).is_none());
        assert!(proxy_refusal(403, false, br#"{"error": "Insufficient permissions"}"#).is_none());
        assert!(proxy_refusal(302, false, b"Found. Redirecting to /403").is_none());
        assert!(proxy_refusal(200, false, b"{}").is_none());
        // The appliance's own HTML 400 (a search it cannot parse) stays its answer.
        assert!(proxy_refusal(400, false, b"<html><body><h1>400 Bad request</h1>").is_none());
        // A 5xx page stays malformed and transient (interpret), so it is retried.
        assert!(proxy_refusal(502, false, b"<html>502</html>").is_none());
    }

    /// A one-shot fake HTTP proxy: answers `answer` to the first request and hands
    /// back the request head it read.
    async fn fake_proxy(answer: &'static [u8]) -> (String, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = sock.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            sock.write_all(answer).await.unwrap();
            sock.shutdown().await.ok();
            String::from_utf8_lossy(&head).into_owned()
        });
        (format!("127.0.0.1:{}", addr.port()), task)
    }

    fn proxied(base_url: &str, proxy: String) -> Transport {
        Transport::new(TransportSettings {
            base_url: base_url.into(),
            api_key: "pub".into(),
            api_secret: Secret::new("priv"),
            timeout: Duration::from_secs(5),
            verify_ssl: true,
            ca_file: None,
            proxy: Some(proxy),
            date_format: DateFormat::Compact,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn proxy_credentials_go_on_the_connect_and_never_into_the_error() {
        let (addr, head) = fake_proxy(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n",
        )
        .await;
        let t = proxied(
            "https://appliance.invalid:8443",
            format!("http://proxyuser:pr0xy-pw@{addr}"),
        );
        let e = t.get("/status").await.unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Proxy, "{e}");
        let head = head.await.unwrap().to_ascii_lowercase();
        assert!(
            head.starts_with("connect appliance.invalid:8443 "),
            "{head}"
        );
        use base64::Engine as _;
        let creds = base64::engine::general_purpose::STANDARD.encode("proxyuser:pr0xy-pw");
        assert!(
            head.contains(&format!(
                "proxy-authorization: basic {}",
                creds.to_ascii_lowercase()
            )),
            "{head}"
        );
        assert!(!format!("{e} {e:?} {t:?}").contains("pr0xy-pw"), "{e}");
    }

    #[tokio::test]
    async fn a_refused_connect_is_the_proxy_error_saying_so() {
        let (addr, _head) = fake_proxy(
            b"HTTP/1.0 403 Access violation\r\nServer: tinyproxy/1.11.1\r\nConnection: close\r\n\r\n",
        )
        .await;
        let t = proxied("https://appliance.invalid:8443", format!("http://{addr}"));
        let e = t.get("/status").await.unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Proxy, "{e}");
        assert!(
            e.to_string()
                .contains("the proxy did not open a tunnel, CONNECT appliance.invalid:8443"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_forwarding_proxy_refusal_is_not_a_signature_or_permission_error() {
        for (answer, status) in [
            (
                &b"HTTP/1.0 401 Unauthorized\r\nServer: tinyproxy/1.11.1\r\nContent-Type: text/html\r\nWWW-Authenticate: Basic realm=\"Tinyproxy\"\r\nConnection: close\r\n\r\n<html><head><title>401 Unauthorized</title></head></html>"[..],
                "401",
            ),
            (
                &b"HTTP/1.0 403 Access denied\r\nServer: tinyproxy/1.11.1\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<html><head><title>403 Access denied</title></head></html>"[..],
                "403",
            ),
        ] {
            let (addr, head) = fake_proxy(answer).await;
            let t = proxied(
                "http://appliance.invalid:8080",
                format!("http://proxyuser:pr0xy-pw@{addr}"),
            );
            let e = t.get("/status").await.unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Proxy, "{status}: {e}");
            assert!(e.to_string().contains(&format!("HTTP {status}")), "{e}");
            assert!(!e.to_string().contains("pr0xy-pw"), "{e}");
            let head = head.await.unwrap().to_ascii_lowercase();
            assert!(
                head.starts_with("get http://appliance.invalid:8080/status "),
                "{head}"
            );
            assert!(head.contains("proxy-authorization: basic "), "{head}");
        }
    }

    #[test]
    fn truncated_json_is_transient() {
        let r = interpret(200, None, "/status", b"{\"version\": \"6.1".to_vec()).unwrap();
        assert!(r.json().unwrap_err().is_transient());
    }
}
