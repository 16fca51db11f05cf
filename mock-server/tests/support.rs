//! Test helpers: an in-process mock and a raw HTTP client.

use std::net::SocketAddr;

use dt_mock::{Mock, MockClock, MockConfig, TokenSet};
use dt_protocol::{sign, DateFormat, Secret};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

pub const PUB: &str = "PUBTOKEN";
pub const PRIV: &str = "PRIVTOKEN";

/// A running mock; dropping it shuts the server down.
pub struct Running {
    pub addr: SocketAddr,
    pub state: dt_mock::AppState,
    _stop: oneshot::Sender<()>,
}

pub async fn start(config: MockConfig) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mock = Mock::new(config);
    let state = mock.state().clone();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(mock.serve(listener, async {
        let _ = rx.await;
    }));
    Running {
        addr,
        state,
        _stop: tx,
    }
}

/// A mock with one token pair and a manual clock at `now`.
pub async fn start_at(now: OffsetDateTime) -> Running {
    let tokens = TokenSet::parse_pairs([format!("{PUB}:{PRIV}").as_str()]).unwrap();
    start(MockConfig::new(tokens, MockClock::manual(now))).await
}

/// A raw response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Sends exactly these bytes of request head (and body), and reads the answer.
pub async fn raw(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(req.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.unwrap();
    parse_response(&buf)
}

pub fn parse_response(buf: &[u8]) -> RawResponse {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(": ")
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    RawResponse {
        status,
        headers,
        body: buf[split + 4..].to_vec(),
    }
}

/// A signed GET at the mock's idea of `now`.
pub async fn signed_get(addr: SocketAddr, target: &str, now: OffsetDateTime) -> RawResponse {
    let date = DateFormat::Compact.format(now);
    let sig = sign(&Secret::new(PRIV), target, PUB, &date);
    raw(
        addr,
        "GET",
        target,
        &[
            ("DTAPI-Token", PUB),
            ("DTAPI-Date", &date),
            ("DTAPI-Signature", &sig),
        ],
        b"",
    )
    .await
}
