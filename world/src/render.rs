//! Advanced-search answers written straight to the appliance's 2-space JSON, without a
//! `Value` tree per hit. The envelope is written by hand; each hit goes through the
//! store's cache of written hits, and a hit not in it has its `_source` re-indented
//! from the stored text by [`crate::pretty`], its times patched exactly as
//! [`SearchStore::source_value`] patches them. A source the re-indenter refuses is
//! transcoded through serde here instead (`Transcode`). For sources without repeated
//! keys (every stored source: they are written from `Value`s or checked on load) the
//! bytes are those of pretty-printing the `Value` answer;
//! `tests::pretty_equals_value_rendering` checks it on every record, written afresh and
//! from the cache.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

use crate::clock;
use crate::pretty::{self, newline};
use crate::search::{epoch_value, push_json_str, Found, SearchStore};

/// Times to patch in the map being transcoded.
#[derive(Debug, Clone, Copy)]
enum Patch {
    /// Copy as is.
    None,
    /// A `_source`: `@timestamp`, `@message`'s first column, and `@fields` below.
    Source(i64),
    /// Its `@fields`: `epochdate`.
    Fields(i64),
}

/// One JSON value streamed from a deserializer into a serializer.
struct Transcode<D>(Cell<Option<D>>, Patch);

impl<D> Transcode<D> {
    fn new(d: D, patch: Patch) -> Self {
        Transcode(Cell::new(Some(d)), patch)
    }
}

impl<'de, D: Deserializer<'de>> Serialize for Transcode<D> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self
            .0
            .take()
            .ok_or_else(|| ser::Error::custom("a value is transcoded once"))?;
        d.deserialize_any(Forward { s, patch: self.1 })
            .map_err(ser::Error::custom)
    }
}

struct Forward<S> {
    s: S,
    patch: Patch,
}

fn de_err<E: de::Error>(e: impl fmt::Display) -> E {
    E::custom(e)
}

impl<'de, S: Serializer> Visitor<'de> for Forward<S> {
    type Value = S::Ok;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<S::Ok, E> {
        self.s.serialize_bool(v).map_err(de_err)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<S::Ok, E> {
        self.s.serialize_i64(v).map_err(de_err)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<S::Ok, E> {
        self.s.serialize_u64(v).map_err(de_err)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<S::Ok, E> {
        // As `Value` does: a non-finite float is null.
        if v.is_finite() {
            self.s.serialize_f64(v).map_err(de_err)
        } else {
            self.s.serialize_unit().map_err(de_err)
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<S::Ok, E> {
        self.s.serialize_str(v).map_err(de_err)
    }
    fn visit_unit<E: de::Error>(self) -> Result<S::Ok, E> {
        self.s.serialize_unit().map_err(de_err)
    }
    fn visit_none<E: de::Error>(self) -> Result<S::Ok, E> {
        self.s.serialize_unit().map_err(de_err)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<S::Ok, A::Error> {
        let mut out = self.s.serialize_seq(None).map_err(de_err)?;
        while seq.next_element_seed(Element(&mut out))?.is_some() {}
        out.end().map_err(de_err)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<S::Ok, A::Error> {
        let mut out = self.s.serialize_map(None).map_err(de_err)?;
        match self.patch {
            Patch::None => {
                while map.next_key_seed(Key(&mut out))?.is_some() {
                    map.next_value_seed(Val(&mut out, Patch::None))?;
                }
            }
            Patch::Source(us) => {
                while let Some(k) = map.next_key_seed(KeyText)? {
                    out.serialize_key(k.as_ref()).map_err(de_err)?;
                    match k.as_ref() {
                        "@timestamp" => {
                            map.next_value::<IgnoredAny>()?;
                            let t = clock::iso_secs(us.div_euclid(1_000));
                            out.serialize_value(&t).map_err(de_err)?;
                        }
                        "@message" => {
                            let mut v: Value = map.next_value()?;
                            if let Value::String(msg) = &mut v {
                                let first = msg.split('\t').next().unwrap_or("");
                                if first.parse::<f64>().is_ok() {
                                    let rest = msg[first.len()..].to_string();
                                    *msg = clock::epoch_message_column(us) + &rest;
                                }
                            }
                            out.serialize_value(&v).map_err(de_err)?;
                        }
                        "@fields" => map.next_value_seed(Val(&mut out, Patch::Fields(us)))?,
                        _ => map.next_value_seed(Val(&mut out, Patch::None))?,
                    }
                }
            }
            Patch::Fields(us) => {
                while let Some(k) = map.next_key_seed(KeyText)? {
                    out.serialize_key(k.as_ref()).map_err(de_err)?;
                    if k == "epochdate" {
                        map.next_value::<IgnoredAny>()?;
                        out.serialize_value(&epoch_value(us)).map_err(de_err)?;
                    } else {
                        map.next_value_seed(Val(&mut out, Patch::None))?;
                    }
                }
            }
        }
        out.end().map_err(de_err)
    }
}

struct Element<'a, S>(&'a mut S);

impl<'de, S: SerializeSeq> DeserializeSeed<'de> for Element<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0
            .serialize_element(&Transcode::new(d, Patch::None))
            .map_err(de_err)
    }
}

struct Key<'a, M>(&'a mut M);

impl<'de, M: SerializeMap> DeserializeSeed<'de> for Key<'_, M> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0
            .serialize_key(&Transcode::new(d, Patch::None))
            .map_err(de_err)
    }
}

struct Val<'a, M>(&'a mut M, Patch);

