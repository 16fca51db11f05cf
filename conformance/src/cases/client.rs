//! dt-client against the in-process mock (DECISIONS D6–D13, validation semantics §9).
//!
//! Every case runs a real client schedule in virtual time against the mock the run
//! started, then checks two things: the mock's journal (the requests the client actually
//! sent, their decoded windows, and the mock's verdicts) and the client's output (the
//! normalized events and alerts, and the run summary).
//!
//! Cases share one mock, so each works on its own day (`day(n)`, 2024-05-n 12:00:00 UTC)
//! and its own addresses, inserts what it needs into the mock's world, reads only the
//! journal entries of its own run, and puts back any token, clock offset or fault it
//! changed. Signatures carry the real time (the transport's clock) while the windows
//! follow the virtual clock, so a 2024 schedule passes the mock's skew check.

#![allow(clippy::result_large_err)] // `Failure` carries the exchange that shows it; not a hot path.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dt_client::action::{Action, IpRole};
use dt_client::config::{Config, Mode, NamedQuery, Protocol};
use dt_client::fieldmap::Field;
use dt_client::flows::decode_advanced_search_target;
use dt_client::normalize::{rfc3339, Kind, NormalizedEvent, Source};
use dt_client::output::Collected;
use dt_client::run::{identifiers, query_window, run_job, run_one, TimeMode};
use dt_client::scheduler::{
    shared, ActionReport, Plan, QueryStatus, RunOptions, SharedAction, Sink, WindowRef,
};
use dt_client::transport::{Transport, TransportSettings};
use dt_client::window::{correlation_windows, windows, wire_iso, wire_ms, Window};
use dt_mock::faults::{FaultKind, FaultSpec};
use dt_mock::journal::{Entry, Verdict};
use dt_mock::{AppState, TokenSet};
use dt_world::{NewBreach, NewConnection, PeerRef};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::case;
use crate::case::{Case, Failure};
use crate::target::Target;

/// The cases.
pub fn cases() -> Vec<Case> {
    vec![
        case!("client.window.guide-example", "With Q=5 min, I=30 s, D=0 and S=12:00:00 the client MUST send exactly 11 windows per query, 11:55:00–12:00:00 first and 12:00:00–12:05:00 last, each issued at its end (D6).", "D6; semantics §9.1", [Client], guide_example),
        case!("client.window.delay-10m", "With D=10 min the client MUST send the same 11 windows, the first issued at 12:10:00 and none before (D6).", "D6; semantics §9.2", [Client], delay_10m),
        case!("client.window.interval-not-dividing", "With Q=5 min and I=45 s the client MUST send 8 windows of 5 minutes, the last one ending at S+Q (D6).", "D6; semantics §9.7", [Client], interval_not_dividing),
        case!("client.wire.formats", "/modelbreaches MUST carry starttime/endtime in epoch ms and advanced search timeframe custom, ISO .mmmZ bounds and size min(limit, 10000) (D7).", "D7; semantics §9.13", [Client], wire_formats),
        case!("client.macro.ipv6-and-quotes", "%IPS% and %HOSTNAMES% MUST expand deduplicated, in first-seen order, each double-quoted with \" and \\ escaped, joined by OR; an IPv6 address is never bare (D8).", "D8; semantics §9.14-16", [Client], macro_ipv6_and_quotes),
        case!("client.skip.empty-hostnames", "A query whose %HOSTNAMES% list is empty MUST NOT be sent, and the run MUST report it skipped in every window (D8).", "D8; semantics §9.17", [Client], skip_empty_hostnames),
        case!("client.skip.empty-ips", "A query whose %IPS% list is empty MUST NOT be sent and is reported skipped, while the hostname query still runs (D8).", "D8; semantics §9.17", [Client], skip_empty_ips),
        case!("client.identifiers.grown-ip-set", "An IP added during the run MUST appear in later windows' queries only; no window is re-issued (D6, D8).", "D6, D8; semantics §9.18", [Client], grown_ip_set),
        case!("client.limit.events-and-alerts-separately", "With limit 3, five matching events and five matching breaches MUST give 3 events and 3 alerts, each cut reported (D10).", "D10, D7; semantics §9.9-10", [Client], limit_separately),
        case!("client.fieldmap.msg_s-then-syslogmessage", "The default map MUST take description from msg_s when present and non-empty, else from SyslogMessage, before any later candidate (D12; the guide's ['msg_s','SyslogMessage']).", "D12; semantics §9.21-22", [Client], fieldmap_default_order),
        case!("client.fieldmap.user-order-wins", "A user field map MUST replace the default for the fields it names, in its order, and leave other fields on the default (D12).", "D12; semantics §9.24", [Client], fieldmap_user_order),
        case!("client.time.adjustment-positive", "With E=+120 s windows MUST go out shifted by -120 s and a record's time t MUST come back as t+120 s (D7).", "D7; semantics §9.19", [Client], adjustment_positive),
        case!("client.time.adjustment-negative", "With E=-90 s windows MUST go out shifted by +90 s and a record's time t MUST come back as t-90 s (D7).", "D7; semantics §9.19", [Client], adjustment_negative),
        case!("client.dedup.eleven-windows", "A record at 12:01:00 returned by windows 2 to 10 of 11 MUST be emitted once (D10).", "D10; semantics §9.8", [Client], dedup_eleven_windows),
        case!("client.suspicious.off", "With save_suspicious_events off, records that do not correlate with the action MUST be dropped and counted (D10).", "D10; semantics §9.33", [Client], suspicious_off),
        case!("client.suspicious.on", "With save_suspicious_events on, records that do not correlate MUST be kept with suspicious_reason (D10, D11).", "D10, D11; semantics §9.33", [Client], suspicious_on),
        case!("client.flow.legacy", "Legacy MUST look up each action IP once with /devices?ip=, then send /details?did=&starttime=&endtime= per window, and nothing else (D9).", "D9", [Client], flow_legacy),
        case!("client.flow.msi-modelbreaches", "MSI without advanced search MUST poll /modelbreaches per window, emit the action's breach once as an alert and fetch its /details?pbid= exactly once for the events (D9).", "D9, D10", [Client], flow_msi_modelbreaches),
        case!("client.flow.advanced-search-paging", "Advanced search MUST page by offset += size while offset < hits.total and the limit still wants records (D7).", "D7", [Client], flow_paging),
        case!("client.flow.correlation-query", "With the correlation query on, it MUST run every Ic over [S-Q, its end] through advanced search, its hits reported as alerts, beside the unchanged 11 event windows (D9).", "D9; semantics §9.12", [Client], flow_correlation),
        case!("client.error.5xx-in-window-4", "A 503 throughout window 4 of 11 MUST be retried with bounded backoff, reported as a failed window, and the run MUST go on with window 5 (D13).", "D13", [Client], error_5xx_window_4),
        case!("client.error.5xx-retried-then-passes", "A single 503 MUST be retried within the window and the window MUST then succeed (D13).", "D13", [Client], error_5xx_retried),
        case!("client.error.timeout-in-window-4", "Requests held past the timeout in window 4 MUST fail as timeouts after bounded retries; later windows run at their times (D13).", "D13; semantics §9.29", [Client], error_timeout_window_4),
        case!("client.error.signature-in-window-4", "A 400 API SIGNATURE ERROR in window 4 MUST be reported as the signature error, not retried, end that window, and leave windows 5-10 running (D13).", "D13, D3", [Client], error_signature_window_4),
        case!("client.error.date-in-window-4", "A 400 API DATE ERROR in window 4 MUST be reported as the clock-skew error, distinct from the signature error (D13).", "D13, D2", [Client], error_date_window_4),
        case!("client.replay.past-action-passes-skew", "Replaying an action that started an hour ago in virtual time MUST pass the mock's skew check on every request: signatures carry the real time (D6, D2).", "D6, D2", [Client], replay_past_action),
        case!("client.query.test-window", "The Test query MUST run the configured event queries once over [from, to] and return the records without correlating them (semantics §9.28).", "D9; semantics §9.28", [Client], test_query),
        case!("client.job.concurrent-actions", "A job of concurrent actions in virtual time MUST send exactly each action's schedule, and each action MUST get only its own records (D6, D10).", "D6, D10", [Client], job_concurrent),
    ]
}

