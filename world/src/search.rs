//! Advanced-search records, their indexes and the query planner.
//!
//! Records live in an append-only arena, so a record's id never changes. Two views
//! keep them findable without scanning the world:
//! - `order`: every id sorted by (time, id); a time window is a binary search away.
//! - `postings`: for each indexed field, lowercased exact value → ids sorted the same
//!   way, so a window is a binary search inside each posting list too.
//!
//! Inserting a record is a push plus a sorted insert into `order` and into at most
//! five posting lists (a memmove, no rebuild), which keeps injected records visible at
//! once.
//!
//! A record's `_source` is kept as its compact JSON text, not a `Value` tree, to keep a
//! million records within memory budget; the handful of indexed fields is kept typed
//! beside it. The record's time is authoritative: `@fields.epochdate`, `@timestamp`,
//! the first column of `@message`, `sort` and the `_index` date are always rendered from
//! it, which is what lets a world be shifted to a new anchor without rewriting texts.
//!
//! The planner walks the `dt_search::Query` tree: a Word/Phrase term on an indexed field
//! reads its posting list (unless the term reads as a number: dt-search also matches
//! numerically equal values, which exact text cannot answer); `Or` of plannable children
//! is a union, `And` the intersection of its plannable children; anything else (`Not`,
//! wildcards, ranges, bare terms, `All`, other fields) means "scan the window". Every
//! candidate is then confirmed with the matcher, so results are exactly what a linear
//! scan gives ([`SearchStore::search_linear_scan`], tested for equality).
//!
//! Results are sorted newest first by (time, id), as the appliance's Elasticsearch-backed
//! search sorts by time descending.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use dt_search::{Document, Query, TermValue};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::clock;
use crate::scan::scan_source;

/// The fields with an inverted index: the IP and host columns the default queries use,
/// and `@type`.
pub const INDEXED_FIELDS: [&str; 5] = [
    "@fields.src_ip",
    "@fields.dest_ip",
    "@fields.source_ip",
    "@fields.host",
    "@type",
];
const TYPE_FIELD: usize = 4;
const NONE: u32 = u32::MAX;

/// Length of an advanced-search `_id`.
pub const ID_LEN: usize = 20;

/// One advanced-search record.
#[derive(Debug, Clone)]
pub struct SearchRecord {
    pub(crate) time_us: i64,
    pub(crate) id: [u8; ID_LEN],
    pub(crate) probe: u8,
    /// Whether `source` already carries the rendered times (generated or injected
    /// records), so writing it out needs no re-rendering.
    pub(crate) text_current: bool,
    pub(crate) vals: [u32; 5],
    pub(crate) source: Box<str>,
}

impl SearchRecord {
    /// Epoch microseconds.
    pub fn time_us(&self) -> i64 {
        self.time_us
    }

    /// Epoch milliseconds (the hit's `sort` value).
    pub fn time_ms(&self) -> i64 {
        self.time_us.div_euclid(1_000)
    }

    /// The `_id`.
    pub fn id(&self) -> &str {
        std::str::from_utf8(&self.id).unwrap_or("")
    }
}

/// A record about to enter the store; the indexed values are borrowed because they
/// are interned at once.
pub(crate) struct RecordInput<'a> {
    pub time_us: i64,
    pub id: [u8; ID_LEN],
    pub probe: &'a str,
    pub text_current: bool,
    /// Values of [`INDEXED_FIELDS`], original case.
    pub vals: [Option<&'a str>; 5],
    pub source: Box<str>,
}

/// Where built records go: a [`StoreBuilder`] while generating, the live store when
/// injecting.
pub(crate) trait RecordSink {
    fn accept(&mut self, input: RecordInput<'_>);
}

/// An inclusive time window in epoch microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from_us: i64,
    pub to_us: i64,
}

impl Window {
    /// An inclusive window from epoch milliseconds (the `to` end covers its whole ms).
    pub fn from_ms(from_ms: i64, to_ms: i64) -> Self {
        Window {
            from_us: from_ms.saturating_mul(1_000),
            to_us: to_ms.saturating_mul(1_000).saturating_add(999),
        }
    }

    fn contains(&self, t: i64) -> bool {
        self.from_us <= t && t <= self.to_us
    }
}

/// Decides whether a record matches (normally `dt_search::matches`).
pub type Matcher<'m> = &'m dyn Fn(&Query, &dyn Document) -> bool;

/// Matching record ids, newest first, and how many records were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub ids: Vec<u32>,
    pub examined: usize,
}

/// FNV-1a: the world's maps are keyed by short trusted strings and small integers,
/// where SipHash's DoS resistance only costs load time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A `HashMap` with [`Fnv`] hashing.
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// A string's 64-bit hash for [`StrIndex`]: eight bytes at a time, a multiply and a
/// shift per word (the keys are short and trusted, and a million records hash five
/// each on load).
pub(crate) fn str_hash(s: &str) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mix = |h: u64, word: u64| {
        let h = (h ^ word).wrapping_mul(K);
        h ^ (h >> 32)
    };
    let mut chunks = s.as_bytes().chunks_exact(8);
    let mut h = (s.len() as u64).wrapping_mul(K);
    for c in &mut chunks {
        h = mix(h, u64::from_le_bytes(c.try_into().expect("chunks of 8")));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(word));
    }
    h
}

