//! dt-client benchmark figures (printed, never asserted):
//!
//! 1. normalizing 10,000 advanced-search records (mock-shaped hits of a generated
//!    world: appliance logs of every type) — target: median ≤ 20 ms;
//! 2. a full 11-window virtual-time run (Q = 5 min, I = 30 s) against the in-process
//!    mock with 10,000 matching records in every window (20,000 unique, each window one
//!    page of 10,000), output serialized as JSON lines — target: ≤ 2 s;
//! 3. a job of 200 actions run concurrently over the default schedule in virtual time
//!    against the in-process mock (4,400 requests).
//!
//! Run: `cargo run --release -p dt-conformance --example client_bench [-- ROUNDS [normalize|run|job]]`.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use dt_client::action::Action;
use dt_client::config::{Config, Protocol};
use dt_client::flows::{
    advanced_search_json, advanced_search_target, modelbreaches_target, scan_search_page,
    Appliance, FnAppliance,
};
use dt_client::normalize::{Kind, Normalizer, Source};
use dt_client::output::JsonLines;
use dt_client::run::{run_job, run_one, TimeMode};
use dt_client::scheduler::{shared, NullSink, Plan, RunOptions, Sink};
use dt_client::transport::{Transport, TransportSettings};
use dt_client::window::windows;
use dt_mock::{MockClock, MockConfig, TokenSet};
use dt_protocol::Secret;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

// The allocator of the dt-client binary, so the figures are the shipped ones.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PUBLIC: &str = "bench-public";
const PRIVATE: &str = "bench-private";

fn stats(mut v: Vec<StdDuration>) -> String {
    v.sort();
    let ms = |d: StdDuration| d.as_secs_f64() * 1e3;
    format!(
        "median {:.2} ms, min {:.2} ms, p90 {:.2} ms, max {:.2} ms ({} rounds)",
        ms(v[v.len() / 2]),
        ms(v[0]),
        ms(v[(v.len() * 9 / 10).min(v.len() - 1)]),
        ms(v[v.len() - 1]),
        v.len()
    )
}

fn normalize_10k(rounds: usize) {
    let world = dt_world::generate(&dt_world::GenParams {
        devices: 60,
        records: 10_000,
        seed: 11,
        anchor_ms: 1_714_564_800_000,
    });
    let store = world.search();
    let hits: Vec<Value> = store
        .ids_by_time()
        .iter()
        .map(|&id| store.hit(id))
        .collect();
    let bytes: usize = hits.iter().map(|h| h.to_string().len()).sum();
    let normalizer = Normalizer::from_config(&Config::default()).expect("the default map");
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let batch = hits.clone();
        let t0 = Instant::now();
        let out: Vec<_> = batch
            .into_iter()
            .map(|h| normalizer.normalize(h, Source::AdvancedSearch, Kind::Event, Some("IP Query")))
            .collect();
        times.push(t0.elapsed());
        black_box(out);
    }
    println!(
        "normalize {} advanced-search records ({:.1} MB of JSON): {}",
        hits.len(),
        bytes as f64 / 1e6,
        stats(times)
    );
}

