//! The admin API from the command line, against a running mock (DECISIONS D4):
//! `dt-mock fault add|list|remove|clear`, `dt-mock clock`, `dt-mock reset`,
//! `dt-mock inject` and `dt-mock journal`.
//!
//! Each command is turned into one [`AdminRequest`] (a pure step, tested without a
//! mock), sent with reqwest, and its answer printed for people or, with `--json`, as
//! JSON.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use crate::faults::{FaultKind, FaultSpec};
use crate::inject::{InjectKind, InjectRequest};

/// Which running mock to talk to.
#[derive(Debug, Clone, Args)]
pub struct MockUrl {
    /// The running mock's base URL (as it printed at start).
    #[arg(long, env = "DT_MOCK_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Do not verify the mock's TLS certificate (a mock started with --tls).
    #[arg(long)]
    pub insecure: bool,
    /// Print the mock's JSON answer instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// The admin commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Add, list, remove or clear run-time faults on a running mock.
    Fault {
        /// What to do with faults.
        #[command(subcommand)]
        action: FaultAction,
    },
    /// Show the clock of a running mock, or set its offset.
    Clock(ClockArgs),
    /// Reset a running mock: the faults and clock offset it started with, an empty journal.
    Reset(MockUrl),
    /// Add a demo detection at the mock's now: a third-party search record, a connection,
    /// and (model-breach) a breach.
    Inject(InjectArgs),
    /// Print the request journal of a running mock.
    Journal(JournalArgs),
}

/// `dt-mock fault ...`.
#[derive(Debug, Subcommand)]
pub enum FaultAction {
    /// Add a fault on a route prefix.
    Add(FaultAddArgs),
    /// List the installed faults.
    List(MockUrl),
    /// Remove one fault by id.
    Remove(FaultRemoveArgs),
    /// Remove every fault.
    Clear(MockUrl),
}

/// What a fault does (as `FaultKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FaultKindArg {
    /// Wait --ms, then answer normally.
    Delay,
    /// Wait a log-normal time with --median-ms and --p99-ms, then answer normally.
    LongTail,
    /// Answer --status instead of the appliance.
    Status,
    /// Answer normally but cut the body in half.
    Truncate,
    /// A fronting proxy's HTML error page with --status.
    Html,
    /// Send the headers, then break the connection.
    Reset,
}

/// `dt-mock fault add`.
#[derive(Debug, Args)]
pub struct FaultAddArgs {
    #[command(flatten)]
    pub mock: MockUrl,
    /// The route prefix it applies to, e.g. /status or /advancedsearch ("/" for every route).
    #[arg(long, default_value = "/")]
    pub route: String,
    /// What the fault does.
    #[arg(long, value_enum)]
    pub kind: FaultKindArg,
    /// Delay in milliseconds (kind delay).
    #[arg(long)]
    pub ms: Option<u64>,
    /// Median delay in milliseconds (kind long-tail).
    #[arg(long)]
    pub median_ms: Option<u64>,
    /// 99th-percentile delay in milliseconds (kind long-tail).
    #[arg(long)]
    pub p99_ms: Option<u64>,
    /// HTTP status to answer (kinds status and html; html defaults to 502).
    #[arg(long)]
    pub status: Option<u16>,
    /// Apply this many times, then pass (default: every time).
    #[arg(long)]
    pub times: Option<u32>,
}

/// `dt-mock fault remove`.
#[derive(Debug, Args)]
pub struct FaultRemoveArgs {
    #[command(flatten)]
    pub mock: MockUrl,
    /// The fault's id (from `fault list`).
    #[arg(long)]
    pub id: u64,
}

/// `dt-mock clock`.
#[derive(Debug, Args)]
pub struct ClockArgs {
    #[command(flatten)]
    pub mock: MockUrl,
    /// Set the offset from the real clock, e.g. 31m (an appliance ahead), -2h, 0s.
    #[arg(long, allow_hyphen_values = true)]
    pub offset: Option<String>,
}

/// `dt-mock inject`.
#[derive(Debug, Args)]
pub struct InjectArgs {
    #[command(flatten)]
    pub mock: MockUrl,
    /// The source IP (a world device for model-breach; see GET /_mock/demo-ips).
    #[arg(long)]
    pub src: String,
    /// The destination IP.
    #[arg(long)]
    pub dest: String,
    /// The host name to record (default: the source device's name).
    #[arg(long)]
    pub host: Option<String>,
    /// What to inject.
    #[arg(long, value_enum, default_value_t = InjectKind::FirewallDeny)]
    pub kind: InjectKind,
    /// The model of a model breach (default: one that fits the destination).
    #[arg(long)]
    pub pid: Option<u32>,
}

