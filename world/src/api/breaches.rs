//! `GET /modelbreaches` and `GET /modelbreaches/{pbid}`.
//!
//! - Time: `starttime`/`endtime` (ms) or `from`/`to`, inclusive, on the breach `time`
//!   (or on `creationTime` with `creationtime=true`). A lone start is tolerated (the end
//!   is now); a lone end is an input error. Without either: the year before now.
//! - Filters: `did`, `pbid`, `pid`, `uuid` (model), `minscore` (0–1, else input error),
//!   `includeacknowledged` (default false: acknowledged breaches are left out). `count`
//!   keeps the newest N. Results are sorted by `time`, oldest first.
//! - Rendering: `model` is `{then, now}` (revision at breach time and current), or the
//!   flat `then` revision with `historicmodelonly=true`.
//!   `minimal=true` keeps `creationTime, commentCount, pbid, time, model, score,
//!   percentscore, device` with each model reduced to `name, pid, phid, uuid, category`
//!   (no priority, no `triggeredComponents`, no `mitreTechniques`, no `breachUrl`).
//!   `deviceattop=true` (default) puts the device at the top level; with `false` it moves
//!   into each triggered component as `device` (and disappears with `minimal=true`).
//!   `expandenums=true` renders enum filter arguments as labels instead of codes.
//!   `includebreachurl=true` adds `breachUrl: https://<hostname>/#modelbreach/<pbid>`
//!   unless minimal. `acknowledged` is present exactly when `includeacknowledged=true`.
//! - `/modelbreaches/{pbid}` returns that breach as a single object whatever its time or
//!   acknowledgement (404 when unknown), with the same rendering options.

use serde_json::{Map, Value};

use super::{apply_responsedata, device_breach, input, time_window, ApiError, Params, PAIRS_ERROR};
use crate::clock::{self, DAY_MS};
use crate::model::{Breach, Model, ModelVersion, TriggeredComponent};
use crate::world::World;

/// How far back `/modelbreaches` looks without time parameters.
pub const DEFAULT_LOOKBACK_MS: i64 = 365 * DAY_MS;

#[derive(Debug, Clone, Copy)]
struct Render {
    minimal: bool,
    device_at_top: bool,
    expand_enums: bool,
    historic_only: bool,
    include_acknowledged: bool,
    breach_url: bool,
}

impl Render {
    fn parse(p: Params<'_>) -> Result<Self, ApiError> {
        Ok(Render {
            minimal: p.bool("minimal", false)?,
            device_at_top: p.bool("deviceattop", true)?,
            expand_enums: p.bool("expandenums", false)?,
            historic_only: p.bool("historicmodelonly", false)?,
            include_acknowledged: p.bool("includeacknowledged", false)?,
            breach_url: p.bool("includebreachurl", false)?,
        })
    }
}

/// `GET /modelbreaches`.
pub fn modelbreaches(
    world: &World,
    params: &[(String, String)],
    now_ms: i64,
) -> Result<Value, ApiError> {
    let p = Params(params);
    let r = Render::parse(p)?;
    let (start, end) = match time_window(p)? {
        (Some(s), Some(e)) => (s, e),
        (Some(s), None) => (s, now_ms),
        (None, None) => (now_ms - DEFAULT_LOOKBACK_MS, now_ms),
        (None, Some(_)) => return Err(input(PAIRS_ERROR)),
    };
    let by_creation = p.bool("creationtime", false)?;
    let minscore = match p.get("minscore") {
        None => None,
        Some(v) => match v.trim().parse::<f64>() {
            Ok(x) if (0.0..=1.0).contains(&x) => Some(x),
            _ => return Err(input("minscore must be a number between 0 and 1")),
        },
    };
    let did: Option<u32> = p.int("did")?;
    let pbid: Option<u64> = p.int("pbid")?;
    let pid: Option<u32> = p.int("pid")?;
    let uuid = p.get("uuid");
    let count = p.count("count")?;

    let mut chosen: Vec<&Breach> = world
        .breaches()
        .iter()
        .filter(|b| {
            let t = if by_creation {
                b.creation_ms
            } else {
                b.time_ms
            };
            start <= t
                && t <= end
                && (r.include_acknowledged || !b.acknowledged)
                && minscore.is_none_or(|m| b.score >= m)
                && did.is_none_or(|d| b.did == d)
                && pbid.is_none_or(|x| b.pbid == x)
                && pid.is_none_or(|x| b.pid == x)
                && uuid.is_none_or(|u| world.model(b.pid).is_some_and(|m| m.uuid == u))
        })
        .collect();
    if let Some(n) = count {
        chosen.drain(..chosen.len().saturating_sub(n));
    }
    let mut v = Value::Array(
        chosen
            .into_iter()
            .map(|b| breach_json(world, b, r))
            .collect(),
    );
    apply_responsedata(&mut v, params);
    Ok(v)
}

