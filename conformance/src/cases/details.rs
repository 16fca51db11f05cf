//! `GET /details` (reference §3.3, §4, §6.3, §6.4; DECISIONS D3).
//!
//! Appliance cases find a device that has events (from `/devices`) or a model breach
//! (from `/modelbreaches`) first and query those.

use std::collections::BTreeSet;

use dt_protocol::DateFormat;
use serde_json::Value;

use crate::case;
use crate::case::{Case, Failure};
use crate::cases::devices::{
    check, enc, fmt_ms, get, get_array, is_input_error, is_spaced, keys_within, some_devices,
};
use crate::cases::modelbreaches::recent_breaches;
use crate::probe::Exchange;
use crate::target::Target;

/// The cases.
pub fn cases() -> Vec<Case> {
    vec![
        case!("details.requires-subject", "GET /details without did, pbid, msg or blockedconnections MUST get 400 INPUT ERROR.", "ref 3.3; D3", [Appliance], requires_subject),
        case!("errors.input-error-shape", "An invalid-parameter answer MUST be exactly 400 application/json; charset=utf-8 {\"error\": \"<what>\", \"response\": \"INPUT ERROR\"}, 2-space indented, keys in that order.", "D3; ref 2.1, 8.6", [Appliance], input_error_shape),
        case!("details.eventtype-default-connection", "GET /details?did=N MUST default to eventtype=connection: the same events as eventtype=connection, each with action and eventType \"connection\".", "ref 3.3; ref 7.9", [Appliance], eventtype_default),
        case!("details.time-pairs-required", "A lone starttime, endtime, from or to on /details MUST get 400 INPUT ERROR (time parameters come in pairs).", "ref 3.3 notes; ref 4; D3", [Appliance], time_pairs_required),
        case!("details.count-with-window-refused", "count together with starttime/endtime or from/to on /details MUST get 400 INPUT ERROR.", "ref 3.3 notes; D3", [Appliance], count_with_window),
        case!("details.sorted-by-time", "/details events MUST be sorted by timems, oldest first.", "ref 3.3; ref 7.9", [Appliance], sorted_by_time),
        case!("details.connection-shape", "A connection event MUST carry time (YYYY-MM-DD HH:MM:SS of timems), timems, action, eventType, uid, port, sourcePort, destinationPort, direction (in or out), protocol, sourceDevice, destinationDevice, source and destination.", "ref 3.3, 6.3, 6.4", [Appliance], connection_shape),
        case!("details.nested-device-time-string", "A known device nested in an event (sourceDevice/destinationDevice with did) MUST carry time as a string of epoch ms.", "ref 3.3, 6.4 [CLIENT]", [Appliance], nested_time_string),
        case!("details.window-ms", "/details?did&starttime&endtime MUST return only events with timems inside the window.", "ref 3.3, 4", [Appliance], window_ms),
        case!("details.window-from-to", "/details?did&from&to (YYYY-MM-DD HH:MM:SS) MUST return only events inside the window.", "ref 3.3, 4", [Appliance], window_from_to),
        case!("details.window-forms-agree", "The same window given as starttime/endtime (ms) and as from/to strings MUST return the same events.", "ref 3.3, 4", [Appliance], window_forms_agree),
        case!("details.window-inclusive", "Both ends of a /details window MUST be inclusive: events at exactly starttime and endtime are returned.", "world/src/api/details.rs", [MockOnly], window_inclusive),
        case!("details.count-limits", "/details?did&count=N MUST return at most N events.", "ref 3.3", [Appliance], count_limits),
        case!("details.default-count-100", "Without a window or count, /details MUST return the newest 100 events at most (exactly 100 for a busy device).", "world/src/api/details.rs; ref 8.8", [MockOnly], default_count),
        case!("details.pbid-events", "GET /details?pbid=N MUST answer an array whose first event is the policybreach event of breach N (eventType and action \"policybreach\", pbid N).", "ref 3.3, 6.4", [Appliance], pbid_events),
        case!("details.filter.uid", "/details?did&uid=U MUST return only the connection with that uid.", "ref 3.3", [Appliance], filter_uid),
        case!("details.filter.destinationport", "/details?did&destinationport=P MUST return only events with destinationPort P.", "ref 3.3", [Appliance], filter_destinationport),
        case!("details.eventtype-invalid", "An unknown eventtype MUST get 400 INPUT ERROR.", "D3; world/src/api/details.rs", [MockOnly], eventtype_invalid),
        case!("details.eventtype-modelbreach", "/details?did&eventtype=modelbreach MUST return the device's breaches as policybreach events.", "ref 3.3; world/src/api/details.rs", [MockOnly], eventtype_modelbreach),
        case!("details.eventtype-unusualconnection", "/details?did&eventtype=unusualconnection MUST return only events whose action and eventType are unusualconnection.", "ref 3.3; world/src/api/details.rs", [MockOnly], eventtype_unusual),
        case!("details.direction-relative", "direction MUST be relative to the queried device: out when it is the source, in when it is only the destination.", "world/src/api/details.rs", [MockOnly], direction_relative),
        case!("details.unknown-did-empty", "/details for an unknown did MUST answer 200 [].", "world/src/api/details.rs", [MockOnly], unknown_did),
        case!("responsedata.details", "/details?responsedata=uid,timems MUST restrict every event to those keys.", "ref 3 general; ref 7.12", [Appliance], responsedata_details),
    ]
}

