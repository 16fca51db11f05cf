//! `dt-client`: the Darktrace integration client, by hand.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use dt_client::action::Action;
use dt_client::config::{Config, ConfigOverrides, EnvCredentials, Mode, Protocol};
use dt_client::health::{self, Health};
use dt_client::output::{render_summary, JsonLines, WithProgressBar};
use dt_client::run::{identifiers, parse_time, query_window, run_one, TimeMode};
use dt_client::scheduler::{schedule, shared, ActionReport, Plan, RunOptions, Sink};
use dt_client::transport::{Transport, TransportSettings};
use dt_protocol::{parse_dtapi_date, sign, string_to_sign, DateFormat, Secret};

// See the workspace Cargo.toml: the normalizer allocates a string per field per record.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The security-validation platform's Darktrace integration client.
#[derive(Debug, Parser)]
#[command(name = "dt-client", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Test connectivity and credentials (MSI: GET /status; legacy: GET /devices?seensince=7days).
    Test {
        #[command(flatten)]
        conn: ConnArgs,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the string to sign and the signature for a request (for support).
    Sign(SignArgs),
    /// Run one validation action's queries over its windows; normalized events and
    /// alerts as JSON lines, a summary on stderr.
    Run(RunArgs),
    /// The platform's Test query: the configured event queries once over [from, to],
    /// normalized but not correlated to an action.
    Query(QueryArgs),
}

/// The action's identifiers.
#[derive(Debug, Args)]
struct IdentifierArgs {
    /// A source IP of the action (repeat, or separate with commas).
    #[arg(long = "src-ip", value_name = "IP", value_delimiter = ',')]
    src_ip: Vec<String>,
    /// A destination IP of the action (repeat, or separate with commas).
    #[arg(long = "dest-ip", value_name = "IP", value_delimiter = ',')]
    dest_ip: Vec<String>,
    /// A hostname of the action (repeat, or separate with commas).
    #[arg(long = "hostname", value_name = "NAME", value_delimiter = ',')]
    hostname: Vec<String>,
}

