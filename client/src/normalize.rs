//! The normalized event (D11) and record identity (D10).
//!
//! Three record shapes come in: advanced-search hits (the field map reads `_source`;
//! `_id` is the identity; `raw` keeps the whole hit), `/details` events and
//! `/modelbreaches` objects. The output is one JSON object per record with absent
//! values omitted (never `null`), `vendor` always `"Darktrace"`, and `raw` the record as
//! received (moved in, never copied).
//!
//! Pinned where D10/D11 are silent:
//! - Timestamps: a number (or a string of digits) whose integer part is at least 10^11
//!   is epoch milliseconds, anything smaller epoch seconds. This reads `epochdate`
//!   (seconds, float) and `timems`/`time`/`creationTime` (ms) correctly, and any user
//!   column too; the two ranges only overlap for dates before 1973 or after year 5138.
//!   Fractional numbers are rounded to the microsecond (exact for `epochdate`'s six
//!   decimals: `1647342620.459522` is `…20.459522Z`); numeric strings are read exactly.
//!   Other strings are read as D2 dates (zone-less = UTC). The event time adjustment E
//!   is added (D7).
//! - `timestamp` is RFC 3339 in UTC with `Z`, and only as many fractional digits as it
//!   needs (none, 3, 6 or 9).
//! - Ports are JSON numbers; a value that is not a port (0..=65535) is left out.
//!   Every other mapped field is a string (numbers such as `score` in their JSON text).
//! - `product` is filled only with `discover_network_devices`, and only from what the
//!   record says (`@fields.product`, then `@fields.vendor`); the appliance's own records
//!   name no product and get none.
//! - Identity (`id`): advanced search `_id`; breaches `pbid`; `/details` events
//!   `uid:eventType:timems`, or `pbid` for a policy-breach event (which has no `uid`);
//!   otherwise the lowercase hex SHA-1 of timestamp, src_ip, dest_ip, src_port,
//!   dest_port and signature, joined by U+001F (absent = empty).
//!
//! Speed: the field map is compiled once ([`Normalizer::new`]) and each record is walked
//! once for all fields ([`FieldMap::resolve`]); per record only the output strings are
//! allocated.

use serde::{Serialize, Serializer};
use serde_json::Value;
use sha1::{Digest, Sha1};
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::config::Config;
use crate::fieldmap::{value_text, Field, FieldMap, PathError};
use crate::results::SuspiciousReason;

/// `vendor` in every normalized event.
pub const VENDOR: &str = "Darktrace";

/// Event or alert (D9: alerts are model breaches and correlation-query hits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An event.
    Event,
    /// An alert.
    Alert,
}

impl Kind {
    /// `event` or `alert`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Event => "event",
            Kind::Alert => "alert",
        }
    }
}

/// Which API the record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Source {
    /// `/advancedsearch/api/search`.
    #[serde(rename = "advancedsearch")]
    AdvancedSearch,
    /// `/details`.
    #[serde(rename = "details")]
    Details,
    /// `/modelbreaches`.
    #[serde(rename = "modelbreaches")]
    ModelBreaches,
}

impl Source {
    /// The D11 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::AdvancedSearch => "advancedsearch",
            Source::Details => "details",
            Source::ModelBreaches => "modelbreaches",
        }
    }
}

/// One normalized record (D11).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NormalizedEvent {
    /// The D10 identity.
    pub id: String,
    /// Event or alert.
    pub kind: Kind,
    /// The API it came from.
    pub source: Source,
    /// The query's name, for advanced-search records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The record's time in our clock (after the event time adjustment).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_timestamp"
    )]
    pub timestamp: Option<OffsetDateTime>,
    /// Source IP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_ip: Option<String>,
    /// Destination IP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_ip: Option<String>,
    /// Source port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Destination port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    /// Protocol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Signature (rule or model name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Signature id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_id: Option<String>,
    /// Severity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// What the technology did, when the record says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Always `"Darktrace"`.
    pub vendor: &'static str,
    /// The technology that wrote the record (with `discover_network_devices`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Why the record was kept although it does not correlate (D10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspicious_reason: Option<SuspiciousReason>,
    /// The record as received.
    pub raw: Value,
}

