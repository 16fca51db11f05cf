//! Demo detections (`POST /_mock/inject`, `dt-mock inject`): coherent records added to
//! the world at the mock's now, so a validation job's client run finds them in its
//! window.
//!
//! One injection adds, at one instant:
//! - a search record of a third-party security tool's shape, as those tools' logs reach
//!   Darktrace: a firewall deny (Palo Alto Networks PAN-OS, `msg_s`), an IDS alert
//!   (Suricata, `signature`, `severity`, `SyslogMessage`), or an EDR detection
//!   (CrowdStrike Falcon, `host`); for `model-breach`, a Zeek-style `notice` naming
//!   the model;
//! - the connection between the two addresses (`/details`, and its `conn` record in
//!   advanced search), with world devices as device peers;
//! - for `model-breach`, a model breach on the source device made of that connection
//!   (`/modelbreaches`, `/details?pbid=`).
//!
//! Writers hold the world's write lock only for the three inserts.

use std::net::IpAddr;

use dt_world::{NewBreach, NewConnection, PeerRef, World};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// What to inject.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum InjectKind {
    /// A firewall's deny log (Palo Alto Networks PAN-OS).
    #[default]
    FirewallDeny,
    /// An IDS alert (Suricata).
    IdsAlert,
    /// An EDR detection (CrowdStrike Falcon).
    EdrDetection,
    /// A Darktrace model breach on the source device (and its notice and connection).
    ModelBreach,
}

impl InjectKind {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            InjectKind::FirewallDeny => "firewall-deny",
            InjectKind::IdsAlert => "ids-alert",
            InjectKind::EdrDetection => "edr-detection",
            InjectKind::ModelBreach => "model-breach",
        }
    }
}

/// `POST /_mock/inject`'s body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjectRequest {
    /// The source address.
    pub src: String,
    /// The destination address.
    pub dest: String,
    /// The host name to put in `@fields.host` (default: the source device's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// What to inject (default `firewall-deny`).
    #[serde(default)]
    pub kind: InjectKind,
    /// The model of a `model-breach` (default: one that fits the destination).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// What was added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Injected {
    /// The kind injected.
    pub kind: InjectKind,
    /// When (the mock's now), RFC 3339.
    pub time: String,
    /// When, epoch ms.
    pub time_ms: i64,
    /// The source address.
    pub src: String,
    /// The destination address.
    pub dest: String,
    /// The host name recorded, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The search record's `_id`.
    #[serde(rename = "_id")]
    pub id: String,
    /// The record's `@type` (`firewall`, `ids`, `edr`, `notice`).
    pub record_type: String,
    /// The connection's uid.
    pub uid: String,
    /// The source device's did, when the source is a world device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_did: Option<u32>,
    /// The destination device's did, when the destination is a world device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_did: Option<u32>,
    /// The breach's pbid (`model-breach`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pbid: Option<u64>,
    /// The breach's model (`model-breach`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The model's name (`model-breach`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// A one-line description (the record's message).
    pub summary: String,
}

/// Why an injection was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InjectError {
    /// An address that is not an IP address.
    #[error("{field} {value:?} is not an IP address")]
    BadIp {
        /// `src` or `dest`.
        field: &'static str,
        /// The value sent.
        value: String,
    },
    /// A host name that is empty or has characters no host name has.
    #[error("host {0:?} is not a host name")]
    BadHost(String),
    /// `model-breach` needs a device at the source.
    #[error("src {0} is not a device in the world: a model breach needs a source device")]
    NotADevice(String),
    /// The model asked for does not exist.
    #[error("no model {0}")]
    UnknownModel(u32),
    /// The world refused the records.
    #[error("the world refused the record: {0}")]
    World(String),
}

/// The device that holds (or last held) `ip` in the world.
pub fn device_for_ip(world: &World, ip: IpAddr) -> Option<u32> {
    world
        .devices()
        .iter()
        .filter_map(|d| {
            d.ips
                .iter()
                .filter(|u| u.ip == ip)
                .map(|u| u.to_ms)
                .max()
                .map(|t| (t, d.did))
        })
        .max_by_key(|(t, did)| (*t, std::cmp::Reverse(*did)))
        .map(|(_, did)| did)
}

/// Two addresses for a demo: a client device (laptop or desktop, with a name and an
/// address no other device shares) as source and a server as destination.
pub fn demo_ips(world: &World) -> Value {
    let devices = world.devices();
    let unique = |ip: IpAddr| {
        devices
            .iter()
            .filter(|d| d.ips.iter().any(|u| u.ip == ip))
            .count()
            == 1
    };
    let src = devices
        .iter()
        .find(|d| {
            matches!(d.typename.as_str(), "laptop" | "desktop")
                && d.hostname.is_some()
                && d.ips.len() == 1
                && unique(d.ip())
        })
        .or_else(|| devices.first());
    let dest = devices
        .iter()
        .find(|d| d.typename == "server" && Some(d.did) != src.map(|s| s.did))
        .or_else(|| devices.iter().find(|d| Some(d.did) != src.map(|s| s.did)));
    let side = |d: Option<&dt_world::model::Device>| match d {
        Some(d) => json!({"ip": d.ip().to_string(), "did": d.did, "hostname": d.hostname}),
        None => Value::Null,
    };
    json!({
        "src": src.map(|d| d.ip().to_string()),
        "dest": dest.map(|d| d.ip().to_string()),
        "src_device": side(src),
        "dest_device": side(dest),
    })
}

fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// Adds the records of `req` to `world` at `now_ms`.
pub fn inject(
    world: &mut World,
    req: &InjectRequest,
    now_ms: i64,
) -> Result<Injected, InjectError> {
    let src: IpAddr = req.src.trim().parse().map_err(|_| InjectError::BadIp {
        field: "src",
        value: req.src.clone(),
    })?;
    let dest: IpAddr = req.dest.trim().parse().map_err(|_| InjectError::BadIp {
        field: "dest",
        value: req.dest.clone(),
    })?;
    if let Some(h) = &req.host {
        if !valid_host(h) {
            return Err(InjectError::BadHost(h.clone()));
        }
    }
    let src_did = device_for_ip(world, src);
    let dest_did = device_for_ip(world, dest);
    let host = req.host.clone().or_else(|| {
        src_did
            .and_then(|did| world.device(did))
            .and_then(|d| d.hostname.clone())
    });
    let model = match req.kind {
        InjectKind::ModelBreach => {
            if src_did.is_none() {
                return Err(InjectError::NotADevice(src.to_string()));
            }
            let m = match req.pid {
                Some(pid) => world.model(pid).ok_or(InjectError::UnknownModel(pid))?,
                None => pick_model(world, dest_did.is_some())
                    .ok_or_else(|| InjectError::World("the world has no models".into()))?,
            };
            Some((m.pid, m.name.clone()))
        }
        _ => None,
    };

    let internal_dest = dest_did.is_some();
    let src_port = 49_152 + (now_ms.rem_euclid(16_000)) as u16;
    let (dest_port, app, fw_app) = match (req.kind, internal_dest) {
        (InjectKind::EdrDetection, _) => (443, "HTTPS", "ssl"),
        (InjectKind::ModelBreach, false) => (443, "HTTPS", "ssl"),
        (_, true) => (445, "SMB", "ms-ds-smb"),
        (_, false) => (4444, "Unknown", "incomplete"),
    };
    let (s, d) = (src.to_string(), dest.to_string());
    let peer = |ip: IpAddr, did: Option<u32>| match did {
        Some(did) => PeerRef::Device(did),
        None => PeerRef::External { ip, hostname: None },
    };
    let (bytes_out, bytes_in) = match req.kind {
        InjectKind::FirewallDeny => (74, 0),
        InjectKind::IdsAlert => (1_460, 512),
        InjectKind::EdrDetection => (18_230, 4_096),
        InjectKind::ModelBreach => (2_048, 1_024),
    };

    let mut fields = Map::new();
    let mut put = |k: &str, v: Value| {
        fields.insert(k.to_string(), v);
    };
    let (record_type, summary) = match req.kind {
        InjectKind::FirewallDeny => {
            let rule = if internal_dest {
                "deny-lateral-smb"
            } else {
                "deny-outbound-risky-ports"
            };
            let msg = format!(
                "TRAFFIC deny src={s}:{src_port} dst={d}:{dest_port} proto=tcp app={fw_app} rule={rule}"
            );
            put("vendor", json!("Palo Alto Networks"));
            put("product", json!("PAN-OS"));
            if let Some(h) = &host {
                put("host", json!(h));
            }
            put("src_ip", json!(s));
            put("src_port", json!(src_port));
            put("dest_ip", json!(d));
            put("dest_port", json!(dest_port));
            put("proto", json!("tcp"));
            put("app", json!(fw_app));
            put("action", json!("deny"));
            put("rule", json!(rule));
            put("severity", json!("high"));
            put("msg_s", json!(msg));
            ("firewall", msg)
        }
        InjectKind::IdsAlert => {
            let (signature, sid, category) = if internal_dest {
                (
                    "ET EXPLOIT Possible ETERNALBLUE Probe MS17-010 (Generic Flags)",
                    2_024_297,
                    "Attempted Administrator Privilege Gain",
                )
            } else {
                (
                    "ET POLICY Possible Metasploit Payload Common Construct Reverse Shell",
                    2_025_644,
                    "A Network Trojan was detected",
                )
            };
            let msg = format!(
                "[1:{sid}:2] {signature} [Classification: {category}] [Priority: 1] {{TCP}} {s}:{src_port} -> {d}:{dest_port}"
            );
            put("vendor", json!("Suricata"));
            put("product", json!("Suricata IDS"));
            if let Some(h) = &host {
                put("host", json!(h));
            }
            put("src_ip", json!(s));
            put("src_port", json!(src_port));
            put("dest_ip", json!(d));
            put("dest_port", json!(dest_port));
            put("proto", json!("tcp"));
            put("action", json!("allow"));
            put("signature", json!(signature));
            put("signature_id", json!(sid));
            put("category", json!(category));
            put("severity", json!(1));
            put("SyslogMessage", json!(msg));
            ("ids", msg)
        }
        InjectKind::EdrDetection => {
            let host_name = host.clone().unwrap_or_else(|| s.clone());
            let signature = "Credential dumping tool (Mimikatz) executed";
            let msg = format!(
                "Detection: {signature}; Severity: Critical; Tactic: Credential Access; Technique: T1003; Host: {host_name}; Action: process blocked"
            );
            put("vendor", json!("CrowdStrike"));
            put("product", json!("Falcon"));
            put("host", json!(host_name));
            put("src_ip", json!(s));
            put("dest_ip", json!(d));
            put("dest_port", json!(dest_port));
            put("action", json!("block"));
            put("signature", json!(signature));
            put("severity", json!("Critical"));
            put("tactic", json!("Credential Access"));
            put("technique", json!("T1003"));
            put("msg_s", json!(msg));
            ("edr", msg)
        }
        InjectKind::ModelBreach => {
            let (pid, name) = model.clone().unwrap_or_default();
            let msg = format!("Model breach: {name} (pid {pid}) {s} -> {d}:{dest_port}");
            if let Some(h) = &host {
                put("host", json!(h));
            }
            put("src_ip", json!(s));
            put("src_port", json!(src_port));
            put("dest_ip", json!(d));
            put("dest_port", json!(dest_port));
            put("proto", json!("tcp"));
            put("note", json!("Darktrace::Model_Breach"));
            put("msg", json!(msg));
            ("notice", msg)
        }
    };

    let uid = world
        .add_connection(NewConnection {
            time_ms: now_ms,
            src: peer(src, src_did),
            dst: peer(dest, dest_did),
            src_port,
            dst_port: dest_port,
            protocol: "TCP".into(),
            app: app.into(),
            bytes_out,
            bytes_in,
        })
        .map_err(|e| InjectError::World(e.to_string()))?;
    if record_type == "notice" {
        fields.insert("uid".into(), json!(uid));
    }
    let id = world
        .add_search_record(now_ms, record_type, &fields)
        .map_err(|e| InjectError::World(e.to_string()))?;
    let pbid = match (model.as_ref(), src_did) {
        (Some((pid, _)), Some(did)) => Some(
            world
                .add_breach(NewBreach {
                    time_ms: now_ms,
                    did,
                    pid: *pid,
                    score: 0.87,
                    uids: vec![uid.clone()],
                })
                .map_err(|e| InjectError::World(e.to_string()))?,
        ),
        _ => None,
    };
    Ok(Injected {
        kind: req.kind,
        time: crate::clock::from_ms(now_ms)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        time_ms: now_ms,
        src: s,
        dest: d,
        host,
        id,
        record_type: record_type.to_string(),
        uid,
        src_did,
        dest_did,
        pbid,
        pid: model.as_ref().map(|(p, _)| *p),
        model: model.map(|(_, n)| n),
        summary,
    })
}

