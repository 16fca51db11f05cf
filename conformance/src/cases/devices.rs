//! `GET /devices` (reference §3.2, §4, §6.2; DECISIONS D3), and the helpers the other
//! data-endpoint modules share: JSON checks, time formatting, query encoding and
//! device discovery.
//!
//! Cases tagged `appliance` discover what they query (a device's did, ip, MAC, subnet)
//! from the target itself; `mock-only` cases rely on the mock's default world
//! (`fixtures/worlds/default`) or on a choice the mock made where the appliance's
//! behaviour is unknown (e.g. which values are input errors).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use dt_protocol::DateFormat;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::case;
use crate::case::{ensure, Case, Failure};
use crate::probe::{Exchange, Probe};
use crate::target::Target;

/// The cases.
pub fn cases() -> Vec<Case> {
    vec![
        case!("devices.shape", "GET /devices MUST answer 200 with a 2-space-indented JSON array of device objects, each with did, ip, ips[{ip,timems,time,sid}], sid, time and endtime (epoch ms), typename and typelabel.", "ref 3.2, 6.2; D3", [Appliance], shape),
        case!("devices.ips-time-pairs", "Each device's ips[].time MUST be the YYYY-MM-DD HH:MM:SS UTC form of ips[].timems, and time (first seen) MUST NOT be after endtime (last seen).", "ref 3.2, 4", [Appliance], ips_time_pairs),
        case!("devices.did-returns-object", "GET /devices?did=N MUST answer a single JSON object (not an array) for that device.", "ref 3.2", [Appliance], did_returns_object),
        case!("devices.filter.ip", "GET /devices?ip=X MUST return only devices whose ip is X, including the device that has it.", "ref 3.2", [Appliance], filter_ip),
        case!("devices.filter.ip-unknown-empty", "GET /devices?ip= with an address no device has MUST answer 200 with an empty array.", "ref 3.2", [Appliance], filter_ip_unknown),
        case!("devices.filter.mac", "GET /devices?mac=M MUST return only devices with that MAC address, including the device that has it.", "ref 3.2", [Appliance], filter_mac),
        case!("devices.filter.sid", "GET /devices?sid=N MUST return only devices in subnet N.", "ref 3.2", [Appliance], filter_sid),
        case!("devices.count", "GET /devices?count=N MUST return at most N devices (exactly N when more are in the window).", "ref 3.2", [Appliance], count),
        case!("devices.priority-omitted-when-zero", "A device MUST NOT carry \"priority\": 0; devices with priority 0 omit the attribute.", "ref 3.2 notes; ref 7.11", [Appliance], priority_omitted),
        case!("devices.absent-attributes-omitted", "Absent device attributes (macaddress, hostname, devicelabel, credentials, vendor, os) MUST be omitted, never null.", "ref 3.2 notes", [Appliance], absent_omitted),
        case!("devices.optional-attributes-fixture", "In the default world, devices without hostname or MAC MUST omit those keys and only non-zero priorities MUST appear.", "ref 3.2 notes; fixtures/worlds/default", [MockOnly], optional_fixture),
        case!("devices.includetags", "includetags=true MUST add a tags array (of {tid,name,...}) to every device; without it devices MUST carry no tags key.", "ref 3.2", [Appliance], includetags),
        case!("devices.default-window-7days", "GET /devices without seensince MUST return only devices last seen (endtime) within the last 7 days.", "ref 3.2 notes; ref 4", [Appliance], default_window),
        case!("devices.default-window-fixture", "In the default world, GET /devices MUST leave out exactly the one device last seen 10 days ago, which seensince=30days includes.", "ref 3.2; fixtures/worlds/default", [MockOnly], default_window_fixture),
        case!("devices.seensince.units", "seensince MUST accept seconds and N{second,min,minute,hour,day,week}[s] and return only devices last seen within that span.", "ref 4; ref 3.2", [Appliance], seensince_units),
        case!("devices.seensince.equivalent-forms", "seensince=3600, 3600seconds, 60min, 60mins, 60minute, 1hour and 1hours MUST select the same devices.", "ref 4", [MockOnly], seensince_equivalent),
        case!("devices.seensince.invalid", "An unreadable seensince (5fortnights, 0, abc) MUST get 400 {\"error\": ..., \"response\": \"INPUT ERROR\"}.", "D3; world/src/api/devices.rs", [MockOnly], seensince_invalid),
        case!("devices.filter.iptime", "ip=X&iptime=T MUST return the device that held X at time T, even when another device holds it now.", "ref 3.2, 4; fixtures/worlds/default (did 127/130)", [MockOnly], filter_iptime),
        case!("devices.unknown-did-404", "GET /devices?did= for an unknown device MUST get 404 {\"error\": ...}.", "D3; world/src/api/devices.rs", [MockOnly], unknown_did),
        case!("responsedata.devices", "GET /devices?responsedata=did,ip MUST restrict every device object to those keys.", "ref 3 general; ref 7.12", [Appliance], responsedata_devices),
        case!("responsedata.devices-unknown-field", "GET /devices?count=1&responsedata=<unknown field> MUST answer exactly \"[\\n  {}\\n]\" (the live 8-byte body).", "ref 2.3 [LIVE]", [Appliance], responsedata_unknown),
    ]
}

