//! The full benchmark and its `--short` form.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde::Serialize;

use crate::client_job::JobResult;
use crate::inproc::SearchFigures;
use crate::procs::{self, Server};
use crate::stats::{self, median, Machine};
use crate::workload::{self, signed_headers};
use crate::wrk::{self, Load, Run};
use crate::SuiteArgs;

/// The core the servers run on, and wrk's.
pub const SERVER_CPU: usize = 0;
/// wrk's core.
pub const LOAD_CPU: usize = 1;

/// Targets (item list of the issue) and the short check's floors (half of each).
pub mod targets {
    /// Signed /status over the baseline route.
    pub const STATUS_RATIO: f64 = 0.85;
    /// Signed advanced search over the baseline route.
    pub const SEARCH_RATIO: f64 = 0.50;
    /// Our signed /status over WireMock's unsigned stub.
    pub const WIREMOCK_RATIO: f64 = 10.0;
    /// p99 of signed /status at 64 connections, ms.
    pub const STATUS_P99_MS: f64 = 5.0;
    /// Default world: start to `listening on`, ms.
    pub const STARTUP_MS: f64 = 200.0;
    /// Idle RSS with the default world, MB.
    pub const IDLE_RSS_MB: f64 = 50.0;
    /// The 200-action job, seconds.
    pub const JOB_S: f64 = 10.0;
    /// The job's peak RSS, MB.
    pub const JOB_RSS_MB: f64 = 500.0;
}

/// One measured route: its runs and their medians.
#[derive(Debug, Clone, Serialize)]
pub struct RouteFigures {
    /// Short name.
    pub name: String,
    /// What is requested.
    pub what: String,
    /// Whether the request is signed.
    pub signed: bool,
    /// Size of one answer's body, bytes.
    pub body_bytes: usize,
    /// Every run.
    pub runs: Vec<Run>,
    /// Median requests/s.
    pub rps: f64,
    /// Median p50, ms.
    pub p50_ms: f64,
    /// Median p99, ms.
    pub p99_ms: f64,
    /// Median server CPU per request, µs.
    pub cpu_us: f64,
    /// Largest RSS seen under this load, KiB.
    pub max_rss_kb: u64,
}

impl RouteFigures {
    fn new(name: &str, what: String, signed: bool, body_bytes: usize) -> Self {
        RouteFigures {
            name: name.into(),
            what,
            signed,
            body_bytes,
            runs: Vec::new(),
            rps: 0.0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            cpu_us: 0.0,
            max_rss_kb: 0,
        }
    }

    fn push(&mut self, r: Run) {
        self.runs.push(r);
        let col = |f: fn(&Run) -> f64| median(&self.runs.iter().map(f).collect::<Vec<_>>());
        self.rps = col(|r| r.rps);
        self.p50_ms = col(|r| r.p50_ms);
        self.p99_ms = col(|r| r.p99_ms);
        self.cpu_us = col(|r| r.server_cpu_us_per_req);
        self.max_rss_kb = self.runs.iter().map(|r| r.max_rss_kb).max().unwrap_or(0);
    }
}

/// Start-up figures of one world.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Startup {
    /// Each start, spawn to `listening on`, ms.
    pub startup_ms: Vec<f64>,
    /// Resident memory after listening (idle), KiB, per start.
    pub idle_rss_kb: Vec<u64>,
}

impl Startup {
    /// Median start-up, ms.
    pub fn median_ms(&self) -> f64 {
        median(&self.startup_ms)
    }
    /// Median idle RSS, MB.
    pub fn idle_mb(&self) -> f64 {
        median(
            &self
                .idle_rss_kb
                .iter()
                .map(|&k| k as f64)
                .collect::<Vec<_>>(),
        ) / 1024.0
    }
}

/// The large world.
#[derive(Debug, Clone, Serialize)]
pub struct BigWorld {
    /// Its directory.
    pub dir: PathBuf,
    /// The generate command.
    pub generate_command: String,
    /// Generation time, seconds (absent when reused from the cache).
    pub generated_s: Option<f64>,
    /// Start-up and idle memory.
    pub startup: Startup,
    /// The signed search under wrk.
    pub search: RouteFigures,
    /// In process: indexed against linear scan.
    pub inproc: SearchFigures,
}

