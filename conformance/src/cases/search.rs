//! Advanced search: `GET /advancedsearch/api/search/<base64>` and
//! `POST /advancedsearch/api/search` with `{"hash": ...}` (reference §1.7, §3.5, §6.7;
//! DECISIONS D1, D3), plus the cross-endpoint error cases (`errors.*`).
//!
//! Appliance cases search a fixed custom window (two hours ending five minutes ago, so
//! late-arriving records do not move totals between requests) and compare answers to
//! each other rather than to fixture values. The helpers here are shared with the
//! search-language cases.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use dt_protocol::DateFormat;
use serde_json::{json, Value};

use crate::case;
use crate::case::{ensure, Case, Failure};
use crate::cases::auth::is_auth_error;
use crate::cases::devices::{check, fmt_ms, get, indented, json_200, now_ms, JSON_CT};
use crate::probe::{Exchange, Probe, Signing};
use crate::target::Target;

/// The cases.
pub fn cases() -> Vec<Case> {
    vec![
        case!("search.get-standard-base64", "GET /advancedsearch/api/search/<standard base64 with = padding, raw in the path> MUST answer 200 with the search envelope.", "ref 1.7, 3.5; D1", [Appliance], get_standard),
        case!("search.get-urlsafe-unpadded", "The same query as URL-safe base64 without padding MUST give the same answer as the standard form.", "ref 1.7 [LIVE]; D1", [Appliance], get_urlsafe),
        case!("search.get-raw-slash-in-path", "Standard base64 carrying raw '/', '+' and '=' in the path MUST be accepted (signed as sent) and give the same answer as the URL-safe form.", "ref 1.7 [CLIENT]; D1", [Appliance], get_raw_slash),
        case!("search.get-percent-encoded-padding", "'=' sent as %3D and signed exactly as sent MUST be accepted, with the same answer.", "ref 1.7 [LIVE]; D1", [Appliance], get_percent_padding),
        case!("search.get-percent-encoded-signed-raw-refused", "'=' sent as %3D but signed as a raw '=' MUST get 400 {\"advancedsearch\": \"API SIGNATURE ERROR\"} (the path is verified as sent).", "ref 1.7 [LIVE]; D1, D3", [Appliance], get_percent_signed_raw),
        case!("search.post-hash", "POST /advancedsearch/api/search {\"hash\": <base64>} MUST answer the same hits as the GET form of that query.", "ref 3.5 (6.1); D1", [Appliance], post_hash),
        case!("search.envelope-shape", "A search answer MUST be the ES envelope: took, timed_out, _shards{total,successful,skipped,failed}, hits{total (number), max_score, hits[{_index,_type,_id,_source{@fields,@type,@timestamp,@message},sort[ms]}]}, darktraceChildError, kibana{index[],per_page 50,time{from,to},default_fields[]}.", "ref 3.5, 6.7; ref 7.10", [Appliance], envelope_shape),
        case!("search.size-default-50", "Without size a search MUST return min(50, hits.total) hits.", "ref 3.5, 4", [Appliance], size_default),
        case!("search.size-honoured", "size=N MUST return min(N, hits.total) hits, and hits.total MUST not depend on size.", "ref 3.5", [Appliance], size_honoured),
        case!("search.size-max-10000", "size=10000 MUST be honoured and a larger size MUST be answered as 10000.", "ref 3.5, 4; world/src/api/search.rs", [MockOnly], size_max),
        case!("search.paging-offset", "offset=5&size=5 MUST return hits 5..10 of the offset=0&size=10 answer.", "ref 3.5 paging", [Appliance], paging_offset),
        case!("search.offset-as-string", "offset and size given as numeric strings (as XSOAR sends) MUST act as the numbers.", "ref 3.5 [CLIENT S7]", [Appliance], offset_string),
        case!("search.offset-beyond-total-empty", "An offset past hits.total MUST return no hits and the same hits.total.", "world/src/api/search.rs", [MockOnly], offset_beyond),
        case!("search.sorted-newest-first", "Hits MUST be sorted newest first by sort[0] (epoch ms).", "ref 3.5 [INFERRED from sort]; world/src/api/search.rs", [Appliance], sorted_newest_first),
        case!("search.custom-range", "timeframe \"custom\" with time.from/time.to MUST return only hits whose sort time is inside the range, echoed in kibana.time.", "ref 3.5", [Appliance], custom_range),
        case!("search.timeframe-seconds", "timeframe \"600\" MUST return only hits from the last 600 seconds.", "ref 3.5", [Appliance], timeframe_seconds),
        case!("search.default-timeframe-3600", "A query without timeframe MUST search the last 3600 seconds (kibana.time spans one hour ending now).", "world/src/api/search.rs", [MockOnly], default_timeframe),
        case!("search.bad-custom-range-200-error", "A custom range whose from/to are missing, unreadable or reversed MUST get exactly 200 {\"error\": \"Invalid to/from fields in custom range\"}.", "ref 2.1 [CLIENT S6]", [Appliance], bad_custom_range),
        case!("search.bad-base64-400", "A search segment that is not base64 MUST get the front end's 400 HTML page.", "ref 2.1 [CLIENT S6]; world/src/api/search.rs", [MockOnly], bad_base64),
        case!("search.bad-json-400", "A segment whose base64 decodes to something other than a JSON object MUST get the 400 HTML page.", "ref 2.1; world/src/api/search.rs", [MockOnly], bad_json),
        case!("search.post-bad-body-400", "A POST whose body is not {\"hash\": \"<base64>\"} MUST get the 400 HTML page.", "ref 2.1; world/src/api/search.rs", [MockOnly], post_bad_body),
        case!("errors.content-type-json-everywhere", "Every JSON answer (data, search, input error, not found, search range error, auth error) MUST be application/json; charset=utf-8 with a 2-space-indented body.", "D3; ref 2.3", [Appliance], content_type_everywhere),
        case!("errors.unknown-route-login", "A validly signed request to a route the appliance does not have MUST get 302 to /login with body 'Found. Redirecting to /login'.", "D3; ref 2.1 [CLIENT]", [Appliance], unknown_route),
    ]
}

