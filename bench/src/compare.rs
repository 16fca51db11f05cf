//! Item 6: mock binaries side by side (before/after a change). Every binary runs at
//! once, pinned to the same core; the wrk runs alternate between them route by route,
//! so the shared machine's noise falls on both alike. With `--callgrind N`, each route
//! is also counted in instructions per request under valgrind (repeatable whatever
//! else the machine is doing).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use clap::Args;

use crate::procs::{self, Server};
use crate::stats::median;
use crate::suite::{now_ms, LOAD_CPU, SERVER_CPU};
use crate::workload::{self, signed_headers};
use crate::wrk::{self, Load};

/// Options.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// A mock binary (repeat: the first is the reference).
    #[arg(long = "mock-bin", required = true)]
    pub bins: Vec<PathBuf>,
    /// A label per binary (default: its path).
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Routes: baseline, status, details, search (busiest window), search-latest.
    #[arg(long, value_delimiter = ',', default_value = "baseline,status,search")]
    pub routes: Vec<String>,
    /// Measured rounds (medians reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Seconds per wrk run (0: no wrk runs).
    #[arg(long, default_value_t = 10)]
    pub seconds: u32,
    /// wrk connections.
    #[arg(long, default_value_t = 64)]
    pub connections: u32,
    /// Requests per route under callgrind (0: skip).
    #[arg(long, default_value_t = 0)]
    pub callgrind: usize,
    /// Extra arguments for every mock (e.g. `--world DIR`), one per flag.
    #[arg(long = "mock-arg", allow_hyphen_values = true)]
    pub mock_args: Vec<String>,
    /// Write the table into this file between dt-bench:compare markers.
    #[arg(long)]
    pub write: Option<PathBuf>,
    /// A title for the written block.
    #[arg(long, default_value = "Before/after")]
    pub title: String,
}

struct Route {
    name: String,
    target: String,
    signed: bool,
}

fn routes(names: &[String], anchor: i64, world_dir: Option<&Path>) -> Result<Vec<Route>> {
    let world = match world_dir {
        Some(d) => dt_world::World::load_dir(d, Some(anchor))?,
        None => dt_world::World::default_world(Some(anchor)),
    };
    let mut out = Vec::new();
    for n in names {
        let (target, signed) = match n.as_str() {
            "baseline" => ("/_mock/health".to_string(), false),
            "status" => ("/status".to_string(), true),
            "details" => (workload::details_target(&world, anchor).0, true),
            "search" => (workload::search_target(&world, anchor).target, true),
            "search-latest" => (workload::search_target(&world, anchor).latest_target, true),
            other => bail!("unknown route {other:?}"),
        };
        out.push(Route {
            name: n.clone(),
            target,
            signed,
        });
    }
    Ok(out)
}

