//! First-match field maps with dotted paths (DECISIONS D12).
//!
//! Each normalized [`Field`] has an ordered list of candidate columns. A candidate is a
//! dotted path into the record (`@fields.source_ip`, `device.hostname`,
//! `model.then.name`); the first candidate that is PRESENT with a NON-EMPTY value wins,
//! and when none matches the field is absent (never an error).
//!
//! Pinned rules (the guide and D12 leave these open):
//! - "Empty" means: JSON `null`, a string that is empty or only whitespace, an empty
//!   array, or an array holding no usable scalar. Such a candidate is skipped.
//! - A non-empty array yields its first usable scalar element.
//! - An object is never a field value: a candidate that resolves to an object is skipped.
//! - A path segment that is a decimal number indexes into an array (`ips.0.ip`).
//!   Keys that themselves contain a dot cannot be reached (Darktrace nests, it does not
//!   flatten).
//! - User paths are taken literally. The guide's example `['msg_s','SyslogMessage']`
//!   therefore only matches top-level keys; in Darktrace records those columns live at
//!   `@fields.msg_s` / `@fields.SyslogMessage`, which is what [`DEFAULT_MAP`] uses.
//! - A user map replaces the default list for each field it names (an empty list turns
//!   the field off); fields it does not name keep [`DEFAULT_MAP`].
//!
//! Paths are split once, when the map is built ([`FieldMap::with_overrides`]), and merged
//! into a trie: [`FieldMap::resolve`] walks a record once for all fields, touching each
//! shared prefix (`@fields`) once and allocating nothing. [`FieldMap::get`] is the plain
//! candidate-by-candidate reading, and a test holds the two to the same answers.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasherDefault;
use std::str::FromStr;

use serde_json::Value;

/// A normalized-event field that the field map fills (D11). `id`, `kind`, `source`,
/// `query`, `vendor`, `suspicious_reason` and `raw` are not mapped: the client sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// The record's time, before the event time adjustment.
    Timestamp,
    /// Source IP address.
    SrcIp,
    /// Destination IP address.
    DestIp,
    /// Source port.
    SrcPort,
    /// Destination port.
    DestPort,
    /// Transport or application protocol.
    Protocol,
    /// The host the record is about.
    Host,
    /// A human-readable message.
    Description,
    /// Rule, model or signature name.
    Signature,
    /// Rule, model or signature identifier.
    SignatureId,
    /// Severity or score.
    Severity,
    /// What the technology did (blocked, allowed, ...), when it says.
    Action,
    /// The security technology that wrote the record (used only with
    /// `discover_network_devices`).
    Product,
}

impl Field {
    /// Every mapped field, in output order.
    pub const ALL: [Field; 13] = [
        Field::Timestamp,
        Field::SrcIp,
        Field::DestIp,
        Field::SrcPort,
        Field::DestPort,
        Field::Protocol,
        Field::Host,
        Field::Description,
        Field::Signature,
        Field::SignatureId,
        Field::Severity,
        Field::Action,
        Field::Product,
    ];

    /// The field's name in the settings and in the normalized event.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Timestamp => "timestamp",
            Field::SrcIp => "src_ip",
            Field::DestIp => "dest_ip",
            Field::SrcPort => "src_port",
            Field::DestPort => "dest_port",
            Field::Protocol => "protocol",
            Field::Host => "host",
            Field::Description => "description",
            Field::Signature => "signature",
            Field::SignatureId => "signature_id",
            Field::Severity => "severity",
            Field::Action => "action",
            Field::Product => "product",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not a mappable field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown field {name:?}: expected one of timestamp, src_ip, dest_ip, src_port, dest_port, protocol, host, description, signature, signature_id, severity, action, product")]
pub struct UnknownField {
    /// The name as given.
    pub name: String,
}

impl FromStr for Field {
    type Err = UnknownField;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Field::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownField {
                name: s.to_string(),
            })
    }
}