// ---------------------------------------------------------------------------------
// Shared helpers (also used by the language cases).

/// The route prefix of the GET form.
pub(crate) const SEARCH_GET: &str = "/advancedsearch/api/search/";

/// The exact body of a bad custom range.
pub(crate) const BAD_RANGE_BODY: &str =
    "{\n  \"error\": \"Invalid to/from fields in custom range\"\n}";

/// The front end's 400 page.
pub(crate) const BAD_REQUEST_HTML: &str =
    "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n";

/// A fixed custom range in epoch ms.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Window {
    /// Two hours ending five minutes before the target's now.
    pub(crate) fn recent(t: &Target) -> Self {
        let to_ms = now_ms(t) - 5 * 60_000;
        Window {
            from_ms: to_ms - 2 * 3_600_000,
            to_ms,
        }
    }

    /// The `time` object of a custom query.
    pub(crate) fn time(&self) -> Value {
        json!({
            "from": fmt_ms(self.from_ms, DateFormat::IsoMillis),
            "to": fmt_ms(self.to_ms, DateFormat::IsoMillis),
            "user_interval": "0"
        })
    }
}

/// A custom-range query.
pub(crate) fn custom(search: &str, w: Window, size: usize, offset: usize) -> Value {
    json!({"search": search, "fields": [], "offset": offset, "timeframe": "custom", "time": w.time(), "size": size})
}

/// The GET probe for a segment, placed in the path exactly as given.
pub(crate) fn get_probe(segment: &str) -> Probe {
    Probe::get(format!("{SEARCH_GET}{segment}"))
}

/// Sends a query as a GET (standard base64, raw in the path) and checks the envelope
/// basics: 200 JSON object with `hits.total` a number and `hits.hits` an array.
pub(crate) async fn search(t: &Target, q: &Value) -> Result<(Exchange, Value), Failure> {
    let ex = t.send(&get_probe(&STANDARD.encode(q.to_string()))).await?;
    let v = envelope(&ex)?;
    Ok((ex, v))
}

/// The body of a 200 search answer with a numeric `hits.total` and a `hits.hits` array.
pub(crate) fn envelope(ex: &Exchange) -> Result<Value, Failure> {
    let v = json_200(ex)?;
    check(
        v["hits"]["total"].is_u64() && v["hits"]["hits"].is_array(),
        ex,
        "a search envelope with a numeric hits.total and a hits.hits array",
        || ex.summary(),
    )?;
    Ok(v)
}

/// The hits of an answer.
pub(crate) fn hits(v: &Value) -> Vec<Value> {
    v["hits"]["hits"].as_array().cloned().unwrap_or_default()
}