// ---------------------------------------------------------------------------
// Helpers

fn fail(expected: impl Into<String>, actual: impl std::fmt::Debug) -> Failure {
    Failure::new(expected, format!("{actual:?}"))
}

fn check(
    cond: bool,
    expected: impl Into<String>,
    actual: impl std::fmt::Debug,
) -> Result<(), Failure> {
    if cond {
        Ok(())
    } else {
        Err(fail(expected, actual))
    }
}

fn eq<T: PartialEq + std::fmt::Debug>(what: &str, actual: T, expected: T) -> Result<(), Failure> {
    if actual == expected {
        Ok(())
    } else {
        Err(Failure::new(
            format!("{what}: {expected:?}"),
            format!("{actual:?}"),
        ))
    }
}

fn mock(t: &Target) -> Result<&AppState, Failure> {
    t.mock
        .as_ref()
        .ok_or_else(|| Failure::new("an in-process mock", "a URL target"))
}

/// The case's day: 2024-05-n 12:00:00 UTC.
pub fn day(n: u8) -> OffsetDateTime {
    time::Date::from_calendar_date(2024, time::Month::May, n)
        .expect("a day of May")
        .with_hms(12, 0, 0)
        .expect("noon")
        .assume_utc()
}

fn ms(t: OffsetDateTime) -> i64 {
    wire_ms(t)
}

/// Settings pointing at the target, with advanced search on and everything else default.
pub fn config(t: &Target) -> Result<Config, Failure> {
    let rest = t
        .base_url
        .strip_prefix("http://")
        .ok_or_else(|| fail("an http:// in-process mock", &t.base_url))?;
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| fail("host:port", rest))?;
    Ok(Config {
        host: host.to_string(),
        port: port.parse().map_err(|_| fail("a port", port))?,
        protocol: Protocol::Http,
        api_key: t.api_key.clone(),
        api_secret: t.api_secret.clone(),
        timeout: std::time::Duration::from_secs(10),
        use_advanced_search: true,
        ..Config::default()
    })
}

fn transport(config: &Config) -> Result<Transport, Failure> {
    Transport::new(TransportSettings::from_config(config))
        .map_err(|e| Failure::new("a transport", e.to_string()))
}

fn plan(config: Config) -> Result<Plan, Failure> {
    Plan::new(config).map_err(|e| Failure::new("a valid field map", e.to_string()))
}

fn action(
    id: &str,
    start: OffsetDateTime,
    src: &[&str],
    dest: &[&str],
    hosts: &[&str],
) -> Result<Action, Failure> {
    Action::new(id, start, src, dest, hosts)
        .map_err(|e| Failure::new("a valid action", e.to_string()))
}

/// What one run gave.
pub struct Run {
    /// The client's report.
    pub report: ActionReport,
    /// What it emitted, in order.
    pub events: Vec<NormalizedEvent>,
    /// The mock's journal entries for the run.
    pub journal: Vec<Entry>,
    /// The `_id`s of the search records the case inserted, in order (they depend on how
    /// many records the world held before, so snapshots name them by position).
    pub inserted: Vec<String>,
}

fn last_id(state: &AppState) -> u64 {
    state.journal.all().last().map_or(0, |e| e.id)
}

/// The journal entries after `mark` that belong to a run on `start`'s day.
fn journal_since(state: &AppState, mark: u64, start: OffsetDateTime) -> Vec<Entry> {
    state
        .journal
        .since(mark, usize::MAX)
        .into_iter()
        .filter(|e| on_day(e, start))
        .collect()
}

/// Whether a journal entry's window (if it names one) lies on the run's day: requests
/// answered late (a delay fault) may land in a later case's slice of the journal.
fn on_day(e: &Entry, start: OffsetDateTime) -> bool {
    let near = |t: i64| (t - ms(start)).abs() <= 86_400_000;
    if let Some(q) = decode_advanced_search_target(&e.target) {
        return q["time"]["from"]
            .as_str()
            .and_then(dt_protocol::date::parse_time_param)
            .is_some_and(|t| near(ms(t)));
    }
    match param(&e.target, "starttime").and_then(|v| v.parse::<i64>().ok()) {
        Some(t) => near(t),
        None => true,
    }
}

/// Runs an action in virtual time against the target's mock.
pub async fn run(
    t: &Target,
    config: Config,
    action: Action,
    opts: RunOptions,
) -> Result<Run, Failure> {
    let a = shared(action);
    run_shared(t, config, &a, opts).await
}

async fn run_shared(
    t: &Target,
    config: Config,
    a: &SharedAction,
    opts: RunOptions,
) -> Result<Run, Failure> {
    let state = mock(t)?;
    let start = a.read().map_err(|_| fail("an action", "poisoned"))?.start;
    let mark = last_id(state);
    let transport = transport(&config)?;
    let plan = plan(config)?;
    let sink = Collected::new();
    let report = run_one(&transport, &plan, a, TimeMode::Virtual, &sink, &opts).await;
    let journal = journal_since(state, mark, start);
    let events = sink.events().into_iter().map(|(_, e)| e).collect();
    Ok(Run {
        report,
        events,
        journal,
        inserted: Vec::new(),
    })
}

/// A query parameter's raw value.
fn param<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    target
        .split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

