//! `dt-client`: the Darktrace integration client, by hand.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use dt_client::config::{Config, ConfigOverrides, EnvCredentials, Mode, Protocol};
use dt_client::health::{self, Health};
use dt_client::transport::{Transport, TransportSettings};
use dt_protocol::{parse_dtapi_date, sign, string_to_sign, DateFormat, Secret};

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
