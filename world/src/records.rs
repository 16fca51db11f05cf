//! Building advanced-search records and deterministic identifiers.
//!
//! The generator writes `_source` texts directly (a million `Value` trees would take
//! seconds), so this module is the one place that knows the layout:
//! `{"@fields":{"epochdate":…,…},"@type":…,"@timestamp":…,"@message":…,"@darktrace_probe":"1"}`
//! with `@message` the tab-joined `@fields` values (epochdate with four decimals). The
//! text is byte-identical to serde_json's compact output of the same object, which a
//! test pins, so a generated record can be written out without re-rendering.

use serde_json::Value;

use crate::clock;
use crate::search::{push_json_str, RecordInput, RecordSink, ID_LEN};

/// A field value for [`build_source`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fv<'a> {
    S(&'a str),
    U(u64),
    F(f64),
    B(bool),
    L(&'a [&'a str]),
    F64s(&'a [f64]),
    J(&'a Value),
}

impl Fv<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        match *self {
            Fv::S(s) => push_json_str(out, s),
            Fv::U(u) => out.extend_from_slice(u.to_string().as_bytes()),
            Fv::F(f) => write_f64(out, f),
            Fv::B(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            Fv::L(items) => {
                out.push(b'[');
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    push_json_str(out, s);
                }
                out.push(b']');
            }
            Fv::F64s(items) => {
                out.push(b'[');
                for (i, f) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_f64(out, *f);
                }
                out.push(b']');
            }
            Fv::J(v) => serde_json::to_writer(&mut *out, v).expect("writing to a Vec cannot fail"),
        }
    }

    /// The value as a column of `@message`: strings raw, lists as `[a,b]`.
    fn write_message(&self, msg: &mut String) {
        match *self {
            Fv::S(s) => msg.push_str(s),
            Fv::U(u) => msg.push_str(&u.to_string()),
            Fv::F(f) => msg.push_str(&f64_text(f)),
            Fv::B(b) => msg.push_str(if b { "true" } else { "false" }),
            Fv::L(items) => {
                msg.push('[');
                msg.push_str(&items.join(","));
                msg.push(']');
            }
            Fv::F64s(items) => {
                msg.push('[');
                msg.push_str(
                    &items
                        .iter()
                        .map(|f| f64_text(*f))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                msg.push(']');
            }
            Fv::J(v) => message_value(v, msg),
        }
    }
}

fn message_value(v: &Value, msg: &mut String) {
    match v {
        Value::String(s) => msg.push_str(s),
        Value::Null => msg.push('-'),
        Value::Array(items) => {
            msg.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    msg.push(',');
                }
                message_value(item, msg);
            }
            msg.push(']');
        }
        other => msg.push_str(&other.to_string()),
    }
}

fn f64_text(f: f64) -> String {
    serde_json::Number::from_f64(f).map_or_else(|| "null".to_string(), |n| n.to_string())
}

fn write_f64(out: &mut Vec<u8>, f: f64) {
    out.extend_from_slice(f64_text(f).as_bytes());
}

