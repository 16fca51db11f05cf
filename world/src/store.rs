//! Reading and writing worlds as directories (format in `fixtures/worlds/README.md`),
//! and the default world compiled into the binary.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Cursor, Read, Write};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::gen::{generate, GenParams};
use crate::model::{Breach, Connection, Device, Model, Tag};
use crate::search::{probe_of_index, source_keys, StoreBuilder, ID_LEN};
use crate::world::{Meta, World, WorldError};

/// The files of a world directory, in writing order.
pub const FILES: [&str; 7] = [
    "world.json",
    "tags.json",
    "devices.json",
    "models.json",
    "breaches.json",
    "connections.jsonl",
    "search.jsonl",
];

/// The generator parameters of the checked-in default world (`fixtures/worlds/default`).
pub const DEFAULT_PARAMS: GenParams = GenParams {
    devices: 50,
    records: 3_000,
    seed: 0x00D7_5EED,
    // 2024-05-01 12:00:00 UTC
    anchor_ms: 1_714_564_800_000,
};

const EMBEDDED: [(&str, &str); 7] = [
    (
        "world.json",
        include_str!("../../fixtures/worlds/default/world.json"),
    ),
    (
        "tags.json",
        include_str!("../../fixtures/worlds/default/tags.json"),
    ),
    (
        "devices.json",
        include_str!("../../fixtures/worlds/default/devices.json"),
    ),
    (
        "models.json",
        include_str!("../../fixtures/worlds/default/models.json"),
    ),
    (
        "breaches.json",
        include_str!("../../fixtures/worlds/default/breaches.json"),
    ),
    (
        "connections.jsonl",
        include_str!("../../fixtures/worlds/default/connections.jsonl"),
    ),
    (
        "search.jsonl",
        include_str!("../../fixtures/worlds/default/search.jsonl"),
    ),
];

/// Writes the default world (generated from [`DEFAULT_PARAMS`]) into `dir`; this is how
/// `fixtures/worlds/default` is produced.
pub fn write_default_fixture(dir: &Path) -> Result<(), WorldError> {
    generate(&DEFAULT_PARAMS).write_dir(dir)
}

type Opener<'a> = dyn FnMut(&str) -> Result<Box<dyn BufRead + 'a>, WorldError> + 'a;

impl World {
    /// Loads a world directory. With `anchor_ms`, every time is shifted so that the
    /// world's 24 hours end there; without, the stored anchor is kept.
    pub fn load_dir(dir: &Path, anchor_ms: Option<i64>) -> Result<World, WorldError> {
        let mut open = |name: &str| -> Result<Box<dyn BufRead>, WorldError> {
            let path = dir.join(name);
            let f = File::open(&path).map_err(|e| io_err(&path, e))?;
            Ok(Box::new(BufReader::with_capacity(1 << 20, f)))
        };
        load(&mut open, anchor_ms)
    }

    /// The default world, compiled in, anchored at `anchor_ms` (or its stored anchor).
    pub fn default_world(anchor_ms: Option<i64>) -> World {
        let mut open = |name: &str| -> Result<Box<dyn BufRead>, WorldError> {
            let text = EMBEDDED
                .iter()
                .find(|(n, _)| *n == name)
                .map_or("", |(_, t)| t);
            Ok(Box::new(Cursor::new(text.as_bytes())))
        };
        load(&mut open, anchor_ms).expect("the embedded default world is valid (pinned by tests)")
    }

    /// Writes the world as a directory (created if missing), anchored where it is now.
    pub fn write_dir(&self, dir: &Path) -> Result<(), WorldError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        for name in FILES {
            let path = dir.join(name);
            let f = File::create(&path).map_err(|e| io_err(&path, e))?;
            let mut w = BufWriter::with_capacity(1 << 20, f);
            self.write_file(name, &mut w)
                .and_then(|()| w.flush())
                .map_err(|e| io_err(&path, e))?;
        }
        Ok(())
    }

    /// Writes one of [`FILES`].
    pub fn write_file(&self, name: &str, w: &mut dyn Write) -> std::io::Result<()> {
        fn pretty<T: Serialize + ?Sized>(w: &mut dyn Write, v: &T) -> std::io::Result<()> {
            serde_json::to_writer_pretty(&mut *w, v)?;
            w.write_all(b"\n")
        }
        match name {
            "world.json" => pretty(w, &self.meta()),
            "tags.json" => pretty(w, &self.tags),
            "devices.json" => pretty(w, &self.devices),
            "models.json" => pretty(w, &self.models),
            "breaches.json" => pretty(w, &self.breaches),
            "connections.jsonl" => {
                let mut conns: Vec<&Connection> = self.connections.iter().collect();
                conns.sort_by(|a, b| (a.time_ms, &a.uid).cmp(&(b.time_ms, &b.uid)));
                for c in conns {
                    serde_json::to_writer(&mut *w, c)?;
                    w.write_all(b"\n")?;
                }
                Ok(())
            }
            "search.jsonl" => {
                let mut line = Vec::with_capacity(1024);
                for &id in self.search.ids_by_time() {
                    line.clear();
                    self.search.write_hit_line(id, &mut line);
                    line.push(b'\n');
                    w.write_all(&line)?;
                }
                Ok(())
            }
            other => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no world file {other}"),
            )),
        }
    }
}

