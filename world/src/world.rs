//! The [`World`]: every entity, the lookups the endpoints use, and the mutation entry
//! points that keep those lookups valid.

use std::collections::HashSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock;
use crate::model::{
    Breach, Connection, Device, IpUse, Model, Peer, Tag, TriggeredComponent, TriggeredFilter,
};
use crate::records::{self, Fv};
use crate::search::{FastMap, RecordSink, SearchStore, StrIndex, INDEXED_FIELDS};

/// Why a world could not be loaded, written or changed.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file is not in the world format.
    #[error("{file}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Parse {
        file: String,
        line: Option<usize>,
        message: String,
    },
    /// The data is well-formed but inconsistent (unknown did, duplicate id, ...).
    #[error("invalid world: {0}")]
    Invalid(String),
}

/// Counts, as recorded in `world.json` (informational; recomputed on write).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub devices: usize,
    pub models: usize,
    pub breaches: usize,
    pub connections: usize,
    pub search_records: usize,
}

/// `world.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Format version (1).
    pub format: u32,
    pub name: String,
    /// The appliance hostname, used in `breachUrl`.
    pub hostname: String,
    /// The end of the world's 24 hours, epoch ms.
    pub anchor_ms: i64,
    /// `anchor_ms` in `YYYY-MM-DD HH:MM:SS`, for people (ignored on load).
    #[serde(default)]
    pub anchor: String,
    /// The generator seed, when generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The next sequence number for `_id`s, uids and component-breach ids, so injected
    /// records never collide with stored ones.
    pub next_seq: u64,
    #[serde(default)]
    pub counts: Counts,
}

/// One end of a connection to inject.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerRef {
    /// An internal device; its address at the connection's time is used.
    Device(u32),
    /// An external host.
    External {
        ip: IpAddr,
        hostname: Option<String>,
    },
}

/// A connection to inject (see [`World::add_connection`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewConnection {
    pub time_ms: i64,
    pub src: PeerRef,
    pub dst: PeerRef,
    pub src_port: u16,
    pub dst_port: u16,
    /// `TCP` or `UDP`.
    pub protocol: String,
    /// Application protocol, e.g. `HTTPS`.
    pub app: String,
    pub bytes_out: u64,
    pub bytes_in: u64,
}

/// A model breach to inject (see [`World::add_breach`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewBreach {
    pub time_ms: i64,
    pub did: u32,
    pub pid: u32,
    /// 0–1.
    pub score: f64,
    /// Existing connections that make up the breach.
    pub uids: Vec<String>,
}

/// The mock appliance's data: devices, models, breaches, connections and
/// advanced-search records, with their indexes. Plain data, so `Send + Sync`; the
/// caller serialises writers (the mock holds it in an `RwLock`).
#[derive(Debug, Clone)]
pub struct World {
    pub(crate) meta: Meta,
    pub(crate) tags: Vec<Tag>,
    /// Sorted by did.
    pub(crate) devices: Vec<Device>,
    /// Sorted by pid.
    pub(crate) models: Vec<Model>,
    /// Sorted by (time, pbid).
    pub(crate) breaches: Vec<Breach>,
    /// Append-only arena; indexes refer to positions.
    pub(crate) connections: Vec<Connection>,
    /// did → connection positions where the device is either end, sorted by (time, position).
    pub(crate) conn_by_did: FastMap<u32, Vec<u32>>,
    /// uid → connection position (the uids themselves stay in the connections).
    pub(crate) conn_by_uid: StrIndex,
    pub(crate) search: SearchStore,
}

