//! `GET /details`.
//!
//! - One of `did`, `pbid`, `msg`, `blockedconnections` is required (input error
//!   otherwise). `pbid` wins over `did`.
//! - `pbid=N`: the breach's `policybreach` event followed by its connections in time
//!   order (time parameters and `count` are validated but do not filter); `[]` when the
//!   pbid is unknown.
//! - `did=N`: `eventtype` (default `connection`) selects connections where the device is
//!   either end (`connection`), only the unusual or new ones (`unusualconnection`,
//!   `newconnection`, which are then the `action`/`eventType`), or the device's breaches
//!   as `policybreach` events (`modelbreach`). `notice` and `devicehistory` are accepted
//!   and return `[]`, as do `msg` and `blockedconnections` (the world has no notices and
//!   no blocking). An unknown did gives `[]`.
//! - Time: `starttime`/`endtime` (ms) or `from`/`to` (date strings or ms), inclusive; the
//!   two ends must both be given (input error otherwise). `count` together with a window
//!   is an input error. Without a window: the newest `count` events (default 100) at or
//!   before now, returned oldest first. With a window there is no cap.
//! - Connection filters: `uid`, `ddid`, `odid` (the other end), `port` and
//!   `destinationport` (destination port), `sourceport`, `protocol`,
//!   `applicationprotocol`, `externalhostname`, `intext` (`internal`|`external`).
//! - `direction` is relative to the queried device (`out` when it is the source); for
//!   `pbid` it is relative to the breach device. `sdid`/`ddid` are omitted for external
//!   ends, whose `sourceDevice`/`destinationDevice` is `{ip, hostname?}`; `source` and
//!   `destination` are the hostname when known, else the address.

use serde_json::{Map, Value};

use super::{apply_responsedata, device_nested, input, time_window, ApiError, Params, PAIRS_ERROR};
use crate::clock;
use crate::model::{Breach, Connection, Peer};
use crate::world::World;

/// Events returned without a window when `count` is not given.
pub const DEFAULT_COUNT: usize = 100;

const EVENT_TYPES: [&str; 6] = [
    "connection",
    "unusualconnection",
    "newconnection",
    "notice",
    "devicehistory",
    "modelbreach",
];

struct Filters {
    uid: Option<String>,
    ddid: Option<u32>,
    odid: Option<u32>,
    dport: Option<u16>,
    sport: Option<u16>,
    protocol: Option<String>,
    app: Option<String>,
    external_host: Option<String>,
    intext: Option<bool>,
}

impl Filters {
    fn parse(p: Params<'_>) -> Result<Self, ApiError> {
        let port = |name: &str| -> Result<Option<u16>, ApiError> {
            p.get(name)
                .map(|v| {
                    v.trim()
                        .parse::<u16>()
                        .map_err(|_| input(format!("{name} must be a port number")))
                })
                .transpose()
        };
        Ok(Filters {
            uid: p.get("uid").map(str::to_string),
            ddid: p.int("ddid")?,
            odid: p.int("odid")?,
            dport: match port("destinationport")? {
                Some(v) => Some(v),
                None => port("port")?,
            },
            sport: port("sourceport")?,
            protocol: p.get("protocol").map(str::to_string),
            app: p.get("applicationprotocol").map(str::to_string),
            external_host: p.get("externalhostname").map(str::to_string),
            intext: match p.get("intext") {
                None => None,
                Some("internal") => Some(true),
                Some("external") => Some(false),
                Some(_) => return Err(input("intext must be internal or external")),
            },
        })
    }

    fn accept(&self, c: &Connection, did: u32) -> bool {
        let other = if c.src.did == Some(did) {
            &c.dst
        } else {
            &c.src
        };
        let external = if c.src.did.is_none() {
            Some(&c.src)
        } else if c.dst.did.is_none() {
            Some(&c.dst)
        } else {
            None
        };
        self.uid.as_deref().is_none_or(|u| c.uid == u)
            && self.ddid.is_none_or(|d| c.dst.did == Some(d))
            && self.odid.is_none_or(|d| other.did == Some(d))
            && self.dport.is_none_or(|p| c.dst_port == p)
            && self.sport.is_none_or(|p| c.src_port == p)
            && self
                .protocol
                .as_deref()
                .is_none_or(|p| c.protocol.eq_ignore_ascii_case(p))
            && self
                .app
                .as_deref()
                .is_none_or(|a| c.app.eq_ignore_ascii_case(a))
            && self.external_host.as_deref().is_none_or(|h| {
                external
                    .and_then(|e| e.hostname.as_deref())
                    .is_some_and(|x| x.eq_ignore_ascii_case(h))
            })
            && self
                .intext
                .is_none_or(|internal| internal == external.is_none())
    }
}