/// The hasher of maps keyed by a [`str_hash`]: the key is already a hash.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are expected; anything else still hashes correctly.
        let mut fnv = Fnv(self.0);
        fnv.write(bytes);
        self.0 = fnv.0;
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Ids of strings kept elsewhere (each string is stored once, by its owner): keyed by
/// the string's [`str_hash`] and confirmed against the stored string, which `stored`
/// returns for an id. A string whose hash another string already holds (a 64-bit
/// collision: not expected, but possible) is kept by name in `spill`.
#[derive(Debug, Clone, Default)]
pub(crate) struct StrIndex {
    by_hash: HashMap<u64, u32, BuildHasherDefault<PreHashed>>,
    spill: FastMap<Box<str>, u32>,
}

impl StrIndex {
    pub(crate) fn with_capacity(n: usize) -> Self {
        StrIndex {
            by_hash: HashMap::with_capacity_and_hasher(n, Default::default()),
            spill: FastMap::default(),
        }
    }

    /// The id of `s`, if indexed.
    pub(crate) fn get<'a>(&self, s: &str, stored: impl Fn(u32) -> &'a str) -> Option<u32> {
        match self.by_hash.get(&str_hash(s)) {
            Some(&id) if stored(id) == s => Some(id),
            Some(_) => self.spill.get(s).copied(),
            None => None,
        }
    }

    /// Records that `s` has id `id`; `false` (and no change) if `s` is already indexed.
    pub(crate) fn insert<'a>(&mut self, s: &str, id: u32, stored: impl Fn(u32) -> &'a str) -> bool {
        match self.by_hash.entry(str_hash(s)) {
            Entry::Vacant(e) => {
                e.insert(id);
                true
            }
            Entry::Occupied(e) if stored(*e.get()) == s => false,
            Entry::Occupied(_) => match self.spill.entry(s.into()) {
                Entry::Vacant(e) => {
                    e.insert(id);
                    true
                }
                Entry::Occupied(_) => false,
            },
        }
    }
}

/// Distinct indexed values. Each string also knows the id of its lowercase form, which
/// keys the posting lists, so building and querying never allocate per record. The
/// strings sit back to back in one buffer, so a lookup (five per record on load)
/// compares against compact memory rather than a scattered allocation per string.
#[derive(Debug, Default, Clone)]
struct Interner {
    text: String,
    /// Where each string ends in `text`; it starts where the previous one ends.
    ends: Vec<u32>,
    lowered: Vec<u32>,
    index: StrIndex,
}

/// String `i` of an [`Interner`]'s `text` and `ends`.
fn interned<'a>(text: &'a str, ends: &[u32], i: u32) -> &'a str {
    let i = i as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    &text[start..ends[i] as usize]
}

impl Interner {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn find(&self, s: &str) -> Option<u32> {
        self.index.get(s, |i| interned(&self.text, &self.ends, i))
    }

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(i) = self.find(s) {
            return i;
        }
        let i = self.push(s);
        let lower = s.to_lowercase();
        if lower != s {
            let l = match self.find(&lower) {
                Some(l) => l,
                None => self.push(&lower),
            };
            self.lowered[i as usize] = l;
        }
        i
    }

    fn push(&mut self, s: &str) -> u32 {
        let i = self.ends.len() as u32;
        self.text.push_str(s);
        self.ends.push(self.text.len() as u32);
        self.lowered.push(i);
        let (text, ends) = (&self.text, &self.ends);
        self.index.insert(s, i, |j| interned(text, ends, j));
        i
    }

    fn get(&self, i: u32) -> &str {
        interned(&self.text, &self.ends, i)
    }

    /// The posting key of a query term (the id of its lowercase form), if any record has it.
    fn key_of(&self, term: &str) -> Option<u32> {
        self.find(&term.to_lowercase())
            .map(|i| self.lowered[i as usize])
    }
}

/// The advanced-search data: records and indexes.
#[derive(Debug, Clone)]
pub struct SearchStore {
    records: Vec<SearchRecord>,
    order: Vec<u32>,
    postings: Vec<FastMap<u32, Vec<u32>>>,
    terms: Interner,
    probes: Vec<Box<str>>,
    pub(crate) hits: HitCache,
}

impl Default for SearchStore {
    fn default() -> Self {
        SearchStore {
            records: Vec::new(),
            order: Vec::new(),
            postings: vec![FastMap::default(); INDEXED_FIELDS.len()],
            terms: Interner::default(),
            probes: Vec::new(),
            hits: HitCache::default(),
        }
    }
}