/// `GET /modelbreaches/{pbid}`.
pub fn modelbreach(
    world: &World,
    pbid: &str,
    params: &[(String, String)],
    _now_ms: i64,
) -> Result<Value, ApiError> {
    let p = Params(params);
    let r = Render::parse(p)?;
    let not_found = || ApiError::NotFound(format!("Model breach {pbid} not found"));
    let id: u64 = pbid.trim().parse().map_err(|_| not_found())?;
    let b = world.breach(id).ok_or_else(not_found)?;
    let mut v = breach_json(world, b, r);
    apply_responsedata(&mut v, params);
    Ok(v)
}

fn breach_json(world: &World, b: &Breach, r: Render) -> Value {
    let model = world
        .model(b.pid)
        .expect("breach models are validated on load");
    let device = world.device(b.did).map(|d| device_breach(d, b.time_ms));
    let mut m = Map::new();
    m.insert("creationTime".into(), Value::from(b.creation_ms));
    m.insert("commentCount".into(), Value::from(b.comment_count));
    m.insert("pbid".into(), Value::from(b.pbid));
    m.insert("time".into(), Value::from(b.time_ms));
    let then = model_json(model, model.version(b.phid), r.minimal);
    let model_v = if r.historic_only {
        then
    } else {
        let mut both = Map::new();
        both.insert("then".into(), then);
        both.insert("now".into(), model_json(model, model.current(), r.minimal));
        Value::Object(both)
    };
    m.insert("model".into(), model_v);
    if !r.minimal {
        let comps = b
            .components
            .iter()
            .map(|c| component_json(c, r, device.as_ref().filter(|_| !r.device_at_top)));
        m.insert("triggeredComponents".into(), Value::Array(comps.collect()));
    }
    m.insert("score".into(), Value::from(b.score));
    m.insert(
        "percentscore".into(),
        Value::from((b.score * 100.0).round() as i64),
    );
    if r.device_at_top {
        if let Some(d) = device {
            m.insert("device".into(), d);
        }
    }
    if !r.minimal {
        let techniques = model
            .mitre_techniques
            .iter()
            .map(|t| serde_json::json!({"technique": t.name, "techniqueID": t.id}));
        m.insert("mitreTechniques".into(), Value::Array(techniques.collect()));
    }
    if r.include_acknowledged {
        m.insert("acknowledged".into(), Value::Bool(b.acknowledged));
    }
    if r.breach_url && !r.minimal {
        m.insert(
            "breachUrl".into(),
            Value::String(format!(
                "https://{}/#modelbreach/{}",
                world.hostname(),
                b.pbid
            )),
        );
    }
    Value::Object(m)
}