// ---------------------------------------------------------------------------------
// Shared helpers (used by details, modelbreaches, search and language).

/// The content type of every JSON answer.
pub(crate) const JSON_CT: &str = "application/json; charset=utf-8";

/// A failure with a specific description of what was wrong.
pub(crate) fn check(
    cond: bool,
    ex: &Exchange,
    expected: impl Into<String>,
    actual: impl FnOnce() -> String,
) -> Result<(), Failure> {
    if cond {
        Ok(())
    } else {
        Err(Failure::with(ex, expected, actual()))
    }
}

/// Whether a JSON body is laid out as the appliance does (2-space indentation).
pub(crate) fn indented(body: &str) -> bool {
    matches!(body, "[]" | "{}") || body.starts_with("[\n  ") || body.starts_with("{\n  ")
}

/// The JSON body of a 200 with the JSON content type.
pub(crate) fn json_200(ex: &Exchange) -> Result<Value, Failure> {
    match ex.json() {
        Some(v) if ex.status == 200 && ex.content_type.as_deref() == Some(JSON_CT) => Ok(v),
        _ => Err(Failure::with(
            ex,
            "HTTP 200 application/json; charset=utf-8 with a JSON body",
            ex.summary(),
        )),
    }
}

/// The elements of a 200 JSON array.
pub(crate) fn array_200(ex: &Exchange) -> Result<Vec<Value>, Failure> {
    match json_200(ex)? {
        Value::Array(a) => Ok(a),
        _ => Err(Failure::with(ex, "a JSON array", ex.summary())),
    }
}

/// The members of a 200 JSON object.
pub(crate) fn object_200(ex: &Exchange) -> Result<Map<String, Value>, Failure> {
    match json_200(ex)? {
        Value::Object(m) => Ok(m),
        _ => Err(Failure::with(ex, "a JSON object", ex.summary())),
    }
}

/// Sends a correctly signed GET.
pub(crate) async fn get(t: &Target, target: impl Into<String>) -> Result<Exchange, Failure> {
    t.send(&Probe::get(target)).await
}

/// Sends a GET and expects a 200 JSON array.
pub(crate) async fn get_array(
    t: &Target,
    target: impl Into<String>,
) -> Result<(Exchange, Vec<Value>), Failure> {
    let ex = get(t, target).await?;
    let a = array_200(&ex)?;
    Ok((ex, a))
}

/// The appliance's "now" in epoch ms, as the probes sign it.
pub(crate) fn now_ms(t: &Target) -> i64 {
    ms_of(t.sign_time())
}

