//! In-process advanced search on a world: the indexed path against the linear scan
//! (dt-world's own baseline), for the default IP query over five minutes, size 10000.
//! Run as its own process (`dt-bench search-inproc`) so a 1M-record world's memory
//! never lands in the driver.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use dt_world::api::search::{advanced_search_json, advanced_search_json_linear_scan};
use dt_world::World;
use serde::{Deserialize, Serialize};

use crate::workload::{search_target, total};

/// The figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchFigures {
    /// Records in the world.
    pub records: usize,
    /// Devices in the world.
    pub devices: usize,
    /// Loading the world, seconds.
    pub load_s: f64,
    /// This process's peak memory after loading, KiB.
    pub loaded_peak_kb: u64,
    /// The IP searched.
    pub ip: String,
    /// The GET target a client sends for it.
    pub target: String,
    /// Hits in the window.
    pub hits: u64,
    /// Median of the indexed search (query parse, index, page of hits as JSON), ms.
    pub indexed_median_ms: f64,
    /// Median of the linear scan, ms.
    pub linear_median_ms: f64,
    /// Runs of each.
    pub indexed_runs: usize,
    /// Runs of the linear scan.
    pub linear_runs: usize,
    /// Median of the index alone (matching ids, no answer built), ms.
    #[serde(default)]
    pub index_only_median_ms: f64,
    /// Median of the linear scan alone (matching ids), ms.
    #[serde(default)]
    pub scan_only_median_ms: f64,
}

/// Loads `dir` (or the default world) anchored at `anchor_ms` and times the search.
pub fn run(
    dir: Option<&Path>,
    anchor_ms: i64,
    runs: usize,
    linear_runs: usize,
) -> Result<SearchFigures> {
    let t = Instant::now();
    let world = match dir {
        Some(d) => World::load_dir(d, Some(anchor_ms))
            .with_context(|| format!("loading {}", d.display()))?,
        None => World::default_world(Some(anchor_ms)),
    };
    let load_s = t.elapsed().as_secs_f64();
    let loaded_peak_kb = crate::procs::self_peak_kb();
    let c = search_target(&world, anchor_ms);
    let (ip, target, hits, json, from_ms) = (c.ip, c.target, c.hits, c.json, c.from_ms);
    let search_text = match dt_client::macros::expand_lists(
        dt_client::config::DEFAULT_IP_QUERY,
        &[ip.as_str()],
        &[] as &[&str],
    ) {
        dt_client::macros::Expansion::Query(q) => q,
        dt_client::macros::Expansion::Skipped { .. } => String::new(),
    };
    let query = dt_search::parse(&search_text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let window = dt_world::Window::from_ms(from_ms, from_ms + crate::workload::WINDOW_MS);
    let time = |f: &dyn Fn() -> u64, n: usize| -> (f64, u64) {
        let mut v = Vec::with_capacity(n);
        let mut last = 0;
        for _ in 0..n.max(1) {
            let t = Instant::now();
            last = f();
            v.push(t.elapsed().as_secs_f64() * 1e3);
        }
        (crate::stats::median(&v), last)
    };
    let indexed = || {
        advanced_search_json(&world, &json, anchor_ms)
            .ok()
            .and_then(|v| total(&v))
            .unwrap_or(0)
    };
    let linear = || {
        advanced_search_json_linear_scan(&world, &json, anchor_ms)
            .ok()
            .and_then(|v| total(&v))
            .unwrap_or(0)
    };
    let index_only = || {
        dt_world::api::search::search_records(&world, &query, window)
            .ids
            .len() as u64
    };
    let scan_only = || {
        dt_world::api::search::search_linear_scan(&world, &query, window)
            .ids
            .len() as u64
    };
    let (index_only_median_ms, h3) = time(&index_only, runs);
    let (scan_only_median_ms, h4) = time(&scan_only, linear_runs);
    anyhow::ensure!(
        h3 == hits && h4 == hits,
        "ids: index {h3}, scan {h4}, answer {hits}"
    );
    let (indexed_median_ms, h1) = time(&indexed, runs);
    let (linear_median_ms, h2) = time(&linear, linear_runs);
    anyhow::ensure!(
        h1 == hits && h2 == hits,
        "index ({h1}) and linear scan ({h2}) disagree with {hits}"
    );
    Ok(SearchFigures {
        records: world.search().len(),
        devices: world.devices().len(),
        load_s,
        loaded_peak_kb,
        ip,
        target,
        hits,
        indexed_median_ms,
        linear_median_ms,
        indexed_runs: runs.max(1),
        linear_runs: linear_runs.max(1),
        index_only_median_ms,
        scan_only_median_ms,
    })
}
