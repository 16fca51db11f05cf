//! The client under faults (RELIABILITY.md, "Client under faults").
//!
//! One fixed action over the default world (pinned at its stored anchor, 2024-05-01
//! 12:00:00 UTC) runs its 11-window D6 schedule (Q = 5 min, I = 30 s, MSI with advanced
//! search: `/modelbreaches`, `IP Query` and `Hostname Query` per window) in virtual time
//! against one in-process mock: once healthy, which gives the reference (every
//! emitted event and alert by kind, source and D10 id, with its normalized JSON), then
//! under each run-time fault of the mock in three modes:
//!
//! - `clears@10`: every request of window 10 (`/modelbreaches` and both searches, each
//!   fault on its exact path) fails twice (`times: 2`, one less than the client's 3
//!   attempts) and then passes. The emitted records must be the healthy ones (same ids,
//!   same content, none twice) and no window may be reported failed. Window 10 is
//!   picked because two records are in no other window: only the retries bring them.
//! - `persists@4` / `persists@10`: every request fails from the moment window k is
//!   issued until window k+1 is (the scheduler's `on_window` hook adds and removes the
//!   fault, so nothing else is hit). Window k must be the only failed window, each of its
//!   queries failed after 3 attempts with the fault's D13 kind; the emitted records must
//!   be exactly the healthy ones minus those in no window but k (none for window 4, two
//!   for window 10), none twice, each with its healthy content.
//!
//! Every run is also checked against the mock's journal: the faulted answers are all
//! requests of window k, and the mock saw exactly the requests the client counted (no
//! hidden retry below the client's own).
//!
//! The slow fault holds answers 600 s while the client's timeout is 300 ms, as in
//! `client.error.timeout-in-window-4`. The timeout is reqwest's timer on tokio's clock;
//! the workspace does not build tokio's paused time (`test-util`), and
//! `dt_client::clock` pins why the client does not run on it (a paused runtime
//! auto-advances while it waits on socket IO, firing timeouts spuriously). So each
//! timed-out attempt costs 300 ms of wall time (24 in all); nothing sleeps: the
//! scheduler's waits and the retries' backoff are on its virtual clock.
//!
//! `fault_matrix_table` renders the matrix and pins it with a snapshot, which
//! RELIABILITY.md quotes. Reproduce:
//! `cargo test -p dt-conformance --test conformance fault_matrix -- --nocapture`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use dt_client::action::Action;
use dt_client::config::Config;
use dt_client::flows::{advanced_search_target, decode_advanced_search_target, RetryPolicy};
use dt_client::macros::{expand, Expansion};
use dt_client::normalize::{Kind, NormalizedEvent};
use dt_client::scheduler::{QueryStatus, RunOptions, WindowRef};
use dt_client::window::{windows, wire_iso, wire_ms, Window};
use dt_conformance::cases::client::{config, run, Run};
use dt_conformance::Target;
use dt_mock::faults::{FaultKind, FaultSpec};
use dt_mock::journal::Verdict;
use dt_mock::AppState;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// The action's start: 29 minutes before the default world's end. Its windows cover
/// 11:26:00 to 11:36:00.
const START: OffsetDateTime = datetime!(2024-05-01 11:31:00 UTC);
/// Device 169 (`lt-yves-01`, 10.10.2.39), whose model breach 2008 falls at 11:28:08
/// (windows 0-4), and the DNS server 10.10.3.10, which has records in every window.
const SRC_IPS: [&str; 1] = ["10.10.2.39"];
const DEST_IPS: [&str; 1] = ["10.10.3.10"];
const HOSTNAMES: [&str; 1] = ["lt-yves-01"];

/// The client's timeout in the slow rows (the mock holds those answers 600 s).
const SLOW_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(300);

/// The faults of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// 503 with the appliance's plain error text.
    Status503,
    /// Headers, then the connection broken.
    Reset,
    /// A 200 whose JSON is cut in half.
    Truncate,
    /// The answer held past the client's timeout.
    Slow,
    /// A fronting proxy's HTML 502 page (nginx).
    Html502,
}

