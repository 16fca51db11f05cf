//! `GET /devices`.
//!
//! - `did=N`: that device as a single object, whatever its last-seen time; 404 when
//!   unknown.
//! - Otherwise an array sorted by did of the devices last seen within the window:
//!   `seensince` (seconds, or `N` + `second|sec|min|minute|hour|day|week`, plural
//!   allowed, minimum 1 second) or by default 7 days before now.
//! - Filters: `ip` (current address), `ip` + `iptime` (the device that held the address
//!   at that time, whatever the window), `mac` (case-insensitive), `sid` (current
//!   subnet), then `count` keeps the first N.
//! - `includetags=true` adds `tags` (possibly empty) to every device.
//! - Absent attributes are omitted; `priority` is omitted when 0.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::{apply_responsedata, input, ips_json, put_opt, tag_json, ApiError, Params};
use crate::clock::{DAY_MS, SECOND_MS};
use crate::model::Device;
use crate::world::{holder_at, World};

/// The default `/devices` window.
pub const DEFAULT_WINDOW_MS: i64 = 7 * DAY_MS;

/// `GET /devices`.
pub fn devices(world: &World, params: &[(String, String)], now_ms: i64) -> Result<Value, ApiError> {
    let p = Params(params);
    let include_tags = p.bool("includetags", false)?;
    let window = match p.get("seensince") {
        Some(v) => parse_seensince(v)?,
        None => DEFAULT_WINDOW_MS,
    };
    let ip: Option<IpAddr> = p
        .get("ip")
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| input("ip must be an IP address"))
        })
        .transpose()?;
    let iptime = match p.get("iptime") {
        Some(v) => Some(
            crate::clock::parse_time(v)
                .ok_or_else(|| input("iptime must be a time in YYYY-MM-DD HH:MM:SS format"))?,
        ),
        None => None,
    };
    let sid: Option<u32> = p.int("sid")?;
    let count = p.int::<usize>("count")?;
    let mac = p.get("mac").map(|m| m.trim().to_ascii_lowercase());

    if let Some(did) = p.int::<u32>("did")? {
        let d = world
            .device(did)
            .ok_or_else(|| ApiError::NotFound(format!("Device {did} not found")))?;
        let mut v = device_json(world, d, include_tags);
        apply_responsedata(&mut v, params);
        return Ok(v);
    }

    let mut out: Vec<&Device> = match (ip, iptime) {
        (Some(ip), Some(t)) => holder_at(world.devices(), ip, t).into_iter().collect(),
        _ => world
            .devices()
            .iter()
            // Saturating: before 1970 (a clock set back) a huge window would overflow.
            .filter(|d| d.last_seen >= now_ms.saturating_sub(window))
            .filter(|d| ip.is_none_or(|ip| d.ip() == ip))
            .collect(),
    };
    out.retain(|d| {
        mac.as_deref().is_none_or(|m| {
            d.macaddress
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case(m))
        }) && sid.is_none_or(|s| d.sid() == s)
    });
    if let Some(n) = count {
        out.truncate(n);
    }
    let mut v = Value::Array(
        out.into_iter()
            .map(|d| device_json(world, d, include_tags))
            .collect(),
    );
    apply_responsedata(&mut v, params);
    Ok(v)
}

/// Parses `seensince` into milliseconds.
pub fn parse_seensince(v: &str) -> Result<i64, ApiError> {
    let err = || {
        input("seensince must be a number of seconds or a number with a unit (second, min, hour, day, week)")
    };
    let v = v.trim().to_ascii_lowercase();
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    let n: i64 = v[..digits].parse().map_err(|_| err())?;
    let unit = v[digits..].trim();
    let unit = unit
        .strip_suffix('s')
        .filter(|u| !u.is_empty())
        .unwrap_or(unit);
    let scale = match unit {
        "" | "second" | "sec" => SECOND_MS,
        "min" | "minute" => 60 * SECOND_MS,
        "hour" => 3_600 * SECOND_MS,
        "day" => DAY_MS,
        "week" => 7 * DAY_MS,
        _ => return Err(err()),
    };
    if n < 1 {
        return Err(input("seensince must be at least 1 second"));
    }
    n.checked_mul(scale).ok_or_else(err)
}

