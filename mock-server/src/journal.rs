//! A bounded in-memory journal of the requests the mock saw (DECISIONS D4).
//!
//! Each entry says what came in, what the mock answered and why. Headers that can
//! carry credentials other than the DTAPI triplet (`Authorization`, cookies) are
//! dropped, and the private token is never known to a request, so no entry can hold
//! a secret. The journal keeps the newest `capacity` entries; older ones fall off,
//! so memory stays bounded however long the mock runs.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Mutex;

use axum::http::{HeaderMap, Method, Uri};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Headers never recorded.
const DROPPED_HEADERS: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];
/// Longest header value kept, in bytes.
const MAX_VALUE: usize = 512;

/// One recorded header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    /// The name, lowercase as HTTP/1.1 parsers deliver it.
    pub name: String,
    /// The value (cut at 512 bytes).
    pub value: String,
}

/// What the mock decided about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Signature and date were valid.
    Accepted,
    /// Refused by the auth rules.
    Rejected,
    /// Not an appliance route that needs auth (login page, admin API).
    Open,
    /// Answered by an injected fault before the appliance saw it.
    Faulted,
}

/// One request, as the journal API and [`Journal::since`] show it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// A sequence number, increasing from 1.
    pub id: u64,
    /// The mock's time when the request arrived (RFC 3339).
    pub time: String,
    /// The HTTP method.
    pub method: String,
    /// The raw request target.
    pub target: String,
    /// Request headers, minus credentials other than the DTAPI triplet.
    pub headers: Vec<Header>,
    /// Accepted, rejected, or open.
    pub verdict: Verdict,
    /// The HTTP status answered.
    pub status: u16,
    /// Why it was rejected, or which signed form matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Details for support: the strings tried, the times compared, the likely cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<serde_json::Value>,
}

/// What came in, packed for the journal: one allocation per request.
///
/// Every request is recorded and the oldest record is dropped as it is, so a record
/// made of a dozen small strings cost more than the HMAC (profiled in
/// BENCHMARKS.md). The time stays a time until someone reads the journal.
#[derive(Debug, Clone)]
pub struct Arrival {
    time: OffsetDateTime,
    method: Method,
    /// The target, then `\n<name>\t<value>` per recorded header. Neither a request
    /// target nor a header value can hold `\n`, nor a header name `\t`.
    text: Box<str>,
    target_len: usize,
}

impl Arrival {
    /// Packs a request's method, target and headers, arrived at `time`: credentials
    /// other than the DTAPI triplet are dropped, long values cut.
    pub fn new(time: OffsetDateTime, method: &Method, uri: &Uri, headers: &HeaderMap) -> Self {
        let target = uri
            .path_and_query()
            .map_or_else(|| uri.path(), |pq| pq.as_str());
        let mut text = String::with_capacity(target.len() + 160);
        text.push_str(target);
        for (name, value) in headers.iter().filter(|(k, _)| recorded(k.as_str())) {
            text.push('\n');
            text.push_str(name.as_str());
            text.push('\t');
            push_value(&mut text, value.as_bytes());
        }
        Arrival {
            time,
            method: method.clone(),
            text: text.into_boxed_str(),
            target_len: target.len(),
        }
    }

    /// The raw request target.
    pub fn target(&self) -> &str {
        &self.text[..self.target_len]
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The recorded headers, in arrival order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.text[self.target_len..]
            .split('\n')
            .skip(1)
            .map(|h| h.split_once('\t').unwrap_or((h, "")))
    }

    /// Replaces the value of every header named `name` (ASCII case-insensitive).
    pub fn redact(&mut self, name: &str, value: &str) {
        let mut text = self.target().to_string();
        for (n, v) in self.headers() {
            text.push('\n');
            text.push_str(n);
            text.push('\t');
            text.push_str(if n.eq_ignore_ascii_case(name) {
                value
            } else {
                v
            });
        }
        self.text = text.into_boxed_str();
    }
}

/// One journal record: the request and what the mock did with it.
#[derive(Debug, Clone)]
pub struct Record {
    /// The request.
    pub arrival: Arrival,
    /// Accepted, rejected, open or faulted.
    pub verdict: Verdict,
    /// The HTTP status answered.
    pub status: u16,
    /// Why: the rule that failed or the signed form that matched.
    pub reason: Option<Cow<'static, str>>,
    /// Details for support (rejections).
    pub diagnosis: Option<serde_json::Value>,
}

impl Record {
    fn entry(&self, id: u64) -> Entry {
        let a = &self.arrival;
        Entry {
            id,
            time: a.time.format(&Rfc3339).unwrap_or_default(),
            method: a.method.as_str().to_string(),
            target: a.target().to_string(),
            headers: a
                .headers()
                .map(|(name, value)| Header {
                    name: name.to_string(),
                    value: value.to_string(),
                })
                .collect(),
            verdict: self.verdict,
            status: self.status,
            reason: self.reason.as_deref().map(str::to_string),
            diagnosis: self.diagnosis.clone(),
        }
    }
}

/// The journal itself.
#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    records: VecDeque<(u64, Record)>,
}

impl Journal {
    /// A journal that keeps at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Journal {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                next_id: 1,
                records: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a request, assigning its id; returns the id.
    pub fn record(&self, record: Record) -> u64 {
        let evicted;
        let id;
        {
            let mut g = self.lock();
            id = g.next_id;
            g.next_id += 1;
            evicted = if g.records.len() == self.capacity {
                g.records.pop_front()
            } else {
                None
            };
            g.records.push_back((id, record));
        }
        // Freed outside the lock.
        drop(evicted);
        id
    }

