//! One action's run: the D6 schedule on an injected clock, the D9 flows per window,
//! D10 results streamed to a sink, and a per-query account of what happened (D13).
//!
//! The event windows ([`crate::window::windows`]) and, in MSI mode with
//! `correlation_query_enabled`, the correlation windows
//! ([`crate::window::correlation_windows`]) are merged by issue time (an event window
//! first when both fall at the same instant). For each window the scheduler sleeps on the
//! [`Clock`] until its issue time, calls the test hook ([`RunOptions::on_window`]), takes
//! the action's identifiers as they are at that moment (the IP set may have grown;
//! windows already issued are not re-issued), expands the macros, runs the window's
//! queries in order, offers every normalized record to the action's
//! [`ResultSet`](crate::results::ResultSet) and hands what it emits to the [`Sink`]
//! at once.
//!
//! What a window runs (D9):
//! - MSI event window: `/modelbreaches` (alerts); then, with `use_advanced_search`, every
//!   configured query (events), else `/details?pbid=` for each matching breach not yet
//!   fetched for this action.
//! - MSI correlation window: the correlation query (alerts) over [S − Q, its end].
//! - Legacy event window: `/devices?ip=` for each action IP not yet looked up (cached per
//!   action, "no device" too), then `/details?did=` per distinct did.
//!
//! Pinned where D6–D13 are silent:
//! - Errors (D13). Transient failures (timeouts, 5xx, resets, truncated bodies) are
//!   retried per [`RetryPolicy`] (default 3 attempts, 1 s then 2 s) while the retry
//!   starts within the window's interval (I, or Ic for a correlation window) after the
//!   window was issued; the backoff sleeps on the scheduler's clock. A query that still
//!   fails is reported `failed` and the window's other queries still run. A failure that
//!   concerns the connection or the credentials (signature, date, login or 403 redirect,
//!   TLS, connect, proxy) ends the window at once: its remaining queries are reported
//!   `not-sent`. A refused or malformed answer fails only its own query. Either way the
//!   next window runs at its time.
//! - Skips: a query whose macro list is empty is `skipped` with the reason, in every
//!   window it would have run; so is a legacy IP no device holds.
//! - A breach's `/details?pbid=` counts as fetched only when it succeeded, so a failed
//!   one is tried again in the next window that returns the breach.
//! - Legacy mode runs neither advanced search nor the correlation query (D9 lists both
//!   under MSI only).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use serde::{Serialize, Serializer};
use time::{Duration, OffsetDateTime};

use crate::action::{Action, Identifiers};
use crate::clock::Clock;
use crate::config::{Config, Mode};
use crate::error::{ClientError, ErrorKind};
use crate::fieldmap::PathError;
use crate::flows::{
    self, ActionResults, Appliance, Collect, QueryCtx, QueryStats, Requester, RetryPolicy,
};
use crate::macros::{expand, Expansion};
use crate::normalize::{rfc3339, Kind, NormalizedEvent, Normalizer};
use crate::results::{ResultParams, ResultSet, Summary};
use crate::window::{correlation_windows, windows, Window};

/// The name the correlation query's results and outcomes carry.
pub const CORRELATION_QUERY_NAME: &str = "Correlation Query";

/// An action shared with whoever may grow its identifiers during the run.
pub type SharedAction = Arc<RwLock<Action>>;

/// Wraps an action for a run.
pub fn shared(action: Action) -> SharedAction {
    Arc::new(RwLock::new(action))
}

/// Which schedule a window belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// The D6 event windows.
    Event,
    /// The correlation query's windows (D9).
    Correlation,
}

impl ScheduleKind {
    /// `event` or `correlation`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleKind::Event => "event",
            ScheduleKind::Correlation => "correlation",
        }
    }
}

/// One scheduled window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Its schedule.
    pub kind: ScheduleKind,
    /// The window (our clock) and its issue time.
    pub window: Window,
}

/// Whether the correlation query runs under these settings (MSI only, enabled, set).
pub fn correlation_enabled(config: &Config) -> bool {
    config.mode == Mode::Msi
        && config.correlation_query_enabled
        && config
            .correlation_query
            .as_deref()
            .is_some_and(|q| !q.trim().is_empty())
}

/// The merged schedule of an action starting at `start`, in issue order.
pub fn schedule(config: &Config, start: OffsetDateTime) -> Vec<Slot> {
    let mut slots: Vec<Slot> = windows(
        start,
        config.query_time,
        config.query_interval,
        config.delay_time,
    )
    .into_iter()
    .map(|window| Slot {
        kind: ScheduleKind::Event,
        window,
    })
    .collect();
    if correlation_enabled(config) {
        slots.extend(
            correlation_windows(
                start,
                config.query_time,
                config.correlation_query_interval,
                config.delay_time,
            )
            .into_iter()
            .map(|window| Slot {
                kind: ScheduleKind::Correlation,
                window,
            }),
        );
    }
    slots.sort_by_key(|s| (s.window.issue_at, s.kind, s.window.index));
    slots
}

/// The settings and the compiled field map, shared by every action of a job.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The settings.
    pub config: Config,
    /// The normalizer built from them.
    pub normalizer: Normalizer,
}

impl Plan {
    /// Compiles the field map. The settings should have been validated.
    pub fn new(config: Config) -> Result<Plan, PathError> {
        let normalizer = Normalizer::from_config(&config)?;
        Ok(Plan { config, normalizer })
    }

    fn interval(&self, kind: ScheduleKind) -> Duration {
        match kind {
            ScheduleKind::Event => self.config.query_interval,
            ScheduleKind::Correlation => self.config.correlation_query_interval,
        }
    }
}

