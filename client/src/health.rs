//! The connectivity test (the platform's Health Check).
//!
//! MSI calls `GET /status`; legacy calls `GET /devices?seensince=7days` (D9). The
//! answer is Healthy with the appliance's version, or Unhealthy with the D13 error.

use serde::Serialize;

use crate::config::Mode;
use crate::error::ClientError;
use crate::transport::Transport;

/// The outcome of a connectivity test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "health", rename_all = "lowercase")]
pub enum Health {
    /// The appliance answered and accepted the credentials.
    Healthy {
        /// The appliance's version, when the endpoint reports it.
        #[serde(skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        /// The endpoint called.
        endpoint: String,
    },
    /// The test failed.
    Unhealthy {
        /// The endpoint called.
        endpoint: String,
        /// The error's kind.
        kind: String,
        /// The error, with what to do about it.
        error: String,
    },
}

/// The endpoint the test calls for a mode.
pub fn endpoint(mode: Mode) -> &'static str {
    match mode {
        Mode::Msi => "/status",
        Mode::Legacy => "/devices?seensince=7days",
    }
}

/// Runs the test.
pub async fn check(transport: &Transport, mode: Mode) -> Health {
    let endpoint = endpoint(mode).to_string();
    match probe(transport, &endpoint, mode).await {
        Ok(version) => Health::Healthy { version, endpoint },
        Err(e) => Health::Unhealthy {
            endpoint,
            kind: e.kind().to_string(),
            error: e.to_string(),
        },
    }
}

async fn probe(
    transport: &Transport,
    endpoint: &str,
    mode: Mode,
) -> Result<Option<String>, ClientError> {
    let resp = transport.get(endpoint).await?;
    let v = resp.json()?;
    let shape_ok = match mode {
        Mode::Msi => v.is_object(),
        Mode::Legacy => v.is_array(),
    };
    if !shape_ok {
        return Err(ClientError::Malformed {
            status: resp.status,
            reason: format!("{endpoint} answered JSON of the wrong shape"),
            first_bytes: crate::error::first_bytes(&resp.body),
        });
    }
    Ok(v.get("version").and_then(|x| x.as_str()).map(str::to_owned))
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Health::Healthy {
                version: Some(v), ..
            } => write!(f, "Healthy: Darktrace {v}"),
            Health::Healthy {
                version: None,
                endpoint,
            } => write!(f, "Healthy: {endpoint} answered"),
            Health::Unhealthy { error, .. } => write!(f, "Unhealthy: {error}"),
        }
    }
}