impl World {
    /// Assembles a world from its parts: sorts, validates references, builds indexes.
    pub(crate) fn assemble(
        meta: Meta,
        tags: Vec<Tag>,
        mut devices: Vec<Device>,
        mut models: Vec<Model>,
        mut breaches: Vec<Breach>,
        mut connections: Vec<Connection>,
        search: SearchStore,
    ) -> Result<World, WorldError> {
        devices.sort_by_key(|d| d.did);
        models.sort_by_key(|m| m.pid);
        breaches.sort_by_key(|b| (b.time_ms, b.pbid));
        connections.sort_by(|a, b| (a.time_ms, &a.uid).cmp(&(b.time_ms, &b.uid)));
        let invalid = |m: String| Err(WorldError::Invalid(m));
        if let Some(w) = devices.windows(2).find(|w| w[0].did == w[1].did) {
            return invalid(format!("duplicate device did {}", w[0].did));
        }
        if let Some(d) = devices.iter().find(|d| d.ips.is_empty()) {
            return invalid(format!("device {} has no IP history", d.did));
        }
        if let Some(w) = models.windows(2).find(|w| w[0].pid == w[1].pid) {
            return invalid(format!("duplicate model pid {}", w[0].pid));
        }
        if let Some(m) = models.iter().find(|m| m.versions.is_empty()) {
            return invalid(format!("model {} has no versions", m.pid));
        }
        let mut world = World {
            meta,
            tags,
            devices,
            models,
            breaches: Vec::new(),
            connections: Vec::new(),
            conn_by_did: FastMap::default(),
            conn_by_uid: StrIndex::with_capacity(connections.len()),
            search,
        };
        for c in &connections {
            for did in [c.src.did, c.dst.did].into_iter().flatten() {
                if world.device(did).is_none() {
                    return invalid(format!(
                        "connection {} refers to unknown device {did}",
                        c.uid
                    ));
                }
            }
        }
        for (i, c) in connections.iter().enumerate() {
            if !world
                .conn_by_uid
                .insert(&c.uid, i as u32, uid_at(&connections))
            {
                return invalid(format!("duplicate connection uid {}", c.uid));
            }
            for did in peer_dids(c) {
                world.conn_by_did.entry(did).or_default().push(i as u32);
            }
        }
        world.connections = connections;
        let mut pbids = HashSet::new();
        for b in &breaches {
            if !pbids.insert(b.pbid) {
                return invalid(format!("duplicate breach pbid {}", b.pbid));
            }
            world.check_breach_refs(b)?;
        }
        world.breaches = breaches;
        Ok(world)
    }

    fn check_breach_refs(&self, b: &Breach) -> Result<(), WorldError> {
        if self.model(b.pid).is_none() {
            return Err(WorldError::Invalid(format!(
                "breach {} refers to unknown model {}",
                b.pbid, b.pid
            )));
        }
        if self.device(b.did).is_none() {
            return Err(WorldError::Invalid(format!(
                "breach {} refers to unknown device {}",
                b.pbid, b.did
            )));
        }
        if !(0.0..=1.0).contains(&b.score) {
            return Err(WorldError::Invalid(format!(
                "breach {} score {} is not within 0–1",
                b.pbid, b.score
            )));
        }
        if let Some(uid) = b
            .uids
            .iter()
            .find(|u| self.conn_by_uid.get(u, uid_at(&self.connections)).is_none())
        {
            return Err(WorldError::Invalid(format!(
                "breach {} refers to unknown connection {uid}",
                b.pbid
            )));
        }
        Ok(())
    }

    /// Moves every time in the world by `delta_ms` (used to re-anchor on load).
    pub(crate) fn shift(&mut self, delta_ms: i64) {
        if delta_ms == 0 {
            return;
        }
        self.meta.anchor_ms += delta_ms;
        for d in &mut self.devices {
            d.first_seen += delta_ms;
            d.last_seen += delta_ms;
            for u in &mut d.ips {
                u.from_ms += delta_ms;
                u.to_ms += delta_ms;
            }
        }
        for m in &mut self.models {
            for v in &mut m.versions {
                v.modified_ms += delta_ms;
            }
        }
        for b in &mut self.breaches {
            b.time_ms += delta_ms;
            b.creation_ms += delta_ms;
            for c in &mut b.components {
                c.time_ms += delta_ms;
            }
        }
        for c in &mut self.connections {
            c.time_ms += delta_ms;
        }
        self.search.shift(delta_ms * 1_000);
    }

    /// The world's name (`world.json`).
    pub fn name(&self) -> &str {
        &self.meta.name
    }

    /// The appliance hostname (used in `breachUrl`).
    pub fn hostname(&self) -> &str {
        &self.meta.hostname
    }

    /// The end of the world's 24 hours of data, epoch ms.
    pub fn anchor_ms(&self) -> i64 {
        self.meta.anchor_ms
    }

    /// `world.json` as it would be written now.
    pub fn meta(&self) -> Meta {
        let mut m = self.meta.clone();
        m.anchor = clock::spaced(m.anchor_ms);
        m.counts = Counts {
            devices: self.devices.len(),
            models: self.models.len(),
            breaches: self.breaches.len(),
            connections: self.connections.len(),
            search_records: self.search.len(),
        };
        m
    }

    /// Device tags.
    pub fn tags(&self) -> &[Tag] {
        &self.tags
    }

    /// Devices, sorted by did.
    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    /// A device by did.
    pub fn device(&self, did: u32) -> Option<&Device> {
        self.devices
            .binary_search_by_key(&did, |d| d.did)
            .ok()
            .map(|i| &self.devices[i])
    }

