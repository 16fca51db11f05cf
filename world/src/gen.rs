//! The seeded world generator: the same shapes at any scale.
//!
//! One ChaCha stream drives everything in a fixed order and nothing iterates a hash
//! map, so a seed always gives byte-identical files. Traffic is generated as
//! connections first; every connection yields its `conn` record, and optional
//! companions (`dns`/`http`/`ssl` with the same uid, firewall, IDS and EDR logs with the
//! same addresses) are added while the record budget lasts, so `records` is met exactly
//! unless the breach scenarios alone need more.

use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use crate::clock::{DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS};
use crate::model::{
    Breach, Component, Connection, Device, FilterSpec, IpUse, Model, ModelVersion, Peer, Tag,
    Technique,
};
use crate::records::{self, Fv};
use crate::search::StoreBuilder;
use crate::world::{conn_probe, conn_record, triggered_components, Counts, Meta, World};

/// Generator parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenParams {
    /// Number of devices (infrastructure, servers, clients).
    pub devices: usize,
    /// Number of advanced-search records.
    pub records: usize,
    pub seed: u64,
    /// The end of the generated 24 hours, epoch ms.
    pub anchor_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Dns,
    Firewall,
    Proxy,
    Dmz,
    Server,
    Client,
}

/// External hosts. Documentation ranges only (RFC 5737) and reserved names.
const COMMON_EXT: [(&str, [u8; 4]); 8] = [
    ("update.example.com", [203, 0, 113, 10]),
    ("cdn.example.net", [203, 0, 113, 25]),
    ("api.example.com", [203, 0, 113, 40]),
    ("login.example.com", [203, 0, 113, 55]),
    ("mail.example.org", [198, 51, 100, 7]),
    ("files.example.net", [198, 51, 100, 23]),
    ("telemetry.example.net", [198, 51, 100, 45]),
    ("ntp.example.org", [198, 51, 100, 123]),
];
const FILES_EXT: (&str, [u8; 4]) = ("files.example.net", [198, 51, 100, 23]);
const BEACON_EXT: (&str, [u8; 4]) = ("c2.beacon.example", [198, 51, 100, 66]);
const PASTE_EXT: (&str, [u8; 4]) = ("paste.example.org", [203, 0, 113, 99]);
const RDP_EXT: [u8; 4] = [198, 51, 100, 200];
const RARE_SERVER_EXT: [u8; 4] = [203, 0, 113, 77];
const SSH_EXT: [u8; 4] = [203, 0, 113, 150];
const INBOUND_EXT: [[u8; 4]; 3] = [[198, 51, 100, 31], [203, 0, 113, 200], [198, 51, 100, 77]];
const BLOCKED_EXT: [[u8; 4]; 2] = [[203, 0, 113, 201], [198, 51, 100, 250]];

const SERVER_NAMES: [&str; 16] = [
    "dc01", "fs01", "db01", "app01", "build01", "mail01", "backup01", "git01", "erp01", "hr-app01",
    "scan01", "print01", "log01", "wiki01", "crm01", "sql02",
];
const PEOPLE: [&str; 20] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yves",
];
const USER_AGENTS: [&str; 3] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Microsoft-Delivery-Optimization/10.0",
];
const URIS: [&str; 5] = [
    "/",
    "/index.html",
    "/v1/status",
    "/downloads/latest.json",
    "/static/app.js",
];
const TAG_SECURITY: u32 = 12;
const TAG_LINUX: u32 = 29;
const TAG_NEW: u32 = 45;
const TAG_DOMAIN: u32 = 66;
const TAG_CRITICAL: u32 = 70;

/// Generates a world.
pub fn generate(p: &GenParams) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let (devices, roles) = gen_devices(p.devices, &mut rng, p.anchor_ms);
    let models = gen_models(&mut rng, p.anchor_ms);
    let mut g = Gen {
        rng,
        anchor: p.anchor_ms,
        start: p.anchor_ms - DAY_MS,
        devices,
        roles,
        pools: Vec::new(),
        seq: 1,
        // About 58% of records are `conn` records, one per connection.
        conns: Vec::with_capacity(p.records * 3 / 5 + 64),
        recs: StoreBuilder::with_capacity(p.records),
    };
    let n_breaches = if p.devices == 0 {
        0
    } else {
        (p.devices * 2 / 5).max(3)
    };
    let mut breaches = Vec::new();
    let mut pbid = 2_000u64;
    for k in 0..n_breaches {
        let def = &MODELS[k % MODELS.len()];
        let model = models
            .iter()
            .find(|m| m.pid == def.pid)
            .expect("every definition is generated");
        pbid += g.rng.gen_range(1..=4);
        if let Some(b) = g.breach(k, pbid, def, model) {
            breaches.push(b);
        }
    }
    let mut idle = 0;
    while g.recs.len() < p.records && idle < 1_000 {
        let before = g.recs.len();
        g.background(p.records - g.recs.len());
        idle = if g.recs.len() == before { idle + 1 } else { 0 };
    }
    let meta = Meta {
        format: 1,
        name: "default".into(),
        hostname: "dt-mock-01.example.com".into(),
        anchor_ms: p.anchor_ms,
        anchor: crate::clock::spaced(p.anchor_ms),
        seed: Some(p.seed),
        next_seq: g.seq,
        counts: Counts::default(),
    };
    let store = g.recs.finish();
    World::assemble(meta, tags(), g.devices, models, breaches, g.conns, store)
        .expect("the generator produces consistent worlds")
}

fn tags() -> Vec<Tag> {
    [
        (
            TAG_SECURITY,
            "Security Device",
            55,
            "Authorised security tooling",
        ),
        (TAG_LINUX, "Linux", 168, ""),
        (TAG_NEW, "New Device", 130, ""),
        (TAG_DOMAIN, "Domain Authenticated", 183, ""),
        (
            TAG_CRITICAL,
            "Critical Asset",
            200,
            "Business-critical system",
        ),
    ]
    .into_iter()
    .map(|(tid, name, color, description)| Tag {
        tid,
        name: name.into(),
        color,
        description: description.into(),
    })
    .collect()
}

fn v4(o: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(o))
}

fn mac(rng: &mut ChaCha8Rng, oui: &str) -> String {
    format!(
        "{oui}:{:02x}:{:02x}:{:02x}",
        rng.gen::<u8>(),
        rng.gen::<u8>(),
        rng.gen::<u8>()
    )
}

