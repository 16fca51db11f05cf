//! `dt-mock`: run the simulator.

mod explain_cli;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use dt_mock::admin_cli::AdminCommand;
use dt_mock::scenario::Scenario;
use dt_mock::{
    tls, ErrorStyle, Limits, MockClock, MockConfig, Settings, TokenSet, DEMO_PRIVATE, DEMO_PUBLIC,
};
use dt_protocol::parse_signed_duration;

/// A faithful simulator of the Darktrace Threat Visualizer v6.1 REST API.
#[derive(Debug, Parser)]
#[command(
    name = "dt-mock",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the mock (the default when no subcommand is given).
    Serve(ServeArgs),
    /// Say whether the appliance would accept a captured request, and why not.
    Explain(explain_cli::ExplainArgs),
    /// Write a generated world of any size to a directory (serve it with --world).
    Generate(GenerateArgs),
    /// List the built-in scenarios (start one with --scenario NAME).
    Scenarios(ScenariosArgs),
    #[command(flatten)]
    Admin(AdminCommand),
}

#[derive(Debug, Args)]
struct ScenariosArgs {
    /// Print every scenario's full settings as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// Number of devices.
    #[arg(long, default_value_t = 50)]
    devices: usize,
    /// Number of advanced-search records.
    #[arg(long, default_value_t = 5_000)]
    records: usize,
    /// The random seed: the same seed gives the same world.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The directory to write (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080", env = "DT_MOCK_LISTEN")]
    listen: SocketAddr,
    /// An accepted token pair, PUBLIC:PRIVATE (repeatable). Without any token from
    /// here, the env or a file, the demo pair is used and printed.
    #[arg(long = "token", value_name = "PUBLIC:PRIVATE")]
    tokens: Vec<String>,
    /// Token pairs, comma-separated PUBLIC:PRIVATE.
    #[arg(
        long,
        env = "DT_MOCK_TOKENS",
        hide_env_values = true,
        value_name = "PAIRS"
    )]
    tokens_env: Option<String>,
    /// A file of token pairs, one PUBLIC:PRIVATE a line.
    #[arg(long, value_name = "FILE")]
    tokens_file: Option<PathBuf>,
    /// Shift the mock's clock, e.g. 31m (an appliance ahead) or -45m (behind).
    #[arg(long, default_value = "0s", allow_hyphen_values = true, value_parser = parse_duration)]
    clock_offset: time::Duration,
    /// The allowed skew between a request's DTAPI-Date and the mock's clock.
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    max_skew: time::Duration,
    /// How auth failures are answered: as the live appliance does, or as its guide says.
    #[arg(long, value_enum, default_value_t = ErrorStyle::Live)]
    error_style: ErrorStyle,
    /// Serve HTTPS with a generated CA and a certificate for localhost and 127.0.0.1.
    #[arg(long)]
    tls: bool,
    /// Where --tls writes the CA certificate (PEM).
    #[arg(long, value_name = "FILE", default_value = "dt-mock-ca.pem")]
    tls_ca_out: PathBuf,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Turn off the /_mock/ admin API (for a demo on a shared network).
    #[arg(long)]
    no_admin: bool,
    /// Most request-journal entries kept in memory.
    #[arg(long, default_value_t = 10_000)]
    journal_capacity: usize,
    /// Serve this world directory instead of the embedded default world.
    #[arg(long, value_name = "DIR")]
    world: Option<PathBuf>,
    /// Pin the world's anchor (the end of its 24 hours), e.g. "2024-05-01 12:00:00";
    /// by default the world is shifted so that it ends now.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    anchor: Option<time::OffsetDateTime>,
    /// Start with a scenario reproducing a customer symptom: a built-in name (see
    /// `dt-mock scenarios`) or a scenario file (PATH.toml).
    #[arg(long, value_name = "NAME|PATH")]
    scenario: Option<String>,
    /// Test only: sort the query before verifying, a deliberately broken verifier that
    /// the conformance suite must catch.
    #[arg(long, hide = true)]
    broken_sort_query: bool,
}