/// Where the results go.
#[derive(Debug, Args)]
struct OutputArgs {
    /// Write the JSON lines here instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write the summary and every query's outcome as JSON here.
    #[arg(long, value_name = "FILE")]
    summary_json: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Force use_advanced_search on.
    #[arg(long)]
    advanced_search: bool,
    #[command(flatten)]
    ids: IdentifierArgs,
    /// The action's start: RFC 3339, YYYY-MM-DD HH:MM:SS (UTC), now, or now-1h.
    #[arg(long)]
    start: String,
    /// The action's id in logs and the summary.
    #[arg(long, default_value = "action")]
    action_id: String,
    /// Run the schedule on a virtual clock: no waiting (signatures still carry the real time).
    #[arg(long)]
    virtual_time: bool,
    /// No progress bar, even on a terminal.
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct QueryArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Force use_advanced_search on.
    #[arg(long)]
    advanced_search: bool,
    /// The window's start (default: --to minus query_time).
    #[arg(long)]
    from: Option<String>,
    /// The window's end (default: now).
    #[arg(long)]
    to: Option<String>,
    /// Identifiers for the %IPS% / %HOSTNAMES% macros (queries whose list is empty are skipped).
    #[command(flatten)]
    ids: IdentifierArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Where the appliance is and how to reach it. Flags override the config file; the
/// environment (DT_API_KEY, DT_API_SECRET) fills credentials still unset.
#[derive(Debug, Args)]
struct ConnArgs {
    /// A TOML or JSON settings file (see fixtures/client/example-config.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The appliance's hostname or IP address.
    #[arg(long)]
    host: Option<String>,
    /// The API port (default 443).
    #[arg(long)]
    port: Option<u16>,
    /// http or https (default https).
    #[arg(long, value_parser = parse_protocol)]
    protocol: Option<Protocol>,
    /// The public token (or DT_API_KEY).
    #[arg(long)]
    api_key: Option<String>,
    /// The private token. Prefer DT_API_SECRET: flags show in process lists.
    #[arg(long)]
    api_secret: Option<String>,
    /// Per-request timeout in seconds (default 30).
    #[arg(long)]
    timeout: Option<u64>,
    /// Verify the appliance's certificate.
    #[arg(long, conflicts_with = "insecure")]
    verify_ssl: bool,
    /// Do not verify the appliance's certificate.
    #[arg(long)]
    insecure: bool,
    /// An extra CA certificate (PEM) to trust.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// A proxy URL, e.g. http://user:pass@proxy:3128.
    #[arg(long)]
    proxy: Option<String>,
    /// msi or legacy (default msi).
    #[arg(long, value_parser = parse_mode)]
    mode: Option<Mode>,
}

#[derive(Debug, Args)]
struct SignArgs {
    /// The request target: path and query exactly as sent, e.g. "/status".
    #[arg(long)]
    target: String,
    /// The DTAPI-Date value, exactly as it will be sent ("now" for the current UTC time).
    #[arg(long, default_value = "now")]
    date: String,
    /// The HTTP method.
    #[arg(long, default_value = "GET")]
    method: String,
    /// A JSON body (POST): the signature covers path?body instead of the query.
    #[arg(long)]
    body: Option<String>,
    /// The public token (or DT_API_KEY).
    #[arg(long, env = "DT_API_KEY")]
    api_key: String,
    /// The private token (or DT_API_SECRET).
    #[arg(long, env = "DT_API_SECRET", hide_env_values = true)]
    api_secret: String,
    /// Also print a curl command for this base URL (the secret is not in it).
    #[arg(long, value_name = "URL")]
    curl: Option<String>,
}

fn parse_protocol(s: &str) -> Result<Protocol, String> {
    match s.to_ascii_lowercase().as_str() {
        "http" => Ok(Protocol::Http),
        "https" => Ok(Protocol::Https),
        _ => Err(format!("unknown protocol {s:?}: expected http or https")),
    }
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    match s.to_ascii_lowercase().as_str() {
        "msi" => Ok(Mode::Msi),
        "legacy" => Ok(Mode::Legacy),
        _ => Err(format!("unknown mode {s:?}: expected msi or legacy")),
    }
}

impl ConnArgs {
    fn resolve(&self) -> Result<Config> {
        let overrides = ConfigOverrides {
            host: self.host.clone(),
            port: self.port,
            protocol: self.protocol,
            api_key: self.api_key.clone(),
            api_secret: self.api_secret.clone().map(Secret::new),
            timeout: self.timeout,
            verify_ssl: if self.verify_ssl {
                Some(true)
            } else if self.insecure {
                Some(false)
            } else {
                None
            },
            ca_file: self.ca_file.clone(),
            proxy: self.proxy.clone(),
            mode: self.mode,
            ..ConfigOverrides::default()
        };
        let env = EnvCredentials::from_lookup(|k| std::env::var(k).ok());
        Ok(Config::resolve(self.config.as_deref(), &overrides, &env)?)
    }
}

impl OutputArgs {
    fn sink(&self) -> Result<Arc<JsonLines>> {
        let out: Box<dyn Write + Send> = match &self.out {
            Some(path) => Box::new(BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            )),
            None => Box::new(BufWriter::new(std::io::stdout())),
        };
        Ok(Arc::new(JsonLines::new(out)))
    }