/// The Darktrace default field map: per field, the candidate columns in priority order.
///
/// Three record shapes are covered (each candidate notes which):
/// - advanced-search hits, resolved against `_source`: the appliance's own logs
///   (`@fields.source_ip`, `@fields.epochdate`, `@fields.proto`, `@type`, ...) and logs
///   that third-party security tools send into Darktrace (`@fields.src_ip`,
///   `@fields.host`, `@fields.msg_s`, `@fields.SyslogMessage`, `@fields.signature`,
///   `@fields.product`, ...);
/// - `/details` events (`sourceDevice.ip`, `sourcePort`, `protocol`, `timems`, `source`);
/// - `/modelbreaches` objects (`device.ip`, `device.hostname`, `model.then.name`,
///   `pbid`, `score`, `time`, `creationTime`).
///
/// Shapes do not collide: advanced-search roots only carry `@`-prefixed keys, so the
/// bare `/details` and breach columns never match there.
///
/// `@type` (the appliance's log type: `conn`, `http`, ...) is a signature fallback, not a
/// protocol one: third-party records arrive with log-transport types such as `syslog`.
///
/// Columns seen in the records but deliberately not mapped: `@fields.uid` and `uid`
/// (connection ids, not signatures; identity uses `_id` or `uid`+`eventType`+`timems`,
/// D10), `/details` `action` (always the event type, e.g. `connection`, never a
/// disposition) and `destination` (a name or IP of the far end, for which D11 has no
/// field).
pub const DEFAULT_MAP: &[(Field, &[&str])] = &[
    (
        Field::Timestamp,
        &[
            "@fields.epochdate", // appliance logs: epoch seconds (float)
            "timems",            // /details: epoch ms
            "time",              // breaches: epoch ms of the first relevant activity
            "creationTime",      // breaches: epoch ms of the record's creation
            "@timestamp",        // advanced search: ISO without zone (UTC)
        ],
    ),
    (
        Field::SrcIp,
        &[
            "@fields.source_ip", // appliance logs
            "@fields.src_ip",    // third-party logs
            "@fields.src",       // third-party logs (stix-shifter's alternative)
            "sourceDevice.ip",   // /details
            "device.ip",         // breaches
        ],
    ),
    (
        Field::DestIp,
        &[
            "@fields.dest_ip",      // appliance and third-party logs
            "@fields.dst",          // third-party logs
            "destinationDevice.ip", // /details
        ],
    ),
    (
        Field::SrcPort,
        &[
            "@fields.source_port", // appliance logs
            "@fields.src_port",    // third-party logs
            "sourcePort",          // /details
        ],
    ),
    (
        Field::DestPort,
        &[
            "@fields.dest_port", // appliance and third-party logs
            "@fields.dst_port",  // third-party logs
            "destinationPort",   // /details
        ],
    ),
    (
        Field::Protocol,
        &[
            "@fields.proto", // appliance logs (tcp/udp)
            "protocol",      // /details (TCP/UDP)
        ],
    ),
    (
        Field::Host,
        &[
            "@fields.host",          // third-party logs and appliance http logs
            "device.hostname",       // breaches
            "sourceDevice.hostname", // /details
            "source",                // /details: the source's name (or IP)
        ],
    ),
    (
        Field::Description,
        &[
            "@fields.msg_s",          // third-party logs (the guide's `msg_s`)
            "@fields.SyslogMessage",  // third-party logs (the guide's `SyslogMessage`)
            "@fields.msg",            // appliance notice logs
            "model.then.description", // breaches (default shape)
            "model.description",      // breaches (historicmodelonly shape)
            "@message",               // appliance logs: the raw log line
        ],
    ),
    (
        Field::Signature,
        &[
            "@fields.signature", // third-party logs (IDS, EDR)
            "@fields.rule",      // firewall logs: the rule that matched
            "model.then.name",   // breaches (default shape)
            "model.name",        // breaches (historicmodelonly shape)
            "name",              // /details policy-breach events
            "@type",             // appliance logs: the log type
        ],
    ),
    (
        Field::SignatureId,
        &[
            "@fields.signature_id", // third-party logs
            "pbid",                 // breaches and /details policy-breach events
        ],
    ),
    (
        Field::Severity,
        &[
            "@fields.severity",    // third-party logs
            "score",               // breaches (0..1)
            "model.then.category", // breaches: Critical/Suspicious/Compliance/Informational
            "model.category",      // breaches (historicmodelonly shape)
        ],
    ),
    (
        Field::Action,
        &[
            "@fields.action", // third-party logs (blocked, allowed, ...)
        ],
    ),
    (
        Field::Product,
        &[
            "@fields.product", // third-party logs: the technology that wrote the record
            "@fields.vendor",  // third-party logs: its vendor, when no product is named
        ],
    ),
];