fn parse_time(s: &str) -> Result<time::OffsetDateTime, String> {
    dt_protocol::parse_dtapi_date(s).map_err(|e| e.to_string())
}

fn parse_duration(s: &str) -> Result<time::Duration, String> {
    parse_signed_duration(s).map_err(|e| e.to_string())
}

// glibc's free was 14% of the mock's CPU under load (journal entries evicted cold,
// per-request strings); mimalloc halves that (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DT_MOCK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Generate(args)) => generate(args),
        Some(Command::Explain(args)) => {
            if !explain_cli::run(args)? {
                std::process::exit(1);
            }
            Ok(())
        }
        Some(Command::Scenarios(args)) => scenarios(args),
        Some(Command::Admin(cmd)) => {
            if let Err(e) = dt_mock::admin_cli::run(cmd).await {
                eprintln!("error: {e:#}");
                std::process::exit(1);
            }
            Ok(())
        }
        None => serve(cli.serve).await,
    }
}

fn scenarios(args: ScenariosArgs) -> Result<()> {
    let all = dt_mock::scenario::builtin();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    let width = all.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in &all {
        println!("{:width$}  {}", s.name, s.symptom);
    }
    println!();
    println!("Start one with: dt-mock --scenario NAME (or --scenario PATH.toml)");
    Ok(())
}