/// A model that fits: lateral movement for an internal destination, beaconing for an
/// external one; else the highest-priority model.
fn pick_model(world: &World, internal_dest: bool) -> Option<&dt_world::model::Model> {
    let wanted: &[&str] = if internal_dest {
        &["SMB", "Attack and Recon", "Remote Desktop"]
    } else {
        &["Beaconing", "Rare External", "Rare Domain"]
    };
    wanted
        .iter()
        .find_map(|w| world.models().iter().find(|m| m.name.contains(w)))
        .or_else(|| world.models().iter().max_by_key(|m| m.priority))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        World::default_world(Some(1_714_564_800_000))
    }

    #[test]
    fn refuses_nonsense_addresses() {
        let mut w = world();
        let req = |src: &str| InjectRequest {
            src: src.into(),
            dest: "10.10.1.10".into(),
            host: None,
            kind: InjectKind::FirewallDeny,
            pid: None,
        };
        assert!(matches!(
            inject(&mut w, &req("10.0.0.300"), 1),
            Err(InjectError::BadIp { field: "src", .. })
        ));
        assert!(matches!(
            inject(&mut w, &req("<script>"), 1),
            Err(InjectError::BadIp { .. })
        ));
    }

    #[test]
    fn model_breach_needs_a_source_device() {
        let mut w = world();
        let req = InjectRequest {
            src: "198.51.100.7".into(),
            dest: "10.10.1.10".into(),
            host: None,
            kind: InjectKind::ModelBreach,
            pid: None,
        };
        assert!(matches!(
            inject(&mut w, &req, 1_714_564_800_000),
            Err(InjectError::NotADevice(_))
        ));
    }

    #[test]
    fn demo_ips_are_a_client_and_a_server() {
        let w = world();
        let v = demo_ips(&w);
        let src: IpAddr = v["src"].as_str().unwrap().parse().unwrap();
        let dest: IpAddr = v["dest"].as_str().unwrap().parse().unwrap();
        assert!(device_for_ip(&w, src).is_some());
        assert!(device_for_ip(&w, dest).is_some());
        assert_ne!(src, dest);
    }
}