/// Builds a compact `_source` text. `fields` must not contain `epochdate`: it is
/// always first and always rendered from `time_us`.
pub(crate) fn build_source(time_us: i64, ty: &str, fields: &[(&str, Fv<'_>)]) -> String {
    let mut out = Vec::with_capacity(160 + fields.len() * 40);
    let mut msg = String::with_capacity(64 + fields.len() * 24);
    msg.push_str(&clock::epoch_message_column(time_us));
    out.extend_from_slice(b"{\"@fields\":{\"epochdate\":");
    write_f64(&mut out, clock::epoch_seconds(time_us));
    for (k, v) in fields {
        out.push(b',');
        push_json_str(&mut out, k);
        out.push(b':');
        v.write_json(&mut out);
        msg.push('\t');
        v.write_message(&mut msg);
    }
    out.extend_from_slice(b"},\"@type\":");
    push_json_str(&mut out, ty);
    out.extend_from_slice(b",\"@timestamp\":");
    push_json_str(&mut out, &clock::iso_secs(time_us.div_euclid(1_000)));
    out.extend_from_slice(b",\"@message\":");
    push_json_str(&mut out, &msg);
    out.extend_from_slice(b",\"@darktrace_probe\":\"1\"}");
    String::from_utf8(out).expect("built from UTF-8 pieces")
}

/// The indexed values of a field list, in [`crate::search::INDEXED_FIELDS`] order.
pub(crate) fn indexed_values<'a>(ty: &'a str, fields: &[(&str, Fv<'a>)]) -> [Option<&'a str>; 5] {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| match *v {
                Fv::S(s) => Some(s),
                Fv::J(Value::String(s)) => Some(s.as_str()),
                _ => None,
            })
    };
    [
        get("src_ip"),
        get("dest_ip"),
        get("source_ip"),
        get("host"),
        Some(ty),
    ]
}

/// Builds a complete record and hands it to `sink`.
pub(crate) fn record(
    sink: &mut dyn RecordSink,
    time_us: i64,
    seq: u64,
    probe: &str,
    ty: &str,
    fields: &[(&str, Fv<'_>)],
) {
    sink.accept(RecordInput {
        time_us,
        id: search_id(seq),
        probe,
        text_current: true,
        vals: indexed_values(ty, fields),
        source: build_source(time_us, ty, fields).into_boxed_str(),
    });
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A bijection on u64, so distinct sequence numbers give distinct identifiers that
/// still look random.
fn scramble(mut x: u64) -> u64 {
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 32)
}

fn mix(x: u64) -> u64 {
    scramble(x ^ 0xD1B5_4A32_D192_ED03)
}

/// The 20-character `_id` (Elasticsearch style, URL-safe alphabet) for a sequence
/// number. Unique per sequence number: the last 11 characters encode a bijection of it.
pub(crate) fn search_id(seq: u64) -> [u8; ID_LEN] {
    let mut id = [0u8; ID_LEN];
    let mut head = mix(seq);
    for b in id.iter_mut().take(9) {
        *b = B64URL[(head & 63) as usize];
        head >>= 6;
    }
    let mut tail = scramble(seq);
    for b in id.iter_mut().skip(9) {
        *b = B64URL[(tail & 63) as usize];
        tail >>= 6;
    }
    id
}

/// A Zeek-style connection uid (`C` + 17 characters + `01`), unique per sequence number.
pub(crate) fn conn_uid(seq: u64) -> String {
    let mut s = String::with_capacity(20);
    s.push('C');
    let mut head = mix(seq);
    for _ in 0..6 {
        s.push(B62[(head % 62) as usize] as char);
        head /= 62;
    }
    let mut tail = scramble(seq);
    for _ in 0..11 {
        s.push(B62[(tail % 62) as usize] as char);
        tail /= 62;
    }
    s.push_str("01");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn built_source_is_serde_compact_output_with_rendered_times() {
        let answers = ["203.0.113.10"];
        let v = serde_json::json!({"a": [1, "x"]});
        let fields = [
            ("uid", Fv::S("CabcdefABCDEFGHIJK01")),
            ("source_ip", Fv::S("10.10.2.15")),
            ("source_port", Fv::U(51_234)),
            ("duration", Fv::F(1.25)),
            ("local_orig", Fv::B(true)),
            ("answers", Fv::L(&answers)),
            ("TTLs", Fv::F64s(&[300.0])),
            ("note", Fv::S("quote \" and tab \t")),
            ("raw", Fv::J(&v)),
        ];
        let text = build_source(1_714_564_800_123_456, "dns", &fields);
        let mut parsed: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), text);
        crate::search::patch_times(&mut parsed, 1_714_564_800_123_456);
        assert_eq!(
            serde_json::to_string(&parsed).unwrap(),
            text,
            "times are already rendered"
        );
        assert_eq!(parsed["@timestamp"], "2024-05-01T12:00:00");
        assert_eq!(
            parsed["@message"],
            "1714564800.1235\tCabcdefABCDEFGHIJK01\t10.10.2.15\t51234\t1.25\ttrue\t[203.0.113.10]\t[300.0]\tquote \" and tab \t\t{\"a\":[1,\"x\"]}"
        );
        let vals = indexed_values("dns", &fields);
        assert_eq!(vals[2], Some("10.10.2.15"));
        assert_eq!(vals[4], Some("dns"));
    }

    #[test]
    fn identifiers_are_unique_and_well_formed() {
        let mut ids = HashSet::new();
        let mut uids = HashSet::new();
        for seq in 0..20_000u64 {
            let id = search_id(seq);
            assert!(id.iter().all(|b| B64URL.contains(b)));
            assert!(ids.insert(id));
            let uid = conn_uid(seq);
            assert_eq!(uid.len(), 20);
            assert!(uid.starts_with('C') && uid.ends_with("01"));
            assert!(uids.insert(uid));
        }
    }
}