/// Advanced-search hits as written (2-space JSON at the depth of `hits.hits[i]`), by
/// arena id, kept up to [`HitCache::BUDGET`] bytes.
///
/// A hit's text depends only on its record (source, time, probe), and clients poll
/// overlapping windows, so most hits are written many times; a cached hit is a copy.
/// Whatever changes a record's text (`shift`) empties it; a clone starts empty.
#[derive(Debug)]
pub(crate) struct HitCache {
    map: std::sync::RwLock<FastMap<u32, Box<[u8]>>>,
    bytes: std::sync::atomic::AtomicUsize,
    budget: usize,
}

impl Default for HitCache {
    fn default() -> Self {
        HitCache::with_budget(Self::BUDGET)
    }
}

impl Clone for HitCache {
    fn clone(&self) -> Self {
        HitCache::with_budget(self.budget)
    }
}

impl HitCache {
    /// Most bytes of hit text kept (then hits are written afresh each time).
    pub(crate) const BUDGET: usize = 32 << 20;

    fn with_budget(budget: usize) -> Self {
        HitCache {
            map: Default::default(),
            bytes: Default::default(),
            budget,
        }
    }

    /// Appends hit `id`: a copy of the cached text, or what `write` appends (cached
    /// while the budget allows).
    pub(crate) fn write(&self, out: &mut Vec<u8>, id: u32, write: impl FnOnce(&mut Vec<u8>)) {
        use std::sync::atomic::Ordering;
        {
            let map = self.map.read().unwrap_or_else(|p| p.into_inner());
            if let Some(text) = map.get(&id) {
                out.extend_from_slice(text);
                return;
            }
        }
        let start = out.len();
        write(out);
        let len = out.len() - start;
        if self.bytes.load(Ordering::Relaxed) + len <= self.budget {
            let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
            if map.insert(id, out[start..].into()).is_none() {
                self.bytes.fetch_add(len, Ordering::Relaxed);
            }
        }
    }

    /// Forgets every hit.
    fn clear(&mut self) {
        self.map
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        *self.bytes.get_mut() = 0;
    }

    /// Hits held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Collects records (interning their indexed values at once, so no per-record strings
/// linger) and builds the indexes at the end.
#[derive(Debug, Default)]
pub(crate) struct StoreBuilder {
    store: SearchStore,
    records: Vec<SearchRecord>,
}

impl StoreBuilder {
    pub fn with_capacity(n: usize) -> Self {
        StoreBuilder {
            store: SearchStore::default(),
            records: Vec::with_capacity(n),
        }
    }

    pub fn push(&mut self, input: RecordInput<'_>) {
        let rec = self.store.prepare(
            input.time_us,
            input.id,
            input.probe,
            input.text_current,
            input.vals,
            input.source,
        );
        self.records.push(rec);
    }

    pub fn push_parts(
        &mut self,
        time_us: i64,
        id: [u8; ID_LEN],
        probe: &str,
        vals: [Option<&str>; 5],
        source: Box<str>,
    ) {
        let rec = self.store.prepare(time_us, id, probe, false, vals, source);
        self.records.push(rec);
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Appends another builder's records (from a parallel loader), re-interning them.
    pub fn merge(&mut self, other: StoreBuilder) {
        let theirs = &other.store.terms;
        let terms: Vec<u32> = (0..theirs.len() as u32)
            .map(|i| self.store.terms.intern(theirs.get(i)))
            .collect();
        let probes: Vec<u8> = other
            .store
            .probes
            .iter()
            .map(|p| self.store.probe_id(p))
            .collect();
        self.records.reserve(other.records.len());
        for mut r in other.records {
            for v in r.vals.iter_mut().filter(|v| **v != NONE) {
                *v = terms[*v as usize];
            }
            r.probe = probes[usize::from(r.probe)];
            self.records.push(r);
        }
    }

    /// Sorts by (time, `_id`) so that ids follow time order, and builds the indexes.
    pub fn finish(self) -> SearchStore {
        let StoreBuilder {
            mut store,
            mut records,
        } = self;
        if !records
            .windows(2)
            .all(|w| (w[0].time_us, w[0].id) <= (w[1].time_us, w[1].id))
        {
            records.sort_unstable_by_key(|a| (a.time_us, a.id));
        }
        records.shrink_to_fit();
        store.order = (0..records.len() as u32).collect();
        for (i, rec) in records.iter().enumerate() {
            for (f, &v) in rec.vals.iter().enumerate() {
                if v != NONE {
                    let key = store.terms.lowered[v as usize];
                    store.postings[f].entry(key).or_default().push(i as u32);
                }
            }
        }
        for p in &mut store.postings {
            p.values_mut().for_each(Vec::shrink_to_fit);
        }
        store.records = records;
        store
    }
}

impl RecordSink for StoreBuilder {
    fn accept(&mut self, input: RecordInput<'_>) {
        self.push(input);
    }
}

impl RecordSink for SearchStore {
    fn accept(&mut self, input: RecordInput<'_>) {
        self.insert(input);
    }
}

impl SearchStore {
    fn probe_id(&mut self, probe: &str) -> u8 {
        let i = match self.probes.iter().position(|p| **p == *probe) {
            Some(p) => p,
            None => {
                self.probes.push(probe.into());
                self.probes.len() - 1
            }
        };
        // Worlds have a handful of probes; a 257th would share the last name.
        i.min(usize::from(u8::MAX)) as u8
    }

