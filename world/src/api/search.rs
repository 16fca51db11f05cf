//! Advanced search: `GET /advancedsearch/api/search/<base64>` and
//! `POST /advancedsearch/api/search` with `{"hash": "<base64>"}`.
//!
//! - The GET segment is percent-decoded first (`%3D` and friends; `+` stays `+`), then
//!   base64-decoded accepting the standard or URL-safe alphabet, padded or not.
//!   Undecodable base64, non-JSON, or a query that does not parse → [`ApiError::BadSearch`].
//! - Query JSON: `search` (absent or blank = match everything), `fields` (ignored),
//!   `offset` and `size` (integers or numeric strings; `size` defaults to 50 and is
//!   clamped to 10000), `timeframe` (seconds before now, number or string; default 3600)
//!   or `"custom"` with `time.from`/`time.to` (ISO `YYYY-MM-DDTHH:MM:SS[.fff]Z`,
//!   `YYYY-MM-DD HH:MM:SS`, or the other DTAPI-Date forms), both ends inclusive. A
//!   missing, unparseable or reversed custom range answers 200
//!   `{"error": "Invalid to/from fields in custom range"}`. Negative or non-numeric
//!   `offset`/`size`/`timeframe` → [`ApiError::Input`].
//! - Hits are sorted newest first (by `sort`, then storage order); `hits.total` counts
//!   every match, the page is `offset..offset+size`.
//! - `took` is a deterministic cost figure (1 + records examined / 5000), not wall time.
//! - `kibana.index` lists `logstash-darktrace-YYYY.MM.DD` for each UTC day the window
//!   touches (the latest 31 at most); `_shards` is constant (2 of 2, as the reference hit).
//! - `responsedata` is not in this signature: apply [`super::apply_responsedata`] to the
//!   envelope when the request carries it.

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use dt_search::{Document, Query};
use serde_json::{json, Map, Value};

use super::ApiError;
use crate::clock::{self, DAY_MS};
use crate::search::{FastMap, Found, Matcher, Window};
use crate::world::World;

/// Hits per page when `size` is absent.
pub const DEFAULT_SIZE: usize = 50;
/// The largest page; larger sizes are clamped.
pub const MAX_SIZE: usize = 10_000;
/// The window when `timeframe` is absent, in seconds.
pub const DEFAULT_TIMEFRAME_S: i64 = 3_600;
/// The body (HTTP 200) for a bad custom range.
pub const BAD_RANGE: &str = "Invalid to/from fields in custom range";

fn real_matcher(q: &Query, d: &dyn Document) -> bool {
    dt_search::matches(q, d)
}

/// `GET /advancedsearch/api/search/<segment>`; `segment` is everything after
/// `/search/`, raw from the request line.
pub fn advanced_search_get(
    world: &World,
    b64_segment: &str,
    now_ms: i64,
) -> Result<Value, ApiError> {
    let query = decode_search_segment(b64_segment)?;
    advanced_search_json(world, &query, now_ms)
}

/// `POST /advancedsearch/api/search` with a JSON body `{"hash": "<base64>"}`.
pub fn advanced_search_post(world: &World, body: &[u8], now_ms: i64) -> Result<Value, ApiError> {
    let bad = || {
        ApiError::BadSearch("the request body must be JSON {\"hash\": \"<base64 query>\"}".into())
    };
    let v: Value = serde_json::from_slice(body).map_err(|_| bad())?;
    let hash = v.get("hash").and_then(Value::as_str).ok_or_else(bad)?;
    let query = decode_search_segment(hash)?;
    advanced_search_json(world, &query, now_ms)
}

/// [`advanced_search_get`] written as the appliance prints it (2-space JSON): the same
/// bytes as pretty-printing its `Value`, without building a `Value` per hit (each
/// `_source` is re-indented from its stored text, see `crate::render`).
pub fn advanced_search_get_pretty(
    world: &World,
    b64_segment: &str,
    now_ms: i64,
) -> Result<Vec<u8>, ApiError> {
    let query = decode_search_segment(b64_segment)?;
    advanced_search_json_pretty(world, &query, now_ms)
}

