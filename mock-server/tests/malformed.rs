//! Malformed HTTP over raw TCP: every request gets a 4xx or a closed connection,
//! never a 5xx, a panic or a stuck worker, and the mock keeps serving afterwards.
//!
//! Each test ends by checking that a normal signed request still gets its 200.
//! The figures in RELIABILITY.md ("Malformed HTTP") come from these tests.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dt_mock::{Limits, MockClock, MockConfig, TokenSet};
use dt_protocol::{sign, DateFormat, Secret};
use time::macros::datetime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::support::{parse_response, signed_get, start, start_at, RawResponse, PRIV, PUB};

const NOW: time::OffsetDateTime = datetime!(2024-05-01 12:00:00 UTC);

/// How long any exchange may take before the test calls the mock stuck.
const PATIENCE: Duration = Duration::from_secs(15);

/// What a raw exchange came to.
#[derive(Debug)]
enum Outcome {
    /// An HTTP answer.
    Answer(RawResponse),
    /// The mock closed (or reset) the connection without answering.
    Closed,
}

impl Outcome {
    /// The status, if the mock answered.
    fn status(&self) -> Option<u16> {
        match self {
            Outcome::Answer(r) => Some(r.status),
            Outcome::Closed => None,
        }
    }

    /// A 4xx answer or a closed connection: never 5xx, never a success. Prints the
    /// outcome (`cargo test -p dt-mock --test mock malformed -- --nocapture`).
    #[track_caller]
    fn assert_4xx_or_closed(&self, case: &str) {
        match self {
            Outcome::Answer(r) => println!("malformed: {case} -> {}", r.status),
            Outcome::Closed => println!("malformed: {case} -> closed"),
        }
        if let Outcome::Answer(r) = self {
            assert!(
                (400..500).contains(&r.status),
                "{case}: expected a 4xx or a close, got {} {}",
                r.status,
                r.text()
            );
        }
    }
}

/// A mock with tokens PUB:PRIV, a manual clock at NOW and these limits.
async fn start_with(limits: Limits) -> crate::support::Running {
    let tokens = TokenSet::parse_pairs([format!("{PUB}:{PRIV}").as_str()]).unwrap();
    let mut config = MockConfig::new(tokens, MockClock::manual(NOW));
    config.limits = limits;
    start(config).await
}

/// A request head (and body) from raw bytes, with `Host` and `Connection: close`.
fn request(method: &str, target: &[u8], headers: &[(&[u8], &[u8])], body: &[u8]) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(method.as_bytes());
    r.push(b' ');
    r.extend_from_slice(target);
    r.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        r.extend_from_slice(k);
        r.extend_from_slice(b": ");
        r.extend_from_slice(v);
        r.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() {
        r.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    r.extend_from_slice(b"\r\n");
    r.extend_from_slice(body);
    r
}

/// The three DTAPI headers for `target`, signed with `secret`.
fn dtapi(target: &str, secret: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let date = DateFormat::Compact.format(NOW);
    let sig = sign(&Secret::new(secret), target, PUB, &date);
    vec![
        (b"DTAPI-Token".to_vec(), PUB.as_bytes().to_vec()),
        (b"DTAPI-Date".to_vec(), date.into_bytes()),
        (b"DTAPI-Signature".to_vec(), sig.into_bytes()),
    ]
}

fn refs(h: &[(Vec<u8>, Vec<u8>)]) -> Vec<(&[u8], &[u8])> {
    h.iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect()
}