fn gen_devices(n: usize, rng: &mut ChaCha8Rng, anchor: i64) -> (Vec<Device>, Vec<Role>) {
    let n_infra = (n / 3).min(4);
    let rest = n - n_infra;
    let n_servers = if rest >= 2 { (rest / 4).max(1) } else { 0 };
    let n_clients = rest - n_servers;
    let mut roles: Vec<Role> =
        [Role::Dns, Role::Firewall, Role::Proxy, Role::Dmz][..n_infra].to_vec();
    roles.extend(std::iter::repeat_n(Role::Server, n_servers));
    roles.extend(std::iter::repeat_n(Role::Client, n_clients));
    let mut devices = Vec::with_capacity(n);
    let mut did = 100u32;
    let (mut server_i, mut client_i) = (0usize, 0usize);
    for role in &roles {
        did += rng.gen_range(1..=3);
        let first_seen = anchor - rng.gen_range(20..400) * DAY_MS - rng.gen_range(0..DAY_MS);
        let last_seen = anchor - rng.gen_range(0..15 * MINUTE_MS);
        let mut d = Device {
            did,
            id: did,
            macaddress: None,
            vendor: None,
            hostname: None,
            os: None,
            devicelabel: None,
            typename: "server".into(),
            typelabel: "Server".into(),
            first_seen,
            last_seen,
            priority: 0,
            tags: Vec::new(),
            credentials: Vec::new(),
            ips: Vec::new(),
        };
        let (ip, sid) = match role {
            Role::Dns => {
                d.hostname = Some("dns01".into());
                d.typename = "dnsserver".into();
                d.typelabel = "DNS Server".into();
                d.vendor = Some("VMware, Inc.".into());
                d.macaddress = Some(mac(rng, "00:50:56"));
                d.os = Some("Linux 3.11 and newer".into());
                d.devicelabel = Some("Internal DNS".into());
                d.tags = vec![TAG_LINUX];
                ([10, 10, 3, 10], 3)
            }
            Role::Firewall => {
                d.hostname = Some("fw-edge-01".into());
                d.typename = "firewall".into();
                d.typelabel = "Firewall".into();
                d.vendor = Some("Palo Alto Networks".into());
                d.macaddress = Some(mac(rng, "00:1b:17"));
                d.priority = 5;
                d.tags = vec![TAG_SECURITY, TAG_CRITICAL];
                ([10, 10, 3, 1], 3)
            }
            Role::Proxy => {
                d.hostname = Some("proxy01".into());
                d.typename = "proxyserver".into();
                d.typelabel = "Proxy Server".into();
                d.vendor = Some("VMware, Inc.".into());
                d.macaddress = Some(mac(rng, "00:50:56"));
                d.os = Some("Linux 3.11 and newer".into());
                d.tags = vec![TAG_LINUX];
                ([10, 10, 3, 20], 3)
            }
            Role::Dmz => {
                d.hostname = Some("www01".into());
                d.vendor = Some("VMware, Inc.".into());
                d.macaddress = Some(mac(rng, "00:50:56"));
                d.os = Some("Linux 3.11 and newer".into());
                d.devicelabel = Some("Public web server".into());
                d.tags = vec![TAG_LINUX];
                ([10, 10, 4, 10], 4)
            }
            Role::Server => {
                let i = server_i;
                server_i += 1;
                let name = SERVER_NAMES
                    .get(i)
                    .map_or_else(|| format!("srv-{:03}", i + 1), |s| s.to_string());
                let windows = matches!(
                    name.as_str(),
                    "dc01" | "fs01" | "print01" | "sql02" | "erp01"
                );
                d.os = Some(
                    if windows {
                        "Windows Server 2019"
                    } else {
                        "Linux 3.11 and newer"
                    }
                    .into(),
                );
                if i % 5 == 3 {
                    d.vendor = Some("Dell Inc.".into());
                    d.macaddress = Some(mac(rng, "f8:bc:12"));
                } else {
                    d.vendor = Some("VMware, Inc.".into());
                    d.macaddress = Some(mac(rng, "00:50:56"));
                }
                if !windows {
                    d.tags.push(TAG_LINUX);
                }
                match name.as_str() {
                    "dc01" => {
                        d.devicelabel = Some("Domain Controller".into());
                        d.priority = 4;
                        d.tags.push(TAG_CRITICAL);
                    }
                    "db01" => {
                        d.devicelabel = Some("Finance DB".into());
                        d.priority = 3;
                        d.tags.push(TAG_CRITICAL);
                    }
                    "fs01" => d.priority = 2,
                    "scan01" => {
                        d.devicelabel = Some("Vulnerability scanner".into());
                        d.tags.push(TAG_SECURITY);
                    }
                    _ => {}
                }
                d.hostname = Some(name);
                let k = i / 241;
                (
                    [10, 10 + k as u8, 1, 10 + (i % 241) as u8],
                    if k == 0 { 1 } else { 100 + 2 * k as u32 },
                )
            }
            Role::Client => {
                let j = client_i;
                client_i += 1;
                let person = PEOPLE[j % PEOPLE.len()];
                if j % 3 == 2 {
                    d.typename = "desktop".into();
                    d.typelabel = "Desktop".into();
                    d.hostname = Some(format!("ws-{:04}", 1000 + j * 7));
                    d.vendor = Some(if j % 2 == 0 { "Dell Inc." } else { "HP" }.into());
                    d.macaddress = Some(mac(rng, if j % 2 == 0 { "f8:bc:12" } else { "3c:52:82" }));
                    d.os = Some("Windows 10 or 11".into());
                } else {
                    d.typename = "laptop".into();
                    d.typelabel = "Laptop".into();
                    d.hostname = Some(format!("lt-{person}-{:02}", j / PEOPLE.len() + 1));
                    d.credentials = vec![person.to_string()];
                    if j % 4 == 1 {
                        d.vendor = Some("Apple".into());
                        d.macaddress = Some(mac(rng, "3c:22:fb"));
                        d.os = Some("macOS 13 or newer".into());
                    } else {
                        d.vendor = Some("LENOVO".into());
                        d.macaddress = Some(mac(rng, "54:ee:75"));
                        d.os = Some("Windows 10 or 11".into());
                        d.tags.push(TAG_DOMAIN);
                    }
                }
                if j % 9 == 5 {
                    d.hostname = None;
                    d.credentials.clear();
                }
                if j % 11 == 7 {
                    d.macaddress = None;
                    d.vendor = None;
                }
                if j % 13 == 9 {
                    d.os = None;
                }
                match j {
                    3 => {
                        d.devicelabel = Some("CFO laptop".into());
                        d.priority = 3;
                    }
                    4 => {
                        d.devicelabel = Some("Reception kiosk".into());
                        d.priority = -2;
                    }
                    _ => {}
                }
                let k = j / 180;
                (
                    [10, 10 + k as u8, 2, 20 + (j % 180) as u8],
                    if k == 0 { 2 } else { 101 + 2 * k as u32 },
                )
            }
        };
        d.ips.push(IpUse {
            ip: v4(ip),
            sid,
            from_ms: first_seen,
            to_ms: last_seen,
        });
        devices.push(d);
    }
    let clients: Vec<usize> = (0..roles.len())
        .filter(|&i| roles[i] == Role::Client)
        .collect();
    if clients.len() >= 2 {
        // DHCP churn: the first client moves from .200 to .201 at noon-ish; a new device
        // picks up .200 an hour later (exercises `iptime` and time-dependent addresses).
        let change = anchor - 12 * HOUR_MS;
        let c0 = &mut devices[clients[0]];
        let last = c0.last_seen;
        c0.ips = vec![
            IpUse {
                ip: v4([10, 10, 2, 200]),
                sid: 2,
                from_ms: c0.first_seen,
                to_ms: change,
            },
            IpUse {
                ip: v4([10, 10, 2, 201]),
                sid: 2,
                from_ms: change + 5 * MINUTE_MS,
                to_ms: last,
            },
        ];
        let c1 = &mut devices[clients[1]];
        c1.first_seen = anchor - 11 * HOUR_MS;
        c1.tags.push(TAG_NEW);
        let last = c1.last_seen;
        c1.ips = vec![IpUse {
            ip: v4([10, 10, 2, 200]),
            sid: 2,
            from_ms: c1.first_seen,
            to_ms: last,
        }];
    }
    if clients.len() >= 6 {
        // Quiet devices: one inside the default 7-day /devices window, one outside it.
        for (i, days) in [
            (clients[clients.len() - 1], 10),
            (clients[clients.len() - 2], 3),
        ] {
            let d = &mut devices[i];
            d.last_seen = anchor - days * DAY_MS - 2 * HOUR_MS;
            for u in &mut d.ips {
                u.to_ms = d.last_seen;
            }
        }
    }
    for d in &mut devices {
        d.tags.sort_unstable();
    }
    (devices, roles)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    BigOutbound,
    Recon,
    Beacon,
    RareUpload,
    RdpOut,
    ServerRare,
    Reactivated,
    SmbAdmin,
    SshOut,
}