    /// Models, sorted by pid.
    pub fn models(&self) -> &[Model] {
        &self.models
    }

    /// A model by pid.
    pub fn model(&self, pid: u32) -> Option<&Model> {
        self.models
            .binary_search_by_key(&pid, |m| m.pid)
            .ok()
            .map(|i| &self.models[i])
    }

    /// Breaches, sorted by time.
    pub fn breaches(&self) -> &[Breach] {
        &self.breaches
    }

    /// A breach by pbid.
    pub fn breach(&self, pbid: u64) -> Option<&Breach> {
        self.breaches.iter().find(|b| b.pbid == pbid)
    }

    /// Connections (arena order: time order, then injected ones).
    pub fn connections(&self) -> &[Connection] {
        &self.connections
    }

    /// A connection by uid.
    pub fn connection(&self, uid: &str) -> Option<&Connection> {
        self.conn_by_uid
            .get(uid, uid_at(&self.connections))
            .map(|i| &self.connections[i as usize])
    }

    /// Positions of a device's connections, time-sorted.
    pub(crate) fn connections_of(&self, did: u32) -> &[u32] {
        self.conn_by_did.get(&did).map_or(&[], Vec::as_slice)
    }

    /// The advanced-search records and indexes.
    pub fn search(&self) -> &SearchStore {
        &self.search
    }

    fn next_seq(&mut self) -> u64 {
        let s = self.meta.next_seq;
        self.meta.next_seq += 1;
        s
    }

    /// Appends an advanced-search record. `fields` become `@fields` after `epochdate`
    /// (which is rendered from `time_ms`); `@message` is their tab-joined values. The
    /// indexed fields (`src_ip`, `dest_ip`, `source_ip`, `host`) must be strings when
    /// present. Returns the new `_id`.
    pub fn add_search_record(
        &mut self,
        time_ms: i64,
        record_type: &str,
        fields: &Map<String, Value>,
    ) -> Result<String, WorldError> {
        if fields.contains_key("epochdate") {
            return Err(WorldError::Invalid(
                "epochdate is rendered from the record time; leave it out".into(),
            ));
        }
        for name in INDEXED_FIELDS
            .iter()
            .filter_map(|f| f.strip_prefix("@fields."))
        {
            if fields.get(name).is_some_and(|v| !v.is_string()) {
                return Err(WorldError::Invalid(format!(
                    "@fields.{name} must be a string"
                )));
            }
        }
        let list: Vec<(&str, Fv<'_>)> =
            fields.iter().map(|(k, v)| (k.as_str(), Fv::J(v))).collect();
        let seq = self.next_seq();
        records::record(
            &mut self.search,
            time_ms * 1_000,
            seq,
            "dt-01",
            record_type,
            &list,
        );
        Ok(String::from_utf8_lossy(&records::search_id(seq)).into_owned())
    }

    /// Appends a connection and its `conn` advanced-search record (same uid, time,
    /// addresses and ports), and extends the devices' last-seen times. Returns the uid.
    pub fn add_connection(&mut self, c: NewConnection) -> Result<String, WorldError> {
        let src = self.resolve_peer(&c.src, c.time_ms)?;
        let dst = self.resolve_peer(&c.dst, c.time_ms)?;
        let uid = records::conn_uid(self.next_seq());
        let conn = Connection {
            uid: uid.clone(),
            time_ms: c.time_ms,
            src,
            dst,
            src_port: c.src_port,
            dst_port: c.dst_port,
            protocol: c.protocol,
            app: c.app,
            bytes_out: c.bytes_out,
            bytes_in: c.bytes_in,
            dns_query: None,
            unusual: false,
            new: false,
        };
        for did in peer_dids(&conn) {
            if let Ok(i) = self.devices.binary_search_by_key(&did, |d| d.did) {
                let d = &mut self.devices[i];
                d.last_seen = d.last_seen.max(c.time_ms);
                if let Some(cur) = d.ips.iter_mut().max_by_key(|u| u.to_ms) {
                    cur.to_ms = cur.to_ms.max(c.time_ms);
                }
            }
        }
        let seq = self.next_seq();
        let probe = conn_probe(&conn, &self.devices);
        conn_record(&mut self.search, &conn, conn.time_ms * 1_000, seq, probe);
        self.push_connection(conn);
        Ok(uid)
    }

    fn resolve_peer(&self, p: &PeerRef, t: i64) -> Result<Peer, WorldError> {
        match p {
            PeerRef::Device(did) => {
                let d = self
                    .device(*did)
                    .ok_or_else(|| WorldError::Invalid(format!("unknown device {did}")))?;
                Ok(Peer {
                    did: Some(*did),
                    ip: d.ip_use_or_current(t).ip,
                    hostname: None,
                })
            }
            PeerRef::External { ip, hostname } => Ok(Peer {
                did: None,
                ip: *ip,
                hostname: hostname.clone(),
            }),
        }
    }

    fn push_connection(&mut self, conn: Connection) {
        let pos = self.connections.len() as u32;
        let t = conn.time_ms;
        let dids: Vec<u32> = peer_dids(&conn).collect();
        // A fresh uid (from `next_seq`), so never a duplicate.
        self.conn_by_uid
            .insert(&conn.uid, pos, uid_at(&self.connections));
        self.connections.push(conn);
        let conns = &self.connections;
        for did in dids {
            let list = self.conn_by_did.entry(did).or_default();
            let at = list.partition_point(|&j| conns[j as usize].time_ms <= t);
            list.insert(at, pos);
        }
    }

    /// Adds a model breach for a device and model, made of existing connections. The
    /// triggered components are derived from the model. Returns the pbid.
    pub fn add_breach(&mut self, b: NewBreach) -> Result<u64, WorldError> {
        let model = self
            .model(b.pid)
            .ok_or_else(|| WorldError::Invalid(format!("unknown model {}", b.pid)))?;
        let first_conn = b.uids.first().and_then(|u| self.connection(u)).cloned();
        let pbid = self.breaches.iter().map(|x| x.pbid).max().unwrap_or(0) + 1;
        let phid = model.current().phid;
        let size = b.uids.len().max(1) as u64;
        let cbid = self.meta.next_seq;
        let components = triggered_components(model, b.time_ms, cbid, size, first_conn.as_ref());
        let breach = Breach {
            pbid,
            pid: b.pid,
            phid,
            did: b.did,
            time_ms: b.time_ms,
            creation_ms: b.time_ms + 2 * clock::SECOND_MS,
            score: b.score,
            acknowledged: false,
            comment_count: 0,
            components,
            uids: b.uids,
        };
        self.check_breach_refs(&breach)?;
        self.next_seq();
        let at = self
            .breaches
            .partition_point(|x| (x.time_ms, x.pbid) <= (breach.time_ms, breach.pbid));
        self.breaches.insert(at, breach);
        Ok(pbid)
    }

    /// Acknowledges or unacknowledges a breach; false when the pbid is unknown.
    pub fn set_acknowledged(&mut self, pbid: u64, acknowledged: bool) -> bool {
        match self.breaches.iter_mut().find(|b| b.pbid == pbid) {
            Some(b) => {
                b.acknowledged = acknowledged;
                true
            }
            None => false,
        }
    }
}

/// The uid of a connection by position, for [`World::conn_by_uid`].
fn uid_at<'a>(conns: &'a [Connection]) -> impl Fn(u32) -> &'a str {
    |i| conns[i as usize].uid.as_str()
}