fn io_err(path: &Path, source: std::io::Error) -> WorldError {
    WorldError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn parse_err(file: &str, line: Option<usize>, message: impl ToString) -> WorldError {
    WorldError::Parse {
        file: file.to_string(),
        line,
        message: message.to_string(),
    }
}

fn read_json<T: DeserializeOwned>(open: &mut Opener<'_>, name: &str) -> Result<T, WorldError> {
    serde_json::from_reader(open(name)?).map_err(|e| parse_err(name, None, e))
}

/// Bytes per chunk handed to a parsing thread (cut at a line end); tiny in tests so
/// that the fixtures span many chunks.
const CHUNK_BYTES: u64 = if cfg!(test) { 4 << 10 } else { 4 << 20 };

/// Parsing threads: `DT_WORLD_LOAD_THREADS` if set, else the available cores (at most 4).
fn load_threads() -> usize {
    std::env::var("DT_WORLD_LOAD_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 4)
}

/// A line's position when parsing failed: (chunk, line within the chunk, message).
type LineError = (usize, usize, String);

/// Parses a JSON-lines file on every core: this thread reads chunks cut at line ends,
/// workers parse each chunk into a fresh accumulator, and the accumulators come back in
/// file order (so a time-sorted file stays sorted without re-sorting). Blank lines are
/// skipped; an error names the file and the line.
fn par_lines<T, I, F>(
    open: &mut Opener<'_>,
    name: &str,
    init: I,
    f: F,
) -> Result<Vec<T>, WorldError>
where
    T: Send,
    I: Fn() -> T + Sync,
    F: Fn(&mut T, &str) -> Result<(), String> + Sync,
{
    let workers = load_threads();
    let mut reader = open(name)?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<u8>)>(workers * 2);
    let rx = std::sync::Mutex::new(rx);
    let worker = || {
        let mut done: Vec<(usize, usize, T)> = Vec::new();
        let mut error: Option<LineError> = None;
        loop {
            let next = rx.lock().map(|r| r.recv());
            let Ok(Ok((index, data))) = next else { break };
            if error.is_some() {
                continue; // keep draining so the reader never blocks
            }
            let mut acc = init();
            let mut n = 0;
            let mut segments = data.split(|b| *b == b'\n').peekable();
            while let Some(seg) = segments.next() {
                if seg.is_empty() && segments.peek().is_none() {
                    break;
                }
                n += 1;
                let result = std::str::from_utf8(seg)
                    .map_err(|e| e.to_string())
                    .and_then(|line| {
                        let line = line.trim_end_matches('\r');
                        if line.trim().is_empty() {
                            Ok(())
                        } else {
                            f(&mut acc, line)
                        }
                    });
                if let Err(m) = result {
                    error = Some((index, n, m));
                    break;
                }
            }
            done.push((index, n, acc));
        }
        (done, error)
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers).map(|_| scope.spawn(worker)).collect();
        let mut read_error = None;
        for index in 0.. {
            let mut data = Vec::with_capacity(CHUNK_BYTES as usize + 4096);
            let read = (&mut reader)
                .take(CHUNK_BYTES)
                .read_to_end(&mut data)
                .and_then(|_| {
                    if data.last().is_some_and(|b| *b != b'\n') {
                        reader.read_until(b'\n', &mut data)
                    } else {
                        Ok(0)
                    }
                });
            if let Err(e) = read {
                read_error = Some(parse_err(name, None, e));
                break;
            }
            if data.is_empty() || tx.send((index, data)).is_err() {
                break;
            }
        }
        drop(tx);
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("parser thread panicked"))
            .collect();
        if let Some(e) = read_error {
            return Err(e);
        }
        let first_error = results
            .iter()
            .filter_map(|r| r.1.as_ref())
            .min_by_key(|(c, l, _)| (*c, *l));
        if let Some((chunk, line, message)) = first_error {
            let before: usize = results
                .iter()
                .flat_map(|r| &r.0)
                .filter(|(c, _, _)| c < chunk)
                .map(|(_, n, _)| n)
                .sum();
            return Err(parse_err(name, Some(before + line), message));
        }
        let mut chunks: Vec<(usize, usize, T)> = results.into_iter().flat_map(|r| r.0).collect();
        chunks.sort_unstable_by_key(|c| c.0);
        Ok(chunks.into_iter().map(|c| c.2).collect())
    })
}