/// Epoch ms of a time.
pub(crate) fn ms_of(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Formats epoch ms in one of the appliance's time forms.
pub(crate) fn fmt_ms(ms: i64, f: DateFormat) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    f.format(t)
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters), so
/// the target is sent exactly as signed.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Checks the D3 input error: 400, the JSON content type, exactly
/// `{"error": "<non-empty>", "response": "INPUT ERROR"}`, 2-space indented.
pub(crate) fn is_input_error(ex: &Exchange) -> Result<(), Failure> {
    let v = ex.json().unwrap_or_default();
    let keys: Vec<&str> = v
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let pretty = serde_json::to_string_pretty(&v).unwrap_or_default();
    ensure(
        ex.status == 400
            && ex.content_type.as_deref() == Some(JSON_CT)
            && keys == ["error", "response"]
            && v["error"].as_str().is_some_and(|s| !s.is_empty())
            && v["response"] == "INPUT ERROR"
            && ex.body == pretty,
        ex,
        "HTTP 400 application/json; charset=utf-8 {\"error\": \"<what is wrong>\", \"response\": \"INPUT ERROR\"}, 2-space indented",
    )
}

/// Checks a 404 `{"error": "..."}` (the only key), 2-space indented.
pub(crate) fn is_not_found(ex: &Exchange) -> Result<(), Failure> {
    let v = ex.json().unwrap_or_default();
    let only_error = v.as_object().is_some_and(|m| m.len() == 1)
        && v["error"].as_str().is_some_and(|s| !s.is_empty());
    let pretty = serde_json::to_string_pretty(&v).unwrap_or_default();
    ensure(
        ex.status == 404
            && ex.content_type.as_deref() == Some(JSON_CT)
            && only_error
            && ex.body == pretty,
        ex,
        "HTTP 404 application/json; charset=utf-8 {\"error\": \"<message>\"}, 2-space indented",
    )
}

/// Whether every key of an object is in `allowed`.
pub(crate) fn keys_within(v: &Value, allowed: &[&str]) -> bool {
    v.as_object()
        .is_some_and(|m| m.keys().all(|k| allowed.contains(&k.as_str())))
}

/// Whether a string is `YYYY-MM-DD HH:MM:SS`.
pub(crate) fn is_spaced(s: &str) -> bool {
    s.len() == 19 && s.as_bytes()[10] == b' ' && dt_protocol::date::parse_time_param(s).is_some()
}

/// Up to 20 devices from the default window; fails when the target reports none.
pub(crate) async fn some_devices(t: &Target) -> Result<(Exchange, Vec<Value>), Failure> {
    let (ex, devices) = get_array(t, "/devices?count=20").await?;
    if devices.is_empty() {
        return Err(Failure::with(
            &ex,
            "at least one device seen in the last 7 days to check against",
            "the appliance reported no devices: nothing to check",
        ));
    }
    Ok((ex, devices))
}

fn did_of(v: &Value) -> Option<u64> {
    v["did"].as_u64()
}

fn dids(devices: &[Value]) -> BTreeSet<u64> {
    devices.iter().filter_map(did_of).collect()
}

// ---------------------------------------------------------------------------------
// The cases.

async fn shape(t: &Target) -> Result<(), Failure> {
    let (ex, devices) = some_devices(t).await?;
    check(indented(&ex.body), &ex, "a 2-space-indented body", || {
        ex.summary()
    })?;
    for d in &devices {
        let ips_ok = d["ips"].as_array().is_some_and(|ips| {
            ips.iter().all(|u| {
                u["ip"].is_string()
                    && u["timems"].is_i64()
                    && u["time"].is_string()
                    && u["sid"].is_i64()
            })
        });
        let ok = d["did"].is_u64()
            && d["ip"].is_string()
            && ips_ok
            && d["sid"].is_i64()
            && d["time"].is_i64()
            && d["endtime"].is_i64()
            && d["typename"].is_string()
            && d["typelabel"].is_string();
        check(
            ok,
            &ex,
            "every device with did, ip, ips[{ip,timems,time,sid}], sid, time, endtime, typename, typelabel",
            || format!("device {d}"),
        )?;
    }
    Ok(())
}

async fn ips_time_pairs(t: &Target) -> Result<(), Failure> {
    let (ex, devices) = some_devices(t).await?;
    for d in &devices {
        for u in d["ips"].as_array().into_iter().flatten() {
            let ok = match (u["timems"].as_i64(), u["time"].as_str()) {
                (Some(ms), Some(s)) => s == fmt_ms(ms, DateFormat::Spaced),
                _ => false,
            };
            check(
                ok,
                &ex,
                "ips[].time equal to ips[].timems as YYYY-MM-DD HH:MM:SS",
                || format!("device {} has ips entry {u}", d["did"]),
            )?;
        }
        check(
            d["time"].as_i64() <= d["endtime"].as_i64(),
            &ex,
            "time (first seen) <= endtime (last seen)",
            || {
                format!(
                    "device {} has time {} and endtime {}",
                    d["did"], d["time"], d["endtime"]
                )
            },
        )?;
    }
    Ok(())
}