pub(crate) fn peer_dids(c: &Connection) -> impl Iterator<Item = u32> {
    let (s, d) = (c.src.did, c.dst.did);
    s.into_iter().chain(d.filter(|d| Some(*d) != s))
}

/// Client traffic is seen by the virtual sensor; everything else by the master.
pub(crate) fn conn_probe(c: &Connection, devices: &[Device]) -> &'static str {
    let is_client = |did: Option<u32>| {
        did.and_then(|did| devices.binary_search_by_key(&did, |d| d.did).ok())
            .is_some_and(|i| matches!(devices[i].typename.as_str(), "laptop" | "desktop"))
    };
    if is_client(c.src.did) || is_client(c.dst.did) {
        "vmprobe"
    } else {
        "dt-01"
    }
}

/// Zeek's service name for an application protocol.
fn service(app: &str) -> Option<&'static str> {
    Some(match app {
        "HTTPS" => "ssl",
        "HTTP" => "http",
        "DNS" => "dns",
        "SMB" => "smb",
        "SSH" => "ssh",
        "RDP" => "rdp",
        "Kerberos" => "krb",
        "LDAP" => "ldap",
        "NTP" => "ntp",
        "PostgreSQL" => "postgresql",
        _ => return None,
    })
}

/// The `conn` advanced-search record mirroring a connection. Zeek's derived columns
/// (duration, state, history, packets) are computed from the connection so that
/// generated and injected records agree.
pub(crate) fn conn_record(
    sink: &mut dyn RecordSink,
    c: &Connection,
    time_us: i64,
    seq: u64,
    probe: &str,
) {
    let tcp = c.protocol.eq_ignore_ascii_case("TCP");
    let (state, history) = match (c.bytes_out, c.bytes_in, tcp) {
        (0, 0, true) => ("REJ", "Sr"),
        (_, 0, true) => ("S0", "S"),
        (_, _, true) => ("SF", "ShADadFf"),
        (_, 0, false) => ("S0", "D"),
        (_, _, false) => ("SF", "Dd"),
    };
    let total = c.bytes_out + c.bytes_in;
    let duration = ((total as f64 / 1_250_000.0 + 0.004) * 1e6).round() / 1e6;
    let proto = c.protocol.to_ascii_lowercase();
    let src_ip = c.src.ip.to_string();
    let dst_ip = c.dst.ip.to_string();
    let mut fields: Vec<(&str, Fv<'_>)> = vec![
        ("uid", Fv::S(&c.uid)),
        ("source_ip", Fv::S(&src_ip)),
        ("source_port", Fv::U(u64::from(c.src_port))),
        ("dest_ip", Fv::S(&dst_ip)),
        ("dest_port", Fv::U(u64::from(c.dst_port))),
        ("proto", Fv::S(&proto)),
    ];
    if let Some(s) = service(&c.app) {
        fields.push(("service", Fv::S(s)));
    }
    fields.extend([
        ("duration", Fv::F(duration)),
        ("orig_bytes", Fv::U(c.bytes_out)),
        ("resp_bytes", Fv::U(c.bytes_in)),
        ("conn_state", Fv::S(state)),
        ("local_orig", Fv::B(c.src.did.is_some())),
        ("local_resp", Fv::B(c.dst.did.is_some())),
        ("missed_bytes", Fv::U(0)),
        ("history", Fv::S(history)),
        ("orig_pkts", Fv::U(c.bytes_out / 1_400 + 1)),
        (
            "resp_pkts",
            Fv::U(if c.bytes_in == 0 {
                0
            } else {
                c.bytes_in / 1_400 + 1
            }),
        ),
    ]);
    records::record(sink, time_us, seq, probe, "conn", &fields);
}