/// Why a column path is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid column path {path:?}: {reason}")]
pub struct PathError {
    /// The path as given.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Checks a column path's syntax: non-empty, no empty segment.
pub fn check_path(path: &str) -> Result<(), PathError> {
    let err = |reason| PathError {
        path: path.to_string(),
        reason,
    };
    if path.trim().is_empty() {
        return Err(err("must not be empty"));
    }
    if path.split('.').any(str::is_empty) {
        return Err(err(
            "has an empty segment (leading, trailing or doubled dot)",
        ));
    }
    Ok(())
}

/// One path segment, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    key: Box<str>,
    /// The segment as an array index, when it is a decimal number.
    index: Option<usize>,
}

/// One candidate column, split once.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Path {
    /// The path as written.
    text: Box<str>,
    /// Its segments.
    segments: Box<[Segment]>,
}

impl Path {
    fn compile(text: &str) -> Result<Path, PathError> {
        check_path(text)?;
        let segments = text
            .split('.')
            .map(|s| Segment {
                key: s.into(),
                index: s.parse().ok(),
            })
            .collect();
        Ok(Path {
            text: text.into(),
            segments,
        })
    }

    fn resolve<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        self.segments
            .iter()
            .try_fold(root, |current, seg| match current {
                Value::Object(map) => map.get(&*seg.key),
                Value::Array(items) => seg.index.and_then(|n| items.get(n)),
                _ => None,
            })
    }
}

/// The usable scalar inside a resolved value, or `None` when it counts as absent.
fn usable(value: &Value) -> Option<&Value> {
    match value {
        Value::Null | Value::Object(_) => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Some(value),
        Value::Array(items) => items.iter().find_map(|v| match v {
            Value::Array(_) => None,
            other => usable(other),
        }),
    }
}

/// A compiled field map: per field, its candidate paths in priority order, and all of
/// them merged into one trie so a record is walked once ([`FieldMap::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMap {
    candidates: [Box<[Path]>; Field::ALL.len()],
    trie: Trie,
}

impl Default for FieldMap {
    fn default() -> Self {
        FieldMap::darktrace_default()
    }
}

impl FieldMap {
    /// The compiled [`DEFAULT_MAP`].
    pub fn darktrace_default() -> FieldMap {
        Self::with_overrides(&BTreeMap::new()).expect("the default map's paths are valid")
    }

    /// The default map with the user's lists replacing the default for the fields they
    /// name (D12). An empty list leaves that field always absent.
    pub fn with_overrides(user: &BTreeMap<Field, Vec<String>>) -> Result<FieldMap, PathError> {
        let mut candidates: [Box<[Path]>; Field::ALL.len()] = Default::default();
        for &(field, paths) in DEFAULT_MAP {
            candidates[field.index()] = paths
                .iter()
                .map(|p| Path::compile(p))
                .collect::<Result<_, _>>()?;
        }
        for (field, paths) in user {
            candidates[field.index()] = paths
                .iter()
                .map(|p| Path::compile(p))
                .collect::<Result<_, _>>()?;
        }
        let trie = Trie::build(&candidates);
        Ok(FieldMap { candidates, trie })
    }