/// A window about to be issued, as the test hook sees it.
#[derive(Debug, Clone)]
pub struct WindowRef<'a> {
    /// The action's id.
    pub action: &'a str,
    /// Its schedule.
    pub kind: ScheduleKind,
    /// The window.
    pub window: Window,
    /// Its position in the merged schedule, from 0.
    pub slot: usize,
}

/// A callback run just before each window is issued (tests change the appliance here).
pub type WindowHook = Arc<dyn Fn(&WindowRef<'_>) + Send + Sync>;

/// How to run.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Called before each window is issued.
    pub on_window: Option<WindowHook>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("retry", &self.retry)
            .field("on_window", &self.on_window.is_some())
            .finish()
    }
}

/// Where a run's output goes, as it comes.
pub trait Sink: Send + Sync {
    /// An emitted event or alert (matching, or kept suspicious).
    fn emit(&self, action: &str, event: &NormalizedEvent);
    /// A window is done.
    fn progress(&self, _progress: &Progress) {}
}

/// A sink that drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullSink;

impl Sink for NullSink {
    fn emit(&self, _action: &str, _event: &NormalizedEvent) {}
}

/// Where a run is, after a window.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    /// The action's id.
    pub action: String,
    /// The window just done.
    pub kind: ScheduleKind,
    /// Its index in its schedule.
    pub window: u32,
    /// Its bounds (our clock).
    #[serde(serialize_with = "ser_time")]
    pub from: OffsetDateTime,
    /// Its end.
    #[serde(serialize_with = "ser_time")]
    pub to: OffsetDateTime,
    /// When the next window is due, if one is.
    #[serde(serialize_with = "ser_opt_time")]
    pub next_at: Option<OffsetDateTime>,
    /// Windows done (both schedules).
    pub windows_done: usize,
    /// Windows in the schedule.
    pub windows_total: usize,
    /// Queries issued, skipped, failed or not sent so far.
    pub queries_done: usize,
    /// An estimate of the queries still to come.
    pub queries_left: usize,
    /// Queries failed so far.
    pub queries_failed: usize,
    /// Events emitted so far.
    pub events: u64,
    /// Alerts emitted so far.
    pub alerts: u64,
}

fn ser_time<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

fn ser_opt_time<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(*t)),
        None => s.serialize_none(),
    }
}

/// What became of one query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum QueryStatus {
    /// Sent and answered.
    Issued,
    /// Not sent, on purpose.
    Skipped {
        /// Why (e.g. `no hostnames`).
        reason: String,
    },
    /// Sent, and it failed (after any retries).
    Failed {
        /// The D13 kind.
        kind: ErrorKind,
        /// The error, with what to do about it.
        error: String,
    },
    /// Not sent because an earlier query's failure ended the window.
    NotSent {
        /// The failure that ended the window.
        reason: String,
    },
}

/// One query of one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryOutcome {
    /// Its schedule.
    pub schedule: ScheduleKind,
    /// The window's index in its schedule.
    pub window: u32,
    /// The query: a configured name, `Correlation Query`, `modelbreaches`,
    /// `details pbid=N`, `details did=N`, `devices ip=X` or `details ip=X`.
    pub query: String,
    /// When it was issued, on the scheduler's clock.
    #[serde(serialize_with = "ser_time")]
    pub issued_at: OffsetDateTime,
    /// The window's start (our clock).
    #[serde(serialize_with = "ser_time")]
    pub from: OffsetDateTime,
    /// The window's end (our clock).
    #[serde(serialize_with = "ser_time")]
    pub to: OffsetDateTime,
    /// What happened.
    #[serde(flatten)]
    pub status: QueryStatus,
    /// HTTP requests sent (pages and retries included).
    pub requests: u64,
    /// Of those, retries.
    pub retries: u64,
    /// Records received.
    pub records: u64,
    /// Records emitted.
    pub emitted: u64,
    /// Hits were left unfetched because the limit was reached.
    pub truncated: bool,
}

/// A failed query, for the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureNote {
    /// Its schedule.
    pub schedule: ScheduleKind,
    /// The window's index.
    pub window: u32,
    /// The query.
    pub query: String,
    /// When it was issued.
    #[serde(serialize_with = "ser_time")]
    pub issued_at: OffsetDateTime,
    /// The D13 kind.
    pub kind: ErrorKind,
    /// The error, with what to do.
    pub error: String,
}

/// Skipped queries of one name and reason, for the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkipNote {
    /// The query.
    pub query: String,
    /// Why.
    pub reason: String,
    /// In how many windows.
    pub windows: u64,
}

/// The run's account: what was sent, skipped and failed, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// The action's id.
    pub action: String,
    /// Event windows in the schedule.
    pub windows: u64,
    /// Correlation windows in the schedule.
    pub correlation_windows: u64,
    /// Windows with at least one failed query.
    pub windows_failed: u64,
    /// Queries sent (failed ones included).
    pub queries_issued: u64,
    /// Queries not sent on purpose (empty macro list, no device).
    pub queries_skipped: u64,
    /// Queries sent that failed.
    pub queries_failed: u64,
    /// Queries not sent because their window had ended on an error.
    pub queries_not_sent: u64,
    /// HTTP requests (pages and retries included).
    pub requests: u64,
    /// Of those, retries.
    pub retries: u64,
    /// The results' counters: events, alerts, suspicious, truncation (D10).
    #[serde(flatten)]
    pub results: Summary,
    /// Every failed query.
    pub failures: Vec<FailureNote>,
    /// Skipped queries, by name and reason.
    pub skipped: Vec<SkipNote>,
}