const FAULTS: [Fault; 5] = [
    Fault::Status503,
    Fault::Reset,
    Fault::Truncate,
    Fault::Slow,
    Fault::Html502,
];

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::Status503 => "5xx burst (`status` 503)",
            Fault::Reset => "connection reset (`reset`)",
            Fault::Truncate => "truncated JSON (`truncate`)",
            Fault::Slow => "slow (`delay` 600 s, timeout 300 ms)",
            Fault::Html502 => "proxy HTML page (`html` 502)",
        }
    }

    fn kind(self) -> FaultKind {
        match self {
            Fault::Status503 => FaultKind::Status { status: 503 },
            Fault::Reset => FaultKind::Reset,
            Fault::Truncate => FaultKind::Truncate,
            // The longest the mock allows: no held answer reaches the journal while
            // the matrix runs.
            Fault::Slow => FaultKind::Delay { ms: 600_000 },
            Fault::Html502 => FaultKind::Html { status: 502 },
        }
    }

    /// The D13 kind the client must report.
    fn error_kind(self) -> &'static str {
        match self {
            Fault::Status503 => "server",
            Fault::Reset => "reset",
            Fault::Truncate => "malformed",
            Fault::Slow => "timeout",
            // Not JSON: D13's "malformed response (non-JSON ..., with the first bytes)",
            // whose message points at a proxy or load balancer; a 5xx, so retried.
            Fault::Html502 => "malformed",
        }
    }

    /// Whether the mock journals the faulted answer itself (a held answer reaches the
    /// journal only when it is finally given, after the run; a truncated one is
    /// journaled as the appliance's answer).
    fn journaled_as_faulted(self) -> bool {
        matches!(self, Fault::Status503 | Fault::Reset | Fault::Html502)
    }
}

/// How a fault is scoped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Each request of the window fails this many times, then passes.
    Clears { window: u32, failures: u32 },
    /// Every request fails while the window runs.
    Persists { window: u32 },
}

impl Mode {
    fn name(self) -> String {
        match self {
            Mode::Clears { window, failures } => {
                format!("clears@{window} ({failures}× per request)")
            }
            Mode::Persists { window } => format!("persists@{window}"),
        }
    }

    fn window(self) -> u32 {
        match self {
            Mode::Clears { window, .. } | Mode::Persists { window } => window,
        }
    }
}

fn modes() -> [Mode; 3] {
    // One failure less than the client's attempts: the last attempt passes.
    let failures = RetryPolicy::default().max_attempts - 1;
    [
        Mode::Clears {
            window: 10,
            failures,
        },
        Mode::Persists { window: 4 },
        Mode::Persists { window: 10 },
    ]
}

fn action() -> Action {
    Action::new("faults", START, &SRC_IPS, &DEST_IPS, &HOSTNAMES).expect("a valid action")
}

fn schedule() -> Vec<Window> {
    windows(
        START,
        Duration::minutes(5),
        Duration::seconds(30),
        Duration::ZERO,
    )
}

/// A mock serving the default world at its stored anchor. The runs share it: each
/// reads only its own journal entries, and removes its fault.
async fn target() -> Target {
    Target::in_process_with(|c| c.world = dt_world::World::default_world(None))
        .await
        .expect("an in-process mock")
}

/// The exact paths of a window's requests: `/modelbreaches` and the first page of each
/// configured search (one page holds every hit here).
fn window_paths(c: &Config, action: &Action, w: &Window) -> Vec<String> {
    let wire = w.to_darktrace_clock(c.event_time_adjustment);
    let mut paths = vec!["/modelbreaches".to_string()];
    for q in &c.queries {
        if let Expansion::Query(search) = expand(&q.query, action) {
            paths.push(advanced_search_target(&search, &wire, 0, c.page_size()));
        }
    }
    paths
}