/// Everything measured.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// The machine.
    pub machine: Machine,
    /// When (UTC).
    pub date: String,
    /// The command.
    pub command: String,
    /// Load averages at the start and end.
    pub load_start: String,
    /// At the end.
    pub load_end: String,
    /// The short form.
    pub short: bool,
    /// Runs per measurement.
    pub runs: usize,
    /// Seconds per wrk run.
    pub seconds: u32,
    /// wrk connections.
    pub connections: u32,
    /// Warm-up seconds per route before the measured rounds.
    pub warmup_s: u32,
    /// WireMock's warm-up, seconds.
    pub wiremock_warmup_s: u32,
    /// WireMock's warm-up runs (its JIT at work), in order.
    pub wiremock_warmup: Vec<Run>,
    /// baseline, status, details, search (in that order).
    pub routes: Vec<RouteFigures>,
    /// WireMock's stub, when it ran.
    pub wiremock: Option<RouteFigures>,
    /// WireMock's jar version, or why it did not run.
    pub wiremock_note: String,
    /// The default world's start-up.
    pub startup_default: Startup,
    /// The default world in process (indexed against linear scan).
    pub search_default_inproc: Option<SearchFigures>,
    /// The large world, unless skipped.
    pub big_world: Option<BigWorld>,
    /// Why the large world was skipped.
    pub big_world_note: String,
    /// Item 5, each run.
    pub jobs: Vec<JobResult>,
    /// Wall time of the whole benchmark, seconds.
    pub total_s: f64,
}

impl Results {
    /// A route by name.
    pub fn route(&self, name: &str) -> Option<&RouteFigures> {
        self.routes.iter().find(|r| r.name == name)
    }
    /// rps of a route over the baseline's.
    pub fn ratio(&self, name: &str) -> f64 {
        match (self.route(name), self.route("baseline")) {
            (Some(r), Some(b)) if b.rps > 0.0 => r.rps / b.rps,
            _ => 0.0,
        }
    }
    /// Server CPU per request of the baseline over a route's (the same ratio, free of
    /// the time the server's core spent on other processes).
    pub fn cpu_ratio(&self, name: &str) -> f64 {
        match (self.route(name), self.route("baseline")) {
            (Some(r), Some(b)) if r.cpu_us > 0.0 => b.cpu_us / r.cpu_us,
            _ => 0.0,
        }
    }
    /// Our signed /status over WireMock's stub.
    pub fn wiremock_ratio(&self) -> Option<f64> {
        let w = self.wiremock.as_ref()?;
        let s = self.route("status")?;
        (w.rps > 0.0).then(|| s.rps / w.rps)
    }
    /// The same on server CPU per request.
    pub fn wiremock_cpu_ratio(&self) -> Option<f64> {
        let w = self.wiremock.as_ref()?;
        let s = self.route("status")?;
        (s.cpu_us > 0.0).then(|| w.cpu_us / s.cpu_us)
    }
    /// Median job wall time, s.
    pub fn job_wall_s(&self) -> f64 {
        median(&self.jobs.iter().map(|j| j.wall_s).collect::<Vec<_>>())
    }
    /// Largest job peak RSS, MB.
    pub fn job_peak_mb(&self) -> f64 {
        self.jobs.iter().map(|j| j.peak_rss_kb).max().unwrap_or(0) as f64 / 1024.0
    }
}

/// Now, epoch ms.
pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn exe_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target/release"))
}

fn say(msg: impl AsRef<str>) {
    eprintln!("[dt-bench] {}", msg.as_ref());
}

