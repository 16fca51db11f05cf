//! Item 5: a job of many actions run concurrently over the default schedule in virtual
//! time, through the real signed transport, against a mock in this process. Run as its
//! own process (`dt-bench client-job`) so that its peak memory is its own.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use dt_client::action::Action;
use dt_client::config::{Config, Protocol};
use dt_client::flows::Appliance;
use dt_client::run::{run_job, TimeMode};
use dt_client::scheduler::{
    schedule, shared, NullSink, Plan, RunOptions, ScheduleKind, SharedAction, Sink,
};
use dt_client::transport::{Transport, TransportSettings};
use dt_mock::journal::Verdict;
use dt_mock::{Mock, MockClock, MockConfig, TokenSet, DEMO_PRIVATE, DEMO_PUBLIC};
use dt_protocol::Secret;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// What the job did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobResult {
    /// Actions in the job.
    pub actions: usize,
    /// Actions allowed to run at once.
    pub concurrency: usize,
    /// Event windows per action (the default schedule: Q = 5 min, I = 30 s).
    pub windows_per_action: usize,
    /// Wall time of `run_job`, seconds.
    pub wall_s: f64,
    /// Wall time including the mock's start, seconds.
    pub total_s: f64,
    /// Peak resident memory of the whole process (mock + client), KiB.
    pub peak_rss_kb: u64,
    /// Requests the schedules imply: per event window, `/modelbreaches` plus each
    /// configured query whose macros have values.
    pub expected_requests: u64,
    /// Requests the mock received (its journal).
    pub mock_requests: u64,
    /// Requests the client reports having sent.
    pub client_requests: u64,
    /// Retries the client reports.
    pub retries: u64,
    /// Queries that failed.
    pub failed_queries: u64,
    /// Requests that were not accepted with 200.
    pub not_ok: u64,
    /// Targets received more than once.
    pub duplicate_targets: u64,
    /// Search records received, summed over queries.
    pub records: u64,
    /// Events and alerts emitted.
    pub emitted: u64,
}

impl JobResult {
    /// Whether the requests are exactly the schedules'.
    pub fn exact(&self) -> bool {
        self.mock_requests == self.expected_requests
            && self.client_requests == self.expected_requests
            && self.retries == 0
            && self.failed_queries == 0
            && self.not_ok == 0
            && self.duplicate_targets == 0
    }
}

/// Runs the job and returns its figures.
pub fn run(actions: usize, concurrency: usize) -> Result<JobResult> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(actions, concurrency))
}

async fn run_async(n_actions: usize, concurrency: usize) -> Result<JobResult> {
    let t0 = Instant::now();
    let clock = MockClock::system(Duration::ZERO);
    let mut config = MockConfig::new(TokenSet::demo(), clock.clone());
    // Room for every request of the job, so the journal is the full account.
    config.journal_capacity = 1_000_000;
    let mock = Mock::new(config);
    let state = mock.state().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(mock.serve(listener, async {
        let _ = stop_rx.await;
    }));

    // The actions: device addresses and hostnames of the served world, starting far
    // enough back that every window lies in the world's past.
    let idents: Vec<(String, Option<String>)> = {
        let world = state.world.read().unwrap_or_else(|p| p.into_inner());
        world
            .devices()
            .iter()
            .filter_map(|d| d.ips.last().map(|u| (u.ip.to_string(), d.hostname.clone())))
            .collect()
    };
    let now = OffsetDateTime::now_utc().replace_nanosecond(0)?;
    let base = now - Duration::minutes(15);
    let actions: Vec<SharedAction> = (0..n_actions)
        .map(|i| {
            let (ip, host) = &idents[i % idents.len()];
            let hosts: Vec<&str> = host.iter().map(String::as_str).collect();
            Action::new(
                format!("a{i}"),
                // 1.001 s apart: no two actions' windows coincide (30 s and 1001 ms
                // are coprime in ms), so every request of the job has its own target
                // and any repeat at the mock is a real duplicate.
                base + Duration::milliseconds(1001 * i as i64),
                [ip.as_str()],
                [""; 0],
                hosts,
            )
            .map(shared)
        })
        .collect::<Result<_, _>>()
        .context("building the actions")?;

    let cfg = Config {
        host: addr.ip().to_string(),
        port: addr.port(),
        protocol: Protocol::Http,
        api_key: DEMO_PUBLIC.into(),
        api_secret: Secret::new(DEMO_PRIVATE),
        use_advanced_search: true,
        ..Config::default()
    };
    let queries = cfg.queries.clone();
    let transport = Transport::new(TransportSettings::from_config(&cfg))?;
    let plan = Arc::new(Plan::new(cfg.clone()).map_err(|e| anyhow::anyhow!("{e}"))?);
    let app: Arc<dyn Appliance> = Arc::new(transport);
    let sink: Arc<dyn Sink> = Arc::new(NullSink);

    let windows_per_action = schedule(&cfg, base)
        .iter()
        .filter(|s| s.kind == ScheduleKind::Event)
        .count();
    let started = Instant::now();
    let reports = run_job(
        app,
        plan,
        actions.clone(),
        TimeMode::Virtual,
        sink,
        RunOptions::default(),
        concurrency,
    )
    .await;
    let wall_s = started.elapsed().as_secs_f64();

    // What the schedules imply: every event window sends /modelbreaches and each
    // configured query whose macros have values for the action (one page each: no
    // answer here holds more hits than the page size).
    let mut expected = 0u64;
    for a in &actions {
        let a = a.read().unwrap_or_else(|p| p.into_inner());
        let sent_queries = queries
            .iter()
            .filter(|q| {
                matches!(
                    dt_client::macros::expand_lists(&q.query, a.ips(), a.hostnames()),
                    dt_client::macros::Expansion::Query(_)
                )
            })
            .count() as u64;
        let windows = schedule(&Config::default(), a.start)
            .iter()
            .filter(|s| s.kind == ScheduleKind::Event)
            .count() as u64;
        expected += windows * (1 + sent_queries);
    }
    let mut client_requests = 0;
    let mut retries = 0;
    let mut failed = 0;
    let mut records = 0;
    let mut emitted = 0;
    for r in &reports {
        client_requests += r.summary.requests;
        retries += r.summary.retries;
        failed += r.summary.queries_failed;
        for o in &r.outcomes {
            records += o.records;
            emitted += o.emitted;
        }
    }
    let entries = state.journal.all();
    let mut seen = HashSet::new();
    let mut duplicates = 0;
    let mut not_ok = 0;
    for e in &entries {
        if !seen.insert(e.target.as_str()) {
            duplicates += 1;
        }
        if e.verdict != Verdict::Accepted || e.status != 200 {
            not_ok += 1;
        }
    }
    let mock_requests = entries.len() as u64;
    let peak_rss_kb = crate::procs::self_peak_kb();
    let _ = stop_tx.send(());
    let _ = server.await;
    Ok(JobResult {
        actions: n_actions,
        concurrency,
        windows_per_action,
        wall_s,
        total_s: t0.elapsed().as_secs_f64(),
        peak_rss_kb,
        expected_requests: expected,
        mock_requests,
        client_requests,
        retries,
        failed_queries: failed,
        not_ok,
        duplicate_targets: duplicates,
        records,
        emitted,
    })
}
