//! `dt-mock explain`: would the appliance accept this captured request, and if not,
//! which customer mistake reproduces its signature? The secret is read from the
//! environment or a file and never printed.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use dt_explain::{explain_with, parse_any, Captured, ExplainOptions};
use dt_protocol::{parse_dtapi_date, parse_signed_duration, Secret};

/// Arguments of `dt-mock explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A captured request: a curl command line, a raw HTTP request, a HAR file, or
    /// `Name: value` header lines; `-` or nothing reads standard input.
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Instead of a capture: the request target (path and query as sent).
    #[arg(long, requires_all = ["token", "date", "signature"])]
    pub target: Option<String>,
    /// With --target: the DTAPI-Token sent.
    #[arg(long)]
    pub token: Option<String>,
    /// With --target: the DTAPI-Date sent.
    #[arg(long)]
    pub date: Option<String>,
    /// With --target: the DTAPI-Signature sent.
    #[arg(long)]
    pub signature: Option<String>,
    /// With --target: the HTTP method.
    #[arg(long, default_value = "GET")]
    pub method: String,
    /// With --target: the request body (POST).
    #[arg(long)]
    pub body: Option<String>,
    /// The private token, if the customer shared it (never printed). Prefer a file.
    #[arg(long, env = "DT_API_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// A file holding the private token (trailing newline kept: it may be the bug).
    #[arg(long, value_name = "FILE", conflicts_with = "secret")]
    pub secret_file: Option<PathBuf>,
    /// The public token the secret belongs to (default: the captured DTAPI-Token).
    #[arg(long)]
    pub public: Option<String>,
    /// The appliance's time when the request was sent (default: the capture's own
    /// DTAPI-Date shifted by --skew, or now).
    #[arg(long, value_name = "TIME")]
    pub server_time: Option<String>,
    /// How far the appliance's clock was from the capture's DTAPI-Date (e.g. 31m);
    /// used when --server-time is not given.
    #[arg(long, allow_hyphen_values = true)]
    pub skew: Option<String>,
    /// The allowed skew.
    #[arg(long, default_value = "30m")]
    pub max_skew: String,
    /// A path prefix a proxy may add or strip (repeatable), e.g. /darktrace.
    #[arg(long = "prefix")]
    pub prefixes: Vec<String>,
    /// Print the explanation as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command; returns whether the appliance would accept the request.
pub fn run(a: ExplainArgs) -> Result<bool> {
    let captured = match &a.target {
        Some(target) => Captured::from_headers(
            &a.method,
            target,
            a.token.as_deref(),
            a.date.as_deref(),
            a.signature.as_deref(),
            a.body.as_deref().unwrap_or("").as_bytes(),
        ),
        None => {
            let mut text = String::new();
            match &a.input {
                Some(p) if p.as_os_str() != "-" => {
                    text = std::fs::read_to_string(p)
                        .with_context(|| format!("reading {}", p.display()))?
                }
                _ => {
                    std::io::stdin()
                        .read_to_string(&mut text)
                        .context("reading standard input")?;
                }
            }
            parse_any(&text).context("reading the capture")?
        }
    };
    let secret = match (&a.secret, &a.secret_file) {
        (Some(s), _) => Some(Secret::new(s.as_str())),
        (None, Some(p)) => Some(Secret::new(
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )),
        _ => None,
    };
    let max_skew =
        parse_signed_duration(&a.max_skew).map_err(|e| anyhow::anyhow!("--max-skew: {e}"))?;
    let server_time = match (&a.server_time, &a.skew) {
        (Some(t), _) => parse_dtapi_date(t).map_err(|e| anyhow::anyhow!("--server-time: {e}"))?,
        (None, Some(skew)) => {
            let skew = parse_signed_duration(skew).map_err(|e| anyhow::anyhow!("--skew: {e}"))?;
            let Some(sent) = captured
                .header(dt_protocol::HEADER_DATE)
                .and_then(|d| parse_dtapi_date(d).ok())
            else {
                bail!(
                    "--skew needs a capture with a readable DTAPI-Date; give --server-time instead"
                );
            };
            sent + skew
        }
        (None, None) => time::OffsetDateTime::now_utc(),
    };
    let prefixes: Vec<&str> = a.prefixes.iter().map(String::as_str).collect();
    let opts = ExplainOptions {
        secret: secret.as_ref(),
        known_public: a.public.as_deref(),
        server_time,
        max_skew,
        prefixes: &prefixes,
    };
    let e = explain_with(&captured, &opts);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
    } else {
        print!("{}", e.render_text());
    }
    Ok(serde_json::to_value(&e)?["verdict"] == "accepted")
}
