//! The settings model (DECISIONS D5), mirroring the platform's Darktrace settings page.
//!
//! The file (TOML or JSON) uses the platform's units: `timeout` and `query_interval` in
//! seconds, `query_time`, `delay_time` and `correlation_query_interval` in minutes,
//! `event_time_adjustment` in signed seconds. In memory every one of them is a
//! duration, so no caller ever multiplies by 60.
//!
//! Pinned here (D5 is silent on these):
//! - Unknown keys, at the top level and inside `queries` entries, are errors naming the
//!   key; so are wrong types and out-of-range values, each naming the setting.
//! - `protocol` and `mode` are matched case-insensitively (`Https`, as the settings page
//!   spells it, is accepted). JSON `null` means "not set" (the default).
//! - Durations are whole numbers; each is capped at one year, only to keep the time
//!   arithmetic far from overflow.
//! - `field_map` names normalized fields ([`Field`]); each takes a list of column
//!   paths, or one path as a string. An empty list switches that field off.
//! - Query names must be unique and non-blank (results are reported per query name).
//! - A relative `ca_file` in a loaded file is resolved against the file's directory.
//! - Credentials: flags ([`ConfigOverrides`]) beat the file, and `DT_API_KEY` /
//!   `DT_API_SECRET` fill only what is still empty ([`Config::env_fallback`]).
//! - Loading checks values; presence of `host`, `api_key` and `api_secret` is checked by
//!   [`Config::validate`], after flags and the environment had their say
//!   ([`Config::resolve`] does the whole sequence).

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use dt_protocol::Secret;
use serde_json::Value;
use time::Duration;

use crate::fieldmap::{check_path, Field};

/// The environment variable that supplies the public token when nothing else does.
pub const ENV_API_KEY: &str = "DT_API_KEY";
/// The environment variable that supplies the private token when nothing else does.
pub const ENV_API_SECRET: &str = "DT_API_SECRET";

/// Longest accepted duration setting (one year), an overflow guard.
pub const MAX_DURATION_SECS: i64 = 365 * 24 * 3600;

/// `IP Query`, the first D8 default query.
pub const DEFAULT_IP_QUERY: &str = "@fields.src_ip:(%IPS%) OR @fields.dest_ip:(%IPS%)";
/// `Hostname Query`, the second D8 default query.
pub const DEFAULT_HOSTNAME_QUERY: &str = "@fields.host:(%HOSTNAMES%)";

/// Why settings were refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The file's extension is neither `.toml` nor `.json`.
    #[error("config file {}: unknown format, expected a .toml or .json file", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The file is not valid TOML or JSON.
    #[error("config is not valid {format}: {message}")]
    Syntax {
        /// `TOML` or `JSON`.
        format: &'static str,
        /// The parser's message.
        message: String,
    },
    /// A key that is not a setting.
    #[error("unknown setting `{key}`")]
    UnknownKey {
        /// The key, with its path (`queries[1].nmae`).
        key: String,
    },
    /// A setting with an unusable value.
    #[error("invalid setting `{setting}`: {reason}")]
    Invalid {
        /// The setting, with its path (`field_map.host`, `queries[0].query`).
        setting: String,
        /// What is wrong and what is expected.
        reason: String,
    },
}

fn invalid(setting: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.into(),
        reason: reason.into(),
    }
}

/// `protocol`: how to reach the appliance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// Plain HTTP.
    Http,
    /// HTTPS (the default).
    #[default]
    Https,
}

impl Protocol {
    /// The URL scheme.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Https => "https",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "http" => Ok(Protocol::Http),
            "https" => Ok(Protocol::Https),
            _ => Err(format!("unknown protocol {s:?}: expected http or https")),
        }
    }
}

/// `mode`: which integration flow to run (D9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The MSI integration (the default).
    #[default]
    Msi,
    /// The Legacy (Classic) integration.
    Legacy,
}

impl Mode {
    /// The setting's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Msi => "msi",
            Mode::Legacy => "legacy",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "msi" => Ok(Mode::Msi),
            "legacy" => Ok(Mode::Legacy),
            _ => Err(format!("unknown mode {s:?}: expected msi or legacy")),
        }
    }
}

/// One advanced-search query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedQuery {
    /// Its name, as results report it.
    pub name: String,
    /// The template, with `%IPS%` / `%HOSTNAMES%` macros (D8).
    pub query: String,
}

impl NamedQuery {
    /// A query.
    pub fn new(name: impl Into<String>, query: impl Into<String>) -> Self {
        NamedQuery {
            name: name.into(),
            query: query.into(),
        }
    }
}

/// The two D8 default queries.
pub fn default_queries() -> Vec<NamedQuery> {
    vec![
        NamedQuery::new("IP Query", DEFAULT_IP_QUERY),
        NamedQuery::new("Hostname Query", DEFAULT_HOSTNAME_QUERY),
    ]
}

