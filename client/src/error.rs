//! The errors the client reports (DECISIONS D13).
//!
//! Each failure is a distinct variant whose message says what happened and what to
//! do about it, because the people reading it are configuring an integration, not
//! debugging Rust. No variant carries a private token.

use std::fmt;

/// What went wrong talking to the appliance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// 400 `API SIGNATURE ERROR`: wrong key or secret, or a clock out of sync.
    #[error("Api signature Error: the appliance rejected the request signature ({body}). Check the API key (public token) and API secret (private token); if both are right, check that this machine's clock is in sync with UTC")]
    Signature {
        /// The appliance's body, e.g. `{"status": "API SIGNATURE ERROR"}` (compact).
        body: String,
    },
    /// 400 `API DATE ERROR`: the request date is outside the appliance's window.
    #[error("Api date Error: the appliance says the request time is out of range ({body}). This machine's clock and the appliance's differ by more than the allowed skew (30 minutes by default); sync both with NTP and sign in UTC")]
    Date {
        /// The appliance's body.
        body: String,
    },
    /// 302 to `/login`: no credentials reached the API, or the endpoint does not exist.
    #[error("redirected to /login: the appliance did not accept this as an API request to {target}. Check the host, port and protocol point at the Threat Visualizer API, and that no proxy strips the DTAPI headers")]
    LoginRedirect {
        /// The request target.
        target: String,
    },
    /// 302 to `/403`: the token lacks the permission for this endpoint.
    #[error("redirected to /403: the API token is valid but lacks the permission for {target}. Give the token's account access to this endpoint in System Config")]
    Forbidden {
        /// The request target.
        target: String,
    },
    /// The TLS handshake failed, usually because the certificate is not trusted.
    #[error("TLS error: {detail}. {}", tls_hint(detail))]
    Tls {
        /// The TLS library's reason.
        detail: String,
    },
    /// No answer within the configured timeout.
    #[error("timeout: no answer from the appliance within {seconds} s. Check that the appliance is reachable and not overloaded, or raise the timeout")]
    Timeout {
        /// The configured timeout.
        seconds: u64,
    },
    /// The connection was refused, or the host name did not resolve.
    #[error(
        "cannot connect to {url}: {detail}. Check the host and port, and that the appliance is up"
    )]
    Connect {
        /// The base URL.
        url: String,
        /// The reason.
        detail: String,
    },
    /// The connection broke mid-request (reset or closed early).
    #[error("connection reset: {detail}. The appliance or something between closed the connection; the request is retried")]
    Reset {
        /// The reason.
        detail: String,
    },
    /// The configured proxy failed or refused.
    #[error("proxy error: {detail}. Check the proxy URL and its credentials, and that it allows CONNECT to the appliance")]
    Proxy {
        /// The reason.
        detail: String,
    },
    /// A non-JSON or wrongly shaped answer (a proxy's HTML page, a truncated body).
    #[error("malformed response (HTTP {status}): {reason}; body starts {first_bytes:?}. Something other than the appliance may be answering (a proxy or load balancer): check the proxy and the host")]
    Malformed {
        /// The HTTP status.
        status: u16,
        /// What was wrong.
        reason: String,
        /// The first bytes of the body, lossily decoded.
        first_bytes: String,
    },
    /// A 5xx answer from the appliance (transient).
    #[error("server error: HTTP {status} from the appliance; body starts {first_bytes:?}. The request is retried")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The first bytes of the body.
        first_bytes: String,
    },
    /// 400 `INPUT ERROR`: the appliance refused a parameter.
    #[error("the appliance refused the request parameters: {message}")]
    Input {
        /// The appliance's `error` text.
        message: String,
    },
    /// Any other status.
    #[error("unexpected HTTP {status} from the appliance; body starts {first_bytes:?}")]
    Unexpected {
        /// The HTTP status.
        status: u16,
        /// The first bytes of the body.
        first_bytes: String,
    },
}