async fn did_returns_object(t: &Target) -> Result<(), Failure> {
    let (_, devices) = some_devices(t).await?;
    let did = did_of(&devices[0]).unwrap_or_default();
    let ex = get(t, format!("/devices?did={did}")).await?;
    let m = object_200(&ex)?;
    check(
        m.get("did").and_then(Value::as_u64) == Some(did) && indented(&ex.body),
        &ex,
        format!("a 2-space-indented object with \"did\": {did}"),
        || ex.summary(),
    )
}

async fn filter_ip(t: &Target) -> Result<(), Failure> {
    let (_, devices) = some_devices(t).await?;
    let d = &devices[0];
    let (did, ip) = (did_of(d), d["ip"].as_str().unwrap_or_default());
    let (ex, got) = get_array(t, format!("/devices?ip={}", enc(ip))).await?;
    check(
        got.iter().all(|x| x["ip"] == ip) && got.iter().any(|x| did_of(x) == did),
        &ex,
        format!("only devices with ip {ip}, including did {did:?}"),
        || {
            format!(
                "dids {:?} with ips {:?}",
                dids(&got),
                got.iter().map(|x| &x["ip"]).collect::<Vec<_>>()
            )
        },
    )
}

async fn filter_ip_unknown(t: &Target) -> Result<(), Failure> {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): no real network uses it.
    let (ex, got) = get_array(t, "/devices?ip=192.0.2.254").await?;
    check(got.is_empty(), &ex, "an empty array", || ex.summary())
}

async fn filter_mac(t: &Target) -> Result<(), Failure> {
    let (ex, devices) = get_array(t, "/devices?count=100").await?;
    let Some(d) = devices.iter().find(|d| d["macaddress"].is_string()) else {
        return Err(Failure::with(
            &ex,
            "a device with a macaddress to filter on",
            "no device in the default window has a MAC address: nothing to check",
        ));
    };
    let mac = d["macaddress"].as_str().unwrap_or_default();
    let (ex, got) = get_array(t, format!("/devices?mac={}", enc(mac))).await?;
    check(
        !got.is_empty()
            && got.iter().all(|x| {
                x["macaddress"]
                    .as_str()
                    .is_some_and(|m| m.eq_ignore_ascii_case(mac))
            })
            && got.iter().any(|x| did_of(x) == did_of(d)),
        &ex,
        format!("only devices with MAC {mac}, including did {}", d["did"]),
        || format!("dids {:?}", dids(&got)),
    )
}

async fn filter_sid(t: &Target) -> Result<(), Failure> {
    let (_, devices) = some_devices(t).await?;
    let d = &devices[0];
    let sid = d["sid"].as_i64().unwrap_or_default();
    let (ex, got) = get_array(t, format!("/devices?sid={sid}")).await?;
    check(
        !got.is_empty() && got.iter().all(|x| x["sid"].as_i64() == Some(sid)),
        &ex,
        format!("a non-empty array of devices all with sid {sid}"),
        || {
            format!(
                "sids {:?}",
                got.iter().map(|x| &x["sid"]).collect::<Vec<_>>()
            )
        },
    )
}

async fn count(t: &Target) -> Result<(), Failure> {
    some_devices(t).await?;
    let (_, all) = get_array(t, "/devices").await?;
    for n in [1usize, 3] {
        let (ex, got) = get_array(t, format!("/devices?count={n}")).await?;
        let want = all.len().min(n);
        check(got.len() == want, &ex, format!("{want} device(s)"), || {
            format!("{} devices", got.len())
        })?;
    }
    Ok(())
}