/// Runs the comparison and prints (and optionally writes) its table.
pub fn run(a: CompareArgs) -> Result<()> {
    let labels: Vec<String> = a
        .bins
        .iter()
        .enumerate()
        .map(|(i, b)| {
            a.labels
                .get(i)
                .cloned()
                .unwrap_or_else(|| b.display().to_string())
        })
        .collect();
    let anchor = now_ms() / 1000 * 1000;
    let world_dir = a
        .mock_args
        .iter()
        .position(|x| x == "--world")
        .and_then(|i| a.mock_args.get(i + 1))
        .map(PathBuf::from);
    let routes = routes(&a.routes, anchor, world_dir.as_deref())?;
    let mut args = a.mock_args.clone();
    args.extend(["--anchor".to_string(), workload::anchor_arg(anchor)]);

    // rps, p50, p99, cpu per (route, bin).
    let mut figs: Vec<Vec<Vec<[f64; 4]>>> = vec![vec![Vec::new(); a.bins.len()]; routes.len()];
    if a.seconds > 0 {
        let servers: Vec<Server> = a
            .bins
            .iter()
            .map(|b| procs::spawn_mock(b, &args, Some(SERVER_CPU), Duration::from_secs(600)))
            .collect::<Result<_>>()?;
        for s in &servers {
            for r in &routes {
                let h = if r.signed {
                    signed_headers(&r.target)
                } else {
                    Vec::new()
                };
                let resp = crate::http::get(s.addr, &r.target, &h)?;
                ensure!(
                    resp.status == 200,
                    "{} answered {} on {}",
                    r.target,
                    resp.status,
                    s.addr
                );
                wrk::run(s, &load(&r.target, &h, a.connections, 2))?;
            }
        }
        for round in 0..a.runs {
            for (ri, r) in routes.iter().enumerate() {
                // Alternate which binary goes first, round by round.
                let order: Vec<usize> = if round % 2 == 0 {
                    (0..servers.len()).collect()
                } else {
                    (0..servers.len()).rev().collect()
                };
                for bi in order {
                    let h = if r.signed {
                        signed_headers(&r.target)
                    } else {
                        Vec::new()
                    };
                    let x = wrk::run(&servers[bi], &load(&r.target, &h, a.connections, a.seconds))?;
                    ensure!(x.non_2xx == 0, "{}: {} non-2xx", r.name, x.non_2xx);
                    eprintln!(
                        "[compare] round {} {:9} {:12} {:>9.0} req/s p50 {:.2} p99 {:.2} ms {:.1} µs/req",
                        round + 1, r.name, labels[bi], x.rps, x.p50_ms, x.p99_ms, x.server_cpu_us_per_req
                    );
                    figs[ri][bi].push([x.rps, x.p50_ms, x.p99_ms, x.server_cpu_us_per_req]);
                }
            }
        }
        for s in servers {
            s.stop();
        }
    }

    // Instructions per request under callgrind.
    let mut ir: Vec<Vec<Option<f64>>> = vec![vec![None; a.bins.len()]; routes.len()];
    if a.callgrind > 0 {
        for (bi, b) in a.bins.iter().enumerate() {
            for (ri, r) in routes.iter().enumerate() {
                let small = callgrind_total(b, &args, r, 100)?;
                let big = callgrind_total(b, &args, r, 100 + a.callgrind)?;
                let per = (big as f64 - small as f64) / a.callgrind as f64;
                eprintln!(
                    "[compare] callgrind {:9} {:12} {:.0} instructions/request",
                    r.name, labels[bi], per
                );
                ir[ri][bi] = Some(per);
            }
        }
    }

    let mut t = String::new();
    let _ = writeln!(t, "| Route | Build | req/s | p50 ms | p99 ms | server CPU µs/req | req/s vs its baseline | instructions/req (callgrind) |");
    let _ = writeln!(t, "|---|---|---:|---:|---:|---:|---:|---:|");
    let base_idx = routes.iter().position(|r| r.name == "baseline");
    for (ri, r) in routes.iter().enumerate() {
        for bi in 0..a.bins.len() {
            let col = |k: usize| median(&figs[ri][bi].iter().map(|f| f[k]).collect::<Vec<_>>());
            let ratio = match base_idx {
                Some(b) if b != ri => {
                    let base = median(&figs[b][bi].iter().map(|f| f[0]).collect::<Vec<_>>());
                    if base > 0.0 {
                        format!("{:.1}%", col(0) / base * 100.0)
                    } else {
                        "—".into()
                    }
                }
                _ => "—".into(),
            };
            let irs = ir[ri][bi].map_or("—".to_string(), |v| format!("{v:.0}"));
            let _ = writeln!(
                t,
                "| {} | {} | {:.0} | {:.2} | {:.2} | {:.1} | {} | {} |",
                r.name,
                labels[bi],
                col(0),
                col(1),
                col(2),
                col(3),
                ratio,
                irs
            );
        }
    }
    println!("{t}");
    if let Some(path) = &a.write {
        let begin = format!("<!-- dt-bench:compare:{}:begin -->", slug(&a.title));
        let end = format!("<!-- dt-bench:compare:{}:end -->", slug(&a.title));
        let block = format!(
            "{begin}\n#### {}\n\n`dt-bench compare {}` ({} round(s) of {} s at {} connections, medians; servers on core {SERVER_CPU}, wrk on core {LOAD_CPU}; load average {}):\n\n{t}{end}",
            a.title,
            std::env::args()
                .skip(2)
                .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
                .collect::<Vec<_>>()
                .join(" "),
            a.runs,
            a.seconds,
            a.connections,
            crate::stats::load_avg()
        );
        let old = std::fs::read_to_string(path).unwrap_or_default();
        let new = match (old.find(&begin), old.find(&end)) {
            (Some(b), Some(e)) if e > b => {
                format!("{}{}{}", &old[..b], block, &old[e + end.len()..])
            }
            _ => format!("{}\n\n{block}\n", old.trim_end()),
        };
        std::fs::write(path, new)?;
    }
    Ok(())
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn load<'a>(
    target: &'a str,
    headers: &'a [(String, String)],
    connections: u32,
    seconds: u32,
) -> Load<'a> {
    Load {
        target,
        headers,
        connections,
        seconds,
        cpu: Some(LOAD_CPU),
    }
}

/// Total instructions of a mock run under callgrind that served `n` requests of a
/// route on one keep-alive connection.
fn callgrind_total(bin: &Path, args: &[String], r: &Route, n: usize) -> Result<u64> {
    let valgrind = procs::which("valgrind").context("valgrind is not installed")?;
    let out =
        std::env::temp_dir().join(format!("dt-bench-callgrind-{}-{n}.out", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let mut cmd = Command::new(valgrind);
    cmd.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(bin);
    let server = procs::spawn_mock_with(cmd, bin, args, Duration::from_secs(600))?;
    let h = if r.signed {
        signed_headers(&r.target)
    } else {
        Vec::new()
    };
    let mut conn = crate::http::Conn::open(server.addr)?;
    for _ in 0..n {
        let a = conn.get(&r.target, &h)?;
        ensure!(a.status == 200, "{} answered {}", r.target, a.status);
    }
    drop(conn);
    server.interrupt_and_wait(Duration::from_secs(120))?;
    let text =
        std::fs::read_to_string(&out).with_context(|| format!("reading {}", out.display()))?;
    let _ = std::fs::remove_file(&out);
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no summary line in the callgrind output")
}
