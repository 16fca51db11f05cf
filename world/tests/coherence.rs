//! Whole-world properties: every endpoint tells the same story (addresses, hostnames,
//! dids, uids, times), the world re-anchors, and the indexed search equals a linear scan.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::OnceLock;

use dt_world::api::search::{
    advanced_search_json, advanced_search_json_linear_scan, search_linear_scan, search_records,
};
use dt_world::api::{details, devices, modelbreaches};
use dt_world::clock::{DAY_MS, HOUR_MS, MINUTE_MS};
use dt_world::{generate, GenParams, Window, World};
use proptest::prelude::*;
use serde_json::{json, Value};

fn is_documentation_range(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            (o[0], o[1], o[2]) == (203, 0, 113) || (o[0], o[1], o[2]) == (198, 51, 100)
        }
        IpAddr::V6(_) => false,
    }
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The address `ip` at time `t` is a device's (then) or an external documentation host.
fn known_address(w: &World, ip: IpAddr, t: i64) -> bool {
    w.devices()
        .iter()
        .any(|d| d.use_at(t).is_some_and(|u| u.ip == ip))
        || is_documentation_range(ip)
}

fn check_coherence(w: &World) {
    let anchor = w.anchor_ms();
    let in_day = |t: i64| anchor - DAY_MS < t && t <= anchor;
    for d in w.devices() {
        assert!(
            d.first_seen <= d.last_seen && d.last_seen <= anchor,
            "device {}",
            d.did
        );
        for u in &d.ips {
            assert!(
                d.first_seen <= u.from_ms && u.to_ms <= d.last_seen,
                "device {} ips",
                d.did
            );
        }
    }
    for c in w.connections() {
        assert!(in_day(c.time_ms), "connection {} at {}", c.uid, c.time_ms);
        for p in [&c.src, &c.dst] {
            match p.did {
                Some(did) => {
                    let d = w.device(did).expect("connection device exists");
                    assert_eq!(
                        d.use_at(c.time_ms).map(|u| u.ip),
                        Some(p.ip),
                        "{} uses the device's address then",
                        c.uid
                    );
                    assert!(p.hostname.is_none());
                }
                None => assert!(is_documentation_range(p.ip), "{} external {}", c.uid, p.ip),
            }
        }
    }
    for b in w.breaches() {
        let d = w.device(b.did).expect("breach device exists");
        assert!(
            d.use_at(b.time_ms - 1_000).is_some(),
            "breach {} device active",
            b.pbid
        );
        assert!(b.creation_ms >= b.time_ms && in_day(b.time_ms));
        assert!(!b.uids.is_empty());
        for uid in &b.uids {
            let c = w.connection(uid).expect("breach connection exists");
            assert_eq!(
                c.src.did,
                Some(b.did),
                "breach {} connection {uid} starts at its device",
                b.pbid
            );
            assert!(c.time_ms <= b.time_ms);
        }
        for comp in &b.components {
            assert!(comp.time_ms <= b.time_ms);
        }
    }
    let s = w.search();
    let mut ids = HashSet::new();
    let mut conn_records = 0;
    let hostnames: HashSet<&str> = w
        .devices()
        .iter()
        .filter_map(|d| d.hostname.as_deref())
        .collect();
    for &id in s.ids_by_time() {
        let r = s.record(id);
        assert_eq!(r.id().len(), 20);
        assert!(ids.insert(r.id().to_string()), "duplicate _id {}", r.id());
        assert!(in_day(r.time_ms()), "record {} at {}", r.id(), r.time_ms());
        let hit = s.hit(id);
        let src = &hit["_source"];
        let f = &src["@fields"];
        let ip = |k: &str| {
            f[k].as_str()
                .map(|v| v.parse::<IpAddr>().expect("IP field parses"))
        };
        let date = dt_world::clock::index_date(r.time_ms());
        assert!(hit["_index"].as_str().unwrap().ends_with(&date));
        assert_eq!(src["@timestamp"], dt_world::clock::iso_secs(r.time_ms()));
        assert!(src["@message"]
            .as_str()
            .unwrap()
            .starts_with(&dt_world::clock::epoch_message_column(r.time_us())));
        let t = r.time_ms();
        match src["@type"].as_str().unwrap() {
            ty @ ("conn" | "dns" | "http" | "ssl") => {
                let uid = f["uid"].as_str().unwrap();
                let c = w
                    .connection(uid)
                    .unwrap_or_else(|| panic!("{ty} record {} has no connection {uid}", r.id()));
                assert_eq!(ip("source_ip"), Some(c.src.ip), "{uid}");
                assert_eq!(ip("dest_ip"), Some(c.dst.ip), "{uid}");
                assert_eq!(f["source_port"], c.src_port);
                assert_eq!(f["dest_port"], c.dst_port);
                if ty == "conn" {
                    conn_records += 1;
                    assert_eq!(t, c.time_ms, "conn record time is the connection's");
                    assert_eq!(f["orig_bytes"], c.bytes_out);
                } else {
                    assert!(t >= c.time_ms);
                }
            }
            ty @ ("firewall" | "ids" | "edr") => {
                let (sip, dip) = (ip("src_ip").unwrap(), ip("dest_ip").unwrap());
                assert!(
                    known_address(w, sip, t) && known_address(w, dip, t),
                    "{ty} {}",
                    r.id()
                );
                if let Some(host) = f["host"].as_str() {
                    assert!(hostnames.contains(host), "{ty} host {host}");
                    let d = w
                        .devices()
                        .iter()
                        .find(|d| d.hostname.as_deref() == Some(host))
                        .unwrap();
                    let dev_ip = d.ip_use_or_current(t).ip;
                    assert!(
                        dev_ip == sip || dev_ip == dip,
                        "{ty} host {host} is an end of the record"
                    );
                }
                let msg = ["msg_s", "SyslogMessage"]
                    .iter()
                    .filter(|k| f[**k].is_string())
                    .count();
                assert_eq!(msg, 1, "{ty} has exactly one message column");
            }
            other => panic!("unexpected @type {other}"),
        }
    }
    assert_eq!(
        conn_records,
        w.connections().len(),
        "one conn record per connection"
    );
}

