//! Shared fixtures: real requests signed with dt_protocol::sign, written out in each
//! capture format.

#![allow(dead_code)]

use dt_explain::{explain, explain_with, parse_any, Captured, ExplainOptions, Explanation};
use dt_protocol::{sign, Secret};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

pub const PUB: &str = "5d1c0ffee0public7a3b";
pub const PRIV: &str = "Zq7-private-Xk29-LmNo";
pub const DATE: &str = "20200415T133400";
pub const NOW: OffsetDateTime = datetime!(2020-04-15 13:34:00 UTC);
pub const HOST: &str = "dt.example.com";

pub fn secret() -> Secret {
    Secret::new(PRIV)
}

pub fn skew() -> Duration {
    Duration::minutes(30)
}

/// Signs `signed_target` (the client's, possibly wrong, string) with the real pair.
pub fn sig(signed_target: &str) -> String {
    sign(&secret(), signed_target, PUB, DATE)
}

/// A request as the client sent it.
pub struct Req<'a> {
    pub method: &'a str,
    /// Path and query as on the wire.
    pub target: &'a str,
    pub token: &'a str,
    pub date: &'a str,
    pub signature: String,
    pub body: &'a str,
}

impl<'a> Req<'a> {
    pub fn get(target: &'a str, signature: String) -> Self {
        Req {
            method: "GET",
            target,
            token: PUB,
            date: DATE,
            signature,
            body: "",
        }
    }

    pub fn post(target: &'a str, body: &'a str, signature: String) -> Self {
        Req {
            method: "POST",
            target,
            token: PUB,
            date: DATE,
            signature,
            body,
        }
    }

    pub fn date(mut self, date: &'a str) -> Self {
        self.date = date;
        self
    }

    pub fn token(mut self, token: &'a str) -> Self {
        self.token = token;
        self
    }

    pub fn method(mut self, method: &'a str) -> Self {
        self.method = method;
        self
    }

    /// As a curl command line, the way a customer pastes it.
    pub fn curl(&self) -> String {
        let mut s = format!(
            "curl -sSk -X {} \\\n  'https://{HOST}{}' \\\n  -H 'DTAPI-Token: {}' \\\n  -H \"DTAPI-Date: {}\" \\\n  --header 'DTAPI-Signature: {}'",
            self.method, self.target, self.token, self.date, self.signature
        );
        if !self.body.is_empty() {
            s.push_str(&format!(
                " \\\n  -H 'Content-Type: application/json' --data-raw '{}'",
                self.body.replace('\'', "'\\''")
            ));
        }
        s
    }

    /// As a raw HTTP/1.1 request.
    pub fn http(&self) -> String {
        let mut s = format!(
            "{} {} HTTP/1.1\r\nHost: {HOST}\r\nDTAPI-Token: {}\r\nDTAPI-Date: {}\r\nDTAPI-Signature: {}\r\n",
            self.method, self.target, self.token, self.date, self.signature
        );
        if !self.body.is_empty() {
            s.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        s.push_str("\r\n");
        s.push_str(self.body);
        s
    }

    /// As a HAR file with an unrelated entry first.
    pub fn har(&self) -> String {
        let mut request = serde_json::json!({
            "method": self.method,
            "url": format!("https://{HOST}{}", self.target),
            "httpVersion": "HTTP/1.1",
            "headers": [
                {"name": "Host", "value": HOST},
                {"name": "DTAPI-Token", "value": self.token},
                {"name": "DTAPI-Date", "value": self.date},
                {"name": "DTAPI-Signature", "value": self.signature},
            ],
        });
        if !self.body.is_empty() {
            request["postData"] =
                serde_json::json!({"mimeType": "application/json", "text": self.body});
        }
        serde_json::json!({"log": {"version": "1.2", "entries": [
            {"request": {"method": "GET", "url": format!("https://{HOST}/favicon.ico"), "headers": []}},
            {"request": request},
        ]}})
        .to_string()
    }

    /// The three headers and the target given separately.
    pub fn parts(&self) -> Captured {
        Captured::from_headers(
            self.method,
            self.target,
            Some(self.token),
            Some(self.date),
            Some(&self.signature),
            self.body.as_bytes(),
        )
    }
}

/// Explains a pasted capture with the real secret.
pub fn explain_text(text: &str) -> Explanation {
    let c = parse_any(text).unwrap_or_else(|e| panic!("capture did not parse: {e}\n{text}"));
    explain(&c, Some(&secret()), None, NOW, skew())
}

pub fn explain_captured(c: &Captured) -> Explanation {
    explain(c, Some(&secret()), None, NOW, skew())
}

pub fn explain_hinted(c: &Captured, prefixes: &[&str]) -> Explanation {
    explain_with(
        c,
        &ExplainOptions {
            secret: Some(&secret()),
            known_public: None,
            server_time: NOW,
            max_skew: skew(),
            prefixes,
        },
    )
}

/// The mistake id, or a readable failure with the whole explanation.
pub fn mistake_id(ex: &Explanation) -> &'static str {
    match &ex.mistake {
        Some(m) => m.id.as_str(),
        None => panic!("no mistake named:\n{}", ex.render_text()),
    }
}

/// Asserts that nothing an explanation shows contains the private token.
pub fn assert_no_secret(ex: &Explanation, secret: &str) {
    let text = ex.render_text();
    let json = serde_json::to_string(ex).unwrap();
    let debug = format!("{ex:?} {ex:#?}");
    for (what, s) in [("render_text", &text), ("json", &json), ("debug", &debug)] {
        assert!(!s.contains(secret), "{what} leaks the secret:\n{s}");
    }
    if let Some(m) = &ex.mistake {
        let md = format!("{m:?} {}", serde_json::to_string(m).unwrap());
        assert!(!md.contains(secret), "mistake leaks the secret: {md}");
    }
}