async fn priority_omitted(t: &Target) -> Result<(), Failure> {
    let (ex, all) = get_array(t, "/devices").await?;
    let zero: Vec<&Value> = all
        .iter()
        .filter(|d| d.get("priority").is_some_and(|p| p.as_f64() == Some(0.0)))
        .collect();
    check(
        zero.is_empty(),
        &ex,
        "no device with \"priority\": 0",
        || {
            format!(
                "dids with priority 0: {:?}",
                zero.iter().map(|d| &d["did"]).collect::<Vec<_>>()
            )
        },
    )
}

const OPTIONAL: [&str; 6] = [
    "macaddress",
    "hostname",
    "devicelabel",
    "credentials",
    "vendor",
    "os",
];

async fn absent_omitted(t: &Target) -> Result<(), Failure> {
    let (ex, all) = get_array(t, "/devices").await?;
    for d in &all {
        let nulls: Vec<&str> = OPTIONAL
            .iter()
            .copied()
            .filter(|k| d.get(*k).is_some_and(Value::is_null))
            .collect();
        check(
            nulls.is_empty(),
            &ex,
            "absent attributes omitted, not null",
            || format!("device {} has null {nulls:?}", d["did"]),
        )?;
    }
    Ok(())
}

async fn optional_fixture(t: &Target) -> Result<(), Failure> {
    let (ex, all) = get_array(t, "/devices?seensince=30days").await?;
    let without = |k: &str| all.iter().filter(|d| d.get(k).is_none()).count();
    let with_priority: Vec<&Value> = all.iter().filter_map(|d| d.get("priority")).collect();
    check(
        without("hostname") == 4
            && without("macaddress") == 3
            && with_priority.len() == 6
            && with_priority.iter().all(|p| p.as_i64().is_some_and(|p| p != 0)),
        &ex,
        "4 devices without hostname, 3 without macaddress, 6 with a non-zero priority (fixtures/worlds/default)",
        || {
            format!(
                "{} without hostname, {} without macaddress, priorities {with_priority:?}",
                without("hostname"),
                without("macaddress")
            )
        },
    )
}

async fn includetags(t: &Target) -> Result<(), Failure> {
    some_devices(t).await?;
    let (ex, tagged) = get_array(t, "/devices?count=10&includetags=true").await?;
    check(!tagged.is_empty(), &ex, "at least one device", || {
        ex.summary()
    })?;
    for d in &tagged {
        let ok = d["tags"].as_array().is_some_and(|tags| {
            tags.iter()
                .all(|g| g["tid"].is_u64() && g["name"].is_string())
        });
        check(
            ok,
            &ex,
            "every device with a tags array of {tid, name, ...}",
            || format!("device {} has tags {}", d["did"], d["tags"]),
        )?;
    }
    let (ex, plain) = get_array(t, "/devices?count=10").await?;
    check(
        plain.iter().all(|d| d.get("tags").is_none()),
        &ex,
        "no tags key without includetags",
        || ex.summary(),
    )
}

/// Slack for clocks and for the time between the request and the check.
const SLACK_MS: i64 = 10 * 60_000;

fn last_seen_within(ex: &Exchange, got: &[Value], since_ms: i64) -> Result<(), Failure> {
    let late: Vec<&Value> = got
        .iter()
        .filter(|d| d["endtime"].as_i64().is_none_or(|e| e < since_ms))
        .collect();
    check(
        late.is_empty(),
        ex,
        format!(
            "every device last seen at or after {}",
            fmt_ms(since_ms, DateFormat::Spaced)
        ),
        || {
            format!(
                "devices last seen earlier: {:?}",
                late.iter()
                    .map(|d| (&d["did"], &d["endtime"]))
                    .collect::<Vec<_>>()
            )
        },
    )
}

async fn default_window(t: &Target) -> Result<(), Failure> {
    let (ex, got) = get_array(t, "/devices").await?;
    last_seen_within(&ex, &got, now_ms(t) - 7 * 86_400_000 - SLACK_MS)
}

async fn default_window_fixture(t: &Target) -> Result<(), Failure> {
    let (ex, week) = get_array(t, "/devices").await?;
    let (ex30, month) = get_array(t, "/devices?seensince=30days").await?;
    check(
        week.len() == 49 && !dids(&week).contains(&195),
        &ex,
        "49 devices, not did 195",
        || format!("{} devices: {:?}", week.len(), dids(&week)),
    )?;
    check(
        month.len() == 50 && dids(&month).contains(&195),
        &ex30,
        "50 devices including did 195",
        || format!("{} devices", month.len()),
    )
}