    fn prepare(
        &mut self,
        time_us: i64,
        id: [u8; ID_LEN],
        probe: &str,
        text_current: bool,
        input_vals: [Option<&str>; 5],
        source: Box<str>,
    ) -> SearchRecord {
        let probe = self.probe_id(probe);
        let mut vals = [NONE; 5];
        for (slot, v) in vals.iter_mut().zip(input_vals) {
            if let Some(v) = v {
                *slot = self.terms.intern(v);
            }
        }
        SearchRecord {
            time_us,
            id,
            probe,
            text_current,
            vals,
            source,
        }
    }

    /// Adds one record, keeping every index sorted; returns its arena id.
    pub(crate) fn insert(&mut self, input: RecordInput<'_>) -> u32 {
        let rec = self.prepare(
            input.time_us,
            input.id,
            input.probe,
            input.text_current,
            input.vals,
            input.source,
        );
        let id = self.records.len() as u32;
        let t = rec.time_us;
        let keys: Vec<(usize, u32)> = rec
            .vals
            .iter()
            .enumerate()
            .filter(|(_, &v)| v != NONE)
            .map(|(f, &v)| (f, self.terms.lowered[v as usize]))
            .collect();
        self.records.push(rec);
        // The new id is the largest, so it goes after every record at or before `t`.
        let records = &self.records;
        let pos = self
            .order
            .partition_point(|&j| records[j as usize].time_us <= t);
        self.order.insert(pos, id);
        for (f, key) in keys {
            let list = self.postings[f].entry(key).or_default();
            let pos = list.partition_point(|&j| records[j as usize].time_us <= t);
            list.insert(pos, id);
        }
        id
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// A record by arena id.
    pub fn record(&self, id: u32) -> &SearchRecord {
        &self.records[id as usize]
    }

    /// Arena ids in time order (oldest first).
    pub fn ids_by_time(&self) -> &[u32] {
        &self.order
    }

    /// The value of an indexed field (see [`INDEXED_FIELDS`]) of a record.
    pub fn indexed_value(&self, id: u32, field: usize) -> Option<&str> {
        let v = self.records[id as usize].vals[field];
        (v != NONE).then(|| self.terms.get(v))
    }

    /// `@type` of a record.
    pub fn record_type(&self, id: u32) -> &str {
        self.indexed_value(id, TYPE_FIELD).unwrap_or("")
    }

    /// Shifts every record by `delta_us`; order and postings are unaffected.
    pub(crate) fn shift(&mut self, delta_us: i64) {
        if delta_us == 0 {
            return;
        }
        self.hits.clear();
        for r in &mut self.records {
            r.time_us += delta_us;
            r.text_current = false;
        }
    }

    #[cfg(test)]
    fn posting(&self, f: usize, term: &str) -> &[u32] {
        self.terms
            .key_of(term)
            .and_then(|k| self.postings[f].get(&k))
            .map_or(&[], Vec::as_slice)
    }

    fn window_range(&self, list: &[u32], w: Window) -> (usize, usize) {
        let lo = list.partition_point(|&i| self.records[i as usize].time_us < w.from_us);
        let hi = list.partition_point(|&i| self.records[i as usize].time_us <= w.to_us);
        (lo, hi.max(lo))
    }

    /// Candidate ids (ascending by id) for the part of the query the indexes can answer,
    /// restricted to the window; `None` means "scan the window".
    fn plan(&self, q: &Query, w: Window) -> Option<Vec<u32>> {
        match q {
            Query::Term {
                field: Some(field),
                value: TermValue::Word(v) | TermValue::Phrase(v),
            } => {
                let f = INDEXED_FIELDS.iter().position(|x| x == field)?;
                // dt-search also matches numerically equal numbers ("443" = "443.0"),
                // which an exact-text index cannot answer: scan for numeric terms.
                if v.trim().parse::<f64>().is_ok() {
                    return None;
                }
                let Some(list) = self.terms.key_of(v).and_then(|k| self.postings[f].get(&k)) else {
                    return Some(Vec::new());
                };
                let (lo, hi) = self.window_range(list, w);
                let mut ids = list[lo..hi].to_vec();
                ids.sort_unstable();
                Some(ids)
            }
            Query::Or(children) => {
                let mut acc = Vec::new();
                for c in children {
                    acc.extend(self.plan(c, w)?);
                }
                acc.sort_unstable();
                acc.dedup();
                Some(acc)
            }
            Query::And(children) => {
                // Unplannable children are left to the exact check afterwards.
                let mut best: Option<Vec<u32>> = None;
                for c in children {
                    if let Some(ids) = self.plan(c, w) {
                        best = Some(match best {
                            None => ids,
                            Some(prev) => intersect(&prev, &ids),
                        });
                    }
                }
                best
            }
            _ => None,
        }
    }

    /// Evaluates a query over a window with the indexes; every candidate is confirmed
    /// with `matcher`.
    pub fn search(&self, q: &Query, w: Window, matcher: Matcher<'_>) -> Found {
        let mut examined = 0;
        let mut ids = match self.plan(q, w) {
            Some(candidates) => {
                let mut ids: Vec<u32> = candidates
                    .into_iter()
                    .filter(|&id| {
                        examined += 1;
                        self.check(q, id, matcher)
                    })
                    .collect();
                ids.sort_unstable_by_key(|&i| (self.records[i as usize].time_us, i));
                ids
            }
            None => {
                let (lo, hi) = self.window_range(&self.order, w);
                self.order[lo..hi]
                    .iter()
                    .copied()
                    .filter(|&id| {
                        examined += 1;
                        self.check(q, id, matcher)
                    })
                    .collect()
            }
        };
        ids.reverse();
        Found { ids, examined }
    }

    /// The same query evaluated by checking every record: the benchmark baseline and the
    /// oracle the indexed path is tested against.
    pub fn search_linear_scan(&self, q: &Query, w: Window, matcher: Matcher<'_>) -> Found {
        let mut ids: Vec<u32> = (0..self.records.len() as u32)
            .filter(|&id| {
                w.contains(self.records[id as usize].time_us) && self.check(q, id, matcher)
            })
            .collect();
        ids.sort_unstable_by_key(|&i| std::cmp::Reverse((self.records[i as usize].time_us, i)));
        Found {
            ids,
            examined: self.records.len(),
        }
    }

    fn check(&self, q: &Query, id: u32, matcher: Matcher<'_>) -> bool {
        // `All` needs no document; skipping it keeps match-everything queries cheap.
        matches!(q, Query::All) || matcher(q, &self.doc(id))
    }

    /// A [`Document`] view of a record for the query evaluator.
    pub fn doc(&self, id: u32) -> RecordDoc<'_> {
        RecordDoc {
            store: self,
            rec: &self.records[id as usize],
            parsed: OnceCell::new(),
        }
    }