/// Decoded advanced-search queries in journal order: (search, from, to, offset, size).
pub fn searches(journal: &[Entry]) -> Vec<(String, String, String, u64, u64)> {
    journal
        .iter()
        .filter_map(|e| decode_advanced_search_target(&e.target))
        .map(|q| {
            (
                q["search"].as_str().unwrap_or_default().to_string(),
                q["time"]["from"].as_str().unwrap_or_default().to_string(),
                q["time"]["to"].as_str().unwrap_or_default().to_string(),
                q["offset"].as_u64().unwrap_or(u64::MAX),
                q["size"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect()
}

/// The searches whose query contains `needle`: (from, to).
fn search_windows(journal: &[Entry], needle: &str) -> Vec<(String, String)> {
    searches(journal)
        .into_iter()
        .filter(|s| s.0.contains(needle))
        .map(|s| (s.1, s.2))
        .collect()
}

fn iso_windows(ws: &[Window], e: Duration) -> Vec<(String, String)> {
    ws.iter()
        .map(|w| (wire_iso(w.from - e), wire_iso(w.to - e)))
        .collect()
}

/// `/modelbreaches` (starttime, endtime) in journal order.
fn breach_windows(journal: &[Entry]) -> Vec<(i64, i64)> {
    journal
        .iter()
        .filter(|e| e.target.starts_with("/modelbreaches?"))
        .filter_map(|e| {
            Some((
                param(&e.target, "starttime")?.parse().ok()?,
                param(&e.target, "endtime")?.parse().ok()?,
            ))
        })
        .collect()
}

fn all_accepted(journal: &[Entry]) -> Result<(), Failure> {
    let bad: Vec<String> = journal
        .iter()
        .filter(|e| e.verdict != Verdict::Accepted || e.status != 200)
        .map(|e| format!("{} {} {:?} {:?}", e.status, e.target, e.verdict, e.reason))
        .collect();
    check(bad.is_empty(), "every request accepted with 200", bad)
}

fn no_failures(r: &Run) -> Result<(), Failure> {
    check(
        r.report.summary.queries_failed == 0,
        "no failed query",
        &r.report.summary.failures,
    )
}

fn add_record(
    state: &AppState,
    t: OffsetDateTime,
    ty: &str,
    fields: Value,
) -> Result<String, Failure> {
    let map = fields
        .as_object()
        .cloned()
        .ok_or_else(|| fail("an object of fields", &fields))?;
    let mut w = state
        .world
        .write()
        .map_err(|_| fail("the world", "poisoned"))?;
    w.add_search_record(ms(t), ty, &map)
        .map_err(|e| Failure::new("the record to be stored", e.to_string()))
}

/// A world device with a unique IPv4 address (the `n`th), as (did, ip).
fn device(state: &AppState, n: usize) -> Result<(u32, String), Failure> {
    let w = state
        .world
        .read()
        .map_err(|_| fail("the world", "poisoned"))?;
    let ds = w.devices();
    let unique: Vec<(u32, IpAddr)> = ds
        .iter()
        .filter(|d| d.ip().is_ipv4() && ds.iter().filter(|o| o.ip() == d.ip()).count() == 1)
        .map(|d| (d.did, d.ip()))
        .collect();
    unique
        .get(n % unique.len().max(1))
        .map(|(did, ip)| (*did, ip.to_string()))
        .ok_or_else(|| fail("a device in the world", unique.len()))
}

fn add_connection(
    state: &AppState,
    t: OffsetDateTime,
    did: u32,
    ext: &str,
    port: u16,
) -> Result<String, Failure> {
    let ip: IpAddr = ext.parse().map_err(|_| fail("an IP", ext))?;
    let mut w = state
        .world
        .write()
        .map_err(|_| fail("the world", "poisoned"))?;
    w.add_connection(NewConnection {
        time_ms: ms(t),
        src: PeerRef::Device(did),
        dst: PeerRef::External { ip, hostname: None },
        src_port: 50_000,
        dst_port: port,
        protocol: "TCP".into(),
        app: "HTTPS".into(),
        bytes_out: 1_200,
        bytes_in: 5_400,
    })
    .map_err(|e| Failure::new("the connection to be stored", e.to_string()))
}

fn add_breach(
    state: &AppState,
    t: OffsetDateTime,
    did: u32,
    uids: Vec<String>,
) -> Result<u64, Failure> {
    let mut w = state
        .world
        .write()
        .map_err(|_| fail("the world", "poisoned"))?;
    let pid = w
        .models()
        .first()
        .map(|m| m.pid)
        .ok_or_else(|| fail("a model", 0))?;
    w.add_breach(NewBreach {
        time_ms: ms(t),
        did,
        pid,
        score: 0.8,
        uids,
    })
    .map_err(|e| Failure::new("the breach to be stored", e.to_string()))
}

fn guide(start: OffsetDateTime) -> Vec<Window> {
    windows(
        start,
        Duration::minutes(5),
        Duration::seconds(30),
        Duration::ZERO,
    )
}

fn hook(f: impl Fn(&WindowRef<'_>) + Send + Sync + 'static) -> RunOptions {
    RunOptions {
        on_window: Some(Arc::new(f)),
        ..RunOptions::default()
    }
}

fn outcomes_in_window(r: &Run, k: u32) -> Vec<(String, QueryStatus, u64)> {
    r.report
        .outcomes
        .iter()
        .filter(|o| o.window == k)
        .map(|o| (o.query.clone(), o.status.clone(), o.requests))
        .collect()
}

// ---------------------------------------------------------------------------
// D6: windows

/// The guide example's action: IPs and a hostname, three records to find.
pub async fn guide_example_run(t: &Target) -> Result<Run, Failure> {
    let s = day(1);
    let state = mock(t)?;
    let mut inserted = Vec::new();
    let id = add_record(
        state,
        s - Duration::minutes(2),
        "syslog",
        json!({"src_ip": "192.0.2.1", "dest_ip": "198.18.0.1", "src_port": "51515", "dest_port": 443, "msg_s": "TLS session blocked", "signature": "Block outbound TLS", "signature_id": 9001, "severity": "high", "action": "blocked", "product": "PAN-OS", "vendor": "Palo Alto Networks"}),
    )?;
    inserted.push(id);
    let id = add_record(
        state,
        s + Duration::minutes(1),
        "syslog",
        json!({"host": "victim-1.corp.example", "SyslogMessage": "EICAR test file detected", "signature": "EICAR-Test-File", "severity": "medium", "action": "alerted", "product": "Endpoint Protection"}),
    )?;
    inserted.push(id);
    let id = add_record(
        state,
        s + Duration::seconds(270),
        "syslog",
        json!({"src_ip": "198.18.0.1", "dest_ip": "192.0.2.1", "dest_port": 53, "msg_s": "DNS query for a sinkholed name"}),
    )?;
    inserted.push(id);
    let mut r = run(
        t,
        config(t)?,
        action(
            "guide",
            s,
            &["192.0.2.1"],
            &["198.18.0.1"],
            &["victim-1.corp.example"],
        )?,
        RunOptions::default(),
    )
    .await?;
    r.inserted = inserted;
    Ok(r)
}

async fn guide_example(t: &Target) -> Result<(), Failure> {
    let s = day(1);
    let r = guide_example_run(t).await?;
    all_accepted(&r.journal)?;
    no_failures(&r)?;
    let want = iso_windows(&guide(s), Duration::ZERO);
    eq(
        "IP Query windows",
        search_windows(&r.journal, "@fields.src_ip"),
        want.clone(),
    )?;
    eq(
        "Hostname Query windows",
        search_windows(&r.journal, "@fields.host"),
        want.clone(),
    )?;
    eq(
        "first window",
        want[0].clone(),
        (
            "2024-05-01T11:55:00.000Z".into(),
            "2024-05-01T12:00:00.000Z".into(),
        ),
    )?;
    eq(
        "last window",
        want[10].clone(),
        (
            "2024-05-01T12:00:00.000Z".into(),
            "2024-05-01T12:05:00.000Z".into(),
        ),
    )?;
    eq("requests", r.journal.len(), 33)?;
    let issued: Vec<OffsetDateTime> = r
        .report
        .outcomes
        .iter()
        .filter(|o| o.query == "IP Query")
        .map(|o| o.issued_at)
        .collect();
    let expected: Vec<OffsetDateTime> = (0..11).map(|k| s + Duration::seconds(30 * k)).collect();
    eq("issue times (virtual clock)", issued, expected)?;
    eq("events emitted", r.events.len(), 3)?;
    Ok(())
}

async fn delay_10m(t: &Target) -> Result<(), Failure> {
    let s = day(2);
    let mut c = config(t)?;
    c.delay_time = Duration::minutes(10);
    let r = run(
        t,
        c,
        action("delay", s, &["192.0.2.2"], &[], &[])?,
        RunOptions::default(),
    )
    .await?;
    all_accepted(&r.journal)?;
    eq(
        "windows",
        search_windows(&r.journal, "@fields.src_ip"),
        iso_windows(&guide(s), Duration::ZERO),
    )?;
    let issued: Vec<OffsetDateTime> = r
        .report
        .outcomes
        .iter()
        .filter(|o| o.query == "IP Query")
        .map(|o| o.issued_at)
        .collect();
    let first = issued.first().copied();
    eq("first issue", first, Some(s + Duration::minutes(10)))?;
    eq(
        "last issue",
        issued.last().copied(),
        Some(s + Duration::minutes(15)),
    )?;
    check(
        issued.iter().all(|t| *t >= s + Duration::minutes(10)),
        "nothing before 12:10:00",
        &issued,
    )
}

async fn interval_not_dividing(t: &Target) -> Result<(), Failure> {
    let s = day(3);
    let mut c = config(t)?;
    c.query_interval = Duration::seconds(45);
    let r = run(
        t,
        c,
        action("i45", s, &["192.0.2.3"], &[], &[])?,
        RunOptions::default(),
    )
    .await?;
    all_accepted(&r.journal)?;
    let got = search_windows(&r.journal, "@fields.src_ip");
    let ends: Vec<String> = got.iter().map(|w| w.1[11..19].to_string()).collect();
    eq(
        "window ends",
        ends,
        [
            "12:00:00", "12:00:45", "12:01:30", "12:02:15", "12:03:00", "12:03:45", "12:04:30",
            "12:05:00",
        ]
        .map(String::from)
        .to_vec(),
    )?;
    let ws = windows(
        s,
        Duration::minutes(5),
        Duration::seconds(45),
        Duration::ZERO,
    );
    eq(
        "windows (each 5 min long)",
        got,
        iso_windows(&ws, Duration::ZERO),
    )
}

async fn wire_formats(t: &Target) -> Result<(), Failure> {
    let s = day(4);
    let r = run(
        t,
        config(t)?,
        action("wire", s, &["192.0.2.4"], &[], &[])?,
        RunOptions::default(),
    )
    .await?;
    all_accepted(&r.journal)?;
    let ws = guide(s);
    let want: Vec<(i64, i64)> = ws.iter().map(|w| (ms(w.from), ms(w.to))).collect();
    eq(
        "/modelbreaches epoch-ms windows",
        breach_windows(&r.journal),
        want,
    )?;
    let first = r
        .journal
        .iter()
        .find(|e| e.target.starts_with("/modelbreaches"))
        .map(|e| e.target.clone());
    eq(
        "first /modelbreaches target",
        first,
        Some(format!(
            "/modelbreaches?starttime={}&endtime={}&minimal=false&deviceattop=true",
            ms(ws[0].from),
            ms(ws[0].to)
        )),
    )?;
    let q = r
        .journal
        .iter()
        .find_map(|e| decode_advanced_search_target(&e.target))
        .ok_or_else(|| fail("an advanced search", r.journal.len()))?;
    eq("advanced-search JSON", q.to_string(), json!({"search": "@fields.src_ip:(\"192.0.2.4\") OR @fields.dest_ip:(\"192.0.2.4\")", "fields": [], "offset": 0, "timeframe": "custom", "time": {"from": "2024-05-04T11:55:00.000Z", "to": "2024-05-04T12:00:00.000Z"}, "size": 10000}).to_string())?;
    let seg = r
        .journal
        .iter()
        .find(|e| e.target.starts_with("/advancedsearch"))
        .map(|e| e.target.clone())
        .unwrap_or_default();
    check(
        !seg.contains('=')
            && !seg.contains('+')
            && !seg["/advancedsearch/api/search/".len()..].contains('/'),
        "URL-safe base64 without padding",
        seg,
    )
}

// ---------------------------------------------------------------------------
// D8: macros

async fn macro_ipv6_and_quotes(t: &Target) -> Result<(), Failure> {
    let s = day(5);
    let state = mock(t)?;
    add_record(
        state,
        s - Duration::minutes(1),
        "syslog",
        json!({"src_ip": "fe80::1", "dest_ip": "192.0.2.5", "msg_s": "v6 flow"}),
    )?;
    add_record(
        state,
        s + Duration::minutes(1),
        "syslog",
        json!({"host": "we\"ird-host", "msg_s": "quoted host"}),
    )?;
    let a = action(
        "macro",
        s,
        &["fe80:0:0::1", "192.0.2.5", "fe80::1"],
        &["192.0.2.5"],
        &["we\"ird-host", "back\\slash", "we\"ird-host"],
    )?;
    let r = run(t, config(t)?, a, RunOptions::default()).await?;
    all_accepted(&r.journal)?;
    let qs: Vec<String> = searches(&r.journal).into_iter().map(|s| s.0).collect();
    eq("IP Query", qs.first().cloned(), Some(r#"@fields.src_ip:("fe80::1" OR "192.0.2.5") OR @fields.dest_ip:("fe80::1" OR "192.0.2.5")"#.to_string()))?;
    eq(
        "Hostname Query",
        qs.get(1).cloned(),
        Some(r#"@fields.host:("we\"ird-host" OR "back\\slash")"#.to_string()),
    )?;
    let mut found: Vec<String> = r
        .events
        .iter()
        .filter_map(|e| e.description.clone())
        .collect();
    found.sort();
    eq(
        "records found through the quoted values",
        found,
        vec!["quoted host".to_string(), "v6 flow".to_string()],
    )
}

async fn skip_empty_hostnames(t: &Target) -> Result<(), Failure> {
    let s = day(6);
    let r = run(
        t,
        config(t)?,
        action("nohost", s, &["192.0.2.6"], &[], &[])?,
        RunOptions::default(),
    )
    .await?;
    all_accepted(&r.journal)?;
    eq(
        "hostname searches sent",
        search_windows(&r.journal, "@fields.host").len(),
        0,
    )?;
    eq(
        "IP searches sent",
        search_windows(&r.journal, "@fields.src_ip").len(),
        11,
    )?;
    let sum = &r.report.summary;
    eq("queries skipped", sum.queries_skipped, 11)?;
    let note = sum
        .skipped
        .first()
        .map(|k| (k.query.as_str(), k.reason.as_str(), k.windows));
    eq(
        "skip report",
        note,
        Some(("Hostname Query", "no hostnames", 11)),
    )
}

async fn skip_empty_ips(t: &Target) -> Result<(), Failure> {
    let s = day(7);
    let r = run(
        t,
        config(t)?,
        action("noip", s, &[], &[], &["only-a-host.example"])?,
        RunOptions::default(),
    )
    .await?;
    all_accepted(&r.journal)?;
    eq(
        "IP searches sent",
        search_windows(&r.journal, "@fields.src_ip").len(),
        0,
    )?;
    eq(
        "hostname searches sent",
        search_windows(&r.journal, "@fields.host").len(),
        11,
    )?;
    let note = r
        .report
        .summary
        .skipped
        .first()
        .map(|k| (k.query.as_str(), k.reason.as_str(), k.windows));
    eq("skip report", note, Some(("IP Query", "no IPs", 11)))
}

async fn grown_ip_set(t: &Target) -> Result<(), Failure> {
    let s = day(8);
    let state = mock(t)?;
    add_record(
        state,
        s + Duration::minutes(4),
        "syslog",
        json!({"src_ip": "203.0.113.208", "msg_s": "seen through NAT"}),
    )?;
    let a = shared(action("grow", s, &["192.0.2.8"], &[], &[])?);
    let grow = a.clone();
    let opts = hook(move |w| {
        if w.window.index == 5 {
            if let Ok(mut g) = grow.write() {
                let _ = g.add_ips(IpRole::Source, ["203.0.113.208"]);
            }
        }
    });
    let r = run_shared(t, config(t)?, &a, opts).await?;
    all_accepted(&r.journal)?;
    eq(
        "IP searches (none re-issued)",
        search_windows(&r.journal, "@fields.src_ip").len(),
        11,
    )?;
    let with_new: Vec<bool> = searches(&r.journal)
        .iter()
        .map(|s| s.0.contains("203.0.113.208"))
        .collect();
    eq(
        "the new IP from window 5 on",
        with_new,
        [vec![false; 5], vec![true; 6]].concat(),
    )?;
    eq(
        "the NAT record emitted",
        r.events
            .iter()
            .map(|e| e.src_ip.clone())
            .collect::<Vec<_>>(),
        vec![Some("203.0.113.208".to_string())],
    )
}

// ---------------------------------------------------------------------------
// D10: limit, dedup, suspicious

async fn limit_separately(t: &Target) -> Result<(), Failure> {
    let s = day(9);
    let state = mock(t)?;
    let (did, ip) = device(state, 3)?;
    for i in 0..5 {
        add_record(
            state,
            s - Duration::minutes(3) + Duration::seconds(i),
            "syslog",
            json!({"src_ip": ip, "dest_ip": "198.18.0.9", "msg_s": format!("event {i}")}),
        )?;
        add_breach(
            state,
            s - Duration::minutes(3) + Duration::seconds(i),
            did,
            vec![],
        )?;
    }
    let mut c = config(t)?;
    c.limit = 3;
    c.queries = vec![NamedQuery::new(
        "IP Query",
        dt_client::config::DEFAULT_IP_QUERY,
    )];
    let r = run(
        t,
        c,
        action("limit", s, &[&ip], &["198.18.0.9"], &[])?,
        RunOptions::default(),
    )
    .await?;
    all_accepted(&r.journal)?;
    let count = |k: Kind| r.events.iter().filter(|e| e.kind == k).count();
    eq("events", count(Kind::Event), 3)?;
    eq("alerts", count(Kind::Alert), 3)?;
    let sizes: Vec<u64> = searches(&r.journal).iter().map(|s| s.4).collect();
    check(
        sizes.iter().all(|&z| z == 3),
        "size = min(limit, 10000) = 3",
        &sizes,
    )?;
    let x = r.report.summary.results;
    check(
        x.events_truncated && x.alerts_truncated,
        "both cuts reported",
        x,
    )?;
    eq("alerts cut by the limit", x.alerts_over_limit, 2)?;
    check(
        x.truncated_queries > 0,
        "searches stopped at the limit reported",
        x,
    )
}

async fn dedup_eleven_windows(t: &Target) -> Result<(), Failure> {
    let s = day(10);
    let state = mock(t)?;
    add_record(
        state,
        s + Duration::minutes(1),
        "syslog",
        json!({"src_ip": "192.0.2.10", "msg_s": "once"}),
    )?;
    let r = run(
        t,
        config(t)?,
        action("dedup", s, &["192.0.2.10"], &[], &[])?,
        RunOptions::default(),
    )
    .await?;
    all_accepted(&r.journal)?;
    eq(
        "IP searches",
        search_windows(&r.journal, "@fields.src_ip").len(),
        11,
    )?;
    let returned: Vec<u32> = r
        .report
        .outcomes
        .iter()
        .filter(|o| o.query == "IP Query" && o.records == 1)
        .map(|o| o.window)
        .collect();
    eq(
        "windows that returned it",
        returned,
        (2..=10).collect::<Vec<u32>>(),
    )?;
    eq("emitted", r.events.len(), 1)?;
    eq("duplicates", r.report.summary.results.duplicates, 8)
}

async fn suspicious(t: &Target, n: u8, keep: bool) -> Result<Run, Failure> {
    let s = day(n);
    let state = mock(t)?;
    let product = format!("SuspTest{n}");
    add_record(
        state,
        s - Duration::minutes(1),
        "syslog",
        json!({"src_ip": format!("192.0.2.{n}"), "msg_s": "ours", "product": product}),
    )?;
    add_record(
        state,
        s - Duration::minutes(1) + Duration::seconds(1),
        "syslog",
        json!({"src_ip": "198.18.7.7", "msg_s": "not ours", "product": product}),
    )?;
    let mut c = config(t)?;
    c.save_suspicious_events = keep;
    c.queries = vec![NamedQuery::new(
        "Product Query",
        format!("@fields.product:\"{product}\""),
    )];
    run(
        t,
        c,
        action("susp", s, &[&format!("192.0.2.{n}")], &[], &[])?,
        RunOptions::default(),
    )
    .await
}

async fn suspicious_off(t: &Target) -> Result<(), Failure> {
    let r = suspicious(t, 11, false).await?;
    all_accepted(&r.journal)?;
    eq(
        "emitted",
        r.events
            .iter()
            .map(|e| e.description.clone())
            .collect::<Vec<_>>(),
        vec![Some("ours".to_string())],
    )?;
    eq(
        "suspicious dropped",
        r.report.summary.results.suspicious_dropped,
        1,
    )
}

async fn suspicious_on(t: &Target) -> Result<(), Failure> {
    let r = suspicious(t, 12, true).await?;
    all_accepted(&r.journal)?;
    let got: Vec<(Option<String>, Option<String>)> = r
        .events
        .iter()
        .map(|e| {
            (
                e.description.clone(),
                e.suspicious_reason.map(|x| x.to_string()),
            )
        })
        .collect();
    let mut got = got;
    got.sort();
    eq(
        "emitted",
        got,
        vec![
            (
                Some("not ours".into()),
                Some("no action IP or hostname".into()),
            ),
            (Some("ours".into()), None),
        ],
    )?;
    eq(
        "suspicious kept",
        r.report.summary.results.suspicious_kept,
        1,
    )
}

// ---------------------------------------------------------------------------
// D12: field map

/// The field-map action: three third-party records with msg_s and SyslogMessage in
/// the three combinations, and one with neither.
pub async fn fieldmap_run(t: &Target, n: u8, user_map: bool) -> Result<Run, Failure> {
    let s = day(n);
    let state = mock(t)?;
    let ip = format!("192.0.2.{n}");
    let base = s - Duration::minutes(2);
    let mut inserted = Vec::new();
    inserted.push(add_record(
        state,
        base,
        "syslog",
        json!({"src_ip": ip, "msg_s": "from msg_s", "SyslogMessage": "from SyslogMessage", "host": "fw-1"}),
    )?);
    inserted.push(add_record(
        state,
        base + Duration::seconds(1),
        "syslog",
        json!({"src_ip": ip, "SyslogMessage": "only SyslogMessage", "hostname": "fw-2"}),
    )?);
    inserted.push(add_record(
        state,
        base + Duration::seconds(2),
        "syslog",
        json!({"src_ip": ip, "msg_s": "", "SyslogMessage": "msg_s empty"}),
    )?);
    inserted.push(add_record(
        state,
        base + Duration::seconds(3),
        "syslog",
        json!({"src_ip": ip, "note": "neither"}),
    )?);
    let mut c = config(t)?;
    if user_map {
        c.field_map.insert(
            Field::Description,
            vec!["@fields.SyslogMessage".into(), "@fields.msg_s".into()],
        );
        c.field_map
            .insert(Field::Host, vec!["@fields.hostname".into()]);
    }
    c.queries = vec![NamedQuery::new(
        "IP Query",
        dt_client::config::DEFAULT_IP_QUERY,
    )];
    let mut r = run(
        t,
        c,
        action("fieldmap", s, &[&ip], &[], &[])?,
        RunOptions::default(),
    )
    .await?;
    r.inserted = inserted;
    Ok(r)
}

fn by_time(r: &Run) -> Vec<NormalizedEvent> {
    let mut v = r.events.clone();
    v.sort_by_key(|e| e.timestamp);
    v
}

async fn fieldmap_default_order(t: &Target) -> Result<(), Failure> {
    let r = fieldmap_run(t, 13, false).await?;
    all_accepted(&r.journal)?;
    let d: Vec<Option<String>> = by_time(&r).iter().map(|e| e.description.clone()).collect();
    eq(
        "descriptions",
        d[..3].to_vec(),
        vec![
            Some("from msg_s".into()),
            Some("only SyslogMessage".into()),
            Some("msg_s empty".into()),
        ],
    )?;
    // The fourth record has neither column; the default map then falls back to its
    // last candidate, the raw log line (@message: epoch, then the field values).
    let last = d.get(3).cloned().flatten().unwrap_or_default();
    check(
        last.ends_with("\t192.0.2.13\tneither"),
        "the @message fallback",
        last,
    )
}

async fn fieldmap_user_order(t: &Target) -> Result<(), Failure> {
    let r = fieldmap_run(t, 14, true).await?;
    all_accepted(&r.journal)?;
    let e = by_time(&r);
    let d: Vec<Option<String>> = e.iter().map(|e| e.description.clone()).collect();
    eq(
        "descriptions (user order, no fallback)",
        d,
        vec![
            Some("from SyslogMessage".into()),
            Some("only SyslogMessage".into()),
            Some("msg_s empty".into()),
            None,
        ],
    )?;
    let h: Vec<Option<String>> = e.iter().map(|e| e.host.clone()).collect();
    eq(
        "hosts (user map replaces @fields.host)",
        h,
        vec![None, Some("fw-2".into()), None, None],
    )?;
    let src: Vec<Option<String>> = e.iter().map(|e| e.src_ip.clone()).collect();
    eq(
        "src_ip (default kept)",
        src,
        vec![Some("192.0.2.14".into()); 4],
    )
}

// ---------------------------------------------------------------------------
// D7: time

async fn adjustment(t: &Target, n: u8, e: Duration) -> Result<(), Failure> {
    let s = day(n);
    let state = mock(t)?;
    // In Darktrace's clock the record is at S − E − 1 min; in ours, S − 1 min.
    add_record(
        state,
        s - e - Duration::minutes(1),
        "syslog",
        json!({"src_ip": format!("192.0.2.{n}"), "msg_s": "adjusted"}),
    )?;
    let mut c = config(t)?;
    c.event_time_adjustment = e;
    let r = run(
        t,
        c,
        action("adjust", s, &[&format!("192.0.2.{n}")], &[], &[])?,
        RunOptions::default(),
    )
    .await?;
    all_accepted(&r.journal)?;
    let ws = guide(s);
    eq(
        "advanced-search windows (shifted by -E)",
        search_windows(&r.journal, "@fields.src_ip"),
        iso_windows(&ws, e),
    )?;
    let want: Vec<(i64, i64)> = ws.iter().map(|w| (ms(w.from - e), ms(w.to - e))).collect();
    eq(
        "/modelbreaches windows (shifted by -E)",
        breach_windows(&r.journal),
        want,
    )?;
    let ts: Vec<Option<String>> = r.events.iter().map(|x| x.timestamp.map(rfc3339)).collect();
    eq(
        "timestamps (t + E)",
        ts,
        vec![Some(rfc3339(s - Duration::minutes(1)))],
    )
}

async fn adjustment_positive(t: &Target) -> Result<(), Failure> {
    adjustment(t, 15, Duration::seconds(120)).await
}

async fn adjustment_negative(t: &Target) -> Result<(), Failure> {
    adjustment(t, 16, Duration::seconds(-90)).await
}

// ---------------------------------------------------------------------------
// D9: flows

async fn flow_legacy(t: &Target) -> Result<(), Failure> {
    let s = day(17);
    let state = mock(t)?;
    let (did, ip) = device(state, 5)?;
    let uid = add_connection(state, s + Duration::minutes(1), did, "192.0.2.17", 8443)?;
    let mut c = config(t)?;
    c.mode = Mode::Legacy;
    let r = run(
        t,
        c,
        action("legacy", s, &[&ip], &["192.0.2.17"], &[])?,
        RunOptions::default(),
    )
    .await?;
    all_accepted(&r.journal)?;
    let targets: Vec<String> = r.journal.iter().map(|e| e.target.clone()).collect();
    let mut want = vec![
        format!("/devices?ip={ip}"),
        "/devices?ip=192.0.2.17".to_string(),
    ];
    for w in guide(s) {
        want.push(format!(
            "/details?did={did}&starttime={}&endtime={}",
            ms(w.from),
            ms(w.to)
        ));
    }
    eq("requests", targets, want)?;
    let ids: Vec<(Source, String)> = r.events.iter().map(|e| (e.source, e.id.clone())).collect();
    eq(
        "events",
        ids,
        vec![(
            Source::Details,
            format!("{uid}:connection:{}", ms(s + Duration::minutes(1))),
        )],
    )?;
    let note = r
        .report
        .summary
        .skipped
        .first()
        .map(|k| (k.query.clone(), k.windows));
    eq(
        "the IP without a device reported",
        note,
        Some(("details ip=192.0.2.17".to_string(), 11)),
    )
}

async fn flow_msi_modelbreaches(t: &Target) -> Result<(), Failure> {
    let s = day(18);
    let state = mock(t)?;
    let (did, ip) = device(state, 7)?;
    let uid = add_connection(state, s + Duration::seconds(20), did, "192.0.2.18", 443)?;
    let pbid = add_breach(state, s + Duration::seconds(30), did, vec![uid.clone()])?;
    let mut c = config(t)?;
    c.use_advanced_search = false;
    let r = run(
        t,
        c,
        action("msi", s, &[&ip], &["192.0.2.18"], &[])?,
        RunOptions::default(),
    )
    .await?;
    all_accepted(&r.journal)?;
    no_failures(&r)?;
    eq(
        "/modelbreaches per window",
        breach_windows(&r.journal).len(),
        11,
    )?;
    let details: Vec<String> = r
        .journal
        .iter()
        .filter(|e| e.target.starts_with("/details"))
        .map(|e| e.target.clone())
        .collect();
    eq(
        "/details?pbid= once",
        details,
        vec![format!("/details?pbid={pbid}")],
    )?;
    eq("no advanced search", searches(&r.journal).len(), 0)?;
    let got: Vec<(Kind, Source, String)> = r
        .events
        .iter()
        .map(|e| (e.kind, e.source, e.id.clone()))
        .collect();
    eq(
        "the alert, then the breach's connection as an event",
        got,
        vec![
            (Kind::Alert, Source::ModelBreaches, pbid.to_string()),
            (
                Kind::Event,
                Source::Details,
                format!("{uid}:connection:{}", ms(s + Duration::seconds(20))),
            ),
        ],
    )?;
    // The policybreach event that /details?pbid= puts first names the device only by
    // did (no IP, no hostname), so D10 cannot correlate it: it is suspicious, dropped.
    eq(
        "suspicious dropped (the policybreach event)",
        r.report.summary.results.suspicious_dropped,
        1,
    )?;
    let alert = &r.events[0];
    eq("alert src_ip", alert.src_ip.clone(), Some(ip))?;
    check(
        alert.signature.is_some(),
        "the model's name as signature",
        alert,
    )
}

async fn flow_paging(t: &Target) -> Result<(), Failure> {
    let s = day(19);
    let state = mock(t)?;
    // 250 records of one product, newest first on the wire; every fifth is ours.
    for i in 0..250i64 {
        let src = if i % 5 == 0 {
            "192.0.2.19".to_string()
        } else {
            format!("198.18.19.{}", i % 200 + 1)
        };
        add_record(
            state,
            s - Duration::minutes(4) + Duration::milliseconds(i * 100),
            "syslog",
            json!({"src_ip": src, "product": "PagingTest19"}),
        )?;
    }
    let mut c = config(t)?;
    c.limit = 100;
    c.query_time = Duration::minutes(5);
    c.query_interval = Duration::minutes(5);
    c.queries = vec![NamedQuery::new(
        "Product Query",
        "@fields.product:\"PagingTest19\"",
    )];
    let r = run(
        t,
        c,
        action("paging", s, &["192.0.2.19"], &[], &[])?,
        RunOptions::default(),
    )
    .await?;
    all_accepted(&r.journal)?;
    let pages: Vec<(u64, u64)> = searches(&r.journal).iter().map(|s| (s.3, s.4)).collect();
    // Window 0 holds all 250: pages at 0, 100, 200; window 1 (S..S+5m) holds none.
    eq(
        "pages (offset, size)",
        pages,
        vec![(0, 100), (100, 100), (200, 100), (0, 100)],
    )?;
    eq("events", r.events.len(), 50)?;
    check(
        !r.report.summary.results.events_truncated,
        "no cut: 50 < limit",
        r.report.summary.results,
    )
}

async fn flow_correlation(t: &Target) -> Result<(), Failure> {
    let s = day(20);
    let state = mock(t)?;
    add_record(
        state,
        s + Duration::seconds(90),
        "alarm",
        json!({"src_ip": "192.0.2.20", "msg_s": "correlated alarm", "signature": "Lateral movement"}),
    )?;
    let mut c = config(t)?;
    c.correlation_query_enabled = true;
    c.correlation_query = Some("@type:alarm AND @fields.src_ip:(%IPS%)".into());
    let r = run(
        t,
        c,
        action("corr", s, &["192.0.2.20"], &[], &[])?,
        RunOptions::default(),
    )
    .await?;
    all_accepted(&r.journal)?;
    let cw = correlation_windows(
        s,
        Duration::minutes(5),
        Duration::minutes(1),
        Duration::ZERO,
    );
    eq(
        "correlation windows",
        search_windows(&r.journal, "@type:alarm"),
        iso_windows(&cw, Duration::ZERO),
    )?;
    eq(
        "event windows unchanged",
        search_windows(&r.journal, "@fields.dest_ip").len(),
        11,
    )?;
    eq(
        "/modelbreaches unchanged",
        breach_windows(&r.journal).len(),
        11,
    )?;
    let alerts: Vec<(Kind, Option<String>)> = r
        .events
        .iter()
        .filter(|e| e.kind == Kind::Alert)
        .map(|e| (e.kind, e.query.clone()))
        .collect();
    eq(
        "alerts",
        alerts,
        vec![(Kind::Alert, Some("Correlation Query".into()))],
    )?;
    // The IP Query also finds the record, as an event: kinds are counted apart.
    eq(
        "events",
        r.events.iter().filter(|e| e.kind == Kind::Event).count(),
        1,
    )
}

// ---------------------------------------------------------------------------
// D13: errors mid-run

async fn error_5xx_window_4(t: &Target) -> Result<(), Failure> {
    let s = day(21);
    let state = mock(t)?.clone();
    add_record(
        &state,
        s + Duration::minutes(3),
        "syslog",
        json!({"src_ip": "192.0.2.21", "msg_s": "after the outage"}),
    )?;
    let st = state.clone();
    let fault = Arc::new(AtomicU64::new(0));
    let f = fault.clone();
    let opts = hook(move |w| match w.window.index {
        4 => {
            let id = st.faults.add(FaultSpec {
                route: "/".into(),
                kind: FaultKind::Status { status: 503 },
                times: None,
            });
            f.store(id.unwrap_or(0), Ordering::SeqCst);
        }
        5 => {
            st.faults.remove(f.load(Ordering::SeqCst));
        }
        _ => {}
    });
    let r = run(
        t,
        config(t)?,
        action("e5xx", s, &["192.0.2.21"], &[], &[])?,
        opts,
    )
    .await;
    state.faults.remove(fault.load(Ordering::SeqCst));
    let r = r?;
    let faulted: Vec<u16> = r
        .journal
        .iter()
        .filter(|e| e.verdict == Verdict::Faulted)
        .map(|e| e.status)
        .collect();
    eq(
        "faulted requests (3 attempts for each of 2 queries)",
        faulted,
        vec![503; 6],
    )?;
    eq(
        "accepted requests (windows 0-3 and 5-10)",
        r.journal
            .iter()
            .filter(|e| e.verdict == Verdict::Accepted)
            .count(),
        20,
    )?;
    let w4 = outcomes_in_window(&r, 4);
    let kinds: Vec<(String, Option<String>, u64)> = w4
        .iter()
        .map(|(q, st, n)| {
            (
                q.clone(),
                match st {
                    QueryStatus::Failed { kind, .. } => Some(kind.to_string()),
                    _ => None,
                },
                *n,
            )
        })
        .collect();
    eq(
        "window 4",
        kinds,
        vec![
            ("modelbreaches".into(), Some("server".into()), 3),
            ("IP Query".into(), Some("server".into()), 3),
            ("Hostname Query".into(), None, 0),
        ],
    )?;
    let sum = &r.report.summary;
    eq("failed windows", sum.windows_failed, 1)?;
    check(
        r.report.outcomes.iter().filter(|o| o.window != 4).all(|o| {
            !matches!(
                o.status,
                QueryStatus::Failed { .. } | QueryStatus::NotSent { .. }
            )
        }),
        "every other window without failures",
        &r.report.outcomes,
    )?;
    eq("events after the outage", r.events.len(), 1)
}

async fn error_5xx_retried(t: &Target) -> Result<(), Failure> {
    let s = day(22);
    let state = mock(t)?.clone();
    let st = state.clone();
    let opts = hook(move |w| {
        if w.window.index == 4 {
            let _ = st.faults.add(FaultSpec {
                route: "/modelbreaches".into(),
                kind: FaultKind::Status { status: 503 },
                times: Some(1),
            });
        }
    });
    let r = run(
        t,
        config(t)?,
        action("retry", s, &["192.0.2.22"], &[], &[])?,
        opts,
    )
    .await?;
    state.faults.clear();
    no_failures(&r)?;
    eq(
        "faulted",
        r.journal
            .iter()
            .filter(|e| e.verdict == Verdict::Faulted)
            .count(),
        1,
    )?;
    eq(
        "accepted",
        r.journal
            .iter()
            .filter(|e| e.verdict == Verdict::Accepted)
            .count(),
        22,
    )?;
    let o = r
        .report
        .outcomes
        .iter()
        .find(|o| o.window == 4 && o.query == "modelbreaches")
        .map(|o| (o.requests, o.retries, o.issued_at));
    eq(
        "window 4 /modelbreaches (requests, retries)",
        o.map(|x| (x.0, x.1)),
        Some((2, 1)),
    )?;
    // The IP Query of window 4 follows after the 1 s backoff, on the virtual clock.
    let ip4 = r
        .report
        .outcomes
        .iter()
        .find(|o| o.window == 4 && o.query == "IP Query")
        .map(|o| o.issued_at);
    eq("window 4 issued at", ip4, Some(s + Duration::minutes(2)))?;
    eq("retries in the summary", r.report.summary.retries, 1)
}

async fn error_timeout_window_4(t: &Target) -> Result<(), Failure> {
    let s = day(23);
    let state = mock(t)?.clone();
    let st = state.clone();
    let fault = Arc::new(AtomicU64::new(0));
    let f = fault.clone();
    let opts = hook(move |w| match w.window.index {
        4 => {
            let id = st.faults.add(FaultSpec {
                route: "/modelbreaches".into(),
                kind: FaultKind::Delay { ms: 2_000 },
                times: None,
            });
            f.store(id.unwrap_or(0), Ordering::SeqCst);
        }
        5 => {
            st.faults.remove(f.load(Ordering::SeqCst));
        }
        _ => {}
    });
    let mut c = config(t)?;
    c.timeout = std::time::Duration::from_millis(300);
    let r = run(t, c, action("timeout", s, &["192.0.2.23"], &[], &[])?, opts).await;
    state.faults.remove(fault.load(Ordering::SeqCst));
    let r = r?;
    let w4 = outcomes_in_window(&r, 4);
    let got: Vec<(String, Option<String>, u64)> = w4
        .iter()
        .map(|(q, st, n)| {
            (
                q.clone(),
                match st {
                    QueryStatus::Failed { kind, .. } => Some(kind.to_string()),
                    _ => None,
                },
                *n,
            )
        })
        .collect();
    eq(
        "window 4",
        got,
        vec![
            ("modelbreaches".into(), Some("timeout".into()), 3),
            ("IP Query".into(), None, 1),
            ("Hostname Query".into(), None, 0),
        ],
    )?;
    // The held requests may reach the journal late or never; every other one is there.
    let others: Vec<&Entry> = r
        .journal
        .iter()
        .filter(|e| {
            !(e.target.starts_with("/modelbreaches")
                && param(&e.target, "endtime") == Some(&ms(s + Duration::minutes(2)).to_string()))
        })
        .collect();
    eq(
        "other requests, all accepted",
        others
            .iter()
            .filter(|e| e.verdict == Verdict::Accepted && e.status == 200)
            .count(),
        21,
    )?;
    eq("failed windows", r.report.summary.windows_failed, 1)?;
    let w5 = r
        .report
        .outcomes
        .iter()
        .find(|o| o.window == 5)
        .map(|o| o.issued_at);
    eq("window 5 at its time", w5, Some(s + Duration::seconds(150)))
}

async fn error_auth_window_4(t: &Target, n: u8, kind: &'static str) -> Result<(), Failure> {
    let s = day(n);
    let state = mock(t)?.clone();
    let original_tokens = state
        .tokens
        .read()
        .map_err(|_| fail("tokens", "poisoned"))?
        .clone();
    let original_offset = state.clock.offset();
    let st = state.clone();
    let saved = original_tokens.clone();
    let public = t.api_key.clone();
    let opts = hook(move |w| match (w.window.index, kind) {
        (4, "signature") => {
            if let (Ok(other), Ok(mut g)) = (
                TokenSet::parse_pairs([format!("{public}:rotated-private").as_str()]),
                st.tokens.write(),
            ) {
                *g = other;
            }
        }
        (4, _) => st.clock.set_offset(original_offset + Duration::minutes(31)),
        (5, "signature") => {
            if let Ok(mut g) = st.tokens.write() {
                *g = saved.clone();
            }
        }
        (5, _) => st.clock.set_offset(original_offset),
        _ => {}
    });
    let r = run(
        t,
        config(t)?,
        action("auth", s, &[&format!("192.0.2.{n}")], &[], &["h.example"])?,
        opts,
    )
    .await;
    if let Ok(mut g) = state.tokens.write() {
        *g = original_tokens;
    }
    state.clock.set_offset(original_offset);
    let r = r?;
    let rejected: Vec<(u16, String)> = r
        .journal
        .iter()
        .filter(|e| e.verdict == Verdict::Rejected)
        .map(|e| {
            (
                e.status,
                e.target.split('?').next().unwrap_or("").to_string(),
            )
        })
        .collect();
    eq(
        "rejected requests (one, not retried)",
        rejected,
        vec![(400, "/modelbreaches".to_string())],
    )?;
    eq(
        "accepted requests (windows 0-3 and 5-10, three queries each)",
        r.journal
            .iter()
            .filter(|e| e.verdict == Verdict::Accepted)
            .count(),
        30,
    )?;
    let w4: Vec<(String, String)> = outcomes_in_window(&r, 4)
        .into_iter()
        .map(|(q, st, _)| {
            let s = match st {
                QueryStatus::Failed { kind, .. } => format!("failed {kind}"),
                QueryStatus::NotSent { .. } => "not-sent".into(),
                other => format!("{other:?}"),
            };
            (q, s)
        })
        .collect();
    eq(
        "window 4",
        w4,
        vec![
            ("modelbreaches".into(), format!("failed {kind}")),
            ("IP Query".into(), "not-sent".into()),
            ("Hostname Query".into(), "not-sent".into()),
        ],
    )?;
    let msg = r
        .report
        .summary
        .failures
        .first()
        .map(|f| f.error.clone())
        .unwrap_or_default();
    let hint = if kind == "signature" {
        "Api signature Error"
    } else {
        "Api date Error"
    };
    check(
        msg.starts_with(hint),
        format!("the message starts {hint:?}"),
        &msg,
    )?;
    check(
        r.report
            .outcomes
            .iter()
            .filter(|o| o.window > 4)
            .all(|o| o.status == QueryStatus::Issued),
        "windows 5-10 issued",
        &r.report.outcomes,
    )
}

async fn error_signature_window_4(t: &Target) -> Result<(), Failure> {
    error_auth_window_4(t, 24, "signature").await
}

async fn error_date_window_4(t: &Target) -> Result<(), Failure> {
    error_auth_window_4(t, 25, "date").await
}

// ---------------------------------------------------------------------------
// Replays, the Test query, jobs

async fn replay_past_action(t: &Target) -> Result<(), Failure> {
    let state = mock(t)?;
    let now = state.clock.now();
    let s = now.replace_nanosecond(0).unwrap_or(now) - Duration::hours(1);
    // The world device busiest around S, so the replay has data to find.
    let ip = {
        let w = state
            .world
            .read()
            .map_err(|_| fail("the world", "poisoned"))?;
        let mut counts = std::collections::HashMap::<IpAddr, usize>::new();
        for c in w.connections() {
            if (c.time_ms - ms(s)).abs() <= 300_000 {
                *counts.entry(c.src.ip).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .max_by_key(|(ip, n)| (*n, *ip))
            .map(|(ip, _)| ip.to_string())
    }
    .ok_or_else(|| fail("connections in the world an hour ago", 0))?;
    let mut c = config(t)?;
    c.queries = vec![NamedQuery::new(
        "Conn Query",
        "@fields.source_ip:(%IPS%) OR @fields.dest_ip:(%IPS%)",
    )];
    let r = run(
        t,
        c,
        action("replay", s, &[&ip], &[], &[])?,
        RunOptions::default(),
    )
    .await?;
    all_accepted(&r.journal)?;
    eq("requests", r.journal.len(), 22)?;
    no_failures(&r)?;
    check(
        !r.events.is_empty(),
        "the replay finds the world's records",
        r.report.summary.results,
    )
}

async fn test_query(t: &Target) -> Result<(), Failure> {
    let s = day(26);
    let state = mock(t)?;
    add_record(
        state,
        s - Duration::minutes(2),
        "syslog",
        json!({"src_ip": "192.0.2.26", "product": "TestQuery26"}),
    )?;
    add_record(
        state,
        s - Duration::minutes(1),
        "syslog",
        json!({"src_ip": "198.18.26.1", "product": "TestQuery26"}),
    )?;
    let mut c = config(t)?;
    c.queries = vec![
        NamedQuery::new("Product Query", "@fields.product:\"TestQuery26\""),
        NamedQuery::new("Hostname Query", dt_client::config::DEFAULT_HOSTNAME_QUERY),
    ];
    let mark = last_id(state);
    let transport = transport(&c)?;
    let plan = plan(c)?;
    let ids = identifiers(&["192.0.2.26".to_string()], &[], &[])
        .map_err(|e| Failure::new("identifiers", e.to_string()))?;
    let sink = Collected::new();
    let report = query_window(
        &transport,
        &plan,
        s - Duration::minutes(5),
        s,
        &ids,
        &sink,
        &RunOptions::default(),
    )
    .await;
    let journal = journal_since(state, mark, s);
    all_accepted(&journal)?;
    eq("requests (one window)", journal.len(), 2)?;
    eq(
        "window",
        search_windows(&journal, "TestQuery26"),
        vec![(wire_iso(s - Duration::minutes(5)), wire_iso(s))],
    )?;
    let got: Vec<(Option<String>, bool)> = sink
        .events()
        .iter()
        .map(|(_, e)| (e.src_ip.clone(), e.suspicious_reason.is_some()))
        .collect();
    eq("records, uncorrelated", got.len(), 2)?;
    check(got.iter().all(|g| !g.1), "no suspicious reason", &got)?;
    eq(
        "the hostname query skipped",
        report.summary.queries_skipped,
        1,
    )
}

async fn job_concurrent(t: &Target) -> Result<(), Failure> {
    let s = day(27);
    let state = mock(t)?;
    let n = 12u8;
    for i in 0..n {
        add_record(
            state,
            s + Duration::seconds(i64::from(i)),
            "syslog",
            json!({"src_ip": format!("192.0.2.{}", 100 + i), "msg_s": format!("job {i}")}),
        )?;
    }
    let c = config(t)?;
    let mark = last_id(state);
    let app: Arc<dyn dt_client::flows::Appliance> = Arc::new(transport(&c)?);
    let plan = Arc::new(plan(c)?);
    let mut actions = Vec::new();
    for i in 0..n {
        actions.push(shared(action(
            &format!("job-{i}"),
            s + Duration::seconds(i64::from(i)),
            &[&format!("192.0.2.{}", 100 + i)],
            &[],
            &[],
        )?));
    }
    let sink = Arc::new(Collected::new());
    let dyn_sink: Arc<dyn Sink> = sink.clone();
    let reports = run_job(
        app,
        plan,
        actions,
        TimeMode::Virtual,
        dyn_sink,
        RunOptions::default(),
        4,
    )
    .await;
    let journal = journal_since(state, mark, s);
    all_accepted(&journal)?;
    eq("requests", journal.len(), usize::from(n) * 22)?;
    eq("reports", reports.len(), usize::from(n))?;
    for i in 0..n {
        let mine = sink.for_action(&format!("job-{i}"));
        let d: Vec<Option<String>> = mine.iter().map(|e| e.description.clone()).collect();
        eq(
            &format!("action job-{i}'s records"),
            d,
            vec![Some(format!("job {i}"))],
        )?;
    }
    Ok(())
}