/// `dt-mock journal`.
#[derive(Debug, Args)]
pub struct JournalArgs {
    #[command(flatten)]
    pub mock: MockUrl,
    /// Only entries with an id above this.
    #[arg(long, default_value_t = 0)]
    pub since: u64,
    /// At most this many entries.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Keep polling every second and print new entries as they arrive (Ctrl-C stops).
    #[arg(long)]
    pub follow: bool,
}

/// One admin API call.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminRequest {
    /// `GET`, `POST` or `DELETE`.
    pub method: &'static str,
    /// The path and query under the mock's URL, e.g. `/_mock/faults`.
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

impl FaultAddArgs {
    /// The fault this asks for, or what is missing.
    pub fn spec(&self) -> Result<FaultSpec, String> {
        let need = |v: Option<u64>, flag: &str| v.ok_or_else(|| format!("--kind needs {flag}"));
        let kind = match self.kind {
            FaultKindArg::Delay => FaultKind::Delay {
                ms: need(self.ms, "--ms")?,
            },
            FaultKindArg::LongTail => FaultKind::LongTail {
                median_ms: need(self.median_ms, "--median-ms")?,
                p99_ms: need(self.p99_ms, "--p99-ms")?,
            },
            FaultKindArg::Status => FaultKind::Status {
                status: self
                    .status
                    .ok_or_else(|| "--kind status needs --status".to_string())?,
            },
            FaultKindArg::Html => FaultKind::Html {
                status: self.status.unwrap_or(502),
            },
            FaultKindArg::Truncate => FaultKind::Truncate,
            FaultKindArg::Reset => FaultKind::Reset,
        };
        Ok(FaultSpec {
            route: self.route.clone(),
            kind,
            times: self.times,
        })
    }
}

impl AdminCommand {
    /// The mock this command talks to.
    pub fn mock(&self) -> &MockUrl {
        match self {
            AdminCommand::Fault { action } => match action {
                FaultAction::Add(a) => &a.mock,
                FaultAction::List(m) | FaultAction::Clear(m) => m,
                FaultAction::Remove(a) => &a.mock,
            },
            AdminCommand::Clock(a) => &a.mock,
            AdminCommand::Reset(m) => m,
            AdminCommand::Inject(a) => &a.mock,
            AdminCommand::Journal(a) => &a.mock,
        }
    }

    /// The API call this command makes.
    pub fn request(&self) -> Result<AdminRequest, String> {
        let req = |method, path: &str, body| AdminRequest {
            method,
            path: path.to_string(),
            body,
        };
        Ok(match self {
            AdminCommand::Fault { action } => match action {
                FaultAction::Add(a) => {
                    let spec = a.spec()?;
                    req(
                        "POST",
                        "/_mock/faults",
                        Some(serde_json::to_value(spec).map_err(|e| e.to_string())?),
                    )
                }
                FaultAction::List(_) => req("GET", "/_mock/faults", None),
                FaultAction::Clear(_) => req("DELETE", "/_mock/faults", None),
                FaultAction::Remove(a) => req("DELETE", &format!("/_mock/faults/{}", a.id), None),
            },
            AdminCommand::Clock(a) => match &a.offset {
                Some(o) => {
                    dt_protocol::parse_signed_duration(o).map_err(|e| e.to_string())?;
                    req("POST", "/_mock/clock", Some(json!({ "offset": o })))
                }
                None => req("GET", "/_mock/clock", None),
            },
            AdminCommand::Reset(_) => req("POST", "/_mock/reset", None),
            AdminCommand::Inject(a) => {
                let body = InjectRequest {
                    src: a.src.clone(),
                    dest: a.dest.clone(),
                    host: a.host.clone(),
                    kind: a.kind,
                    pid: a.pid,
                };
                req(
                    "POST",
                    "/_mock/inject",
                    Some(serde_json::to_value(body).map_err(|e| e.to_string())?),
                )
            }
            AdminCommand::Journal(a) => {
                let mut path = format!("/_mock/journal?since={}", a.since);
                if let Some(l) = a.limit {
                    path.push_str(&format!("&limit={l}"));
                }
                req("GET", &path, None)
            }
        })
    }
}

/// An HTTP client for the admin API.
pub fn http_client(insecure: bool) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .no_proxy()
        // A 302 means the admin API is off (the appliance's login redirect).
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30));
    if insecure {
        b = b.danger_accept_invalid_certs(true);
    }
    Ok(b.build()?)
}