    /// The probe named in a record's `_index`.
    pub fn probe_name(&self, id: u32) -> &str {
        let rec = &self.records[id as usize];
        self.probes
            .get(usize::from(rec.probe))
            .map_or("dt-01", |p| p)
    }

    /// The `_index` of a record: `logstash-<probe>-YYYY.MM.DD`.
    pub fn index_name(&self, id: u32) -> String {
        let date = clock::index_date(self.records[id as usize].time_ms());
        format!("logstash-{}-{date}", self.probe_name(id))
    }

    /// The record's `_source`, with its times rendered from the record's time.
    pub fn source_value(&self, id: u32) -> Value {
        let rec = &self.records[id as usize];
        let mut v: Value = serde_json::from_str(&rec.source).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut v {
            patch_times(map, rec.time_us);
        }
        v
    }

    /// The record as an advanced-search hit.
    pub fn hit(&self, id: u32) -> Value {
        let rec = &self.records[id as usize];
        let mut m = Map::new();
        m.insert("_index".into(), Value::String(self.index_name(id)));
        m.insert("_type".into(), Value::String("doc".into()));
        m.insert("_id".into(), Value::String(rec.id().into()));
        m.insert("_score".into(), Value::Null);
        m.insert("_source".into(), self.source_value(id));
        m.insert(
            "sort".into(),
            Value::Array(vec![Value::from(rec.time_ms())]),
        );
        Value::Object(m)
    }

    /// Appends the record's hit as one compact JSON line (without the newline).
    pub(crate) fn write_hit_line(&self, id: u32, out: &mut Vec<u8>) {
        let rec = &self.records[id as usize];
        if rec.text_current {
            // Same bytes as serializing `hit(id)`, without re-parsing the source.
            out.extend_from_slice(b"{\"_index\":");
            push_json_str(out, &self.index_name(id));
            out.extend_from_slice(b",\"_type\":\"doc\",\"_id\":");
            push_json_str(out, rec.id());
            out.extend_from_slice(b",\"_score\":null,\"_source\":");
            out.extend_from_slice(rec.source.as_bytes());
            out.extend_from_slice(b",\"sort\":[");
            out.extend_from_slice(rec.time_ms().to_string().as_bytes());
            out.extend_from_slice(b"]}");
        } else {
            serde_json::to_writer(&mut *out, &self.hit(id)).expect("writing to a Vec cannot fail");
        }
    }
}

fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Writes a JSON string literal with serde_json's escaping.
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

/// Renders the time-dependent parts of a `_source` from the record's time.
pub(crate) fn patch_times(src: &mut Map<String, Value>, time_us: i64) {
    let ms = time_us.div_euclid(1_000);
    if let Some(Value::Object(fields)) = src.get_mut("@fields") {
        if let Some(slot) = fields.get_mut("epochdate") {
            *slot = epoch_value(time_us);
        }
    }
    if let Some(slot) = src.get_mut("@timestamp") {
        *slot = Value::String(clock::iso_secs(ms));
    }
    if let Some(Value::String(msg)) = src.get_mut("@message") {
        let first = msg.split('\t').next().unwrap_or("");
        if first.parse::<f64>().is_ok() {
            let rest = msg[first.len()..].to_string();
            *msg = clock::epoch_message_column(time_us) + &rest;
        }
    }
}

/// `@fields.epochdate` as a JSON number.
pub(crate) fn epoch_value(time_us: i64) -> Value {
    serde_json::Number::from_f64(clock::epoch_seconds(time_us)).map_or(Value::Null, Value::Number)
}

/// A record seen through the query evaluator's [`Document`] trait. Indexed fields and
/// times are answered from typed data; anything else parses the source once, lazily.
pub struct RecordDoc<'a> {
    store: &'a SearchStore,
    rec: &'a SearchRecord,
    parsed: OnceCell<Value>,
}

impl RecordDoc<'_> {
    fn source(&self) -> &Value {
        self.parsed.get_or_init(|| {
            let mut v: Value = serde_json::from_str(&self.rec.source).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut v {
                patch_times(map, self.rec.time_us);
            }
            v
        })
    }
}