    fn finish(&self, lines: &JsonLines, report: &ActionReport) -> Result<ExitCode> {
        lines.finish().context("writing the results")?;
        eprint!("{}", render_summary(&report.summary));
        if let Some(path) = &self.summary_json {
            let text = serde_json::to_string_pretty(report)?;
            std::fs::write(path, text + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(if report.summary.has_failures() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    }
}

fn plan_for(conn: &ConnArgs, advanced_search: bool) -> Result<(Plan, Transport)> {
    let mut config = conn.resolve()?;
    if advanced_search {
        config.use_advanced_search = true;
    }
    for w in config.warnings() {
        eprintln!("warning: {w}");
    }
    let transport = Transport::new(TransportSettings::from_config(&config))?;
    Ok((Plan::new(config)?, transport))
}

fn run_command(a: RunArgs) -> Result<ExitCode> {
    let (plan, transport) = plan_for(&a.conn, a.advanced_search)?;
    let now = time::OffsetDateTime::now_utc();
    let start = parse_time(&a.start, now).map_err(anyhow::Error::msg)?;
    let action = Action::new(
        a.action_id.clone(),
        start,
        &a.ids.src_ip,
        &a.ids.dest_ip,
        &a.ids.hostname,
    )?;
    let slots = schedule(&plan.config, start);
    let lines = a.output.sink()?;
    let time = if a.virtual_time {
        TimeMode::Virtual
    } else {
        TimeMode::Real
    };
    let bar = if time == TimeMode::Real && !a.no_progress && std::io::stderr().is_terminal() {
        let bar = WithProgressBar::new(lines.clone(), slots.len());
        if let Some(first) = slots.first() {
            bar.waiting(format!(
                "first window at {}",
                dt_client::normalize::rfc3339(first.window.issue_at)
            ));
        }
        Some(Arc::new(bar))
    } else {
        None
    };
    let sink: Arc<dyn Sink> = match &bar {
        Some(b) => b.clone(),
        None => lines.clone(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(run_one(
        &transport,
        &plan,
        &shared(action),
        time,
        &*sink,
        &RunOptions::default(),
    ));
    if let Some(b) = &bar {
        b.finish();
    }
    a.output.finish(&lines, &report)
}

fn query_command(a: QueryArgs) -> Result<ExitCode> {
    let (plan, transport) = plan_for(&a.conn, a.advanced_search)?;
    let now = time::OffsetDateTime::now_utc();
    let to = match &a.to {
        Some(t) => parse_time(t, now).map_err(anyhow::Error::msg)?,
        None => now,
    };
    let from = match &a.from {
        Some(f) => parse_time(f, now).map_err(anyhow::Error::msg)?,
        None => to - plan.config.query_time,
    };
    if from > to {
        anyhow::bail!("--from is after --to");
    }
    let ids = identifiers(&a.ids.src_ip, &a.ids.dest_ip, &a.ids.hostname)?;
    let lines = a.output.sink()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(query_window(
        &transport,
        &plan,
        from,
        to,
        &ids,
        &*lines,
        &RunOptions::default(),
    ));
    a.output.finish(&lines, &report)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DT_CLIENT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Test { conn, json } => {
            let config = conn.resolve()?;
            for w in config.warnings() {
                eprintln!("warning: {w}");
            }
            let transport = Transport::new(TransportSettings::from_config(&config))?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let health = rt.block_on(health::check(&transport, config.mode));
            if json {
                println!("{}", serde_json::to_string_pretty(&health)?);
            } else {
                println!("{health}");
            }
            Ok(if matches!(health, Health::Healthy { .. }) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Run(a) => run_command(a),
        Command::Query(a) => query_command(a),
        Command::Sign(a) => {
            let date = if a.date == "now" {
                DateFormat::Compact.format(time::OffsetDateTime::now_utc())
            } else {
                a.date.clone()
            };
            if let Err(e) = parse_dtapi_date(&date) {
                eprintln!("warning: {e}; the appliance would answer API DATE ERROR");
            }
            let signed_target = match &a.body {
                Some(b) if !a.method.eq_ignore_ascii_case("GET") => {
                    let path = a.target.split('?').next().unwrap_or(&a.target);
                    format!("{path}?{b}")
                }
                _ => a.target.clone(),
            };
            let secret = Secret::new(a.api_secret);
            let sts = string_to_sign(&signed_target, &a.api_key, &date);
            let sig = sign(&secret, &signed_target, &a.api_key, &date);
            println!(
                "string to sign: {}",
                serde_json::to_string(&sts).context("quoting")?
            );
            println!("DTAPI-Token: {}", a.api_key);
            println!("DTAPI-Date: {date}");
            println!("DTAPI-Signature: {sig}");
            if let Some(base) = a.curl {
                let mut cmd = format!(
                    "curl -sS -i -X {} '{}{}' -H 'DTAPI-Token: {}' -H 'DTAPI-Date: {}' -H 'DTAPI-Signature: {}'",
                    a.method.to_ascii_uppercase(),
                    base.trim_end_matches('/'),
                    a.target,
                    a.api_key,
                    date,
                    sig
                );
                if let Some(b) = &a.body {
                    cmd.push_str(&format!(
                        " -H 'Content-Type: application/json' --data-raw '{}'",
                        b.replace('\'', "'\\''")
                    ));
                }
                println!("{cmd}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