/// Runs the suite; returns the process exit code.
pub fn run(args: SuiteArgs) -> Result<i32> {
    let t0 = Instant::now();
    let short = args.short;
    let runs = args.runs.unwrap_or(if short { 1 } else { 3 }).max(1);
    let seconds = args.seconds.unwrap_or(if short { 3 } else { 10 }).max(1);
    let warmup_s = if short { 1 } else { 2 };
    let wiremock_warmup_s = if short { 3 } else { 30 };
    let mock_bin = args
        .mock_bin
        .clone()
        .unwrap_or_else(|| exe_dir().join("dt-mock"));
    ensure!(
        mock_bin.is_file(),
        "{} is missing: build it with `cargo build --release -p dt-mock`",
        mock_bin.display()
    );
    procs::which("wrk").context("wrk is not installed (apt-get install -y wrk)")?;
    if procs::which("taskset").is_none() {
        say("taskset is missing: servers and wrk are not pinned");
    }
    let machine = Machine::read();
    let load_start = stats::load_avg();
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    say(format!(
        "{} cores, {}, load {load_start}; {runs} run(s) of {seconds} s at {} connections",
        machine.nproc, machine.cpu, args.connections
    ));

    // Item 4 first (nothing else running): the default world's start-up and idle memory.
    let startup_runs = if short { 3 } else { 5 };
    let startup_default = measure_startup(&mock_bin, &[], startup_runs, Duration::from_secs(30))?;
    say(format!(
        "default world: listening in {:.1} ms (median of {startup_runs}), idle RSS {:.1} MB",
        startup_default.median_ms(),
        startup_default.idle_mb()
    ));

    // Items 2 and 3: the mock (core 0) with its world pinned to a known anchor, so the
    // targets chosen here match what it serves.
    let anchor = now_ms() / 1000 * 1000;
    let world = dt_world::World::default_world(Some(anchor));
    let (details_target, details_events) = workload::details_target(&world, anchor);
    let choice = workload::search_target(&world, anchor);
    let (search_ip, search_target, search_hits) = (choice.ip, choice.target, choice.hits);
    let (latest_target, latest_hits) = (choice.latest_target, choice.latest_hits);
    drop(world);
    let mock = procs::spawn_mock(
        &mock_bin,
        &["--anchor".into(), workload::anchor_arg(anchor)],
        Some(SERVER_CPU),
        Duration::from_secs(30),
    )?;
    say(format!(
        "mock on {} (pid {}, core {SERVER_CPU})",
        mock.addr, mock.pid
    ));

    let health = "/_mock/health".to_string();
    let status = "/status".to_string();
    let status_body = check(&mock, &status, true, None)?;
    let routes_spec: Vec<(&str, String, bool, String)> = vec![
        ("baseline", health.clone(), false, "GET /_mock/health (unauthenticated, same server)".into()),
        ("status", status.clone(), true, "signed GET /status".into()),
        (
            "details",
            details_target.clone(),
            true,
            format!("signed GET /details?did=&starttime=&endtime= (busiest device and 5 min: {details_events} events)"),
        ),
        (
            "search",
            search_target.clone(),
            true,
            format!("signed advanced search: default IP query for {search_ip}, busiest 5 min, size 10000 ({search_hits} hits)"),
        ),
        (
            "search-latest",
            latest_target.clone(),
            true,
            format!("signed advanced search: the same query over the last 5 min ({latest_hits} hits)"),
        ),
    ];
    let mut routes = Vec::new();
    for (name, target, signed, what) in &routes_spec {
        let hits = match *name {
            "search" => Some(search_hits),
            "search-latest" => Some(latest_hits),
            _ => None,
        };
        let body = check(&mock, target, *signed, hits)?;
        routes.push(RouteFigures::new(name, what.clone(), *signed, body.len()));
    }

    // WireMock: a static stub of the same /status body, also on core 0.
    let (wiremock, wiremock_note) = match (&args.wiremock_jar, &args.wiremock_missing) {
        (Some(jar), _) if jar.is_file() => match start_wiremock(jar, &status_body) {
            Ok(s) => {
                let note = jar
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                say(format!(
                    "WireMock {note} on {} (pid {}, core {SERVER_CPU}), ready in {:.1} s",
                    s.addr,
                    s.pid,
                    s.startup.as_secs_f64()
                ));
                (Some(s), note)
            }
            Err(e) => (None, format!("WireMock did not start: {e:#}")),
        },
        (Some(jar), _) => (None, format!("{} is not a file", jar.display())),
        (None, Some(why)) => (None, why.clone()),
        (None, None) => (None, "no --wiremock-jar given".into()),
    };
    if wiremock.is_none() {
        say(format!("peer comparison skipped: {wiremock_note}"));
    }
    let mut wm_fig = wiremock.as_ref().map(|_| {
        RouteFigures::new(
            "wiremock",
            "unsigned GET /status, WireMock static stub (same body)".into(),
            false,
            status_body.len(),
        )
    });

    // Warm-up (not recorded): every route, and the JVM's JIT longer.
    for (name, target, signed, _) in &routes_spec {
        let headers = if *signed {
            signed_headers(target)
        } else {
            Vec::new()
        };
        let _ = name;
        wrk::run(&mock, &load(target, &headers, args.connections, warmup_s))?;
    }
    // WireMock's JIT keeps speeding it up for tens of seconds: warm it in steps and
    // keep the curve (a CI job that starts a fresh WireMock lives on its cold end).
    let mut wiremock_warmup = Vec::new();
    if let Some(w) = &wiremock {
        let step = if short { wiremock_warmup_s } else { 10 };
        for i in 0..(wiremock_warmup_s / step).max(1) {
            let r = wrk::run(w, &load(&status, &[], args.connections, step))?;
            say(format!(
                "WireMock warm-up {}: {:.0} req/s, {:.1} µs CPU/req",
                i + 1,
                r.rps,
                r.server_cpu_us_per_req
            ));
            wiremock_warmup.push(r);
        }
    }

    // Measured rounds, interleaved so that noise from the shared machine falls on
    // every route alike: baseline, status, WireMock, details, search.
    for round in 0..runs {
        for (i, (name, target, signed, _)) in routes_spec.iter().enumerate() {
            let headers = if *signed {
                signed_headers(target)
            } else {
                Vec::new()
            };
            let r = wrk::run(&mock, &load(target, &headers, args.connections, seconds))?;
            verify_run(&mock, name, *signed, &r)?;
            say(format!(
                "round {}: {name:9} {:>9.0} req/s  p50 {:.2} ms  p99 {:.2} ms  {:.1} µs CPU/req  RSS {:.1} MB",
                round + 1, r.rps, r.p50_ms, r.p99_ms, r.server_cpu_us_per_req, r.max_rss_kb as f64 / 1024.0
            ));
            routes[i].push(r);
            if *name == "status" {
                if let (Some(w), Some(fig)) = (&wiremock, wm_fig.as_mut()) {
                    let r = wrk::run(w, &load(&status, &[], args.connections, seconds))?;
                    ensure!(r.non_2xx == 0, "WireMock answered {} non-2xx", r.non_2xx);
                    say(format!(
                        "round {}: {:9} {:>9.0} req/s  p50 {:.2} ms  p99 {:.2} ms  {:.1} µs CPU/req  RSS {:.1} MB",
                        round + 1, "wiremock", r.rps, r.p50_ms, r.p99_ms, r.server_cpu_us_per_req, r.max_rss_kb as f64 / 1024.0
                    ));
                    fig.push(r);
                }
            }
        }
    }
    if let Some(w) = wiremock {
        w.stop();
    }
    mock.stop();

    // The default world in process: the index against dt-world's linear scan.
    let search_default_inproc = run_self::<SearchFigures>(&[
        "search-inproc".into(),
        "--anchor-ms".into(),
        anchor.to_string(),
        "--runs".into(),
        "201".into(),
        "--linear-runs".into(),
        "51".into(),
    ])
    .map_err(|e| say(format!("in-process search failed: {e:#}")))
    .ok();

    // The large world.
    let (big_world, big_world_note) = if short || args.skip_1m {
        (
            None,
            if short {
                "skipped in --short".to_string()
            } else {
                "skipped (--skip-1m)".to_string()
            },
        )
    } else {
        match big_world(&args, &mock_bin, runs, seconds, warmup_s) {
            Ok(b) => (Some(b), String::new()),
            Err(e) => {
                say(format!("1M world failed: {e:#}"));
                (None, format!("failed: {e:#}"))
            }
        }
    };

    // Item 5.
    let job_runs = if short { 1 } else { 3 };
    let mut jobs = Vec::new();
    for i in 0..job_runs {
        let j: JobResult = run_self(&[
            "client-job".into(),
            "--actions".into(),
            args.actions.to_string(),
            "--concurrency".into(),
            args.actions.to_string(),
        ])?;
        say(format!(
            "client job {}: {} actions in {:.2} s, peak RSS {:.1} MB, {} requests (schedule: {}, client: {}, retries {}, duplicates {})",
            i + 1, j.actions, j.wall_s, j.peak_rss_kb as f64 / 1024.0, j.mock_requests, j.expected_requests, j.client_requests, j.retries, j.duplicate_targets
        ));
        jobs.push(j);
    }

    let results = Results {
        machine,
        date,
        command: args.command_line.clone(),
        load_start,
        load_end: stats::load_avg(),
        short,
        runs,
        seconds,
        connections: args.connections,
        warmup_s,
        wiremock_warmup_s,
        wiremock_warmup,
        routes,
        wiremock: wm_fig,
        wiremock_note,
        startup_default,
        search_default_inproc,
        big_world,
        big_world_note,
        jobs,
        total_s: t0.elapsed().as_secs_f64(),
    };

    let summary = crate::report::summary(&results);
    println!("{summary}");
    if let Some(dir) = args.json.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&args.json, serde_json::to_vec_pretty(&results)?)
        .with_context(|| format!("writing {}", args.json.display()))?;
    if short {
        let failures = crate::report::short_failures(&results);
        for f in &failures {
            println!("FAIL: {f}");
        }
        if failures.is_empty() {
            println!("bench --short: OK (every ratio is above half its target; absolute times are not checked)");
            return Ok(0);
        }
        return Ok(1);
    }
    crate::report::write(&args.out, &results)?;
    say(format!(
        "wrote {} and {} in {:.0} s",
        args.out.display(),
        args.json.display(),
        results.total_s
    ));
    Ok(0)
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