fn serialize_timestamp<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(*t)),
        None => s.serialize_none(),
    }
}

/// RFC 3339 in UTC: `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z`.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let n = t.nanosecond();
    if n == 0 {
        format!("{base}Z")
    } else if n % 1_000_000 == 0 {
        format!("{base}.{:03}Z", n / 1_000_000)
    } else if n % 1_000 == 0 {
        format!("{base}.{:06}Z", n / 1_000)
    } else {
        format!("{base}.{n:09}Z")
    }
}

/// Epoch values at or above this (in magnitude) are milliseconds.
const MS_THRESHOLD: i128 = 100_000_000_000;

/// Reads `[-]digits[.digits]` exactly: (integer part, fraction in nanounits).
fn decimal(text: &str) -> Option<(i128, i128)> {
    let (neg, t) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() || int.len() > 20 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int: i128 = int.parse().ok()?;
    let mut f: i128 = 0;
    for i in 0..9 {
        f = f * 10 + frac.as_bytes().get(i).map_or(0, |b| i128::from(b - b'0'));
    }
    Some(if neg { (-int, -f) } else { (int, f) })
}

/// An epoch number written as text (seconds or ms, see the module doc), read exactly.
fn epoch(text: &str) -> Option<OffsetDateTime> {
    match decimal(text) {
        Some((int, frac)) => epoch_parts(int, frac),
        None => epoch_float(text.parse().ok()?),
    }
}

/// An epoch number given as a float, rounded to the microsecond.
fn epoch_float(f: f64) -> Option<OffsetDateTime> {
    if !f.is_finite() || f.abs() > 1e18 {
        return None;
    }
    let micros = if f.abs() >= MS_THRESHOLD as f64 {
        (f * 1e3).round()
    } else {
        (f * 1e6).round()
    };
    let micros = micros as i128;
    OffsetDateTime::from_unix_timestamp_nanos(micros * 1_000).ok()
}

/// An epoch value given as integer part and fraction (in nanounits, same sign).
fn epoch_parts(int: i128, frac: i128) -> Option<OffsetDateTime> {
    let nanos = if int.abs() >= MS_THRESHOLD {
        int * 1_000_000 + frac / 1_000
    } else {
        int * 1_000_000_000 + frac
    };
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

/// Reads a timestamp value (see the module doc), before the adjustment.
pub fn parse_timestamp(value: &Value) -> Option<OffsetDateTime> {
    match value {
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => epoch_parts(i128::from(i), 0),
            (None, Some(f)) => epoch_float(f),
            (None, None) => None,
        },
        Value::String(s) => {
            let s = s.trim();
            if s.starts_with(|c: char| c.is_ascii_digit() || c == '-') && decimal(s).is_some() {
                epoch(s)
            } else {
                dt_protocol::date::parse_time_param(s)
            }
        }
        _ => None,
    }
}

fn port(value: &Value) -> Option<u16> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .and_then(|p| u16::try_from(p).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s.trim().is_empty() => None,
        other => value_text(other),
    }
}

/// Turns records into [`NormalizedEvent`]s.
#[derive(Debug, Clone)]
pub struct Normalizer {
    map: FieldMap,
    event_time_adjustment: Duration,
    discover_network_devices: bool,
}

impl Normalizer {
    /// A normalizer with a compiled field map, E, and the product switch.
    pub fn new(
        map: FieldMap,
        event_time_adjustment: Duration,
        discover_network_devices: bool,
    ) -> Self {
        Normalizer {
            map,
            event_time_adjustment,
            discover_network_devices,
        }
    }

    /// From the settings: the default map with the user's `field_map` over it.
    pub fn from_config(config: &Config) -> Result<Self, PathError> {
        Ok(Normalizer::new(
            FieldMap::with_overrides(&config.field_map)?,
            config.event_time_adjustment,
            config.discover_network_devices,
        ))
    }