/// `hits.total`.
pub(crate) fn total(v: &Value) -> u64 {
    v["hits"]["total"].as_u64().unwrap_or_default()
}

/// The `_id`s of the hits, in order.
pub(crate) fn ids(v: &Value) -> Vec<String> {
    hits(v)
        .iter()
        .map(|h| h["_id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A hit's `sort[0]`.
pub(crate) fn sort_ms(h: &Value) -> i64 {
    h["sort"][0].as_f64().map_or(i64::MIN, |f| f as i64)
}

/// Fails unless the recent window has at least one record.
pub(crate) fn require_hits(ex: &Exchange, v: &Value, w: Window) -> Result<(), Failure> {
    check(
        total(v) > 0,
        ex,
        format!(
            "advanced-search records between {} and {} to check against",
            fmt_ms(w.from_ms, DateFormat::IsoMillis),
            fmt_ms(w.to_ms, DateFormat::IsoMillis)
        ),
        || "no records in the window: nothing to check".into(),
    )
}

/// A query text whose standard base64 has `/`, `+` and `=`: two clauses that match
/// every record (a field no record has, negated) with `?` and `>`, whose low six bits
/// encode as `/` and `+` when they fall on the third byte of a group; spaces move them.
fn slash_plus_pad_query(w: Window) -> Result<(String, String), Failure> {
    for lead in 0..3 {
        for mid in 1..4 {
            for trail in 0..3 {
                let search = format!(
                    "NOT @fields.dtconformance_unused:?{}AND NOT @fields.dtconformance_unused:>0",
                    " ".repeat(mid)
                );
                let text = format!(
                    "{}{}{}",
                    " ".repeat(lead),
                    custom(&search, w, 20, 0),
                    " ".repeat(trail)
                );
                let b64 = STANDARD.encode(&text);
                if b64.contains('/') && b64.contains('+') && b64.ends_with('=') {
                    return Ok((text, b64));
                }
            }
        }
    }
    Err(Failure::new(
        "a query whose standard base64 has '/', '+' and '='",
        "no spacing of the query text gives one (a bug in the case)",
    ))
}

/// A query text for `search` whose standard base64 ends with `=` padding.
fn padded(q: &Value) -> (String, String) {
    let compact = q.to_string();
    for trail in 0..3 {
        let text = format!("{compact}{}", " ".repeat(trail));
        let b64 = STANDARD.encode(&text);
        if b64.ends_with('=') {
            return (text, b64);
        }
    }
    unreachable!("one of three lengths needs padding")
}

// ---------------------------------------------------------------------------------
// The cases.

async fn recent_all(t: &Target, size: usize) -> Result<(Window, Exchange, Value), Failure> {
    let w = Window::recent(t);
    let (ex, v) = search(t, &custom("*", w, size, 0)).await?;
    require_hits(&ex, &v, w)?;
    Ok((w, ex, v))
}

async fn get_standard(t: &Target) -> Result<(), Failure> {
    let (w, _, all) = recent_all(t, 20).await?;
    let (_, b64) = padded(&custom("*", w, 20, 0));
    let ex = t.send(&get_probe(&b64)).await?;
    let v = envelope(&ex)?;
    check(
        ids(&v) == ids(&all),
        &ex,
        "the same hits as the unpadded-length query",
        || format!("{} hits of {}", hits(&v).len(), total(&v)),
    )
}

async fn get_urlsafe(t: &Target) -> Result<(), Failure> {
    let (w, _, _) = recent_all(t, 1).await?;
    let (text, b64) = slash_plus_pad_query(w)?;
    let std_ex = t.send(&get_probe(&b64)).await?;
    let std_v = envelope(&std_ex)?;
    let url_safe = URL_SAFE_NO_PAD.encode(&text);
    let ex = t.send(&get_probe(&url_safe)).await?;
    let v = envelope(&ex)?;
    check(
        total(&v) == total(&std_v) && ids(&v) == ids(&std_v),
        &ex,
        format!("the answer of the standard form ({} hits)", total(&std_v)),
        || format!("{} hits", total(&v)),
    )
}

async fn get_raw_slash(t: &Target) -> Result<(), Failure> {
    let (w, _, all) = recent_all(t, 20).await?;
    let (_, b64) = slash_plus_pad_query(w)?;
    let ex = t.send(&get_probe(&b64)).await?;
    let v = envelope(&ex)?;
    check(
        total(&v) == total(&all) && ids(&v) == ids(&all),
        &ex,
        format!(
            "every record of the window, as '*' finds ({} hits)",
            total(&all)
        ),
        || format!("{} hits", total(&v)),
    )
}

async fn get_percent_padding(t: &Target) -> Result<(), Failure> {
    let (w, _, all) = recent_all(t, 20).await?;
    let (_, b64) = padded(&custom("*", w, 20, 0));
    let ex = t.send(&get_probe(&b64.replace('=', "%3D"))).await?;
    let v = envelope(&ex)?;
    check(
        ids(&v) == ids(&all),
        &ex,
        "the same hits as the raw form",
        || format!("{} hits", total(&v)),
    )
}

async fn get_percent_signed_raw(t: &Target) -> Result<(), Failure> {
    let w = Window::recent(t);
    let (_, b64) = padded(&custom("*", w, 20, 0));
    let sent = format!("{SEARCH_GET}{}", b64.replace('=', "%3D"));
    let signed = format!("{SEARCH_GET}{b64}");
    let ex = t
        .send(&Probe::get(sent).signing(Signing::Over(signed)))
        .await?;
    is_auth_error(&ex, "API SIGNATURE ERROR")
}

async fn post_hash(t: &Target) -> Result<(), Failure> {
    let (w, _, all) = recent_all(t, 20).await?;
    let q = custom("*", w, 20, 0);
    let body = json!({"hash": STANDARD.encode(q.to_string())}).to_string();
    let ex = t
        .send(&Probe::post_json("/advancedsearch/api/search", body))
        .await?;
    let v = envelope(&ex)?;
    check(
        total(&v) == total(&all) && ids(&v) == ids(&all),
        &ex,
        format!("the GET answer ({} hits)", total(&all)),
        || format!("{} hits", total(&v)),
    )
}

async fn envelope_shape(t: &Target) -> Result<(), Failure> {
    let (_, ex, v) = recent_all(t, 20).await?;
    let sh = &v["_shards"];
    let k = &v["kibana"];
    let top_ok = v["took"].is_number()
        && v["timed_out"].is_boolean()
        && ["total", "successful", "skipped", "failed"]
            .iter()
            .all(|f| sh[*f].is_u64())
        && v["hits"].get("max_score").is_some()
        && v["darktraceChildError"].is_string()
        && k["index"]
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string))
        && k["per_page"] == 50
        && k["time"]["from"].is_string()
        && k["time"]["to"].is_string()
        && k["default_fields"].is_array();
    check(
        top_ok && indented(&ex.body),
        &ex,
        "the documented envelope, 2-space indented",
        || ex.summary(),
    )?;
    for h in hits(&v) {
        let s = &h["_source"];
        let ok = h["_index"].is_string()
            && h["_type"].is_string()
            && h["_id"].is_string()
            && s["@fields"].is_object()
            && s["@type"].is_string()
            && s["@timestamp"].is_string()
            && s["@message"].is_string()
            && h["sort"]
                .as_array()
                .is_some_and(|a| a.len() == 1 && a[0].is_number());
        check(ok, &ex, "every hit with _index, _type, _id, _source{@fields,@type,@timestamp,@message}, sort[ms]", || {
            format!("hit {h}")
        })?;
    }
    Ok(())
}

async fn size_default(t: &Target) -> Result<(), Failure> {
    let w = Window::recent(t);
    let q =
        json!({"search": "*", "fields": [], "offset": 0, "timeframe": "custom", "time": w.time()});
    let (ex, v) = search(t, &q).await?;
    require_hits(&ex, &v, w)?;
    let want = total(&v).min(50) as usize;
    check(hits(&v).len() == want, &ex, format!("{want} hits"), || {
        format!("{} hits", hits(&v).len())
    })
}

async fn size_honoured(t: &Target) -> Result<(), Failure> {
    let (w, _, all) = recent_all(t, 50).await?;
    for n in [1usize, 7] {
        let (ex, v) = search(t, &custom("*", w, n, 0)).await?;
        let want = (total(&all) as usize).min(n);
        check(
            hits(&v).len() == want && total(&v) == total(&all),
            &ex,
            format!("{want} hits and hits.total {}", total(&all)),
            || format!("{} hits and hits.total {}", hits(&v).len(), total(&v)),
        )?;
    }
    Ok(())
}

async fn size_max(t: &Target) -> Result<(), Failure> {
    let q = |size: usize| json!({"search": "*", "fields": [], "timeframe": "172800", "size": size});
    let (_, max) = search(t, &q(10_000)).await?;
    let want = (total(&max) as usize).min(10_000);
    let (ex, over) = search(t, &q(50_000)).await?;
    check(
        hits(&max).len() == want && ids(&over) == ids(&max),
        &ex,
        format!("{want} hits for size 10000 and the same for size 50000"),
        || format!("{} and {} hits", hits(&max).len(), hits(&over).len()),
    )
}

async fn paging_offset(t: &Target) -> Result<(), Failure> {
    let (w, _, first) = recent_all(t, 10).await?;
    let (ex, second) = search(t, &custom("*", w, 5, 5)).await?;
    let want: Vec<String> = ids(&first).into_iter().skip(5).collect();
    check(
        ids(&second) == want,
        &ex,
        format!("hits 5..10 of the first page: {want:?}"),
        || format!("{:?}", ids(&second)),
    )
}

async fn offset_string(t: &Target) -> Result<(), Failure> {
    let (w, _, _) = recent_all(t, 10).await?;
    let (_, nums) = search(t, &custom("*", w, 5, 5)).await?;
    let mut q = custom("*", w, 5, 5);
    q["offset"] = json!("5");
    q["size"] = json!("5");
    let (ex, strs) = search(t, &q).await?;
    check(
        ids(&strs) == ids(&nums),
        &ex,
        "the same hits as numeric offset and size",
        || format!("{:?} vs {:?}", ids(&strs), ids(&nums)),
    )
}

async fn offset_beyond(t: &Target) -> Result<(), Failure> {
    let (w, _, all) = recent_all(t, 1).await?;
    let (ex, v) = search(t, &custom("*", w, 10, total(&all) as usize + 5)).await?;
    check(
        hits(&v).is_empty() && total(&v) == total(&all),
        &ex,
        "no hits, same hits.total",
        || format!("{} hits, total {}", hits(&v).len(), total(&v)),
    )
}

async fn sorted_newest_first(t: &Target) -> Result<(), Failure> {
    let (_, ex, v) = recent_all(t, 100).await?;
    let sorts: Vec<i64> = hits(&v).iter().map(sort_ms).collect();
    check(
        sorts.windows(2).all(|p| p[0] >= p[1]),
        &ex,
        "sort[0] non-increasing",
        || format!("{sorts:?}"),
    )
}

fn sorts_within(ex: &Exchange, v: &Value, from: i64, to: i64) -> Result<(), Failure> {
    let outside: Vec<i64> = hits(v)
        .iter()
        .map(sort_ms)
        .filter(|s| *s < from || *s > to)
        .collect();
    check(
        outside.is_empty(),
        ex,
        format!("every hit's sort[0] in [{from}, {to}]"),
        || format!("hits at {outside:?}"),
    )
}

async fn custom_range(t: &Target) -> Result<(), Failure> {
    let (w, ex, v) = recent_all(t, 100).await?;
    sorts_within(&ex, &v, w.from_ms, w.to_ms)?;
    let echo = |k: &str| {
        v["kibana"]["time"][k]
            .as_str()
            .and_then(dt_protocol::date::parse_time_param)
            .map(crate::cases::devices::ms_of)
    };
    check(
        echo("from") == Some(w.from_ms) && echo("to") == Some(w.to_ms),
        &ex,
        "kibana.time echoing the requested from and to",
        || format!("kibana.time {}", v["kibana"]["time"]),
    )
}

async fn timeframe_seconds(t: &Target) -> Result<(), Failure> {
    let q = json!({"search": "*", "fields": [], "offset": 0, "timeframe": "600", "time": {"user_interval": 0}, "size": 100});
    let now = now_ms(t);
    let (ex, v) = search(t, &q).await?;
    sorts_within(&ex, &v, now - 600_000 - 120_000, now + 120_000)
}

async fn default_timeframe(t: &Target) -> Result<(), Failure> {
    let q = json!({"search": "*", "fields": [], "size": 100});
    let now = now_ms(t);
    let (ex, v) = search(t, &q).await?;
    let at = |k: &str| {
        v["kibana"]["time"][k]
            .as_str()
            .and_then(dt_protocol::date::parse_time_param)
            .map(crate::cases::devices::ms_of)
            .unwrap_or_default()
    };
    check(
        at("to") - at("from") == 3_600_000 && (at("to") - now).abs() < 60_000,
        &ex,
        "kibana.time spanning the hour before now",
        || format!("kibana.time {}", v["kibana"]["time"]),
    )?;
    sorts_within(&ex, &v, at("from"), at("to"))
}

async fn bad_custom_range(t: &Target) -> Result<(), Failure> {
    let w = Window::recent(t);
    let (from, to) = (
        fmt_ms(w.from_ms, DateFormat::IsoMillis),
        fmt_ms(w.to_ms, DateFormat::IsoMillis),
    );
    for time in [
        json!({"from": to, "to": from, "user_interval": "0"}),
        json!({"from": "yesterday", "to": to, "user_interval": "0"}),
        json!({"from": from, "user_interval": "0"}),
    ] {
        let q =
            json!({"search": "*", "fields": [], "offset": 0, "timeframe": "custom", "time": time});
        let ex = t.send(&get_probe(&STANDARD.encode(q.to_string()))).await?;
        ensure(
            ex.status == 200
                && ex.content_type.as_deref() == Some(JSON_CT)
                && ex.body == BAD_RANGE_BODY,
            &ex,
            format!("HTTP 200 application/json; charset=utf-8 {BAD_RANGE_BODY:?}"),
        )?;
    }
    Ok(())
}

/// Checks the front end's 400 HTML page.
pub(crate) fn is_bad_request_page(ex: &Exchange) -> Result<(), Failure> {
    ensure(
        ex.status == 400
            && ex
                .content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("text/html"))
            && ex.body == BAD_REQUEST_HTML,
        ex,
        format!("HTTP 400 text/html {BAD_REQUEST_HTML:?}"),
    )
}