    /// The candidate columns for a field, as written.
    pub fn candidates(&self, field: Field) -> Vec<&str> {
        self.candidates[field.index()]
            .iter()
            .map(|p| &*p.text)
            .collect()
    }

    /// The first present, non-empty candidate's value for `field` in `record`
    /// (a string, number or boolean), or `None`.
    pub fn get<'a>(&self, record: &'a Value, field: Field) -> Option<&'a Value> {
        self.get_with_column(record, field).map(|(v, _)| v)
    }

    /// Like [`FieldMap::get`], also naming the column that matched.
    pub fn get_with_column<'a>(
        &self,
        record: &'a Value,
        field: Field,
    ) -> Option<(&'a Value, &str)> {
        self.candidates[field.index()]
            .iter()
            .find_map(|p| p.resolve(record).and_then(usable).map(|v| (v, &*p.text)))
    }

    /// Every field at once, walking the record once: the same answers as
    /// [`FieldMap::get`] field by field, at a fraction of the lookups (the
    /// normalizer's path).
    pub fn resolve<'a>(&self, record: &'a Value) -> Resolved<'a> {
        let mut best = [None; Field::ALL.len()];
        self.trie.walk(0, record, &mut best);
        Resolved { best }
    }
}

/// All fields of one record, from [`FieldMap::resolve`].
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    best: [Option<(u32, &'a Value)>; Field::ALL.len()],
}

impl<'a> Resolved<'a> {
    /// The winning value for `field`, as [`FieldMap::get`] would give it.
    pub fn get(&self, field: Field) -> Option<&'a Value> {
        self.best[field.index()].map(|(_, v)| v)
    }
}

/// A small, fast, non-cryptographic string hasher (the Fx hash) for the trie's own
/// tables, whose keys are the map's column names.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<V> = HashMap<Box<str>, V, BuildHasherDefault<FxHasher>>;

/// One trie node: the candidates that end here, and the segments that continue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Node {
    /// (field index, priority) of every candidate path ending at this node.
    leaves: Vec<(usize, u32)>,
    /// Object keys that continue a path.
    keys: FxMap<usize>,
    /// Array indexes that continue a path (segments that are decimal numbers).
    indexes: Vec<(usize, usize)>,
}

/// All candidate paths of a map, merged.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Trie {
    nodes: Vec<Node>,
}

impl Trie {
    fn build(candidates: &[Box<[Path]>; Field::ALL.len()]) -> Trie {
        let mut nodes = vec![Node::default()];
        for (field, paths) in candidates.iter().enumerate() {
            for (priority, path) in paths.iter().enumerate() {
                let mut at = 0;
                for seg in path.segments.iter() {
                    at = match nodes[at].keys.get(&seg.key) {
                        Some(&next) => next,
                        None => {
                            let next = nodes.len();
                            nodes.push(Node::default());
                            nodes[at].keys.insert(seg.key.clone(), next);
                            if let Some(i) = seg.index {
                                nodes[at].indexes.push((i, next));
                            }
                            next
                        }
                    };
                }
                nodes[at]
                    .leaves
                    .push((field, u32::try_from(priority).unwrap_or(u32::MAX)));
            }
        }
        Trie { nodes }
    }

