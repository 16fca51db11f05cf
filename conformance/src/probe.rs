//! Requests the cases send, signed correctly or broken on purpose, and the record
//! of what came back.

use dt_protocol::{sign, DateFormat, Secret};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

/// How a probe is signed.
#[derive(Debug, Clone)]
pub enum Signing {
    /// Correctly, over the target as sent (or `path?body` for a body).
    Correct,
    /// Over this string instead of what is sent (a re-sorted or decoded query).
    Over(String),
    /// With another private token.
    WrongSecret,
    /// With a public token the appliance does not know.
    UnknownToken,
    /// No DTAPI headers at all.
    Unsigned,
}

/// The `DTAPI-Date` a probe carries.
#[derive(Debug, Clone)]
pub enum DateSpec {
    /// The current UTC time shifted by an offset, in a format.
    Now(Duration, DateFormat),
    /// A literal value.
    Literal(String),
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Probe {
    /// HTTP method.
    pub method: &'static str,
    /// Path and query exactly as sent.
    pub target: String,
    /// A JSON body.
    pub body: Option<String>,
    /// How it is signed.
    pub signing: Signing,
    /// Its date.
    pub date: DateSpec,
}

impl Probe {
    /// A correctly signed GET with the current time in compact form.
    pub fn get(target: impl Into<String>) -> Self {
        Probe {
            method: "GET",
            target: target.into(),
            body: None,
            signing: Signing::Correct,
            date: DateSpec::Now(Duration::ZERO, DateFormat::Compact),
        }
    }

    /// A correctly signed JSON POST.
    pub fn post_json(target: impl Into<String>, body: impl Into<String>) -> Self {
        Probe {
            method: "POST",
            body: Some(body.into()),
            ..Probe::get(target)
        }
    }

    /// Signs differently.
    pub fn signing(mut self, s: Signing) -> Self {
        self.signing = s;
        self
    }

    /// Dates differently.
    pub fn date(mut self, d: DateSpec) -> Self {
        self.date = d;
        self
    }

    /// The string the signature covers, when signed correctly.
    pub fn natural_signed_target(&self) -> String {
        match &self.body {
            Some(b) => format!("{}?{b}", self.target.split('?').next().unwrap_or("")),
            None => match self.target.strip_suffix('?') {
                Some(bare) => bare.to_string(),
                None => self.target.clone(),
            },
        }
    }

    /// The headers to send, computed from the credentials and `now`.
    pub fn headers(
        &self,
        api_key: &str,
        api_secret: &Secret,
        now: OffsetDateTime,
    ) -> (Vec<(String, String)>, String, String) {
        let date = match &self.date {
            DateSpec::Now(off, fmt) => fmt.format(now + *off),
            DateSpec::Literal(s) => s.clone(),
        };
        let signed = match &self.signing {
            Signing::Over(s) => s.clone(),
            _ => self.natural_signed_target(),
        };
        let (public, secret) = match &self.signing {
            Signing::WrongSecret => (
                api_key.to_string(),
                Secret::new(format!("{}-wrong", api_secret.expose_secret().len())),
            ),
            Signing::UnknownToken => (
                "dt-conformance-unknown-token".to_string(),
                api_secret.clone(),
            ),
            _ => (api_key.to_string(), api_secret.clone()),
        };
        if matches!(self.signing, Signing::Unsigned) {
            return (vec![], signed, date);
        }
        let sig = sign(&secret, &signed, &public, &date);
        (
            vec![
                ("DTAPI-Token".to_string(), public),
                ("DTAPI-Date".to_string(), date.clone()),
                ("DTAPI-Signature".to_string(), sig),
            ],
            signed,
            date,
        )
    }
}

/// A request and its answer, for assertions and failure reports. It holds no
/// private token: only what went over the wire.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    /// HTTP method.
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Path and query as sent.
    pub target: String,
    /// The string the signature covered.
    pub signed_target: String,
    /// Request headers sent (DTAPI triplet).
    pub request_headers: Vec<(String, String)>,
    /// The request body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    /// Response status.
    pub status: u16,
    /// Response `Content-Type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Response `Location`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Response body (lossy UTF-8).
    pub body: String,
}

impl Exchange {
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// A short description of the answer.
    pub fn summary(&self) -> String {
        let mut body = self.body.clone();
        if body.len() > 200 {
            let mut cut = 200;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
            body.push('…');
        }
        format!(
            "HTTP {} {} {:?}",
            self.status,
            self.content_type.as_deref().unwrap_or("-"),
            body
        )
    }

    /// A curl command that sends exactly this request (valid while its date is in
    /// the appliance's window).
    pub fn curl(&self) -> String {
        let mut cmd = format!("curl -sS -i -k -X {} '{}'", self.method, self.url);
        for (k, v) in &self.request_headers {
            cmd.push_str(&format!(" -H '{k}: {v}'"));
        }
        if let Some(b) = &self.request_body {
            cmd.push_str(&format!(
                " -H 'Content-Type: application/json' --data-raw '{}'",
                b.replace('\'', "'\\''")
            ));
        }
        cmd
    }

    /// The `dt-client sign` command that recomputes the signature now (the secret
    /// comes from `DT_API_SECRET`).
    pub fn resign_command(&self, base_url: &str) -> String {
        let date = self
            .request_headers
            .iter()
            .find(|(k, _)| k == "DTAPI-Date")
            .map(|_| "now")
            .unwrap_or("now");
        let mut cmd = format!(
            "DT_API_KEY=... DT_API_SECRET=... dt-client sign --method {} --target '{}' --date {date} --curl '{}'",
            self.method, self.target, base_url
        );
        if let Some(b) = &self.request_body {
            cmd.push_str(&format!(" --body '{}'", b.replace('\'', "'\\''")));
        }
        cmd
    }
}
