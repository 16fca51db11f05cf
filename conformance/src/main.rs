//! `dt-conformance`: run the conformance cases against a mock or a real appliance.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use dt_conformance::case::Tag;
use dt_conformance::runner::{render, RunOptions};
use dt_conformance::target::{Target, TlsOptions};
use dt_conformance::{cases, run};
use dt_protocol::Secret;

/// Conformance cases for the Darktrace Threat Visualizer API and its client.
#[derive(Debug, Parser)]
#[command(name = "dt-conformance", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Server cases: how the appliance (or the mock) answers.
    Server(RunArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TagArg {
    Appliance,
    MockOnly,
    Client,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The appliance or mock, e.g. https://10.0.0.5 or http://127.0.0.1:8080.
    #[arg(long, env = "DT_URL", required_unless_present_any = ["mock", "list"])]
    url: Option<String>,
    /// The public token (or DT_API_KEY).
    #[arg(long, env = "DT_API_KEY")]
    api_key: Option<String>,
    /// The private token (or DT_API_SECRET; prefer the env: flags show in process lists).
    #[arg(long, env = "DT_API_SECRET", hide_env_values = true)]
    api_secret: Option<String>,
    /// Do not verify the target's certificate.
    #[arg(long, conflicts_with = "ca")]
    insecure: bool,
    /// Trust this CA certificate (PEM).
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Start an in-process mock and run against it.
    #[arg(long, conflicts_with = "url")]
    mock: bool,
    /// Only cases whose id matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    filter: Option<String>,
    /// Only cases with one of these tags.
    #[arg(long, value_enum, value_delimiter = ',')]
    tags: Vec<TagArg>,
    /// List the selected cases instead of running them.
    #[arg(long)]
    list: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match real_main().await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn real_main() -> Result<ExitCode> {
    let cli = Cli::parse();
    let Command::Server(args) = cli.command;
    let opts = RunOptions {
        filter: args
            .filter
            .as_deref()
            .map(regex::Regex::new)
            .transpose()
            .context("--filter")?,
        tags: args
            .tags
            .iter()
            .map(|t| match t {
                TagArg::Appliance => Tag::Appliance,
                TagArg::MockOnly => Tag::MockOnly,
                TagArg::Client => Tag::Client,
            })
            .collect(),
    };
    let all = cases::all();
    if args.list {
        for c in &all {
            if opts.filter.as_ref().is_none_or(|re| re.is_match(c.id)) {
                let tags: Vec<&str> = c.tags.iter().map(|t| t.name()).collect();
                println!("{}  [{}]  {}", c.id, tags.join(","), c.must);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let target = if args.mock {
        Target::in_process().await?
    } else {
        let (Some(url), Some(key), Some(secret)) = (&args.url, &args.api_key, &args.api_secret)
        else {
            bail!("--url, --api-key and --api-secret (or DT_URL, DT_API_KEY, DT_API_SECRET) are required");
        };
        let tls = TlsOptions {
            insecure: args.insecure,
            ca: args.ca.clone(),
        };
        Target::url(url, key, Secret::new(secret.as_str()), &tls).await?
    };
    let base = target.base_url.clone();
    let report = run(&all, &target, &opts, |r| println!("{}", render(r, &base))).await;
    println!("{}", report.summary());
    Ok(if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