#[derive(Deserialize)]
struct HitLine<'a> {
    #[serde(rename = "_index", borrow)]
    index: Cow<'a, str>,
    #[serde(rename = "_id", borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "_source", borrow, deserialize_with = "raw_text")]
    source: &'a str,
}

fn raw_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'de str, D::Error> {
    <&RawValue>::deserialize(d).map(RawValue::get)
}

/// Splits a line in exactly the layout [`World::write_file`] produces without a JSON
/// pass (half the loading work); `None` sends other layouts through serde. The source
/// text is still fully parsed (and so validated) by `source_keys`, which rejects
/// anything trailing it.
fn split_written_hit(line: &str) -> Option<HitLine<'_>> {
    let rest = line.strip_prefix("{\"_index\":\"")?;
    let (index, rest) = rest.split_once('"')?;
    let rest = rest.strip_prefix(",\"_type\":\"doc\",\"_id\":\"")?;
    let (id, rest) = rest.split_once('"')?;
    let rest = rest.strip_prefix(",\"_score\":null,\"_source\":")?;
    let end = rest.rfind(",\"sort\":[")?;
    let sort = rest[end + 9..].strip_suffix("]}")?;
    let plain = |s: &str| !s.contains('\\');
    let digits = !sort.is_empty() && sort.bytes().all(|b| b.is_ascii_digit());
    (digits && plain(index) && plain(id)).then(|| HitLine {
        index: Cow::Borrowed(index),
        id: Cow::Borrowed(id),
        source: &rest[..end],
    })
}

/// Reads one `search.jsonl` line (a hit exactly as advanced search returns it) into the
/// builder.
pub(crate) fn parse_hit_line(line: &str, into: &mut StoreBuilder) -> Result<(), String> {
    let hit = match split_written_hit(line) {
        Some(hit) => hit,
        None => serde_json::from_str(line).map_err(|e| e.to_string())?,
    };
    let probe = probe_of_index(&hit.index)
        .ok_or_else(|| format!("_index {:?} is not logstash-<probe>-YYYY.MM.DD", hit.index))?;
    let id: [u8; ID_LEN] = hit
        .id
        .as_bytes()
        .try_into()
        .ok()
        .filter(|id: &[u8; ID_LEN]| id.is_ascii())
        .ok_or_else(|| format!("_id {:?} is not {ID_LEN} ASCII characters", hit.id))?;
    let text = hit.source;
    let (time_us, vals) = source_keys(text).map_err(|e| format!("_source: {e}"))?;
    into.push_parts(
        time_us,
        id,
        probe,
        vals.each_ref().map(Option::as_deref),
        text.into(),
    );
    Ok(())
}

