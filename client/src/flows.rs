//! The requests of the D9 flows, one query at a time: what goes on the wire, how the
//! answer is read, and how its records reach the results (D7, D10).
//!
//! - Advanced search (events with `use_advanced_search`, and the correlation query's
//!   alerts): `GET /advancedsearch/api/search/<base64>`, the query JSON
//!   `{"search", "fields": [], "offset", "timeframe": "custom", "time": {"from", "to"},
//!   "size"}` encoded URL-safe without padding (live-evidenced; the appliance also takes
//!   the standard alphabet). `size` = min(limit, 10000) (D7); pages follow by
//!   `offset += size` while `offset < hits.total` and the results still want records of
//!   that kind. A query that stops with hits left unfetched is reported truncated.
//! - `/modelbreaches?starttime=&endtime=&minimal=false&deviceattop=true` (epoch ms, D7):
//!   every breach is offered as an alert; the matching ones (D10) name the pbids whose
//!   `/details?pbid=` gives the events when advanced search is off.
//! - Legacy: `/devices?ip=` gives the did (the scheduler caches it per action), then
//!   `/details?did=&starttime=&endtime=` per window gives the events.
//!
//! Pinned where D7/D9 are silent:
//! - Windows go on the wire already shifted by −E (the caller passes a [`WireWindow`]).
//! - `hits.total` may be a number or Elasticsearch 7's `{"value": n}`; any other shape,
//!   or `hits.hits` not an array, is a malformed answer. The appliance's 200 body
//!   `{"error": "..."}` (a bad custom range) is reported as refused parameters.
//! - `/devices?ip=` answering several devices: the first (lowest did) is used; none: the
//!   IP is skipped and reported.
//! - Every request goes through a [`Requester`], which retries transient failures
//!   (D13) with bounded backoff on the scheduler's clock, never past the window's
//!   deadline.
//! - Speed: an advanced-search page is scanned once for each hit's `_id` and span
//!   ([`scan_search_page`]); a hit whose identity already has a final verdict for the
//!   action ([`ActionResults`]: emitted, kept suspicious or cut by the limit) is counted
//!   as a duplicate without being parsed into a tree or normalized. Overlapping D6
//!   windows return most records up to 11 times, so this is most of a run's records.

use std::collections::HashSet;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::action::Action;
use crate::clock::Clock;
use crate::error::{first_bytes, ClientError};
use crate::fieldmap::value_text;
use crate::normalize::{Kind, NormalizedEvent, Normalizer, Source};
use crate::results::{Offer, ResultSet, Summary};
use crate::transport::{Response, Transport};
use crate::window::WireWindow;

/// The appliance as the flows see it: a signed GET. [`Transport`] is the real one;
/// tests put fakes behind it.
#[async_trait]
pub trait Appliance: Send + Sync {
    /// `GET` a target (`/path?query`, encoded as it is sent).
    async fn get(&self, target: &str) -> Result<Response, ClientError>;
}

#[async_trait]
impl Appliance for Transport {
    async fn get(&self, target: &str) -> Result<Response, ClientError> {
        Transport::get(self, target).await
    }
}

#[async_trait]
impl<A: Appliance + ?Sized> Appliance for std::sync::Arc<A> {
    async fn get(&self, target: &str) -> Result<Response, ClientError> {
        (**self).get(target).await
    }
}

/// An appliance answering from a function: canned answers for tests and benchmarks.
pub struct FnAppliance<F>(pub F);

#[async_trait]
impl<F> Appliance for FnAppliance<F>
where
    F: Fn(&str) -> Result<Response, ClientError> + Send + Sync,
{
    async fn get(&self, target: &str) -> Result<Response, ClientError> {
        (self.0)(target)
    }
}

/// Largest advanced-search page (the appliance clamps larger sizes).
pub const MAX_PAGE: u64 = 10_000;

/// The query-component characters left as they are in parameter values.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':');

