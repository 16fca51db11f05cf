//! The world's typed entities, as stored on disk and in memory.
//!
//! These are storage shapes, not API shapes: `api` renders them into the appliance's
//! JSON. Times are epoch milliseconds (microseconds for search records), already shifted
//! to the world's anchor once loaded.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

fn is_zero(v: &i32) -> bool {
    *v == 0
}

/// A device tag (`/tags` shape when rendered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    pub tid: u32,
    pub name: String,
    pub color: u32,
    #[serde(default)]
    pub description: String,
}

/// A period during which a device held an IP address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IpUse {
    pub ip: IpAddr,
    pub sid: u32,
    /// First seen with this IP (epoch ms).
    pub from_ms: i64,
    /// Last seen with this IP (epoch ms).
    pub to_ms: i64,
}

/// An internal device. Optional attributes are omitted from every rendering when absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub did: u32,
    pub id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub macaddress: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devicelabel: Option<String>,
    pub typename: String,
    pub typelabel: String,
    pub first_seen: i64,
    pub last_seen: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<String>,
    /// IP history, oldest first; the last entry is the current address.
    pub ips: Vec<IpUse>,
}

impl Device {
    /// The current address.
    pub fn ip(&self) -> IpAddr {
        self.current().ip
    }

    /// The current subnet id.
    pub fn sid(&self) -> u32 {
        self.current().sid
    }

    fn current(&self) -> &IpUse {
        // Load validation guarantees at least one entry.
        self.ips
            .iter()
            .max_by_key(|u| u.to_ms)
            .unwrap_or(&self.ips[0])
    }

    /// The address held at `t`, if the device held one then.
    pub fn use_at(&self, t: i64) -> Option<&IpUse> {
        self.ips.iter().find(|u| u.from_ms <= t && t <= u.to_ms)
    }

    /// The address held at `t`, falling back to the current one (for renderings that
    /// need an address even outside the recorded periods).
    pub fn ip_use_or_current(&self, t: i64) -> &IpUse {
        self.use_at(t).unwrap_or_else(|| self.current())
    }
}

/// One MITRE ATT&CK technique.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Technique {
    pub id: String,
    pub name: String,
}

/// One revision of a model; the last revision in [`Model::versions`] is the current one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub phid: u32,
    pub version: u32,
    pub modified_ms: i64,
    pub edited_by: String,
}

/// A filter of a model component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterSpec {
    pub cfid: u32,
    pub id: String,
    pub filter_type: String,
    pub comparator: String,
    /// `arguments.value` as the appliance stores it (enum code for enum filters).
    pub argument: serde_json::Value,
    /// `arguments.value` with `expandenums=true`, for enum filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argument_expanded: Option<serde_json::Value>,
}

/// A model component: a metric, a threshold and filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub cid: u32,
    pub chid: u32,
    pub mlid: u32,
    pub metric_name: String,
    pub metric_label: String,
    pub threshold: u64,
    pub interval: u32,
    pub filters: Vec<FilterSpec>,
}

/// A detection model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub pid: u32,
    pub uuid: String,
    pub name: String,
    pub category: String,
    pub priority: i32,
    pub description: String,
    pub behaviour: String,
    pub tags: Vec<String>,
    pub mitre_tactics: Vec<String>,
    pub mitre_techniques: Vec<Technique>,
    pub throttle: u32,
    pub interval: u32,
    pub components: Vec<Component>,
    pub versions: Vec<ModelVersion>,
}

impl Model {
    /// The current revision.
    pub fn current(&self) -> &ModelVersion {
        self.versions
            .last()
            .expect("load validation guarantees a model revision")
    }

    /// The revision with this phid, falling back to the current one.
    pub fn version(&self, phid: u32) -> &ModelVersion {
        self.versions
            .iter()
            .find(|v| v.phid == phid)
            .unwrap_or_else(|| self.current())
    }
}

/// A filter as it fired in a breach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggeredFilter {
    pub cfid: u32,
    pub id: String,
    pub filter_type: String,
    pub comparator: String,
    pub argument: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argument_expanded: Option<serde_json::Value>,
    pub trigger: serde_json::Value,
}

/// A component as it fired in a breach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggeredComponent {
    pub time_ms: i64,
    pub cbid: u64,
    pub cid: u32,
    pub chid: u32,
    pub size: u64,
    pub threshold: u64,
    pub interval: u32,
    pub mlid: u32,
    pub metric_name: String,
    pub metric_label: String,
    pub filters: Vec<TriggeredFilter>,
}

/// A model breach (model alert).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    pub pbid: u64,
    pub pid: u32,
    /// The model revision at breach time (`model.then`).
    pub phid: u32,
    pub did: u32,
    pub time_ms: i64,
    pub creation_ms: i64,
    /// 0–1.
    pub score: f64,
    #[serde(default)]
    pub acknowledged: bool,
    #[serde(default)]
    pub comment_count: u32,
    pub components: Vec<TriggeredComponent>,
    /// The connections that make up the breach (`/details?pbid=`), by uid.
    #[serde(default)]
    pub uids: Vec<String>,
}

/// One end of a connection: an internal device (with the address it used then) or an
/// external host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Peer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did: Option<u32>,
    pub ip: IpAddr,
    /// Only for external hosts; a device's name comes from the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
}

/// A connection event (`/details`), mirrored by a `conn` advanced-search record with the
/// same uid, time, addresses and ports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub uid: String,
    pub time_ms: i64,
    pub src: Peer,
    pub dst: Peer,
    pub src_port: u16,
    pub dst_port: u16,
    /// `TCP`, `UDP`, `ICMP`.
    pub protocol: String,
    /// `HTTPS`, `DNS`, `SMB`, ...
    pub app: String,
    pub bytes_out: u64,
    pub bytes_in: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_query: Option<String>,
    /// Listed by `eventtype=unusualconnection`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unusual: bool,
    /// Listed by `eventtype=newconnection`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new: bool,
}