    /// The compiled field map.
    pub fn field_map(&self) -> &FieldMap {
        &self.map
    }

    /// Normalizes one record. `record` is the advanced-search hit (with `_id` and
    /// `_source`), the `/details` event or the breach object, as received; it becomes
    /// `raw`. `query` names the advanced-search query that returned it.
    pub fn normalize(
        &self,
        record: Value,
        source: Source,
        kind: Kind,
        query: Option<&str>,
    ) -> NormalizedEvent {
        let root = match (source, record.get("_source")) {
            (Source::AdvancedSearch, Some(s @ Value::Object(_))) => s,
            _ => &record,
        };
        let fields = self.map.resolve(root);
        let get = |f: Field| fields.get(f);
        let text = |f: Field| get(f).and_then(scalar_text);
        let timestamp = get(Field::Timestamp)
            .and_then(parse_timestamp)
            .and_then(|t| t.checked_add(self.event_time_adjustment));
        let mut event = NormalizedEvent {
            id: String::new(),
            kind,
            source,
            query: query.map(str::to_string),
            timestamp,
            src_ip: text(Field::SrcIp),
            dest_ip: text(Field::DestIp),
            src_port: get(Field::SrcPort).and_then(port),
            dest_port: get(Field::DestPort).and_then(port),
            protocol: text(Field::Protocol),
            host: text(Field::Host),
            description: text(Field::Description),
            signature: text(Field::Signature),
            signature_id: text(Field::SignatureId),
            severity: text(Field::Severity),
            action: text(Field::Action),
            vendor: VENDOR,
            product: if self.discover_network_devices {
                text(Field::Product)
            } else {
                None
            },
            suspicious_reason: None,
            raw: Value::Null,
        };
        event.id = vendor_identity(source, &record, root).unwrap_or_else(|| tuple_hash(&event));
        event.raw = record;
        event
    }
}

/// The vendor's identity for a record (D10), when it has one.
fn vendor_identity(source: Source, record: &Value, root: &Value) -> Option<String> {
    let field = |v: &Value, k: &str| v.get(k).and_then(scalar_text);
    match source {
        Source::AdvancedSearch => field(record, "_id"),
        Source::ModelBreaches => field(root, "pbid"),
        Source::Details => match field(root, "uid") {
            Some(uid) => Some(format!(
                "{uid}:{}:{}",
                field(root, "eventType").unwrap_or_default(),
                field(root, "timems").unwrap_or_default()
            )),
            None => field(root, "pbid"),
        },
    }
}