/// The integration's settings (D5). `Debug` never shows the private token, nor
/// credentials in the proxy URL.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// The appliance's hostname or IP address (no scheme, no port).
    pub host: String,
    /// Port, default 443.
    pub port: u16,
    /// http or https, default https.
    pub protocol: Protocol,
    /// The public token.
    pub api_key: String,
    /// The private token.
    pub api_secret: Secret,
    /// Per-request timeout, default 30 s.
    pub timeout: std::time::Duration,
    /// Verify the appliance's certificate, default false (warned about).
    pub verify_ssl: bool,
    /// An extra trusted CA certificate (PEM).
    pub ca_file: Option<PathBuf>,
    /// A proxy URL (`http://`, `https://`, `socks5://`, `socks5h://`).
    pub proxy: Option<String>,
    /// Events from advanced search (and custom queries) instead of `/details`.
    pub use_advanced_search: bool,
    /// Advanced-search queries, default the two D8 queries.
    pub queries: Vec<NamedQuery>,
    /// User field map: per field, its candidate columns (only overrides; D12).
    pub field_map: BTreeMap<Field, Vec<String>>,
    /// Query time Q, default 5 min.
    pub query_time: Duration,
    /// Delay time D, default 0.
    pub delay_time: Duration,
    /// Query interval I, default 30 s.
    pub query_interval: Duration,
    /// Run the correlation query (alerts), default false.
    pub correlation_query_enabled: bool,
    /// The correlation query template.
    pub correlation_query: Option<String>,
    /// Correlation query interval Ic, default 1 min.
    pub correlation_query_interval: Duration,
    /// Report the security technology that wrote a record, default true.
    pub discover_network_devices: bool,
    /// Keep uncorrelated records with a reason, default false.
    pub save_suspicious_events: bool,
    /// Event time adjustment E (signed), default 0.
    pub event_time_adjustment: Duration,
    /// Cap on unique events and, separately, unique alerts per action, default 10000.
    pub limit: u64,
    /// msi or legacy, default msi.
    pub mode: Mode,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: String::new(),
            port: 443,
            protocol: Protocol::Https,
            api_key: String::new(),
            api_secret: Secret::new(""),
            timeout: std::time::Duration::from_secs(30),
            verify_ssl: false,
            ca_file: None,
            proxy: None,
            use_advanced_search: false,
            queries: default_queries(),
            field_map: BTreeMap::new(),
            query_time: Duration::minutes(5),
            delay_time: Duration::ZERO,
            query_interval: Duration::seconds(30),
            correlation_query_enabled: false,
            correlation_query: None,
            correlation_query_interval: Duration::minutes(1),
            discover_network_devices: true,
            save_suspicious_events: false,
            event_time_adjustment: Duration::ZERO,
            limit: 10_000,
            mode: Mode::Msi,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("protocol", &self.protocol)
            .field("api_key", &self.api_key)
            .field("api_secret", &self.api_secret)
            .field("timeout", &self.timeout)
            .field("verify_ssl", &self.verify_ssl)
            .field("ca_file", &self.ca_file)
            .field("proxy", &self.proxy.as_deref().map(redact_userinfo))
            .field("use_advanced_search", &self.use_advanced_search)
            .field("queries", &self.queries)
            .field("field_map", &self.field_map)
            .field("query_time", &self.query_time)
            .field("delay_time", &self.delay_time)
            .field("query_interval", &self.query_interval)
            .field("correlation_query_enabled", &self.correlation_query_enabled)
            .field("correlation_query", &self.correlation_query)
            .field(
                "correlation_query_interval",
                &self.correlation_query_interval,
            )
            .field("discover_network_devices", &self.discover_network_devices)
            .field("save_suspicious_events", &self.save_suspicious_events)
            .field("event_time_adjustment", &self.event_time_adjustment)
            .field("limit", &self.limit)
            .field("mode", &self.mode)
            .finish()
    }
}

/// `scheme://user:pass@host` → `scheme://[redacted]@host`.
fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://[redacted]@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// Values from the command line; each `Some` replaces the file's value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigOverrides {
    /// `host`.
    pub host: Option<String>,
    /// `port`.
    pub port: Option<u16>,
    /// `protocol`.
    pub protocol: Option<Protocol>,
    /// `api_key`.
    pub api_key: Option<String>,
    /// `api_secret`.
    pub api_secret: Option<Secret>,
    /// `timeout`, in seconds.
    pub timeout: Option<u64>,
    /// `verify_ssl`.
    pub verify_ssl: Option<bool>,
    /// `ca_file`.
    pub ca_file: Option<PathBuf>,
    /// `proxy`.
    pub proxy: Option<String>,
    /// `mode`.
    pub mode: Option<Mode>,
    /// `limit`.
    pub limit: Option<u64>,
    /// `use_advanced_search`.
    pub use_advanced_search: Option<bool>,
}

/// Credentials from the environment (`DT_API_KEY`, `DT_API_SECRET`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvCredentials {
    /// `DT_API_KEY`.
    pub api_key: Option<String>,
    /// `DT_API_SECRET`.
    pub api_secret: Option<Secret>,
}

impl EnvCredentials {
    /// Reads the two variables through `lookup` (pass `|k| std::env::var(k).ok()`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        EnvCredentials {
            api_key: lookup(ENV_API_KEY),
            api_secret: lookup(ENV_API_SECRET).map(Secret::new),
        }
    }
}

/// The top-level keys of the file, in the order of the settings page.
pub const SETTINGS: [&str; 23] = [
    "host",
    "port",
    "protocol",
    "api_key",
    "api_secret",
    "timeout",
    "verify_ssl",
    "ca_file",
    "proxy",
    "use_advanced_search",
    "queries",
    "field_map",
    "query_time",
    "delay_time",
    "query_interval",
    "correlation_query_enabled",
    "correlation_query",
    "correlation_query_interval",
    "discover_network_devices",
    "save_suspicious_events",
    "event_time_adjustment",
    "limit",
    "mode",
];

