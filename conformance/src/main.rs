//! `dt-conformance`: run the conformance cases against a mock or a real appliance.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use dt_conformance::case::{Case, Tag};
use dt_conformance::runner::{render, run_on, selected, RunOptions, Targets};
use dt_conformance::target::{Target, TlsOptions};
use dt_conformance::{cases, report};
use dt_protocol::Secret;

/// Conformance cases for the Darktrace Threat Visualizer API and its client.
///
/// Server cases run against --url (a mock or a real appliance; against a real one only
/// the read-only `appliance` cases run) or --mock (an in-process mock). Client cases
/// always run against an in-process mock, because they need its virtual clock.
#[derive(Debug, Parser)]
#[command(name = "dt-conformance", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Server cases: how the appliance (or the mock) answers.
    Server(RunArgs),
    /// Client cases: how dt-client behaves against the mock.
    Client(RunArgs),
    /// Server and client cases.
    All(RunArgs),
    /// Print the case manifest (conformance/cases.md) to stdout.
    Manifest,
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
    #[arg(long, env = "DT_URL")]
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
    /// Start an in-process mock and run the server cases against it.
    #[arg(long, conflicts_with = "url")]
    mock: bool,
    /// Only cases whose id matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    filter: Option<String>,
    /// Only cases with one of these tags (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    tags: Vec<TagArg>,
    /// List the selected cases instead of running them.
    #[arg(long)]
    list: bool,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a JSON report here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
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
    let (args, want_server, want_client) = match cli.command {
        Command::Manifest => {
            print!("{}", report::manifest(&cases::all()));
            return Ok(ExitCode::SUCCESS);
        }
        Command::Server(a) => (a, true, false),
        Command::Client(a) => (a, false, true),
        Command::All(a) => (a, true, true),
    };
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
    let chosen: Vec<Case> = cases::all()
        .into_iter()
        .filter(|c| {
            if c.has(Tag::Client) {
                want_client
            } else {
                want_server
            }
        })
        .collect();
    if args.list {
        for c in chosen.iter().filter(|c| selected(c, &opts)) {
            let tags: Vec<&str> = c.tags.iter().map(|t| t.name()).collect();
            println!("{}  [{}]  {}", c.id, tags.join(","), c.must);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let server = if args.mock || (!want_server && args.url.is_none()) {
        Target::in_process().await?
    } else {
        let (Some(url), Some(key), Some(secret)) = (&args.url, &args.api_key, &args.api_secret)
        else {
            bail!("--url, --api-key and --api-secret (or DT_URL, DT_API_KEY, DT_API_SECRET) are required, or --mock");
        };
        let tls = TlsOptions {
            insecure: args.insecure,
            ca: args.ca.clone(),
        };
        Target::url(url, key, Secret::new(secret.as_str()), &tls).await?
    };
    let client_mock = if want_client {
        if server.mock.is_some() {
            None
        } else {
            Some(Target::in_process().await?)
        }
    } else {
        None
    };
    let client = if want_client {
        Some(client_mock.as_ref().unwrap_or(&server))
    } else {
        None
    };
    let targets = Targets {
        server: &server,
        client,
    };
    if !server.is_mock {
        println!(
            "target {} is not a mock: only read-only `appliance` cases run against it",
            server.base_url
        );
    }
    let base = server.base_url.clone();
    let rep = run_on(&chosen, &targets, &opts, |r| {
        println!("{}", render(r, &base))
    })
    .await;
    if let Some(p) = &args.junit {
        std::fs::write(p, report::junit(&rep))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &args.json {
        std::fs::write(p, report::json(&rep))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    println!("{}", rep.summary());
    Ok(if rep.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