/// [`advanced_search_post`] written as the appliance prints it (see
/// [`advanced_search_get_pretty`]).
pub fn advanced_search_post_pretty(
    world: &World,
    body: &[u8],
    now_ms: i64,
) -> Result<Vec<u8>, ApiError> {
    let bad = || {
        ApiError::BadSearch("the request body must be JSON {\"hash\": \"<base64 query>\"}".into())
    };
    let v: Value = serde_json::from_slice(body).map_err(|_| bad())?;
    let hash = v.get("hash").and_then(Value::as_str).ok_or_else(bad)?;
    let query = decode_search_segment(hash)?;
    advanced_search_json_pretty(world, &query, now_ms)
}

/// [`advanced_search_json`] written as the appliance prints it (see
/// [`advanced_search_get_pretty`]).
pub fn advanced_search_json_pretty(
    world: &World,
    query_json: &[u8],
    now_ms: i64,
) -> Result<Vec<u8>, ApiError> {
    let req = match parse_request(query_json, now_ms)? {
        Ok(r) => r,
        Err(body) => return Ok(serde_json::to_vec_pretty(&body).unwrap_or_else(|_| b"{}".to_vec())),
    };
    let window = Window::from_ms(req.from_ms, req.to_ms);
    let found = world.search().search(&req.query, window, &real_matcher);
    let page: Vec<u32> = found
        .ids
        .iter()
        .skip(req.offset)
        .take(req.size)
        .copied()
        .collect();
    Ok(crate::render::pretty_answer(
        world.search(),
        &found,
        &page,
        req.from_ms,
        req.to_ms,
    ))
}

/// Runs a decoded query JSON (what the base64 carries).
pub fn advanced_search_json(
    world: &World,
    query_json: &[u8],
    now_ms: i64,
) -> Result<Value, ApiError> {
    run(world, query_json, now_ms, &real_matcher, false)
}

/// The same as [`advanced_search_json`] but evaluated by scanning every record: the
/// benchmark baseline.
pub fn advanced_search_json_linear_scan(
    world: &World,
    query_json: &[u8],
    now_ms: i64,
) -> Result<Value, ApiError> {
    run(world, query_json, now_ms, &real_matcher, true)
}

/// Record ids (newest first) matching a query in a window, through the indexes.
pub fn search_records(world: &World, query: &Query, window: Window) -> Found {
    world.search().search(query, window, &real_matcher)
}

/// Record ids (newest first) matching a query in a window, by checking every record.
pub fn search_linear_scan(world: &World, query: &Query, window: Window) -> Found {
    world
        .search()
        .search_linear_scan(query, window, &real_matcher)
}

/// Percent-decodes then base64-decodes a search segment (standard or URL-safe alphabet,
/// with or without padding).
pub fn decode_search_segment(segment: &str) -> Result<Vec<u8>, ApiError> {
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    let bad = |e: base64::DecodeError| {
        ApiError::BadSearch(format!("the search segment is not valid base64: {e}"))
    };
    let b = segment.trim().as_bytes();
    // What clients send: the standard alphabet, nothing to clean.
    if b.iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=')
    {
        let end = b.iter().rposition(|&c| c != b'=').map_or(0, |i| i + 1);
        return ENGINE.decode(&b[..end]).map_err(bad);
    }
    // Else one pass: percent-decode, drop whitespace, read the URL-safe alphabet as
    // the standard one.
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut cleaned = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let mut c = b[i];
        i += 1;
        if c == b'%' && i + 1 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i]), hex(b[i + 1])) {
                c = h << 4 | l;
                i += 2;
            }
        }
        match c {
            c if c.is_ascii_whitespace() => {}
            b'-' => cleaned.push(b'+'),
            b'_' => cleaned.push(b'/'),
            c => cleaned.push(c),
        }
    }
    let end = cleaned
        .iter()
        .rposition(|&b| b != b'=')
        .map_or(0, |i| i + 1);
    ENGINE.decode(&cleaned[..end]).map_err(bad)
}