/// Installs the fault when its window is issued and removes it when the next one is.
fn fault_hook(state: &AppState, c: &Config, fault: Fault, mode: Mode) -> RunOptions {
    let (state, c, action) = (state.clone(), c.clone(), action());
    let installed: Arc<Mutex<Vec<u64>>> = Arc::default();
    let hook = move |w: &WindowRef<'_>| {
        let mut ids = installed.lock().expect("not poisoned");
        for id in ids.drain(..) {
            state.faults.remove(id);
        }
        if w.window.index != mode.window() {
            return;
        }
        let specs: Vec<FaultSpec> = match mode {
            Mode::Clears { failures, .. } => window_paths(&c, &action, &w.window)
                .into_iter()
                .map(|route| FaultSpec {
                    route,
                    kind: fault.kind(),
                    times: Some(failures),
                })
                .collect(),
            Mode::Persists { .. } => vec![FaultSpec {
                route: "/".into(),
                kind: fault.kind(),
                times: None,
            }],
        };
        for spec in specs {
            ids.push(state.faults.add(spec).expect("a valid fault"));
        }
    };
    RunOptions {
        on_window: Some(Arc::new(hook)),
        ..RunOptions::default()
    }
}

/// Runs the schedule once, healthy or under a fault (which is gone afterwards).
async fn run_once(t: &Target, fault: Option<(Fault, Mode)>) -> Run {
    let state = t.mock.clone().expect("an in-process mock");
    let mut c = config(t).expect("settings for the mock");
    let opts = match fault {
        None => RunOptions::default(),
        Some((f, mode)) => {
            if f == Fault::Slow {
                c.timeout = SLOW_TIMEOUT;
            }
            fault_hook(&state, &c, f, mode)
        }
    };
    let r = run(t, c, action(), opts).await;
    state.faults.clear();
    r.unwrap_or_else(|e| panic!("the run did not complete: {e:?}"))
}

/// A record's identity: kind, source and D10 id.
type Key = (&'static str, &'static str, String);

fn key(e: &NormalizedEvent) -> Key {
    let kind = match e.kind {
        Kind::Event => "event",
        Kind::Alert => "alert",
    };
    (kind, e.source.as_str(), e.id.clone())
}

/// What a run emitted: each identity with its normalized JSON, and the identities
/// emitted more than once.
struct Emitted {
    records: BTreeMap<Key, String>,
    twice: Vec<Key>,
}

impl Emitted {
    fn of(run: &Run) -> Emitted {
        let mut records = BTreeMap::new();
        let mut twice = Vec::new();
        for e in &run.events {
            let json = serde_json::to_string(e).expect("an event serializes");
            if records.insert(key(e), json).is_some() {
                twice.push(key(e));
            }
        }
        Emitted { records, twice }
    }

    fn count(&self, kind: &str) -> usize {
        self.records.keys().filter(|k| k.0 == kind).count()
    }

    fn cell(&self) -> String {
        format!("{} + {}", self.count("event"), self.count("alert"))
    }
}

/// The windows whose bounds hold a record's time (D6: inclusive; E = 0).
fn windows_of(e: &NormalizedEvent) -> Vec<u32> {
    let t = e.timestamp.expect("every record here has a time");
    schedule()
        .iter()
        .filter(|w| w.contains(t))
        .map(|w| w.index)
        .collect()
}

/// The window a journaled request belongs to, by the end of the window it sent.
fn window_of_target(target: &str) -> Option<u32> {
    let end = match decode_advanced_search_target(target) {
        Some(q) => q["time"]["to"].as_str()?.to_string(),
        None => target
            .split_once("endtime=")?
            .1
            .split('&')
            .next()?
            .to_string(),
    };
    schedule()
        .iter()
        .find(|w| wire_iso(w.to) == end || wire_ms(w.to).to_string() == end)
        .map(|w| w.index)
}