struct Mock {
    base_url: String,
    state: dt_mock::AppState,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn mock() -> Mock {
    let tokens = TokenSet::parse_pairs([format!("{PUBLIC}:{PRIVATE}").as_str()]).expect("tokens");
    let mut config = MockConfig::new(tokens, MockClock::system(Duration::ZERO));
    config.journal_capacity = 100_000;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    let m = dt_mock::Mock::new(config);
    let state = m.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(m.serve(listener, async {
        let _ = rx.await;
    }));
    Mock {
        base_url: format!("http://{addr}"),
        state,
        _stop: tx,
    }
}

fn client_config(m: &Mock) -> Config {
    let (host, port) = m.base_url["http://".len()..]
        .rsplit_once(':')
        .expect("host:port");
    Config {
        host: host.into(),
        port: port.parse().expect("a port"),
        protocol: Protocol::Http,
        api_key: PUBLIC.into(),
        api_secret: Secret::new(PRIVATE),
        use_advanced_search: true,
        limit: 100_000,
        ..Config::default()
    }
}

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

async fn full_run(rounds: usize) {
    let m = mock().await;
    let s = time::macros::datetime!(2024-05-01 12:00:00 UTC);
    // 20,000 records 30 ms apart over [S − 5 min, S + 5 min), off the window edges:
    // every window holds exactly 10,000.
    {
        let mut w = m.state.world.write().expect("the world");
        for i in 0..20_000i64 {
            let t = s - Duration::minutes(5) + Duration::milliseconds(15 + 30 * i);
            let mut f = Map::new();
            f.insert("src_ip".into(), Value::from("192.0.2.77"));
            f.insert(
                "dest_ip".into(),
                Value::from(format!("198.18.{}.{}", i / 250 % 250, i % 250 + 1)),
            );
            f.insert("src_port".into(), Value::from(40_000 + i % 20_000));
            f.insert("dest_port".into(), Value::from(443));
            f.insert(
                "msg_s".into(),
                Value::from(format!("TLS session {i} blocked")),
            );
            f.insert("signature".into(), Value::from("Block outbound TLS"));
            f.insert("severity".into(), Value::from("high"));
            f.insert("action".into(), Value::from("blocked"));
            f.insert("product".into(), Value::from("PAN-OS"));
            w.add_search_record(ms(t), "syslog", &f).expect("a record");
        }
    }
    let config = client_config(&m);
    let transport = Transport::new(TransportSettings::from_config(&config)).expect("a transport");
    let plan = Plan::new(config).expect("a plan");
    breakdown(&m, &transport, &plan, s, rounds).await;
    let mut times = Vec::new();
    let mut last = None;
    for r in 0..rounds {
        let action = shared(
            Action::new(format!("bench-{r}"), s, ["192.0.2.77"], [""; 0], [""; 0])
                .expect("an action"),
        );
        let sink = JsonLines::new(Box::new(std::io::sink()));
        let t0 = Instant::now();
        let report = run_one(
            &transport,
            &plan,
            &action,
            TimeMode::Virtual,
            &sink,
            &RunOptions::default(),
        )
        .await;
        times.push(t0.elapsed());
        last = Some(report.summary);
    }
    let summary = last.expect("a run");
    println!(
        "full 11-window virtual-time run, 10,000 records per window ({} requests, {} records received, {} events emitted, {} duplicates): {}",
        summary.requests,
        summary.results.events + summary.results.duplicates,
        summary.results.events,
        summary.results.duplicates,
        stats(times)
    );

    // The same run on the client's side only: every answer fetched from the mock once,
    // then served from memory.
    let mut canned = HashMap::new();
    for w in windows(
        s,
        Duration::minutes(5),
        Duration::seconds(30),
        Duration::ZERO,
    ) {
        let wire = w.to_darktrace_clock(Duration::ZERO);
        for target in [
            modelbreaches_target(&wire),
            advanced_search_target(
                "@fields.src_ip:(\"192.0.2.77\") OR @fields.dest_ip:(\"192.0.2.77\")",
                &wire,
                0,
                10_000,
            ),
        ] {
            let resp = transport.get(&target).await.expect("an answer");
            canned.insert(target, resp);
        }
    }
    let canned = FnAppliance(move |t: &str| {
        canned
            .get(t)
            .cloned()
            .ok_or_else(|| dt_client::error::ClientError::Unexpected {
                status: 404,
                first_bytes: t.to_string(),
            })
    });
    let mut times = Vec::new();
    for r in 0..rounds {
        let action = shared(
            Action::new(format!("canned-{r}"), s, ["192.0.2.77"], [""; 0], [""; 0])
                .expect("an action"),
        );
        let sink = JsonLines::new(Box::new(std::io::sink()));
        let t0 = Instant::now();
        let report = run_one(
            &canned,
            &plan,
            &action,
            TimeMode::Virtual,
            &sink,
            &RunOptions::default(),
        )
        .await;
        times.push(t0.elapsed());
        assert_eq!(report.summary.results.events, 20_000);
    }
    println!(
        "the same run, client side only (answers served from memory): {}",
        stats(times)
    );
}

/// Where one window's time goes: the mock's search and rendering, the HTTP round trip,
/// and the client's scan, parse and normalization of the 10,000 hits.
async fn breakdown(m: &Mock, transport: &Transport, plan: &Plan, s: OffsetDateTime, rounds: usize) {
    let w = windows(
        s,
        Duration::minutes(5),
        Duration::seconds(30),
        Duration::ZERO,
    )[0];
    let wire = w.to_darktrace_clock(Duration::ZERO);
    let query = "@fields.src_ip:(\"192.0.2.77\") OR @fields.dest_ip:(\"192.0.2.77\")";
    let json = advanced_search_json(query, &wire, 0, 10_000).to_string();
    let target = advanced_search_target(query, &wire, 0, 10_000);
    let (mut search, mut render, mut http, mut scan, mut parse, mut norm) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut body_len = 0;
    for _ in 0..rounds {
        let now = m.state.clock.now_ms();
        let t0 = Instant::now();
        let v = {
            let world = m.state.world.read().expect("the world");
            dt_world::api::search::advanced_search_json(&world, json.as_bytes(), now)
                .expect("a search")
        };
        search.push(t0.elapsed());
        let t0 = Instant::now();
        let bytes = dt_mock::json::pretty(&v);
        render.push(t0.elapsed());
        black_box(bytes);
        let t0 = Instant::now();
        let resp = transport.get(&target).await.expect("an answer");
        http.push(t0.elapsed());
        body_len = resp.body.len();
        let t0 = Instant::now();
        let (_, spans) = scan_search_page(&resp).expect("a page");
        scan.push(t0.elapsed());
        let t0 = Instant::now();
        let hits: Vec<Value> = spans
            .iter()
            .map(|h| serde_json::from_slice(&resp.body[h.span.clone()]).expect("a hit"))
            .collect();
        parse.push(t0.elapsed());
        let t0 = Instant::now();
        let out: Vec<_> = hits
            .into_iter()
            .map(|h| {
                plan.normalizer
                    .normalize(h, Source::AdvancedSearch, Kind::Event, Some("IP Query"))
            })
            .collect();
        norm.push(t0.elapsed());
        black_box(out);
    }
    println!(
        "one window of 10,000 hits ({:.1} MB on the wire):",
        body_len as f64 / 1e6
    );
    println!("  mock search (world):        {}", stats(search));
    println!("  mock rendering (2-space):   {}", stats(render));
    println!("  HTTP round trip (all in):   {}", stats(http));
    println!("  client page scan (ids):     {}", stats(scan));
    println!("  client parse of 10,000 hits: {}", stats(parse));
    println!("  client normalize 10,000:    {}", stats(norm));
}

async fn job_200(rounds: usize) {
    let m = mock().await;
    let config = client_config(&m);
    let app: Arc<dyn Appliance> =
        Arc::new(Transport::new(TransportSettings::from_config(&config)).expect("a transport"));
    let plan = Arc::new(Plan::new(config).expect("a plan"));
    let now = m.state.clock.now();
    let mut times = Vec::new();
    let mut requests = 0;
    for _ in 0..rounds {
        let actions = (0..200)
            .map(|i| {
                shared(
                    Action::new(
                        format!("job-{i}"),
                        now - Duration::hours(2) + Duration::seconds(i),
                        [format!("10.200.{}.{}", i / 250, i % 250 + 1)],
                        [""; 0],
                        [format!("host-{i}.example")],
                    )
                    .expect("an action"),
                )
            })
            .collect();
        let sink: Arc<dyn Sink> = Arc::new(NullSink);
        let t0 = Instant::now();
        let reports = run_job(
            app.clone(),
            plan.clone(),
            actions,
            TimeMode::Virtual,
            sink,
            RunOptions::default(),
            64,
        )
        .await;
        times.push(t0.elapsed());
        requests = reports.iter().map(|r| r.summary.requests).sum::<u64>();
    }
    println!(
        "job of 200 concurrent actions, default schedule, virtual time ({requests} requests): {}",
        stats(times)
    );
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(21);
    // An optional second argument runs one part: normalize, run or job.
    let part = std::env::args().nth(2);
    let wants = |p: &str| part.as_deref().is_none_or(|w| w == p);
    if wants("normalize") {
        normalize_10k(rounds.max(5));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    if wants("run") {
        rt.block_on(full_run((rounds / 4).max(3)));
    }
    if wants("job") {
        rt.block_on(job_200((rounds / 4).max(3)));
    }
}