/// A parsed request, or the appliance's 200 error body for a bad custom range.
struct Request {
    query: Arc<Query>,
    offset: usize,
    size: usize,
    from_ms: i64,
    to_ms: i64,
}

fn non_negative(v: Option<&Value>, name: &str, default: i64) -> Result<i64, ApiError> {
    let err = || ApiError::Input(format!("{name} must be a non-negative integer"));
    let n = match v {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(err)?,
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(default),
        Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| err())?,
        Some(_) => return Err(err()),
    };
    if n < 0 {
        return Err(err());
    }
    Ok(n)
}

/// Parses a query string, remembering the last few hundred: a client polls the same
/// queries over sliding windows, so the same text comes back every interval.
fn parse_query(text: &str) -> Result<Arc<Query>, ApiError> {
    const KEPT: usize = 256;
    static PARSED: Mutex<Option<FastMap<String, Arc<Query>>>> = Mutex::new(None);
    if let Some(q) = PARSED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .and_then(|m| m.get(text))
    {
        return Ok(q.clone());
    }
    let q = Arc::new(dt_search::parse(text).map_err(|e| ApiError::BadSearch(e.to_string()))?);
    let mut guard = PARSED.lock().unwrap_or_else(|p| p.into_inner());
    let map = guard.get_or_insert_with(FastMap::default);
    if map.len() >= KEPT {
        map.clear();
    }
    map.insert(text.to_string(), q.clone());
    Ok(q)
}

/// The members of the query JSON that mean something (the last of a repeated key
/// wins, as in a `Value`); the rest are skipped without building anything.
#[derive(Default)]
struct Members {
    search: Option<Value>,
    offset: Option<Value>,
    size: Option<Value>,
    timeframe: Option<Value>,
    time: Option<Value>,
}

impl Members {
    fn get(&self, name: &str) -> Option<&Value> {
        match name {
            "search" => self.search.as_ref(),
            "offset" => self.offset.as_ref(),
            "size" => self.size.as_ref(),
            "timeframe" => self.timeframe.as_ref(),
            "time" => self.time.as_ref(),
            _ => None,
        }
    }
}

/// The query JSON: an object's members, or `None` for any other JSON value.
struct QueryJson(Option<Members>);