fn enc(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// The advanced-search query JSON (D7), keys in the order real clients send them.
pub fn advanced_search_json(search: &str, wire: &WireWindow, offset: u64, size: u64) -> Value {
    json!({
        "search": search,
        "fields": [],
        "offset": offset,
        "timeframe": "custom",
        "time": {"from": wire.from_iso(), "to": wire.to_iso()},
        "size": size,
    })
}

/// `GET /advancedsearch/api/search/<URL-safe base64 of the query JSON, unpadded>`.
pub fn advanced_search_target(search: &str, wire: &WireWindow, offset: u64, size: u64) -> String {
    let body = advanced_search_json(search, wire, offset, size).to_string();
    format!(
        "/advancedsearch/api/search/{}",
        URL_SAFE_NO_PAD.encode(body.as_bytes())
    )
}

/// The query JSON inside an advanced-search GET target (either base64 alphabet, padded
/// or not), for tests and diagnostics reading a journal.
pub fn decode_advanced_search_target(target: &str) -> Option<Value> {
    let seg = target
        .split('?')
        .next()?
        .strip_prefix("/advancedsearch/api/search/")?;
    let cleaned: String = seg
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    let bytes = URL_SAFE_NO_PAD.decode(cleaned).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `/modelbreaches` over a window (epoch ms), with the device at the top level.
pub fn modelbreaches_target(wire: &WireWindow) -> String {
    format!(
        "/modelbreaches?starttime={}&endtime={}&minimal=false&deviceattop=true",
        wire.starttime_ms(),
        wire.endtime_ms()
    )
}

/// `/details?pbid=`: a breach's policy-breach event and its connections.
pub fn details_pbid_target(pbid: u64) -> String {
    format!("/details?pbid={pbid}")
}

/// `/details?did=&starttime=&endtime=` (legacy events, epoch ms).
pub fn details_did_target(did: u64, wire: &WireWindow) -> String {
    format!(
        "/details?did={did}&starttime={}&endtime={}",
        wire.starttime_ms(),
        wire.endtime_ms()
    )
}

/// `/devices?ip=` (legacy did lookup).
pub fn devices_ip_target(ip: &str) -> String {
    format!("/devices?ip={}", enc(ip))
}

/// Bounded retries of transient failures (D13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included (at least 1).
    pub max_attempts: u32,
    /// The wait before the second attempt; doubled before each further one.
    pub base_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, waiting 1 s then 2 s (capped at 8 s).
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_backoff: Duration::seconds(1),
            max_backoff: Duration::seconds(8),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait after failed attempt `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1i32 << attempt.saturating_sub(1).min(20);
        (self.base_backoff * factor).min(self.max_backoff)
    }
}

/// Sends requests for one window: transient failures are retried with backoff on the
/// scheduler's clock while the retry still starts before `deadline`.
pub struct Requester<'a> {
    app: &'a dyn Appliance,
    clock: &'a dyn Clock,
    policy: RetryPolicy,
    deadline: OffsetDateTime,
    /// HTTP requests sent so far (every attempt counts).
    pub requests: u64,
    /// Of those, retries.
    pub retries: u64,
}

impl<'a> Requester<'a> {
    /// A requester whose retries must start by `deadline`.
    pub fn new(
        app: &'a dyn Appliance,
        clock: &'a dyn Clock,
        policy: RetryPolicy,
        deadline: OffsetDateTime,
    ) -> Self {
        Requester {
            app,
            clock,
            policy,
            deadline,
            requests: 0,
            retries: 0,
        }
    }

    /// Moves the retry deadline (the scheduler reuses one requester per action).
    pub fn set_deadline(&mut self, deadline: OffsetDateTime) {
        self.deadline = deadline;
    }

    /// GETs a target and parses the JSON answer, retrying transient failures.
    pub async fn get_json(&mut self, target: &str) -> Result<(Value, Response), ClientError> {
        self.get_parsed(target, |resp| resp.json()).await
    }

    /// GETs a target and reads the answer with `parse`, retrying transient failures of
    /// either (a truncated body is one).
    pub async fn get_parsed<T>(
        &mut self,
        target: &str,
        parse: impl Fn(&Response) -> Result<T, ClientError>,
    ) -> Result<(T, Response), ClientError> {
        let mut attempt = 1u32;
        loop {
            self.requests += 1;
            let result = match self.app.get(target).await {
                Ok(resp) => parse(&resp).map(|v| (v, resp)),
                Err(e) => Err(e),
            };
            match result {
                Ok(ok) => return Ok(ok),
                Err(e) if e.is_transient() && attempt < self.policy.max_attempts.max(1) => {
                    let wake = self.clock.now() + self.policy.backoff(attempt);
                    if wake > self.deadline {
                        tracing::debug!(target, error = %e, "no time left in the window to retry");
                        return Err(e);
                    }
                    tracing::debug!(target, error = %e, attempt, "transient failure, retrying");
                    self.clock.sleep_until(wake).await;
                    self.retries += 1;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Where normalized records go: an action's [`ResultSet`] (deduplicated, matched,
/// capped) or, for the Test query, [`Uncorrelated`].
pub trait Collect: Send {
    /// Judges one record.
    fn offer(&mut self, event: NormalizedEvent) -> Offer;
    /// How many more records of `kind` can be emitted.
    fn remaining(&self, kind: Kind) -> u64;
    /// A query stopped with records left unfetched.
    fn note_truncated_query(&mut self, kind: Kind);
    /// Whether a record correlates with the action (decides which breaches'
    /// `/details?pbid=` to fetch).
    fn correlates(&self, event: &NormalizedEvent) -> bool;
    /// The counters so far.
    fn summary(&self) -> Summary;
    /// Picks up identifiers added to the action (before a window's records).
    fn sync_identifiers(&mut self, _action: &Action) {}
    /// Whether a record of this identity already has a final verdict, so a new sighting
    /// can only be a duplicate and need not be normalized.
    fn settled(&self, _kind: Kind, _source: Source, _id: &str) -> bool {
        false
    }
    /// Counts a sighting skipped because [`Collect::settled`] said so (a duplicate).
    fn skip_settled(&mut self) {}
}

/// An action's [`ResultSet`], remembering which identities are settled (emitted, kept
/// suspicious, or cut by the limit: every later sighting is a duplicate) so overlapping
/// windows do not normalize the same advanced-search hit again. Records dropped as
/// suspicious are not settled: the action's IPs may grow and make them match (D10).
#[derive(Debug, Clone)]
pub struct ActionResults {
    set: ResultSet,
    settled: [HashSet<String>; 6],
    skipped: u64,
}

fn slot(kind: Kind, source: Source) -> usize {
    let k = match kind {
        Kind::Event => 0,
        Kind::Alert => 3,
    };
    k + match source {
        Source::AdvancedSearch => 0,
        Source::Details => 1,
        Source::ModelBreaches => 2,
    }
}

impl ActionResults {
    /// Wraps an action's result set.
    pub fn new(set: ResultSet) -> Self {
        ActionResults {
            set,
            settled: Default::default(),
            skipped: 0,
        }
    }
}

impl Collect for ActionResults {
    fn offer(&mut self, event: NormalizedEvent) -> Offer {
        let (kind, source, id) = (event.kind, event.source, event.id.clone());
        let offer = self.set.offer(event);
        if matches!(
            offer,
            Offer::Emitted(_) | Offer::Suspicious(_) | Offer::OverLimit
        ) {
            self.settled[slot(kind, source)].insert(id);
        }
        offer
    }
    fn remaining(&self, kind: Kind) -> u64 {
        self.set.remaining(kind)
    }
    fn note_truncated_query(&mut self, kind: Kind) {
        self.set.note_truncated_query(kind)
    }
    fn correlates(&self, event: &NormalizedEvent) -> bool {
        self.set.judge(event).is_ok()
    }
    fn summary(&self) -> Summary {
        let mut s = self.set.summary();
        s.duplicates += self.skipped;
        s
    }
    fn sync_identifiers(&mut self, action: &Action) {
        self.set.sync_identifiers(action)
    }
    fn settled(&self, kind: Kind, source: Source, id: &str) -> bool {
        self.settled[slot(kind, source)].contains(id)
    }
    fn skip_settled(&mut self) {
        self.skipped += 1;
    }
}

impl Collect for ResultSet {
    fn offer(&mut self, event: NormalizedEvent) -> Offer {
        ResultSet::offer(self, event)
    }
    fn remaining(&self, kind: Kind) -> u64 {
        ResultSet::remaining(self, kind)
    }
    fn note_truncated_query(&mut self, kind: Kind) {
        ResultSet::note_truncated_query(self, kind)
    }
    fn correlates(&self, event: &NormalizedEvent) -> bool {
        self.judge(event).is_ok()
    }
    fn summary(&self) -> Summary {
        ResultSet::summary(self)
    }
    fn sync_identifiers(&mut self, action: &Action) {
        ResultSet::sync_identifiers(self, action)
    }
}

/// Results without an action (the platform's Test query): deduplicated by identity and
/// capped per kind at `limit`, never matched.
#[derive(Debug, Clone)]
pub struct Uncorrelated {
    limit: u64,
    seen: HashSet<(Kind, Source, String)>,
    summary: Summary,
}

impl Uncorrelated {
    /// An empty collection capped at `limit` per kind.
    pub fn new(limit: u64) -> Self {
        Uncorrelated {
            limit,
            seen: HashSet::new(),
            summary: Summary::default(),
        }
    }

    fn count(&self, kind: Kind) -> u64 {
        match kind {
            Kind::Event => self.summary.events,
            Kind::Alert => self.summary.alerts,
        }
    }
}

impl Collect for Uncorrelated {
    fn offer(&mut self, event: NormalizedEvent) -> Offer {
        if !self
            .seen
            .insert((event.kind, event.source, event.id.clone()))
        {
            self.summary.duplicates += 1;
            return Offer::Duplicate;
        }
        if self.count(event.kind) >= self.limit {
            match event.kind {
                Kind::Event => {
                    self.summary.events_over_limit += 1;
                    self.summary.events_truncated = true;
                }
                Kind::Alert => {
                    self.summary.alerts_over_limit += 1;
                    self.summary.alerts_truncated = true;
                }
            }
            return Offer::OverLimit;
        }
        match event.kind {
            Kind::Event => self.summary.events += 1,
            Kind::Alert => self.summary.alerts += 1,
        }
        Offer::Emitted(event)
    }
    fn remaining(&self, kind: Kind) -> u64 {
        self.limit.saturating_sub(self.count(kind))
    }
    fn note_truncated_query(&mut self, kind: Kind) {
        self.summary.truncated_queries += 1;
        match kind {
            Kind::Event => self.summary.events_truncated = true,
            Kind::Alert => self.summary.alerts_truncated = true,
        }
    }
    fn correlates(&self, _event: &NormalizedEvent) -> bool {
        true
    }
    fn summary(&self) -> Summary {
        self.summary
    }
}

/// What one query brought.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// Records received (all pages).
    pub records: u64,
    /// Records emitted (matching, or kept suspicious).
    pub emitted: u64,
    /// Pages fetched.
    pub pages: u32,
    /// Hits were left unfetched (limit reached).
    pub truncated: bool,
}

/// Everything a query needs besides its own parameters.
pub struct QueryCtx<'r, 'a> {
    /// Sends the requests.
    pub requester: &'r mut Requester<'a>,
    /// Turns records into normalized events.
    pub normalizer: &'r Normalizer,
    /// Judges them.
    pub collect: &'r mut dyn Collect,
    /// Receives the emitted ones, as they come.
    pub emit: &'r mut (dyn FnMut(NormalizedEvent) + Send),
    /// The advanced-search page size, min(limit, 10000).
    pub page_size: u64,
}

impl QueryCtx<'_, '_> {
    fn take(&mut self, record: Value, source: Source, kind: Kind, query: Option<&str>) -> bool {
        let event = self.normalizer.normalize(record, source, kind, query);
        match self.collect.offer(event) {
            Offer::Emitted(e) | Offer::Suspicious(e) => {
                (self.emit)(e);
                true
            }
            _ => false,
        }
    }
}

fn malformed(resp: &Response, reason: impl Into<String>) -> ClientError {
    ClientError::Malformed {
        status: resp.status,
        reason: reason.into(),
        first_bytes: first_bytes(&resp.body),
    }
}

/// Reads an advanced-search answer: (`hits.total`, `hits.hits`).
pub fn search_page(v: Value, resp: &Response) -> Result<(u64, Vec<Value>), ClientError> {
    let Value::Object(mut obj) = v else {
        return Err(malformed(
            resp,
            "advanced search answered JSON that is not an object",
        ));
    };
    if let (None, Some(Value::String(e))) = (obj.get("hits"), obj.get("error")) {
        return Err(ClientError::Input { message: e.clone() });
    }
    let Some(Value::Object(mut hits)) = obj.remove("hits") else {
        return Err(malformed(
            resp,
            "advanced search answer has no `hits` object",
        ));
    };
    let total = total_of(hits.get("total"))
        .ok_or_else(|| malformed(resp, "advanced search answer has no numeric `hits.total`"))?;
    match hits.remove("hits") {
        Some(Value::Array(list)) => Ok((total, list)),
        _ => Err(malformed(
            resp,
            "advanced search answer has no `hits.hits` array",
        )),
    }
}

fn total_of(v: Option<&Value>) -> Option<u64> {
    match v {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::Object(t)) => t.get("value").and_then(Value::as_u64),
        _ => None,
    }
}

/// One hit of a scanned page: its `_id` (as D10 reads it) and where its JSON lies in
/// the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HitSpan {
    /// The trimmed `_id`, when the hit has a usable one.
    pub id: Option<String>,
    /// The hit's bytes in the body.
    pub span: std::ops::Range<usize>,
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow, default)]
    hits: Option<RawHits<'a>>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct RawHits<'a> {
    #[serde(default)]
    total: Option<Value>,
    #[serde(borrow, default)]
    hits: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct RawId<'a> {
    #[serde(borrow, default, rename = "_id")]
    id: Option<&'a RawValue>,
}

fn json_error(resp: &Response, e: &serde_json::Error) -> ClientError {
    malformed(
        resp,
        if e.is_eof() {
            format!("truncated JSON ({e})")
        } else {
            format!("not JSON ({e})")
        },
    )
}

/// Scans an advanced-search answer without building the hits' trees: `hits.total`
/// and each hit's `_id` and span. Same errors as [`search_page`].
pub fn scan_search_page(resp: &Response) -> Result<(u64, Vec<HitSpan>), ClientError> {
    let env: RawEnvelope<'_> = serde_json::from_slice(&resp.body).map_err(|e| {
        // Not an object at all, or a body cut short.
        if e.is_eof() || e.is_syntax() {
            json_error(resp, &e)
        } else {
            malformed(
                resp,
                format!("advanced search answer of the wrong shape ({e})"),
            )
        }
    })?;
    let Some(hits) = env.hits else {
        if let Some(Value::String(e)) = env.error {
            return Err(ClientError::Input { message: e });
        }
        return Err(malformed(
            resp,
            "advanced search answer has no `hits` object",
        ));
    };
    let total = total_of(hits.total.as_ref())
        .ok_or_else(|| malformed(resp, "advanced search answer has no numeric `hits.total`"))?;
    let list = hits
        .hits
        .ok_or_else(|| malformed(resp, "advanced search answer has no `hits.hits` array"))?;
    let base = resp.body.as_ptr() as usize;
    let spans = list
        .into_iter()
        .map(|raw| {
            let text = raw.get();
            let start = text.as_ptr() as usize - base;
            let id = serde_json::from_str::<RawId<'_>>(text)
                .ok()
                .and_then(|r| r.id)
                .and_then(|v| serde_json::from_str::<Value>(v.get()).ok())
                .and_then(|v| match v {
                    Value::String(s) if s.trim().is_empty() => None,
                    other => value_text(&other),
                });
            HitSpan {
                id,
                span: start..start + text.len(),
            }
        })
        .collect();
    Ok((total, spans))
}

fn array(v: Value, resp: &Response, endpoint: &str) -> Result<Vec<Value>, ClientError> {
    match v {
        Value::Array(list) => Ok(list),
        _ => Err(malformed(
            resp,
            format!("{endpoint} answered JSON that is not an array"),
        )),
    }
}

/// One advanced-search query over a window, paged (D7). Hits are `kind` records
/// (events for the configured queries, alerts for the correlation query) named `name`.
pub async fn search(
    ctx: &mut QueryCtx<'_, '_>,
    name: &str,
    query: &str,
    wire: &WireWindow,
    kind: Kind,
) -> Result<QueryStats, ClientError> {
    let size = ctx.page_size.clamp(1, MAX_PAGE);
    let mut stats = QueryStats::default();
    let mut offset = 0u64;
    loop {
        let target = advanced_search_target(query, wire, offset, size);
        let ((total, spans), resp) = ctx.requester.get_parsed(&target, scan_search_page).await?;
        stats.pages += 1;
        let got = spans.len() as u64;
        stats.records += got;
        for hit in spans {
            if let Some(id) = &hit.id {
                if ctx.collect.settled(kind, Source::AdvancedSearch, id) {
                    ctx.collect.skip_settled();
                    continue;
                }
            }
            let record: Value =
                serde_json::from_slice(&resp.body[hit.span]).map_err(|e| json_error(&resp, &e))?;
            if ctx.take(record, Source::AdvancedSearch, kind, Some(name)) {
                stats.emitted += 1;
            }
        }
        offset += size;
        if got == 0 || offset >= total {
            break;
        }
        if ctx.collect.remaining(kind) == 0 {
            stats.truncated = true;
            ctx.collect.note_truncated_query(kind);
            break;
        }
    }
    Ok(stats)
}

/// `/modelbreaches` over a window: every breach offered as an alert. Returns the stats
/// and the pbids of the breaches that correlate with the action, in answer order.
pub async fn modelbreaches(
    ctx: &mut QueryCtx<'_, '_>,
    wire: &WireWindow,
) -> Result<(QueryStats, Vec<u64>), ClientError> {
    let (v, resp) = ctx.requester.get_json(&modelbreaches_target(wire)).await?;
    let list = array(v, &resp, "/modelbreaches")?;
    let mut stats = QueryStats {
        pages: 1,
        records: list.len() as u64,
        ..QueryStats::default()
    };
    let mut matching = Vec::new();
    for breach in list {
        let pbid = breach.get("pbid").and_then(Value::as_u64);
        let event = ctx
            .normalizer
            .normalize(breach, Source::ModelBreaches, Kind::Alert, None);
        if let Some(pbid) = pbid.filter(|_| ctx.collect.correlates(&event)) {
            matching.push(pbid);
        }
        match ctx.collect.offer(event) {
            Offer::Emitted(e) | Offer::Suspicious(e) => {
                stats.emitted += 1;
                (ctx.emit)(e);
            }
            _ => {}
        }
    }
    Ok((stats, matching))
}

/// `/details?pbid=`: the breach's events.
pub async fn details_pbid(
    ctx: &mut QueryCtx<'_, '_>,
    pbid: u64,
) -> Result<QueryStats, ClientError> {
    details(ctx, &details_pbid_target(pbid)).await
}

/// `/details?did=&starttime=&endtime=`: a device's events in a window (legacy).
pub async fn details_did(
    ctx: &mut QueryCtx<'_, '_>,
    did: u64,
    wire: &WireWindow,
) -> Result<QueryStats, ClientError> {
    details(ctx, &details_did_target(did, wire)).await
}

async fn details(ctx: &mut QueryCtx<'_, '_>, target: &str) -> Result<QueryStats, ClientError> {
    let (v, resp) = ctx.requester.get_json(target).await?;
    let list = array(v, &resp, "/details")?;
    let mut stats = QueryStats {
        pages: 1,
        records: list.len() as u64,
        ..QueryStats::default()
    };
    for event in list {
        if ctx.take(event, Source::Details, Kind::Event, None) {
            stats.emitted += 1;
        }
    }
    Ok(stats)
}

/// `/devices?ip=`: the did of the device holding the address, if any.
pub async fn device_for_ip(
    requester: &mut Requester<'_>,
    ip: &str,
) -> Result<Option<u64>, ClientError> {
    let (v, resp) = requester.get_json(&devices_ip_target(ip)).await?;
    let did = |d: &Value| d.get("did").and_then(Value::as_u64);
    match &v {
        Value::Array(list) => Ok(list.iter().filter_map(did).min()),
        // A single object (some versions answer one device for an exact IP).
        Value::Object(_) => Ok(did(&v)),
        _ => Err(malformed(
            &resp,
            "/devices answered neither an array nor an object",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn wire() -> WireWindow {
        WireWindow {
            from: datetime!(2024-05-01 11:55:00 UTC),
            to: datetime!(2024-05-01 12:00:00 UTC),
        }
    }

    #[test]
    fn d7_advanced_search_target_round_trips() {
        let t = advanced_search_target("@fields.src_ip:(\"fe80::1\")", &wire(), 20, 10_000);
        assert!(t.starts_with("/advancedsearch/api/search/"));
        let seg = t.trim_start_matches("/advancedsearch/api/search/");
        assert!(
            !seg.contains('=') && !seg.contains('+') && !seg.contains('/'),
            "URL-safe, unpadded: {seg}"
        );
        let v = decode_advanced_search_target(&t).unwrap();
        assert_eq!(
            v.to_string(),
            r#"{"search":"@fields.src_ip:(\"fe80::1\")","fields":[],"offset":20,"timeframe":"custom","time":{"from":"2024-05-01T11:55:00.000Z","to":"2024-05-01T12:00:00.000Z"},"size":10000}"#
        );
    }

    #[test]
    fn d7_epoch_ms_targets() {
        assert_eq!(
            modelbreaches_target(&wire()),
            "/modelbreaches?starttime=1714564500000&endtime=1714564800000&minimal=false&deviceattop=true"
        );
        assert_eq!(
            details_did_target(7, &wire()),
            "/details?did=7&starttime=1714564500000&endtime=1714564800000"
        );
        assert_eq!(details_pbid_target(42), "/details?pbid=42");
        assert_eq!(devices_ip_target("fe80::1"), "/devices?ip=fe80::1");
        assert_eq!(devices_ip_target("10.0.0.1"), "/devices?ip=10.0.0.1");
    }

    #[test]
    fn d13_backoff_doubles_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1), Duration::seconds(1));
        assert_eq!(p.backoff(2), Duration::seconds(2));
        assert_eq!(p.backoff(3), Duration::seconds(4));
        assert_eq!(p.backoff(10), Duration::seconds(8));
    }

    #[test]
    fn d7_search_page_shapes() {
        let resp = Response {
            status: 200,
            body: b"{}".to_vec(),
        };
        let (t, h) = search_page(json!({"hits": {"total": 3, "hits": [1, 2]}}), &resp).unwrap();
        assert_eq!((t, h.len()), (3, 2));
        let (t, _) =
            search_page(json!({"hits": {"total": {"value": 9}, "hits": []}}), &resp).unwrap();
        assert_eq!(t, 9);
        assert!(matches!(
            search_page(
                json!({"error": "Invalid to/from fields in custom range"}),
                &resp
            ),
            Err(ClientError::Input { .. })
        ));
        assert!(matches!(
            search_page(json!({"hits": {"hits": []}}), &resp),
            Err(ClientError::Malformed { .. })
        ));
        assert!(matches!(
            search_page(json!([]), &resp),
            Err(ClientError::Malformed { .. })
        ));
    }

    #[test]
    fn d10_scan_reads_ids_and_spans_without_building_trees() {
        let body = br#"{"took": 1, "hits": {"total": {"value": 3}, "hits": [
            {"_id": " a1 ", "_source": {"x": [1, {"y": "}"}]}},
            {"_id": 42, "_source": {}},
            {"_id": "", "_source": {}}
        ]}}"#;
        let resp = Response {
            status: 200,
            body: body.to_vec(),
        };
        let (total, spans) = scan_search_page(&resp).unwrap();
        assert_eq!(total, 3);
        let ids: Vec<Option<String>> = spans.iter().map(|h| h.id.clone()).collect();
        assert_eq!(ids, [Some("a1".into()), Some("42".into()), None]);
        let first: Value = serde_json::from_slice(&body[spans[0].span.clone()]).unwrap();
        assert_eq!(first["_source"]["x"][1]["y"], "}");
    }

    #[test]
    fn d13_scan_errors_match_the_tree_reader() {
        let r = |b: &[u8]| Response {
            status: 200,
            body: b.to_vec(),
        };
        assert!(matches!(
            scan_search_page(&r(
                br#"{"error": "Invalid to/from fields in custom range"}"#
            )),
            Err(ClientError::Input { .. })
        ));
        let cut =
            scan_search_page(&r(br#"{"hits": {"total": 2, "hits": [{"_id": "a"#)).unwrap_err();
        assert!(cut.is_transient(), "a truncated body is retried: {cut:?}");
        for bad in [
            &b"[]"[..],
            b"<html>",
            br#"{"hits": {"hits": []}}"#,
            br#"{"hits": {"total": 1}}"#,
        ] {
            let e = scan_search_page(&r(bad)).unwrap_err();
            assert!(matches!(e, ClientError::Malformed { .. }), "{e:?}");
            assert!(!e.is_transient());
        }
    }
}
