//! Generates and writes a large world, or loads one and queries it, printing timings and
//! memory (peak RSS from /proc). Run the two steps as separate processes so the load
//! figures are not inflated by the generator's heap:
//!
//! `cargo run --release -p dt-world --example world_bench -- gen <dir> [devices] [records] [seed]`
//! (defaults: 500 devices, 1,000,000 records, seed 1), then
//! `cargo run --release -p dt-world --example world_bench -- load <dir>`.

use std::path::PathBuf;
use std::time::Instant;

use dt_world::api::search::{advanced_search_json, search_linear_scan, search_records};
use dt_world::clock::{DAY_MS, MINUTE_MS};
use dt_world::{generate, GenParams, Window, World};

fn rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

/// CPU time (user + system, all threads) the process has used so far, from /proc.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / 100.0 // USER_HZ
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(2).map_or("/tmp/dt-world-bench", String::as_str));
    let anchor = 1_714_564_800_000;
    if args.get(1).map(String::as_str) == Some("gen") {
        let devices = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(500);
        let records = args
            .get(4)
            .and_then(|s| s.parse().ok())
            .unwrap_or(1_000_000);
        let seed = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(1);
        let t = Instant::now();
        let world = generate(&GenParams {
            devices,
            records,
            seed,
            anchor_ms: anchor,
        });
        println!(
            "generate: {:?} ({} records, {} connections) [{}]",
            t.elapsed(),
            world.search().len(),
            world.connections().len(),
            rss()
        );
        let t = Instant::now();
        world.write_dir(&dir).expect("write");
        println!("write: {:?}", t.elapsed());
        return;
    }

    let t = Instant::now();
    let world = World::load_dir(&dir, Some(anchor + 3_600_000)).expect("load");
    println!(
        "load (re-anchored): {:?}, CPU {:.2} s [{}]",
        t.elapsed(),
        cpu_secs(),
        rss()
    );
    let now = world.anchor_ms();
    // The default IP query: two device addresses OR'ed over src_ip/dest_ip, 5 minutes.
    let ips: Vec<String> = world.devices().iter().map(|d| d.ip().to_string()).collect();
    let mut times = Vec::new();
    let mut linear_times = Vec::new();
    let mut total_hits = 0;
    for i in 0..200usize {
        let (a, b) = (&ips[(i * 7) % ips.len()], &ips[(i * 13 + 1) % ips.len()]);
        let text =
            format!("@fields.src_ip:(\"{a}\" OR \"{b}\") OR @fields.dest_ip:(\"{a}\" OR \"{b}\")");
        let start = now - DAY_MS + (i as i64 * 431 * MINUTE_MS / 60) % (DAY_MS - 5 * MINUTE_MS);
        let body = serde_json::json!({
            "search": text, "fields": [], "timeframe": "custom", "size": 10_000,
            "time": {"from": dt_world::clock::iso_millis(start), "to": dt_world::clock::iso_millis(start + 5 * MINUTE_MS)}
        })
        .to_string();
        let t = Instant::now();
        let v = advanced_search_json(&world, body.as_bytes(), now).expect("search");
        times.push(t.elapsed());
        total_hits += v["hits"]["total"].as_u64().unwrap_or(0);
        if i < 5 {
            let q = dt_search::parse(&text).unwrap();
            let w = Window::from_ms(start, start + 5 * MINUTE_MS);
            let t = Instant::now();
            let lin = search_linear_scan(&world, &q, w);
            linear_times.push(t.elapsed());
            assert_eq!(lin.ids, search_records(&world, &q, w).ids);
        }
    }
    times.sort();
    println!(
        "default IP query, 5 min, size 10000 (full envelope): median {:?}, p90 {:?}, max {:?}; mean hits {}",
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        times[times.len() - 1],
        total_hits / times.len() as u64
    );
    println!("linear scan of the same queries: {linear_times:?}");
    println!("final [{}]", rss());
}