/// Sends `bytes` (ignoring write errors: the mock may close first), optionally
/// half-closes, and reads until the mock closes. Fails if that takes longer than
/// [`PATIENCE`].
async fn exchange(addr: SocketAddr, bytes: Vec<u8>, half_close: bool) -> Outcome {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&bytes).await;
        if half_close {
            let _ = wr.shutdown().await;
        }
        wr
    });
    let mut buf = Vec::new();
    let read = timeout(PATIENCE, async {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match rd.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the mock neither answered nor closed in time");
    drop(writer.await);
    if buf.windows(4).any(|w| w == b"\r\n\r\n") {
        Outcome::Answer(parse_response(&buf))
    } else {
        assert!(
            buf.is_empty(),
            "a partial answer: {:?}",
            String::from_utf8_lossy(&buf)
        );
        Outcome::Closed
    }
}

/// A normal signed request still gets its 200, promptly.
async fn still_serves(addr: SocketAddr) {
    let r = timeout(Duration::from_secs(5), signed_get(addr, "/status", NOW))
        .await
        .expect("a signed /status answered within 5 s");
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn oversized_header_is_431_or_closed() {
    let m = start_at(NOW).await;
    let big = vec![b'a'; 70 * 1024];
    let req = request("GET", b"/status", &[(b"X-Big", &big)], b"");
    let out = exchange(m.addr, req, false).await;
    out.assert_4xx_or_closed("70 KiB header");
    if let Some(s) = out.status() {
        assert_eq!(s, 431);
    }
    // Many small headers adding up past the limit, and more headers than hyper takes.
    let many: Vec<(Vec<u8>, Vec<u8>)> = (0..200)
        .map(|i| (format!("X-H{i}").into_bytes(), vec![b'v'; 8]))
        .collect();
    let out = exchange(m.addr, request("GET", b"/status", &refs(&many), b""), false).await;
    out.assert_4xx_or_closed("200 headers");
    still_serves(m.addr).await;
}

#[tokio::test]
async fn oversized_target_is_4xx_or_closed() {
    let m = start_at(NOW).await;
    let mut target = b"/status?x=".to_vec();
    target.extend(std::iter::repeat_n(b'a', 100 * 1024));
    let out = exchange(m.addr, request("GET", &target, &[], b""), false).await;
    out.assert_4xx_or_closed("100 KB target");
    // A long target that fits the limits is verified as usual.
    let long = format!("/devices?x={}", "b".repeat(30 * 1024));
    let h = dtapi(&long, PRIV);
    let out = exchange(
        m.addr,
        request("GET", long.as_bytes(), &refs(&h), b""),
        false,
    )
    .await;
    assert!(matches!(out.status(), Some(s) if s < 500), "{out:?}");
    let h = dtapi(&long, "wrong");
    let out = exchange(
        m.addr,
        request("GET", long.as_bytes(), &refs(&h), b""),
        false,
    )
    .await;
    assert_eq!(out.status(), Some(400), "{out:?}");
    still_serves(m.addr).await;
}

#[tokio::test]
async fn invalid_utf8_in_the_target_and_headers_is_4xx() {
    let m = start_at(NOW).await;
    for target in [
        &b"/status?x=\xff\xfe"[..],
        b"/st\xc3\x28tus",
        b"/devices?ip=\x80",
    ] {
        let out = exchange(m.addr, request("GET", target, &[], b""), false).await;
        out.assert_4xx_or_closed(&String::from_utf8_lossy(target));
    }
    // Invalid UTF-8 in each DTAPI header value of an otherwise signed request.
    for i in 0..3 {
        let mut h = dtapi("/status", PRIV);
        h[i].1.extend_from_slice(b"\xff\xfe");
        let out = exchange(m.addr, request("GET", b"/status", &refs(&h), b""), false).await;
        out.assert_4xx_or_closed("invalid UTF-8 in a DTAPI header");
        let want: &[u8] = if i == 1 {
            b"{\n  \"status\": \"API DATE ERROR\"\n}"
        } else {
            b"{\n  \"status\": \"API SIGNATURE ERROR\"\n}"
        };
        match out {
            Outcome::Answer(r) => assert_eq!(r.body, want, "header {i}: {}", r.text()),
            Outcome::Closed => panic!("header {i}: no answer"),
        }
    }
    // Invalid bytes in a header name, and a bare control character in a value.
    for (name, value) in [
        (&b"X-\xffName"[..], &b"v"[..]),
        (b"X-Ctl", b"a\x00b"),
        (b"Bad Name", b"v"),
    ] {
        let out = exchange(
            m.addr,
            request("GET", b"/status", &[(name, value)], b""),
            false,
        )
        .await;
        out.assert_4xx_or_closed("bad header bytes");
    }
    // The journal kept what it could, lossily.
    assert!(m.state.journal.len() >= 3);
    still_serves(m.addr).await;
}

#[tokio::test]
async fn invalid_percent_encoding_is_a_signature_error_not_a_500() {
    let m = start_at(NOW).await;
    for target in [
        "/devices?ip=%zz",
        "/devices?ip=%",
        "/devices?ip=%4",
        "/details?did=%ff%fe&starttime=%&endtime=1",
        "/modelbreaches?starttime=%%%",
        "/advancedsearch/api/search/%zz%",
    ] {
        let h = dtapi(target, "wrong");
        let out = exchange(
            m.addr,
            request("GET", target.as_bytes(), &refs(&h), b""),
            false,
        )
        .await;
        let segment = target[1..].split(['/', '?']).next().unwrap();
        match &out {
            Outcome::Answer(r) => {
                assert_eq!(r.status, 400, "{target}");
                assert_eq!(
                    r.text(),
                    format!("{{\n  \"{segment}\": \"API SIGNATURE ERROR\"\n}}"),
                    "{target}"
                );
            }
            Outcome::Closed => panic!("{target}: no answer"),
        }
        // Signed correctly, the handler reads the escapes leniently: no 5xx.
        let h = dtapi(target, PRIV);
        let out = exchange(
            m.addr,
            request("GET", target.as_bytes(), &refs(&h), b""),
            false,
        )
        .await;
        assert!(
            matches!(out.status(), Some(s) if s < 500),
            "{target}: {out:?}"
        );
    }
    still_serves(m.addr).await;
}

#[tokio::test]
async fn duplicate_dtapi_headers_are_rejected() {
    let m = start_at(NOW).await;
    let sig_err: &[u8] = b"{\n  \"status\": \"API SIGNATURE ERROR\"\n}";
    let date_err: &[u8] = b"{\n  \"status\": \"API DATE ERROR\"\n}";
    for (dup, want) in [(0, sig_err), (1, date_err), (2, sig_err)] {
        let mut h = dtapi("/status", PRIV);
        // The same header twice, with the same value: still refused (joined ", ").
        h.push(h[dup].clone());
        let out = exchange(m.addr, request("GET", b"/status", &refs(&h), b""), false).await;
        match out {
            Outcome::Answer(r) => {
                assert_eq!(r.status, 400, "duplicate {dup}");
                assert_eq!(r.body, want, "duplicate {dup}: {}", r.text());
            }
            Outcome::Closed => panic!("duplicate {dup}: no answer"),
        }
    }
    // Two signatures, one right and one wrong, in either order.
    let good = dtapi("/status", PRIV);
    let bad = dtapi("/status", "wrong");
    for order in [[&good[2], &bad[2]], [&bad[2], &good[2]]] {
        let h = vec![
            good[0].clone(),
            good[1].clone(),
            order[0].clone(),
            order[1].clone(),
        ];
        let out = exchange(m.addr, request("GET", b"/status", &refs(&h), b""), false).await;
        assert_eq!(out.status(), Some(400), "{out:?}");
    }
    still_serves(m.addr).await;
}

#[tokio::test]
async fn dates_at_the_edge_of_the_calendar_are_date_errors() {
    let m = start_at(NOW).await;
    // Year 9999 with a negative offset is year 10000 in UTC; found by the `date`
    // fuzz target (a panic in the parser before the fix).
    for date in [
        "9999-12-31T23:59:59-01:00",
        "9999-12-31 23:59:59",
        "0000-01-01T00:00:00+23:59",
        "99991231T235959",
    ] {
        let sig = sign(&Secret::new(PRIV), "/status", PUB, date);
        let h = [
            (&b"DTAPI-Token"[..], PUB.as_bytes()),
            (b"DTAPI-Date", date.as_bytes()),
            (b"DTAPI-Signature", sig.as_bytes()),
        ];
        let out = exchange(m.addr, request("GET", b"/status", &h, b""), false).await;
        match out {
            Outcome::Answer(r) => {
                assert_eq!(r.status, 400, "{date}");
                assert_eq!(r.body, b"{\n  \"status\": \"API DATE ERROR\"\n}", "{date}");
            }
            Outcome::Closed => panic!("{date}: the connection closed without an answer"),
        }
    }
    still_serves(m.addr).await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_or_closed() {
    let m = start_at(NOW).await;
    let target = "/advancedsearch/api/search";
    let h = dtapi(target, PRIV);
    // Content-Length with the whole body.
    let body = vec![b'x'; 1024 * 1024 + 1];
    let out = exchange(
        m.addr,
        request("POST", target.as_bytes(), &refs(&h), &body),
        false,
    )
    .await;
    out.assert_4xx_or_closed("1 MiB + 1 body");
    if let Some(s) = out.status() {
        assert_eq!(s, 413);
    }
    // A huge Content-Length and no body at all: refused without waiting for it.
    let mut req = request("POST", target.as_bytes(), &refs(&h), b"");
    req.truncate(req.len() - 2);
    req.extend_from_slice(b"Content-Length: 99999999999\r\n\r\n");
    let started = Instant::now();
    let out = exchange(m.addr, req, false).await;
    assert_eq!(
        out.status(),
        Some(413),
        "Content-Length 99999999999: {out:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // A chunked body past the limit.
    let mut req = request("POST", target.as_bytes(), &refs(&h), b"");
    req.truncate(req.len() - 2);
    req.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
    for _ in 0..20 {
        req.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        req.extend(std::iter::repeat_n(b'y', 64 * 1024));
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let out = exchange(m.addr, req, false).await;
    out.assert_4xx_or_closed("1.25 MiB chunked body");
    // The admin API has its own bound.
    let big = vec![b' '; 3 * 1024 * 1024];
    let out = exchange(m.addr, request("POST", b"/_mock/faults", &[], &big), false).await;
    out.assert_4xx_or_closed("3 MiB admin body");
    still_serves(m.addr).await;
}

#[tokio::test]
async fn truncated_bodies_do_not_disturb_the_mock() {
    let m = start_at(NOW).await;
    let target = "/advancedsearch/api/search";
    let h = dtapi(target, PRIV);
    let mut req = request("POST", target.as_bytes(), &refs(&h), b"");
    req.truncate(req.len() - 2);
    req.extend_from_slice(b"Content-Length: 100\r\n\r\n{\"hash\":");
    // Half-closed after 8 of 100 bytes: an answer or a close, never a 5xx.
    let out = exchange(m.addr, req.clone(), true).await;
    out.assert_4xx_or_closed("truncated body, half-closed");
    if let Some(s) = out.status() {
        assert_eq!(s, 400);
    }
    // Gone altogether after 8 bytes.
    {
        let mut s = TcpStream::connect(m.addr).await.unwrap();
        s.write_all(&req).await.unwrap();
    }
    // A truncated chunked body.
    let mut req = request("POST", target.as_bytes(), &refs(&h), b"");
    req.truncate(req.len() - 2);
    req.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n10\r\n{\"ha");
    let out = exchange(m.addr, req, true).await;
    out.assert_4xx_or_closed("truncated chunked body");
    still_serves(m.addr).await;
}

#[tokio::test]
async fn a_stalled_body_is_cut_off_by_the_body_timeout() {
    let m = start_with(Limits {
        body_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let target = "/advancedsearch/api/search";
    let h = dtapi(target, PRIV);
    let mut req = request("POST", target.as_bytes(), &refs(&h), b"");
    req.truncate(req.len() - 2);
    req.extend_from_slice(b"Content-Length: 100\r\n\r\n{\"hash\":");
    // 8 of 100 bytes, then nothing (the connection stays open).
    let started = Instant::now();
    let out = exchange(m.addr, req.clone(), false).await;
    assert_eq!(out.status(), Some(400), "{out:?}");
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(3),
        "answered after {elapsed:?}"
    );
    let e = m.state.journal.all().pop().unwrap();
    assert_eq!(e.status, 400);
    assert_eq!(
        e.reason.as_deref(),
        Some("body incomplete or not received in time")
    );
    // The admin API's bodies have the same deadline.
    let out = exchange(
        m.addr,
        b"POST /_mock/faults HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{".to_vec(),
        false,
    )
    .await;
    out.assert_4xx_or_closed("a stalled admin body");
    still_serves(m.addr).await;
}

#[tokio::test]
async fn trickled_headers_are_cut_off_by_the_header_timeout() {
    let m = start_with(Limits {
        header_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let mut s = TcpStream::connect(m.addr).await.unwrap();
    let started = Instant::now();
    s.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    // One byte every 100 ms until the mock gives up on us (or 5 s pass).
    let mut closed = false;
    let mut answer = Vec::new();
    while started.elapsed() < Duration::from_secs(5) {
        if s.write_all(b"a").await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 1024];
        match timeout(Duration::from_millis(100), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    let elapsed = started.elapsed();
    assert!(closed, "still open after {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(3),
        "closed only after {elapsed:?}"
    );
    if !answer.is_empty() {
        let r = parse_response(&answer);
        assert!((400..500).contains(&r.status), "{}", r.status);
    }

    // A connection that never sends a byte is closed too.
    let mut idle = TcpStream::connect(m.addr).await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let r = timeout(Duration::from_secs(5), idle.read(&mut buf)).await;
    assert!(
        r.is_ok(),
        "an idle connection was still open after 5 s (header timeout 300 ms)"
    );
    if let Ok(Ok(n)) = r {
        if n > 0 {
            let resp = parse_response(&buf[..n]);
            assert!((400..500).contains(&resp.status), "{}", resp.status);
        }
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    still_serves(m.addr).await;
}

#[tokio::test]
async fn five_hundred_held_connections_do_not_block_a_signed_request() {
    let m = start_at(NOW).await;
    let mut held = Vec::with_capacity(500);
    for i in 0..500 {
        let mut s = TcpStream::connect(m.addr).await.unwrap();
        // Half of them idle, half stuck in the middle of a request head.
        if i % 2 == 0 {
            s.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        held.push(s);
    }
    let started = Instant::now();
    still_serves(m.addr).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a signed /status took {:?} with 500 connections held",
        started.elapsed()
    );
    drop(held);
    still_serves(m.addr).await;
}

#[tokio::test]
async fn connections_past_the_cap_wait_and_are_then_served() {
    let m = start_with(Limits {
        max_connections: 8,
        header_timeout: Duration::from_secs(8),
        ..Limits::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut s = TcpStream::connect(m.addr).await.unwrap();
        s.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    // Give the accept loop time to take all eight.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let addr = m.addr;
    let mut waiting = tokio::spawn(async move { signed_get(addr, "/status", NOW).await });
    assert!(
        timeout(Duration::from_millis(500), &mut waiting)
            .await
            .is_err(),
        "the ninth connection was served while eight were held"
    );
    let released = Instant::now();
    drop(held);
    let r = timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the waiting request was served once the others closed")
        .unwrap();
    assert_eq!(r.status, 200);
    assert!(released.elapsed() < Duration::from_secs(3));
    still_serves(m.addr).await;
}

#[tokio::test]
async fn protocol_garbage_gets_4xx_or_a_close() {
    let m = start_at(NOW).await;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec()),
        ("binary garbage", vec![0, 1, 2, 3, 0xff, b'\r', b'\n', b'\r', b'\n']),
        ("empty lines only", b"\r\n\r\n\r\n\r\n".to_vec()),
        (
            "header without a colon",
            b"GET /status HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n".to_vec(),
        ),
        (
            "Content-Length and Transfer-Encoding",
            b"POST /advancedsearch/api/search HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "two different Content-Lengths",
            b"POST /advancedsearch/api/search HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef".to_vec(),
        ),
        (
            "negative Content-Length",
            b"POST /advancedsearch/api/search HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(),
        ),
        (
            "obsolete line folding",
            b"GET /status HTTP/1.1\r\nHost: x\r\nDTAPI-Token: a\r\n b\r\n\r\n".to_vec(),
        ),
        ("unknown version", b"GET /status HTTP/9.9\r\nHost: x\r\n\r\n".to_vec()),
        (
            "a 10 KB method",
            [vec![b'G'; 10 * 1024], b" /status HTTP/1.1\r\n\r\n".to_vec()].concat(),
        ),
        (
            "bad chunk size",
            b"POST /advancedsearch/api/search HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(),
        ),
        (
            "absolute-form target, unsigned",
            b"GET http://example.invalid/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        ),
    ];
    for (case, bytes) in cases {
        let out = exchange(m.addr, bytes, true).await;
        match &out {
            // An unsigned request is redirected to /login by the appliance's rule.
            Outcome::Answer(r) if r.status == 302 => {
                println!("malformed: {case} -> 302 (to /login)");
                assert_eq!(r.header("location"), Some("/login"), "{case}")
            }
            _ => out.assert_4xx_or_closed(case),
        }
    }
    still_serves(m.addr).await;
}