impl Document for RecordDoc<'_> {
    fn for_each_value(&self, field: &str, f: &mut dyn FnMut(&str)) {
        if let Some(i) = INDEXED_FIELDS.iter().position(|x| *x == field) {
            let v = self.rec.vals[i];
            if v != NONE {
                f(self.store.terms.get(v));
            }
            return;
        }
        match field {
            "@fields.epochdate" => f(&epoch_value(self.rec.time_us).to_string()),
            "@timestamp" => f(&clock::iso_secs(self.rec.time_ms())),
            _ => walk(self.source(), field, f),
        }
    }

    fn message(&self) -> &str {
        self.source()
            .get("@message")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// Calls `f` with each value at a dotted path; keys that themselves contain dots are
/// matched too, and arrays yield each element.
fn walk(v: &Value, path: &str, f: &mut dyn FnMut(&str)) {
    match v {
        Value::Array(items) => items.iter().for_each(|item| walk(item, path, f)),
        Value::Object(map) => {
            if let Some(child) = map.get(path) {
                emit(child, f);
            }
            for (pos, _) in path.match_indices('.') {
                if let Some(child) = map.get(&path[..pos]) {
                    walk(child, &path[pos + 1..], f);
                }
            }
        }
        _ => {}
    }
}

fn emit(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Number(n) => f(&n.to_string()),
        Value::Bool(b) => f(if *b { "true" } else { "false" }),
        Value::Array(items) => items.iter().for_each(|item| emit(item, f)),
        Value::Null | Value::Object(_) => {}
    }
}

/// A string that borrows from the input when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The fields read from a `_source` text when a record enters the store.
#[derive(Deserialize)]
struct SourceKeys<'a> {
    #[serde(rename = "@fields", borrow)]
    fields: FieldKeys<'a>,
    #[serde(rename = "@type", borrow)]
    ty: Text<'a>,
}

#[derive(Deserialize)]
struct FieldKeys<'a> {
    epochdate: f64,
    #[serde(default, borrow)]
    src_ip: Option<Text<'a>>,
    #[serde(default, borrow)]
    dest_ip: Option<Text<'a>>,
    #[serde(default, borrow)]
    source_ip: Option<Text<'a>>,
    #[serde(default, borrow)]
    host: Option<Text<'a>>,
}

/// Values of [`INDEXED_FIELDS`] read from a `_source`, borrowed where possible.
pub(crate) type IndexedValues<'a> = [Option<Cow<'a, str>>; 5];

/// Reads the time (epoch µs) and indexed values from a `_source` text. Indexed fields
/// must be strings when present, `@fields.epochdate` a number.
///
/// Stored sources take [`scan_source`]'s fast path (the number itself still goes
/// through serde_json, so the time is exactly what serde reads); anything it leaves
/// goes through serde, which reads it the same way or reports the error.
pub(crate) fn source_keys(text: &str) -> Result<(i64, IndexedValues<'_>), String> {
    let fast = scan_source(text).and_then(|s| {
        let epochdate = serde_json::from_str::<f64>(s.epochdate).ok()?;
        Some((epochdate, s.vals.map(|v| v.map(Cow::Borrowed))))
    });
    let (epochdate, vals) = match fast {
        Some(found) => found,
        None => source_keys_serde(text)?,
    };
    if !epochdate.is_finite() {
        return Err("@fields.epochdate is not a finite number".into());
    }
    Ok(((epochdate * 1e6).round() as i64, vals))
}