/// One request before the load: the route answers 200 (and, for search, the expected
/// hits), so wrk measures real answers. Returns the body.
fn check(server: &Server, target: &str, signed: bool, hits: Option<u64>) -> Result<Vec<u8>> {
    let headers = if signed {
        signed_headers(target)
    } else {
        Vec::new()
    };
    let a = crate::http::get(server.addr, target, &headers)?;
    ensure!(
        a.status == 200,
        "{target} answered {}: {}",
        a.status,
        String::from_utf8_lossy(&a.body)
    );
    let v: serde_json::Value = serde_json::from_slice(&a.body).context("the answer is not JSON")?;
    if let Some(h) = hits {
        ensure!(
            workload::total(&v) == Some(h),
            "search answered {:?} hits, expected {h}",
            workload::total(&v)
        );
    }
    Ok(a.body)
}

/// After a signed run: wrk saw no error status and the mock's journal shows the
/// latest requests accepted (a 302 to /login would not count as an error for wrk).
fn verify_run(server: &Server, name: &str, signed: bool, r: &Run) -> Result<()> {
    ensure!(r.requests > 0, "{name}: no request completed");
    ensure!(
        r.non_2xx == 0,
        "{name}: {} answers were not 2xx/3xx",
        r.non_2xx
    );
    if !signed {
        return Ok(());
    }
    let first = crate::http::get(server.addr, "/_mock/journal?limit=1", &[])?;
    let first: serde_json::Value = serde_json::from_slice(&first.body)?;
    let health = crate::http::get(server.addr, "/_mock/health", &[])?;
    let health: serde_json::Value = serde_json::from_slice(&health.body)?;
    let oldest = first[0]["id"].as_u64().unwrap_or(0);
    let len = health["journal_entries"].as_u64().unwrap_or(0);
    let since = (oldest + len).saturating_sub(100);
    let recent = crate::http::get(server.addr, &format!("/_mock/journal?since={since}"), &[])?;
    let recent: serde_json::Value = serde_json::from_slice(&recent.body)?;
    let entries = recent.as_array().cloned().unwrap_or_default();
    ensure!(!entries.is_empty(), "{name}: the journal is empty");
    let bad = entries
        .iter()
        .filter(|e| e["verdict"] != "accepted" || e["status"] != 200)
        .count();
    ensure!(
        bad == 0,
        "{name}: {bad} of the last {} requests were not accepted with 200",
        entries.len()
    );
    Ok(())
}