#[derive(Debug, Clone, Copy)]
enum Arg {
    None,
    Num(i64),
    Str(&'static str),
    Enum(i64, &'static str),
}

struct ModelDef {
    pid: u32,
    name: &'static str,
    category: &'static str,
    priority: i32,
    kind: Kind,
    description: &'static str,
    tags: &'static [&'static str],
    tactics: &'static [&'static str],
    techniques: &'static [(&'static str, &'static str)],
    throttle: u32,
    mlid: u32,
    metric: (&'static str, &'static str),
    threshold: u64,
    interval: u32,
    filters: &'static [(&'static str, &'static str, &'static str, Arg)],
    edited: bool,
}

const DIR_OUT: Arg = Arg::Enum(1, "out");

const MODELS: [ModelDef; 9] = [
    ModelDef {
        pid: 1,
        name: "Anomalous Connection::1 GiB Outbound",
        category: "Critical",
        priority: 5,
        kind: Kind::BigOutbound,
        description: "A device is moving large volumes of data (1GiB+) out of the network within a short period of time.",
        tags: &["AP: Exfiltration"],
        tactics: &["exfiltration"],
        techniques: &[("T1041", "Exfiltration Over C2 Channel")],
        throttle: 3600,
        mlid: 33,
        metric: ("externalclientdatatransfervolume", "External Data Volume as a Client"),
        threshold: 1_073_741_824,
        interval: 3600,
        filters: &[
            ("A", "Direction", "is", DIR_OUT),
            ("d1", "Connection hostname", "display", Arg::None),
            ("d2", "Destination IP", "display", Arg::None),
        ],
        edited: true,
    },
    ModelDef {
        pid: 2,
        name: "Device::Attack and Recon Tools",
        category: "Suspicious",
        priority: 4,
        kind: Kind::Recon,
        description: "A device is using common penetration testing tools.",
        tags: &["AP: Internal Recon"],
        tactics: &["discovery", "reconnaissance"],
        techniques: &[("T1046", "Network Service Discovery")],
        throttle: 604_800,
        mlid: 16,
        metric: ("connections", "Connections"),
        threshold: 10,
        interval: 300,
        filters: &[
            ("H", "Direction", "is", DIR_OUT),
            ("J", "Tagged internal source", "does not have tag", Arg::Num(12)),
            ("d7", "Destination IP", "display", Arg::None),
        ],
        edited: false,
    },
    ModelDef {
        pid: 3,
        name: "Compromise::Beaconing Activity To External Rare",
        category: "Critical",
        priority: 5,
        kind: Kind::Beacon,
        description: "A device is making regular connections to a rare external location, consistent with command-and-control beaconing.",
        tags: &["AP: C2 Comms"],
        tactics: &["command-and-control"],
        techniques: &[("T1071.001", "Web Protocols"), ("T1573", "Encrypted Channel")],
        throttle: 3600,
        mlid: 12,
        metric: ("externalconnections", "External Connections"),
        threshold: 10,
        interval: 3600,
        filters: &[
            ("A", "Direction", "is", DIR_OUT),
            ("B", "Rare external endpoint", ">", Arg::Num(90)),
            ("d1", "Connection hostname", "display", Arg::None),
        ],
        edited: true,
    },
    ModelDef {
        pid: 4,
        name: "Anomalous Connection::Data Sent to Rare Domain",
        category: "Suspicious",
        priority: 3,
        kind: Kind::RareUpload,
        description: "A device has sent an unusual volume of data to a rare external domain.",
        tags: &["AP: Exfiltration"],
        tactics: &["exfiltration"],
        techniques: &[("T1567", "Exfiltration Over Web Service")],
        throttle: 3600,
        mlid: 33,
        metric: ("externalclientdatatransfervolume", "External Data Volume as a Client"),
        threshold: 10_485_760,
        interval: 3600,
        filters: &[
            ("A", "Direction", "is", DIR_OUT),
            ("B", "Rare domain", ">", Arg::Num(95)),
            ("d1", "Connection hostname", "display", Arg::None),
        ],
        edited: false,
    },
    ModelDef {
        pid: 5,
        name: "Compliance::Outgoing Remote Desktop",
        category: "Compliance",
        priority: 2,
        kind: Kind::RdpOut,
        description: "A device is making an RDP connection to an external location.",
        tags: &["Compliance"],
        tactics: &["lateral-movement"],
        techniques: &[("T1021.001", "Remote Desktop Protocol")],
        throttle: 3600,
        mlid: 16,
        metric: ("connections", "Connections"),
        threshold: 0,
        interval: 3600,
        filters: &[
            ("A", "Destination port", "=", Arg::Num(3389)),
            ("B", "Direction", "is", DIR_OUT),
            ("d1", "Destination IP", "display", Arg::None),
        ],
        edited: false,
    },
    ModelDef {
        pid: 6,
        name: "Anomalous Server Activity::Rare External from Server",
        category: "Suspicious",
        priority: 3,
        kind: Kind::ServerRare,
        description: "A server is connecting to a rare external endpoint.",
        tags: &["AP: C2 Comms"],
        tactics: &["command-and-control"],
        techniques: &[("T1071", "Application Layer Protocol")],
        throttle: 3600,
        mlid: 12,
        metric: ("externalconnections", "External Connections"),
        threshold: 0,
        interval: 3600,
        filters: &[
            ("A", "Internal source device type", "is", Arg::Enum(2, "Server")),
            ("B", "Rare external endpoint", ">", Arg::Num(90)),
            ("d1", "Destination IP", "display", Arg::None),
        ],
        edited: false,
    },
    ModelDef {
        pid: 7,
        name: "Unusual Activity::Unusual Activity from Re-Activated Device",
        category: "Informational",
        priority: 1,
        kind: Kind::Reactivated,
        description: "A device that has been inactive for some time has become active again and is making unusual connections.",
        tags: &[],
        tactics: &["initial-access"],
        techniques: &[("T1078", "Valid Accounts")],
        throttle: 3600,
        mlid: 16,
        metric: ("connections", "Connections"),
        threshold: 3,
        interval: 3600,
        filters: &[("A", "Direction", "is", DIR_OUT), ("d1", "Destination IP", "display", Arg::None)],
        edited: false,
    },
    ModelDef {
        pid: 8,
        name: "Anomalous Connection::Unusual Admin SMB Session",
        category: "Suspicious",
        priority: 3,
        kind: Kind::SmbAdmin,
        description: "A device has connected to an administrative SMB share on another device, which is unusual for it.",
        tags: &["AP: Lateral Movement"],
        tactics: &["lateral-movement"],
        techniques: &[("T1021.002", "SMB/Windows Admin Shares")],
        throttle: 3600,
        mlid: 16,
        metric: ("connections", "Connections"),
        threshold: 0,
        interval: 3600,
        filters: &[
            ("A", "Application protocol", "is", Arg::Enum(5, "SMB")),
            ("B", "SMB share", "matches regular expression", Arg::Str("\\$$")),
            ("d1", "Destination IP", "display", Arg::None),
        ],
        edited: true,
    },
    ModelDef {
        pid: 9,
        name: "Compliance::SSH to Rare External Destination",
        category: "Compliance",
        priority: 2,
        kind: Kind::SshOut,
        description: "A device is making an SSH connection to a rare external location.",
        tags: &["Compliance"],
        tactics: &["command-and-control"],
        techniques: &[("T1572", "Protocol Tunneling")],
        throttle: 3600,
        mlid: 16,
        metric: ("connections", "Connections"),
        threshold: 0,
        interval: 3600,
        filters: &[
            ("A", "Destination port", "=", Arg::Num(22)),
            ("B", "Rare external endpoint", ">", Arg::Num(80)),
            ("d1", "Destination IP", "display", Arg::None),
        ],
        edited: false,
    },
];

