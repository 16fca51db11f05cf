//! `dt-bench`: the benchmark driver (BENCHMARKS.md).
//!
//! With no subcommand it runs every item: the mock under wrk (signed routes against an
//! unauthenticated baseline route of the same server), WireMock's static stub of the
//! same `/status` body, start-up time and memory for the default and a 1M-record
//! world, and a 200-action client job in virtual time. The mock and WireMock are
//! pinned to core 0 and wrk to core 1. `--short` is the CI check: one short run of
//! each, failing only when a ratio falls below half its target.
//!
//! It builds nothing: `ci/bench.sh` builds the release binaries, installs wrk and
//! fetches WireMock's standalone jar, then runs this.

mod client_job;
mod compare;
mod http;
mod inproc;
mod procs;
mod report;
mod stats;
mod suite;
mod workload;
mod wrk;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

/// The benchmark driver.
#[derive(Debug, Parser)]
#[command(name = "dt-bench", about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    suite: SuiteArgs,
}

/// Options of the full benchmark (and of `--short`).
#[derive(Debug, Clone, Args)]
pub struct SuiteArgs {
    /// The CI check: each item once, 3 s runs, no 1M world, no report written; exits
    /// non-zero only when a ratio is below half its target.
    #[arg(long)]
    pub short: bool,
    /// The mock's release binary (default: dt-mock beside this binary).
    #[arg(long, value_name = "PATH")]
    pub mock_bin: Option<PathBuf>,
    /// WireMock's standalone jar (the npm package `wiremock` ships it); without it the
    /// peer comparison is skipped and the report says why.
    #[arg(long, value_name = "JAR", env = "DT_BENCH_WIREMOCK_JAR")]
    pub wiremock_jar: Option<PathBuf>,
    /// Why the jar is missing, when the script could not fetch it.
    #[arg(long, value_name = "TEXT", env = "DT_BENCH_WIREMOCK_MISSING")]
    pub wiremock_missing: Option<String>,
    /// The report to update (only dt-bench's marked sections are rewritten).
    #[arg(long, default_value = "BENCHMARKS.md")]
    pub out: PathBuf,
    /// The raw figures as JSON.
    #[arg(long, default_value = "target/bench-results.json")]
    pub json: PathBuf,
    /// Where the 1M-record world is generated once and reused.
    #[arg(long, default_value = "target/bench-world-1m")]
    pub world_1m: PathBuf,
    /// Records of the large world.
    #[arg(long, default_value_t = 1_000_000)]
    pub records_1m: usize,
    /// Devices of the large world.
    #[arg(long, default_value_t = 500)]
    pub devices_1m: usize,
    /// Seed of the large world.
    #[arg(long, default_value_t = 1)]
    pub seed_1m: u64,
    /// Skip the large world.
    #[arg(long)]
    pub skip_1m: bool,
    /// Runs per measurement (the median is reported).
    #[arg(long)]
    pub runs: Option<usize>,
    /// Seconds per wrk run.
    #[arg(long)]
    pub seconds: Option<u32>,
    /// wrk connections.
    #[arg(long, default_value_t = 64)]
    pub connections: u32,
    /// Actions in the client job.
    #[arg(long, default_value_t = 200)]
    pub actions: usize,
    /// The command line recorded in the report.
    #[arg(long, default_value = "ci/bench.sh", env = "DT_BENCH_COMMAND")]
    pub command_line: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Item 5 alone, as JSON (run in its own process by the suite).
    ClientJob {
        /// Actions.
        #[arg(long, default_value_t = 200)]
        actions: usize,
        /// Actions at once.
        #[arg(long, default_value_t = 200)]
        concurrency: usize,
    },
    /// In-process advanced search, indexed against the linear scan, as JSON.
    SearchInproc {
        /// A world directory (default: the embedded default world).
        #[arg(long)]
        world: Option<PathBuf>,
        /// The world's anchor, epoch ms (default: now).
        #[arg(long)]
        anchor_ms: Option<i64>,
        /// Runs of the indexed search.
        #[arg(long, default_value_t = 51)]
        runs: usize,
        /// Runs of the linear scan.
        #[arg(long, default_value_t = 5)]
        linear_runs: usize,
    },
    /// Prints the DTAPI headers for a GET of TARGET (for running wrk or curl by hand).
    Headers {
        /// The request target, e.g. `/status`.
        target: String,
    },
    /// Prints the measured targets (details, search) for a world anchored at ANCHOR_MS,
    /// and the `--anchor` value to start the mock with.
    Targets {
        /// The anchor, epoch ms.
        anchor_ms: i64,
        /// A world directory (default: the embedded default world).
        #[arg(long)]
        world: Option<PathBuf>,
    },
    /// Item 6: two or more mock binaries side by side (interleaved wrk runs), and
    /// optionally their instructions per request under callgrind.
    Compare(compare::CompareArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None => {
            let code = suite::run(cli.suite)?;
            std::process::exit(code);
        }
        Some(Command::ClientJob {
            actions,
            concurrency,
        }) => {
            let r = client_job::run(actions, concurrency)?;
            println!("{}", serde_json::to_string(&r)?);
        }
        Some(Command::SearchInproc {
            world,
            anchor_ms,
            runs,
            linear_runs,
        }) => {
            let anchor = anchor_ms.unwrap_or_else(suite::now_ms);
            let r = inproc::run(world.as_deref(), anchor, runs, linear_runs)?;
            println!("{}", serde_json::to_string(&r)?);
        }
        Some(Command::Headers { target }) => {
            for (k, v) in workload::signed_headers(&target) {
                println!("{k}: {v}");
            }
        }
        Some(Command::Targets { anchor_ms, world }) => {
            let w = match &world {
                Some(d) => dt_world::World::load_dir(d, Some(anchor_ms))?,
                None => dt_world::World::default_world(Some(anchor_ms)),
            };
            let anchor = workload::anchor_arg(anchor_ms);
            println!("anchor\t{anchor}");
            let (d, n) = workload::details_target(&w, anchor_ms);
            println!("details\t{d}\t{n}");
            let c = workload::search_target(&w, anchor_ms);
            println!("search\t{}\t{}\t{}", c.target, c.hits, c.ip);
            println!("latest\t{}\t{}\t{}", c.latest_target, c.latest_hits, c.ip);
        }
        Some(Command::Compare(args)) => compare::run(args)?,
    }
    Ok(())
}