impl Config {
    /// Parses TOML settings and checks their values (not yet their presence).
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            format: "TOML",
            message: e.to_string(),
        })?;
        let value = serde_json::to_value(table).map_err(|e| ConfigError::Syntax {
            format: "TOML",
            message: e.to_string(),
        })?;
        Self::from_value(value)
    }

    /// Parses JSON settings and checks their values (not yet their presence).
    pub fn from_json_str(text: &str) -> Result<Config, ConfigError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ConfigError::Syntax {
            format: "JSON",
            message: e.to_string(),
        })?;
        Self::from_value(value)
    }

    /// Reads a `.toml` or `.json` file. A relative `ca_file` is taken from the file's
    /// directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let parse: fn(&str) -> Result<Config, ConfigError> = match ext.as_deref() {
            Some("toml") => Config::from_toml_str,
            Some("json") => Config::from_json_str,
            _ => {
                return Err(ConfigError::UnknownFormat {
                    path: path.to_path_buf(),
                })
            }
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = parse(&text)?;
        if let Some(ca) = &config.ca_file {
            if ca.is_relative() {
                if let Some(dir) = path.parent() {
                    config.ca_file = Some(dir.join(ca));
                }
            }
        }
        Ok(config)
    }

    /// The whole sequence the command line needs: the file (or the defaults), then the
    /// flags, then the environment for still-empty credentials, then [`Config::validate`].
    pub fn resolve(
        file: Option<&Path>,
        overrides: &ConfigOverrides,
        env: &EnvCredentials,
    ) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        config.apply(overrides);
        config.env_fallback(env);
        config.validate()?;
        Ok(config)
    }

    /// Applies command-line values over the file's.
    pub fn apply(&mut self, o: &ConfigOverrides) {
        if let Some(v) = &o.host {
            self.host = v.clone();
        }
        if let Some(v) = o.port {
            self.port = v;
        }
        if let Some(v) = o.protocol {
            self.protocol = v;
        }
        if let Some(v) = &o.api_key {
            self.api_key = v.clone();
        }
        if let Some(v) = &o.api_secret {
            self.api_secret = v.clone();
        }
        if let Some(v) = o.timeout {
            self.timeout = std::time::Duration::from_secs(v);
        }
        if let Some(v) = o.verify_ssl {
            self.verify_ssl = v;
        }
        if let Some(v) = &o.ca_file {
            self.ca_file = Some(v.clone());
        }
        if let Some(v) = &o.proxy {
            self.proxy = Some(v.clone());
        }
        if let Some(v) = o.mode {
            self.mode = v;
        }
        if let Some(v) = o.limit {
            self.limit = v;
        }
        if let Some(v) = o.use_advanced_search {
            self.use_advanced_search = v;
        }
    }

    /// Fills `api_key` / `api_secret` from the environment when they are still empty.
    pub fn env_fallback(&mut self, env: &EnvCredentials) {
        if self.api_key.trim().is_empty() {
            if let Some(k) = &env.api_key {
                self.api_key = k.clone();
            }
        }
        if self.api_secret.is_empty() {
            if let Some(s) = &env.api_secret {
                self.api_secret = s.clone();
            }
        }
    }

    /// Everything [`Config::check_values`] checks, plus that `host`, `api_key` and
    /// `api_secret` are set.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.host.trim().is_empty() {
            return Err(invalid(
                "host",
                "must be set: the appliance's hostname or IP address",
            ));
        }
        if self.api_key.trim().is_empty() {
            return Err(invalid(
                "api_key",
                format!("must be set (the public token): in the config file, with a flag, or in {ENV_API_KEY}"),
            ));
        }
        if self.api_secret.expose_secret().trim().is_empty() {
            return Err(invalid(
                "api_secret",
                format!("must be set (the private token): in the config file, with a flag, or in {ENV_API_SECRET}"),
            ));
        }
        self.check_values()
    }

    /// Checks every value that is set; missing credentials and host are left to
    /// [`Config::validate`].
    pub fn check_values(&self) -> Result<(), ConfigError> {
        if !self.host.is_empty() {
            check_host(&self.host)?;
        }
        if self.port == 0 {
            return Err(invalid("port", "must be between 1 and 65535"));
        }
        if self.timeout.is_zero() {
            return Err(invalid("timeout", "must be at least 1 second"));
        }
        if self.timeout.as_secs() > MAX_DURATION_SECS as u64 {
            return Err(invalid(
                "timeout",
                format!("must be at most {MAX_DURATION_SECS} seconds"),
            ));
        }
        if let Some(proxy) = &self.proxy {
            check_proxy(proxy)?;
        }
        if let Some(ca) = &self.ca_file {
            if ca.as_os_str().is_empty() {
                return Err(invalid("ca_file", "must be a path to a PEM file"));
            }
        }
        check_duration("query_time", self.query_time, Unit::Minutes, 1)?;
        check_duration("delay_time", self.delay_time, Unit::Minutes, 0)?;
        check_duration("query_interval", self.query_interval, Unit::Seconds, 1)?;
        check_duration(
            "correlation_query_interval",
            self.correlation_query_interval,
            Unit::Minutes,
            1,
        )?;
        if self.event_time_adjustment.whole_seconds().abs() > MAX_DURATION_SECS {
            return Err(invalid(
                "event_time_adjustment",
                format!("must be within ±{MAX_DURATION_SECS} seconds"),
            ));
        }
        if self.limit == 0 {
            return Err(invalid("limit", "must be at least 1"));
        }
        let mut names: Vec<&str> = Vec::new();
        for (i, q) in self.queries.iter().enumerate() {
            if q.name.trim().is_empty() {
                return Err(invalid(format!("queries[{i}].name"), "must not be empty"));
            }
            if q.query.trim().is_empty() {
                return Err(invalid(format!("queries[{i}].query"), "must not be empty"));
            }
            if names.contains(&q.name.as_str()) {
                return Err(invalid(
                    format!("queries[{i}].name"),
                    format!("duplicate query name {:?}: names must be unique", q.name),
                ));
            }
            names.push(&q.name);
        }
        for (field, paths) in &self.field_map {
            for p in paths {
                check_path(p).map_err(|e| invalid(format!("field_map.{field}"), e.to_string()))?;
            }
        }
        if self.correlation_query_enabled
            && self
                .correlation_query
                .as_deref()
                .is_none_or(|q| q.trim().is_empty())
        {
            return Err(invalid(
                "correlation_query",
                "must be set when correlation_query_enabled is true",
            ));
        }
        Ok(())
    }

    /// Settings that are valid but worth a warning, for the command line to print.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.protocol == Protocol::Https && !self.verify_ssl {
            w.push(
                "verify_ssl is off: the appliance's certificate is not checked (set verify_ssl = true, and ca_file for a private CA)"
                    .to_string(),
            );
        }
        if !self.use_advanced_search && self.queries != default_queries() {
            w.push(
                "custom queries are configured but use_advanced_search is off: they will not run"
                    .to_string(),
            );
        }
        if self.use_advanced_search && self.queries.is_empty() {
            w.push("use_advanced_search is on but no queries are configured: no events will be collected".to_string());
        }
        if self.correlation_query_enabled && !self.use_advanced_search {
            w.push("correlation_query_enabled: the correlation query runs through advanced search even though use_advanced_search is off".to_string());
        }
        w
    }

    /// `protocol://host:port`, IPv6 hosts bracketed.
    pub fn base_url(&self) -> String {
        let host = self.host.trim();
        if host.parse::<Ipv6Addr>().is_ok() {
            format!("{}://[{}]:{}", self.protocol, host, self.port)
        } else {
            format!("{}://{}:{}", self.protocol, host, self.port)
        }
    }

    /// `limit` as a count.
    pub fn limit_usize(&self) -> usize {
        usize::try_from(self.limit).unwrap_or(usize::MAX)
    }

    /// Advanced-search `size`: min(limit, 10000) (D7).
    pub fn page_size(&self) -> u64 {
        self.limit.min(10_000)
    }

    fn from_value(value: Value) -> Result<Config, ConfigError> {
        let Value::Object(mut map) = value else {
            return Err(ConfigError::Syntax {
                format: "settings",
                message: "the top level must be a table/object of settings".into(),
            });
        };
        if let Some(key) = map.keys().find(|k| !SETTINGS.contains(&k.as_str())) {
            return Err(ConfigError::UnknownKey { key: key.clone() });
        }
        // `null` means "not set".
        map.retain(|_, v| !v.is_null());
        let mut c = Config::default();
        if let Some(v) = map.remove("host") {
            c.host = string("host", v)?.trim().to_string();
        }
        if let Some(v) = map.remove("port") {
            let n = integer("port", &v)?;
            c.port = u16::try_from(n)
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| invalid("port", format!("must be between 1 and 65535, not {n}")))?;
        }
        if let Some(v) = map.remove("protocol") {
            c.protocol = string("protocol", v)?
                .parse()
                .map_err(|e: String| invalid("protocol", e))?;
        }
        if let Some(v) = map.remove("api_key") {
            c.api_key = string("api_key", v)?;
        }
        if let Some(v) = map.remove("api_secret") {
            match v {
                Value::String(s) => c.api_secret = Secret::new(s),
                // Never echo the value: it is the private token.
                _ => return Err(invalid("api_secret", "must be a string")),
            }
        }
        if let Some(v) = map.remove("timeout") {
            let n = integer("timeout", &v)?;
            if n < 1 {
                return Err(invalid(
                    "timeout",
                    format!("must be at least 1 second, not {n}"),
                ));
            }
            c.timeout = std::time::Duration::from_secs(n.unsigned_abs());
        }
        if let Some(v) = map.remove("verify_ssl") {
            c.verify_ssl = boolean("verify_ssl", &v)?;
        }
        if let Some(v) = map.remove("ca_file") {
            c.ca_file = Some(PathBuf::from(string("ca_file", v)?));
        }
        if let Some(v) = map.remove("proxy") {
            let p = string("proxy", v)?;
            c.proxy = if p.trim().is_empty() {
                None
            } else {
                Some(p.trim().to_string())
            };
        }
        if let Some(v) = map.remove("use_advanced_search") {
            c.use_advanced_search = boolean("use_advanced_search", &v)?;
        }
        if let Some(v) = map.remove("queries") {
            c.queries = queries(v)?;
        }
        if let Some(v) = map.remove("field_map") {
            c.field_map = field_map(v)?;
        }
        if let Some(v) = map.remove("query_time") {
            c.query_time = duration("query_time", &v, Unit::Minutes)?;
        }
        if let Some(v) = map.remove("delay_time") {
            c.delay_time = duration("delay_time", &v, Unit::Minutes)?;
        }
        if let Some(v) = map.remove("query_interval") {
            c.query_interval = duration("query_interval", &v, Unit::Seconds)?;
        }
        if let Some(v) = map.remove("correlation_query_enabled") {
            c.correlation_query_enabled = boolean("correlation_query_enabled", &v)?;
        }
        if let Some(v) = map.remove("correlation_query") {
            let q = string("correlation_query", v)?;
            c.correlation_query = if q.trim().is_empty() { None } else { Some(q) };
        }
        if let Some(v) = map.remove("correlation_query_interval") {
            c.correlation_query_interval =
                duration("correlation_query_interval", &v, Unit::Minutes)?;
        }
        if let Some(v) = map.remove("discover_network_devices") {
            c.discover_network_devices = boolean("discover_network_devices", &v)?;
        }
        if let Some(v) = map.remove("save_suspicious_events") {
            c.save_suspicious_events = boolean("save_suspicious_events", &v)?;
        }
        if let Some(v) = map.remove("event_time_adjustment") {
            c.event_time_adjustment = duration("event_time_adjustment", &v, Unit::Seconds)?;
        }
        if let Some(v) = map.remove("limit") {
            let n = integer("limit", &v)?;
            if n < 1 {
                return Err(invalid("limit", format!("must be at least 1, not {n}")));
            }
            c.limit = n.unsigned_abs();
        }
        if let Some(v) = map.remove("mode") {
            c.mode = string("mode", v)?
                .parse()
                .map_err(|e: String| invalid("mode", e))?;
        }
        debug_assert!(map.is_empty(), "unread settings: {:?}", map.keys());
        c.check_values()?;
        Ok(c)
    }
}

