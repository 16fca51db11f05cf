//! `GET /modelbreaches` and `GET /modelbreaches/{pbid}` (reference §3.4, §6.5, §6.5b;
//! DECISIONS D3).
//!
//! Appliance cases discover breaches over the last day (or 7, or 30 days when the last
//! day has none) and query what they found.

use std::collections::BTreeSet;

use dt_protocol::DateFormat;
use serde_json::Value;

use crate::case;
use crate::case::{Case, Failure};
use crate::cases::devices::{
    check, enc, fmt_ms, get, get_array, indented, is_input_error, is_not_found, keys_within,
    now_ms, object_200, JSON_CT,
};
use crate::probe::Exchange;
use crate::target::Target;

/// The cases.
pub fn cases() -> Vec<Case> {
    vec![
        case!("modelbreaches.shape", "GET /modelbreaches over a window MUST answer a 2-space-indented JSON array of breaches with pbid, time, creationTime, commentCount, score (0-1), percentscore (~score*100), model, triggeredComponents and device.", "ref 3.4, 6.5b; ref 7.8", [Appliance], shape),
        case!("modelbreaches.sorted", "/modelbreaches MUST be sorted by time, oldest first.", "ref 3.4; ref 7.8", [Appliance], sorted),
        case!("modelbreaches.window-ms", "/modelbreaches?starttime&endtime MUST return only breaches whose time is inside the window.", "ref 3.4, 4", [Appliance], window_ms),
        case!("modelbreaches.from-to-strings", "The same window as from/to strings (YYYY-MM-DD HH:MM:SS) and as starttime/endtime (ms) MUST return the same breaches.", "ref 3.4, 4", [Appliance], from_to_strings),
        case!("modelbreaches.lone-starttime", "A lone starttime MUST be tolerated (end = now): 200 with every breach at or after it.", "ref 3.4 [CLIENT XSOAR]; ref 7.8", [Appliance], lone_starttime),
        case!("modelbreaches.lone-endtime-refused", "A lone endtime MUST get 400 INPUT ERROR.", "ref 3.4 notes; world/src/api/breaches.rs", [MockOnly], lone_endtime),
        case!("modelbreaches.minscore-filters", "minscore=0.5 MUST return only breaches with score >= 0.5.", "ref 3.4; ref 7.8", [Appliance], minscore_filters),
        case!("modelbreaches.minscore-bounds", "minscore outside 0-1 or not a number MUST get 400 INPUT ERROR.", "D3; world/src/api/breaches.rs", [MockOnly], minscore_bounds),
        case!("modelbreaches.then-now-default", "By default model MUST be {then, now}, each a model object with name, pid, phid and uuid (the same pid).", "ref 3.4, 6.5b; ref 7.8", [Appliance], then_now),
        case!("modelbreaches.historicmodelonly-flat", "historicmodelonly=true MUST make model a single flat model object (name, pid, ...; no then/now).", "ref 3.4, 6.5", [Appliance], historic_flat),
        case!("modelbreaches.includeacknowledged-default-false", "Without includeacknowledged no acknowledged breach MUST be returned; includeacknowledged=true MUST return a superset.", "ref 3.4; ref 7.8", [Appliance], ack_default),
        case!("modelbreaches.includeacknowledged-fixture", "In the default world includeacknowledged=true MUST add exactly the 3 acknowledged breaches, with acknowledged: true.", "fixtures/worlds/default", [MockOnly], ack_fixture),
        case!("modelbreaches.breachurl", "includebreachurl=true MUST add breachUrl \"https://<host>/#modelbreach/<pbid>\" to every breach.", "ref 3.4 notes; ref 7.8", [Appliance], breachurl),
        case!("modelbreaches.deviceattop-default", "By default every breach MUST carry a top-level device object with did; deviceattop=false MUST remove it.", "ref 3.4 notes; ref 7.8", [Appliance], deviceattop),
        case!("modelbreaches.by-pbid-object", "GET /modelbreaches/N MUST answer a single JSON object for breach N.", "ref 3.4 [DOC fixture S3]", [Appliance], by_pbid_object),
        case!("modelbreaches.pbid-param-array", "GET /modelbreaches?pbid=N MUST answer an array holding only breach N.", "ref 3.4 [CLIENT XSOAR]", [Appliance], pbid_param),
        case!("modelbreaches.unknown-pbid-404", "GET /modelbreaches/N for a breach that does not exist MUST get 404 with a JSON error key.", "D3; ref 2.1", [Appliance], unknown_pbid),
        case!("errors.not-found-shape", "A missing object MUST be answered exactly 404 application/json; charset=utf-8 {\"error\": \"<message>\"} (only that key), 2-space indented.", "D3; ref 2.1", [Appliance], not_found_shape),
        case!("modelbreaches.minimal", "minimal=true MUST drop triggeredComponents, mitreTechniques and breachUrl and reduce each model to name, pid, phid, uuid, category.", "ref 3.4 notes; world/src/api/breaches.rs", [MockOnly], minimal),
        case!("modelbreaches.default-window-year", "Without time parameters the default world's 16 unacknowledged breaches MUST all be returned (a year back from now).", "ref 3.4 notes; fixtures/worlds/default", [MockOnly], default_year),
        case!("modelbreaches.count-newest", "count=N MUST keep the newest N breaches, still oldest first.", "world/src/api/breaches.rs", [MockOnly], count_newest),
        case!("modelbreaches.expandenums", "expandenums=true MUST render enum filter arguments (Direction) as labels instead of codes.", "ref 3.4; world/src/api/breaches.rs", [MockOnly], expandenums),
        case!("modelbreaches.window-inclusive", "starttime = endtime = a breach's time MUST return that breach (both ends inclusive).", "world/src/api/breaches.rs", [MockOnly], window_inclusive),
        case!("responsedata.modelbreaches", "/modelbreaches?responsedata=pbid,score MUST restrict every breach to those keys.", "ref 3 general; ref 7.12", [Appliance], responsedata_breaches),
        case!("responsedata.modelbreach-object", "/modelbreaches/N?responsedata=pbid,time MUST restrict the single object to those keys.", "ref 3 general; ref 7.12", [Appliance], responsedata_object),
    ]
}