fn uuid(rng: &mut ChaCha8Rng) -> String {
    let b: [u8; 16] = rng.gen();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn gen_models(rng: &mut ChaCha8Rng, anchor: i64) -> Vec<Model> {
    MODELS
        .iter()
        .map(|def| {
            let cid = def.pid * 100 + 1;
            let filters = def
                .filters
                .iter()
                .enumerate()
                .map(|(j, (id, ty, cmp, arg))| {
                    let (argument, argument_expanded) = match *arg {
                        Arg::None => (Value::Null, None),
                        Arg::Num(n) => (Value::from(n), None),
                        Arg::Str(s) => (Value::from(s), None),
                        Arg::Enum(code, label) => (Value::from(code), Some(Value::from(label))),
                    };
                    FilterSpec {
                        cfid: def.pid * 1_000 + j as u32 + 1,
                        id: (*id).into(),
                        filter_type: (*ty).into(),
                        comparator: (*cmp).into(),
                        argument,
                        argument_expanded,
                    }
                })
                .collect();
            let base_version = rng.gen_range(10..80);
            let mut versions = vec![ModelVersion {
                phid: def.pid * 10 + 1,
                version: base_version,
                modified_ms: anchor - rng.gen_range(20..200) * DAY_MS,
                edited_by: "System".into(),
            }];
            if def.edited {
                versions.push(ModelVersion {
                    phid: def.pid * 10 + 2,
                    version: base_version + 1,
                    modified_ms: anchor - 6 * HOUR_MS - rng.gen_range(0..HOUR_MS),
                    edited_by: "analyst.jones".into(),
                });
            }
            Model {
                pid: def.pid,
                uuid: uuid(rng),
                name: def.name.into(),
                category: def.category.into(),
                priority: def.priority,
                description: def.description.into(),
                behaviour: "decreasing".into(),
                tags: def.tags.iter().map(|s| s.to_string()).collect(),
                mitre_tactics: def.tactics.iter().map(|s| s.to_string()).collect(),
                mitre_techniques: def
                    .techniques
                    .iter()
                    .map(|(id, name)| Technique {
                        id: (*id).into(),
                        name: (*name).into(),
                    })
                    .collect(),
                throttle: def.throttle,
                interval: def.interval,
                components: vec![Component {
                    cid,
                    chid: cid + 1_000,
                    mlid: def.mlid,
                    metric_name: def.metric.0.into(),
                    metric_label: def.metric.1.into(),
                    threshold: def.threshold,
                    interval: def.interval,
                    filters,
                }],
                versions,
            }
        })
        .collect()
}

struct Gen {
    rng: ChaCha8Rng,
    anchor: i64,
    start: i64,
    devices: Vec<Device>,
    roles: Vec<Role>,
    pools: Vec<(Vec<Role>, Rc<[usize]>)>,
    seq: u64,
    conns: Vec<Connection>,
    recs: StoreBuilder,
}

/// Application protocol by destination port, for scans and internal traffic.
fn app_for_port(port: u16) -> (&'static str, &'static str) {
    match port {
        22 => ("SSH", "TCP"),
        53 => ("DNS", "UDP"),
        80 | 8080 => ("HTTP", "TCP"),
        88 => ("Kerberos", "TCP"),
        123 => ("NTP", "UDP"),
        139 | 445 => ("SMB", "TCP"),
        389 => ("LDAP", "TCP"),
        443 | 8443 => ("HTTPS", "TCP"),
        3389 => ("RDP", "TCP"),
        5432 => ("PostgreSQL", "TCP"),
        21 => ("FTP", "TCP"),
        23 => ("Telnet", "TCP"),
        135 => ("DCE_RPC", "TCP"),
        1433 => ("MSSQL", "TCP"),
        3306 => ("MySQL", "TCP"),
        5900 => ("VNC", "TCP"),
        6667 => ("IRC", "TCP"),
        _ => ("Unknown", "TCP"),
    }
}

impl Gen {
    fn next_seq(&mut self) -> u64 {
        let s = self.seq;
        self.seq += 1;
        s
    }

    /// Device positions with one of `roles` (cached: the generator asks per event).
    fn pool(&mut self, roles: &[Role]) -> Rc<[usize]> {
        if let Some((_, p)) = self.pools.iter().find(|(r, _)| r == roles) {
            return Rc::clone(p);
        }
        let p: Rc<[usize]> = (0..self.roles.len())
            .filter(|&i| roles.contains(&self.roles[i]))
            .collect();
        self.pools.push((roles.to_vec(), Rc::clone(&p)));
        p
    }

    fn device_by_did(&self, did: u32) -> Option<&Device> {
        let i = self.devices.binary_search_by_key(&did, |d| d.did).ok()?;
        Some(&self.devices[i])
    }

    fn active(&self, i: usize, t: i64) -> bool {
        let d = &self.devices[i];
        t <= d.last_seen - SECOND_MS && d.use_at(t).is_some()
    }

    /// A device of the pool active at `t` (and at `t - lead`), if any.
    fn pick_active(&mut self, pool: &[usize], t: i64, lead: i64) -> Option<usize> {
        if pool.is_empty() {
            return None;
        }
        for _ in 0..8 {
            let i = pool[self.rng.gen_range(0..pool.len())];
            if self.active(i, t) && self.active(i, t - lead) {
                return Some(i);
            }
        }
        let off = self.rng.gen_range(0..pool.len());
        (0..pool.len())
            .map(|k| pool[(k + off) % pool.len()])
            .find(|&i| self.active(i, t) && self.active(i, t - lead))
    }

    fn dev_peer(&self, i: usize, t: i64) -> Peer {
        let d = &self.devices[i];
        Peer {
            did: Some(d.did),
            ip: d.ip_use_or_current(t).ip,
            hostname: None,
        }
    }

    fn ext_peer(host: Option<&str>, ip: [u8; 4]) -> Peer {
        Peer {
            did: None,
            ip: v4(ip),
            hostname: host.map(str::to_string),
        }
    }

    fn ephemeral(&mut self) -> u16 {
        self.rng.gen_range(49_152..=65_535)
    }

    fn rand_time(&mut self) -> i64 {
        self.rng
            .gen_range(self.start + SECOND_MS..self.anchor - SECOND_MS)
    }

    #[allow(clippy::too_many_arguments)]
    fn connect(
        &mut self,
        t: i64,
        src: Peer,
        dst: Peer,
        dport: u16,
        (app, proto): (&str, &str),
        bytes_out: u64,
        bytes_in: u64,
    ) -> usize {
        let sport = self.ephemeral();
        let uid = records::conn_uid(self.next_seq());
        let c = Connection {
            uid,
            time_ms: t,
            src,
            dst,
            src_port: sport,
            dst_port: dport,
            protocol: proto.into(),
            app: app.into(),
            bytes_out,
            bytes_in,
            dns_query: None,
            unusual: false,
            new: false,
        };
        let seq = self.next_seq();
        let probe = conn_probe(&c, &self.devices);
        let sub_us = self.rng.gen_range(0..1_000);
        conn_record(&mut self.recs, &c, t * 1_000 + sub_us, seq, probe);
        self.conns.push(c);
        self.conns.len() - 1
    }

    /// Time of a companion record: shortly after its connection started.
    fn after(&mut self, ci: usize) -> i64 {
        self.conns[ci].time_ms * 1_000 + self.rng.gen_range(1_000..400_000)
    }

    fn emit(&mut self, time_us: i64, probe: &str, ty: &str, fields: &[(&str, Fv<'_>)]) {
        let seq = self.next_seq();
        records::record(&mut self.recs, time_us, seq, probe, ty, fields);
    }

    /// The hostname of the internal end of a connection (third-party logs' `host`).
    fn internal_host(&self, ci: usize) -> Option<String> {
        let c = &self.conns[ci];
        let did = c.src.did.or(c.dst.did)?;
        self.device_by_did(did)?.hostname.clone()
    }

    fn conn_strings(&self, ci: usize) -> (String, String, u16, u16, String) {
        let c = &self.conns[ci];
        (
            c.src.ip.to_string(),
            c.dst.ip.to_string(),
            c.src_port,
            c.dst_port,
            c.protocol.to_ascii_lowercase(),
        )
    }

    fn dns_record(&mut self, ci: usize, query: &str, answer: IpAddr) {
        let t = self.after(ci);
        let (s, d, sp, dp, proto) = self.conn_strings(ci);
        let uid = self.conns[ci].uid.clone();
        let probe = conn_probe(&self.conns[ci], &self.devices);
        let trans_id = self.rng.gen_range(1..65_535u64);
        let answer = answer.to_string();
        let answers = [answer.as_str()];
        self.emit(
            t,
            probe,
            "dns",
            &[
                ("uid", Fv::S(&uid)),
                ("source_ip", Fv::S(&s)),
                ("source_port", Fv::U(u64::from(sp))),
                ("dest_ip", Fv::S(&d)),
                ("dest_port", Fv::U(u64::from(dp))),
                ("proto", Fv::S(&proto)),
                ("trans_id", Fv::U(trans_id)),
                ("query", Fv::S(query)),
                ("qclass_name", Fv::S("C_INTERNET")),
                ("qtype_name", Fv::S("A")),
                ("rcode_name", Fv::S("NOERROR")),
                ("answers", Fv::L(&answers)),
                ("TTLs", Fv::F64s(&[300.0])),
            ],
        );
    }

    fn http_record(&mut self, ci: usize, method: &str, uri: &str, status: (u64, &str)) {
        let t = self.after(ci);
        let (s, d, sp, dp, _) = self.conn_strings(ci);
        let c = &self.conns[ci];
        let (uid, host, out, inn) = (
            c.uid.clone(),
            c.dst.hostname.clone().unwrap_or_else(|| d.clone()),
            c.bytes_out,
            c.bytes_in,
        );
        let probe = conn_probe(c, &self.devices);
        let ua = USER_AGENTS[self.rng.gen_range(0..USER_AGENTS.len())];
        self.emit(
            t,
            probe,
            "http",
            &[
                ("uid", Fv::S(&uid)),
                ("source_ip", Fv::S(&s)),
                ("source_port", Fv::U(u64::from(sp))),
                ("dest_ip", Fv::S(&d)),
                ("dest_port", Fv::U(u64::from(dp))),
                ("trans_depth", Fv::U(1)),
                ("method", Fv::S(method)),
                ("host", Fv::S(&host)),
                ("uri", Fv::S(uri)),
                ("version", Fv::S("1.1")),
                ("user_agent", Fv::S(ua)),
                ("request_body_len", Fv::U(out.saturating_sub(400))),
                ("response_body_len", Fv::U(inn.saturating_sub(300))),
                ("status_code", Fv::U(status.0)),
                ("status_msg", Fv::S(status.1)),
            ],
        );
    }

    fn ssl_record(&mut self, ci: usize) {
        let t = self.after(ci);
        let (s, d, sp, dp, _) = self.conn_strings(ci);
        let c = &self.conns[ci];
        let (uid, server_name) = (c.uid.clone(), c.dst.hostname.clone());
        let probe = conn_probe(c, &self.devices);
        let tls13 = self.rng.gen_bool(0.6);
        let mut fields = vec![
            ("uid", Fv::S(&uid)),
            ("source_ip", Fv::S(&s)),
            ("source_port", Fv::U(u64::from(sp))),
            ("dest_ip", Fv::S(&d)),
            ("dest_port", Fv::U(u64::from(dp))),
            ("version", Fv::S(if tls13 { "TLSv13" } else { "TLSv12" })),
            (
                "cipher",
                Fv::S(if tls13 {
                    "TLS_AES_128_GCM_SHA256"
                } else {
                    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
                }),
            ),
        ];
        if let Some(sn) = &server_name {
            fields.push(("server_name", Fv::S(sn)));
        }
        fields.extend([("resumed", Fv::B(false)), ("established", Fv::B(true))]);
        self.emit(t, probe, "ssl", &fields);
    }

    fn firewall_record(&mut self, ci: usize, allow: bool, rule: &str) {
        let t = self.after(ci);
        let (s, d, sp, dp, proto) = self.conn_strings(ci);
        let host = self.internal_host(ci);
        let app = match self.conns[ci].app.as_str() {
            "HTTPS" => "ssl",
            "HTTP" => "web-browsing",
            "RDP" => "ms-rdp",
            "SSH" => "ssh",
            "DNS" => "dns",
            "SMB" => "ms-ds-smb",
            "Telnet" => "telnet",
            "IRC" => "irc",
            _ => "incomplete",
        };
        let (out, inn) = (self.conns[ci].bytes_out, self.conns[ci].bytes_in);
        let action = if allow { "allow" } else { "deny" };
        let msg = format!(
            "TRAFFIC {} src={s}:{sp} dst={d}:{dp} proto={proto} app={app} rule={rule} bytes_sent={out} bytes_received={inn}",
            if allow { "end" } else { "deny" }
        );
        let mut fields = vec![
            ("vendor", Fv::S("Palo Alto Networks")),
            ("product", Fv::S("PAN-OS")),
        ];
        if let Some(h) = &host {
            fields.push(("host", Fv::S(h)));
        }
        fields.extend([
            ("src_ip", Fv::S(&s)),
            ("src_port", Fv::U(u64::from(sp))),
            ("dest_ip", Fv::S(&d)),
            ("dest_port", Fv::U(u64::from(dp))),
            ("proto", Fv::S(&proto)),
            ("app", Fv::S(app)),
            ("action", Fv::S(action)),
            ("rule", Fv::S(rule)),
            ("severity", Fv::S("informational")),
            ("SyslogMessage", Fv::S(&msg)),
        ]);
        self.emit(t, "dt-01", "firewall", &fields);
    }

    fn ids_record(&mut self, ci: usize, sig: (&str, u64, &str, u64), block: bool) {
        let t = self.after(ci);
        let (s, d, sp, dp, proto) = self.conn_strings(ci);
        let host = self.internal_host(ci);
        let (signature, sid, category, severity) = sig;
        let msg = format!(
            "[1:{sid}:3] {signature} [Classification: {category}] [Priority: {severity}] {{{}}} {s}:{sp} -> {d}:{dp}",
            proto.to_ascii_uppercase()
        );
        let mut fields = vec![
            ("vendor", Fv::S("Suricata")),
            ("product", Fv::S("Suricata IDS")),
        ];
        if let Some(h) = &host {
            fields.push(("host", Fv::S(h)));
        }
        fields.extend([
            ("src_ip", Fv::S(&s)),
            ("src_port", Fv::U(u64::from(sp))),
            ("dest_ip", Fv::S(&d)),
            ("dest_port", Fv::U(u64::from(dp))),
            ("proto", Fv::S(&proto)),
            ("action", Fv::S(if block { "block" } else { "allow" })),
            ("signature", Fv::S(signature)),
            ("signature_id", Fv::U(sid)),
            ("category", Fv::S(category)),
            ("severity", Fv::U(severity)),
            ("msg_s", Fv::S(&msg)),
        ]);
        self.emit(t, "dt-01", "ids", &fields);
    }

    /// An EDR detection on the internal end of a connection.
    fn edr_record(&mut self, ci: usize, detection: (&str, &str, &str, &str), block: bool) {
        let t = self.after(ci) + 2_000_000;
        let (s, d, _, dp, _) = self.conn_strings(ci);
        let host = self.internal_host(ci);
        let (signature, severity, tactic, technique) = detection;
        let user = self.conns[ci]
            .src
            .did
            .and_then(|did| self.device_by_did(did))
            .and_then(|x| x.credentials.first().cloned());
        let msg = format!(
            "Detection: {signature}; Severity: {severity}; Tactic: {tactic}; Technique: {technique}; Host: {}; Action: {}",
            host.as_deref().unwrap_or(&s),
            if block { "process blocked" } else { "detected" }
        );
        let mut fields = vec![
            ("vendor", Fv::S("CrowdStrike")),
            ("product", Fv::S("Falcon")),
        ];
        if let Some(h) = &host {
            fields.push(("host", Fv::S(h)));
        }
        fields.extend([
            ("src_ip", Fv::S(&s)),
            ("dest_ip", Fv::S(&d)),
            ("dest_port", Fv::U(u64::from(dp))),
        ]);
        if let Some(u) = &user {
            fields.push(("user", Fv::S(u)));
        }
        fields.extend([
            ("action", Fv::S(if block { "block" } else { "allow" })),
            ("signature", Fv::S(signature)),
            ("severity", Fv::S(severity)),
            ("tactic", Fv::S(tactic)),
            ("technique", Fv::S(technique)),
            ("msg_s", Fv::S(&msg)),
        ]);
        self.emit(t, "dt-01", "edr", &fields);
    }

    fn dns_lookup(
        &mut self,
        i: usize,
        t: i64,
        host: &str,
        ip: [u8; 4],
        with_record: bool,
    ) -> Option<usize> {
        let dns = self.pool(&[Role::Dns]).first().copied()?;
        if dns == i || !self.active(dns, t) {
            return None;
        }
        let src = self.dev_peer(i, t);
        let dst = self.dev_peer(dns, t);
        let (out, inn) = (self.rng.gen_range(40..80), self.rng.gen_range(80..300));
        let ci = self.connect(t, src, dst, 53, ("DNS", "UDP"), out, inn);
        self.conns[ci].dns_query = Some(host.to_string());
        if with_record {
            self.dns_record(ci, host, v4(ip));
        }
        Some(ci)
    }

    /// One background event using at most `budget` records.
    fn background(&mut self, budget: usize) {
        let t = self.rand_time();
        let r: f64 = self.rng.gen();
        let internal = self.pool(&[Role::Client, Role::Server, Role::Proxy, Role::Dmz]);
        let clients = self.pool(&[Role::Client]);
        let client_or_any = if clients.is_empty() {
            internal.clone()
        } else {
            clients.clone()
        };
        let (host, ip) = COMMON_EXT[self.rng.gen_range(0..COMMON_EXT.len())];
        if r < 0.28 {
            let Some(i) = self.pick_active(&internal, t, 0) else {
                return;
            };
            if self.dns_lookup(i, t, host, ip, budget >= 2).is_none() {
                self.https(i, t, host, ip, budget);
            }
        } else if r < 0.50 {
            let Some(i) = self.pick_active(&internal, t, 0) else {
                return;
            };
            self.https(i, t, host, ip, budget);
        } else if r < 0.60 {
            let Some(i) = self.pick_active(&client_or_any, t, 0) else {
                return;
            };
            let src = self.dev_peer(i, t);
            let (out, inn) = (
                self.rng.gen_range(300..2_000),
                self.rng.gen_range(500..80_000),
            );
            let ci = self.connect(
                t,
                src,
                Self::ext_peer(Some(host), ip),
                80,
                ("HTTP", "TCP"),
                out,
                inn,
            );
            if budget >= 2 && self.rng.gen_bool(0.8) {
                let uri = URIS[self.rng.gen_range(0..URIS.len())];
                let status = if self.rng.gen_bool(0.85) {
                    (200, "OK")
                } else {
                    (304, "Not Modified")
                };
                self.http_record(ci, "GET", uri, status);
            }
        } else if r < 0.80 {
            let servers = self.pool(&[Role::Server, Role::Dns, Role::Proxy]);
            let Some(i) = self.pick_active(&client_or_any, t, 0) else {
                return;
            };
            let Some(j) = self.pick_active(&servers, t, 0).filter(|&j| j != i) else {
                return;
            };
            let port = [445u16, 88, 389, 8080, 22, 3389, 5432, 445, 88][self.rng.gen_range(0..9)];
            let (src, dst) = (self.dev_peer(i, t), self.dev_peer(j, t));
            let (out, inn) = (
                self.rng.gen_range(200..400_000),
                self.rng.gen_range(200..2_000_000),
            );
            self.connect(t, src, dst, port, app_for_port(port), out, inn);
        } else if r < 0.86 {
            let dmz = self.pool(&[Role::Dmz]);
            let Some(i) = self.pick_active(&dmz, t, 0) else {
                return;
            };
            let src = Self::ext_peer(None, INBOUND_EXT[self.rng.gen_range(0..INBOUND_EXT.len())]);
            let dst = self.dev_peer(i, t);
            let (out, inn) = (
                self.rng.gen_range(400..5_000),
                self.rng.gen_range(2_000..200_000),
            );
            let ci = self.connect(t, src, dst, 443, ("HTTPS", "TCP"), out, inn);
            if budget >= 2 && self.rng.gen_bool(0.5) {
                self.firewall_record(ci, true, "allow-dmz-web");
            }
        } else if r < 0.92 {
            let Some(i) = self.pick_active(&client_or_any, t, 0) else {
                return;
            };
            let port = [23u16, 445, 3389, 6667][self.rng.gen_range(0..4)];
            let src = self.dev_peer(i, t);
            let dst = Self::ext_peer(None, BLOCKED_EXT[self.rng.gen_range(0..BLOCKED_EXT.len())]);
            let ci = self.connect(t, src, dst, port, app_for_port(port), 0, 0);
            if budget >= 2 {
                self.firewall_record(ci, false, "deny-outbound-risky-ports");
            }
        } else if r < 0.97 {
            let Some(i) = self.pick_active(&client_or_any, t, 0) else {
                return;
            };
            let ci = self.https_conn(i, t, host, ip);
            if budget >= 2 {
                let sig = [
                    (
                        "ET POLICY Dropbox.com Offsite File Backup in Use",
                        2_012_647,
                        "Potential Corporate Privacy Violation",
                        1,
                    ),
                    (
                        "ET INFO Observed DNS Query to .cloud TLD",
                        2_027_865,
                        "Potentially Bad Traffic",
                        2,
                    ),
                    (
                        "ET POLICY Outdated Windows Flash Version IE",
                        2_014_726,
                        "Potential Corporate Privacy Violation",
                        3,
                    ),
                ][self.rng.gen_range(0..3)];
                self.ids_record(ci, sig, false);
            }
        } else {
            let Some(i) = self.pick_active(&client_or_any, t, 0) else {
                return;
            };
            let ci = self.https_conn(i, t, host, ip);
            if budget >= 2 {
                let det = [
                    (
                        "Suspicious PowerShell command line",
                        "Medium",
                        "Execution",
                        "T1059.001",
                    ),
                    (
                        "Unsigned binary made network connection",
                        "Low",
                        "Command and Control",
                        "T1071",
                    ),
                ][self.rng.gen_range(0..2)];
                let block = self.rng.gen_bool(0.3);
                self.edr_record(ci, det, block);
            }
        }
    }

    fn https_conn(&mut self, i: usize, t: i64, host: &str, ip: [u8; 4]) -> usize {
        let src = self.dev_peer(i, t);
        let (out, inn) = (
            self.rng.gen_range(500..60_000),
            self.rng.gen_range(2_000..3_000_000),
        );
        self.connect(
            t,
            src,
            Self::ext_peer(Some(host), ip),
            443,
            ("HTTPS", "TCP"),
            out,
            inn,
        )
    }

    fn https(&mut self, i: usize, t: i64, host: &str, ip: [u8; 4], budget: usize) {
        let ci = self.https_conn(i, t, host, ip);
        let mut left = budget.saturating_sub(1);
        if left > 0 && self.rng.gen_bool(0.7) {
            self.ssl_record(ci);
            left -= 1;
        }
        if left > 0 && self.rng.gen_bool(0.2) {
            self.firewall_record(ci, true, "allow-web-outbound");
        }
    }

    /// One breach scenario: its connections (with companions) and the breach itself.
    fn breach(&mut self, k: usize, pbid: u64, def: &ModelDef, model: &Model) -> Option<Breach> {
        let t = self
            .rng
            .gen_range(self.start + 2 * HOUR_MS..self.anchor - 10 * MINUTE_MS);
        let tc = t - SECOND_MS;
        let lead = 45 * MINUTE_MS;
        let pool = match def.kind {
            Kind::BigOutbound | Kind::RdpOut => self.pool(&[Role::Client, Role::Server]),
            Kind::ServerRare | Kind::SshOut => self.pool(&[Role::Server]),
            Kind::Reactivated => {
                // The device that appeared mid-day, when there is one.
                let fresh: Vec<usize> = (0..self.devices.len())
                    .filter(|&i| self.devices[i].tags.contains(&TAG_NEW))
                    .collect();
                if fresh.is_empty() {
                    self.pool(&[Role::Client])
                } else {
                    fresh.into()
                }
            }
            _ => self.pool(&[Role::Client]),
        };
        let i = self.pick_active(&pool, tc, lead)?;
        let mut uids = Vec::new();
        let (size, trigger_ci) = match def.kind {
            Kind::BigOutbound => {
                let (host, ip) = FILES_EXT;
                self.dns_lookup(i, tc - 2 * SECOND_MS, host, ip, true);
                let out = self.rng.gen_range(1_150_000_000..2_700_000_000u64);
                let src = self.dev_peer(i, tc);
                let ci = self.connect(
                    tc,
                    src,
                    Self::ext_peer(Some(host), ip),
                    443,
                    ("HTTPS", "TCP"),
                    out,
                    180_000,
                );
                self.ssl_record(ci);
                self.firewall_record(ci, true, "allow-web-outbound");
                (out, ci)
            }
            Kind::Recon => {
                let targets = self.pool(&[
                    Role::Server,
                    Role::Dns,
                    Role::Proxy,
                    Role::Dmz,
                    Role::Client,
                ]);
                let n = self.rng.gen_range(12..20);
                let ports = [
                    21u16, 22, 23, 80, 135, 139, 443, 445, 1433, 3306, 3389, 5900, 8080,
                ];
                let mut last = 0;
                for s in 0..n {
                    let ts = tc - (n - 1 - s) as i64 * self.rng.gen_range(5..12) * SECOND_MS;
                    let Some(j) = self.pick_active(&targets, ts, 0).filter(|&j| j != i) else {
                        continue;
                    };
                    let port = ports[self.rng.gen_range(0..ports.len())];
                    let (src, dst) = (self.dev_peer(i, ts), self.dev_peer(j, ts));
                    let out = self.rng.gen_range(0..3) * 60;
                    let inn = if out > 0 && self.rng.gen_bool(0.3) {
                        120
                    } else {
                        0
                    };
                    last = self.connect(ts, src, dst, port, app_for_port(port), out, inn);
                    self.conns[last].unusual = true;
                    uids.push(self.conns[last].uid.clone());
                    if s % 6 == 2 {
                        let sig = [
                            (
                                "ET SCAN Possible Nmap User-Agent Observed",
                                2_024_364,
                                "Web Application Attack",
                                2,
                            ),
                            (
                                "ET SCAN Suspicious inbound to MSSQL port 1433",
                                2_010_935,
                                "Potentially Bad Traffic",
                                2,
                            ),
                            (
                                "ET SCAN Potential VNC Scan 5900-5920",
                                2_002_911,
                                "Attempted Information Leak",
                                2,
                            ),
                        ][s % 3];
                        self.ids_record(last, sig, false);
                    }
                }
                if uids.is_empty() {
                    return None;
                }
                self.edr_record(
                    last,
                    (
                        "Nmap network scanner executed",
                        "High",
                        "Discovery",
                        "T1046",
                    ),
                    false,
                );
                (uids.len() as u64, last)
            }
            Kind::Beacon => {
                let (host, ip) = BEACON_EXT;
                let n = self.rng.gen_range(15..25);
                let first_t = tc - (n - 1) * MINUTE_MS;
                self.dns_lookup(i, first_t - SECOND_MS, host, ip, true);
                let mut last = 0;
                for s in 0..n {
                    let jitter = if s == n - 1 {
                        0
                    } else {
                        self.rng.gen_range(-3_000..3_000)
                    };
                    let ts = first_t + s * MINUTE_MS + jitter;
                    let src = self.dev_peer(i, ts);
                    let (out, inn) = (self.rng.gen_range(300..900), self.rng.gen_range(200..2_000));
                    last = self.connect(
                        ts,
                        src,
                        Self::ext_peer(Some(host), ip),
                        443,
                        ("HTTPS", "TCP"),
                        out,
                        inn,
                    );
                    self.conns[last].unusual = true;
                    self.conns[last].new = s == 0;
                    uids.push(self.conns[last].uid.clone());
                    if s == 0 {
                        self.ssl_record(last);
                        self.firewall_record(last, true, "allow-web-outbound");
                    }
                    if s == n / 2 {
                        self.edr_record(
                            last,
                            (
                                "Suspicious process beaconing to rare domain",
                                "Critical",
                                "Command and Control",
                                "T1071.001",
                            ),
                            true,
                        );
                    }
                }
                self.ids_record(
                    last,
                    (
                        "ET MALWARE Possible Cobalt Strike Beacon Activity",
                        2_032_749,
                        "A Network Trojan was detected",
                        1,
                    ),
                    false,
                );
                (n as u64, last)
            }
            Kind::RareUpload => {
                let (host, ip) = PASTE_EXT;
                self.dns_lookup(i, tc - 2 * SECOND_MS, host, ip, true);
                let out = self.rng.gen_range(15_000_000..40_000_000u64);
                let src = self.dev_peer(i, tc);
                let ci = self.connect(
                    tc,
                    src,
                    Self::ext_peer(Some(host), ip),
                    80,
                    ("HTTP", "TCP"),
                    out,
                    900,
                );
                self.http_record(ci, "POST", "/api/v1/upload", (200, "OK"));
                (out, ci)
            }
            Kind::RdpOut => {
                let src = self.dev_peer(i, tc);
                let (out, inn) = (
                    self.rng.gen_range(50_000..400_000),
                    self.rng.gen_range(500_000..3_000_000),
                );
                let ci = self.connect(
                    tc,
                    src,
                    Self::ext_peer(None, RDP_EXT),
                    3389,
                    ("RDP", "TCP"),
                    out,
                    inn,
                );
                self.firewall_record(ci, true, "allow-any-outbound");
                (1, ci)
            }
            Kind::ServerRare => {
                let src = self.dev_peer(i, tc);
                let (out, inn) = (
                    self.rng.gen_range(2_000..20_000),
                    self.rng.gen_range(2_000..90_000),
                );
                let ci = self.connect(
                    tc,
                    src,
                    Self::ext_peer(None, RARE_SERVER_EXT),
                    8443,
                    ("HTTPS", "TCP"),
                    out,
                    inn,
                );
                self.ssl_record(ci);
                self.firewall_record(ci, true, "allow-server-updates");
                (1, ci)
            }
            Kind::Reactivated | Kind::SmbAdmin => {
                let servers = self.pool(&[Role::Server]);
                let n = if def.kind == Kind::SmbAdmin {
                    2
                } else {
                    self.rng.gen_range(3..6)
                };
                let mut last = None;
                for s in 0..n {
                    let ts = tc - (n - 1 - s) * 90 * SECOND_MS;
                    let Some(j) = self.pick_active(&servers, ts, 0).filter(|&j| j != i) else {
                        continue;
                    };
                    let port = if def.kind == Kind::SmbAdmin {
                        445
                    } else {
                        [445u16, 389, 88][s as usize % 3]
                    };
                    let (src, dst) = (self.dev_peer(i, ts), self.dev_peer(j, ts));
                    let (out, inn) = (
                        self.rng.gen_range(10_000..5_000_000),
                        self.rng.gen_range(2_000..200_000),
                    );
                    let ci = self.connect(ts, src, dst, port, app_for_port(port), out, inn);
                    self.conns[ci].unusual = true;
                    uids.push(self.conns[ci].uid.clone());
                    last = Some(ci);
                }
                let last = last?;
                if def.kind == Kind::SmbAdmin {
                    self.edr_record(
                        last,
                        (
                            "Remote service creation via PsExec",
                            "High",
                            "Lateral Movement",
                            "T1021.002",
                        ),
                        false,
                    );
                }
                (uids.len() as u64, last)
            }
            Kind::SshOut => {
                let src = self.dev_peer(i, tc);
                let (out, inn) = (
                    self.rng.gen_range(5_000..90_000),
                    self.rng.gen_range(5_000..90_000),
                );
                let ci = self.connect(
                    tc,
                    src,
                    Self::ext_peer(None, SSH_EXT),
                    22,
                    ("SSH", "TCP"),
                    out,
                    inn,
                );
                self.firewall_record(ci, true, "allow-any-outbound");
                self.ids_record(
                    ci,
                    (
                        "ET POLICY SSH session in progress on Expected Port",
                        2_001_978,
                        "Misc activity",
                        3,
                    ),
                    false,
                );
                (1, ci)
            }
        };
        if uids.is_empty() {
            let c = &mut self.conns[trigger_ci];
            c.unusual = true;
            c.new = true;
            uids.push(c.uid.clone());
        }
        let trigger_time = self.conns[trigger_ci].time_ms;
        let phid = model
            .versions
            .iter()
            .rev()
            .find(|v| v.modified_ms <= trigger_time)
            .unwrap_or(&model.versions[0])
            .phid;
        let cbid = self.next_seq();
        let trigger = self.conns[trigger_ci].clone();
        let components = triggered_components(model, trigger_time, cbid, size, Some(&trigger));
        let score_floor = match def.category {
            "Critical" => 0.7,
            "Suspicious" => 0.4,
            _ => 0.15,
        };
        let score = (self.rng.gen_range(score_floor..0.99f64) * 1_000.0).round() / 1_000.0;
        let time_ms = trigger_time + SECOND_MS;
        Some(Breach {
            pbid,
            pid: def.pid,
            phid,
            did: self.devices[i].did,
            time_ms,
            creation_ms: time_ms + self.rng.gen_range(2..9) * SECOND_MS,
            score,
            acknowledged: k % 7 == 3,
            comment_count: if k % 5 == 1 { 1 + (k % 2) as u32 } else { 0 },
            components,
            uids,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_world_different_seed_different_world() {
        let p = GenParams {
            devices: 20,
            records: 400,
            seed: 9,
            anchor_ms: 1_700_000_000_000,
        };
        let dump = |w: &World| {
            let mut out = Vec::new();
            for f in crate::store::FILES {
                w.write_file(f, &mut out).unwrap();
            }
            out
        };
        let a = dump(&generate(&p));
        assert!(a == dump(&generate(&p)));
        assert!(a != dump(&generate(&GenParams { seed: 10, ..p })));
    }

    #[test]
    fn meets_the_record_count_and_scales_down() {
        for (devices, records) in [(0, 0), (1, 10), (3, 50), (12, 300), (50, 3_000)] {
            let w = generate(&GenParams {
                devices,
                records,
                seed: 3,
                anchor_ms: 1_700_000_000_000,
            });
            assert_eq!(w.devices().len(), devices);
            if devices >= 12 {
                assert_eq!(w.search().len(), records, "{devices} devices");
                assert!(!w.breaches().is_empty());
            } else if devices > 0 {
                assert!(w.search().len() >= records, "{devices} devices");
            }
        }
    }

    #[test]
    fn generated_texts_carry_exactly_the_indexed_values() {
        let w = generate(&GenParams {
            devices: 30,
            records: 1_500,
            seed: 5,
            anchor_ms: 1_700_000_000_000,
        });
        let s = w.search();
        for &id in s.ids_by_time() {
            let rec = s.record(id);
            let (t, vals) = crate::search::source_keys(&rec.source).unwrap();
            assert_eq!(t, rec.time_us());
            for (f, v) in vals.iter().enumerate() {
                assert_eq!(
                    v.as_deref(),
                    s.indexed_value(id, f),
                    "record {} field {f}",
                    rec.id()
                );
            }
            let mut line = Vec::new();
            s.write_hit_line(id, &mut line);
            assert_eq!(serde_json::from_slice::<Value>(&line).unwrap(), s.hit(id));
            assert_eq!(
                String::from_utf8(line).unwrap(),
                serde_json::to_string(&s.hit(id)).unwrap()
            );
        }
    }
}