/// Checks one faulted run against the healthy one; returns what is wrong.
fn check(healthy: &Run, fault: Fault, mode: Mode, run: &Run) -> Vec<String> {
    let mut wrong = Vec::new();
    let reference = Emitted::of(healthy).records;
    let got = Emitted::of(run);
    let s = &run.report.summary;
    let k = mode.window();
    let attempts = u64::from(RetryPolicy::default().max_attempts);
    if !got.twice.is_empty() {
        wrong.push(format!("emitted more than once: {:?}", got.twice));
    }

    // The records: all of the healthy ones, less (when the fault persists) those that
    // no window but k returns; each with its healthy content.
    let only_in_k: BTreeSet<Key> = healthy
        .events
        .iter()
        .filter(|e| windows_of(e) == [k])
        .map(key)
        .collect();
    let want: BTreeSet<&Key> = reference
        .keys()
        .filter(|key| matches!(mode, Mode::Clears { .. }) || !only_in_k.contains(*key))
        .collect();
    let have: BTreeSet<&Key> = got.records.keys().collect();
    let missing: Vec<_> = want.difference(&have).collect();
    let extra: Vec<_> = have.difference(&want).collect();
    if !missing.is_empty() {
        wrong.push(format!("lost: {missing:?}"));
    }
    if !extra.is_empty() {
        wrong.push(format!("not in the expected set: {extra:?}"));
    }
    for (key, json) in &got.records {
        if let Some(w) = reference.get(key).filter(|w| *w != json) {
            wrong.push(format!(
                "content of {key:?}:\n  healthy {w}\n  faulted {json}"
            ));
        }
    }

    // The account.
    let healthy_k: Vec<_> = healthy
        .report
        .outcomes
        .iter()
        .filter(|o| o.window == k)
        .collect();
    let in_k: Vec<_> = run
        .report
        .outcomes
        .iter()
        .filter(|o| o.window == k)
        .collect();
    // The attempts the fault answered.
    let faulted_attempts = match mode {
        Mode::Clears { failures, .. } => {
            if s.windows_failed != 0 || !s.failures.is_empty() {
                wrong.push(format!("failures reported: {:?}", s.failures));
            }
            let want_retries =
                healthy_k.iter().map(|o| o.requests).sum::<u64>() * u64::from(failures);
            if s.retries != want_retries {
                wrong.push(format!("{} retries (want {want_retries})", s.retries));
            }
            want_retries
        }
        Mode::Persists { .. } => {
            if s.windows_failed != 1 || s.failures.iter().any(|f| f.window != k) {
                wrong.push(format!(
                    "{} failed windows (want only {k}): {:?}",
                    s.windows_failed, s.failures
                ));
            }
            if in_k.len() != healthy_k.len() {
                wrong.push(format!(
                    "{} queries in window {k} (healthy {})",
                    in_k.len(),
                    healthy_k.len()
                ));
            }
            for o in &in_k {
                match &o.status {
                    QueryStatus::Failed { kind, .. } if kind.to_string() == fault.error_kind() => {
                        if o.requests != attempts {
                            wrong.push(format!(
                                "{} in window {k}: {} requests (want {attempts})",
                                o.query, o.requests
                            ));
                        }
                    }
                    other => wrong.push(format!(
                        "{} in window {k}: {other:?} (want failed, {})",
                        o.query,
                        fault.error_kind()
                    )),
                }
            }
            let want_retries = in_k.len() as u64 * (attempts - 1);
            if s.retries != want_retries {
                wrong.push(format!("{} retries (want {want_retries})", s.retries));
            }
            in_k.len() as u64 * attempts
        }
    };
    for o in run.report.outcomes.iter().filter(|o| o.window != k) {
        if o.status != QueryStatus::Issued || o.retries != 0 {
            wrong.push(format!(
                "window {} {}: {:?}, {} retries",
                o.window, o.query, o.status, o.retries
            ));
        }
    }
    // Clearing: each faulted attempt is one more request. Persisting: the window's
    // queries took every attempt instead of one.
    let healthy_k_requests: u64 = healthy_k.iter().map(|o| o.requests).sum();
    let want_requests = match mode {
        Mode::Clears { .. } => healthy.report.summary.requests + faulted_attempts,
        Mode::Persists { .. } => {
            healthy.report.summary.requests - healthy_k_requests + faulted_attempts
        }
    };
    if s.requests != want_requests {
        wrong.push(format!("{} requests (want {want_requests})", s.requests));
    }

    // The mock's side: what it faulted lies in window k, and it saw what the client sent.
    let faulted: Vec<_> = run
        .journal
        .iter()
        .filter(|e| e.verdict == Verdict::Faulted)
        .collect();
    if fault.journaled_as_faulted() && faulted.len() as u64 != faulted_attempts {
        wrong.push(format!(
            "the mock faulted {} answers (want {faulted_attempts})",
            faulted.len()
        ));
    }
    if let Some(e) = faulted
        .iter()
        .find(|e| window_of_target(&e.target) != Some(k))
    {
        wrong.push(format!(
            "a faulted request outside window {k}: {}",
            e.target
        ));
    }
    let held = if fault == Fault::Slow {
        faulted_attempts
    } else {
        0
    };
    if run.journal.len() as u64 + held != s.requests {
        wrong.push(format!(
            "the mock journaled {} requests, {held} held; the client counted {}",
            run.journal.len(),
            s.requests
        ));
    }
    wrong
}

