//! A bounded in-memory journal of the requests the mock saw (DECISIONS D4).
//!
//! Each entry says what came in, what the mock answered and why. Headers that can
//! carry credentials other than the DTAPI triplet (`Authorization`, cookies) are
//! dropped, and the private token is never known to a request, so no entry can hold
//! a secret. The journal keeps the newest `capacity` entries; older ones fall off,
//! so memory stays bounded however long the mock runs.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

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

/// One request.
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

/// The journal itself.
#[derive(Debug)]
pub struct Journal {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    entries: VecDeque<Entry>,
}

impl Journal {
    /// A journal that keeps at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Journal {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                next_id: 1,
                entries: VecDeque::new(),
            }),
        }
    }

    /// Records an entry, assigning its id; returns the id.
    pub fn record(&self, mut entry: Entry) -> u64 {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        entry.id = g.next_id;
        g.next_id += 1;
        if g.entries.len() == self.capacity {
            g.entries.pop_front();
        }
        let id = entry.id;
        g.entries.push_back(entry);
        id
    }

    /// Entries with an id above `since`, oldest first, at most `limit`.
    pub fn since(&self, since: u64, limit: usize) -> Vec<Entry> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.entries
            .iter()
            .filter(|e| e.id > since)
            .take(limit)
            .cloned()
            .collect()
    }

    /// Every entry held, oldest first.
    pub fn all(&self) -> Vec<Entry> {
        self.since(0, usize::MAX)
    }

    /// How many entries are held now.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entries
            .len()
    }

    /// Whether the journal is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every entry (ids keep increasing).
    pub fn clear(&self) {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entries
            .clear();
    }
}

/// Headers as recorded: credentials dropped, long values cut.
pub fn recordable_headers(headers: &axum::http::HeaderMap) -> Vec<Header> {
    headers
        .iter()
        .filter(|(k, _)| !DROPPED_HEADERS.contains(&k.as_str()))
        .map(|(k, v)| {
            let mut s = String::from_utf8_lossy(v.as_bytes()).into_owned();
            if s.len() > MAX_VALUE {
                let mut cut = MAX_VALUE;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                s.truncate(cut);
                s.push('…');
            }
            Header {
                name: k.as_str().to_string(),
                value: s,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            id: 0,
            time: String::new(),
            method: "GET".into(),
            target: "/status".into(),
            headers: vec![],
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
            j.record(entry());
        }
        let ids: Vec<u64> = j.all().iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![8, 9, 10]);
        assert_eq!(j.since(9, 10).len(), 1);
    }

    #[test]
    fn drops_credential_headers() {
        let mut h = axum::http::HeaderMap::new();
        h.insert("authorization", "Basic abc".parse().unwrap());
        h.insert("dtapi-token", "pub".parse().unwrap());
        let kept = recordable_headers(&h);
        assert_eq!(
            kept,
            vec![Header {
                name: "dtapi-token".into(),
                value: "pub".into()
            }]
        );
    }
}