/// A model's components as fired at `time_ms`, with filter triggers derived from the
/// triggering connection.
pub(crate) fn triggered_components(
    model: &Model,
    time_ms: i64,
    first_cbid: u64,
    size: u64,
    conn: Option<&Connection>,
) -> Vec<TriggeredComponent> {
    model
        .components
        .iter()
        .take(1)
        .enumerate()
        .map(|(i, comp)| TriggeredComponent {
            time_ms,
            cbid: first_cbid + i as u64,
            cid: comp.cid,
            chid: comp.chid,
            size,
            threshold: comp.threshold,
            interval: comp.interval,
            mlid: comp.mlid,
            metric_name: comp.metric_name.clone(),
            metric_label: comp.metric_label.clone(),
            filters: comp
                .filters
                .iter()
                .map(|f| TriggeredFilter {
                    cfid: f.cfid,
                    id: f.id.clone(),
                    filter_type: f.filter_type.clone(),
                    comparator: f.comparator.clone(),
                    argument: f.argument.clone(),
                    argument_expanded: f.argument_expanded.clone(),
                    trigger: trigger_value(
                        &f.filter_type,
                        f.argument_expanded.as_ref().unwrap_or(&f.argument),
                        conn,
                    ),
                })
                .collect(),
        })
        .collect()
}

fn trigger_value(filter_type: &str, argument: &Value, conn: Option<&Connection>) -> Value {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let s = match (filter_type, conn) {
        ("Destination IP", Some(c)) => c.dst.ip.to_string(),
        ("Connection hostname", Some(c)) => c.dst.hostname.clone().unwrap_or_default(),
        ("Destination port", Some(c)) => c.dst_port.to_string(),
        ("Application protocol", Some(c)) => c.app.clone(),
        ("Rare external endpoint" | "Rare domain", _) => "100".to_string(),
        ("SMB share", _) => "ADMIN$".to_string(),
        _ => text(argument),
    };
    Value::String(s)
}

/// The holder of an address at a time, for coherence checks and `iptime`.
pub(crate) fn holder_at(devices: &[Device], ip: IpAddr, t: i64) -> Option<&Device> {
    devices.iter().find(|d| {
        d.ips
            .iter()
            .any(|u: &IpUse| u.ip == ip && u.from_ms <= t && t <= u.to_ms)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn world_is_send_and_sync() {
        assert_send_sync::<World>();
    }

    #[test]
    fn world_error_names_file_and_line() {
        let e = WorldError::Parse {
            file: "search.jsonl".into(),
            line: Some(3),
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "search.jsonl line 3: bad");
    }
}