async fn seensince_units(t: &Target) -> Result<(), Failure> {
    for (v, span_ms) in [
        ("3600", 3_600_000),
        ("90second", 90_000),
        ("45min", 2_700_000),
        ("30minute", 1_800_000),
        ("2hours", 7_200_000),
        ("1day", 86_400_000),
        ("1week", 7 * 86_400_000),
    ] {
        let (ex, got) = get_array(t, format!("/devices?seensince={v}")).await?;
        last_seen_within(&ex, &got, now_ms(t) - span_ms - SLACK_MS)?;
    }
    Ok(())
}

async fn seensince_equivalent(t: &Target) -> Result<(), Failure> {
    let (_, base) = get_array(t, "/devices?seensince=3600").await?;
    let want = dids(&base);
    for v in [
        "3600seconds",
        "60min",
        "60mins",
        "60minute",
        "1hour",
        "1hours",
    ] {
        let (ex, got) = get_array(t, format!("/devices?seensince={v}")).await?;
        check(
            dids(&got) == want,
            &ex,
            format!("the same dids as seensince=3600: {want:?}"),
            || format!("{:?}", dids(&got)),
        )?;
    }
    Ok(())
}

async fn seensince_invalid(t: &Target) -> Result<(), Failure> {
    for v in ["5fortnights", "0", "abc"] {
        let ex = get(t, format!("/devices?seensince={v}")).await?;
        is_input_error(&ex)?;
    }
    Ok(())
}

async fn filter_iptime(t: &Target) -> Result<(), Failure> {
    // In the default world lt-alice-01 (did 127) had 10.10.2.200 until twelve hours
    // before the anchor; since then did 130 has it.
    let ex = get(t, "/devices?did=127").await?;
    let d = object_200(&ex)?;
    let Some(first) = d["ips"].as_array().and_then(|a| a.first()).cloned() else {
        return Err(Failure::with(
            &ex,
            "did 127 with an ips history",
            ex.summary(),
        ));
    };
    let old_ip = first["ip"].as_str().unwrap_or_default().to_string();
    let held_ms = first["timems"].as_i64().unwrap_or_default() - 3_600_000;
    let (ex, now) = get_array(t, format!("/devices?ip={}", enc(&old_ip))).await?;
    check(
        dids(&now) == BTreeSet::from([130]),
        &ex,
        format!("{old_ip} held by did 130 now"),
        || format!("{:?}", dids(&now)),
    )?;
    let iptime = enc(&fmt_ms(held_ms, DateFormat::Spaced));
    let (ex, then) = get_array(t, format!("/devices?ip={}&iptime={iptime}", enc(&old_ip))).await?;
    check(
        dids(&then) == BTreeSet::from([127]),
        &ex,
        format!("{old_ip} held by did 127 at the iptime"),
        || format!("{:?}", dids(&then)),
    )
}

async fn unknown_did(t: &Target) -> Result<(), Failure> {
    let ex = get(t, "/devices?did=999999").await?;
    is_not_found(&ex)
}

async fn responsedata_devices(t: &Target) -> Result<(), Failure> {
    some_devices(t).await?;
    let (ex, got) = get_array(t, "/devices?count=5&responsedata=did%2Cip").await?;
    check(
        !got.is_empty()
            && got
                .iter()
                .all(|d| keys_within(d, &["did", "ip"]) && d["did"].is_u64()),
        &ex,
        "a non-empty array of objects holding only did and ip",
        || ex.summary(),
    )
}

async fn responsedata_unknown(t: &Target) -> Result<(), Failure> {
    some_devices(t).await?;
    let ex = get(t, "/devices?count=1&responsedata=dtconformancenosuchfield").await?;
    ensure(
        ex.status == 200 && ex.content_type.as_deref() == Some(JSON_CT) && ex.body == "[\n  {}\n]",
        &ex,
        "HTTP 200 application/json; charset=utf-8 \"[\\n  {}\\n]\"",
    )
}
