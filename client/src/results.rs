//! Per-action results: deduplication, matching and limits (D10).
//!
//! A [`ResultSet`] belongs to one action. Every normalized record is [offered](ResultSet::offer)
//! to it and gets one verdict:
//! - identity already seen (same kind, source and D10 id) → [`Offer::Duplicate`]. The
//!   overlapping D6 windows return the same record up to ceil(Q/I)+1 times; it is emitted
//!   once, with the name of the first query that found it;
//! - it matches the action → [`Offer::Emitted`], unless `limit` unique records of its
//!   kind were already emitted → [`Offer::OverLimit`] (events and alerts are capped
//!   separately; the summary says when a cap cut results);
//! - otherwise it is suspicious → [`Offer::DroppedSuspicious`], or, with
//!   `save_suspicious_events`, [`Offer::Suspicious`] carrying the event with its reason.
//!
//! Matching (D10): the src or dest IP is one of the action's IPs (compared as addresses,
//! so `fe80:0::1` = `fe80::1`), or the host equals one of its hostnames ignoring case;
//! AND the adjusted timestamp lies in [S − Q, S + Q], both ends inclusive.
//!
//! Pinned where D10 is silent:
//! - Reasons ([`SuspiciousReason`]), checked in this order: `no action IP or hostname`,
//!   `no timestamp`, `time outside the action window after adjustment`. There is no
//!   "missing destination IP" reason: D10 accepts a source-IP or host match alone.
//! - Suspicious records do not count toward the event/alert limit. Kept suspicious
//!   records have their own cap, also `limit` per kind, so saving them cannot flood a run.
//! - The IP set may grow ([`ResultSet::sync_identifiers`]). A record dropped as
//!   suspicious (not saved) is judged again when a later window returns it, so a record
//!   that correlates only through a NAT address learned later is still emitted, once.
//!   Emitted, kept-suspicious and over-limit verdicts are final.
//! - Over-limit records are remembered too: a second sighting is a duplicate, so the
//!   over-limit counters count unique records cut.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use serde::{Serialize, Serializer};
use time::{Duration, OffsetDateTime};

use crate::action::{canonical_ip, Action};
use crate::config::Config;
use crate::normalize::{Kind, NormalizedEvent, Source};

/// Why a record does not correlate with the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuspiciousReason {
    /// Neither IP is an action IP and the host is not an action hostname.
    NoActionIdentifier,
    /// The record has no readable time.
    NoTimestamp,
    /// The adjusted time is outside [S − Q, S + Q].
    OutsideWindow,
}

impl SuspiciousReason {
    /// The reason as shown in `suspicious_reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            SuspiciousReason::NoActionIdentifier => "no action IP or hostname",
            SuspiciousReason::NoTimestamp => "no timestamp",
            SuspiciousReason::OutsideWindow => "time outside the action window after adjustment",
        }
    }
}

impl std::fmt::Display for SuspiciousReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SuspiciousReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The settings a result set needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultParams {
    /// Cap on unique events and, separately, unique alerts.
    pub limit: u64,
    /// Keep suspicious records with a reason.
    pub save_suspicious_events: bool,
    /// Q: records match within [S − Q, S + Q].
    pub query_time: Duration,
}

impl ResultParams {
    /// From the settings.
    pub fn from_config(config: &Config) -> Self {
        ResultParams {
            limit: config.limit,
            save_suspicious_events: config.save_suspicious_events,
            query_time: config.query_time,
        }
    }
}

/// The verdict on one offered record.
#[derive(Debug, Clone, PartialEq)]
pub enum Offer {
    /// A new record that matches the action: report it.
    Emitted(NormalizedEvent),
    /// A new suspicious record, kept (`save_suspicious_events`), `suspicious_reason` set.
    Suspicious(NormalizedEvent),
    /// Already seen for this action.
    Duplicate,
    /// New, but the cap for its kind (matched or kept-suspicious) is reached.
    OverLimit,
    /// New and suspicious, not kept.
    DroppedSuspicious(SuspiciousReason),
}

/// Counters for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Unique matching events emitted.
    pub events: u64,
    /// Unique matching alerts emitted.
    pub alerts: u64,
    /// Records offered again (overlapping windows, several queries).
    pub duplicates: u64,
    /// Unique matching events cut by the limit.
    pub events_over_limit: u64,
    /// Unique matching alerts cut by the limit.
    pub alerts_over_limit: u64,
    /// Unique suspicious records kept.
    pub suspicious_kept: u64,
    /// Unique suspicious records dropped (not kept).
    pub suspicious_dropped: u64,
    /// Unique suspicious records not kept because their cap was reached.
    pub suspicious_over_limit: u64,
    /// Queries whose answer held more records than were fetched (reported by the caller).
    pub truncated_queries: u64,
    /// Whether events were cut (by the limit or a truncated query).
    pub events_truncated: bool,
    /// Whether alerts were cut (by the limit or a truncated query).
    pub alerts_truncated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Emitted,
    Kept,
    OverLimit,
    Dropped,
}