impl RunSummary {
    /// Builds the summary of a run from its outcomes and results.
    pub fn from_outcomes(
        action: &str,
        slots: &[Slot],
        outcomes: &[QueryOutcome],
        results: Summary,
    ) -> RunSummary {
        let mut s = RunSummary {
            action: action.to_string(),
            windows: slots
                .iter()
                .filter(|x| x.kind == ScheduleKind::Event)
                .count() as u64,
            correlation_windows: slots
                .iter()
                .filter(|x| x.kind == ScheduleKind::Correlation)
                .count() as u64,
            windows_failed: 0,
            queries_issued: 0,
            queries_skipped: 0,
            queries_failed: 0,
            queries_not_sent: 0,
            requests: 0,
            retries: 0,
            results,
            failures: Vec::new(),
            skipped: Vec::new(),
        };
        let mut failed_windows = HashSet::new();
        let mut skips: BTreeMap<(String, String), u64> = BTreeMap::new();
        for o in outcomes {
            s.requests += o.requests;
            s.retries += o.retries;
            match &o.status {
                QueryStatus::Issued => s.queries_issued += 1,
                QueryStatus::Skipped { reason } => {
                    s.queries_skipped += 1;
                    *skips.entry((o.query.clone(), reason.clone())).or_default() += 1;
                }
                QueryStatus::Failed { kind, error } => {
                    s.queries_issued += 1;
                    s.queries_failed += 1;
                    failed_windows.insert((o.schedule, o.window));
                    s.failures.push(FailureNote {
                        schedule: o.schedule,
                        window: o.window,
                        query: o.query.clone(),
                        issued_at: o.issued_at,
                        kind: *kind,
                        error: error.clone(),
                    });
                }
                QueryStatus::NotSent { .. } => s.queries_not_sent += 1,
            }
        }
        s.windows_failed = failed_windows.len() as u64;
        s.skipped = skips
            .into_iter()
            .map(|((query, reason), windows)| SkipNote {
                query,
                reason,
                windows,
            })
            .collect();
        s
    }

    /// Whether any query failed.
    pub fn has_failures(&self) -> bool {
        self.queries_failed > 0
    }
}

/// A finished action: its summary and every query's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ActionReport {
    /// The summary.
    pub summary: RunSummary,
    /// Each query, in the order issued.
    pub outcomes: Vec<QueryOutcome>,
}

/// Whether an error ends its window (it concerns the connection or the credentials, so
/// the window's other queries would fail the same way).
pub fn ends_window(e: &ClientError) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Signature
            | ErrorKind::Date
            | ErrorKind::LoginRedirect
            | ErrorKind::Forbidden
            | ErrorKind::Tls
            | ErrorKind::Connect
            | ErrorKind::Proxy
    )
}

/// One query to run.
enum Q {
    Search { query: String, kind: Kind },
    Breaches,
    DetailsPbid(u64),
    DetailsDid(u64),
    Device(String),
}

/// What a query gave besides its stats.
#[derive(Default)]
struct Extra {
    pbids: Vec<u64>,
    did: Option<u64>,
}

struct SlotCtx {
    kind: ScheduleKind,
    window: Window,
    issued_at: OffsetDateTime,
    ended: Option<String>,
}

/// The state of one action's run.
pub(crate) struct ActionRun<'a> {
    plan: &'a Plan,
    id: String,
    requester: Requester<'a>,
    collect: Box<dyn Collect + 'a>,
    sink: &'a dyn Sink,
    pub(crate) outcomes: Vec<QueryOutcome>,
    fetched_pbids: HashSet<u64>,
    dids: HashMap<String, Option<u64>>,
}

impl<'a> ActionRun<'a> {
    pub(crate) fn new(
        plan: &'a Plan,
        id: String,
        app: &'a dyn Appliance,
        clock: &'a dyn Clock,
        retry: RetryPolicy,
        collect: Box<dyn Collect + 'a>,
        sink: &'a dyn Sink,
    ) -> Self {
        let now = clock.now();
        ActionRun {
            plan,
            id,
            requester: Requester::new(app, clock, retry, now),
            collect,
            sink,
            outcomes: Vec::new(),
            fetched_pbids: HashSet::new(),
            dids: HashMap::new(),
        }
    }

    pub(crate) fn results(&self) -> Summary {
        self.collect.summary()
    }

    fn record(&mut self, slot: &SlotCtx, query: String, status: QueryStatus) {
        self.outcomes.push(QueryOutcome {
            schedule: slot.kind,
            window: slot.window.index,
            query,
            issued_at: slot.issued_at,
            from: slot.window.from,
            to: slot.window.to,
            status,
            requests: 0,
            retries: 0,
            records: 0,
            emitted: 0,
            truncated: false,
        });
    }