fn generate(args: GenerateArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let anchor = dt_mock::clock::to_ms(time::OffsetDateTime::now_utc());
    let world = dt_world::generate(&dt_world::GenParams {
        devices: args.devices,
        records: args.records,
        seed: args.seed,
        anchor_ms: anchor,
    });
    world
        .write_dir(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {} devices and {} search records to {} in {:.1}s",
        args.devices,
        args.records,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<()> {
    let mut tokens = TokenSet::default();
    if !args.tokens.is_empty() {
        tokens.extend(
            TokenSet::parse_pairs(args.tokens.iter().map(String::as_str)).context("--token")?,
        );
    }
    if let Some(v) = &args.tokens_env {
        tokens.extend(TokenSet::parse_env(v).context("DT_MOCK_TOKENS")?);
    }
    if let Some(path) = &args.tokens_file {
        if let Some(warning) = secret_file_warning(path) {
            eprintln!("warning: {warning}");
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        tokens.extend(TokenSet::parse_file(&text).with_context(|| format!("{}", path.display()))?);
    }
    let demo = tokens.is_empty();
    if demo {
        tokens = TokenSet::demo();
    }

    let tls_config = if args.tls {
        let g = tls::generate_localhost()?;
        std::fs::write(&args.tls_ca_out, &g.ca_pem)
            .with_context(|| format!("writing the CA to {}", args.tls_ca_out.display()))?;
        Some((
            tls::server_config(g.chain, g.key)?,
            Some(args.tls_ca_out.clone()),
        ))
    } else if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let (chain, key) = tls::load(cert, key)?;
        Some((tls::server_config(chain, key)?, None))
    } else {
        None
    };
    if args.max_skew.is_negative() {
        bail!("--max-skew must not be negative");
    }
    let scenario = match &args.scenario {
        Some(name) => Some(Scenario::find(name)?),
        None => None,
    };
    if scenario.as_ref().is_some_and(|s| s.tls.is_some()) && tls_config.is_some() {
        bail!("this scenario serves its own certificate: drop --tls / --tls-cert");
    }

    let clock = MockClock::system(args.clock_offset);
    // The world ends at the mock's now, the scenario's clock shift included.
    let scenario_offset = match &scenario {
        Some(s) => s.clock_offset_duration().map_err(anyhow::Error::msg)?,
        None => time::Duration::ZERO,
    };
    let anchor =
        dt_mock::clock::to_ms(args.anchor.unwrap_or_else(|| clock.now() + scenario_offset));
    let world = match &args.world {
        Some(dir) => dt_world::World::load_dir(dir, Some(anchor))
            .with_context(|| format!("loading the world in {}", dir.display()))?,
        None => dt_world::World::default_world(Some(anchor)),
    };
    let mut ca_path = tls_config.as_ref().and_then(|(_, p)| p.clone());
    let mut config = MockConfig {
        settings: Settings {
            max_skew: args.max_skew,
            error_style: args.error_style,
            admin: !args.no_admin,
            sort_query_before_verify: args.broken_sort_query,
            ..Settings::default()
        },
        tokens,
        clock: clock.clone(),
        tls: tls_config.map(|(c, _)| c),
        journal_capacity: args.journal_capacity,
        limits: Limits::default(),
        world,
        faults: Vec::new(),
        scenario: None,
    };
    let applied = match &scenario {
        Some(s) => Some(s.apply(&mut config)?),
        None => None,
    };
    if let Some(pem) = applied.as_ref().and_then(|a| a.ca_pem.as_ref()) {
        std::fs::write(&args.tls_ca_out, pem)
            .with_context(|| format!("writing the CA to {}", args.tls_ca_out.display()))?;
        ca_path = Some(args.tls_ca_out.clone());
    }

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        addr.ip().to_string()
    };
    let host = if addr.is_ipv6() && !addr.ip().is_unspecified() {
        format!("[{host}]")
    } else {
        host
    };
    // The one line scripts wait for; everything else goes to stderr.
    println!("listening on {scheme}://{host}:{}", addr.port());
    let rotated = applied.as_ref().and_then(|a| a.rotated.clone());
    if demo {
        println!("api key (public token):  {DEMO_PUBLIC}");
        match &rotated {
            Some((_, new)) => println!(
                "api secret (private token): {new} (rotated by the scenario; {DEMO_PRIVATE} is rejected)"
            ),
            None => println!("api secret (private token): {DEMO_PRIVATE}"),
        }
    } else {
        for t in TokenSet::tokens(&config.tokens) {
            let private = match &rotated {
                Some((public, new)) if *public == t.public => {
                    format!("private token rotated by the scenario to {new}")
                }
                _ => "private token from your configuration".to_string(),
            };
            println!("api key (public token):  {} ({private})", t.public);
        }
    }
    if let Some(ca) = &ca_path {
        println!("CA certificate: {}", ca.display());
    }
    if let (Some(s), Some(a)) = (&scenario, &applied) {
        println!("scenario: {} ({})", s.name, s.symptom);
        println!(
            "  dt-client test reports: {}; dt-client run reports: {}",
            s.test_result(),
            s.expected_error
        );
        for note in &a.notes {
            println!("  {note}");
        }
    }
    if !args.no_admin {
        println!("live journal: {scheme}://{host}:{}/_mock/", addr.port());
    }
    if args.clock_offset != time::Duration::ZERO {
        println!("clock offset: {}s", args.clock_offset.whole_seconds());
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();

    dt_mock::run(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await?;
    Ok(())
}

/// A warning when a file of private tokens can be read by its group or by others
/// (unix permission bits `0o044`); `None` when only its owner can, or elsewhere.
fn secret_file_warning(path: &std::path::Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        (mode & 0o044 != 0).then(|| {
            format!(
                "{} holds private tokens and is readable by others (mode {:o}); run chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(all(test, unix))]
mod secret_file_tests {
    use std::os::unix::fs::PermissionsExt;

    use super::secret_file_warning;

    #[test]
    fn a_tokens_file_readable_by_others_gets_a_warning() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let path = file.path();
        for (mode, warned) in [
            (0o600, false),
            (0o400, false),
            (0o640, true),
            (0o604, true),
            (0o644, true),
        ] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
            let w = secret_file_warning(path);
            assert_eq!(w.is_some(), warned, "mode {mode:o}: {w:?}");
            if let Some(w) = w {
                assert!(
                    w.contains(&format!("mode {mode:o}")) && w.contains("chmod 600"),
                    "{w}"
                );
            }
        }
        assert_eq!(secret_file_warning(&path.join("missing")), None);
    }
}