#[test]
fn default_world_is_coherent() {
    check_coherence(&World::default_world(None));
}

#[test]
fn a_generated_world_is_coherent() {
    check_coherence(&generate(&GenParams {
        devices: 40,
        records: 4_000,
        seed: 99,
        anchor_ms: 1_650_000_000_000,
    }));
}

#[test]
fn conn_records_match_details_through_the_api() {
    let w = World::default_world(None);
    let now = w.anchor_ms();
    let s = w.search();
    let mut checked = 0;
    for &id in s.ids_by_time().iter().rev() {
        if s.record_type(id) != "conn" {
            continue;
        }
        let src = s.source_value(id);
        let f = &src["@fields"];
        let c = w.connection(f["uid"].as_str().unwrap()).unwrap();
        let Some(did) = c.src.did.or(c.dst.did) else {
            continue;
        };
        let t = c.time_ms.to_string();
        let got = details(
            &w,
            &params(&[
                ("did", &did.to_string()),
                ("starttime", &t),
                ("endtime", &t),
                ("uid", &c.uid),
            ]),
            now,
        )
        .unwrap();
        let got = got.as_array().unwrap();
        assert_eq!(got.len(), 1, "{}", c.uid);
        let e = &got[0];
        assert_eq!(e["uid"], f["uid"]);
        assert_eq!(e["timems"], s.record(id).time_ms());
        assert_eq!(e["sourcePort"], f["source_port"]);
        assert_eq!(e["destinationPort"], f["dest_port"]);
        assert_eq!(e["sourceDevice"]["ip"], f["source_ip"]);
        assert_eq!(e["destinationDevice"]["ip"], f["dest_ip"]);
        checked += 1;
        if checked == 60 {
            break;
        }
    }
    assert_eq!(checked, 60);
}