/// What to do about a TLS failure, by its cause.
fn tls_hint(detail: &str) -> &'static str {
    if detail.contains("NotValidForName") || detail.contains("not valid for name") {
        "The certificate is for another host name: connect with the name the certificate was issued for, or have the appliance's certificate reissued for this name (or turn off verification, verify_ssl = false)"
    } else if detail.contains("Expired")
        || detail.contains("expired")
        || detail.contains("NotValidYet")
        // rustls 0.23 writes `NotValidYet` as "certificate not valid yet: ...".
        || detail.contains("not valid yet")
    {
        "The certificate is outside its validity period: renew it, or check this machine's clock (or turn off verification, verify_ssl = false)"
    } else {
        "Trust the appliance's CA (ca_file) or turn off certificate verification (verify_ssl = false)"
    }
}

/// A short machine-readable name for each error, used in reports and JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    Signature,
    Date,
    LoginRedirect,
    Forbidden,
    Tls,
    Timeout,
    Connect,
    Reset,
    Proxy,
    Malformed,
    Server,
    Input,
    Unexpected,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = serde_json::to_value(self).ok();
        f.write_str(s.as_ref().and_then(|v| v.as_str()).unwrap_or("unknown"))
    }
}

impl ClientError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ClientError::Signature { .. } => ErrorKind::Signature,
            ClientError::Date { .. } => ErrorKind::Date,
            ClientError::LoginRedirect { .. } => ErrorKind::LoginRedirect,
            ClientError::Forbidden { .. } => ErrorKind::Forbidden,
            ClientError::Tls { .. } => ErrorKind::Tls,
            ClientError::Timeout { .. } => ErrorKind::Timeout,
            ClientError::Connect { .. } => ErrorKind::Connect,
            ClientError::Reset { .. } => ErrorKind::Reset,
            ClientError::Proxy { .. } => ErrorKind::Proxy,
            ClientError::Malformed { .. } => ErrorKind::Malformed,
            ClientError::Server { .. } => ErrorKind::Server,
            ClientError::Input { .. } => ErrorKind::Input,
            ClientError::Unexpected { .. } => ErrorKind::Unexpected,
        }
    }

    /// Whether retrying the same request may succeed (D13: timeouts, 5xx, resets;
    /// a truncated body counts as a reset).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ClientError::Timeout { .. } | ClientError::Server { .. } | ClientError::Reset { .. }
        ) || matches!(self, ClientError::Malformed { status, reason, .. } if reason.starts_with("truncated") || *status >= 500)
    }
}

/// The first bytes of a body, for error messages.
pub(crate) fn first_bytes(body: &[u8]) -> String {
    const N: usize = 120;
    let cut = &body[..body.len().min(N)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if body.len() > N {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(detail: &str) -> String {
        ClientError::Tls {
            detail: detail.into(),
        }
        .to_string()
    }

    /// The hints for rustls 0.23's own wording of each certificate error (as reqwest
    /// reports them), not only for their `Debug` names.
    #[test]
    fn d13_tls_hint_follows_the_rustls_message() {
        let wrong_host = tls("client error (Connect): invalid peer certificate: certificate not valid for name \"127.0.0.1\"; certificate is only valid for DnsName(\"darktrace.example.invalid\")");
        assert!(wrong_host.contains("for another host name"), "{wrong_host}");
        let expired = tls("client error (Connect): invalid peer certificate: certificate expired: verification time 1795870138 (UNIX), but certificate is not valid after 1795783738 (86400 seconds ago)");
        assert!(expired.contains("outside its validity period"), "{expired}");
        // Was given the untrusted-CA hint: the check only knew the Debug name.
        let not_yet = tls("client error (Connect): invalid peer certificate: certificate not valid yet: verification time 1795870138 (UNIX), but certificate is not valid before 1795956538 (86400 seconds in future)");
        assert!(not_yet.contains("outside its validity period"), "{not_yet}");
        let unknown = tls("client error (Connect): invalid peer certificate: UnknownIssuer");
        assert!(
            unknown.contains("Trust the appliance's CA (ca_file)"),
            "{unknown}"
        );
        for m in [wrong_host, expired, not_yet, unknown] {
            assert!(
                m.starts_with("TLS error: ") && m.contains("verify_ssl = false"),
                "{m}"
            );
        }
    }
}