async fn bad_base64(t: &Target) -> Result<(), Failure> {
    let ex = t.send(&get_probe("!!!dtconformance-not-base64!!!")).await?;
    is_bad_request_page(&ex)
}

async fn bad_json(t: &Target) -> Result<(), Failure> {
    for text in ["search=*&timeframe=3600", "[1, 2, 3]"] {
        let ex = t.send(&get_probe(&STANDARD.encode(text))).await?;
        is_bad_request_page(&ex)?;
    }
    Ok(())
}

async fn post_bad_body(t: &Target) -> Result<(), Failure> {
    for body in ["{\"hush\":\"e30=\"}", "not json", "{\"hash\":\"!!!\"}"] {
        let ex = t
            .send(&Probe::post_json("/advancedsearch/api/search", body))
            .await?;
        is_bad_request_page(&ex)?;
    }
    Ok(())
}

async fn content_type_everywhere(t: &Target) -> Result<(), Failure> {
    let w = Window::recent(t);
    let now = now_ms(t);
    let q = custom("*", w, 2, 0);
    let bad = json!({"search": "*", "timeframe": "custom", "time": {"from": "x", "to": "y"}});
    let probes = vec![
        Probe::get("/status?includechildren=false"),
        Probe::get("/devices?count=1"),
        Probe::get("/details?eventtype=connection"),
        Probe::get(format!(
            "/modelbreaches?starttime={}&endtime={now}",
            now - 3_600_000
        )),
        Probe::get("/modelbreaches/2147000123"),
        get_probe(&STANDARD.encode(q.to_string())),
        Probe::post_json(
            "/advancedsearch/api/search",
            json!({"hash": STANDARD.encode(q.to_string())}).to_string(),
        ),
        get_probe(&STANDARD.encode(bad.to_string())),
        Probe::get("/devices?count=1").signing(Signing::WrongSecret),
    ];
    for p in &probes {
        let ex = t.send(p).await?;
        check(
            ex.content_type.as_deref() == Some(JSON_CT)
                && ex.json().is_some()
                && indented(&ex.body),
            &ex,
            "application/json; charset=utf-8 with a 2-space-indented JSON body",
            || ex.summary(),
        )?;
    }
    Ok(())
}

async fn unknown_route(t: &Target) -> Result<(), Failure> {
    let ex = get(t, "/dtconformance-no-such-endpoint?count=1").await?;
    ensure(
        ex.status == 302
            && ex.location.as_deref() == Some("/login")
            && ex.body == "Found. Redirecting to /login",
        &ex,
        "HTTP 302, Location /login, body 'Found. Redirecting to /login'",
    )
}