/// A model revision in the API's model shape (key order of the guide's example).
pub(crate) fn model_json(m: &Model, v: &ModelVersion, minimal: bool) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), Value::String(m.name.clone()));
    o.insert("pid".into(), Value::from(m.pid));
    o.insert("phid".into(), Value::from(v.phid));
    o.insert("uuid".into(), Value::String(m.uuid.clone()));
    if minimal {
        o.insert("category".into(), Value::String(m.category.clone()));
        return Value::Object(o);
    }
    let techniques: Vec<&str> = m.mitre_techniques.iter().map(|t| t.id.as_str()).collect();
    o.insert(
        "mitre".into(),
        serde_json::json!({"tactics": m.mitre_tactics, "techniques": techniques}),
    );
    let data: Vec<Value> = m
        .components
        .iter()
        .map(|c| serde_json::json!({"cid": c.cid, "weight": 1}))
        .collect();
    o.insert(
        "logic".into(),
        serde_json::json!({"data": data, "targetScore": 1, "type": "weightedComponentList", "version": 1}),
    );
    o.insert("throttle".into(), Value::from(m.throttle));
    o.insert("sharedEndpoints".into(), Value::Bool(false));
    o.insert(
        "actions".into(),
        serde_json::json!({"alert": true, "antigena": {}, "breach": true, "model": true, "setPriority": false, "setTag": false, "setType": false}),
    );
    o.insert("tags".into(), Value::from(m.tags.clone()));
    o.insert("interval".into(), Value::from(m.interval));
    o.insert("delay".into(), Value::from(0));
    o.insert("sequenced".into(), Value::Bool(false));
    o.insert("active".into(), Value::Bool(true));
    o.insert(
        "modified".into(),
        Value::String(clock::spaced(v.modified_ms)),
    );
    o.insert(
        "activeTimes".into(),
        serde_json::json!({"devices": {}, "tags": {}, "type": "exclusions", "version": 2}),
    );
    o.insert("priority".into(), Value::from(m.priority));
    o.insert("category".into(), Value::String(m.category.clone()));
    o.insert("compliance".into(), Value::Bool(m.category == "Compliance"));
    o.insert("autoUpdatable".into(), Value::Bool(true));
    o.insert("autoUpdate".into(), Value::Bool(true));
    o.insert("autoSuppress".into(), Value::Bool(true));
    o.insert("description".into(), Value::String(m.description.clone()));
    o.insert("behaviour".into(), Value::String(m.behaviour.clone()));
    o.insert("defeats".into(), Value::Array(Vec::new()));
    o.insert("created".into(), serde_json::json!({"by": "System"}));
    o.insert("edited".into(), serde_json::json!({"by": v.edited_by}));
    o.insert("version".into(), Value::from(v.version));
    Value::Object(o)
}

/// The component logic: the non-display filters ANDed, right-nested as the appliance
/// prints it.
fn logic(ids: &[&str]) -> Value {
    match ids {
        [] => serde_json::json!({}),
        [only] => serde_json::json!({"left": only, "operator": "AND", "right": {}}),
        [a, b] => serde_json::json!({"left": a, "operator": "AND", "right": b}),
        [first, rest @ ..] => {
            serde_json::json!({"left": first, "operator": "AND", "right": logic(rest)})
        }
    }
}