/// A device that has connection events, and up to 50 of them (newest, oldest first).
async fn device_with_events(t: &Target) -> Result<(u64, Exchange, Vec<Value>), Failure> {
    let (ex, devices) = some_devices(t).await?;
    for did in devices.iter().filter_map(|d| d["did"].as_u64()).take(10) {
        let (ex, events) = get_array(t, format!("/details?did={did}&count=50")).await?;
        if !events.is_empty() {
            return Ok((did, ex, events));
        }
    }
    Err(Failure::with(
        &ex,
        "a device with connection events among the first ten devices",
        "none of them has events: nothing to check",
    ))
}

fn timems(e: &Value) -> i64 {
    e["timems"].as_i64().unwrap_or(i64::MIN)
}

fn events_key(events: &[Value]) -> Vec<(i64, String)> {
    events
        .iter()
        .map(|e| (timems(e), e["uid"].as_str().unwrap_or_default().to_string()))
        .collect()
}

fn within(ex: &Exchange, events: &[Value], s: i64, e: i64) -> Result<(), Failure> {
    let outside: Vec<i64> = events
        .iter()
        .map(timems)
        .filter(|t| *t < s || *t > e)
        .collect();
    check(
        outside.is_empty(),
        ex,
        format!("every event's timems in [{s}, {e}]"),
        || format!("events at {outside:?}"),
    )
}

/// The window of a discovered set of events, widened to whole seconds.
fn second_window(events: &[Value]) -> (i64, i64) {
    let s = events.iter().map(timems).min().unwrap_or_default();
    let e = events.iter().map(timems).max().unwrap_or_default();
    (
        s - s.rem_euclid(1000),
        e + (1000 - e.rem_euclid(1000)) % 1000,
    )
}

async fn requires_subject(t: &Target) -> Result<(), Failure> {
    for target in ["/details", "/details?eventtype=connection&count=5"] {
        let ex = get(t, target).await?;
        let v = ex.json().unwrap_or_default();
        check(
            ex.status == 400 && v["response"] == "INPUT ERROR" && v["error"].is_string(),
            &ex,
            "HTTP 400 {\"error\": ..., \"response\": \"INPUT ERROR\"}",
            || ex.summary(),
        )?;
    }
    Ok(())
}

async fn input_error_shape(t: &Target) -> Result<(), Failure> {
    let ex = get(t, "/details?eventtype=connection").await?;
    is_input_error(&ex)
}

async fn eventtype_default(t: &Target) -> Result<(), Failure> {
    let (did, ex, events) = device_with_events(t).await?;
    check(
        events
            .iter()
            .all(|e| e["eventType"] == "connection" && e["action"] == "connection"),
        &ex,
        "every event with action and eventType \"connection\"",
        || ex.summary(),
    )?;
    let (ex2, explicit) = get_array(
        t,
        format!("/details?did={did}&count=50&eventtype=connection"),
    )
    .await?;
    check(
        events_key(&explicit) == events_key(&events),
        &ex2,
        "the same events as without eventtype",
        || {
            format!(
                "{} events vs {} without eventtype",
                explicit.len(),
                events.len()
            )
        },
    )
}