const DAY_MS: i64 = 86_400_000;

/// Breaches over the last day, 7 days or 30 days (the first window that has any), with
/// `extra` (`&name=value...`) added to the query; fails when the last 30 days have none.
/// Returns the answer and the window's start and end (ms).
pub(crate) async fn recent_breaches(
    t: &Target,
    extra: &str,
) -> Result<(Exchange, Vec<Value>, i64, i64), Failure> {
    let end = now_ms(t);
    let mut last = None;
    for days in [1, 7, 30] {
        let start = end - days * DAY_MS;
        let (ex, got) = get_array(
            t,
            format!("/modelbreaches?starttime={start}&endtime={end}{extra}"),
        )
        .await?;
        if !got.is_empty() {
            return Ok((ex, got, start, end));
        }
        last = Some(ex);
    }
    let ex = last.expect("three windows were tried");
    Err(Failure::with(
        &ex,
        "at least one model breach in the last 30 days to check against",
        "the appliance reported none: nothing to check",
    ))
}

fn pbid(b: &Value) -> u64 {
    b["pbid"].as_u64().unwrap_or_default()
}

fn pbids(bs: &[Value]) -> Vec<u64> {
    bs.iter().map(pbid).collect()
}

fn time(b: &Value) -> i64 {
    b["time"].as_i64().unwrap_or(i64::MIN)
}

fn is_model(m: &Value) -> bool {
    m["name"].is_string() && m["pid"].is_u64() && m["phid"].is_u64() && m["uuid"].is_string()
}