fn component_json(c: &TriggeredComponent, r: Render, device: Option<&Value>) -> Value {
    let ids: Vec<&str> = c
        .filters
        .iter()
        .filter(|f| f.comparator != "display")
        .map(|f| f.id.as_str())
        .collect();
    let filters: Vec<Value> = c
        .filters
        .iter()
        .map(|f| {
            let arg = match (&f.argument_expanded, r.expand_enums) {
                (Some(label), true) => label.clone(),
                _ => f.argument.clone(),
            };
            let arguments = if arg.is_null() {
                serde_json::json!({})
            } else {
                serde_json::json!({"value": arg})
            };
            let mut m = Map::new();
            m.insert("cfid".into(), Value::from(f.cfid));
            m.insert("id".into(), Value::String(f.id.clone()));
            m.insert("filterType".into(), Value::String(f.filter_type.clone()));
            m.insert("arguments".into(), arguments);
            m.insert("comparatorType".into(), Value::String(f.comparator.clone()));
            m.insert("trigger".into(), serde_json::json!({"value": f.trigger}));
            Value::Object(m)
        })
        .collect();
    let mut m = Map::new();
    m.insert("time".into(), Value::from(c.time_ms));
    m.insert("cbid".into(), Value::from(c.cbid));
    m.insert("cid".into(), Value::from(c.cid));
    m.insert("chid".into(), Value::from(c.chid));
    m.insert("size".into(), Value::from(c.size));
    m.insert("threshold".into(), Value::from(c.threshold));
    m.insert("interval".into(), Value::from(c.interval));
    m.insert(
        "logic".into(),
        serde_json::json!({"data": logic(&ids), "version": "v0.1"}),
    );
    m.insert(
        "metric".into(),
        serde_json::json!({"mlid": c.mlid, "name": c.metric_name, "label": c.metric_label}),
    );
    m.insert("triggeredFilters".into(), Value::Array(filters));
    if let Some(d) = device {
        m.insert("device".into(), d.clone());
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::HOUR_MS;
    use crate::testutil::{params, small_world, ANCHOR};

    fn run(pairs: &[(&str, &str)]) -> Result<Vec<Value>, ApiError> {
        modelbreaches(small_world(), &params(pairs), ANCHOR).map(|v| v.as_array().unwrap().clone())
    }

    #[test]
    fn defaults_exclude_acknowledged_and_sort_by_time() {
        let w = small_world();
        let got = run(&[]).unwrap();
        let unacked = w.breaches().iter().filter(|b| !b.acknowledged).count();
        assert!(
            unacked < w.breaches().len(),
            "fixture has acknowledged breaches"
        );
        assert_eq!(got.len(), unacked);
        assert!(got
            .windows(2)
            .all(|p| p[0]["time"].as_i64() <= p[1]["time"].as_i64()));
        assert!(got.iter().all(|b| b.get("acknowledged").is_none()));
        let all = run(&[("includeacknowledged", "true")]).unwrap();
        assert_eq!(all.len(), w.breaches().len());
        assert!(all.iter().any(|b| b["acknowledged"] == true));
    }

    #[test]
    fn default_shape_matches_the_guide() {
        let got = run(&[]).unwrap();
        let keys: Vec<&str> = got[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "creationTime",
                "commentCount",
                "pbid",
                "time",
                "model",
                "triggeredComponents",
                "score",
                "percentscore",
                "device",
                "mitreTechniques"
            ]
        );
        assert!(got[0]["model"]["then"]["name"].is_string());
        assert!(got[0]["model"]["now"]["phid"].is_u64());
        let score = got[0]["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score));
        assert_eq!(got[0]["percentscore"], (score * 100.0).round() as i64);
        // Edited models show a different revision then and now for older breaches.
        assert!(got
            .iter()
            .any(|b| b["model"]["then"]["phid"] != b["model"]["now"]["phid"]));
    }

    #[test]
    fn time_params_lone_start_is_tolerated_lone_end_is_not() {
        let w = small_world();
        let start = (ANCHOR - 6 * HOUR_MS).to_string();
        let got = run(&[("starttime", &start)]).unwrap();
        let want = w
            .breaches()
            .iter()
            .filter(|b| !b.acknowledged && b.time_ms >= ANCHOR - 6 * HOUR_MS)
            .count();
        assert_eq!(got.len(), want);
        assert_eq!(
            run(&[("endtime", "1")]).unwrap_err(),
            ApiError::Input(PAIRS_ERROR.into())
        );
        let from = clock::spaced(ANCHOR - 24 * HOUR_MS);
        let to = clock::spaced(ANCHOR - 12 * HOUR_MS);
        let got = run(&[("from", &from), ("to", &to)]).unwrap();
        assert!(got
            .iter()
            .all(|b| b["time"].as_i64().unwrap() <= ANCHOR - 12 * HOUR_MS));
        // A year back by default: nothing is older than the world, so all are in.
        assert_eq!(
            run(&[]).unwrap().len(),
            w.breaches().iter().filter(|b| !b.acknowledged).count()
        );
        assert_eq!(
            modelbreaches(w, &[], ANCHOR - 30 * HOUR_MS).unwrap(),
            Value::Array(vec![])
        );
    }

    #[test]
    fn minscore_bounds_and_filters() {
        let w = small_world();
        for bad in ["-0.1", "1.5", "high"] {
            assert_eq!(
                run(&[("minscore", bad)]).unwrap_err(),
                ApiError::Input("minscore must be a number between 0 and 1".into())
            );
        }
        let high = run(&[("minscore", "0.7"), ("includeacknowledged", "true")]).unwrap();
        assert_eq!(
            high.len(),
            w.breaches().iter().filter(|b| b.score >= 0.7).count()
        );
        assert!(high.iter().all(|b| b["score"].as_f64().unwrap() >= 0.7));
        let b = &w.breaches()[1];
        let all = [("includeacknowledged", "true")];
        let by_pbid = run(&[all[0], ("pbid", &b.pbid.to_string())]).unwrap();
        assert_eq!(by_pbid.len(), 1);
        let by_did = run(&[all[0], ("did", &b.did.to_string())]).unwrap();
        assert!(by_did.iter().all(|x| x["device"]["did"] == b.did));
        let by_pid = run(&[all[0], ("pid", &b.pid.to_string())]).unwrap();
        assert!(by_pid.iter().all(|x| x["model"]["now"]["pid"] == b.pid));
        let uuid = &w.model(b.pid).unwrap().uuid;
        assert_eq!(run(&[all[0], ("uuid", uuid)]).unwrap().len(), by_pid.len());
        let last2 = run(&[all[0], ("count", "2")]).unwrap();
        assert_eq!(last2[1]["pbid"], w.breaches().last().unwrap().pbid);
    }

    #[test]
    fn rendering_options() {
        let w = small_world();
        let historic = run(&[("historicmodelonly", "true")]).unwrap();
        assert!(
            historic[0]["model"]["name"].is_string() && historic[0]["model"].get("then").is_none()
        );
        let minimal = run(&[("minimal", "true"), ("includebreachurl", "true")]).unwrap();
        let keys: Vec<&str> = minimal[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "creationTime",
                "commentCount",
                "pbid",
                "time",
                "model",
                "score",
                "percentscore",
                "device"
            ]
        );
        assert!(minimal[0]["model"]["then"].get("priority").is_none());
        let url = run(&[("includebreachurl", "true")]).unwrap();
        assert_eq!(
            url[0]["breachUrl"],
            format!("https://{}/#modelbreach/{}", w.hostname(), url[0]["pbid"])
        );
        let nested = run(&[("deviceattop", "false")]).unwrap();
        assert!(nested[0].get("device").is_none());
        assert!(nested[0]["triggeredComponents"][0]["device"]["did"].is_u64());
        let enums = run(&[
            ("expandenums", "true"),
            ("pid", "1"),
            ("includeacknowledged", "1"),
        ])
        .unwrap();
        let plain = run(&[("pid", "1"), ("includeacknowledged", "1")]).unwrap();
        if !enums.is_empty() {
            let f = |v: &Value| {
                v["triggeredComponents"][0]["triggeredFilters"][0]["arguments"]["value"].clone()
            };
            assert_eq!(f(&enums[0]), "out");
            assert_eq!(f(&plain[0]), 1);
        }
        assert!(matches!(
            run(&[("minimal", "maybe")]),
            Err(ApiError::Input(_))
        ));
    }

    #[test]
    fn single_breach_by_path() {
        let w = small_world();
        let acked = w.breaches().iter().find(|b| b.acknowledged).unwrap();
        let v = modelbreach(w, &acked.pbid.to_string(), &[], ANCHOR).unwrap();
        assert_eq!(v["pbid"], acked.pbid);
        let v = modelbreach(
            w,
            &acked.pbid.to_string(),
            &params(&[("responsedata", "pbid,score")]),
            ANCHOR,
        )
        .unwrap();
        assert_eq!(v.as_object().unwrap().len(), 2);
        assert_eq!(
            modelbreach(w, "42", &[], ANCHOR),
            Err(ApiError::NotFound("Model breach 42 not found".into()))
        );
        assert!(matches!(
            modelbreach(w, "abc", &[], ANCHOR),
            Err(ApiError::NotFound(_))
        ));
    }

    #[test]
    fn logic_nests_to_the_right() {
        assert_eq!(
            logic(&["A"]),
            serde_json::json!({"left": "A", "operator": "AND", "right": {}})
        );
        assert_eq!(
            logic(&["A", "B"]),
            serde_json::json!({"left": "A", "operator": "AND", "right": "B"})
        );
        assert_eq!(
            logic(&["A", "B", "C"]),
            serde_json::json!({"left": "A", "operator": "AND", "right": {"left": "B", "operator": "AND", "right": "C"}})
        );
    }
}