/// `GET /details`.
pub fn details(world: &World, params: &[(String, String)], now_ms: i64) -> Result<Value, ApiError> {
    let p = Params(params);
    if !["did", "pbid", "msg", "blockedconnections"]
        .iter()
        .any(|k| p.has(k))
    {
        return Err(input(
            "The request requires one of did, pbid, msg or blockedconnections",
        ));
    }
    let event_type = p.get("eventtype").unwrap_or("connection");
    if !EVENT_TYPES.contains(&event_type) {
        return Err(input(format!(
            "eventtype must be one of {}",
            EVENT_TYPES.join(", ")
        )));
    }
    let window = match time_window(p)? {
        (Some(s), Some(e)) => Some((s, e)),
        (None, None) => None,
        _ => return Err(input(PAIRS_ERROR)),
    };
    let count = p.count("count")?;
    if count.is_some() && window.is_some() {
        return Err(input(
            "count must not be used together with from or starttime",
        ));
    }
    let filters = Filters::parse(p)?;
    let did: Option<u32> = p.int("did")?;

    let mut out = Vec::new();
    if let Some(pbid) = p.int::<u64>("pbid")? {
        if let Some(b) = world.breach(pbid) {
            out.push(breach_event(world, b));
            let mut conns: Vec<&Connection> =
                b.uids.iter().filter_map(|u| world.connection(u)).collect();
            conns.sort_by(|a, b| (a.time_ms, &a.uid).cmp(&(b.time_ms, &b.uid)));
            for c in conns.into_iter().filter(|c| filters.accept(c, b.did)) {
                out.push(connection_event(world, c, b.did, "connection"));
            }
        }
    } else if let (Some(did), false) = (did, p.has("msg") || p.has("blockedconnections")) {
        match event_type {
            "connection" | "unusualconnection" | "newconnection" => {
                let keep = |c: &Connection| {
                    let wanted = match event_type {
                        "unusualconnection" => c.unusual,
                        "newconnection" => c.new,
                        _ => true,
                    };
                    wanted && filters.accept(c, did)
                };
                let positions = world.connections_of(did);
                let conn = |i: &u32| &world.connections()[*i as usize];
                let selected: Vec<&Connection> = match window {
                    Some((s, e)) => {
                        let lo = positions.partition_point(|i| conn(i).time_ms < s);
                        let hi = positions.partition_point(|i| conn(i).time_ms <= e).max(lo);
                        positions[lo..hi]
                            .iter()
                            .map(conn)
                            .filter(|c| keep(c))
                            .collect()
                    }
                    None => {
                        let upto = positions.partition_point(|i| conn(i).time_ms <= now_ms);
                        let mut newest: Vec<&Connection> = positions[..upto]
                            .iter()
                            .rev()
                            .map(conn)
                            .filter(|c| keep(c))
                            .take(count.unwrap_or(DEFAULT_COUNT))
                            .collect();
                        newest.reverse();
                        newest
                    }
                };
                out.extend(
                    selected
                        .into_iter()
                        .map(|c| connection_event(world, c, did, event_type)),
                );
            }
            "modelbreach" => {
                let mine = world.breaches().iter().filter(|b| b.did == did);
                let chosen: Vec<&Breach> = match window {
                    Some((s, e)) => mine.filter(|b| s <= b.time_ms && b.time_ms <= e).collect(),
                    None => {
                        let mut newest: Vec<&Breach> = mine
                            .filter(|b| b.time_ms <= now_ms)
                            .rev()
                            .take(count.unwrap_or(DEFAULT_COUNT))
                            .collect();
                        newest.reverse();
                        newest
                    }
                };
                out.extend(chosen.into_iter().map(|b| breach_event(world, b)));
            }
            _ => {}
        }
    }
    let mut v = Value::Array(out);
    apply_responsedata(&mut v, params);
    Ok(v)
}

fn peer_json(world: &World, p: &Peer, t: i64) -> Value {
    match p.did.and_then(|did| world.device(did)) {
        Some(d) => device_nested(d, t),
        None => {
            let mut m = Map::new();
            m.insert("ip".into(), Value::String(p.ip.to_string()));
            if let Some(h) = &p.hostname {
                m.insert("hostname".into(), Value::String(h.clone()));
            }
            Value::Object(m)
        }
    }
}

fn peer_name(world: &World, p: &Peer) -> String {
    let name = match p.did.and_then(|did| world.device(did)) {
        Some(d) => d.hostname.clone(),
        None => p.hostname.clone(),
    };
    name.unwrap_or_else(|| p.ip.to_string())
}