/// [`source_keys`] by serde alone: `@fields.epochdate` and the indexed values.
pub(crate) fn source_keys_serde(text: &str) -> Result<(f64, IndexedValues<'_>), String> {
    let k: SourceKeys<'_> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let f = k.fields;
    fn t(v: Option<Text<'_>>) -> Option<Cow<'_, str>> {
        v.map(|t| t.0)
    }
    Ok((
        f.epochdate,
        [
            t(f.src_ip),
            t(f.dest_ip),
            t(f.source_ip),
            t(f.host),
            Some(k.ty.0),
        ],
    ))
}

/// Parses `logstash-<probe>-YYYY.MM.DD` into the probe name.
pub(crate) fn probe_of_index(index: &str) -> Option<&str> {
    let rest = index.strip_prefix("logstash-")?;
    let (probe, date) = rest.split_at(rest.len().checked_sub(11)?);
    let ok = date.len() == 11
        && date.starts_with('-')
        && date[1..].bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'.'
            } else {
                b.is_ascii_digit()
            }
        });
    (ok && !probe.is_empty()).then_some(probe)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The real evaluator, as the endpoints use it.
    pub(crate) fn dt_matches(q: &Query, doc: &dyn Document) -> bool {
        dt_search::matches(q, doc)
    }

    pub(crate) fn term(field: &str, v: &str) -> Query {
        Query::Term {
            field: Some(field.into()),
            value: TermValue::Phrase(v.into()),
        }
    }

    fn add(sink: &mut dyn RecordSink, t_us: i64, n: u8, src: &str, dst: &str) {
        let source = format!(
            r#"{{"@fields":{{"epochdate":{},"src_ip":"{src}","dest_ip":"{dst}","n":{n}}},"@type":"firewall","@timestamp":"x","@message":"1.0\t{src}\t{dst}","@darktrace_probe":"1"}}"#,
            clock::epoch_seconds(t_us)
        );
        let (time_us, vals) = source_keys(&source).unwrap();
        assert_eq!(time_us, t_us);
        let mut id = [b'a'; ID_LEN];
        id[19] = b'a' + n;
        sink.accept(RecordInput {
            time_us,
            id,
            probe: "dt-01",
            text_current: false,
            vals: vals.each_ref().map(Option::as_deref),
            source: source.as_str().into(),
        });
    }

    fn small_store() -> SearchStore {
        let base = 1_700_000_000_000_000;
        let mut b = StoreBuilder::with_capacity(4);
        add(&mut b, base + 3_000_000, 3, "10.0.0.1", "10.0.0.2");
        add(&mut b, base + 1_000_000, 1, "10.0.0.1", "10.0.0.3");
        add(&mut b, base + 2_000_000, 2, "10.0.0.2", "10.0.0.3");
        add(&mut b, base + 4_000_000, 4, "10.0.0.4", "10.0.0.1");
        b.finish()
    }

    #[test]
    fn build_sorts_by_time_and_indexes_lowercased_terms() {
        let s = small_store();
        let times: Vec<i64> = s
            .ids_by_time()
            .iter()
            .map(|&i| s.record(i).time_us)
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(s.posting(0, "10.0.0.1").len(), 2);
        assert_eq!(s.posting(TYPE_FIELD, "FireWall").len(), 4);
    }

    #[test]
    fn planner_unions_ors_and_intersects_ands() {
        let s = small_store();
        let w = Window {
            from_us: 0,
            to_us: i64::MAX,
        };
        let q = Query::Or(vec![
            term("@fields.src_ip", "10.0.0.1"),
            term("@fields.dest_ip", "10.0.0.1"),
        ]);
        assert_eq!(s.plan(&q, w).unwrap().len(), 3);
        assert!(
            s.plan(&term("@fields.src_ip", "443"), w).is_none(),
            "numeric terms scan"
        );
        let q = Query::And(vec![
            term("@fields.src_ip", "10.0.0.1"),
            term("@fields.dest_ip", "10.0.0.3"),
            Query::Not(Box::new(Query::All)),
        ]);
        assert_eq!(s.plan(&q, w).unwrap().len(), 1);
        assert!(s.plan(&Query::Not(Box::new(q.clone())), w).is_none());
        let q = Query::Or(vec![
            term("@fields.src_ip", "10.0.0.1"),
            term("@fields.port", "1"),
        ]);
        assert!(
            s.plan(&q, w).is_none(),
            "an Or with an unindexed child scans"
        );
    }

    #[test]
    fn search_is_newest_first_and_windowed() {
        let s = small_store();
        let base = 1_700_000_000_000_000;
        let q = Query::Or(vec![
            term("@fields.src_ip", "10.0.0.1"),
            term("@fields.dest_ip", "10.0.0.1"),
        ]);
        let all = s.search(
            &q,
            Window {
                from_us: 0,
                to_us: i64::MAX,
            },
            &dt_matches,
        );
        let times: Vec<i64> = all
            .ids
            .iter()
            .map(|&i| s.record(i).time_us - base)
            .collect();
        assert_eq!(times, vec![4_000_000, 3_000_000, 1_000_000]);
        let w = Window {
            from_us: base + 2_000_000,
            to_us: base + 3_000_000,
        };
        assert_eq!(s.search(&q, w, &dt_matches).ids.len(), 1);
        assert_eq!(
            s.search(&q, w, &dt_matches).ids,
            s.search_linear_scan(&q, w, &dt_matches).ids
        );
    }

    #[test]
    fn insert_keeps_indexes_sorted() {
        let mut s = small_store();
        let base = 1_700_000_000_000_000;
        add(&mut s, base + 2_500_000, 9, "10.0.0.1", "10.0.0.9");
        let id = s.len() as u32 - 1;
        let pos = s.ids_by_time().iter().position(|&i| i == id).unwrap();
        assert_eq!(pos, 2);
        let list = s.posting(0, "10.0.0.1");
        assert!(list
            .windows(2)
            .all(|w| s.record(w[0]).time_us <= s.record(w[1]).time_us));
        let q = term("@fields.dest_ip", "10.0.0.9");
        assert_eq!(
            s.search(
                &q,
                Window {
                    from_us: 0,
                    to_us: i64::MAX
                },
                &dt_matches
            )
            .ids,
            vec![id]
        );
    }

    #[test]
    fn document_answers_typed_and_parsed_fields_alike() {
        let s = small_store();
        let doc = s.doc(0);
        let mut seen = Vec::new();
        for f in [
            "@fields.src_ip",
            "@fields.n",
            "@type",
            "@fields.epochdate",
            "@fields.missing",
        ] {
            doc.for_each_value(f, &mut |v| seen.push(v.to_string()));
        }
        assert_eq!(seen, vec!["10.0.0.1", "1", "firewall", "1700000001.0"]);
        assert_eq!(doc.message(), "1700000001.0000\t10.0.0.1\t10.0.0.3");
    }

    #[test]
    fn shifted_records_render_their_new_time() {
        let mut s = small_store();
        s.shift(-1_000_000);
        let src = s.source_value(0);
        assert_eq!(src["@fields"]["epochdate"].to_string(), "1700000000.0");
        assert_eq!(src["@timestamp"], "2023-11-14T22:13:20");
        assert!(src["@message"]
            .as_str()
            .unwrap()
            .starts_with("1700000000.0000\t"));
        assert_eq!(s.hit(0)["sort"][0], 1_700_000_000_000i64);
    }

    #[test]
    fn str_index_finds_duplicates_and_survives_hash_collisions() {
        let names = ["alpha", "beta", "gamma"];
        let stored = |i: u32| names[i as usize];
        let mut index = StrIndex::with_capacity(3);
        assert!(index.insert("alpha", 0, stored));
        assert!(!index.insert("alpha", 1, stored), "a duplicate");
        // Make "beta"'s hash look taken by "alpha", as a 64-bit collision would.
        index.by_hash.insert(str_hash("beta"), 0);
        assert_eq!(index.get("beta", stored), None);
        assert!(index.insert("beta", 1, stored));
        assert!(!index.insert("beta", 1, stored), "a duplicate in the spill");
        assert!(index.insert("gamma", 2, stored));
        for (i, name) in names.iter().enumerate() {
            assert_eq!(index.get(name, stored), Some(i as u32));
        }
        assert_eq!(index.get("delta", stored), None);
        assert_eq!(index.spill.len(), 1);
    }

    #[test]
    fn str_hash_tells_lengths_and_tails_apart() {
        let words = [
            "",
            "a",
            "a\0",
            "ab",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
            "10.0.0.1",
            "10.0.0.10",
        ];
        let hashes: std::collections::HashSet<u64> = words.iter().map(|w| str_hash(w)).collect();
        assert_eq!(hashes.len(), words.len());
    }

    #[test]
    fn interner_keeps_strings_and_their_lowercase_forms() {
        let mut t = Interner::default();
        let a = t.intern("Host-A");
        let b = t.intern("host-a");
        assert_eq!(t.intern("Host-A"), a);
        assert_eq!((t.get(a), t.get(b)), ("Host-A", "host-a"));
        assert_eq!(t.lowered[a as usize], b);
        assert_eq!(t.key_of("HOST-a"), Some(b));
        assert_eq!(t.key_of("host-b"), None);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn index_names_parse_back() {
        assert_eq!(probe_of_index("logstash-dt-01-2024.05.01"), Some("dt-01"));
        assert_eq!(
            probe_of_index("logstash-vmprobe-2022.03.15"),
            Some("vmprobe")
        );
        assert_eq!(probe_of_index("logstash--2022.03.15"), None);
        assert_eq!(probe_of_index("logstash-dt-01-2022-03-15"), None);
        assert_eq!(probe_of_index("other"), None);
    }

    #[test]
    fn the_hit_cache_keeps_hits_up_to_its_budget() {
        let cache = HitCache::with_budget(250);
        let hit = |n: u8| move |out: &mut Vec<u8>| out.extend_from_slice(&[n; 100]);
        for round in 0..2 {
            for id in 0..3u32 {
                let mut out = b"x".to_vec();
                cache.write(&mut out, id, hit(id as u8));
                assert_eq!(out.len(), 101, "round {round}, hit {id}");
                assert!(out[1..].iter().all(|&b| b == id as u8));
            }
        }
        // Two hits fit in 250 bytes; the third is written afresh every time.
        assert_eq!(cache.len(), 2);
        let mut written = false;
        cache.write(&mut Vec::new(), 2, |out| {
            written = true;
            out.push(0);
        });
        assert!(written);
        cache.write(&mut Vec::new(), 0, |_| panic!("a cached hit is copied"));
    }
}