fn start_wiremock(jar: &Path, status_body: &[u8]) -> Result<Server> {
    let root = std::env::temp_dir().join(format!("dt-bench-wiremock-{}", std::process::id()));
    std::fs::create_dir_all(root.join("mappings"))?;
    std::fs::create_dir_all(root.join("__files"))?;
    let stub = serde_json::json!({
        "request": {"method": "GET", "url": "/status"},
        "response": {
            "status": 200,
            "body": String::from_utf8_lossy(status_body),
            "headers": {"Content-Type": "application/json; charset=utf-8"}
        }
    });
    std::fs::write(
        root.join("mappings/status.json"),
        serde_json::to_vec_pretty(&stub)?,
    )?;
    let s = procs::spawn_wiremock(
        jar,
        &root,
        Some(SERVER_CPU),
        "/status",
        Duration::from_secs(120),
    )?;
    let a = crate::http::get(s.addr, "/status", &[])?;
    ensure!(
        a.body == status_body,
        "WireMock's stub body differs from the mock's /status"
    );
    Ok(s)
}

fn measure_startup(bin: &Path, args: &[String], n: usize, timeout: Duration) -> Result<Startup> {
    let mut s = Startup::default();
    for _ in 0..n {
        let server = procs::spawn_mock(bin, args, Some(SERVER_CPU), timeout)?;
        s.startup_ms.push(server.startup.as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(500));
        s.idle_rss_kb.push(server.rss_kb());
        server.stop();
    }
    Ok(s)
}

