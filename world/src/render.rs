//! Advanced-search answers written straight to the appliance's 2-space JSON, without a
//! `Value` tree per hit: each `_source` is transcoded from its stored text to the
//! output, its times patched on the way exactly as [`SearchStore::source_value`]
//! patches them. For sources without repeated keys (every stored source: they are
//! written from `Value`s or checked on load) the bytes are those of pretty-printing
//! the `Value` answer; `tests::pretty_equals_value_rendering` checks it on every record.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

use crate::clock;
use crate::search::{epoch_value, SearchStore};

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

/// A hit, as [`SearchStore::hit`] builds it.
struct Hit<'a> {
    store: &'a SearchStore,
    id: u32,
}

impl Serialize for Hit<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rec = self.store.record(self.id);
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("_index", &self.store.index_name(self.id))?;
        m.serialize_entry("_type", "doc")?;
        m.serialize_entry("_id", rec.id())?;
        m.serialize_entry("_score", &())?;
        let mut de = serde_json::Deserializer::from_str(&rec.source);
        m.serialize_entry(
            "_source",
            &Transcode::new(&mut de, Patch::Source(rec.time_us())),
        )?;
        m.serialize_entry("sort", &[rec.time_ms()])?;
        m.end()
    }
}

struct Hits<'a>(&'a SearchStore, &'a [u32]);

impl Serialize for Hits<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.1.len()))?;
        for &id in self.1 {
            seq.serialize_element(&Hit { store: self.0, id })?;
        }
        seq.end()
    }
}

/// An object whose `hits` member (an object) gets `hits` = the page.
struct WithHits<'a> {
    obj: &'a Map<String, Value>,
    store: &'a SearchStore,
    page: &'a [u32],
    /// Depth: 0 = the envelope, 1 = its `hits` object.
    depth: u8,
}

impl Serialize for WithHits<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.obj.len()))?;
        for (k, v) in self.obj {
            match (self.depth, k.as_str(), v) {
                (0, "hits", Value::Object(inner)) => m.serialize_entry(
                    k,
                    &WithHits {
                        obj: inner,
                        store: self.store,
                        page: self.page,
                        depth: 1,
                    },
                )?,
                (1, "hits", _) => m.serialize_entry(k, &Hits(self.store, self.page))?,
                _ => m.serialize_entry(k, v)?,
            }
        }
        m.end()
    }
}

/// Writes `envelope` (whose `hits.hits` is a placeholder) with the page's hits, as the
/// appliance prints it (2-space indent).
pub(crate) fn pretty_envelope(envelope: &Value, store: &SearchStore, page: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024 + page.len() * 1536);
    let r = match envelope {
        Value::Object(obj) => serde_json::to_writer_pretty(
            &mut out,
            &WithHits {
                obj,
                store,
                page,
                depth: 0,
            },
        ),
        other => serde_json::to_writer_pretty(&mut out, other),
    };
    if r.is_err() {
        // Unreachable for stored sources (valid JSON); keep the answer well-formed.
        out = b"{}".to_vec();
    }
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
            let got = advanced_search_json_pretty(world, q.as_bytes(), anchor).unwrap();
            assert!(
                got == want,
                "pretty rendering differs from the Value rendering"
            );
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
}