impl<'de> serde::Deserialize<'de> for QueryJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
        use std::fmt;

        enum Key {
            Search,
            Offset,
            Size,
            Timeframe,
            Time,
            Other,
        }
        impl<'de> serde::Deserialize<'de> for Key {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct K;
                impl Visitor<'_> for K {
                    type Value = Key;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a key")
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                        Ok(match v {
                            "search" => Key::Search,
                            "offset" => Key::Offset,
                            "size" => Key::Size,
                            "timeframe" => Key::Timeframe,
                            "time" => Key::Time,
                            _ => Key::Other,
                        })
                    }
                }
                d.deserialize_str(K)
            }
        }

        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = QueryJson;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<QueryJson, A::Error> {
                let mut m = Members::default();
                while let Some(k) = map.next_key::<Key>()? {
                    let slot = match k {
                        Key::Search => &mut m.search,
                        Key::Offset => &mut m.offset,
                        Key::Size => &mut m.size,
                        Key::Timeframe => &mut m.timeframe,
                        Key::Time => &mut m.time,
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = Some(map.next_value()?);
                }
                Ok(QueryJson(Some(m)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<QueryJson, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(QueryJson(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<QueryJson, E> {
                Ok(QueryJson(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<QueryJson, E> {
                Ok(QueryJson(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<QueryJson, E> {
                Ok(QueryJson(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<QueryJson, E> {
                Ok(QueryJson(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<QueryJson, E> {
                Ok(QueryJson(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<QueryJson, E> {
                Ok(QueryJson(None))
            }
        }
        d.deserialize_any(V)
    }
}

fn parse_request(bytes: &[u8], now_ms: i64) -> Result<Result<Request, Value>, ApiError> {
    let v: QueryJson = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadSearch(format!("the search query is not valid JSON: {e}")))?;
    let QueryJson(Some(obj)) = v else {
        return Err(ApiError::BadSearch(
            "the search query must be a JSON object".into(),
        ));
    };
    let query = match obj.get("search") {
        None | Some(Value::Null) => Arc::new(Query::All),
        Some(Value::String(s)) if s.trim().is_empty() => Arc::new(Query::All),
        Some(Value::String(s)) => parse_query(s)?,
        Some(_) => return Err(ApiError::BadSearch("search must be a string".into())),
    };
    let offset = non_negative(obj.get("offset"), "offset", 0)? as usize;
    let size = (non_negative(obj.get("size"), "size", DEFAULT_SIZE as i64)? as usize).min(MAX_SIZE);
    let custom = matches!(obj.get("timeframe"), Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("custom"));
    let (from_ms, to_ms) = if custom {
        let end = |k: &str| {
            obj.get("time")
                .and_then(|t| t.get(k))
                .and_then(Value::as_str)
                .and_then(clock::parse_time)
        };
        match (end("from"), end("to")) {
            (Some(f), Some(t)) if f <= t => (f, t),
            _ => return Ok(Err(json!({ "error": BAD_RANGE }))),
        }
    } else {
        let err = || ApiError::Input("timeframe must be a number of seconds or \"custom\"".into());
        let seconds = match obj.get("timeframe") {
            None | Some(Value::Null) => DEFAULT_TIMEFRAME_S as f64,
            Some(Value::Number(n)) => n.as_f64().ok_or_else(err)?,
            Some(Value::String(s)) => s.trim().parse::<f64>().map_err(|_| err())?,
            Some(_) => return Err(err()),
        };
        if !seconds.is_finite() || seconds < 0.0 {
            return Err(err());
        }
        // `as` saturates a huge timeframe at i64::MAX; the subtraction saturates too, as
        // "now" may be before 1970 (a clock set back).
        (now_ms.saturating_sub((seconds * 1_000.0) as i64), now_ms)
    };
    Ok(Ok(Request {
        query,
        offset,
        size,
        from_ms,
        to_ms,
    }))
}

pub(crate) fn run(
    world: &World,
    bytes: &[u8],
    now_ms: i64,
    matcher: Matcher<'_>,
    linear: bool,
) -> Result<Value, ApiError> {
    let req = match parse_request(bytes, now_ms)? {
        Ok(r) => r,
        Err(body) => return Ok(body),
    };
    let window = Window::from_ms(req.from_ms, req.to_ms);
    let found = if linear {
        world
            .search()
            .search_linear_scan(&req.query, window, matcher)
    } else {
        world.search().search(&req.query, window, matcher)
    };
    Ok(envelope(
        world,
        &found,
        req.offset,
        req.size,
        req.from_ms,
        req.to_ms,
    ))
}

fn envelope(
    world: &World,
    found: &Found,
    offset: usize,
    size: usize,
    from_ms: i64,
    to_ms: i64,
) -> Value {
    let store = world.search();
    let page = found.ids.iter().skip(offset).take(size);
    let hits: Vec<Value> = page.map(|&id| store.hit(id)).collect();
    envelope_with(found, hits, from_ms, to_ms)
}

/// The answer around a page of hits.
/// `kibana.index`: `logstash-darktrace-YYYY.MM.DD` for each UTC day the window
/// touches, oldest first, the latest 31 at most.
pub(crate) fn index_days(from_ms: i64, to_ms: i64) -> Vec<String> {
    let mut days = Vec::new();
    let mut d = clock::day_start(to_ms);
    while d >= clock::day_start(from_ms) && days.len() < 31 {
        days.push(format!("logstash-darktrace-{}", clock::index_date(d)));
        d -= DAY_MS;
    }
    days.reverse();
    days
}

fn envelope_with(found: &Found, hits: Vec<Value>, from_ms: i64, to_ms: i64) -> Value {
    let days = index_days(from_ms, to_ms);
    let mut hits_obj = Map::new();
    hits_obj.insert("total".into(), Value::from(found.ids.len()));
    hits_obj.insert("max_score".into(), Value::Null);
    hits_obj.insert("hits".into(), Value::Array(hits));
    let mut m = Map::new();
    m.insert("took".into(), Value::from(1 + found.examined / 5_000));
    m.insert("timed_out".into(), Value::Bool(false));
    m.insert(
        "_shards".into(),
        json!({"total": 2, "successful": 2, "skipped": 0, "failed": 0}),
    );
    m.insert("hits".into(), Value::Object(hits_obj));
    m.insert("darktraceChildError".into(), Value::String(String::new()));
    m.insert(
        "kibana".into(),
        json!({
            "index": days,
            "per_page": 50,
            "time": {"from": clock::iso_millis(from_ms), "to": clock::iso_millis(to_ms)},
            "default_fields": ["@type", "@message"]
        }),
    );
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{HOUR_MS, MINUTE_MS};
    use crate::search::tests::{dt_matches, term};
    use crate::testutil::{small_world, ANCHOR};
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    fn run_ref(q: &Value) -> Result<Value, ApiError> {
        run(
            small_world(),
            q.to_string().as_bytes(),
            ANCHOR,
            &dt_matches,
            false,
        )
    }

    #[test]
    fn the_query_json_reads_as_a_value_would() {
        let req = |text: &str| parse_request(text.as_bytes(), ANCHOR);
        // A repeated key: the last one counts, as in a `Value`.
        let r = req(r#"{"size":5,"size":7,"offset":"2","se\u0061rch":"x","fields":[{"a":1}]}"#)
            .unwrap()
            .unwrap();
        assert_eq!((r.size, r.offset), (7, 2));
        assert_ne!(*r.query, Query::All, "an escaped key is still `search`");
        // Members that mean nothing are skipped, whatever they hold.
        let r = req(r#"{"x":{"y":[1,2,{"z":null}]},"timeframe":"60"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(r.to_ms - r.from_ms, 60_000);
        assert_eq!(*r.query, Query::All);
        for bad in [
            "[1,2]", "\"text\"", "3", "null", "true", "{\"a\":}", "{} x", "",
        ] {
            assert!(
                matches!(req(bad), Err(ApiError::BadSearch(_))),
                "{bad:?} is a bad search"
            );
        }
        assert!(matches!(req(r#"{"size":-1}"#), Err(ApiError::Input(_))));
        assert!(matches!(
            req(r#"{"search":5}"#),
            Err(ApiError::BadSearch(_))
        ));
        assert!(matches!(
            req(r#"{"timeframe":"custom","time":{"from":"x"}}"#),
            Ok(Err(_))
        ));
    }

    #[test]
    fn decodes_both_alphabets_padding_and_percent_escapes() {
        // Bytes chosen so the standard encoding has '+', '/' and '='.
        let raw = b"{\"search\":\"\",\"x\":\"\xfb\xff\xbf\"}";
        let std = STANDARD.encode(raw);
        assert!(
            std.contains('/') && std.contains('+') && std.ends_with('='),
            "{std}"
        );
        assert_eq!(decode_search_segment(&std).unwrap(), raw);
        assert_eq!(
            decode_search_segment(&URL_SAFE_NO_PAD.encode(raw)).unwrap(),
            raw
        );
        let escaped = std
            .replace('=', "%3D")
            .replace('/', "%2F")
            .replace('+', "%2B");
        assert_eq!(decode_search_segment(&escaped).unwrap(), raw);
        assert_eq!(
            decode_search_segment(&std.replace('=', "%3d")).unwrap(),
            raw
        );
        assert!(matches!(
            decode_search_segment("!!!not base64"),
            Err(ApiError::BadSearch(_))
        ));
    }

    #[test]
    fn get_with_raw_slash_and_post_hash_give_the_same_answer() {
        let w = small_world();
        // An ignored field padded until the encoding carries a raw '/' (a '?' at a byte
        // offset of 2 mod 3 encodes as '/').
        let mut pad = String::from("?");
        let (q, seg) = loop {
            let q = json!({"search": "", "fields": [pad], "timeframe": "7200", "size": 3});
            let seg = STANDARD.encode(q.to_string());
            if seg.contains('/') {
                break (q, seg);
            }
            pad.push('?');
            assert!(pad.len() < 10);
        };
        let got = advanced_search_get(w, &seg, ANCHOR).unwrap();
        assert_eq!(got["hits"]["hits"].as_array().unwrap().len(), 3);
        let body = json!({"hash": seg}).to_string();
        assert_eq!(
            advanced_search_post(w, body.as_bytes(), ANCHOR).unwrap(),
            got
        );
        let url_safe = URL_SAFE_NO_PAD.encode(q.to_string());
        assert_eq!(advanced_search_get(w, &url_safe, ANCHOR).unwrap(), got);
        assert!(matches!(
            advanced_search_post(w, b"not json", ANCHOR),
            Err(ApiError::BadSearch(_))
        ));
        assert!(matches!(
            advanced_search_post(w, b"{\"hush\":\"e30=\"}", ANCHOR),
            Err(ApiError::BadSearch(_))
        ));
        assert!(matches!(
            advanced_search_get(w, "%%%", ANCHOR),
            Err(ApiError::BadSearch(_))
        ));
        let not_json = STANDARD.encode("search=x");
        assert!(matches!(
            advanced_search_get(w, &not_json, ANCHOR),
            Err(ApiError::BadSearch(_))
        ));
    }

    #[test]
    fn unparseable_search_text_is_a_bad_search() {
        let seg =
            STANDARD.encode(json!({"search": "@fields.src_ip:(((", "timeframe": "60"}).to_string());
        let got = advanced_search_get(small_world(), &seg, ANCHOR);
        assert!(matches!(got, Err(ApiError::BadSearch(_))), "{got:?}");
        let seg = STANDARD.encode(json!({"search": 5}).to_string());
        assert!(matches!(
            advanced_search_get(small_world(), &seg, ANCHOR),
            Err(ApiError::BadSearch(_))
        ));
    }

    #[test]
    fn envelope_shape_and_defaults() {
        let got = run_ref(&json!({"search": "", "fields": []})).unwrap();
        let keys: Vec<&str> = got
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "took",
                "timed_out",
                "_shards",
                "hits",
                "darktraceChildError",
                "kibana"
            ]
        );
        assert_eq!(got["kibana"]["time"]["to"], clock::iso_millis(ANCHOR));
        assert_eq!(
            got["kibana"]["time"]["from"],
            clock::iso_millis(ANCHOR - HOUR_MS)
        );
        assert_eq!(got["kibana"]["per_page"], 50);
        let hits = got["hits"]["hits"].as_array().unwrap();
        assert_eq!(
            hits.len(),
            DEFAULT_SIZE.min(got["hits"]["total"].as_u64().unwrap() as usize)
        );
        assert!(
            got["hits"]["total"].as_u64().unwrap() > 0,
            "the last hour has records"
        );
        let hit_keys: Vec<&str> = hits[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            hit_keys,
            ["_index", "_type", "_id", "_score", "_source", "sort"]
        );
        let src_keys: Vec<&str> = hits[0]["_source"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            src_keys,
            [
                "@fields",
                "@type",
                "@timestamp",
                "@message",
                "@darktrace_probe"
            ]
        );
        let sorts: Vec<i64> = hits
            .iter()
            .map(|h| h["sort"][0].as_i64().unwrap())
            .collect();
        assert!(sorts.windows(2).all(|p| p[0] >= p[1]), "newest first");
        assert!(sorts
            .iter()
            .all(|&s| (ANCHOR - HOUR_MS..=ANCHOR).contains(&s)));
    }

    #[test]
    fn paging_with_offset_and_size() {
        let q = |offset: Value, size: Value| json!({"search": "", "timeframe": 86_400, "offset": offset, "size": size});
        let all = run_ref(&q(json!(0), json!(10_000))).unwrap();
        let total = all["hits"]["total"].as_u64().unwrap() as usize;
        let ids = |v: &Value| {
            v["hits"]["hits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["_id"].clone())
                .collect::<Vec<_>>()
        };
        let all_ids = ids(&all);
        assert_eq!(all_ids.len(), total.min(MAX_SIZE));
        let page2 = run_ref(&q(json!("20"), json!("10"))).unwrap();
        assert_eq!(page2["hits"]["total"], total);
        assert_eq!(ids(&page2), all_ids[20..30]);
        let past = run_ref(&q(json!(total + 5), json!(10))).unwrap();
        assert!(ids(&past).is_empty());
        let clamped = run_ref(&q(json!(0), json!(50_000))).unwrap();
        assert_eq!(ids(&clamped).len(), total.min(MAX_SIZE));
        for bad in [json!(-1), json!("x"), json!(1.5), json!([1])] {
            assert!(
                matches!(run_ref(&q(bad.clone(), json!(1))), Err(ApiError::Input(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            run_ref(&json!({"timeframe": "soon"})),
            Err(ApiError::Input(_))
        ));
    }

    #[test]
    fn custom_ranges() {
        let from = clock::iso_millis(ANCHOR - 30 * MINUTE_MS);
        let to = clock::iso_millis(ANCHOR - 20 * MINUTE_MS);
        let got = run_ref(&json!({"search": "", "timeframe": "custom", "time": {"from": from, "to": to, "user_interval": "0"}, "size": 10_000})).unwrap();
        assert_eq!(got["kibana"]["time"]["from"], from);
        let sorts: Vec<i64> = got["hits"]["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["sort"][0].as_i64().unwrap())
            .collect();
        assert!(!sorts.is_empty());
        assert!(sorts
            .iter()
            .all(|&s| (ANCHOR - 30 * MINUTE_MS..=ANCHOR - 20 * MINUTE_MS).contains(&s)));
        let spaced = run_ref(&json!({"timeframe": "custom", "time": {"from": clock::spaced(ANCHOR - 30 * MINUTE_MS), "to": clock::spaced(ANCHOR - 20 * MINUTE_MS)}, "size": 10_000})).unwrap();
        assert_eq!(spaced["hits"]["total"], got["hits"]["total"]);
        let bad = json!({"error": BAD_RANGE});
        for time in [
            json!({"from": to, "to": from}),
            json!({"from": "yesterday", "to": to}),
            json!({"from": from}),
            json!(null),
        ] {
            assert_eq!(
                run_ref(&json!({"timeframe": "custom", "time": time})).unwrap(),
                bad,
                "{time}"
            );
        }
    }

    #[test]
    fn ip_query_finds_records_on_both_ip_columns() {
        let w = small_world();
        let ip = w
            .devices()
            .iter()
            .find(|d| d.typename == "laptop")
            .unwrap()
            .ip()
            .to_string();
        let q = Query::Or(vec![
            term("@fields.src_ip", &ip),
            term("@fields.dest_ip", &ip),
            term("@fields.source_ip", &ip),
        ]);
        let window = Window::from_ms(ANCHOR - 24 * HOUR_MS, ANCHOR);
        let found = w.search().search(&q, window, &dt_matches);
        assert!(!found.ids.is_empty());
        assert!(
            found.examined <= found.ids.len(),
            "every candidate from the index matched"
        );
        assert_eq!(
            found.ids,
            w.search().search_linear_scan(&q, window, &dt_matches).ids
        );
        let types: std::collections::BTreeSet<&str> = found
            .ids
            .iter()
            .map(|&i| w.search().record_type(i))
            .collect();
        assert!(types.contains("conn"), "{types:?}");
    }
}
