//! A minimal HTTP/1.1 client over a std `TcpStream`, for set-up checks and for the
//! fixed-count request loops used under a profiler. The load itself comes from wrk.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

/// An answer: status and body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// A keep-alive connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
}

impl Conn {
    /// Connects with a timeout on every read and write.
    pub fn open(addr: SocketAddr) -> Result<Conn> {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .with_context(|| format!("connecting to {addr}"))?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        s.set_write_timeout(Some(Duration::from_secs(10)))?;
        s.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
            host: addr.to_string(),
        })
    }

    /// Sends one GET and reads the answer (the body must carry a Content-Length or be
    /// chunked).
    pub fn get(&mut self, target: &str, headers: &[(String, String)]) -> Result<Answer> {
        let mut req = format!("GET {target} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        self.writer.write_all(req.as_bytes())?;
        read_answer(&mut self.reader)
    }
}

fn read_answer(r: &mut BufReader<TcpStream>) -> Result<Answer> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        bail!("connection closed before the status line");
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("bad status line {line:?}"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            bail!("connection closed in the headers");
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let find = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v): &(String, String)| v.clone())
    };
    let body = if let Some(len) = find("content-length") {
        let n: usize = len.parse().context("content-length")?;
        let mut b = vec![0; n];
        r.read_exact(&mut b)?;
        b
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut b = Vec::new();
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let n = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .context("chunk size")?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            b.extend_from_slice(&chunk[..n]);
        }
        b
    } else {
        let mut b = Vec::new();
        r.read_to_end(&mut b)?;
        b
    };
    Ok(Answer { status, body })
}

/// One GET on a fresh connection.
pub fn get(addr: SocketAddr, target: &str, headers: &[(String, String)]) -> Result<Answer> {
    Conn::open(addr)?.get(target, headers)
}

/// Waits until `GET target` answers `want` (a server starting up).
pub fn wait_for(addr: SocketAddr, target: &str, want: u16, timeout: Duration) -> Result<()> {
    let started = std::time::Instant::now();
    loop {
        match get(addr, target, &[]) {
            Ok(a) if a.status == want => return Ok(()),
            _ if started.elapsed() > timeout => {
                bail!("{addr}{target} did not answer {want} within {timeout:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}