/// A device as `/devices` renders it (key order of the API guide's example).
pub(crate) fn device_json(world: &World, d: &Device, include_tags: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), Value::from(d.id));
    put_opt(&mut m, "macaddress", &d.macaddress);
    put_opt(&mut m, "vendor", &d.vendor);
    m.insert("ip".into(), Value::String(d.ip().to_string()));
    m.insert("ips".into(), ips_json(d));
    m.insert("did".into(), Value::from(d.did));
    m.insert("sid".into(), Value::from(d.sid()));
    put_opt(&mut m, "hostname", &d.hostname);
    m.insert("time".into(), Value::from(d.first_seen));
    m.insert("endtime".into(), Value::from(d.last_seen));
    put_opt(&mut m, "os", &d.os);
    put_opt(&mut m, "devicelabel", &d.devicelabel);
    m.insert("typename".into(), Value::String(d.typename.clone()));
    m.insert("typelabel".into(), Value::String(d.typelabel.clone()));
    if d.priority != 0 {
        m.insert("priority".into(), Value::from(d.priority));
    }
    if !d.credentials.is_empty() {
        m.insert("credentials".into(), Value::from(d.credentials.clone()));
    }
    if include_tags {
        let tags = d
            .tags
            .iter()
            .filter_map(|tid| world.tags().iter().find(|t| t.tid == *tid))
            .map(tag_json);
        m.insert("tags".into(), Value::Array(tags.collect()));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{params, small_world, ANCHOR};

    fn list(pairs: &[(&str, &str)]) -> Vec<Value> {
        match devices(small_world(), &params(pairs), ANCHOR).unwrap() {
            Value::Array(v) => v,
            other => panic!("expected an array, got {other}"),
        }
    }

    #[test]
    fn default_window_is_seven_days() {
        let w = small_world();
        let all = list(&[]);
        let expected = w
            .devices()
            .iter()
            .filter(|d| d.last_seen >= ANCHOR - 7 * DAY_MS)
            .count();
        assert_eq!(all.len(), expected);
        assert!(
            expected < w.devices().len(),
            "the fixture has a device last seen 10 days ago"
        );
        assert!(all
            .windows(2)
            .all(|p| p[0]["did"].as_u64() < p[1]["did"].as_u64()));
    }

    #[test]
    fn seensince_forms() {
        assert_eq!(parse_seensince("3600"), Ok(3_600_000));
        assert_eq!(parse_seensince("2min"), Ok(120_000));
        assert_eq!(parse_seensince("30minute"), Ok(1_800_000));
        assert_eq!(parse_seensince("24hours"), Ok(86_400_000));
        assert_eq!(parse_seensince("6days"), Ok(6 * DAY_MS));
        assert_eq!(parse_seensince("1week"), Ok(7 * DAY_MS));
        assert_eq!(parse_seensince("1 second"), Ok(1_000));
        for bad in ["", "0", "0min", "-5", "5 fortnights", "min", "1.5hour"] {
            assert!(
                matches!(parse_seensince(bad), Err(ApiError::Input(_))),
                "{bad}"
            );
        }
        let day = list(&[("seensince", "1day")]);
        let month = list(&[("seensince", "30days")]);
        assert!(day.len() < month.len());
        assert_eq!(month.len(), small_world().devices().len());
    }

    #[test]
    fn did_returns_a_single_object_or_404() {
        let d = &small_world().devices()[0];
        let v = devices(
            small_world(),
            &params(&[("did", &d.did.to_string())]),
            ANCHOR,
        )
        .unwrap();
        assert_eq!(v["did"], d.did);
        assert_eq!(
            devices(small_world(), &params(&[("did", "999999")]), ANCHOR),
            Err(ApiError::NotFound("Device 999999 not found".into()))
        );
        assert!(matches!(
            devices(small_world(), &params(&[("did", "x")]), ANCHOR),
            Err(ApiError::Input(_))
        ));
    }

    #[test]
    fn shape_key_order_and_omissions() {
        let all = list(&[("seensince", "30days")]);
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        let order = [
            "id",
            "macaddress",
            "vendor",
            "ip",
            "ips",
            "did",
            "sid",
            "hostname",
            "time",
            "endtime",
            "os",
            "devicelabel",
            "typename",
            "typelabel",
            "priority",
            "credentials",
            "tags",
        ];
        for v in &all {
            let k = keys(v);
            let pos: Vec<usize> = k
                .iter()
                .map(|k| order.iter().position(|o| o == k).unwrap())
                .collect();
            assert!(pos.windows(2).all(|p| p[0] < p[1]), "{k:?}");
            assert_ne!(v.get("priority"), Some(&Value::from(0)));
        }
        assert!(
            all.iter().any(|v| v.get("hostname").is_none()),
            "some devices have no hostname"
        );
        assert!(
            all.iter().any(|v| v.get("macaddress").is_none()),
            "some devices have no MAC"
        );
        assert!(
            all.iter().any(|v| v.get("priority").is_some()),
            "some devices have a priority"
        );
        assert!(all.iter().all(|v| v.get("tags").is_none()));
        let tagged = list(&[("includetags", "true")]);
        assert!(tagged.iter().all(|v| v["tags"].is_array()));
        assert!(tagged
            .iter()
            .any(|v| v["tags"].as_array().is_some_and(|t| !t.is_empty())));
    }

    #[test]
    fn filters_ip_iptime_mac_sid_count() {
        let w = small_world();
        let moved = w
            .devices()
            .iter()
            .find(|d| d.ips.len() == 2)
            .expect("fixture has an address change");
        let old_ip = moved.ips[0].ip.to_string();
        // Now the old address belongs to the device that appeared later.
        let now_holder = list(&[("ip", &old_ip)]);
        assert_eq!(now_holder.len(), 1);
        assert_ne!(now_holder[0]["did"], moved.did);
        let then = crate::clock::spaced(moved.ips[0].to_ms - 3_600_000);
        let past = list(&[("ip", &old_ip), ("iptime", &then)]);
        assert_eq!(past.len(), 1);
        assert_eq!(past[0]["did"], moved.did);
        assert!(matches!(
            devices(w, &params(&[("ip", "nope")]), ANCHOR),
            Err(ApiError::Input(_))
        ));

        let with_mac = w.devices().iter().find(|d| d.macaddress.is_some()).unwrap();
        let mac = with_mac.macaddress.as_ref().unwrap().to_ascii_uppercase();
        let by_mac = list(&[("mac", &mac)]);
        assert_eq!(by_mac.len(), 1);
        assert_eq!(by_mac[0]["did"], with_mac.did);

        let servers = list(&[("sid", "1")]);
        assert!(!servers.is_empty() && servers.iter().all(|v| v["sid"] == 1));
        assert_eq!(list(&[("count", "2")]).len(), 2);
        let restricted = list(&[("count", "1"), ("responsedata", "did,hostname")]);
        assert_eq!(
            restricted[0].as_object().unwrap().keys().next().unwrap(),
            "did"
        );
    }
}