#[derive(Clone, Copy)]
enum Unit {
    Seconds,
    Minutes,
}

impl Unit {
    fn secs(self) -> i64 {
        match self {
            Unit::Seconds => 1,
            Unit::Minutes => 60,
        }
    }

    fn name(self, n: i64) -> &'static str {
        match (self, n == 1) {
            (Unit::Seconds, true) => "second",
            (Unit::Seconds, false) => "seconds",
            (Unit::Minutes, true) => "minute",
            (Unit::Minutes, false) => "minutes",
        }
    }
}

fn check_duration(setting: &str, d: Duration, unit: Unit, min: i64) -> Result<(), ConfigError> {
    let max = MAX_DURATION_SECS / unit.secs();
    if d < Duration::seconds(min * unit.secs()) {
        return Err(invalid(
            setting,
            format!("must be at least {min} {}", unit.name(min)),
        ));
    }
    if d > Duration::seconds(MAX_DURATION_SECS) {
        return Err(invalid(
            setting,
            format!("must be at most {max} {}", unit.name(max)),
        ));
    }
    Ok(())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

fn string(setting: &str, v: Value) -> Result<String, ConfigError> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(invalid(
            setting,
            format!("must be a string, not {}", type_name(&other)),
        )),
    }
}

fn boolean(setting: &str, v: &Value) -> Result<bool, ConfigError> {
    v.as_bool().ok_or_else(|| {
        invalid(
            setting,
            format!("must be true or false, not {}", type_name(v)),
        )
    })
}