/// Runs this binary with a subcommand and reads its JSON line.
fn run_self<T: serde::de::DeserializeOwned>(args: &[String]) -> Result<T> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe).args(args).output()?;
    if !out.status.success() {
        bail!(
            "dt-bench {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or("");
    serde_json::from_str(line).with_context(|| format!("reading {line:?}"))
}

fn big_world(
    args: &SuiteArgs,
    mock_bin: &Path,
    runs: usize,
    seconds: u32,
    warmup_s: u32,
) -> Result<BigWorld> {
    let dir = &args.world_1m;
    let generate_command = format!(
        "dt-mock generate --devices {} --records {} --seed {} --out {}",
        args.devices_1m,
        args.records_1m,
        args.seed_1m,
        dir.display()
    );
    let stamp = dir.join("dt-bench-params.txt");
    let want = format!("{} {} {}", args.devices_1m, args.records_1m, args.seed_1m);
    let cached = std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == want);
    let generated_s = if cached {
        say(format!("1M world: reusing {}", dir.display()));
        None
    } else {
        say(format!("1M world: {generate_command}"));
        let tmp = dir.with_extension("partial");
        let _ = std::fs::remove_dir_all(&tmp);
        let t = Instant::now();
        let st = Command::new(mock_bin)
            .args(["generate", "--devices", &args.devices_1m.to_string()])
            .args(["--records", &args.records_1m.to_string()])
            .args(["--seed", &args.seed_1m.to_string()])
            .arg("--out")
            .arg(&tmp)
            .status()?;
        ensure!(st.success(), "generate failed");
        let took = t.elapsed().as_secs_f64();
        let _ = std::fs::remove_dir_all(dir);
        std::fs::rename(&tmp, dir)?;
        std::fs::write(&stamp, &want)?;
        Some(took)
    };
    let world_args = vec!["--world".to_string(), dir.display().to_string()];
    let startup = measure_startup(
        mock_bin,
        &world_args,
        if runs >= 3 { 5 } else { 1 },
        Duration::from_secs(600),
    )?;
    say(format!(
        "1M world: listening in {:.0} ms (median), idle RSS {:.1} MB",
        startup.median_ms(),
        startup.idle_mb()
    ));
    let anchor = now_ms() / 1000 * 1000;
    let inproc: SearchFigures = run_self(&[
        "search-inproc".into(),
        "--world".into(),
        dir.display().to_string(),
        "--anchor-ms".into(),
        anchor.to_string(),
    ])?;
    say(format!(
        "1M world in process: {} hits for {}; indexed {:.2} ms, linear scan {:.1} ms (medians)",
        inproc.hits, inproc.ip, inproc.indexed_median_ms, inproc.linear_median_ms
    ));
    let mut mock_args = world_args.clone();
    mock_args.extend(["--anchor".to_string(), workload::anchor_arg(anchor)]);
    let mock = procs::spawn_mock(
        mock_bin,
        &mock_args,
        Some(SERVER_CPU),
        Duration::from_secs(600),
    )?;
    let target = inproc.target.clone();
    let body = check(&mock, &target, true, Some(inproc.hits))?;
    let mut search = RouteFigures::new(
        "search-1m",
        format!(
            "signed advanced search on the 1M world: default IP query for {}, busiest 5 min, size 10000 ({} hits)",
            inproc.ip, inproc.hits
        ),
        true,
        body.len(),
    );
    let headers = signed_headers(&target);
    wrk::run(&mock, &load(&target, &headers, args.connections, warmup_s))?;
    for round in 0..runs {
        let headers = signed_headers(&target);
        let r = wrk::run(&mock, &load(&target, &headers, args.connections, seconds))?;
        verify_run(&mock, "search-1m", true, &r)?;
        say(format!(
            "round {}: search-1m {:>9.0} req/s  p50 {:.2} ms  p99 {:.2} ms  RSS {:.1} MB",
            round + 1,
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.max_rss_kb as f64 / 1024.0
        ));
        search.push(r);
    }
    mock.stop();
    Ok(BigWorld {
        dir: dir.clone(),
        generate_command,
        generated_s,
        startup,
        search,
        inproc,
    })
}