#[test]
fn breach_devices_agree_with_devices_endpoint() {
    let w = World::default_world(None);
    let now = w.anchor_ms();
    let breaches = modelbreaches(&w, &params(&[("includeacknowledged", "true")]), now).unwrap();
    for b in breaches.as_array().unwrap() {
        let did = b["device"]["did"].to_string();
        let d = devices(&w, &params(&[("did", &did)]), now).unwrap();
        assert_eq!(d["hostname"], b["device"]["hostname"]);
        assert_eq!(d["ips"], b["device"]["ips"]);
        assert_eq!(d["time"], b["device"]["firstSeen"]);
        assert_eq!(d["endtime"], b["device"]["lastSeen"]);
        let pbid = b["pbid"].to_string();
        let events = details(&w, &params(&[("pbid", &pbid)]), now).unwrap();
        for e in &events.as_array().unwrap()[1..] {
            assert_eq!(e["sourceDevice"]["did"], b["device"]["did"]);
            assert!(e["timems"].as_i64() <= b["time"].as_i64());
        }
    }
}

#[test]
fn the_default_world_is_anchored_where_asked() {
    for anchor in [1_900_000_000_123i64, 1_600_000_000_000] {
        let w = World::default_world(Some(anchor));
        let q = json!({"search": "", "timeframe": "3600", "size": 10_000}).to_string();
        let got = advanced_search_json(&w, q.as_bytes(), anchor).unwrap();
        let hits = got["hits"]["hits"].as_array().unwrap();
        assert!(
            hits.len() > 50,
            "the last hour before the anchor has records: {}",
            hits.len()
        );
        assert!(hits
            .iter()
            .all(|h| (anchor - HOUR_MS..=anchor).contains(&h["sort"][0].as_i64().unwrap())));
        assert!(!devices(&w, &[], anchor)
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty());
        assert!(!modelbreaches(&w, &[], anchor)
            .unwrap()
            .as_array()
            .unwrap()
            .is_empty());
        check_coherence(&w);
    }
}

#[test]
fn injected_records_are_found_at_once() {
    let mut w = World::default_world(None);
    let now = w.anchor_ms();
    let laptop = w
        .devices()
        .iter()
        .find(|d| d.typename == "laptop" && d.hostname.is_some())
        .unwrap()
        .clone();
    let uid = w
        .add_connection(dt_world::NewConnection {
            time_ms: now - 1_000,
            src: dt_world::PeerRef::Device(laptop.did),
            dst: dt_world::PeerRef::External {
                ip: "203.0.113.250".parse().unwrap(),
                hostname: Some("demo.example.com".into()),
            },
            src_port: 50_000,
            dst_port: 443,
            protocol: "TCP".into(),
            app: "HTTPS".into(),
            bytes_out: 1_000,
            bytes_in: 2_000,
        })
        .unwrap();
    let mut fields = serde_json::Map::new();
    fields.insert("vendor".into(), json!("Suricata"));
    fields.insert("src_ip".into(), json!(laptop.ip().to_string()));
    fields.insert("dest_ip".into(), json!("203.0.113.250"));
    fields.insert("host".into(), json!(laptop.hostname.clone().unwrap()));
    fields.insert("msg_s".into(), json!("demo alert"));
    let id = w.add_search_record(now - 1_000, "ids", &fields).unwrap();
    let pbid = w
        .add_breach(dt_world::NewBreach {
            time_ms: now - 400,
            did: laptop.did,
            pid: 3,
            score: 0.9,
            uids: vec![uid.clone()],
        })
        .unwrap();

    let q = format!(
        "@fields.src_ip:\"{0}\" OR @fields.source_ip:\"{0}\"",
        laptop.ip()
    );
    let body = json!({"search": q, "timeframe": "120", "size": 100}).to_string();
    let got = advanced_search_json(&w, body.as_bytes(), now).unwrap();
    let hits = got["hits"]["hits"].as_array().unwrap();
    assert_eq!(hits[0]["_id"], id.as_str(), "newest first");
    assert!(hits
        .iter()
        .any(|h| h["_source"]["@fields"]["uid"] == uid.as_str()));
    let host_q = json!({"search": format!("@fields.host:\"{}\"", laptop.hostname.as_ref().unwrap()), "timeframe": "120"});
    let got = advanced_search_json(&w, host_q.to_string().as_bytes(), now).unwrap();
    assert_eq!(got["hits"]["hits"][0]["_id"], id.as_str());
    let events = details(&w, &params(&[("pbid", &pbid.to_string())]), now).unwrap();
    assert_eq!(events[1]["uid"], uid.as_str());
    assert_eq!(events[1]["destination"], "demo.example.com");
    let last = details(
        &w,
        &params(&[("did", &laptop.did.to_string()), ("count", "1")]),
        now,
    )
    .unwrap();
    assert_eq!(last[0]["uid"], uid.as_str());
    assert!(w.device(laptop.did).unwrap().last_seen >= now - 1_000);
    assert!(w
        .add_breach(dt_world::NewBreach {
            time_ms: now,
            did: laptop.did,
            pid: 999,
            score: 0.5,
            uids: vec![]
        })
        .is_err());
    assert!(w
        .add_search_record(
            now,
            "ids",
            &serde_json::Map::from_iter([("src_ip".to_string(), json!(5))])
        )
        .is_err());
    assert!(w.set_acknowledged(pbid, true));
    check_coherence(&w);
}