/// An integer; a float with no fractional part (`30.0`) is accepted.
fn integer(setting: &str, v: &Value) -> Result<i64, ConfigError> {
    if let Some(n) = v.as_i64() {
        return Ok(n);
    }
    if let Some(f) = v.as_f64() {
        if f.fract() != 0.0 {
            return Err(invalid(setting, format!("must be a whole number, not {f}")));
        }
        if f.abs() >= 9.0e15 {
            return Err(invalid(setting, "is too large"));
        }
        return Ok(f as i64);
    }
    Err(invalid(
        setting,
        format!("must be a whole number, not {}", type_name(v)),
    ))
}

fn duration(setting: &str, v: &Value, unit: Unit) -> Result<Duration, ConfigError> {
    let n = integer(setting, v)?;
    let max = MAX_DURATION_SECS / unit.secs();
    if n.abs() > max {
        return Err(invalid(
            setting,
            format!("must be at most {max} {} in size", unit.name(max)),
        ));
    }
    Ok(Duration::seconds(n * unit.secs()))
}

fn queries(v: Value) -> Result<Vec<NamedQuery>, ConfigError> {
    let Value::Array(items) = v else {
        return Err(invalid(
            "queries",
            format!(
                "must be a list of {{name, query}} tables, not {}",
                type_name(&v)
            ),
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(mut m) = item else {
                return Err(invalid(
                    format!("queries[{i}]"),
                    "must be a table with `name` and `query`",
                ));
            };
            if let Some(k) = m.keys().find(|k| *k != "name" && *k != "query") {
                return Err(ConfigError::UnknownKey {
                    key: format!("queries[{i}].{k}"),
                });
            }
            let mut take = |key: &str| -> Result<String, ConfigError> {
                let setting = format!("queries[{i}].{key}");
                match m.remove(key) {
                    Some(v) => string(&setting, v),
                    None => Err(invalid(setting, "is required")),
                }
            };
            let name = take("name")?;
            let query = take("query")?;
            Ok(NamedQuery { name, query })
        })
        .collect()
}

fn field_map(v: Value) -> Result<BTreeMap<Field, Vec<String>>, ConfigError> {
    let Value::Object(m) = v else {
        return Err(invalid(
            "field_map",
            format!(
                "must be a table of field = [columns], not {}",
                type_name(&v)
            ),
        ));
    };
    let mut out = BTreeMap::new();
    for (name, paths) in m {
        let setting = format!("field_map.{name}");
        let field: Field = name
            .parse()
            .map_err(|e: crate::fieldmap::UnknownField| invalid(&setting, e.to_string()))?;
        let list = match paths {
            Value::String(s) => vec![s],
            Value::Array(items) => items
                .into_iter()
                .map(|p| string(&setting, p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| invalid(&setting, "must be a list of column paths (strings)"))?,
            other => {
                return Err(invalid(
                    &setting,
                    format!("must be a list of column paths, not {}", type_name(&other)),
                ))
            }
        };
        out.insert(field, list);
    }
    Ok(out)
}

fn check_host(host: &str) -> Result<(), ConfigError> {
    let h = host.trim();
    if h.contains("://") {
        return Err(invalid(
            "host",
            "must be a hostname or IP address without a scheme (set `protocol` instead)",
        ));
    }
    if h.contains('/') || h.contains(char::is_whitespace) || h.contains('@') {
        return Err(invalid(
            "host",
            "must be a bare hostname or IP address (no path, spaces or credentials)",
        ));
    }
    if h.contains(':') {
        let inner = h
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(h);
        if inner.parse::<Ipv6Addr>().is_err() {
            return Err(invalid(
                "host",
                "must not include a port (set `port` instead)",
            ));
        }
    }
    Ok(())
}

fn check_proxy(proxy: &str) -> Result<(), ConfigError> {
    // Never echo the URL: it may carry credentials.
    let Some((scheme, rest)) = proxy.split_once("://") else {
        return Err(invalid(
            "proxy",
            "must be a URL such as http://proxy.example:3128",
        ));
    };
    let scheme = scheme.to_ascii_lowercase();
    if !["http", "https", "socks5", "socks5h"].contains(&scheme.as_str()) {
        return Err(invalid(
            "proxy",
            "scheme must be http, https, socks5 or socks5h",
        ));
    }
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err(invalid("proxy", "must name the proxy's host"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
host = "dt.example"
api_key = "pub"
api_secret = "priv-hunter2"
"#;

    fn setting_of(err: ConfigError) -> String {
        match err {
            ConfigError::Invalid { setting, .. } => setting,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn toml_err(extra: &str) -> ConfigError {
        Config::from_toml_str(&format!("{FULL}{extra}")).unwrap_err()
    }

    #[test]
    fn d5_defaults() {
        let c = Config::from_toml_str(FULL).unwrap();
        c.validate().unwrap();
        assert_eq!(c.port, 443);
        assert_eq!(c.protocol, Protocol::Https);
        assert_eq!(c.timeout, std::time::Duration::from_secs(30));
        assert!(!c.verify_ssl);
        assert_eq!(c.ca_file, None);
        assert_eq!(c.proxy, None);
        assert!(!c.use_advanced_search);
        assert_eq!(
            c.queries,
            [
                NamedQuery::new(
                    "IP Query",
                    "@fields.src_ip:(%IPS%) OR @fields.dest_ip:(%IPS%)"
                ),
                NamedQuery::new("Hostname Query", "@fields.host:(%HOSTNAMES%)"),
            ]
        );
        assert!(c.field_map.is_empty());
        assert_eq!(c.query_time, Duration::minutes(5));
        assert_eq!(c.delay_time, Duration::ZERO);
        assert_eq!(c.query_interval, Duration::seconds(30));
        assert!(!c.correlation_query_enabled);
        assert_eq!(c.correlation_query, None);
        assert_eq!(c.correlation_query_interval, Duration::minutes(1));
        assert!(c.discover_network_devices);
        assert!(!c.save_suspicious_events);
        assert_eq!(c.event_time_adjustment, Duration::ZERO);
        assert_eq!(c.limit, 10_000);
        assert_eq!(c.mode, Mode::Msi);
        assert_eq!(c.page_size(), 10_000);
        assert_eq!(
            c,
            Config {
                host: "dt.example".into(),
                api_key: "pub".into(),
                api_secret: Secret::new("priv-hunter2"),
                ..Config::default()
            }
        );
    }

    #[test]
    fn d5_units_minutes_and_seconds() {
        let c = Config::from_toml_str(&format!(
            "{FULL}query_time = 7\ndelay_time = 10\nquery_interval = 45\ncorrelation_query_interval = 2\nevent_time_adjustment = -90\ntimeout = 12\n"
        ))
        .unwrap();
        assert_eq!(c.query_time, Duration::minutes(7));
        assert_eq!(c.delay_time, Duration::minutes(10));
        assert_eq!(c.query_interval, Duration::seconds(45));
        assert_eq!(c.correlation_query_interval, Duration::minutes(2));
        assert_eq!(c.event_time_adjustment, Duration::seconds(-90));
        assert_eq!(c.timeout, std::time::Duration::from_secs(12));
    }

    #[test]
    fn d5_invalid_values_name_the_setting() {
        let cases: &[(&str, &str)] = &[
            ("query_interval = 0", "query_interval"),
            ("query_interval = -5", "query_interval"),
            ("query_time = 0", "query_time"),
            ("delay_time = -1", "delay_time"),
            (
                "correlation_query_interval = 0",
                "correlation_query_interval",
            ),
            ("limit = 0", "limit"),
            ("limit = -10", "limit"),
            ("timeout = 0", "timeout"),
            ("port = 0", "port"),
            ("port = 70000", "port"),
            ("protocol = \"ftp\"", "protocol"),
            ("mode = \"classic\"", "mode"),
            ("verify_ssl = \"yes\"", "verify_ssl"),
            ("timeout = 2.5", "timeout"),
            ("limit = 1e20", "limit"),
            ("query_time = 600000", "query_time"),
            (
                "event_time_adjustment = 99999999999",
                "event_time_adjustment",
            ),
            ("proxy = \"proxy.example:3128\"", "proxy"),
            ("proxy = \"ftp://proxy.example\"", "proxy"),
            ("correlation_query_enabled = true", "correlation_query"),
            (
                "correlation_query_enabled = true\ncorrelation_query = \"  \"",
                "correlation_query",
            ),
            ("queries = \"IP Query\"", "queries"),
            (
                "queries = [{name = \"\", query = \"x\"}]",
                "queries[0].name",
            ),
            ("queries = [{name = \"a\"}]", "queries[0].query"),
            (
                "queries = [{name = \"a\", query = \"x\"}, {name = \"a\", query = \"y\"}]",
                "queries[1].name",
            ),
            ("field_map = {hostname = [\"x\"]}", "field_map.hostname"),
            ("field_map = {host = [\"a..b\"]}", "field_map.host"),
            ("field_map = {host = [1]}", "field_map.host"),
            ("field_map = {host = 1}", "field_map.host"),
        ];
        for (line, setting) in cases {
            let err = toml_err(&format!("{line}\n"));
            let shown = err.to_string();
            assert!(shown.contains(setting), "{line}: {shown}");
            assert_eq!(setting_of(err), *setting, "{line}");
        }
        let big = Config::from_json_str(r#"{"limit": 18446744073709551615}"#).unwrap_err();
        assert_eq!(big.to_string(), "invalid setting `limit`: is too large");
        let msg = toml_err("query_interval = 0\n").to_string();
        assert_eq!(
            msg,
            "invalid setting `query_interval`: must be at least 1 second"
        );
        // Host problems.
        for host in [
            "https://dt.example",
            "dt.example:443",
            "dt.example/path",
            "a b",
        ] {
            let err = Config::from_toml_str(&format!("host = {host:?}\n")).unwrap_err();
            assert_eq!(setting_of(err), "host", "{host}");
        }
    }

    #[test]
    fn d5_unknown_keys_are_errors_naming_the_key() {
        let err = toml_err("query_intervall = 30\n");
        assert!(
            matches!(&err, ConfigError::UnknownKey { key } if key == "query_intervall"),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "unknown setting `query_intervall`");
        let err = toml_err("queries = [{name = \"a\", query = \"x\", nmae = \"b\"}]\n");
        assert!(
            matches!(&err, ConfigError::UnknownKey { key } if key == "queries[0].nmae"),
            "{err:?}"
        );
        let err = Config::from_json_str(r#"{"host": "h", "Port": 1}"#).unwrap_err();
        assert!(
            matches!(&err, ConfigError::UnknownKey { key } if key == "Port"),
            "{err:?}"
        );
    }

    #[test]
    fn d5_syntax_errors_say_which_format() {
        assert!(matches!(
            Config::from_toml_str("host = "),
            Err(ConfigError::Syntax { format: "TOML", .. })
        ));
        assert!(matches!(
            Config::from_json_str("{"),
            Err(ConfigError::Syntax { format: "JSON", .. })
        ));
        assert!(matches!(
            Config::from_json_str("[]"),
            Err(ConfigError::Syntax { .. })
        ));
    }

    #[test]
    fn d5_json_matches_toml() {
        let json = Config::from_json_str(
            r#"{"host": "dt.example", "port": 8443, "protocol": "Https", "api_key": "pub", "api_secret": "priv",
                "proxy": null, "query_time": 5.0, "mode": "LEGACY", "limit": 10,
                "queries": [{"name": "Custom", "query": "@fields.host:(%HOSTNAMES%)"}],
                "field_map": {"description": ["msg_s", "SyslogMessage"], "host": "@fields.hostname"}}"#,
        )
        .unwrap();
        let toml = Config::from_toml_str(
            r#"host = "dt.example"
port = 8443
protocol = "https"
api_key = "pub"
api_secret = "priv"
query_time = 5
mode = "legacy"
limit = 10
queries = [{ name = "Custom", query = "@fields.host:(%HOSTNAMES%)" }]
[field_map]
description = ['msg_s', 'SyslogMessage']
host = ["@fields.hostname"]
"#,
        )
        .unwrap();
        assert_eq!(json, toml);
        assert_eq!(json.mode, Mode::Legacy);
        assert_eq!(
            json.field_map[&Field::Description],
            ["msg_s", "SyslogMessage"]
        );
        assert_eq!(json.field_map[&Field::Host], ["@fields.hostname"]);
    }

    #[test]
    fn d5_debug_never_shows_the_secret() {
        let c = Config::from_toml_str(FULL).unwrap();
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("pub"));
        let p = Config {
            proxy: Some("http://bob:pa55w0rd@proxy:3128".into()),
            ..Config::default()
        };
        let shown = format!("{p:?}");
        assert!(
            !shown.contains("pa55w0rd") && shown.contains("proxy:3128"),
            "{shown}"
        );
        let err = Config::from_toml_str("api_secret = 12345")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("12345"), "{err}");
    }

    #[test]
    fn d5_presence_is_checked_by_validate() {
        let c = Config::from_toml_str("").unwrap();
        assert_eq!(setting_of(c.validate().unwrap_err()), "host");
        let c = Config::from_toml_str("host = \"h\"").unwrap();
        assert_eq!(setting_of(c.validate().unwrap_err()), "api_key");
        let c = Config::from_toml_str("host = \"h\"\napi_key = \"k\"").unwrap();
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains(ENV_API_SECRET));
        assert_eq!(setting_of(err), "api_secret");
    }

    #[test]
    fn d5_overrides_then_env_fallback() {
        let mut c = Config::from_toml_str("host = \"file-host\"\napi_key = \"file-key\"").unwrap();
        c.apply(&ConfigOverrides {
            host: Some("flag-host".into()),
            port: Some(8080),
            protocol: Some(Protocol::Http),
            timeout: Some(5),
            verify_ssl: Some(true),
            ca_file: Some("ca.pem".into()),
            proxy: Some("http://p:3128".into()),
            mode: Some(Mode::Legacy),
            limit: Some(7),
            use_advanced_search: Some(true),
            ..ConfigOverrides::default()
        });
        let env = EnvCredentials::from_lookup(|k| match k {
            "DT_API_KEY" => Some("env-key".into()),
            "DT_API_SECRET" => Some("env-secret".into()),
            _ => None,
        });
        c.env_fallback(&env);
        assert_eq!(
            c.api_key, "file-key",
            "the environment only fills what is empty"
        );
        assert_eq!(c.api_secret.expose_secret(), "env-secret");
        assert_eq!(c.host, "flag-host");
        assert_eq!(c.base_url(), "http://flag-host:8080");
        assert_eq!(c.timeout, std::time::Duration::from_secs(5));
        assert!(c.verify_ssl && c.use_advanced_search);
        assert_eq!((c.mode, c.limit), (Mode::Legacy, 7));
        c.validate().unwrap();
        // A flag beats the environment.
        let mut d = Config::default();
        d.apply(&ConfigOverrides {
            api_secret: Some(Secret::new("flag")),
            ..Default::default()
        });
        d.env_fallback(&env);
        assert_eq!(d.api_secret.expose_secret(), "flag");
        assert_eq!(d.api_key, "env-key");
        // A zero limit or timeout from a flag is refused by validate.
        d.host = "h".into();
        d.apply(&ConfigOverrides {
            limit: Some(0),
            ..Default::default()
        });
        assert_eq!(setting_of(d.validate().unwrap_err()), "limit");
        d.apply(&ConfigOverrides {
            limit: Some(1),
            timeout: Some(0),
            ..Default::default()
        });
        assert_eq!(setting_of(d.validate().unwrap_err()), "timeout");
    }

    #[test]
    fn d5_resolve_runs_the_whole_sequence() {
        let env = EnvCredentials {
            api_key: Some("k".into()),
            api_secret: Some(Secret::new("s")),
        };
        let o = ConfigOverrides {
            host: Some("127.0.0.1".into()),
            ..Default::default()
        };
        let c = Config::resolve(None, &o, &env).unwrap();
        assert_eq!(c.base_url(), "https://127.0.0.1:443");
        assert!(Config::resolve(None, &ConfigOverrides::default(), &env).is_err());
    }

    #[test]
    fn d5_base_url_brackets_ipv6() {
        let mut c = Config {
            host: "fe80::1".into(),
            port: 8443,
            ..Config::default()
        };
        assert_eq!(c.base_url(), "https://[fe80::1]:8443");
        c.host = "[fe80::1]".into();
        c.check_values().unwrap();
        assert_eq!(c.base_url(), "https://[fe80::1]:8443");
        c.host = "dt.example".into();
        assert_eq!(c.base_url(), "https://dt.example:8443");
    }

    #[test]
    fn d5_protocol_and_mode_parse_case_insensitively() {
        assert_eq!("Https".parse::<Protocol>().unwrap(), Protocol::Https);
        assert_eq!("HTTP".parse::<Protocol>().unwrap(), Protocol::Http);
        assert!("ftp".parse::<Protocol>().is_err());
        assert_eq!("MSI".parse::<Mode>().unwrap(), Mode::Msi);
        assert_eq!(Mode::Legacy.to_string(), "legacy");
    }

    #[test]
    fn d5_warnings() {
        let c = Config::from_toml_str(FULL).unwrap();
        assert!(c.warnings().iter().any(|w| w.contains("verify_ssl")));
        let c = Config::from_toml_str(&format!(
            "{FULL}verify_ssl = true\nqueries = [{{name = \"x\", query = \"y\"}}]\n"
        ))
        .unwrap();
        let w = c.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("use_advanced_search is off"));
    }

    #[test]
    fn d5_load_by_extension_and_relative_ca_file() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("c.toml");
        std::fs::write(&toml_path, format!("{FULL}ca_file = \"certs/ca.pem\"\n")).unwrap();
        let c = Config::load(&toml_path).unwrap();
        assert_eq!(c.ca_file, Some(dir.path().join("certs/ca.pem")));
        let json_path = dir.path().join("c.JSON");
        std::fs::write(&json_path, r#"{"host": "h", "ca_file": "/abs/ca.pem"}"#).unwrap();
        assert_eq!(
            Config::load(&json_path).unwrap().ca_file,
            Some(PathBuf::from("/abs/ca.pem"))
        );
        let other = dir.path().join("c.yaml");
        std::fs::write(&other, "host: h").unwrap();
        assert!(matches!(
            Config::load(&other),
            Err(ConfigError::UnknownFormat { .. })
        ));
        assert!(matches!(
            Config::load(&dir.path().join("missing.toml")),
            Err(ConfigError::Read { .. })
        ));
    }

    #[test]
    fn d5_example_config_names_every_setting_and_validates() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/client/example-config.toml");
        let c = Config::load(&path).unwrap();
        c.validate().unwrap();
        assert_eq!(c.host, "127.0.0.1");
        assert_eq!(c.port, 8080);
        assert_eq!(c.protocol, Protocol::Http);
        assert_eq!(c.api_key, "demo-public");
        assert_eq!(c.api_secret.expose_secret(), "demo-private");
        assert_eq!(c.base_url(), "http://127.0.0.1:8080");
        // Every other value is the default.
        let defaults = Config {
            host: c.host.clone(),
            port: c.port,
            protocol: c.protocol,
            api_key: c.api_key.clone(),
            api_secret: c.api_secret.clone(),
            ..Config::default()
        };
        assert_eq!(c, defaults);
        // Every setting is named in the file (commented out or not).
        let text = std::fs::read_to_string(&path).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        for key in SETTINGS {
            let named = table.contains_key(key)
                || text.lines().any(|l| {
                    l.trim_start()
                        .trim_start_matches('#')
                        .trim_start()
                        .starts_with(&format!("{key} ="))
                });
            assert!(named, "example config does not name `{key}`");
        }
    }
}