async fn shape(t: &Target) -> Result<(), Failure> {
    let (ex, got, _, _) = recent_breaches(t, "").await?;
    check(indented(&ex.body), &ex, "a 2-space-indented body", || {
        ex.summary()
    })?;
    for b in &got {
        let score = b["score"].as_f64().unwrap_or(-1.0);
        let pct = b["percentscore"].as_f64().unwrap_or(-100.0);
        let comps_ok = b["triggeredComponents"].as_array().is_some_and(|cs| {
            cs.iter().all(|c| {
                c["time"].is_i64()
                    && c["cid"].is_u64()
                    && c["metric"].is_object()
                    && c["triggeredFilters"].is_array()
            })
        });
        let ok = b["pbid"].is_u64()
            && b["time"].is_i64()
            && b["creationTime"].is_i64()
            && b["commentCount"].is_u64()
            && (0.0..=1.0).contains(&score)
            && (pct - score * 100.0).abs() <= 1.0
            && b["model"].is_object()
            && comps_ok
            && b["device"]["did"].is_u64();
        check(
            ok,
            &ex,
            "every breach with the documented keys and types",
            || format!("breach {}: {}", b["pbid"], truncated(b)),
        )?;
    }
    Ok(())
}

fn truncated(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 400 {
        let mut cut = 400;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

async fn sorted(t: &Target) -> Result<(), Failure> {
    let (ex, got, _, _) = recent_breaches(t, "").await?;
    let times: Vec<i64> = got.iter().map(time).collect();
    check(
        times.windows(2).all(|p| p[0] <= p[1]),
        &ex,
        "time non-decreasing",
        || format!("{times:?}"),
    )
}

fn all_within(ex: &Exchange, got: &[Value], s: i64, e: i64) -> Result<(), Failure> {
    let outside: Vec<(u64, i64)> = got
        .iter()
        .filter(|b| time(b) < s || time(b) > e)
        .map(|b| (pbid(b), time(b)))
        .collect();
    check(
        outside.is_empty(),
        ex,
        format!("every breach time in [{s}, {e}]"),
        || format!("breaches outside: {outside:?}"),
    )
}

async fn window_ms(t: &Target) -> Result<(), Failure> {
    let (ex, got, s, e) = recent_breaches(t, "").await?;
    all_within(&ex, &got, s, e)
}

async fn from_to_strings(t: &Target) -> Result<(), Failure> {
    let (_, _, s, e) = recent_breaches(t, "").await?;
    let (s, e) = (s - s.rem_euclid(1000), e - e.rem_euclid(1000));
    let (_, by_ms) = get_array(t, format!("/modelbreaches?starttime={s}&endtime={e}")).await?;
    let (from, to) = (
        enc(&fmt_ms(s, DateFormat::Spaced)),
        enc(&fmt_ms(e, DateFormat::Spaced)),
    );
    let (ex, by_str) = get_array(t, format!("/modelbreaches?from={from}&to={to}")).await?;
    check(
        pbids(&by_ms) == pbids(&by_str),
        &ex,
        format!(
            "the same breaches as starttime={s}&endtime={e}: {:?}",
            pbids(&by_ms)
        ),
        || format!("{:?}", pbids(&by_str)),
    )
}

async fn lone_starttime(t: &Target) -> Result<(), Failure> {
    let (_, windowed, s, _) = recent_breaches(t, "").await?;
    let (ex, got) = get_array(t, format!("/modelbreaches?starttime={s}")).await?;
    let have: BTreeSet<u64> = pbids(&got).into_iter().collect();
    let missing: Vec<u64> = pbids(&windowed)
        .into_iter()
        .filter(|p| !have.contains(p))
        .collect();
    check(
        missing.is_empty(),
        &ex,
        "the breaches from starttime to now",
        || format!("missing {missing:?}"),
    )?;
    all_within(&ex, &got, s, i64::MAX)
}

async fn lone_endtime(t: &Target) -> Result<(), Failure> {
    let ex = get(t, format!("/modelbreaches?endtime={}", now_ms(t))).await?;
    is_input_error(&ex)
}

async fn minscore_filters(t: &Target) -> Result<(), Failure> {
    let (_, all, s, e) = recent_breaches(t, "").await?;
    let (ex, high) = get_array(
        t,
        format!("/modelbreaches?starttime={s}&endtime={e}&minscore=0.5"),
    )
    .await?;
    let want: Vec<u64> = all
        .iter()
        .filter(|b| b["score"].as_f64().is_some_and(|x| x >= 0.5))
        .map(pbid)
        .collect();
    check(
        high.iter()
            .all(|b| b["score"].as_f64().is_some_and(|x| x >= 0.5))
            && pbids(&high) == want,
        &ex,
        format!("exactly the breaches with score >= 0.5: {want:?}"),
        || {
            format!(
                "{:?}",
                high.iter()
                    .map(|b| (pbid(b), &b["score"]))
                    .collect::<Vec<_>>()
            )
        },
    )
}

async fn minscore_bounds(t: &Target) -> Result<(), Failure> {
    for bad in ["1.5", "-0.1", "high"] {
        let ex = get(t, format!("/modelbreaches?minscore={bad}")).await?;
        is_input_error(&ex)?;
    }
    Ok(())
}

async fn then_now(t: &Target) -> Result<(), Failure> {
    let (ex, got, _, _) = recent_breaches(t, "").await?;
    for b in &got {
        let m = &b["model"];
        check(
            is_model(&m["then"]) && is_model(&m["now"]) && m["then"]["pid"] == m["now"]["pid"],
            &ex,
            "model {then: {name,pid,phid,uuid,...}, now: {...}} with the same pid",
            || {
                format!(
                    "breach {} has model keys {:?}",
                    b["pbid"],
                    m.as_object().map(|o| o.keys().collect::<Vec<_>>())
                )
            },
        )?;
    }
    Ok(())
}

async fn historic_flat(t: &Target) -> Result<(), Failure> {
    let (ex, got, _, _) = recent_breaches(t, "&historicmodelonly=true").await?;
    for b in &got {
        let m = &b["model"];
        check(
            is_model(m) && m.get("then").is_none() && m.get("now").is_none(),
            &ex,
            "a flat model object with name, pid, phid, uuid and no then/now",
            || {
                format!(
                    "breach {} has model keys {:?}",
                    b["pbid"],
                    m.as_object().map(|o| o.keys().collect::<Vec<_>>())
                )
            },
        )?;
    }
    Ok(())
}

async fn ack_default(t: &Target) -> Result<(), Failure> {
    let (ex, got, s, e) = recent_breaches(t, "").await?;
    check(
        got.iter()
            .all(|b| b.get("acknowledged") != Some(&Value::Bool(true))),
        &ex,
        "no acknowledged breach",
        || {
            format!(
                "acknowledged: {:?}",
                got.iter()
                    .filter(|b| b["acknowledged"] == true)
                    .map(pbid)
                    .collect::<Vec<_>>()
            )
        },
    )?;
    let (ex, all) = get_array(
        t,
        format!("/modelbreaches?starttime={s}&endtime={e}&includeacknowledged=true"),
    )
    .await?;
    let have: BTreeSet<u64> = pbids(&all).into_iter().collect();
    let missing: Vec<u64> = pbids(&got)
        .into_iter()
        .filter(|p| !have.contains(p))
        .collect();
    check(
        missing.is_empty(),
        &ex,
        "a superset of the default answer",
        || format!("missing {missing:?}"),
    )
}

async fn ack_fixture(t: &Target) -> Result<(), Failure> {
    let (ex, default) = get_array(t, "/modelbreaches").await?;
    check(
        default.iter().all(|b| b.get("acknowledged").is_none()),
        &ex,
        "no acknowledged key by default",
        || ex.summary(),
    )?;
    let (ex, all) = get_array(t, "/modelbreaches?includeacknowledged=true").await?;
    let acked: Vec<u64> = all
        .iter()
        .filter(|b| b["acknowledged"] == true)
        .map(pbid)
        .collect();
    let have: BTreeSet<u64> = pbids(&default).into_iter().collect();
    let added: Vec<u64> = pbids(&all)
        .into_iter()
        .filter(|p| !have.contains(p))
        .collect();
    check(
        acked.len() == 3 && added == acked && all.iter().all(|b| b["acknowledged"].is_boolean()),
        &ex,
        "3 more breaches, exactly those with acknowledged: true",
        || format!("added {added:?}, acknowledged {acked:?}"),
    )
}

async fn breachurl(t: &Target) -> Result<(), Failure> {
    let (ex, got, _, _) = recent_breaches(t, "&includebreachurl=true").await?;
    for b in &got {
        let suffix = format!("/#modelbreach/{}", pbid(b));
        check(
            b["breachUrl"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://") && u.ends_with(&suffix)),
            &ex,
            format!("breachUrl \"https://<host>{suffix}\""),
            || format!("breach {} has breachUrl {}", b["pbid"], b["breachUrl"]),
        )?;
    }
    Ok(())
}

async fn deviceattop(t: &Target) -> Result<(), Failure> {
    let (ex, got, s, e) = recent_breaches(t, "").await?;
    check(
        got.iter().all(|b| b["device"]["did"].is_u64()),
        &ex,
        "a top-level device with did",
        || ex.summary(),
    )?;
    let (ex, nested) = get_array(
        t,
        format!("/modelbreaches?starttime={s}&endtime={e}&deviceattop=false"),
    )
    .await?;
    check(
        !nested.is_empty() && nested.iter().all(|b| b.get("device").is_none()),
        &ex,
        "breaches without a top-level device",
        || ex.summary(),
    )
}

async fn by_pbid_object(t: &Target) -> Result<(), Failure> {
    let (_, got, _, _) = recent_breaches(t, "").await?;
    let id = pbid(&got[got.len() - 1]);
    let ex = get(t, format!("/modelbreaches/{id}")).await?;
    let m = object_200(&ex)?;
    check(
        m.get("pbid").and_then(Value::as_u64) == Some(id) && m.get("model").is_some(),
        &ex,
        format!("a single breach object with pbid {id}"),
        || ex.summary(),
    )
}

async fn pbid_param(t: &Target) -> Result<(), Failure> {
    let (_, got, _, _) = recent_breaches(t, "").await?;
    let id = pbid(&got[0]);
    let (ex, one) = get_array(t, format!("/modelbreaches?pbid={id}")).await?;
    check(pbids(&one) == [id], &ex, format!("[breach {id}]"), || {
        format!("{:?}", pbids(&one))
    })
}

/// A pbid no appliance has handed out (but inside 32 bits).
const NO_SUCH_PBID: u64 = 2_147_000_123;

async fn unknown_pbid(t: &Target) -> Result<(), Failure> {
    let ex = get(t, format!("/modelbreaches/{NO_SUCH_PBID}")).await?;
    let v = ex.json().unwrap_or_default();
    check(
        ex.status == 404 && ex.content_type.as_deref() == Some(JSON_CT) && v["error"].is_string(),
        &ex,
        "HTTP 404 application/json; charset=utf-8 with an error key",
        || ex.summary(),
    )
}

async fn not_found_shape(t: &Target) -> Result<(), Failure> {
    let ex = get(t, format!("/modelbreaches/{NO_SUCH_PBID}")).await?;
    is_not_found(&ex)
}

async fn minimal(t: &Target) -> Result<(), Failure> {
    let (ex, got) = get_array(t, "/modelbreaches?minimal=true&includebreachurl=true").await?;
    let want = [
        "creationTime",
        "commentCount",
        "pbid",
        "time",
        "model",
        "score",
        "percentscore",
        "device",
    ];
    for b in &got {
        let keys: Vec<&str> = b
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let models_ok = ["then", "now"].iter().all(|k| {
            keys_within(&b["model"][k], &["name", "pid", "phid", "uuid", "category"])
                && is_model(&b["model"][k])
        });
        check(
            keys == want && models_ok,
            &ex,
            format!("keys {want:?} and minimal models"),
            || {
                format!(
                    "breach {} has keys {keys:?}, model {}",
                    b["pbid"], b["model"]
                )
            },
        )?;
    }
    check(
        !got.is_empty(),
        &ex,
        "breaches in the default world",
        || ex.summary(),
    )
}

async fn default_year(t: &Target) -> Result<(), Failure> {
    let (ex, got) = get_array(t, "/modelbreaches").await?;
    check(
        got.len() == 16,
        &ex,
        "16 breaches (19 in the world, 3 acknowledged)",
        || format!("{} breaches: {:?}", got.len(), pbids(&got)),
    )
}

async fn count_newest(t: &Target) -> Result<(), Failure> {
    let (_, all) = get_array(t, "/modelbreaches").await?;
    let (ex, two) = get_array(t, "/modelbreaches?count=2").await?;
    let want: Vec<u64> = pbids(&all).into_iter().rev().take(2).rev().collect();
    check(
        pbids(&two) == want,
        &ex,
        format!("the newest two, oldest first: {want:?}"),
        || format!("{:?}", pbids(&two)),
    )
}

async fn expandenums(t: &Target) -> Result<(), Failure> {
    let direction = |bs: &[Value]| -> Vec<Value> {
        bs.iter()
            .flat_map(|b| {
                b["triggeredComponents"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .flat_map(|c| {
                c["triggeredFilters"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|f| f["filterType"] == "Direction")
            .map(|f| f["arguments"]["value"].clone())
            .collect()
    };
    let (ex, plain) = get_array(t, "/modelbreaches?includeacknowledged=true").await?;
    let codes = direction(&plain);
    check(
        !codes.is_empty() && codes.iter().all(Value::is_number),
        &ex,
        "Direction filter arguments as numeric codes",
        || format!("{codes:?}"),
    )?;
    let (ex, expanded) = get_array(
        t,
        "/modelbreaches?includeacknowledged=true&expandenums=true",
    )
    .await?;
    let labels = direction(&expanded);
    check(
        labels.len() == codes.len() && labels.iter().all(|v| v == "in" || v == "out"),
        &ex,
        "Direction filter arguments as labels (in/out)",
        || format!("{labels:?}"),
    )
}

async fn window_inclusive(t: &Target) -> Result<(), Failure> {
    let (_, all) = get_array(t, "/modelbreaches").await?;
    let Some(b) = all.first() else {
        return Err(Failure::new("breaches in the default world", "none"));
    };
    let at = time(b);
    let (ex, got) = get_array(t, format!("/modelbreaches?starttime={at}&endtime={at}")).await?;
    check(
        pbids(&got).contains(&pbid(b)),
        &ex,
        format!("breach {} at exactly {at}", pbid(b)),
        || format!("{:?}", pbids(&got)),
    )
}

async fn responsedata_breaches(t: &Target) -> Result<(), Failure> {
    let (ex, got, _, _) = recent_breaches(t, "&responsedata=pbid%2Cscore").await?;
    check(
        got.iter()
            .all(|b| keys_within(b, &["pbid", "score"]) && b["pbid"].is_u64()),
        &ex,
        "every breach holding only pbid and score",
        || ex.summary(),
    )
}

async fn responsedata_object(t: &Target) -> Result<(), Failure> {
    let (_, got, _, _) = recent_breaches(t, "").await?;
    let id = pbid(&got[0]);
    let ex = get(t, format!("/modelbreaches/{id}?responsedata=pbid%2Ctime")).await?;
    let m = object_200(&ex)?;
    check(
        m.keys().all(|k| k == "pbid" || k == "time")
            && m.get("pbid").and_then(Value::as_u64) == Some(id),
        &ex,
        format!("an object holding only pbid ({id}) and time"),
        || ex.summary(),
    )
}