    /// Entries with an id above `since`, oldest first, at most `limit`.
    pub fn since(&self, since: u64, limit: usize) -> Vec<Entry> {
        let g = self.lock();
        // Ids increase along the deque: skip the older ones without looking at them.
        let first = g.records.partition_point(|(id, _)| *id <= since);
        g.records
            .range(first..)
            .take(limit)
            .map(|(id, r)| r.entry(*id))
            .collect()
    }

    /// Every entry held, oldest first.
    pub fn all(&self) -> Vec<Entry> {
        self.since(0, usize::MAX)
    }

    /// How many entries are held now.
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether the journal is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every entry (ids keep increasing).
    pub fn clear(&self) {
        let old = std::mem::take(&mut self.lock().records);
        drop(old);
    }
}

fn recorded(name: &str) -> bool {
    !DROPPED_HEADERS.contains(&name)
}

/// Appends a header value as recorded: lossy UTF-8, cut at [`MAX_VALUE`] bytes.
fn push_value(out: &mut String, value: &[u8]) {
    let s = String::from_utf8_lossy(value);
    if s.len() > MAX_VALUE {
        let mut cut = MAX_VALUE;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&s[..cut]);
        out.push('…');
    } else {
        out.push_str(&s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(target: &str) -> Record {
        let mut h = HeaderMap::new();
        h.insert("host", "appliance".parse().unwrap());
        Record {
            arrival: Arrival::new(
                OffsetDateTime::UNIX_EPOCH,
                &Method::GET,
                &target.parse().unwrap(),
                &h,
            ),
            verdict: Verdict::Accepted,
            status: 200,
            reason: None,
            diagnosis: None,
        }
    }

    #[test]
    fn keeps_only_the_newest_entries() {
        let j = Journal::new(3);
        for _ in 0..10 {
            j.record(record("/status"));
        }
        let ids: Vec<u64> = j.all().iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![8, 9, 10]);
        assert_eq!(j.since(9, 10).len(), 1);
        assert_eq!(j.since(7, 1)[0].id, 8);
        assert!(j.since(10, 5).is_empty());
        j.clear();
        assert!(j.is_empty());
        j.record(record("/status"));
        assert_eq!(j.all()[0].id, 11);
    }

    #[test]
    fn an_entry_shows_what_the_arrival_packed() {
        let mut h = HeaderMap::new();
        h.insert("dtapi-token", "pub".parse().unwrap());
        h.insert("x-tabbed", "a\tb".parse().unwrap());
        h.append("x-twice", "1".parse().unwrap());
        h.append("x-twice", "2".parse().unwrap());
        h.insert("x-empty", "".parse().unwrap());
        h.insert("cookie", "session=1".parse().unwrap());
        let a = Arrival::new(
            OffsetDateTime::UNIX_EPOCH,
            &Method::POST,
            &"/details?did=1&x=%20".parse().unwrap(),
            &h,
        );
        let j = Journal::new(4);
        j.record(Record {
            arrival: a,
            verdict: Verdict::Rejected,
            status: 400,
            reason: Some("why".into()),
            diagnosis: None,
        });
        let e = j.all().pop().unwrap();
        assert_eq!(e.time, "1970-01-01T00:00:00Z");
        assert_eq!(e.method, "POST");
        assert_eq!(e.target, "/details?did=1&x=%20");
        let shown: Vec<(&str, &str)> = e
            .headers
            .iter()
            .map(|h| (h.name.as_str(), h.value.as_str()))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("dtapi-token", "pub"),
                ("x-tabbed", "a\tb"),
                ("x-twice", "1"),
                ("x-twice", "2"),
                ("x-empty", ""),
            ]
        );
        assert_eq!(e.reason.as_deref(), Some("why"));
    }

    #[test]
    fn redact_replaces_only_the_named_header() {
        let mut h = HeaderMap::new();
        h.insert("dtapi-token", "secret-ish".parse().unwrap());
        h.insert("host", "a".parse().unwrap());
        let mut a = Arrival::new(
            OffsetDateTime::UNIX_EPOCH,
            &Method::GET,
            &"/".parse().unwrap(),
            &h,
        );
        a.redact("DTAPI-Token", "[redacted]");
        let got: Vec<_> = a.headers().collect();
        assert_eq!(got, vec![("dtapi-token", "[redacted]"), ("host", "a")]);
        assert_eq!(a.target(), "/");
    }

    #[test]
    fn long_values_are_cut_on_a_char_boundary() {
        let mut out = String::new();
        let long = "é".repeat(400); // 800 bytes
        push_value(&mut out, long.as_bytes());
        assert!(out.ends_with('…'));
        assert!(out.len() <= MAX_VALUE + '…'.len_utf8());
    }

    #[test]
    fn drops_credential_headers() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Basic abc".parse().unwrap());
        h.insert("dtapi-token", "pub".parse().unwrap());
        h.insert("cookie", "session=1".parse().unwrap());
        let a = Arrival::new(
            OffsetDateTime::UNIX_EPOCH,
            &Method::GET,
            &"/".parse().unwrap(),
            &h,
        );
        let kept: Vec<_> = a.headers().collect();
        assert_eq!(kept, vec![("dtapi-token", "pub")]);
    }
}
