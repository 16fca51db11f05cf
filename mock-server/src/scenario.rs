//! Scenarios: named presets that reproduce a customer's symptom in one flag
//! (`dt-mock --scenario NAME`).
//!
//! Each scenario is a TOML file in `fixtures/scenarios/`, embedded in the binary so it
//! needs no files at run time (`--scenario PATH.toml` loads another). A scenario says
//! which symptom it reproduces (in the customer's words), which D13 error `dt-client`
//! reports for it, and what it changes on the mock:
//!
//! - `clock_offset`: shifts the mock's clock (a Director whose clock is ahead is an
//!   appliance behind it, so `clock-ahead` uses a negative offset);
//! - `max_skew`: the allowed skew (D2);
//! - `faults`: [`FaultSpec`]s installed at start (and again by `/_mock/reset`);
//! - `[tokens]`: `rotate_private` replaces the startup pair's private token with a new
//!   one (printed at start); `deny` lists path prefixes every token is refused (the
//!   302 to `/403`);
//! - `tls = "wrong-host"`: HTTPS with a certificate for `darktrace.example.invalid` only,
//!   signed by a generated CA, so a client trusting that CA still fails hostname
//!   verification;
//! - `reorder_query`: the query is sorted before the signature is checked, as a proxy
//!   that re-orders the query string would deliver it.
//!
//! The file format is described in `fixtures/scenarios/README.md`.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::Duration;

use crate::faults::{FaultSpec, Faults};
use crate::MockConfig;

/// The scenarios shipped with the mock, as `(file name, TOML text)`.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "clock-ahead.toml",
        include_str!("../../fixtures/scenarios/clock-ahead.toml"),
    ),
    (
        "clock-behind.toml",
        include_str!("../../fixtures/scenarios/clock-behind.toml"),
    ),
    (
        "local-time-as-utc.toml",
        include_str!("../../fixtures/scenarios/local-time-as-utc.toml"),
    ),
    (
        "rotated-token.toml",
        include_str!("../../fixtures/scenarios/rotated-token.toml"),
    ),
    (
        "permission-denied.toml",
        include_str!("../../fixtures/scenarios/permission-denied.toml"),
    ),
    (
        "slow-appliance.toml",
        include_str!("../../fixtures/scenarios/slow-appliance.toml"),
    ),
    (
        "flaky.toml",
        include_str!("../../fixtures/scenarios/flaky.toml"),
    ),
    (
        "proxy-html-error.toml",
        include_str!("../../fixtures/scenarios/proxy-html-error.toml"),
    ),
    (
        "truncated-json.toml",
        include_str!("../../fixtures/scenarios/truncated-json.toml"),
    ),
    (
        "connection-reset.toml",
        include_str!("../../fixtures/scenarios/connection-reset.toml"),
    ),
    (
        "wrong-host-cert.toml",
        include_str!("../../fixtures/scenarios/wrong-host-cert.toml"),
    ),
    (
        "proxy-reorders-query.toml",
        include_str!("../../fixtures/scenarios/proxy-reorders-query.toml"),
    ),
];

/// The D13 error kinds `dt-client` reports (its `ErrorKind`, kebab-case).
pub const CLIENT_ERROR_KINDS: &[&str] = &[
    "signature",
    "date",
    "login-redirect",
    "forbidden",
    "tls",
    "timeout",
    "connect",
    "reset",
    "proxy",
    "malformed",
    "server",
    "input",
    "unexpected",
];

/// The only host name in the `wrong-host` certificate.
pub const WRONG_HOST_NAME: &str = "darktrace.example.invalid";

/// How a scenario serves TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// A certificate for [`WRONG_HOST_NAME`] only, from a generated CA.
    WrongHost,
}

/// Token changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenChanges {
    /// Replace the first configured pair's private token with a new random one.
    #[serde(default)]
    pub rotate_private: bool,
    /// Path prefixes that every token is refused (302 to `/403`).
    #[serde(default)]
    pub deny: Vec<String>,
}

/// A scenario, as written in its TOML file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Its name (`dt-mock --scenario NAME`).
    pub name: String,
    /// What the customer reports, in their words.
    pub symptom: String,
    /// What is actually wrong.
    #[serde(default)]
    pub cause: String,
    /// The D13 error kind `dt-client run` reports (see [`CLIENT_ERROR_KINDS`]).
    pub expected_error: String,
    /// What `dt-client test` reports when it differs from `expected_error`: another
    /// kind, or `healthy` (the connectivity test does not touch the broken endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_result: Option<String>,
    /// Shift of the mock's clock, e.g. `-40m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_offset: Option<String>,
    /// The allowed skew, e.g. `5m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_skew: Option<String>,
    /// Faults installed at start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
    /// Token changes.
    #[serde(default)]
    pub tokens: TokenChanges,
    /// TLS served by the scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsMode>,
    /// Sort the query before verifying (a proxy that re-orders the query string).
    #[serde(default)]
    pub reorder_query: bool,
}