/// Sends one admin request; the answer's JSON, or an error with the mock's message.
pub async fn send(http: &reqwest::Client, base_url: &str, r: &AdminRequest) -> Result<Value> {
    let url = format!("{}{}", base_url.trim_end_matches('/'), r.path);
    let method = reqwest::Method::from_bytes(r.method.as_bytes())?;
    let mut b = http.request(method, &url);
    if let Some(body) = &r.body {
        b = b.json(body);
    }
    let resp = b
        .send()
        .await
        .with_context(|| format!("cannot reach the mock at {base_url}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if (status == reqwest::StatusCode::NOT_FOUND && text.is_empty())
        || status == reqwest::StatusCode::FOUND
    {
        bail!("{url} answered {status}: is the admin API on (no --no-admin)?");
    }
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{url} answered {status} with non-JSON: {text:.200}"))?;
    if !status.is_success() {
        let msg = value
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| value.to_string());
        bail!("{url} answered {status}: {msg}");
    }
    Ok(value)
}

/// Runs an admin command and prints its answer.
pub async fn run(cmd: AdminCommand) -> Result<()> {
    let mock = cmd.mock().clone();
    let request = cmd.request().map_err(anyhow::Error::msg)?;
    let http = http_client(mock.insecure)?;
    if let AdminCommand::Journal(a) = &cmd {
        if a.follow {
            return follow(&http, &mock, a).await;
        }
    }
    let v = send(&http, &mock.url, &request).await?;
    if mock.json {
        match (&cmd, v.as_array()) {
            (AdminCommand::Journal(_), Some(entries)) => {
                for e in entries {
                    println!("{e}");
                }
            }
            _ => println!("{}", serde_json::to_string_pretty(&v)?),
        }
        return Ok(());
    }
    println!("{}", render(&cmd, &v));
    Ok(())
}

async fn follow(http: &reqwest::Client, mock: &MockUrl, a: &JournalArgs) -> Result<()> {
    let mut since = a.since;
    loop {
        let r = AdminRequest {
            method: "GET",
            path: format!("/_mock/journal?since={since}"),
            body: None,
        };
        let v = send(http, &mock.url, &r).await?;
        for e in v.as_array().into_iter().flatten() {
            since = since.max(e.get("id").and_then(Value::as_u64).unwrap_or(since));
            if mock.json {
                println!("{e}");
            } else {
                println!("{}", journal_line(e));
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One journal entry on one line: id, time, method, target, status, verdict, reason.
pub fn journal_line(e: &Value) -> String {
    let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut line = format!(
        "#{} {} {} {} {} {}",
        e.get("id").and_then(Value::as_u64).unwrap_or(0),
        s("time"),
        s("method"),
        s("target").escape_debug(),
        e.get("status").and_then(Value::as_u64).unwrap_or(0),
        s("verdict"),
    );
    let reason = s("reason");
    if !reason.is_empty() {
        line.push_str(&format!(": {}", reason.escape_debug()));
    }
    if let Some(m) = e.get("diagnosis").and_then(|d| d.get("mistake")) {
        let m = m
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| m.to_string());
        line.push_str(&format!(" (likely cause: {})", m.escape_debug()));
    }
    line
}

fn render(cmd: &AdminCommand, v: &Value) -> String {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
    match cmd {
        AdminCommand::Fault { action } => match action {
            FaultAction::Add(_) => format!("added fault #{}", n(v, "id")),
            FaultAction::Clear(_) => "faults cleared".into(),
            FaultAction::Remove(a) => format!("removed fault #{}", a.id),
            FaultAction::List(_) => {
                let list = v.as_array().cloned().unwrap_or_default();
                if list.is_empty() {
                    return "no faults".into();
                }
                list.iter()
                    .map(|f| {
                        let mut o = f.clone();
                        let id = n(f, "id");
                        if let Some(m) = o.as_object_mut() {
                            m.remove("id");
                        }
                        format!("#{id} {o}")
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        },
        AdminCommand::Clock(_) => format!(
            "mock time {} (offset {}s, allowed skew ±{}s)",
            s(v, "time"),
            n(v, "offset_seconds"),
            n(v, "max_skew_seconds")
        ),
        AdminCommand::Reset(_) => "reset: starting faults and clock, empty journal".into(),
        AdminCommand::Inject(_) => {
            let mut out = format!(
                "injected {} {} -> {} at {}: _id {}, uid {}",
                s(v, "kind"),
                s(v, "src"),
                s(v, "dest"),
                s(v, "time"),
                s(v, "_id"),
                s(v, "uid"),
            );
            if let Some(p) = v.get("pbid").and_then(Value::as_u64) {
                out.push_str(&format!(", pbid {p} ({})", s(v, "model")));
            }
            out
        }
        AdminCommand::Journal(_) => v
            .as_array()
            .map(|a| a.iter().map(journal_line).collect::<Vec<_>>().join("\n"))
            .unwrap_or_default(),
    }
}

/// Parses admin command lines as `dt-mock` does (for tests and embedding).
pub fn parse<I, T>(args: I) -> Result<AdminCommand, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    #[derive(Debug, clap::Parser)]
    #[command(name = "dt-mock")]
    struct Wrapper {
        #[command(subcommand)]
        command: AdminCommand,
    }
    use clap::Parser;
    Wrapper::try_parse_from(args).map(|w| w.command)
}