fn prop_world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        generate(&GenParams {
            devices: 60,
            records: 20_000,
            seed: 2024,
            anchor_ms: 1_700_000_000_000,
        })
    })
}

fn addresses(w: &World) -> Vec<String> {
    let mut v: Vec<String> = w
        .devices()
        .iter()
        .flat_map(|d| d.ips.iter().map(|u| u.ip.to_string()))
        .collect();
    v.extend(
        w.connections()
            .iter()
            .filter(|c| c.dst.did.is_none())
            .map(|c| c.dst.ip.to_string()),
    );
    v.sort();
    v.dedup();
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn index_and_linear_scan_agree(
        a in 0usize..1_000,
        b in 0usize..1_000,
        start in 0i64..DAY_MS,
        len in MINUTE_MS..6 * HOUR_MS,
        shape in 0usize..5,
    ) {
        let w = prop_world();
        let ips = addresses(w);
        let (x, y) = (&ips[a % ips.len()], &ips[b % ips.len()]);
        let host = w.devices()[a % w.devices().len()].hostname.clone().unwrap_or_else(|| "nohost".into());
        let text = match shape {
            0 => format!("@fields.src_ip:(\"{x}\" OR \"{y}\") OR @fields.dest_ip:(\"{x}\" OR \"{y}\")"),
            1 => format!("@fields.source_ip:\"{x}\" AND @type:conn"),
            2 => format!("@fields.host:\"{host}\" OR @fields.dest_ip:{y}"),
            3 => format!("@fields.dest_ip:\"{x}\" AND NOT @type:dns"),
            _ => format!("NOT @fields.src_ip:\"{x}\" AND @fields.dest_port:443"),
        };
        let q = dt_search::parse(&text).unwrap();
        let from = w.anchor_ms() - DAY_MS + start;
        let window = Window::from_ms(from, from + len);
        let indexed = search_records(w, &q, window);
        let linear = search_linear_scan(w, &q, window);
        prop_assert_eq!(&indexed.ids, &linear.ids, "{}", text);
        if shape == 0 {
            prop_assert!(indexed.examined == indexed.ids.len(), "IP terms are answered by the index alone");
        }
        let body = json!({"search": text, "timeframe": "custom", "size": 25, "offset": 3,
            "time": {"from": dt_world::clock::iso_millis(from), "to": dt_world::clock::iso_millis(from + len)}}).to_string();
        let mut e1: Value = advanced_search_json(w, body.as_bytes(), 0).unwrap();
        let mut e2: Value = advanced_search_json_linear_scan(w, body.as_bytes(), 0).unwrap();
        e1["took"] = json!(0);
        e2["took"] = json!(0);
        prop_assert_eq!(e1, e2);
    }
}