/// Why a scenario could not be found, read or applied.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// No built-in scenario has this name.
    #[error("unknown scenario {name:?}; built-in scenarios: {}", names().join(", "))]
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// A scenario file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is not a scenario.
    #[error("{origin}: {message}")]
    Invalid {
        /// The file (or built-in name).
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// Applying it failed (e.g. the certificate could not be generated).
    #[error("scenario {name}: {message}")]
    Apply {
        /// The scenario.
        name: String,
        /// What failed.
        message: String,
    },
}

/// The active scenario, as the mock keeps it (health, the live page, `/_mock/reset`).
#[derive(Debug, Clone, Serialize)]
pub struct ActiveScenario {
    /// Its name.
    pub name: String,
    /// The customer's symptom.
    pub symptom: String,
    /// The cause.
    pub cause: String,
    /// What `dt-client run` reports.
    pub expected_error: String,
    /// What `dt-client test` reports.
    pub test_result: String,
    /// The clock shift it applied (restored by `/_mock/reset`).
    #[serde(skip)]
    pub clock_offset: Duration,
    /// The faults it installed (installed again by `/_mock/reset`).
    pub faults: Vec<FaultSpec>,
}

/// What applying a scenario produced that the operator must know.
#[derive(Debug, Default)]
pub struct Applied {
    /// Lines to print at start.
    pub notes: Vec<String>,
    /// `(public, new private)` when the private token was rotated.
    pub rotated: Option<(String, String)>,
    /// The generated CA (PEM) when the scenario serves TLS.
    pub ca_pem: Option<String>,
}

/// The built-in scenario names, in listing order.
pub fn names() -> Vec<String> {
    builtin().into_iter().map(|s| s.name).collect()
}

/// Every built-in scenario, parsed.
pub fn builtin() -> Vec<Scenario> {
    BUILTIN
        .iter()
        .map(|(file, text)| {
            Scenario::parse(text, file)
                .unwrap_or_else(|e| panic!("built-in scenario {file} is invalid: {e}"))
        })
        .collect()
}