/// The fallback identity: SHA-1 over the normalized tuple (D10).
pub fn tuple_hash(e: &NormalizedEvent) -> String {
    let mut h = Sha1::new();
    let ts = e.timestamp.map(rfc3339).unwrap_or_default();
    let parts: [&str; 6] = [
        &ts,
        e.src_ip.as_deref().unwrap_or(""),
        e.dest_ip.as_deref().unwrap_or(""),
        &e.src_port.map(|p| p.to_string()).unwrap_or_default(),
        &e.dest_port.map(|p| p.to_string()).unwrap_or_default(),
        e.signature.as_deref().unwrap_or(""),
    ];
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update([0x1f]);
        }
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;
    use time::macros::datetime;

    fn normalizer() -> Normalizer {
        Normalizer::new(FieldMap::default(), Duration::ZERO, true)
    }

    fn hit() -> Value {
        json!({
            "_index": "logstash-vmprobe-2022.03.15", "_type": "doc", "_id": "AX-NRncogOn5vlEO2Z2B", "_score": null,
            "_source": {
                "@fields": {"epochdate": 1647342620.459522, "source_port": 62283, "host": "www.darktrace.com",
                            "uri": "/en/darktrace-antigena/", "dest_port": 80, "source_ip": "172.31.81.98",
                            "dest_ip": "104.20.203.23", "uid": "CSVt7v2rT7aukksv3e01", "proto": "tcp", "method": "GET"},
                "@type": "http", "@timestamp": "2022-03-15T11:10:20",
                "@message": "1647342620.4595\tCSVt7v2rT7aukksv3e01\t172.31.81.98\t62283\t104.20.203.23\t80",
                "@darktrace_probe": "1"
            },
            "sort": [1647342620000u64]
        })
    }

    fn third_party_hit() -> Value {
        json!({
            "_index": "logstash-syslog-2024.05.01", "_type": "doc", "_id": "tp-000001",
            "_source": {
                "@fields": {"src_ip": "10.0.0.1", "dest_ip": "10.0.0.2", "src_port": "51515", "dest_port": 443,
                            "host": "victim-1", "SyslogMessage": "TRAFFIC deny 10.0.0.1 -> 10.0.0.2:443",
                            "signature": "Block outbound TLS", "signature_id": 9001, "severity": "high",
                            "action": "blocked", "vendor": "Palo Alto Networks", "product": "PAN-OS"},
                "@type": "syslog", "@timestamp": "2024-05-01T12:00:30"
            }
        })
    }

    fn details_connection() -> Value {
        json!({
            "time": "2023-01-20 17:36:04", "timems": 1674236164739u64, "action": "connection",
            "eventType": "connection", "uid": "Cba4153qWfRKE3WqE201", "sdid": 1428, "ddid": 1562,
            "port": 53, "sourcePort": 35368, "destinationPort": 53, "direction": "out",
            "applicationprotocol": "DNS", "protocol": "UDP",
            "sourceDevice": {"id": 1428, "did": 1428, "ip": "192.168.1.6", "sid": 133, "time": "1644001729000"},
            "destinationDevice": {"id": 1562, "did": 1562, "ip": "192.168.1.2", "sid": 133},
            "source": "192.168.1.6", "destination": "192.168.1.2"
        })
    }

    fn breach() -> Value {
        json!({
            "creationTime": 1657748815000u64, "commentCount": 0, "pbid": 6, "score": 0.871, "time": 1657748808000u64,
            "model": {"then": {"name": "Device::Attack and Recon Tools", "pid": 135, "category": "Suspicious",
                               "description": "A device is using common penetration testing tools."},
                      "now": {"name": "Device::Attack and Recon Tools", "pid": 135}},
            "device": {"did": 7, "ip": "81.2.69.192", "sid": 1, "hostname": "localhost.local"},
            "breachUrl": "https://example.com/#modelbreach/6"
        })
    }

    #[test]
    fn d11_snapshot_advanced_search_appliance_log() {
        let e =
            normalizer().normalize(hit(), Source::AdvancedSearch, Kind::Event, Some("IP Query"));
        insta::assert_json_snapshot!("d11_advanced_search_appliance_log", e);
    }

    #[test]
    fn d11_snapshot_advanced_search_third_party_log() {
        let e = normalizer().normalize(
            third_party_hit(),
            Source::AdvancedSearch,
            Kind::Event,
            Some("IP Query"),
        );
        insta::assert_json_snapshot!("d11_advanced_search_third_party_log", e);
    }

    #[test]
    fn d11_snapshot_details_connection() {
        let e = normalizer().normalize(details_connection(), Source::Details, Kind::Event, None);
        insta::assert_json_snapshot!("d11_details_connection", e);
    }

    #[test]
    fn d11_snapshot_model_breach() {
        let e = normalizer().normalize(breach(), Source::ModelBreaches, Kind::Alert, None);
        insta::assert_json_snapshot!("d11_model_breach", e);
    }

    #[test]
    fn d11_absent_fields_omitted() {
        let e = normalizer().normalize(
            json!({"something": "else"}),
            Source::Details,
            Kind::Event,
            None,
        );
        let v = serde_json::to_value(&e).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["id", "kind", "source", "vendor", "raw"]);
        assert!(!serde_json::to_string(&e).unwrap().contains("null"));
        assert_eq!(v["vendor"], "Darktrace");
    }

    #[test]
    fn d11_field_order_is_the_decision_order() {
        let mut record = third_party_hit();
        record["_source"]["@fields"]["proto"] = json!("tcp");
        let e = normalizer().normalize(record, Source::AdvancedSearch, Kind::Event, Some("q"));
        let v = serde_json::to_value(&e).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "id",
                "kind",
                "source",
                "query",
                "timestamp",
                "src_ip",
                "dest_ip",
                "src_port",
                "dest_port",
                "protocol",
                "host",
                "description",
                "signature",
                "signature_id",
                "severity",
                "action",
                "vendor",
                "product",
                "raw"
            ]
        );
    }

    #[test]
    fn statement_20_epoch_seconds_and_ms_and_iso() {
        let cases: &[(Value, &str)] = &[
            (json!(1647342620.459522), "2022-03-15T11:10:20.459522Z"),
            (json!(1647342620), "2022-03-15T11:10:20Z"),
            (json!(1674236164739u64), "2023-01-20T17:36:04.739Z"),
            (json!("1644001729000"), "2022-02-04T19:08:49Z"),
            (json!("1647342620.5"), "2022-03-15T11:10:20.500Z"),
            (json!("2022-03-15T11:10:20"), "2022-03-15T11:10:20Z"),
            (json!("2023-01-20 17:36:05"), "2023-01-20T17:36:05Z"),
            (
                json!("2022-03-15T13:10:20.25+02:00"),
                "2022-03-15T11:10:20.250Z",
            ),
            (json!(1.6473426204e9), "2022-03-15T11:10:20.400Z"),
        ];
        for (v, want) in cases {
            let t = parse_timestamp(v).unwrap_or_else(|| panic!("{v}"));
            assert_eq!(rfc3339(t), *want, "{v}");
        }
        for bad in [
            json!("yesterday"),
            json!(true),
            json!("1e999999"),
            json!(-1e300),
        ] {
            assert_eq!(parse_timestamp(&bad), None, "{bad}");
        }
    }

    #[test]
    fn d7_event_time_adjustment_applies_to_timestamps() {
        for (e, want) in [
            (90i64, "2022-03-15T11:11:50.459522Z"),
            (-20, "2022-03-15T11:10:00.459522Z"),
            (0, "2022-03-15T11:10:20.459522Z"),
        ] {
            let n = Normalizer::new(FieldMap::default(), Duration::seconds(e), true);
            let ev = n.normalize(hit(), Source::AdvancedSearch, Kind::Event, None);
            assert_eq!(rfc3339(ev.timestamp.unwrap()), want, "E={e}");
        }
    }

    #[test]
    fn d11_product_only_with_discover_network_devices_and_only_when_the_record_says() {
        let on = normalizer();
        let off = Normalizer::new(FieldMap::default(), Duration::ZERO, false);
        let tp = on.normalize(third_party_hit(), Source::AdvancedSearch, Kind::Event, None);
        assert_eq!(tp.product.as_deref(), Some("PAN-OS"));
        assert_eq!(tp.vendor, "Darktrace");
        assert_eq!(
            off.normalize(third_party_hit(), Source::AdvancedSearch, Kind::Event, None)
                .product,
            None
        );
        assert_eq!(
            on.normalize(hit(), Source::AdvancedSearch, Kind::Event, None)
                .product,
            None
        );
    }

    #[test]
    fn d10_identity_per_shape() {
        let n = normalizer();
        assert_eq!(
            n.normalize(hit(), Source::AdvancedSearch, Kind::Event, None)
                .id,
            "AX-NRncogOn5vlEO2Z2B"
        );
        assert_eq!(
            n.normalize(breach(), Source::ModelBreaches, Kind::Alert, None)
                .id,
            "6"
        );
        assert_eq!(
            n.normalize(details_connection(), Source::Details, Kind::Event, None)
                .id,
            "Cba4153qWfRKE3WqE201:connection:1674236164739"
        );
        let pb = json!({"timems": 1674236165000u64, "pbid": 30859, "eventType": "policybreach", "name": "Device::X"});
        assert_eq!(
            n.normalize(pb, Source::Details, Kind::Event, None).id,
            "30859"
        );
    }

    #[test]
    fn d10_hash_identity_when_the_record_has_none() {
        let n = normalizer();
        let no_id = json!({"_source": {"@fields": {"epochdate": 1647342620, "source_ip": "10.0.0.1", "dest_ip": "10.0.0.2",
                                                    "source_port": 1, "dest_port": 2}, "@type": "conn"}});
        let a = n.normalize(no_id.clone(), Source::AdvancedSearch, Kind::Event, None);
        assert_eq!(a.id.len(), 40);
        assert!(a
            .id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        let mut expected = Sha1::new();
        expected.update(
            "2022-03-15T11:10:20Z\u{1f}10.0.0.1\u{1f}10.0.0.2\u{1f}1\u{1f}2\u{1f}conn".as_bytes(),
        );
        assert_eq!(a.id, hex::encode(expected.finalize()));
        // Same tuple, different unmapped columns: same identity.
        let mut other = no_id.clone();
        other["_source"]["@fields"]["extra"] = json!("x");
        assert_eq!(
            n.normalize(other, Source::AdvancedSearch, Kind::Event, None)
                .id,
            a.id
        );
        // A different tuple value: a different identity.
        let mut moved = no_id;
        moved["_source"]["@fields"]["dest_port"] = json!(3);
        assert_ne!(
            n.normalize(moved, Source::AdvancedSearch, Kind::Event, None)
                .id,
            a.id
        );
        // An empty `_id` is no identity.
        let empty = json!({"_id": "", "_source": {"@type": "conn"}});
        assert_eq!(
            n.normalize(empty, Source::AdvancedSearch, Kind::Event, None)
                .id
                .len(),
            40
        );
    }

    #[test]
    fn d11_ports_are_numbers_or_absent() {
        let n = Normalizer::new(
            FieldMap::with_overrides(&BTreeMap::from([
                (Field::SrcPort, vec!["a".to_string()]),
                (Field::DestPort, vec!["b".to_string()]),
            ]))
            .unwrap(),
            Duration::ZERO,
            true,
        );
        for (a, b, want) in [
            (json!("443"), json!(80.0), (Some(443), Some(80))),
            (json!(70000), json!("http"), (None, None)),
            (json!(-1), json!(0), (None, Some(0))),
        ] {
            let e = n.normalize(json!({"a": a, "b": b}), Source::Details, Kind::Event, None);
            assert_eq!((e.src_port, e.dest_port), want);
        }
    }

    #[test]
    fn d11_rfc3339_precision() {
        assert_eq!(
            rfc3339(datetime!(2024-05-01 12:00:00 UTC)),
            "2024-05-01T12:00:00Z"
        );
        assert_eq!(
            rfc3339(datetime!(2024-05-01 12:00:00.5 UTC)),
            "2024-05-01T12:00:00.500Z"
        );
        assert_eq!(
            rfc3339(datetime!(2024-05-01 12:00:00.000123 UTC)),
            "2024-05-01T12:00:00.000123Z"
        );
        assert_eq!(
            rfc3339(datetime!(2024-05-01 12:00:00.000000001 UTC)),
            "2024-05-01T12:00:00.000000001Z"
        );
        assert_eq!(
            rfc3339(datetime!(2024-05-01 14:00:00 +02:00)),
            "2024-05-01T12:00:00Z"
        );
    }

    #[test]
    fn d11_normalize_ten_thousand_records() {
        // Not a benchmark (debug build): checks the bulk path works and keeps `raw`.
        let n = normalizer();
        let records: Vec<Value> = (0..10_000)
            .map(|i| {
                let mut h = hit();
                h["_id"] = json!(format!("id-{i}"));
                h
            })
            .collect();
        let out: Vec<NormalizedEvent> = records
            .into_iter()
            .map(|r| n.normalize(r, Source::AdvancedSearch, Kind::Event, Some("IP Query")))
            .collect();
        assert_eq!(out.len(), 10_000);
        assert_eq!(out[9_999].id, "id-9999");
        assert_eq!(out[0].raw["_source"]["@type"], "http");
    }
}