async fn time_pairs_required(t: &Target) -> Result<(), Failure> {
    let (did, _, events) = device_with_events(t).await?;
    let s = timems(&events[0]);
    let spaced = enc(&fmt_ms(s, DateFormat::Spaced));
    for lone in [
        format!("starttime={s}"),
        format!("endtime={s}"),
        format!("from={spaced}"),
        format!("to={spaced}"),
    ] {
        let ex = get(t, format!("/details?did={did}&{lone}")).await?;
        is_input_error(&ex)?;
    }
    Ok(())
}

async fn count_with_window(t: &Target) -> Result<(), Failure> {
    let (did, _, events) = device_with_events(t).await?;
    let (s, e) = second_window(&events);
    let (from, to) = (
        enc(&fmt_ms(s, DateFormat::Spaced)),
        enc(&fmt_ms(e, DateFormat::Spaced)),
    );
    for q in [
        format!("starttime={s}&endtime={e}&count=5"),
        format!("count=5&from={from}&to={to}"),
    ] {
        let ex = get(t, format!("/details?did={did}&{q}")).await?;
        is_input_error(&ex)?;
    }
    Ok(())
}

async fn sorted_by_time(t: &Target) -> Result<(), Failure> {
    let (_, ex, events) = device_with_events(t).await?;
    let times: Vec<i64> = events.iter().map(timems).collect();
    check(
        times.windows(2).all(|p| p[0] <= p[1]),
        &ex,
        "timems non-decreasing",
        || format!("{times:?}"),
    )
}

async fn connection_shape(t: &Target) -> Result<(), Failure> {
    let (_, ex, events) = device_with_events(t).await?;
    for e in &events {
        let time_ok = match (e["time"].as_str(), e["timems"].as_i64()) {
            (Some(s), Some(ms)) => is_spaced(s) && s == fmt_ms(ms, DateFormat::Spaced),
            _ => false,
        };
        let ok = time_ok
            && e["action"].is_string()
            && e["eventType"].is_string()
            && e["uid"].is_string()
            && e["port"].is_u64()
            && e["sourcePort"].is_u64()
            && e["destinationPort"].is_u64()
            && (e["direction"] == "in" || e["direction"] == "out")
            && e["protocol"].is_string()
            && e["sourceDevice"].is_object()
            && e["destinationDevice"].is_object()
            && e["source"].is_string()
            && e["destination"].is_string();
        check(
            ok,
            &ex,
            "every connection event with the documented keys",
            || format!("event {e}"),
        )?;
    }
    Ok(())
}