#[derive(Debug, Clone, Default)]
struct Matcher {
    ips: HashSet<IpAddr>,
    hostnames: HashSet<String>,
    generation: u64,
}

impl Matcher {
    fn of(action: &Action) -> Matcher {
        Matcher {
            ips: action
                .ips()
                .iter()
                .filter_map(|ip| canonical_ip(ip))
                .collect(),
            hostnames: action
                .hostnames()
                .iter()
                .map(|h| h.trim().to_lowercase())
                .collect(),
            generation: action.generation(),
        }
    }

    fn names_action(&self, e: &NormalizedEvent) -> bool {
        let ip_hit = |ip: &Option<String>| {
            ip.as_deref()
                .and_then(canonical_ip)
                .is_some_and(|ip| self.ips.contains(&ip))
        };
        ip_hit(&e.src_ip)
            || ip_hit(&e.dest_ip)
            || e.host
                .as_deref()
                .is_some_and(|h| self.hostnames.contains(&h.trim().to_lowercase()))
    }
}

/// One action's results. See the module doc.
#[derive(Debug, Clone)]
pub struct ResultSet {
    params: ResultParams,
    from: OffsetDateTime,
    to: OffsetDateTime,
    matcher: Matcher,
    seen: HashMap<(Kind, Source, String), Verdict>,
    emitted: [u64; 2],
    kept: [u64; 2],
    summary: Summary,
}

fn slot(kind: Kind) -> usize {
    match kind {
        Kind::Event => 0,
        Kind::Alert => 1,
    }
}

impl ResultSet {
    /// An empty result set for `action`, matching over [S − Q, S + Q].
    pub fn new(params: ResultParams, action: &Action) -> Self {
        ResultSet {
            params,
            from: action.start - params.query_time,
            to: action.start + params.query_time,
            matcher: Matcher::of(action),
            seen: HashMap::new(),
            emitted: [0; 2],
            kept: [0; 2],
            summary: Summary::default(),
        }
    }

    /// Picks up identifiers added to the action since the last call (cheap when
    /// nothing changed). Call it before offering a window's records.
    pub fn sync_identifiers(&mut self, action: &Action) {
        if action.generation() != self.matcher.generation {
            self.matcher = Matcher::of(action);
        }
    }

    /// The time range records must fall in: [S − Q, S + Q].
    pub fn time_range(&self) -> (OffsetDateTime, OffsetDateTime) {
        (self.from, self.to)
    }

    /// Whether the record correlates with the action, or why not.
    pub fn judge(&self, e: &NormalizedEvent) -> Result<(), SuspiciousReason> {
        if !self.matcher.names_action(e) {
            return Err(SuspiciousReason::NoActionIdentifier);
        }
        match e.timestamp {
            None => Err(SuspiciousReason::NoTimestamp),
            Some(t) if t < self.from || t > self.to => Err(SuspiciousReason::OutsideWindow),
            Some(_) => Ok(()),
        }
    }

    /// How many more matching records of `kind` can be emitted (for paging: stop
    /// fetching when it is 0).
    pub fn remaining(&self, kind: Kind) -> u64 {
        self.params.limit.saturating_sub(self.emitted[slot(kind)])
    }

    /// Records that a query's answer held more than was fetched (`hits.total` above
    /// what paging returned, or `size` reached), so the summary reports the cut.
    pub fn note_truncated_query(&mut self, kind: Kind) {
        self.summary.truncated_queries += 1;
        self.set_truncated(kind);
    }

    fn set_truncated(&mut self, kind: Kind) {
        match kind {
            Kind::Event => self.summary.events_truncated = true,
            Kind::Alert => self.summary.alerts_truncated = true,
        }
    }

