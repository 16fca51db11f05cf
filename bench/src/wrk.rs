//! One wrk run against a server, with the server's CPU time and resident memory
//! sampled while it runs.

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::procs::{self, Server};

/// What one run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Run {
    /// Requests per second (wrk's figure).
    pub rps: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Requests completed.
    pub requests: u64,
    /// Answers that were not 2xx/3xx.
    pub non_2xx: u64,
    /// Socket errors (connect, read, write, timeout), summed.
    pub socket_errors: u64,
    /// The server's CPU seconds during the run.
    pub server_cpu_s: f64,
    /// The server's CPU time per request, µs.
    pub server_cpu_us_per_req: f64,
    /// The largest resident memory seen during the run, KiB.
    pub max_rss_kb: u64,
    /// The server's CPU use over the run, % of one core (100 = its core saturated).
    #[serde(default)]
    pub server_cpu_pct: f64,
    /// wrk's CPU use over the run, % of one core (near 100: the load generator limits).
    #[serde(default)]
    pub wrk_cpu_pct: f64,
}

/// The load: `wrk -t1 -cC -dDs --latency` on one URL with fixed headers.
#[derive(Debug, Clone)]
pub struct Load<'a> {
    /// The request target (`/path?query`).
    pub target: &'a str,
    /// Extra request headers (the DTAPI triplet for signed routes).
    pub headers: &'a [(String, String)],
    /// Open connections.
    pub connections: u32,
    /// Seconds.
    pub seconds: u32,
    /// The core wrk is pinned to.
    pub cpu: Option<usize>,
}

/// Runs wrk against `server` and parses its report.
pub fn run(server: &Server, load: &Load<'_>) -> Result<Run> {
    let wrk = procs::which("wrk").context("wrk is not installed (apt-get install -y wrk)")?;
    let mut cmd = procs::pinned(load.cpu, Path::new(&wrk));
    cmd.arg("-t1")
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.seconds))
        .arg("--timeout")
        .arg("5s")
        .arg("--latency");
    for (k, v) in load.headers {
        cmd.arg("-H").arg(format!("{k}: {v}"));
    }
    cmd.arg(format!("http://{}{}", server.addr, load.target))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());

    let stop = Arc::new(AtomicBool::new(false));
    let pid = server.pid;
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut max = 0;
            while !stop.load(Ordering::Relaxed) {
                max = max.max(procs::status_kb(pid, "VmRSS").unwrap_or(0));
                std::thread::sleep(Duration::from_millis(100));
            }
            max
        })
    };
    let cpu0 = server.cpu_s();
    let started = std::time::Instant::now();
    let child = cmd.spawn().context("running wrk")?;
    // wrk's own CPU time, read when it has exited but before it is reaped.
    let wpid = child.id();
    let mut wrk_cpu = 0.0;
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{wpid}/stat")).unwrap_or_default();
        let state = stat
            .rfind(')')
            .and_then(|i| stat[i + 2..].chars().next())
            .unwrap_or('Z');
        if let Some(c) = procs::cpu_seconds(wpid) {
            wrk_cpu = c;
        }
        if state == 'Z' || state == 'X' {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().context("running wrk")?;
    let wall = started.elapsed().as_secs_f64();
    let cpu1 = server.cpu_s();
    stop.store(true, Ordering::Relaxed);
    let max_rss_kb = sampler.join().unwrap_or(0).max(server.rss_kb());
    if !out.status.success() {
        bail!(
            "wrk failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut r = parse(&text).with_context(|| format!("parsing wrk's output:\n{text}"))?;
    r.server_cpu_s = cpu1 - cpu0;
    r.server_cpu_pct = r.server_cpu_s / wall * 100.0;
    r.wrk_cpu_pct = wrk_cpu / wall * 100.0;
    r.server_cpu_us_per_req = if r.requests > 0 {
        r.server_cpu_s * 1e6 / r.requests as f64
    } else {
        0.0
    };
    r.max_rss_kb = max_rss_kb;
    Ok(r)
}

/// Parses wrk's `--latency` report.
pub fn parse(text: &str) -> Result<Run> {
    let mut r = Run::default();
    let mut saw_rps = false;
    for line in text.lines() {
        let l = line.trim();
        if let Some(v) = l.strip_prefix("Requests/sec:") {
            r.rps = v.trim().parse().context("Requests/sec")?;
            saw_rps = true;
        } else if let Some(v) = l.strip_prefix("50%") {
            r.p50_ms = duration_ms(v.trim())?;
        } else if let Some(v) = l.strip_prefix("99%") {
            r.p99_ms = duration_ms(v.trim())?;
        } else if let Some(v) = l.strip_prefix("Non-2xx or 3xx responses:") {
            r.non_2xx = v.trim().parse().unwrap_or(0);
        } else if let Some(v) = l.strip_prefix("Socket errors:") {
            r.socket_errors = v
                .split(',')
                .filter_map(|p| p.split_whitespace().last())
                .filter_map(|n| n.parse::<u64>().ok())
                .sum();
        } else if l.contains(" requests in ") {
            r.requests = l
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        }
    }
    if !saw_rps {
        bail!("no Requests/sec line");
    }
    Ok(r)
}

/// `612.00us`, `1.23ms`, `2.01s`, `1.50m` → milliseconds.
fn duration_ms(v: &str) -> Result<f64> {
    let split = v
        .find(|c: char| c.is_ascii_alphabetic())
        .context("a unit")?;
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().with_context(|| format!("latency {v:?}"))?;
    Ok(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        "h" => n * 3_600_000.0,
        other => bail!("unknown latency unit {other:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_wrk_report() {
        let text = "Running 10s test @ http://127.0.0.1:1234/status
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.01ms  350.12us   9.87ms   80.00%
    Req/Sec    31.9k     1.2k   33.0k    70.00%
  Latency Distribution
     50%  612.00us
     75%    2.10ms
     90%    2.50ms
     99%    1.02s
  317644 requests in 10.00s, 512.34MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:  31764.40
Transfer/sec:     51.23MB
";
        let r = parse(text).unwrap();
        assert_eq!(r.rps, 31764.40);
        assert!((r.p50_ms - 0.612).abs() < 1e-9);
        assert_eq!(r.p99_ms, 1020.0);
        assert_eq!(r.requests, 317_644);
        assert_eq!(r.socket_errors, 3);
        assert_eq!(r.non_2xx, 5);
    }
}