fn load(open: &mut Opener<'_>, anchor_ms: Option<i64>) -> Result<World, WorldError> {
    let meta: Meta = read_json(open, "world.json")?;
    if meta.format != 1 {
        return Err(parse_err(
            "world.json",
            None,
            format!("unsupported format {}", meta.format),
        ));
    }
    let tags: Vec<Tag> = read_json(open, "tags.json")?;
    let devices: Vec<Device> = read_json(open, "devices.json")?;
    let models: Vec<Model> = read_json(open, "models.json")?;
    let breaches: Vec<Breach> = read_json(open, "breaches.json")?;
    let parts = par_lines(
        open,
        "connections.jsonl",
        Vec::new,
        |v: &mut Vec<Connection>, line| {
            v.push(serde_json::from_str(line).map_err(|e| e.to_string())?);
            Ok(())
        },
    )?;
    let mut connections = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    parts.into_iter().for_each(|p| connections.extend(p));
    let parts = par_lines(open, "search.jsonl", StoreBuilder::default, |b, line| {
        parse_hit_line(line, b)
    })?;
    let mut builder = StoreBuilder::with_capacity(meta.counts.search_records);
    parts.into_iter().for_each(|p| builder.merge(p));
    let stored_anchor = meta.anchor_ms;
    let mut world = World::assemble(
        meta,
        tags,
        devices,
        models,
        breaches,
        connections,
        builder.finish(),
    )?;
    if let Some(anchor) = anchor_ms {
        world.shift(anchor - stored_anchor);
    }
    Ok(world)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/worlds/default")
    }

    /// The checked-in default world is exactly what the generator produces, so it
    /// cannot drift. `DT_WORLD_REGEN=1 cargo test -p dt-world default_fixture` rewrites it.
    #[test]
    fn default_fixture_is_what_the_generator_produces() {
        if std::env::var_os("DT_WORLD_REGEN").is_some() {
            // The embedded copy is stale until the next build; compare on the next run.
            write_default_fixture(&fixture_dir()).unwrap();
            return;
        }
        let world = generate(&DEFAULT_PARAMS);
        for (name, embedded) in EMBEDDED {
            let mut out = Vec::new();
            world.write_file(name, &mut out).unwrap();
            assert!(
                out == embedded.as_bytes(),
                "{name} differs from the generator's output; run DT_WORLD_REGEN=1 cargo test -p dt-world default_fixture (then rebuild)"
            );
        }
    }

    #[test]
    fn default_world_loads_at_its_anchor_and_re_anchors() {
        let stored = World::default_world(None);
        assert_eq!(stored.anchor_ms(), DEFAULT_PARAMS.anchor_ms);
        assert_eq!(stored.search().len(), DEFAULT_PARAMS.records);
        let later = World::default_world(Some(DEFAULT_PARAMS.anchor_ms + 86_400_000 * 3 + 1234));
        assert_eq!(
            later.anchor_ms(),
            DEFAULT_PARAMS.anchor_ms + 86_400_000 * 3 + 1234
        );
        let d0 = &stored.devices()[0];
        let d1 = &later.devices()[0];
        assert_eq!(d1.last_seen - d0.last_seen, 86_400_000 * 3 + 1234);
        let id = stored.search().ids_by_time()[0];
        assert_eq!(
            later.search().record(id).time_us() - stored.search().record(id).time_us(),
            (86_400_000 * 3 + 1234) * 1000
        );
    }

    #[test]
    fn write_then_load_round_trips_a_shifted_world() {
        let dir = std::env::temp_dir().join(format!("dt-world-roundtrip-{}", std::process::id()));
        let world = World::default_world(Some(1_800_000_000_000));
        world.write_dir(&dir).unwrap();
        let back = World::load_dir(&dir, None).unwrap();
        for name in FILES {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            world.write_file(name, &mut a).unwrap();
            back.write_file(name, &mut b).unwrap();
            assert!(a == b, "{name} changed across write/load");
        }
        let id = world.search().ids_by_time()[7];
        assert_eq!(world.search().hit(id), back.search().hit(id));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn written_lines_split_like_serde_and_others_fall_back() {
        let w = World::default_world(None);
        let mut out = Vec::new();
        w.write_file("search.jsonl", &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for line in text.lines().take(200) {
            let fast = split_written_hit(line).expect("our own layout");
            let slow: HitLine<'_> = serde_json::from_str(line).unwrap();
            assert_eq!(
                (fast.index, fast.id, fast.source),
                (slow.index, slow.id, slow.source)
            );
        }
        let pretty = r#"{ "_id": "abcdefghijklmnopqrst", "_index": "logstash-dt-01-2024.05.01", "_source": {"@fields": {"epochdate": 1.5}, "@type": "x"} }"#;
        assert!(split_written_hit(pretty).is_none());
        let mut b = StoreBuilder::default();
        parse_hit_line(pretty, &mut b).unwrap();
        assert_eq!(b.len(), 1);
        let trailing = r#"{"_index":"logstash-dt-01-2024.05.01","_type":"doc","_id":"abcdefghijklmnopqrst","_score":null,"_source":{"@fields":{"epochdate":1.5},"@type":"x"}junk,"sort":[1500]}"#;
        assert!(parse_hit_line(trailing, &mut b).is_err());
    }

    #[test]
    fn load_reports_file_and_line() {
        let good = generate(&GenParams {
            devices: 6,
            records: 300,
            seed: 1,
            anchor_ms: 1_700_000_000_000,
        });
        let mut files: Vec<(String, Vec<u8>)> = FILES
            .iter()
            .map(|n| {
                let mut v = Vec::new();
                good.write_file(n, &mut v).unwrap();
                (n.to_string(), v)
            })
            .collect();
        let search = &mut files[6].1;
        let mut lines: Vec<&[u8]> = search.split(|b| *b == b'\n').collect();
        lines[149] = b"{\"_index\":\"nope\",\"_id\":\"x\",\"_source\":{}}";
        let broken = lines.join(&b'\n');
        files[6].1 = broken;
        let mut open = |name: &str| -> Result<Box<dyn BufRead>, WorldError> {
            let data = files.iter().find(|(n, _)| n == name).unwrap().1.clone();
            Ok(Box::new(Cursor::new(data)))
        };
        let err = load(&mut open, None).unwrap_err().to_string();
        assert!(
            err.starts_with("search.jsonl line 150: _index \"nope\""),
            "{err}"
        );
    }
}