impl<'de, M: SerializeMap> DeserializeSeed<'de> for Val<'_, M> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0
            .serialize_value(&Transcode::new(d, self.1))
            .map_err(de_err)
    }
}

/// A map key as text, borrowed when it has no escapes.
struct KeyText;

impl<'de> DeserializeSeed<'de> for KeyText {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// The `_index` of a hit, as a JSON string: `"logstash-<probe>-YYYY.MM.DD"`.
fn push_index_name(out: &mut Vec<u8>, store: &SearchStore, id: u32) {
    let probe = store.probe_name(id);
    if !probe.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        push_json_str(out, &store.index_name(id));
        return;
    }
    out.extend_from_slice(b"\"logstash-");
    out.extend_from_slice(probe.as_bytes());
    out.push(b'-');
    clock::push_layout(out, store.record(id).time_ms(), b"YYYY.MM.DD");
    out.push(b'"');
}

/// A hit (as [`SearchStore::hit`] builds it) written at depth 3, the depth of
/// `hits.hits[i]` in the envelope.
fn write_hit(out: &mut Vec<u8>, store: &SearchStore, id: u32) {
    let rec = store.record(id);
    out.push(b'{');
    newline(out, 4);
    out.extend_from_slice(b"\"_index\": ");
    push_index_name(out, store, id);
    out.push(b',');
    newline(out, 4);
    out.extend_from_slice(b"\"_type\": \"doc\",");
    newline(out, 4);
    out.extend_from_slice(b"\"_id\": ");
    let id_text = rec.id();
    if id_text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        out.push(b'"');
        out.extend_from_slice(id_text.as_bytes());
        out.push(b'"');
    } else {
        push_json_str(out, id_text);
    }
    out.push(b',');
    newline(out, 4);
    out.extend_from_slice(b"\"_score\": null,");
    newline(out, 4);
    out.extend_from_slice(b"\"_source\": ");
    let patch = (!rec.text_current).then_some(rec.time_us());
    if !pretty::write_source(out, &rec.source, 4, patch) {
        write_source_by_serde(out, rec);
    }
    out.push(b',');
    newline(out, 4);
    out.extend_from_slice(b"\"sort\": [");
    newline(out, 5);
    out.extend_from_slice(rec.time_ms().to_string().as_bytes());
    newline(out, 4);
    out.push(b']');
    newline(out, 3);
    out.push(b'}');
}

/// The serde path for a source the fast path refused: transcoded at depth 0, then
/// indented to depth 4 (serde's pretty output has no newline inside a string).
fn write_source_by_serde(out: &mut Vec<u8>, rec: &crate::search::SearchRecord) {
    let mut de = serde_json::Deserializer::from_str(&rec.source);
    let mut text = Vec::new();
    let r = serde_json::to_writer_pretty(
        &mut text,
        &Transcode::new(&mut de, Patch::Source(rec.time_us())),
    );
    if r.is_err() {
        // Unreachable for stored sources (valid JSON); keep the answer well-formed.
        out.extend_from_slice(b"null");
        return;
    }
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            newline(out, 4);
        }
        out.extend_from_slice(line);
    }
}