    /// Runs one query and records its outcome; `None` when it failed or was not sent.
    async fn query(&mut self, slot: &mut SlotCtx, name: String, q: Q) -> Option<Extra> {
        if let Some(reason) = &slot.ended {
            let reason = reason.clone();
            self.record(slot, name, QueryStatus::NotSent { reason });
            return None;
        }
        let (req0, retry0) = (self.requester.requests, self.requester.retries);
        let wire = slot
            .window
            .to_darktrace_clock(self.plan.config.event_time_adjustment);
        let id = self.id.as_str();
        let sink = self.sink;
        let mut emit = |e: NormalizedEvent| sink.emit(id, &e);
        let mut ctx = QueryCtx {
            requester: &mut self.requester,
            normalizer: &self.plan.normalizer,
            collect: self.collect.as_mut(),
            emit: &mut emit,
            page_size: self.plan.config.page_size(),
        };
        let result: Result<(QueryStats, Extra), ClientError> = match q {
            Q::Search { query, kind } => flows::search(&mut ctx, &name, &query, &wire, kind)
                .await
                .map(|s| (s, Extra::default())),
            Q::Breaches => flows::modelbreaches(&mut ctx, &wire)
                .await
                .map(|(s, pbids)| {
                    (
                        s,
                        Extra {
                            pbids,
                            ..Extra::default()
                        },
                    )
                }),
            Q::DetailsPbid(pbid) => flows::details_pbid(&mut ctx, pbid)
                .await
                .map(|s| (s, Extra::default())),
            Q::DetailsDid(did) => flows::details_did(&mut ctx, did, &wire)
                .await
                .map(|s| (s, Extra::default())),
            Q::Device(ip) => flows::device_for_ip(ctx.requester, &ip)
                .await
                .map(|did| (QueryStats::default(), Extra { did, pbids: vec![] })),
        };
        let (status, stats, extra) = match result {
            Ok((stats, extra)) => (QueryStatus::Issued, stats, Some(extra)),
            Err(e) => {
                // The summary reports every failure; the log line is for live diagnosis.
                tracing::info!(action = %self.id, query = %name, window = slot.window.index, error = %e, "query failed");
                if ends_window(&e) {
                    slot.ended = Some(format!("{} in {name}", e.kind()));
                }
                (
                    QueryStatus::Failed {
                        kind: e.kind(),
                        error: e.to_string(),
                    },
                    QueryStats::default(),
                    None,
                )
            }
        };
        self.outcomes.push(QueryOutcome {
            schedule: slot.kind,
            window: slot.window.index,
            query: name,
            issued_at: slot.issued_at,
            from: slot.window.from,
            to: slot.window.to,
            status,
            requests: self.requester.requests - req0,
            retries: self.requester.retries - retry0,
            records: stats.records,
            emitted: stats.emitted,
            truncated: stats.truncated,
        });
        extra
    }

    /// Runs one window's queries (the caller has slept until its issue time).
    pub(crate) async fn run_slot(
        &mut self,
        kind: ScheduleKind,
        window: Window,
        issued_at: OffsetDateTime,
        ids: &Identifiers,
    ) {
        self.requester
            .set_deadline(issued_at.max(window.issue_at) + self.plan.interval(kind));
        let mut slot = SlotCtx {
            kind,
            window,
            issued_at,
            ended: None,
        };
        let config = &self.plan.config;
        match (config.mode, kind) {
            (Mode::Msi, ScheduleKind::Event) => {
                let pbids = self
                    .query(&mut slot, "modelbreaches".into(), Q::Breaches)
                    .await
                    .map(|x| x.pbids)
                    .unwrap_or_default();
                if config.use_advanced_search {
                    for q in &config.queries {
                        self.expanded(&mut slot, &q.name, &q.query, ids, Kind::Event)
                            .await;
                    }
                } else {
                    for pbid in pbids {
                        if self.fetched_pbids.contains(&pbid) {
                            continue;
                        }
                        let done = self
                            .query(
                                &mut slot,
                                format!("details pbid={pbid}"),
                                Q::DetailsPbid(pbid),
                            )
                            .await;
                        if done.is_some() {
                            self.fetched_pbids.insert(pbid);
                        }
                    }
                }
            }
            (Mode::Msi, ScheduleKind::Correlation) => {
                if let Some(q) = config.correlation_query.as_deref() {
                    self.expanded(&mut slot, CORRELATION_QUERY_NAME, q, ids, Kind::Alert)
                        .await;
                }
            }
            (Mode::Legacy, ScheduleKind::Event) => self.legacy(&mut slot, ids).await,
            (Mode::Legacy, ScheduleKind::Correlation) => {}
        }
    }

    async fn expanded(
        &mut self,
        slot: &mut SlotCtx,
        name: &str,
        template: &str,
        ids: &Identifiers,
        kind: Kind,
    ) {
        match expand(template, ids) {
            Expansion::Query(query) => {
                self.query(slot, name.to_string(), Q::Search { query, kind })
                    .await;
            }
            Expansion::Skipped { reason } => {
                self.record(
                    slot,
                    name.to_string(),
                    QueryStatus::Skipped {
                        reason: reason.to_string(),
                    },
                );
            }
        }
    }

    async fn legacy(&mut self, slot: &mut SlotCtx, ids: &Identifiers) {
        if ids.ips.is_empty() {
            self.record(
                slot,
                "details".into(),
                QueryStatus::Skipped {
                    reason: "no IPs".into(),
                },
            );
            return;
        }
        let mut dids: Vec<u64> = Vec::new();
        for ip in &ids.ips {
            let did = match self.dids.get(ip) {
                Some(known) => *known,
                None => {
                    match self
                        .query(slot, format!("devices ip={ip}"), Q::Device(ip.clone()))
                        .await
                    {
                        Some(extra) => {
                            self.dids.insert(ip.clone(), extra.did);
                            extra.did
                        }
                        None => continue,
                    }
                }
            };
            match did {
                Some(d) if !dids.contains(&d) => dids.push(d),
                Some(_) => {}
                None => self.record(
                    slot,
                    format!("details ip={ip}"),
                    QueryStatus::Skipped {
                        reason: "no device has this IP".into(),
                    },
                ),
            }
        }
        for did in dids {
            self.query(slot, format!("details did={did}"), Q::DetailsDid(did))
                .await;
        }
    }
}