    /// Judges one record. See the module doc.
    pub fn offer(&mut self, mut event: NormalizedEvent) -> Offer {
        let key = (event.kind, event.source, event.id.clone());
        let verdict = self.judge(&event);
        match self.seen.get(&key) {
            None => {}
            Some(Verdict::Dropped) if verdict.is_ok() => {
                // Dropped earlier, correlates now (the IP set grew): judge it afresh.
                self.summary.suspicious_dropped -= 1;
            }
            Some(_) => {
                self.summary.duplicates += 1;
                return Offer::Duplicate;
            }
        }
        let k = slot(event.kind);
        let (offer, state) = match verdict {
            Ok(()) if self.emitted[k] >= self.params.limit => {
                match event.kind {
                    Kind::Event => self.summary.events_over_limit += 1,
                    Kind::Alert => self.summary.alerts_over_limit += 1,
                }
                self.set_truncated(event.kind);
                (Offer::OverLimit, Verdict::OverLimit)
            }
            Ok(()) => {
                self.emitted[k] += 1;
                match event.kind {
                    Kind::Event => self.summary.events += 1,
                    Kind::Alert => self.summary.alerts += 1,
                }
                (Offer::Emitted(event), Verdict::Emitted)
            }
            Err(reason) if !self.params.save_suspicious_events => {
                self.summary.suspicious_dropped += 1;
                (Offer::DroppedSuspicious(reason), Verdict::Dropped)
            }
            Err(_) if self.kept[k] >= self.params.limit => {
                self.summary.suspicious_over_limit += 1;
                (Offer::OverLimit, Verdict::OverLimit)
            }
            Err(reason) => {
                self.kept[k] += 1;
                self.summary.suspicious_kept += 1;
                event.suspicious_reason = Some(reason);
                (Offer::Suspicious(event), Verdict::Kept)
            }
        };
        self.seen.insert(key, state);
        offer
    }