/// A connection as a `/details` event, seen from device `did`.
pub(crate) fn connection_event(world: &World, c: &Connection, did: u32, event_type: &str) -> Value {
    let t = c.time_ms;
    let mut m = Map::new();
    m.insert("time".into(), Value::String(clock::spaced(t)));
    m.insert("timems".into(), Value::from(t));
    m.insert("action".into(), Value::String(event_type.into()));
    m.insert("eventType".into(), Value::String(event_type.into()));
    for prefix in ["recentbytes", "totalbytes"] {
        m.insert(format!("{prefix}sincems"), Value::from(t));
        m.insert(format!("{prefix}since"), Value::String(clock::spaced(t)));
        m.insert(format!("{prefix}out"), Value::from(c.bytes_out));
        m.insert(format!("{prefix}in"), Value::from(c.bytes_in));
    }
    m.insert("uid".into(), Value::String(c.uid.clone()));
    if let Some(q) = &c.dns_query {
        m.insert(
            "dns".into(),
            serde_json::json!({"hostname": q, "success": true, "hostnamepopularity": "100", "internal": false}),
        );
    }
    if let Some(s) = c.src.did {
        m.insert("sdid".into(), Value::from(s));
    }
    if let Some(d) = c.dst.did {
        m.insert("ddid".into(), Value::from(d));
    }
    m.insert("port".into(), Value::from(c.dst_port));
    m.insert("sourcePort".into(), Value::from(c.src_port));
    m.insert("destinationPort".into(), Value::from(c.dst_port));
    let direction = if c.src.did != Some(did) && c.dst.did == Some(did) {
        "in"
    } else {
        "out"
    };
    m.insert("direction".into(), Value::String(direction.into()));
    m.insert("applicationprotocol".into(), Value::String(c.app.clone()));
    m.insert("protocol".into(), Value::String(c.protocol.clone()));
    m.insert("sourceDevice".into(), peer_json(world, &c.src, t));
    m.insert("destinationDevice".into(), peer_json(world, &c.dst, t));
    m.insert("source".into(), Value::String(peer_name(world, &c.src)));
    m.insert(
        "destination".into(),
        Value::String(peer_name(world, &c.dst)),
    );
    Value::Object(m)
}