impl Scenario {
    /// Parses and checks a scenario. `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let invalid = |message: String| ScenarioError::Invalid {
            origin: origin.to_string(),
            message,
        };
        let s: Scenario = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if s.name.trim().is_empty() || s.symptom.trim().is_empty() {
            return Err(invalid("name and symptom must not be empty".into()));
        }
        if !CLIENT_ERROR_KINDS.contains(&s.expected_error.as_str()) {
            return Err(invalid(format!(
                "expected_error {:?} is not a dt-client error kind ({})",
                s.expected_error,
                CLIENT_ERROR_KINDS.join(", ")
            )));
        }
        if let Some(t) = &s.test_result {
            if t != "healthy" && !CLIENT_ERROR_KINDS.contains(&t.as_str()) {
                return Err(invalid(format!(
                    "test_result {t:?} is neither healthy nor a dt-client error kind"
                )));
            }
        }
        s.clock_offset_duration().map_err(invalid)?;
        if let Some(d) = s.max_skew_duration().map_err(invalid)? {
            if d.is_negative() {
                return Err(invalid("max_skew must not be negative".into()));
            }
        }
        let check = Faults::new();
        for f in &s.faults {
            check
                .add(f.clone())
                .map_err(|e| invalid(format!("fault on {}: {e}", f.route)))?;
        }
        Ok(s)
    }

    /// Finds a scenario: a path (ending in `.toml` or containing a `/`) is read from
    /// disk; anything else is a built-in name.
    pub fn find(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        if name_or_path.ends_with(".toml") || name_or_path.contains('/') {
            let path = Path::new(name_or_path);
            let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
                path: path.display().to_string(),
                source,
            })?;
            return Scenario::parse(&text, &path.display().to_string());
        }
        builtin()
            .into_iter()
            .find(|s| s.name == name_or_path)
            .ok_or_else(|| ScenarioError::Unknown {
                name: name_or_path.to_string(),
            })
    }

    /// What `dt-client test` reports: `test_result`, else `expected_error`.
    pub fn test_result(&self) -> &str {
        self.test_result.as_deref().unwrap_or(&self.expected_error)
    }

    /// The clock offset (zero when unset).
    pub fn clock_offset_duration(&self) -> Result<Duration, String> {
        match &self.clock_offset {
            None => Ok(Duration::ZERO),
            Some(s) => {
                dt_protocol::parse_signed_duration(s).map_err(|e| format!("clock_offset: {e}"))
            }
        }
    }

    fn max_skew_duration(&self) -> Result<Option<Duration>, String> {
        self.max_skew
            .as_deref()
            .map(|s| dt_protocol::parse_signed_duration(s).map_err(|e| format!("max_skew: {e}")))
            .transpose()
    }

    /// Applies the scenario to a mock's configuration before it starts: clock, skew,
    /// faults, tokens, TLS, query order. Returns what the operator must be told.
    pub fn apply(&self, config: &mut MockConfig) -> Result<Applied, ScenarioError> {
        let fail = |message: String| ScenarioError::Apply {
            name: self.name.clone(),
            message,
        };
        let mut applied = Applied::default();
        let offset = self.clock_offset_duration().map_err(fail)?;
        if offset != Duration::ZERO {
            config.clock.set_offset(config.clock.offset() + offset);
            applied.notes.push(format!(
                "clock offset {}s: the mock's clock is {}s {} the real clock",
                offset.whole_seconds(),
                offset.whole_seconds().abs(),
                if offset.is_negative() {
                    "behind"
                } else {
                    "ahead of"
                },
            ));
        }
        if let Some(skew) = self.max_skew_duration().map_err(fail)? {
            config.settings.max_skew = skew;
            applied
                .notes
                .push(format!("allowed skew {}s", skew.whole_seconds()));
        }
        if self.reorder_query {
            config.settings.sort_query_before_verify = true;
            applied.notes.push(
                "the query is re-ordered (sorted) before the signature is checked".to_string(),
            );
        }
        if self.tokens.rotate_private {
            let first = config
                .tokens
                .tokens_mut()
                .first_mut()
                .ok_or_else(|| fail("no token pair to rotate".into()))?;
            let new = random_token();
            first.private = dt_protocol::Secret::new(new.clone());
            applied.notes.push(format!(
                "rotated: the private token of {} is now {new}; the old one is rejected",
                first.public
            ));
            applied.rotated = Some((first.public.clone(), new));
        }
        if !self.tokens.deny.is_empty() {
            for t in config.tokens.tokens_mut() {
                t.denied.extend(self.tokens.deny.iter().cloned());
            }
            applied.notes.push(format!(
                "every token is refused {} (302 to /403)",
                self.tokens.deny.join(", ")
            ));
        }
        if let Some(TlsMode::WrongHost) = self.tls {
            let now = time::OffsetDateTime::now_utc();
            let g = crate::tls::generate(
                &[WRONG_HOST_NAME],
                now - Duration::days(1),
                now + Duration::days(365),
            )
            .map_err(|e| fail(e.to_string()))?;
            let server =
                crate::tls::server_config(g.chain, g.key).map_err(|e| fail(e.to_string()))?;
            config.tls = Some(server);
            applied.notes.push(format!(
                "HTTPS with a certificate for {WRONG_HOST_NAME} only (trusting the CA does not help)"
            ));
            applied.ca_pem = Some(g.ca_pem);
        }
        config.faults.extend(self.faults.iter().cloned());
        for f in &self.faults {
            applied.notes.push(format!(
                "fault on {}: {}",
                f.route,
                serde_json::to_string(&f.kind).unwrap_or_default()
            ));
        }
        config.scenario = Some(Arc::new(ActiveScenario {
            name: self.name.clone(),
            symptom: self.symptom.clone(),
            cause: self.cause.clone(),
            expected_error: self.expected_error.clone(),
            test_result: self.test_result().to_string(),
            clock_offset: offset,
            faults: self.faults.clone(),
        }));
        Ok(applied)
    }
}

/// A fresh private token: 32 hex digits from the OS-seeded hasher keys.
fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    for i in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_and_names_are_unique() {
        let all = builtin();
        assert_eq!(all.len(), BUILTIN.len());
        let mut names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        for (s, (file, _)) in all.iter().zip(BUILTIN) {
            assert_eq!(format!("{}.toml", s.name), *file);
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }

    #[test]
    fn refuses_unknown_kinds_and_fields() {
        let bad = "name = \"x\"\nsymptom = \"y\"\nexpected_error = \"oops\"\n";
        assert!(Scenario::parse(bad, "t").is_err());
        let extra = "name = \"x\"\nsymptom = \"y\"\nexpected_error = \"date\"\nfoo = 1\n";
        assert!(Scenario::parse(extra, "t").is_err());
        let fault = "name = \"x\"\nsymptom = \"y\"\nexpected_error = \"server\"\n[[faults]]\nkind = \"status\"\nstatus = 9\n";
        assert!(Scenario::parse(fault, "t").is_err());
    }

    #[test]
    fn random_tokens_differ() {
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 32);
    }
}