    /// The counters so far.
    pub fn summary(&self) -> Summary {
        self.summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::IpRole;
    use crate::fieldmap::FieldMap;
    use crate::normalize::Normalizer;
    use crate::window::windows;
    use serde_json::{json, Value};
    use time::macros::datetime;

    const S: OffsetDateTime = datetime!(2024-05-01 12:00:00 UTC);

    fn params(limit: u64, save: bool) -> ResultParams {
        ResultParams {
            limit,
            save_suspicious_events: save,
            query_time: Duration::minutes(5),
        }
    }

    fn action() -> Action {
        Action::new("a1", S, ["10.0.0.1"], ["10.0.0.2"], ["Victim-1"]).unwrap()
    }

    fn hit(id: &str, epoch: i64, src: &str, dst: &str) -> Value {
        json!({"_id": id, "_source": {"@fields": {"epochdate": epoch, "source_ip": src, "dest_ip": dst}, "@type": "conn"}})
    }

    fn event(id: &str, at: OffsetDateTime, src: &str, dst: &str) -> NormalizedEvent {
        Normalizer::new(FieldMap::default(), Duration::ZERO, true).normalize(
            hit(id, at.unix_timestamp(), src, dst),
            Source::AdvancedSearch,
            Kind::Event,
            Some("IP Query"),
        )
    }

    fn alert(pbid: u64, at: OffsetDateTime, ip: &str) -> NormalizedEvent {
        Normalizer::new(FieldMap::default(), Duration::ZERO, true).normalize(
            json!({"pbid": pbid, "time": at.unix_timestamp() * 1000, "device": {"ip": ip}, "model": {"then": {"name": "M"}}}),
            Source::ModelBreaches,
            Kind::Alert,
            None,
        )
    }

    #[test]
    fn d10_dedup_across_eleven_windows() {
        // Statement 8: an event at 12:01:00 lies in windows k = 2..=10 and is emitted once.
        let a = action();
        let mut rs = ResultSet::new(params(10_000, false), &a);
        let t = S + Duration::minutes(1);
        let mut emitted = 0;
        for w in windows(
            S,
            Duration::minutes(5),
            Duration::seconds(30),
            Duration::ZERO,
        ) {
            if w.contains(t) {
                match rs.offer(event("AX-1", t, "10.0.0.1", "8.8.8.8")) {
                    Offer::Emitted(e) => {
                        emitted += 1;
                        assert_eq!(e.id, "AX-1");
                    }
                    Offer::Duplicate => {}
                    other => panic!("{other:?}"),
                }
            }
        }
        assert_eq!(emitted, 1);
        let s = rs.summary();
        assert_eq!((s.events, s.duplicates), (1, 8));
    }

    #[test]
    fn d10_same_record_from_two_queries_keeps_the_first_query_name() {
        let a = action();
        let mut rs = ResultSet::new(params(10, false), &a);
        let mut first = event("X", S, "10.0.0.1", "1.1.1.1");
        first.query = Some("IP Query".into());
        let mut second = first.clone();
        second.query = Some("Hostname Query".into());
        assert!(
            matches!(rs.offer(first), Offer::Emitted(e) if e.query.as_deref() == Some("IP Query"))
        );
        assert_eq!(rs.offer(second), Offer::Duplicate);
    }

    #[test]
    fn d10_limit_events_and_alerts_separately() {
        let a = action();
        let mut rs = ResultSet::new(params(3, false), &a);
        let mut events = 0;
        let mut alerts = 0;
        for i in 0..5u64 {
            if let Offer::Emitted(_) = rs.offer(event(&format!("e{i}"), S, "10.0.0.1", "9.9.9.9")) {
                events += 1;
            }
            if let Offer::Emitted(_) = rs.offer(alert(i, S, "10.0.0.2")) {
                alerts += 1;
            }
        }
        assert_eq!((events, alerts), (3, 3));
        assert_eq!(rs.remaining(Kind::Event), 0);
        assert_eq!(
            rs.offer(event("e9", S, "10.0.0.1", "9.9.9.9")),
            Offer::OverLimit
        );
        let s = rs.summary();
        assert_eq!((s.events, s.alerts), (3, 3));
        assert_eq!((s.events_over_limit, s.alerts_over_limit), (3, 2));
        assert!(s.events_truncated && s.alerts_truncated);
        // A record cut once is a duplicate the second time: counters count unique records.
        assert_eq!(
            rs.offer(event("e9", S, "10.0.0.1", "9.9.9.9")),
            Offer::Duplicate
        );
        assert_eq!(rs.summary().events_over_limit, 3);
    }

    #[test]
    fn d10_limit_not_reached_reports_no_truncation() {
        let a = action();
        let mut rs = ResultSet::new(params(3, false), &a);
        for i in 0..3 {
            assert!(matches!(
                rs.offer(event(&format!("e{i}"), S, "10.0.0.1", "x")),
                Offer::Emitted(_)
            ));
        }
        let s = rs.summary();
        assert!(!s.events_truncated && !s.alerts_truncated);
        rs.note_truncated_query(Kind::Alert);
        let s = rs.summary();
        assert!(s.alerts_truncated && !s.events_truncated);
        assert_eq!(s.truncated_queries, 1);
    }

    #[test]
    fn d10_matching_by_ip_host_and_adjusted_time() {
        let a = action();
        let rs = ResultSet::new(params(10, false), &a);
        // Source IP, destination IP, or host (case-insensitive).
        assert_eq!(rs.judge(&event("1", S, "10.0.0.1", "8.8.8.8")), Ok(()));
        assert_eq!(rs.judge(&event("2", S, "8.8.8.8", "10.0.0.2")), Ok(()));
        let mut by_host = event("3", S, "8.8.8.8", "8.8.4.4");
        by_host.host = Some("VICTIM-1".into());
        assert_eq!(rs.judge(&by_host), Ok(()));
        assert_eq!(
            rs.judge(&event("4", S, "8.8.8.8", "8.8.4.4")),
            Err(SuspiciousReason::NoActionIdentifier)
        );
        // Time window [S − Q, S + Q], inclusive.
        assert_eq!(
            rs.judge(&event("5", S - Duration::minutes(5), "10.0.0.1", "x")),
            Ok(())
        );
        assert_eq!(
            rs.judge(&event("6", S + Duration::minutes(5), "10.0.0.1", "x")),
            Ok(())
        );
        assert_eq!(
            rs.judge(&event(
                "7",
                S + Duration::minutes(5) + Duration::seconds(1),
                "10.0.0.1",
                "x"
            )),
            Err(SuspiciousReason::OutsideWindow)
        );
        let mut no_time = event("8", S, "10.0.0.1", "x");
        no_time.timestamp = None;
        assert_eq!(rs.judge(&no_time), Err(SuspiciousReason::NoTimestamp));
        // Addresses compare as addresses.
        let v6 = Action::new("v6", S, ["fe80::1"], [""; 0], [""; 0]).unwrap();
        let rs6 = ResultSet::new(params(10, false), &v6);
        assert_eq!(rs6.judge(&event("9", S, "FE80:0:0::1", "x")), Ok(()));
    }

    #[test]
    fn d7_adjustment_decides_the_match() {
        // A record stamped 12:06:00 by Darktrace, whose clock runs 2 minutes fast:
        // E = −120 s brings it to 12:04:00, inside the window.
        let a = action();
        let rs = ResultSet::new(params(10, false), &a);
        let raw = hit(
            "late",
            (S + Duration::minutes(6)).unix_timestamp(),
            "10.0.0.1",
            "x",
        );
        let plain = Normalizer::new(FieldMap::default(), Duration::ZERO, true);
        let adjusted = Normalizer::new(FieldMap::default(), Duration::seconds(-120), true);
        assert_eq!(
            rs.judge(&plain.normalize(raw.clone(), Source::AdvancedSearch, Kind::Event, None)),
            Err(SuspiciousReason::OutsideWindow)
        );
        assert_eq!(
            rs.judge(&adjusted.normalize(raw, Source::AdvancedSearch, Kind::Event, None)),
            Ok(())
        );
    }

    #[test]
    fn d10_suspicious_dropped_by_default_kept_with_reason_when_saved() {
        let a = action();
        let mut off = ResultSet::new(params(10, false), &a);
        assert_eq!(
            off.offer(event("s1", S, "8.8.8.8", "8.8.4.4")),
            Offer::DroppedSuspicious(SuspiciousReason::NoActionIdentifier)
        );
        assert_eq!(off.summary().suspicious_dropped, 1);
        assert_eq!(
            off.offer(event("s1", S, "8.8.8.8", "8.8.4.4")),
            Offer::Duplicate
        );
        assert_eq!(off.summary().suspicious_dropped, 1);

        let mut on = ResultSet::new(params(10, true), &a);
        let late = event("s2", S + Duration::hours(1), "10.0.0.1", "x");
        match on.offer(late) {
            Offer::Suspicious(e) => {
                assert_eq!(e.suspicious_reason, Some(SuspiciousReason::OutsideWindow));
                let v = serde_json::to_value(&e).unwrap();
                assert_eq!(
                    v["suspicious_reason"],
                    "time outside the action window after adjustment"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(on.summary().suspicious_kept, 1);
        assert_eq!(on.summary().events, 0, "suspicious records are not events");
    }

    #[test]
    fn d10_suspicious_do_not_count_toward_the_limit_and_have_their_own_cap() {
        let a = action();
        let mut rs = ResultSet::new(params(2, true), &a);
        for i in 0..3 {
            rs.offer(event(&format!("s{i}"), S, "8.8.8.8", "8.8.4.4"));
        }
        let s = rs.summary();
        assert_eq!((s.suspicious_kept, s.suspicious_over_limit), (2, 1));
        assert!(!s.events_truncated);
        assert!(matches!(
            rs.offer(event("m0", S, "10.0.0.1", "x")),
            Offer::Emitted(_)
        ));
        assert!(matches!(
            rs.offer(event("m1", S, "10.0.0.1", "x")),
            Offer::Emitted(_)
        ));
        assert_eq!(rs.offer(event("m2", S, "10.0.0.1", "x")), Offer::OverLimit);
    }

    #[test]
    fn statement_18_grown_ip_set_rescues_a_dropped_record_once() {
        let mut a = action();
        let mut rs = ResultSet::new(params(10, false), &a);
        let nat = || {
            event(
                "nat-1",
                S + Duration::seconds(40),
                "203.0.113.7",
                "198.51.100.9",
            )
        };
        assert_eq!(
            rs.offer(nat()),
            Offer::DroppedSuspicious(SuspiciousReason::NoActionIdentifier)
        );
        a.add_ips(IpRole::Source, ["203.0.113.7"]).unwrap();
        rs.sync_identifiers(&a);
        assert!(matches!(rs.offer(nat()), Offer::Emitted(_)));
        assert_eq!(rs.offer(nat()), Offer::Duplicate);
        let s = rs.summary();
        assert_eq!((s.events, s.suspicious_dropped, s.duplicates), (1, 0, 1));
    }

    #[test]
    fn d10_identity_is_per_kind_and_source() {
        let a = action();
        let mut rs = ResultSet::new(params(10, false), &a);
        // A breach with pbid 6 and an advanced-search hit whose _id is "6" are different records.
        assert!(matches!(
            rs.offer(alert(6, S, "10.0.0.1")),
            Offer::Emitted(_)
        ));
        assert!(matches!(
            rs.offer(event("6", S, "10.0.0.1", "x")),
            Offer::Emitted(_)
        ));
        let s = rs.summary();
        assert_eq!((s.events, s.alerts), (1, 1));
    }

    #[test]
    fn d10_summary_serializes_for_the_run_report() {
        let v = serde_json::to_value(Summary::default()).unwrap();
        assert_eq!(v["events"], 0);
        assert_eq!(v["events_truncated"], false);
        let rs = ResultSet::new(params(1, false), &action());
        assert_eq!(
            rs.time_range(),
            (S - Duration::minutes(5), S + Duration::minutes(5))
        );
        assert_eq!(ResultParams::from_config(&Config::default()).limit, 10_000);
    }
}