    fn walk<'a>(&self, at: usize, value: &'a Value, best: &mut [Option<(u32, &'a Value)>]) {
        let node = &self.nodes[at];
        if !node.leaves.is_empty() {
            if let Some(v) = usable(value) {
                for &(field, priority) in &node.leaves {
                    if best[field].is_none_or(|(p, _)| priority < p) {
                        best[field] = Some((priority, v));
                    }
                }
            }
        }
        match value {
            Value::Object(map) if !node.keys.is_empty() => {
                // Visit the record's keys (cheap to hash with Fx) when there are not
                // many more of them than of the node's; otherwise look the node's up.
                if map.len() <= 4 * node.keys.len() + 8 {
                    for (k, v) in map {
                        if let Some(&next) = node.keys.get(k.as_str()) {
                            self.walk(next, v, best);
                        }
                    }
                } else {
                    for (k, &next) in &node.keys {
                        if let Some(v) = map.get(&**k) {
                            self.walk(next, v, best);
                        }
                    }
                }
            }
            Value::Array(items) => {
                for &(i, next) in &node.indexes {
                    if let Some(v) = items.get(i) {
                        self.walk(next, v, best);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A scalar field value as text: strings as they are (trimmed), numbers and booleans in
/// their JSON spelling.
pub fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(entries: &[(Field, &[&str])]) -> BTreeMap<Field, Vec<String>> {
        entries
            .iter()
            .map(|(f, ps)| (*f, ps.iter().map(|p| p.to_string()).collect()))
            .collect()
    }

    fn text(map: &FieldMap, record: &Value, field: Field) -> Option<String> {
        map.get(record, field).and_then(value_text)
    }

    #[test]
    fn d12_field_names_round_trip() {
        for f in Field::ALL {
            assert_eq!(f.as_str().parse::<Field>().unwrap(), f);
        }
        assert!("vendor".parse::<Field>().is_err());
        assert!("SRC_IP".parse::<Field>().is_err());
    }

    #[test]
    fn d12_default_map_names_every_field_once() {
        for f in Field::ALL {
            assert_eq!(
                DEFAULT_MAP.iter().filter(|(g, _)| *g == f).count(),
                1,
                "{f}"
            );
        }
        for (_, paths) in DEFAULT_MAP {
            for p in *paths {
                check_path(p).unwrap();
            }
        }
    }

    #[test]
    fn d12_first_match_wins_statement_21() {
        let map = FieldMap::with_overrides(&user(&[(
            Field::SrcIp,
            &["@fields.source_ip", "@fields.src"],
        )]))
        .unwrap();
        let only_src = json!({"@fields": {"src": "1.2.3.4"}});
        assert_eq!(
            text(&map, &only_src, Field::SrcIp).as_deref(),
            Some("1.2.3.4")
        );
        let both = json!({"@fields": {"src": "1.2.3.4", "source_ip": "5.6.7.8"}});
        assert_eq!(text(&map, &both, Field::SrcIp).as_deref(), Some("5.6.7.8"));
    }

    #[test]
    fn d12_first_match_msg_s_then_syslogmessage() {
        let map = FieldMap::default();
        let both = json!({"@fields": {"msg_s": "first", "SyslogMessage": "second"}});
        assert_eq!(
            text(&map, &both, Field::Description).as_deref(),
            Some("first")
        );
        let only_syslog = json!({"@fields": {"SyslogMessage": "second"}});
        assert_eq!(
            text(&map, &only_syslog, Field::Description).as_deref(),
            Some("second")
        );
        // The guide's literal spelling, as a user map: bare top-level keys.
        let guide =
            FieldMap::with_overrides(&user(&[(Field::Description, &["msg_s", "SyslogMessage"])]))
                .unwrap();
        assert_eq!(
            text(
                &guide,
                &json!({"SyslogMessage": "s", "msg_s": ""}),
                Field::Description
            )
            .as_deref(),
            Some("s")
        );
        assert_eq!(
            text(&guide, &only_syslog, Field::Description),
            None,
            "user paths are literal"
        );
    }

    #[test]
    fn d12_empty_values_count_as_absent() {
        let map = FieldMap::with_overrides(&user(&[(
            Field::Host,
            &["a", "b", "c", "d", "e", "f", "g"],
        )]))
        .unwrap();
        let record = json!({
            "a": "", "b": null, "c": [], "d": "   ", "e": {"x": 1}, "f": [null, ""], "g": "winner"
        });
        assert_eq!(text(&map, &record, Field::Host).as_deref(), Some("winner"));
        let none = json!({"a": "", "b": null});
        assert_eq!(map.get(&none, Field::Host), None);
    }

    #[test]
    fn d12_arrays_yield_their_first_usable_scalar() {
        let map = FieldMap::with_overrides(&user(&[(Field::Host, &["hosts"])])).unwrap();
        assert_eq!(
            text(&map, &json!({"hosts": ["", "h1", "h2"]}), Field::Host).as_deref(),
            Some("h1")
        );
    }

    #[test]
    fn d12_no_match_leaves_field_absent() {
        let map = FieldMap::default();
        let record = json!({"@fields": {"unrelated": 1}});
        for f in Field::ALL {
            assert_eq!(map.get(&record, f), None, "{f}");
        }
        // Non-object roots never panic.
        for root in [json!(null), json!("x"), json!(3), json!([1, 2])] {
            assert_eq!(map.get(&root, Field::SrcIp), None);
        }
    }

    #[test]
    fn d12_dotted_paths_reach_nested_objects_and_array_indexes() {
        let map = FieldMap::with_overrides(&user(&[
            (Field::Host, &["device.hostname"]),
            (Field::Signature, &["model.then.name"]),
            (Field::SrcIp, &["sourceDevice.ips.0.ip"]),
        ]))
        .unwrap();
        let record = json!({
            "device": {"hostname": "ws-1"},
            "model": {"then": {"name": "Device::Attack and Recon Tools"}},
            "sourceDevice": {"ips": [{"ip": "10.0.0.9"}]}
        });
        assert_eq!(text(&map, &record, Field::Host).as_deref(), Some("ws-1"));
        assert_eq!(
            text(&map, &record, Field::Signature).as_deref(),
            Some("Device::Attack and Recon Tools")
        );
        assert_eq!(
            text(&map, &record, Field::SrcIp).as_deref(),
            Some("10.0.0.9")
        );
    }

    #[test]
    fn d12_dotted_keys_are_not_flattened() {
        let map = FieldMap::default();
        assert_eq!(
            map.get(&json!({"@fields.source_ip": "10.1.1.1"}), Field::SrcIp),
            None
        );
    }

    #[test]
    fn d12_user_map_replaces_only_named_fields() {
        let map = FieldMap::with_overrides(&user(&[(Field::Host, &["@fields.hostname"])])).unwrap();
        assert_eq!(map.candidates(Field::Host), vec!["@fields.hostname"]);
        assert_eq!(
            map.candidates(Field::SrcIp),
            FieldMap::default().candidates(Field::SrcIp)
        );
        let record =
            json!({"@fields": {"host": "ignored", "hostname": "used", "source_ip": "10.0.0.1"}});
        assert_eq!(text(&map, &record, Field::Host).as_deref(), Some("used"));
        assert_eq!(
            text(&map, &record, Field::SrcIp).as_deref(),
            Some("10.0.0.1")
        );
        // An empty list switches the field off.
        let off = FieldMap::with_overrides(&user(&[(Field::Host, &[])])).unwrap();
        assert_eq!(off.get(&record, Field::Host), None);
    }

    #[test]
    fn d12_one_pass_resolve_agrees_with_get() {
        let maps = [
            FieldMap::default(),
            FieldMap::with_overrides(&user(&[
                (Field::Host, &["a", "b.c", "b", "list.1", "list.0.x"]),
                (Field::SrcIp, &["list.0.x", "a"]),
                (Field::Product, &[]),
            ]))
            .unwrap(),
        ];
        let records = [
            json!({"@fields": {"source_ip": "", "src_ip": "1.1.1.1", "host": ["", "h"], "msg_s": null}, "@type": "conn"}),
            json!({"a": "", "b": {"c": "  "}, "list": [{"x": "first"}, "second"], "device": {"ip": "2.2.2.2"}}),
            json!({"b": "B", "a": {"nested": 1}, "model": {"then": {"name": "M"}, "name": "N"}, "pbid": 3}),
            json!({"list": {"0": {"x": "key-not-index"}, "1": "one"}, "time": 5, "timems": 6}),
            json!([1, 2, 3]),
            json!(null),
        ];
        for map in &maps {
            for record in &records {
                let all = map.resolve(record);
                for f in Field::ALL {
                    assert_eq!(all.get(f), map.get(record, f), "{f} in {record}");
                }
            }
        }
        // A record with many keys takes the lookup branch; same answers.
        let mut big = serde_json::Map::new();
        for i in 0..200 {
            big.insert(format!("k{i}"), json!(i));
        }
        big.insert("timems".into(), json!(1_700_000_000_000u64));
        let big = Value::Object(big);
        assert_eq!(
            maps[0].resolve(&big).get(Field::Timestamp),
            maps[0].get(&big, Field::Timestamp)
        );
        assert!(maps[0].resolve(&big).get(Field::Timestamp).is_some());
    }

    #[test]
    fn d12_bad_paths_are_rejected() {
        for p in ["", " ", ".a", "a.", "a..b"] {
            assert!(check_path(p).is_err(), "{p:?}");
        }
        assert!(FieldMap::with_overrides(&user(&[(Field::Host, &["a..b"])])).is_err());
    }

    #[test]
    fn d12_default_map_advanced_search_appliance_log() {
        let source = json!({
            "@fields": {"epochdate": 1647342620.459522, "source_ip": "172.31.81.98", "dest_ip": "104.20.203.23",
                        "source_port": 62283, "dest_port": 80, "proto": "tcp", "uid": "CSVt7", "host": "www.darktrace.com"},
            "@type": "http", "@timestamp": "2022-03-15T11:10:20", "@message": "line"
        });
        let m = FieldMap::default();
        let (ts, col) = m.get_with_column(&source, Field::Timestamp).unwrap();
        assert_eq!((ts, col), (&json!(1647342620.459522), "@fields.epochdate"));
        assert_eq!(
            text(&m, &source, Field::SrcIp).as_deref(),
            Some("172.31.81.98")
        );
        assert_eq!(
            text(&m, &source, Field::DestIp).as_deref(),
            Some("104.20.203.23")
        );
        assert_eq!(text(&m, &source, Field::SrcPort).as_deref(), Some("62283"));
        assert_eq!(text(&m, &source, Field::DestPort).as_deref(), Some("80"));
        assert_eq!(text(&m, &source, Field::Protocol).as_deref(), Some("tcp"));
        assert_eq!(
            text(&m, &source, Field::Host).as_deref(),
            Some("www.darktrace.com")
        );
        assert_eq!(text(&m, &source, Field::Signature).as_deref(), Some("http"));
        assert_eq!(
            text(&m, &source, Field::Description).as_deref(),
            Some("line")
        );
        assert_eq!(
            m.get(&source, Field::Product),
            None,
            "the appliance's own log names no product"
        );
    }

    #[test]
    fn d12_default_map_advanced_search_third_party_log() {
        let source = json!({
            "@fields": {"src_ip": "10.0.0.1", "dest_ip": "10.0.0.2", "src_port": 5555, "dest_port": 443,
                        "host": "victim-1", "msg_s": "", "SyslogMessage": "blocked by policy",
                        "signature": "ET POLICY x", "signature_id": 2010935, "severity": "high",
                        "action": "blocked", "vendor": "Palo Alto Networks", "product": "PAN-OS"},
            "@type": "syslog", "@timestamp": "2024-05-01T12:00:30"
        });
        let m = FieldMap::default();
        let (_, col) = m.get_with_column(&source, Field::Timestamp).unwrap();
        assert_eq!(col, "@timestamp");
        assert_eq!(text(&m, &source, Field::SrcIp).as_deref(), Some("10.0.0.1"));
        assert_eq!(text(&m, &source, Field::SrcPort).as_deref(), Some("5555"));
        assert_eq!(
            text(&m, &source, Field::Description).as_deref(),
            Some("blocked by policy")
        );
        assert_eq!(
            text(&m, &source, Field::Signature).as_deref(),
            Some("ET POLICY x")
        );
        assert_eq!(
            text(&m, &source, Field::SignatureId).as_deref(),
            Some("2010935")
        );
        assert_eq!(text(&m, &source, Field::Severity).as_deref(), Some("high"));
        assert_eq!(text(&m, &source, Field::Action).as_deref(), Some("blocked"));
        assert_eq!(text(&m, &source, Field::Product).as_deref(), Some("PAN-OS"));
        let vendor_only = json!({"@fields": {"vendor": "Fortinet"}});
        assert_eq!(
            text(&m, &vendor_only, Field::Product).as_deref(),
            Some("Fortinet")
        );
    }

    #[test]
    fn d12_default_map_details_connection() {
        let event = json!({
            "time": "2023-01-20 17:36:04", "timems": 1674236164739u64, "action": "connection",
            "eventType": "connection", "uid": "Cba4153qWfRKE3WqE201", "sourcePort": 35368,
            "destinationPort": 53, "protocol": "UDP", "applicationprotocol": "DNS",
            "sourceDevice": {"ip": "192.168.1.6"}, "destinationDevice": {"ip": "192.168.1.2"},
            "source": "192.168.1.6", "destination": "192.168.1.2"
        });
        let m = FieldMap::default();
        let (ts, col) = m.get_with_column(&event, Field::Timestamp).unwrap();
        assert_eq!((ts, col), (&json!(1674236164739u64), "timems"));
        assert_eq!(
            text(&m, &event, Field::SrcIp).as_deref(),
            Some("192.168.1.6")
        );
        assert_eq!(
            text(&m, &event, Field::DestIp).as_deref(),
            Some("192.168.1.2")
        );
        assert_eq!(text(&m, &event, Field::SrcPort).as_deref(), Some("35368"));
        assert_eq!(text(&m, &event, Field::DestPort).as_deref(), Some("53"));
        assert_eq!(text(&m, &event, Field::Protocol).as_deref(), Some("UDP"));
        assert_eq!(
            text(&m, &event, Field::Host).as_deref(),
            Some("192.168.1.6")
        );
        assert_eq!(
            m.get(&event, Field::Action),
            None,
            "`action: connection` is not a disposition"
        );
        assert_eq!(m.get(&event, Field::Signature), None);
    }

    #[test]
    fn d12_default_map_model_breach() {
        let breach = json!({
            "pbid": 6, "score": 0.871, "time": 1657748808000u64, "creationTime": 1657748815000u64,
            "model": {"then": {"name": "Device::Attack and Recon Tools", "description": "A device is using tools.",
                               "category": "Suspicious", "pid": 135},
                      "now": {"name": "Renamed"}},
            "device": {"did": 7, "ip": "81.2.69.192", "hostname": "localhost.local"}
        });
        let m = FieldMap::default();
        let (ts, col) = m.get_with_column(&breach, Field::Timestamp).unwrap();
        assert_eq!((ts, col), (&json!(1657748808000u64), "time"));
        assert_eq!(
            text(&m, &breach, Field::SrcIp).as_deref(),
            Some("81.2.69.192")
        );
        assert_eq!(
            text(&m, &breach, Field::Host).as_deref(),
            Some("localhost.local")
        );
        assert_eq!(
            text(&m, &breach, Field::Signature).as_deref(),
            Some("Device::Attack and Recon Tools")
        );
        assert_eq!(text(&m, &breach, Field::SignatureId).as_deref(), Some("6"));
        assert_eq!(text(&m, &breach, Field::Severity).as_deref(), Some("0.871"));
        assert_eq!(
            text(&m, &breach, Field::Description).as_deref(),
            Some("A device is using tools.")
        );
        // historicmodelonly=true: flat model object.
        let flat = json!({"pbid": 7, "model": {"name": "Flat::Model", "category": "Critical"}, "creationTime": 1});
        assert_eq!(
            text(&m, &flat, Field::Signature).as_deref(),
            Some("Flat::Model")
        );
        assert_eq!(
            text(&m, &flat, Field::Severity).as_deref(),
            Some("Critical")
        );
        assert_eq!(
            m.get_with_column(&flat, Field::Timestamp).unwrap().1,
            "creationTime"
        );
    }
}