/// A breach as a `/details` `policybreach` event.
pub(crate) fn breach_event(world: &World, b: &Breach) -> Value {
    let model = world.model(b.pid);
    let device = world.device(b.did);
    let mut m = Map::new();
    m.insert("time".into(), Value::String(clock::spaced(b.time_ms)));
    m.insert("timems".into(), Value::from(b.time_ms));
    m.insert("pbid".into(), Value::from(b.pbid));
    m.insert("pid".into(), Value::from(b.pid));
    m.insert("phid".into(), Value::from(b.phid));
    m.insert("eventType".into(), Value::String("policybreach".into()));
    m.insert("action".into(), Value::String("policybreach".into()));
    m.insert("creationTime".into(), Value::from(b.creation_ms));
    m.insert(
        "creationTimestamp".into(),
        Value::String(clock::spaced(b.creation_ms)),
    );
    m.insert(
        "name".into(),
        Value::String(model.map(|m| m.name.clone()).unwrap_or_default()),
    );
    let cids: Vec<u32> = model
        .map(|m| m.components.iter().map(|c| c.cid).collect())
        .unwrap_or_default();
    m.insert("components".into(), Value::from(cids));
    m.insert("didRestrictions".into(), Value::Array(Vec::new()));
    m.insert("didExclusions".into(), Value::Array(Vec::new()));
    m.insert(
        "throttle".into(),
        Value::from(model.map_or(3600, |m| m.throttle)),
    );
    m.insert("sharedEndpoints".into(), Value::Bool(false));
    m.insert(
        "interval".into(),
        Value::from(model.map_or(3600, |m| m.interval)),
    );
    m.insert("sequenced".into(), Value::Bool(false));
    m.insert("active".into(), Value::Bool(true));
    m.insert("retired".into(), Value::Bool(false));
    m.insert("instanceID".into(), Value::from(1));
    m.insert("acknowledged".into(), Value::Bool(b.acknowledged));
    m.insert(
        "state".into(),
        Value::String(
            if b.acknowledged {
                "Acknowledged"
            } else {
                "New"
            }
            .into(),
        ),
    );
    m.insert("score".into(), Value::from(b.score));
    m.insert("commentCount".into(), Value::from(b.comment_count));
    m.insert(
        "componentBreaches".into(),
        Value::from(b.components.iter().map(|c| c.cid).collect::<Vec<_>>()),
    );
    m.insert(
        "componentBreachTimes".into(),
        Value::from(b.components.iter().map(|c| c.time_ms).collect::<Vec<_>>()),
    );
    m.insert("devices".into(), Value::from(vec![b.did]));
    let label = device
        .and_then(|d| d.devicelabel.clone())
        .unwrap_or_default();
    m.insert("deviceLabels".into(), Value::from(vec![label]));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::HOUR_MS;
    use crate::testutil::{params, small_world, ANCHOR};

    fn run(pairs: &[(&str, &str)]) -> Result<Vec<Value>, ApiError> {
        details(small_world(), &params(pairs), ANCHOR).map(|v| v.as_array().unwrap().clone())
    }

    fn busiest_did() -> u32 {
        let w = small_world();
        w.devices()
            .iter()
            .max_by_key(|d| w.connections_of(d.did).len())
            .unwrap()
            .did
    }

    fn busiest_laptop_did() -> u32 {
        let w = small_world();
        w.devices()
            .iter()
            .filter(|d| d.typename == "laptop")
            .max_by_key(|d| w.connections_of(d.did).len())
            .unwrap()
            .did
    }

    #[test]
    fn requires_a_subject() {
        let e = run(&[("eventtype", "connection")]).unwrap_err();
        assert_eq!(
            e,
            ApiError::Input(
                "The request requires one of did, pbid, msg or blockedconnections".into()
            )
        );
        assert_eq!(run(&[("msg", "x")]).unwrap(), Vec::<Value>::new());
        assert_eq!(
            run(&[("blockedconnections", "all")]).unwrap(),
            Vec::<Value>::new()
        );
        assert!(matches!(
            run(&[("did", "1"), ("eventtype", "bogus")]),
            Err(ApiError::Input(_))
        ));
        assert_eq!(
            run(&[("did", "1"), ("eventtype", "notice")]).unwrap(),
            Vec::<Value>::new()
        );
    }

    #[test]
    fn time_params_come_in_pairs_and_refuse_count() {
        let did = busiest_did().to_string();
        for lone in [
            ("starttime", "1"),
            ("endtime", "1"),
            ("from", "2024-01-01 00:00:00"),
            ("to", "2024-01-01 00:00:00"),
        ] {
            assert_eq!(
                run(&[("did", &did), lone]).unwrap_err(),
                ApiError::Input(PAIRS_ERROR.into()),
                "{lone:?}"
            );
        }
        let e = run(&[
            ("did", &did),
            ("starttime", "1"),
            ("endtime", "2"),
            ("count", "5"),
        ])
        .unwrap_err();
        assert_eq!(
            e,
            ApiError::Input("count must not be used together with from or starttime".into())
        );
        assert!(matches!(
            run(&[("did", &did), ("count", "0")]),
            Err(ApiError::Input(_))
        ));
    }

    #[test]
    fn default_is_the_newest_events_oldest_first() {
        let did = busiest_did();
        let w = small_world();
        let total = w.connections_of(did).len();
        let got = run(&[("did", &did.to_string())]).unwrap();
        assert_eq!(got.len(), total.min(DEFAULT_COUNT));
        let three = run(&[("did", &did.to_string()), ("count", "3")]).unwrap();
        assert_eq!(three.len(), 3);
        assert_eq!(&got[got.len() - 3..], &three[..]);
        let times: Vec<i64> = got.iter().map(|e| e["timems"].as_i64().unwrap()).collect();
        assert!(times.windows(2).all(|p| p[0] <= p[1]));
        // Events after "now" are not in the default answer.
        let earlier = details(
            w,
            &params(&[("did", &did.to_string()), ("count", "1000")]),
            ANCHOR - 12 * HOUR_MS,
        )
        .unwrap();
        assert!(earlier
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["timems"].as_i64().unwrap() <= ANCHOR - 12 * HOUR_MS));
    }

    #[test]
    fn windows_are_inclusive_in_ms_and_strings() {
        let did = busiest_did();
        let w = small_world();
        let conns: Vec<&Connection> = w
            .connections_of(did)
            .iter()
            .map(|&i| &w.connections()[i as usize])
            .collect();
        let (s, e) = (conns[2].time_ms, conns[5].time_ms);
        let got = run(&[
            ("did", &did.to_string()),
            ("starttime", &s.to_string()),
            ("endtime", &e.to_string()),
        ])
        .unwrap();
        assert_eq!(
            got.len(),
            conns
                .iter()
                .filter(|c| s <= c.time_ms && c.time_ms <= e)
                .count()
        );
        assert_eq!(got[0]["timems"], s);
        let from = clock::spaced(ANCHOR - 2 * HOUR_MS);
        let to = clock::spaced(ANCHOR);
        let by_string = run(&[("did", &did.to_string()), ("from", &from), ("to", &to)]).unwrap();
        let expected = conns
            .iter()
            .filter(|c| c.time_ms >= ANCHOR - 2 * HOUR_MS && c.time_ms <= ANCHOR)
            .count();
        assert_eq!(by_string.len(), expected);
    }

    #[test]
    fn connection_event_shape() {
        let did = busiest_laptop_did();
        let got = run(&[("did", &did.to_string()), ("count", "50")]).unwrap();
        for e in &got {
            let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(&keys[..4], &["time", "timems", "action", "eventType"]);
            assert_eq!(e["action"], "connection");
            assert_eq!(e["time"], clock::spaced(e["timems"].as_i64().unwrap()));
            let me = if e["sdid"] == did {
                "sourceDevice"
            } else {
                "destinationDevice"
            };
            assert_eq!(e[me]["did"], did);
            assert!(
                e[me]["time"].is_string(),
                "nested device time is a string of epoch ms"
            );
            assert_eq!(
                e["direction"],
                if me == "sourceDevice" { "out" } else { "in" }
            );
            for end in ["sourceDevice", "destinationDevice"] {
                if e[end].get("did").is_none() {
                    let k: Vec<&String> = e[end].as_object().unwrap().keys().collect();
                    assert!(k.iter().all(|k| *k == "ip" || *k == "hostname"), "{k:?}");
                }
            }
        }
        assert!(
            got.iter()
                .any(|e| e["destinationDevice"].get("did").is_none()),
            "some external peers"
        );
    }

    #[test]
    fn pbid_gives_the_breach_event_then_its_connections() {
        let w = small_world();
        let b = &w.breaches()[0];
        let got = run(&[("pbid", &b.pbid.to_string())]).unwrap();
        assert_eq!(got[0]["eventType"], "policybreach");
        assert_eq!(got[0]["pbid"], b.pbid);
        assert_eq!(got[0]["devices"], serde_json::json!([b.did]));
        assert_eq!(got.len(), 1 + b.uids.len());
        for e in &got[1..] {
            assert_eq!(e["eventType"], "connection");
            assert!(b.uids.contains(&e["uid"].as_str().unwrap().to_string()));
            assert_eq!(e["sdid"], b.did);
            assert_eq!(e["direction"], "out");
        }
        assert_eq!(run(&[("pbid", "1")]).unwrap(), Vec::<Value>::new());
    }

    #[test]
    fn eventtypes_and_filters() {
        let w = small_world();
        let b = w.breaches().iter().find(|b| b.uids.len() > 1).unwrap();
        let did = b.did.to_string();
        let unusual = run(&[
            ("did", &did),
            ("eventtype", "unusualconnection"),
            ("count", "1000"),
        ])
        .unwrap();
        assert!(!unusual.is_empty());
        assert!(unusual
            .iter()
            .all(|e| e["eventType"] == "unusualconnection"));
        let breaches = run(&[("did", &did), ("eventtype", "modelbreach")]).unwrap();
        assert!(breaches.iter().any(|e| e["pbid"] == b.pbid));
        let uid = &b.uids[0];
        let one = run(&[("did", &did), ("uid", uid), ("count", "1000")]).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0]["uid"], uid.as_str());
        let all = run(&[("did", &did), ("count", "1000")]).unwrap();
        let ext = run(&[("did", &did), ("intext", "external"), ("count", "1000")]).unwrap();
        let int = run(&[("did", &did), ("intext", "internal"), ("count", "1000")]).unwrap();
        assert_eq!(ext.len() + int.len(), all.len());
        let https = run(&[
            ("did", &did),
            ("applicationprotocol", "https"),
            ("count", "1000"),
        ])
        .unwrap();
        assert!(https.iter().all(|e| e["applicationprotocol"] == "HTTPS"));
        let p443 = run(&[("did", &did), ("port", "443"), ("count", "1000")]).unwrap();
        assert!(p443.iter().all(|e| e["destinationPort"] == 443));
        assert!(matches!(
            run(&[("did", &did), ("port", "http")]),
            Err(ApiError::Input(_))
        ));
        assert!(matches!(
            run(&[("did", &did), ("intext", "both")]),
            Err(ApiError::Input(_))
        ));
        let rd = run(&[
            ("did", &did),
            ("count", "2"),
            ("responsedata", "uid,timems"),
        ])
        .unwrap();
        assert_eq!(rd[0].as_object().unwrap().len(), 2);
    }
}