async fn nested_time_string(t: &Target) -> Result<(), Failure> {
    let (_, ex, events) = device_with_events(t).await?;
    let known: Vec<&Value> = events
        .iter()
        .flat_map(|e| [&e["sourceDevice"], &e["destinationDevice"]])
        .filter(|d| d.get("did").is_some())
        .collect();
    check(
        !known.is_empty(),
        &ex,
        "events naming the queried device as an end",
        || "no nested device with a did".into(),
    )?;
    let bad: Vec<&&Value> = known
        .iter()
        .filter(|d| {
            !d["time"]
                .as_str()
                .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    check(
        bad.is_empty(),
        &ex,
        "nested device time as a string of epoch ms",
        || format!("nested devices {bad:?}"),
    )
}

async fn window_ms(t: &Target) -> Result<(), Failure> {
    let (did, _, events) = device_with_events(t).await?;
    let s = timems(&events[0]);
    let e = timems(&events[events.len() - 1]);
    let (ex, got) = get_array(t, format!("/details?did={did}&starttime={s}&endtime={e}")).await?;
    check(
        !got.is_empty(),
        &ex,
        "the discovered events in their own window",
        || "an empty array".into(),
    )?;
    within(&ex, &got, s, e)
}

async fn window_from_to(t: &Target) -> Result<(), Failure> {
    let (did, _, events) = device_with_events(t).await?;
    let (s, e) = second_window(&events);
    let (from, to) = (
        enc(&fmt_ms(s, DateFormat::Spaced)),
        enc(&fmt_ms(e, DateFormat::Spaced)),
    );
    let (ex, got) = get_array(t, format!("/details?did={did}&from={from}&to={to}")).await?;
    check(
        !got.is_empty(),
        &ex,
        "the discovered events in their own window",
        || "an empty array".into(),
    )?;
    within(&ex, &got, s, e)
}

async fn window_forms_agree(t: &Target) -> Result<(), Failure> {
    let (did, _, events) = device_with_events(t).await?;
    let (s, e) = second_window(&events);
    let (_, by_ms) = get_array(t, format!("/details?did={did}&starttime={s}&endtime={e}")).await?;
    let (from, to) = (
        enc(&fmt_ms(s, DateFormat::Spaced)),
        enc(&fmt_ms(e, DateFormat::Spaced)),
    );
    let (ex, by_str) = get_array(t, format!("/details?did={did}&from={from}&to={to}")).await?;
    check(
        events_key(&by_ms) == events_key(&by_str),
        &ex,
        format!(
            "the same {} events as starttime={s}&endtime={e}",
            by_ms.len()
        ),
        || format!("{} events", by_str.len()),
    )
}

async fn window_inclusive(t: &Target) -> Result<(), Failure> {
    let (did, _, events) = device_with_events(t).await?;
    let s = timems(&events[0]);
    let e = timems(&events[events.len() - 1]);
    let (ex, got) = get_array(t, format!("/details?did={did}&starttime={s}&endtime={e}")).await?;
    let want: BTreeSet<(i64, String)> = events_key(&events).into_iter().collect();
    let have: BTreeSet<(i64, String)> = events_key(&got).into_iter().collect();
    check(
        want.is_subset(&have),
        &ex,
        "the events at exactly starttime and endtime included",
        || format!("missing {:?}", want.difference(&have).collect::<Vec<_>>()),
    )
}

async fn count_limits(t: &Target) -> Result<(), Failure> {
    let (did, _, events) = device_with_events(t).await?;
    let (ex, got) = get_array(t, format!("/details?did={did}&count=3")).await?;
    let want = events.len().min(3);
    check(got.len() == want, &ex, format!("{want} events"), || {
        format!("{} events", got.len())
    })
}

async fn default_count(t: &Target) -> Result<(), Failure> {
    let (_, devices) = get_array(t, "/devices?seensince=30days").await?;
    let mut busiest: Option<(u64, usize)> = None;
    for did in devices.iter().filter_map(|d| d["did"].as_u64()) {
        let (ex, got) = get_array(t, format!("/details?did={did}")).await?;
        check(got.len() <= 100, &ex, "at most 100 events", || {
            format!("{} events", got.len())
        })?;
        if busiest.is_none_or(|(_, n)| got.len() > n) {
            busiest = Some((did, got.len()));
        }
    }
    let (did, n) = busiest.unwrap_or_default();
    let (ex, more) = get_array(t, format!("/details?did={did}&count=1000")).await?;
    check(
        n == 100 && more.len() > 100,
        &ex,
        "a busy device with 100 events by default and more with count=1000",
        || format!("did {did}: {n} by default, {} with count=1000", more.len()),
    )
}

async fn pbid_events(t: &Target) -> Result<(), Failure> {
    let (_, breaches, _, _) = recent_breaches(t, "").await?;
    let pbid = breaches[0]["pbid"].as_u64().unwrap_or_default();
    let (ex, got) = get_array(t, format!("/details?pbid={pbid}")).await?;
    let first = got.first().cloned().unwrap_or_default();
    check(
        first["eventType"] == "policybreach"
            && first["action"] == "policybreach"
            && first["pbid"].as_u64() == Some(pbid)
            && first["time"].as_str().is_some_and(is_spaced)
            && first["timems"].is_i64(),
        &ex,
        format!("a first event {{eventType: policybreach, action: policybreach, pbid: {pbid}, time, timems}}"),
        || ex.summary(),
    )?;
    check(
        got.iter()
            .all(|e| e["eventType"].is_string() && e["timems"].is_i64()),
        &ex,
        "every event with eventType and timems",
        || ex.summary(),
    )
}

async fn filter_uid(t: &Target) -> Result<(), Failure> {
    let (did, _, events) = device_with_events(t).await?;
    let uid = events[events.len() - 1]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (ex, got) = get_array(t, format!("/details?did={did}&uid={}&count=50", enc(&uid))).await?;
    check(
        !got.is_empty() && got.iter().all(|e| e["uid"] == uid.as_str()),
        &ex,
        format!("only the connection {uid}"),
        || {
            format!(
                "uids {:?}",
                got.iter().map(|e| &e["uid"]).collect::<Vec<_>>()
            )
        },
    )
}

async fn filter_destinationport(t: &Target) -> Result<(), Failure> {
    let (did, _, events) = device_with_events(t).await?;
    let port = events[0]["destinationPort"].as_u64().unwrap_or_default();
    let (ex, got) = get_array(
        t,
        format!("/details?did={did}&destinationport={port}&count=50"),
    )
    .await?;
    check(
        !got.is_empty()
            && got
                .iter()
                .all(|e| e["destinationPort"].as_u64() == Some(port)),
        &ex,
        format!("only events with destinationPort {port}"),
        || {
            format!(
                "ports {:?}",
                got.iter()
                    .map(|e| &e["destinationPort"])
                    .collect::<Vec<_>>()
            )
        },
    )
}

async fn eventtype_invalid(t: &Target) -> Result<(), Failure> {
    let (did, _, _) = device_with_events(t).await?;
    let ex = get(
        t,
        format!("/details?did={did}&eventtype=dtconformancebogus"),
    )
    .await?;
    is_input_error(&ex)
}

async fn eventtype_modelbreach(t: &Target) -> Result<(), Failure> {
    let (_, breaches, _, _) = recent_breaches(t, "").await?;
    let b = &breaches[0];
    let (pbid, did) = (
        b["pbid"].as_u64().unwrap_or_default(),
        b["device"]["did"].as_u64().unwrap_or_default(),
    );
    let (ex, got) = get_array(t, format!("/details?did={did}&eventtype=modelbreach")).await?;
    check(
        got.iter().all(|e| {
            e["eventType"] == "policybreach"
                && e["devices"]
                    .as_array()
                    .is_some_and(|d| d.iter().any(|x| x.as_u64() == Some(did)))
        }) && got.iter().any(|e| e["pbid"].as_u64() == Some(pbid)),
        &ex,
        format!("policybreach events of device {did}, including breach {pbid}"),
        || ex.summary(),
    )
}

async fn eventtype_unusual(t: &Target) -> Result<(), Failure> {
    let (_, breaches, _, _) = recent_breaches(t, "").await?;
    let did = breaches[0]["device"]["did"].as_u64().unwrap_or_default();
    let (ex, got) = get_array(
        t,
        format!("/details?did={did}&eventtype=unusualconnection&count=1000"),
    )
    .await?;
    check(
        !got.is_empty()
            && got.iter().all(|e| {
                e["eventType"] == "unusualconnection" && e["action"] == "unusualconnection"
            }),
        &ex,
        format!("a non-empty array of unusualconnection events for breach device {did}"),
        || ex.summary(),
    )
}

async fn direction_relative(t: &Target) -> Result<(), Failure> {
    let (did, ex, events) = device_with_events(t).await?;
    for e in &events {
        let want = if e["sdid"].as_u64() == Some(did) {
            "out"
        } else {
            "in"
        };
        check(
            e["direction"] == want,
            &ex,
            format!("direction {want} for did {did}"),
            || {
                format!(
                    "event {} has sdid {} ddid {} direction {}",
                    e["uid"], e["sdid"], e["ddid"], e["direction"]
                )
            },
        )?;
    }
    Ok(())
}

async fn unknown_did(t: &Target) -> Result<(), Failure> {
    let (ex, got) = get_array(t, "/details?did=999999&count=5").await?;
    check(got.is_empty(), &ex, "an empty array", || ex.summary())
}

async fn responsedata_details(t: &Target) -> Result<(), Failure> {
    let (did, _, _) = device_with_events(t).await?;
    let (ex, got) = get_array(
        t,
        format!("/details?did={did}&count=3&responsedata=uid%2Ctimems"),
    )
    .await?;
    check(
        !got.is_empty()
            && got
                .iter()
                .all(|e| keys_within(e, &["uid", "timems"]) && e["timems"].is_i64()),
        &ex,
        "a non-empty array of events holding only uid and timems",
        || ex.summary(),
    )
}