/// One row of the matrix.
struct Row {
    fault: String,
    mode: String,
    healthy: String,
    faulted: String,
    lost: usize,
    twice: usize,
    failed: String,
    kinds: String,
    requests: String,
}

impl Row {
    fn of(fault: &str, mode: &str, healthy: &Emitted, run: &Run) -> Row {
        let s = &run.report.summary;
        let got = Emitted::of(run);
        let windows: BTreeSet<u32> = s.failures.iter().map(|f| f.window).collect();
        let failed = if windows.is_empty() {
            "none".to_string()
        } else {
            let w: Vec<String> = windows.iter().map(u32::to_string).collect();
            format!(
                "{} ({} of {} queries)",
                w.join(", "),
                s.queries_failed,
                s.queries_issued
            )
        };
        let kinds: BTreeSet<String> = s.failures.iter().map(|f| f.kind.to_string()).collect();
        Row {
            fault: fault.into(),
            mode: mode.into(),
            healthy: healthy.cell(),
            faulted: got.cell(),
            lost: healthy
                .records
                .keys()
                .filter(|k| !got.records.contains_key(*k))
                .count(),
            twice: got.twice.len(),
            failed,
            kinds: if kinds.is_empty() {
                "—".into()
            } else {
                kinds.into_iter().collect::<Vec<_>>().join(", ")
            },
            requests: format!("{} ({})", s.requests, s.retries),
        }
    }
}

fn render(rows: &[Row]) -> String {
    let mut out = String::from(
        "| Fault | Mode | Healthy: events + alerts | Under fault: events + alerts | Lost | Emitted twice | Failed windows | Error kind | Requests (retries) |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.fault, r.mode, r.healthy, r.faulted, r.lost, r.twice, r.failed, r.kinds, r.requests
        ));
    }
    out
}

#[tokio::test]
async fn fault_matrix_table() {
    let t = target().await;
    let healthy = run_once(&t, None).await;
    let reference = Emitted::of(&healthy);
    let hs = &healthy.report.summary;
    assert!(reference.twice.is_empty(), "healthy: {:?}", reference.twice);
    assert!(!hs.has_failures(), "healthy: {:?}", hs.failures);
    // The schedule is worth faulting: events and an alert, records in many windows, and
    // records that no window but the last returns.
    let spread: BTreeSet<u32> = healthy.events.iter().flat_map(windows_of).collect();
    let only_last = healthy
        .events
        .iter()
        .filter(|e| windows_of(e) == [10])
        .count();
    assert_eq!(
        (
            reference.count("event"),
            reference.count("alert"),
            spread.len(),
            only_last
        ),
        (19, 1, 11, 2),
        "the reference run"
    );

    let mut rows = vec![Row::of("none (healthy)", "—", &reference, &healthy)];
    let mut wrong = Vec::new();
    for fault in FAULTS {
        for mode in modes() {
            let r = run_once(&t, Some((fault, mode))).await;
            for w in check(&healthy, fault, mode, &r) {
                wrong.push(format!("{} {}: {w}", fault.name(), mode.name()));
            }
            rows.push(Row::of(fault.name(), &mode.name(), &reference, &r));
        }
    }
    let table = render(&rows);
    eprintln!("{table}");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    insta::assert_snapshot!("fault_matrix", table);
}
