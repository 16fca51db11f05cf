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
use crate::scan::scan_connection;
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

/// How a load shares out the parsing of the JSON-lines files.
#[derive(Debug, Clone, Copy)]
struct Split {
    /// Parsing threads.
    workers: usize,
    /// Bytes per chunk handed to a parsing thread (cut at a line end).
    chunk_bytes: usize,
}

impl Split {
    /// `DT_WORLD_LOAD_THREADS` threads if set, else one per core (at most 4). Chunks of
    /// 1 MiB: small enough that the passes over a chunk (UTF-8 check, line split, parse)
    /// find it in cache, large enough that the per-chunk costs (a fresh interner, and
    /// re-interning its values on merge) stay small; tiny in tests, so that the
    /// fixtures span many chunks.
    fn from_env() -> Self {
        let workers = std::env::var("DT_WORLD_LOAD_THREADS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .clamp(1, 4);
        let chunk_bytes = if cfg!(test) { 4 << 10 } else { 1 << 20 };
        Split {
            workers,
            chunk_bytes,
        }
    }
}

/// A capacity taken from `world.json`'s informational counts: trusted only so far.
fn presize(count: usize) -> usize {
    count.min(1 << 24)
}

/// Where parsing a chunk failed: the line within the chunk (1-based) and the message.
type ChunkError = (usize, String);

/// A worker's answer for one chunk: its place in the file, and its accumulator or the
/// chunk's first error.
struct Parsed<T> {
    index: usize,
    lines: usize,
    result: Result<T, ChunkError>,
}

/// Parses a JSON-lines file on `split.workers` threads and hands the results to
/// `consume` in file order, on this thread.
///
/// This thread reads the file in chunks cut at line ends and feeds them to the workers.
/// A worker parses a chunk into a fresh accumulator (`init` gets the chunk's size in
/// bytes, to size it), sends that back, and returns the chunk's buffer for reuse, so
/// reading touches a few buffers' worth of memory rather than the file's size. Between
/// reads, and after the last, this thread consumes the finished chunks in file order (a
/// time-sorted file stays sorted), so their memory is freed, and reused, as the load goes.
///
/// Blank lines are skipped. The first error in file order is reported with the file name
/// and its line number, counted across chunks; the chunks after it are skipped.
fn par_lines<T, I, F, C>(
    open: &mut Opener<'_>,
    name: &str,
    split: Split,
    init: I,
    f: F,
    mut consume: C,
) -> Result<(), WorldError>
where
    T: Send,
    I: Fn(usize) -> T + Sync,
    F: Fn(&mut T, &str) -> Result<(), String> + Sync,
    C: FnMut(T),
{
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;

    let workers = split.workers.max(1);
    let mut reader = open(name)?;
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<(usize, Vec<u8>)>(workers);
    let chunk_rx = std::sync::Mutex::new(chunk_rx);
    let (done_tx, done_rx) = mpsc::channel::<Parsed<T>>();
    let (spare_tx, spare_rx) = mpsc::channel::<Vec<u8>>();
    let stop = AtomicBool::new(false);
    let worker = |done_tx: mpsc::Sender<Parsed<T>>, spare_tx: mpsc::Sender<Vec<u8>>| loop {
        let next = chunk_rx.lock().map(|rx| rx.recv());
        let Ok(Ok((index, data))) = next else { break };
        let (lines, result) = if stop.load(Ordering::Relaxed) {
            (0, Err((0, String::new()))) // after an error nothing more is consumed
        } else {
            parse_chunk(&data, &init, &f)
        };
        let sent = done_tx.send(Parsed {
            index,
            lines,
            result,
        });
        let _ = spare_tx.send(data);
        if sent.is_err() {
            break;
        }
    };

    // Consumes finished chunks in file order; `pending` holds those that came early.
    let mut pending = std::collections::BTreeMap::new();
    let (mut next, mut lines_before) = (0, 0);
    let mut failed: Option<WorldError> = None;
    let mut deliver = |p: Parsed<T>| {
        pending.insert(p.index, p);
        while let Some(p) = pending.remove(&next) {
            next += 1;
            if failed.is_some() {
                continue;
            }
            match p.result {
                Ok(acc) => consume(acc),
                Err((line, message)) => {
                    failed = Some(parse_err(name, Some(lines_before + line), message));
                    stop.store(true, Ordering::Relaxed);
                }
            }
            lines_before += p.lines;
        }
    };

    let worker = &worker;
    let read_error = std::thread::scope(|scope| {
        for _ in 0..workers {
            let (done_tx, spare_tx) = (done_tx.clone(), spare_tx.clone());
            scope.spawn(move || worker(done_tx, spare_tx));
        }
        drop((done_tx, spare_tx));
        let mut read_error = None;
        for index in 0.. {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let mut data = spare_rx.try_recv().unwrap_or_else(|_| {
                Vec::with_capacity(split.chunk_bytes.min(64 << 20) + (64 << 10))
            });
            data.clear();
            let read = (&mut reader)
                .take(split.chunk_bytes.max(1) as u64)
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
            if data.is_empty() || chunk_tx.send((index, data)).is_err() {
                break;
            }
            done_rx.try_iter().for_each(&mut deliver);
        }
        drop(chunk_tx);
        // Ends when every worker has finished and dropped its sender.
        done_rx.iter().for_each(&mut deliver);
        read_error
    });
    match read_error.or(failed) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Parses one chunk of whole lines: its line count, and its accumulator or its first
/// error (line within the chunk, message). The chunk is checked as UTF-8 in one go and
/// cut at line ends by `str::split` (a `memchr` search); only a chunk that is not UTF-8
/// is checked line by line, to find the line at fault.
fn parse_chunk<T>(
    data: &[u8],
    init: &impl Fn(usize) -> T,
    f: &impl Fn(&mut T, &str) -> Result<(), String>,
) -> (usize, Result<T, ChunkError>) {
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    let mut acc = init(data.len());
    let mut n = 0;
    let mut each = |line: Result<&str, String>| {
        n += 1;
        let line = line?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            Ok(())
        } else {
            f(&mut acc, line)
        }
    };
    let result = match std::str::from_utf8(data) {
        Ok(text) => text.split('\n').try_for_each(|line| each(Ok(line))),
        Err(_) => data
            .split(|b| *b == b'\n')
            .try_for_each(|seg| each(std::str::from_utf8(seg).map_err(|e| e.to_string()))),
    };
    (n, result.map(|()| acc).map_err(|message| (n, message)))
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
    // The line ends `,"sort":[<digits>]}`: its last `[` opens the sort array (a
    // substring search from the end would do the same, several times slower).
    let (source, sort) = rest.strip_suffix("]}")?.rsplit_once('[')?;
    let source = source.strip_suffix(",\"sort\":")?;
    let plain = |s: &str| !s.contains('\\');
    let digits = !sort.is_empty() && sort.bytes().all(|b| b.is_ascii_digit());
    (digits && plain(index) && plain(id)).then_some(HitLine {
        index: Cow::Borrowed(index),
        id: Cow::Borrowed(id),
        source,
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
    load_split(open, anchor_ms, Split::from_env())
}

fn load_split(
    open: &mut Opener<'_>,
    anchor_ms: Option<i64>,
    split: Split,
) -> Result<World, WorldError> {
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
    let mut connections = Vec::with_capacity(presize(meta.counts.connections));
    par_lines(
        open,
        "connections.jsonl",
        split,
        // Written connections take about 240 bytes a line.
        |bytes| Vec::with_capacity(bytes / 200),
        |v: &mut Vec<Connection>, line| {
            v.push(match scan_connection(line) {
                Some(c) => c,
                None => serde_json::from_str(line).map_err(|e| e.to_string())?,
            });
            Ok(())
        },
        |part| connections.extend(part),
    )?;
    let mut builder = StoreBuilder::with_capacity(presize(meta.counts.search_records));
    par_lines(
        open,
        "search.jsonl",
        split,
        // Written hits take 500 to 1,000 bytes a line.
        |bytes| StoreBuilder::with_capacity(bytes / 600),
        |b, line| parse_hit_line(line, b),
        |part| builder.merge(part),
    )?;
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

    /// A world's files, as `write_file` writes them.
    fn files_of(world: &World) -> Vec<(String, Vec<u8>)> {
        FILES
            .iter()
            .map(|n| {
                let mut v = Vec::new();
                world.write_file(n, &mut v).unwrap();
                (n.to_string(), v)
            })
            .collect()
    }

    fn load_files(files: &[(String, Vec<u8>)], split: Split) -> Result<World, WorldError> {
        let mut open = |name: &str| -> Result<Box<dyn BufRead>, WorldError> {
            let data = files.iter().find(|(n, _)| n == name).unwrap().1.clone();
            Ok(Box::new(Cursor::new(data)))
        };
        load_split(&mut open, None, split)
    }

    /// Splits from one thread reading the whole file as one chunk to a chunk per line.
    const SPLITS: [Split; 5] = [
        Split {
            workers: 1,
            chunk_bytes: 1 << 30,
        },
        Split {
            workers: 1,
            chunk_bytes: 1,
        },
        Split {
            workers: 2,
            chunk_bytes: 777,
        },
        Split {
            workers: 3,
            chunk_bytes: 4 << 10,
        },
        Split {
            workers: 4,
            chunk_bytes: 1,
        },
    ];

    fn small_generated() -> World {
        generate(&GenParams {
            devices: 8,
            records: 600,
            seed: 11,
            anchor_ms: 1_700_000_000_000,
        })
    }

    #[test]
    fn chunked_parallel_loads_equal_a_sequential_load() {
        let world = small_generated();
        let files = files_of(&world);
        for split in SPLITS {
            let back = load_files(&files, split).unwrap();
            assert_eq!(files_of(&back), files, "{split:?}");
            assert_eq!(back.search().len(), world.search().len());
            assert_eq!(back.connections().len(), world.connections().len());
            let ids = |w: &World| -> Vec<String> {
                let s = w.search();
                s.ids_by_time()
                    .iter()
                    .map(|&i| s.record(i).id().to_string())
                    .collect()
            };
            assert_eq!(ids(&back), ids(&world), "{split:?}");
        }
    }

    #[test]
    fn blank_lines_and_crlf_line_ends_are_accepted() {
        let world = small_generated();
        let mut files = files_of(&world);
        for (_, data) in &mut files[5..] {
            let text = String::from_utf8(data.clone()).unwrap();
            *data = format!("\n{}\n  \n", text.replace('\n', "\r\n")).into_bytes();
        }
        for split in SPLITS {
            let back = load_files(&files, split).unwrap();
            assert_eq!(files_of(&back), files_of(&world), "{split:?}");
        }
    }

    /// Replaces line `line` (1-based) of file `file` in `files`.
    fn break_line(files: &mut [(String, Vec<u8>)], file: usize, line: usize, with: &[u8]) {
        let data = &mut files[file].1;
        let mut lines: Vec<Vec<u8>> = data.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
        lines[line - 1] = with.to_vec();
        *data = lines.join(&b'\n');
    }

    #[test]
    fn errors_name_their_line_across_chunk_boundaries() {
        let files = files_of(&small_generated());
        let (conns, hits) = (
            files[5].1.split(|b| *b == b'\n').count() - 1,
            files[6].1.split(|b| *b == b'\n').count() - 1,
        );
        let cases: [(usize, usize, &[u8], &str); 6] = [
            (6, 1, b"{}", "missing field"),
            (
                6,
                7,
                b"{\"_index\":\"nope\",\"_id\":\"x\",\"_source\":{}}",
                "_index \"nope\"",
            ),
            (6, hits / 2, b"not json", "expected"),
            (
                6,
                hits,
                b"{\"_index\":\"logstash-dt-01-2024.05.01\",\"_id\":\"x\",\"_source\":{}}",
                "_id \"x\"",
            ),
            (6, 300, b"\xff\xfe", "invalid utf-8"),
            (5, conns - 3, b"{\"uid\":1}", "invalid type"),
        ];
        for (file, line, with, message) in cases {
            let mut broken = files.clone();
            break_line(&mut broken, file, line, with);
            // A second, later error must not hide the first.
            let last = if file == 6 { hits } else { conns };
            if line < last {
                break_line(&mut broken, file, last, b"{");
            }
            for split in SPLITS {
                let err = load_files(&broken, split).unwrap_err().to_string();
                let want = format!("{} line {line}: ", FILES[file]);
                assert!(
                    err.starts_with(&want) && err.contains(message),
                    "{split:?}: {err} (wanted {want}... {message})"
                );
            }
        }
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