/// The advanced-search answer for a page of hits, written as the appliance prints
/// it (2-space indent): the same bytes as pretty-printing
/// `api::search::envelope_with(found, hits, from_ms, to_ms)`.
pub(crate) fn pretty_answer(
    store: &SearchStore,
    found: &Found,
    page: &[u32],
    from_ms: i64,
    to_ms: i64,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024 + page.len() * 1536);
    out.extend_from_slice(b"{\n  \"took\": ");
    out.extend_from_slice((1 + found.examined / 5_000).to_string().as_bytes());
    out.extend_from_slice(
        b",\n  \"timed_out\": false,\n  \"_shards\": {\n    \"total\": 2,\n    \"successful\": 2,\n    \"skipped\": 0,\n    \"failed\": 0\n  },\n  \"hits\": {\n    \"total\": ",
    );
    out.extend_from_slice(found.ids.len().to_string().as_bytes());
    out.extend_from_slice(b",\n    \"max_score\": null,\n    \"hits\": ");
    if page.is_empty() {
        out.extend_from_slice(b"[]");
    } else {
        out.push(b'[');
        for (i, &id) in page.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            newline(&mut out, 3);
            store
                .hits
                .write(&mut out, id, |out| write_hit(out, store, id));
        }
        newline(&mut out, 2);
        out.push(b']');
    }
    out.extend_from_slice(
        b"\n  },\n  \"darktraceChildError\": \"\",\n  \"kibana\": {\n    \"index\": ",
    );
    let days = crate::api::search::index_days(from_ms, to_ms);
    if days.is_empty() {
        out.extend_from_slice(b"[]");
    } else {
        out.push(b'[');
        for (i, day) in days.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            newline(&mut out, 3);
            push_json_str(&mut out, day);
        }
        newline(&mut out, 2);
        out.push(b']');
    }
    out.extend_from_slice(b",\n    \"per_page\": 50,\n    \"time\": {\n      \"from\": \"");
    out.extend_from_slice(clock::iso_millis(from_ms).as_bytes());
    out.extend_from_slice(b"\",\n      \"to\": \"");
    out.extend_from_slice(clock::iso_millis(to_ms).as_bytes());
    out.extend_from_slice(
        b"\"\n    },\n    \"default_fields\": [\n      \"@type\",\n      \"@message\"\n    ]\n  }\n}",
    );
    out
}

#[cfg(test)]
mod tests {
    use crate::api::search::{advanced_search_json, advanced_search_json_pretty};
    use crate::testutil::{small_world, ANCHOR};
    use serde_json::json;

    #[test]
    fn pretty_equals_value_rendering() {
        let w = small_world();
        // Every record, shifted (times patched) and not.
        for anchor in [ANCHOR, ANCHOR + 3_600_000] {
            let mut shifted = w.clone();
            shifted.shift(anchor - ANCHOR);
            let world = &shifted;
            let q = json!({"search": "", "timeframe": "custom", "size": 10000,
                "time": {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}})
            .to_string();
            let v = advanced_search_json(world, q.as_bytes(), anchor).unwrap();
            assert!(v["hits"]["hits"].as_array().unwrap().len() > 1_000);
            let want = serde_json::to_vec_pretty(&v).unwrap();
            // Written afresh, then from the hit cache.
            for pass in ["fresh", "cached"] {
                let got = advanced_search_json_pretty(world, q.as_bytes(), anchor).unwrap();
                assert!(
                    got == want,
                    "{pass} pretty rendering differs from the Value rendering"
                );
            }
            assert_eq!(world.search().hits.len(), world.search().len());
        }
        // A bad custom range and an empty page.
        for q in [
            json!({"timeframe": "custom", "time": {"from": "x"}}),
            json!({"search": "@fields.src_ip:\"203.0.113.250\"", "timeframe": 60}),
        ] {
            let q = q.to_string();
            let v = advanced_search_json(w, q.as_bytes(), ANCHOR).unwrap();
            let got = advanced_search_json_pretty(w, q.as_bytes(), ANCHOR).unwrap();
            assert_eq!(got, serde_json::to_vec_pretty(&v).unwrap());
        }
    }

    #[test]
    fn shifting_the_world_forgets_the_written_hits() {
        let mut world = small_world().clone();
        let q = json!({"search": "", "timeframe": "custom", "size": 10000,
            "time": {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}})
        .to_string();
        let before = advanced_search_json_pretty(&world, q.as_bytes(), ANCHOR).unwrap();
        assert!(world.search().hits.len() > 1_000);
        world.shift(90_000);
        assert_eq!(world.search().hits.len(), 0);
        let v = advanced_search_json(&world, q.as_bytes(), ANCHOR).unwrap();
        let after = advanced_search_json_pretty(&world, q.as_bytes(), ANCHOR).unwrap();
        assert_eq!(after, serde_json::to_vec_pretty(&v).unwrap());
        assert_ne!(after, before);
    }
}