/// Runs one action's whole schedule on `clock`, streaming emitted records to `sink`.
pub async fn run_action(
    app: &dyn Appliance,
    plan: &Plan,
    action: &SharedAction,
    clock: &dyn Clock,
    sink: &dyn Sink,
    opts: &RunOptions,
) -> ActionReport {
    let (id, start, results) = {
        let a = action.read().unwrap_or_else(|p| p.into_inner());
        (
            a.id.clone(),
            a.start,
            ResultSet::new(ResultParams::from_config(&plan.config), &a),
        )
    };
    let slots = schedule(&plan.config, start);
    let mut run = ActionRun::new(
        plan,
        id.clone(),
        app,
        clock,
        opts.retry,
        Box::new(ActionResults::new(results)),
        sink,
    );
    for (n, slot) in slots.iter().enumerate() {
        clock.sleep_until(slot.window.issue_at).await;
        if let Some(hook) = &opts.on_window {
            hook(&WindowRef {
                action: &id,
                kind: slot.kind,
                window: slot.window,
                slot: n,
            });
        }
        let ids = {
            let a = action.read().unwrap_or_else(|p| p.into_inner());
            run.collect.sync_identifiers(&a);
            a.identifiers()
        };
        let issued_at = clock.now();
        run.run_slot(slot.kind, slot.window, issued_at, &ids).await;
        let done = run.outcomes.len();
        let summary = run.results();
        sink.progress(&Progress {
            action: id.clone(),
            kind: slot.kind,
            window: slot.window.index,
            from: slot.window.from,
            to: slot.window.to,
            next_at: slots.get(n + 1).map(|x| x.window.issue_at),
            windows_done: n + 1,
            windows_total: slots.len(),
            queries_done: done,
            queries_left: done * (slots.len() - n - 1) / (n + 1),
            queries_failed: run
                .outcomes
                .iter()
                .filter(|o| matches!(o.status, QueryStatus::Failed { .. }))
                .count(),
            events: summary.events,
            alerts: summary.alerts,
        });
    }
    let summary = RunSummary::from_outcomes(&id, &slots, &run.outcomes, run.results());
    ActionReport {
        summary,
        outcomes: run.outcomes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::VirtualClock;
    use crate::config::NamedQuery;
    use crate::flows::decode_advanced_search_target;
    use crate::output::Collected;
    use crate::run::{run_job, TimeMode};
    use crate::transport::Response;
    use serde_json::{json, Value};
    use std::sync::Mutex;
    use time::macros::datetime;

    const S: OffsetDateTime = datetime!(2024-05-01 12:00:00 UTC);

    type Answer = dyn Fn(&str, usize) -> Result<Value, ClientError> + Send + Sync;

    /// An appliance that logs each target with the scheduler's time and answers
    /// through a closure (target, how many times this target was asked before).
    struct Fake {
        clock: Option<VirtualClock>,
        log: Mutex<Vec<(String, OffsetDateTime)>>,
        answer: Box<Answer>,
    }

    impl Fake {
        fn new(
            clock: &VirtualClock,
            answer: impl Fn(&str, usize) -> Result<Value, ClientError> + Send + Sync + 'static,
        ) -> Self {
            Fake {
                clock: Some(clock.clone()),
                log: Mutex::new(Vec::new()),
                answer: Box::new(answer),
            }
        }
        fn targets(&self) -> Vec<String> {
            self.log
                .lock()
                .unwrap()
                .iter()
                .map(|(t, _)| t.clone())
                .collect()
        }
        fn log(&self) -> Vec<(String, OffsetDateTime)> {
            self.log.lock().unwrap().clone()
        }
    }

    #[async_trait::async_trait]
    impl Appliance for Fake {
        async fn get(&self, target: &str) -> Result<Response, ClientError> {
            let now = self.clock.as_ref().map_or(S, |c| c.now());
            let seen = {
                let mut log = self.log.lock().unwrap();
                let seen = log.iter().filter(|(t, _)| t == target).count();
                log.push((target.to_string(), now));
                seen
            };
            (self.answer)(target, seen).map(|v| Response {
                status: 200,
                body: v.to_string().into_bytes(),
            })
        }
    }

    fn empty(target: &str) -> Value {
        if target.starts_with("/advancedsearch") {
            json!({"hits": {"total": 0, "hits": []}})
        } else {
            json!([])
        }
    }

    fn hit(id: &str, src: &str, t: OffsetDateTime) -> Value {
        json!({"_id": id, "_source": {"@fields": {"src_ip": src, "dest_ip": "192.0.2.200",
            "epochdate": t.unix_timestamp()}, "@type": "syslog"}})
    }

    fn config(advanced: bool) -> Config {
        Config {
            host: "dt.example".into(),
            api_key: "k".into(),
            use_advanced_search: advanced,
            ..Config::default()
        }
    }

    fn action(hostnames: &[&str]) -> SharedAction {
        shared(Action::new("a1", S, ["192.0.2.1"], ["192.0.2.2"], hostnames).unwrap())
    }

    async fn run(
        fake: &Fake,
        clock: &VirtualClock,
        config: Config,
        action: &SharedAction,
        opts: RunOptions,
    ) -> (ActionReport, Collected) {
        let plan = Plan::new(config).unwrap();
        let sink = Collected::new();
        let report = run_action(fake, &plan, action, clock, &sink, &opts).await;
        (report, sink)
    }

    fn search_windows(fake: &Fake) -> Vec<(String, String, String)> {
        fake.targets()
            .iter()
            .filter_map(|t| decode_advanced_search_target(t))
            .map(|v| {
                (
                    v["search"].as_str().unwrap().to_string(),
                    v["time"]["from"].as_str().unwrap().to_string(),
                    v["time"]["to"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn d6_guide_example_eleven_windows_each_at_its_issue_time() {
        let clock = VirtualClock::new(S - Duration::hours(1));
        let fake = Fake::new(&clock, |t, _| Ok(empty(t)));
        let (report, _) = run(
            &fake,
            &clock,
            config(true),
            &action(&[]),
            RunOptions::default(),
        )
        .await;
        let log = fake.log();
        // Per window: /modelbreaches, then the IP Query; the Hostname Query is skipped.
        assert_eq!(log.len(), 22);
        for k in 0..11i64 {
            let at = S + Duration::seconds(30 * k);
            assert_eq!(log[2 * k as usize].1, at, "window {k} issued at S + 30k s");
            assert_eq!(log[2 * k as usize + 1].1, at);
            assert!(log[2 * k as usize].0.starts_with("/modelbreaches?"));
        }
        let w = search_windows(&fake);
        assert_eq!(w.len(), 11);
        assert_eq!(w[0].1, "2024-05-01T11:55:00.000Z");
        assert_eq!(w[0].2, "2024-05-01T12:00:00.000Z");
        assert_eq!(w[10].1, "2024-05-01T12:00:00.000Z");
        assert_eq!(w[10].2, "2024-05-01T12:05:00.000Z");
        assert_eq!(
            w[0].0,
            r#"@fields.src_ip:("192.0.2.1" OR "192.0.2.2") OR @fields.dest_ip:("192.0.2.1" OR "192.0.2.2")"#
        );
        let s = &report.summary;
        assert_eq!(
            (
                s.windows,
                s.queries_issued,
                s.queries_skipped,
                s.queries_failed
            ),
            (11, 22, 11, 0)
        );
        assert_eq!(
            s.skipped,
            vec![SkipNote {
                query: "Hostname Query".into(),
                reason: "no hostnames".into(),
                windows: 11
            }]
        );
        assert_eq!(
            clock.now(),
            S + Duration::minutes(5),
            "nothing after the last window"
        );
    }

    #[tokio::test]
    async fn d6_delay_moves_issue_times_only() {
        let clock = VirtualClock::new(S);
        let fake = Fake::new(&clock, |t, _| Ok(empty(t)));
        let c = Config {
            delay_time: Duration::minutes(10),
            ..config(true)
        };
        run(&fake, &clock, c, &action(&[]), RunOptions::default()).await;
        let log = fake.log();
        assert_eq!(log.first().unwrap().1, datetime!(2024-05-01 12:10:00 UTC));
        assert_eq!(log.last().unwrap().1, datetime!(2024-05-01 12:15:00 UTC));
        let w = search_windows(&fake);
        assert_eq!(
            (w[0].1.as_str(), w[10].2.as_str()),
            ("2024-05-01T11:55:00.000Z", "2024-05-01T12:05:00.000Z")
        );
    }

    #[tokio::test]
    async fn d10_dedup_across_windows_and_d7_adjusted_time() {
        let clock = VirtualClock::new(S);
        // The same record in every window.
        let fake = Fake::new(&clock, |t, _| {
            Ok(if t.starts_with("/advancedsearch") {
                json!({"hits": {"total": 1, "hits": [hit("r1", "192.0.2.1", S + Duration::minutes(1))]}})
            } else {
                json!([])
            })
        });
        let c = Config {
            event_time_adjustment: Duration::seconds(30),
            ..config(true)
        };
        let (report, sink) = run(&fake, &clock, c, &action(&[]), RunOptions::default()).await;
        let events = sink.for_action("a1");
        assert_eq!(events.len(), 1, "emitted once across 11 windows");
        assert_eq!(
            events[0].timestamp,
            Some(S + Duration::seconds(90)),
            "t + E"
        );
        assert_eq!(report.summary.results.duplicates, 10);
        let w = search_windows(&fake);
        assert_eq!(w[0].1, "2024-05-01T11:54:30.000Z", "windows shifted by −E");
    }

    #[tokio::test]
    async fn d13_transient_failures_are_retried_within_the_window() {
        let clock = VirtualClock::new(S);
        let window4 = crate::window::windows(
            S,
            Duration::minutes(5),
            Duration::seconds(30),
            Duration::ZERO,
        )[4];
        let c4 = clock.clone();
        let fake = Fake::new(&clock, move |t, seen| {
            let in_w4 =
                c4.now() >= window4.issue_at && c4.now() < window4.issue_at + Duration::seconds(30);
            if in_w4 && t.starts_with("/modelbreaches") && seen < 2 {
                return Err(ClientError::Server {
                    status: 503,
                    first_bytes: String::new(),
                });
            }
            Ok(empty(t))
        });
        let (report, _) = run(
            &fake,
            &clock,
            config(true),
            &action(&[]),
            RunOptions::default(),
        )
        .await;
        let o = report
            .outcomes
            .iter()
            .find(|o| o.window == 4 && o.query == "modelbreaches")
            .unwrap();
        assert_eq!(
            (o.requests, o.retries, &o.status),
            (3, 2, &QueryStatus::Issued)
        );
        // Backoff 1 s then 2 s on the virtual clock; the IP Query follows at +3 s.
        let log = fake.log();
        assert!(log[8..11]
            .iter()
            .all(|(t, _)| t.starts_with("/modelbreaches")));
        assert_eq!(log[11].1, window4.issue_at + Duration::seconds(3));
        assert_eq!(report.summary.queries_failed, 0);
        assert_eq!(report.summary.retries, 2);
        // Window 5 still runs at its own time.
        assert_eq!(log[12].1, window4.issue_at + Duration::seconds(30));
    }

    #[tokio::test]
    async fn d13_retries_stop_at_the_window_interval_and_the_run_goes_on() {
        let clock = VirtualClock::new(S);
        let fake = Fake::new(&clock, |t, _| {
            if t.starts_with("/modelbreaches") {
                Err(ClientError::Timeout { seconds: 30 })
            } else {
                Ok(empty(t))
            }
        });
        let c = Config {
            query_interval: Duration::seconds(2),
            query_time: Duration::seconds(4),
            ..config(true)
        };
        let (report, _) = run(&fake, &clock, c, &action(&[]), RunOptions::default()).await;
        let s = &report.summary;
        // 3 windows; each /modelbreaches tried at t and t+1 s (t+3 s would pass t+2 s).
        assert_eq!(s.windows, 3);
        assert_eq!(s.queries_failed, 3);
        assert_eq!(s.windows_failed, 3);
        assert_eq!(s.retries, 3);
        assert_eq!(
            s.queries_issued, 6,
            "the IP Query still runs in every window"
        );
        assert!(matches!(
            &s.failures[0],
            FailureNote {
                kind: ErrorKind::Timeout,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn d13_signature_error_ends_the_window_not_the_run() {
        let clock = VirtualClock::new(S);
        let c4 = clock.clone();
        let fake = Fake::new(&clock, move |t, _| {
            if c4.now() == S + Duration::seconds(120) {
                return Err(ClientError::Signature {
                    body: "{\"modelbreaches\":\"API SIGNATURE ERROR\"}".into(),
                });
            }
            Ok(empty(t))
        });
        let (report, _) = run(
            &fake,
            &clock,
            config(true),
            &action(&["h1"]),
            RunOptions::default(),
        )
        .await;
        let w4: Vec<&QueryOutcome> = report.outcomes.iter().filter(|o| o.window == 4).collect();
        assert_eq!(w4.len(), 3);
        assert!(matches!(
            w4[0].status,
            QueryStatus::Failed {
                kind: ErrorKind::Signature,
                ..
            }
        ));
        assert_eq!(w4[0].requests, 1, "not retried");
        assert!(
            matches!(&w4[1].status, QueryStatus::NotSent { reason } if reason == "signature in modelbreaches")
        );
        assert!(matches!(w4[2].status, QueryStatus::NotSent { .. }));
        let s = &report.summary;
        assert_eq!(
            (s.queries_issued, s.queries_failed, s.queries_not_sent),
            (31, 1, 2)
        );
        assert_eq!(fake.targets().len(), 31);
        assert!(report
            .outcomes
            .iter()
            .filter(|o| o.window > 4)
            .all(|o| o.status == QueryStatus::Issued));
    }

    #[tokio::test]
    async fn statement_18_later_windows_use_the_grown_ip_set() {
        let clock = VirtualClock::new(S);
        let fake = Fake::new(&clock, |t, _| Ok(empty(t)));
        let a = action(&[]);
        let grow = a.clone();
        let opts = RunOptions {
            on_window: Some(Arc::new(move |w: &WindowRef<'_>| {
                if w.window.index == 5 {
                    grow.write()
                        .unwrap()
                        .add_ips(crate::action::IpRole::Source, ["203.0.113.9"])
                        .unwrap();
                }
            })),
            ..RunOptions::default()
        };
        run(&fake, &clock, config(true), &a, opts).await;
        let w = search_windows(&fake);
        assert_eq!(w.len(), 11, "no window re-issued");
        assert!(w[..5].iter().all(|(q, _, _)| !q.contains("203.0.113.9")));
        assert!(w[5..]
            .iter()
            .all(|(q, _, _)| q.contains(r#""192.0.2.2" OR "203.0.113.9""#)));
    }

    #[tokio::test]
    async fn d7_paging_stops_at_the_limit_and_reports_truncation() {
        let clock = VirtualClock::new(S);
        // 25 hits; the odd ones are not the action's.
        let fake = Fake::new(&clock, |t, _| {
            let Some(q) = decode_advanced_search_target(t) else {
                return Ok(json!([]));
            };
            let offset = q["offset"].as_u64().unwrap();
            let size = q["size"].as_u64().unwrap();
            let hits: Vec<Value> = (offset..(offset + size).min(25))
                .map(|i| {
                    hit(
                        &format!("r{i}"),
                        if i % 2 == 0 { "192.0.2.1" } else { "10.9.9.9" },
                        S,
                    )
                })
                .collect();
            Ok(json!({"hits": {"total": 25, "hits": hits}}))
        });
        let c = Config {
            limit: 10,
            query_time: Duration::seconds(30),
            ..config(true)
        };
        let (report, sink) = run(&fake, &clock, c, &action(&[]), RunOptions::default()).await;
        let pages: Vec<(u64, u64)> = fake
            .targets()
            .iter()
            .filter_map(|t| decode_advanced_search_target(t))
            .map(|p| (p["offset"].as_u64().unwrap(), p["size"].as_u64().unwrap()))
            .collect();
        // Window 0: pages at 0 and 10 give 5 + 5 matching records, the limit; the
        // hits from 20 on are left. Window 1: one page, then the limit stops it.
        assert_eq!(pages, [(0, 10), (10, 10), (0, 10)]);
        assert_eq!(sink.for_action("a1").len(), 10);
        let r = report.summary.results;
        assert!(r.events_truncated);
        assert_eq!((r.events, r.truncated_queries), (10, 2));

        // With no limit in the way every window reads the whole answer at once.
        let clock = VirtualClock::new(S);
        let fake2 = Fake::new(&clock, move |t, n| (fake.answer)(t, n));
        let c = Config {
            query_time: Duration::seconds(30),
            ..config(true)
        };
        let (report, _) = run(&fake2, &clock, c, &action(&[]), RunOptions::default()).await;
        assert_eq!(
            fake2
                .targets()
                .iter()
                .filter(|t| t.starts_with("/advancedsearch"))
                .count(),
            2
        );
        assert_eq!(report.summary.results.events, 13);
        assert!(!report.summary.results.events_truncated);
    }

    fn breach(pbid: u64, ip: &str) -> Value {
        json!({"pbid": pbid, "time": (S + Duration::seconds(10)).unix_timestamp() * 1000,
               "score": 0.9, "model": {"then": {"name": "Anomalous Connection"}},
               "device": {"did": 7, "ip": ip}})
    }

    #[tokio::test]
    async fn d9_details_pbid_once_per_matching_breach() {
        let clock = VirtualClock::new(S);
        let fake = Fake::new(&clock, |t, _| {
            Ok(if t.starts_with("/modelbreaches") {
                json!([breach(1, "192.0.2.1"), breach(2, "10.9.9.9")])
            } else if t == "/details?pbid=1" {
                json!([{"pbid": 1, "time": "2024-05-01 12:00:10", "timems": (S + Duration::seconds(10)).unix_timestamp() * 1000,
                        "action": "policybreach", "eventType": "policybreach", "sourceDevice": {"ip": "192.0.2.1"}}])
            } else {
                json!([])
            })
        });
        let (report, sink) = run(
            &fake,
            &clock,
            config(false),
            &action(&[]),
            RunOptions::default(),
        )
        .await;
        let t = fake.targets();
        assert_eq!(
            t.iter().filter(|x| x.starts_with("/modelbreaches")).count(),
            11
        );
        assert_eq!(
            t.iter()
                .filter(|x| x.starts_with("/details"))
                .collect::<Vec<_>>(),
            ["/details?pbid=1"]
        );
        let kinds: Vec<(Kind, String)> = sink
            .for_action("a1")
            .iter()
            .map(|e| (e.kind, e.id.clone()))
            .collect();
        assert_eq!(
            kinds,
            [
                (Kind::Alert, "1".to_string()),
                (Kind::Event, "1".to_string())
            ]
        );
        assert_eq!(
            report.summary.results.suspicious_dropped, 1,
            "breach 2 is not the action's"
        );
    }

    #[tokio::test]
    async fn d9_legacy_looks_up_each_ip_once() {
        let clock = VirtualClock::new(S);
        let fake = Fake::new(&clock, |t, _| {
            Ok(match t {
                "/devices?ip=192.0.2.1" => json!([{"did": 12, "ip": "192.0.2.1"}]),
                _ => json!([]),
            })
        });
        let c = Config {
            mode: Mode::Legacy,
            ..config(true)
        };
        let (report, _) = run(&fake, &clock, c, &action(&[]), RunOptions::default()).await;
        let t = fake.targets();
        assert_eq!(
            t[..3],
            [
                "/devices?ip=192.0.2.1".to_string(),
                "/devices?ip=192.0.2.2".into(),
                "/details?did=12&starttime=1714564500000&endtime=1714564800000".into()
            ]
        );
        assert_eq!(t.len(), 2 + 11);
        assert!(t
            .iter()
            .all(|x| !x.starts_with("/advancedsearch") && !x.starts_with("/modelbreaches")));
        assert_eq!(
            report.summary.skipped,
            vec![SkipNote {
                query: "details ip=192.0.2.2".into(),
                reason: "no device has this IP".into(),
                windows: 11
            }]
        );
    }

    #[tokio::test]
    async fn d9_correlation_windows_merge_with_event_windows() {
        let clock = VirtualClock::new(S);
        let fake = Fake::new(&clock, |t, _| Ok(empty(t)));
        let c = Config {
            correlation_query_enabled: true,
            correlation_query: Some("@fields.src_ip:(%IPS%) AND @type:notice".into()),
            queries: vec![NamedQuery::new("IP Query", crate::config::DEFAULT_IP_QUERY)],
            ..config(true)
        };
        let (report, _) = run(&fake, &clock, c, &action(&[]), RunOptions::default()).await;
        assert_eq!(
            (report.summary.windows, report.summary.correlation_windows),
            (11, 6)
        );
        let corr: Vec<(String, String)> = search_windows(&fake)
            .into_iter()
            .filter(|(q, _, _)| q.contains("notice"))
            .map(|(_, f, t)| (f, t))
            .collect();
        assert_eq!(corr.len(), 6);
        assert!(corr.iter().all(|(f, _)| f == "2024-05-01T11:55:00.000Z"));
        assert_eq!(corr[5].1, "2024-05-01T12:05:00.000Z");
        // At 12:01:00 the event window's requests come before the correlation query.
        let log = fake.log();
        let at_1201: Vec<&String> = log
            .iter()
            .filter(|(_, t)| *t == S + Duration::minutes(1))
            .map(|(x, _)| x)
            .collect();
        assert_eq!(at_1201.len(), 3);
        assert!(decode_advanced_search_target(at_1201[2]).unwrap()["search"]
            .as_str()
            .unwrap()
            .contains("notice"));
    }

    #[tokio::test]
    async fn d6_a_job_of_200_actions_sends_exactly_its_schedules() {
        let fake = Arc::new(Fake {
            clock: None,
            log: Mutex::new(Vec::new()),
            answer: Box::new(|t, _| Ok(empty(t))),
        });
        let plan = Arc::new(Plan::new(config(true)).unwrap());
        let actions: Vec<SharedAction> = (0..200)
            .map(|i| {
                shared(
                    Action::new(
                        format!("a{i}"),
                        S + Duration::seconds(i),
                        [format!("192.0.2.{}", i % 250 + 1)],
                        [""; 0],
                        [""; 0],
                    )
                    .unwrap(),
                )
            })
            .collect();
        let sink: Arc<dyn Sink> = Arc::new(Collected::new());
        let reports = run_job(
            fake.clone(),
            plan,
            actions,
            TimeMode::Virtual,
            sink,
            RunOptions::default(),
            50,
        )
        .await;
        assert_eq!(reports.len(), 200);
        assert_eq!(fake.targets().len(), 200 * 22);
        assert!(reports
            .iter()
            .enumerate()
            .all(|(i, r)| r.summary.action == format!("a{i}") && r.summary.requests == 22));
        // Each action's searches are its own (its IP, its windows); none repeated.
        let searches: Vec<String> = fake
            .targets()
            .into_iter()
            .filter(|t| t.starts_with("/advancedsearch"))
            .collect();
        let distinct: HashSet<&String> = searches.iter().collect();
        assert_eq!((searches.len(), distinct.len()), (200 * 11, 200 * 11));
    }
}
