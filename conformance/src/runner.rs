//! Running cases: selection by filter and tags, one line per case, and a report.

use std::time::{Duration, Instant};

use regex::Regex;
use serde::Serialize;

use crate::case::{Case, Failure, Tag};
use crate::target::Target;

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Only ids matching this.
    pub filter: Option<Regex>,
    /// Only cases carrying one of these tags (empty: all allowed by the target).
    pub tags: Vec<Tag>,
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The case id.
    pub id: &'static str,
    /// The MUST statement.
    pub must: &'static str,
    /// passed, failed or skipped.
    pub outcome: &'static str,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Wall time.
    pub seconds: f64,
    /// The failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The target's base URL.
    pub target: String,
    /// Every selected case.
    pub results: Vec<CaseResult>,
    /// Wall time of the run.
    pub seconds: f64,
}

impl Report {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome == "passed")
            .count()
    }
    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome == "failed")
            .count()
    }
    /// Cases skipped.
    pub fn skipped(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome == "skipped")
            .count()
    }
    /// The closing line.
    pub fn summary(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }
}

/// The targets of a run: server cases go to `server`; client cases always run
/// against an in-process mock, because they need its virtual clock and journal.
pub struct Targets<'a> {
    /// The appliance or mock under test.
    pub server: &'a Target,
    /// The in-process mock for client cases, if the run has one.
    pub client: Option<&'a Target>,
}

/// Where a case runs, or why it cannot.
fn placement<'a>(case: &Case, targets: &Targets<'a>) -> Result<&'a Target, String> {
    if case.has(Tag::Client) {
        return targets
            .client
            .ok_or_else(|| "client cases need an in-process mock".to_string());
    }
    let target = targets.server;
    if case.has(Tag::MockOnly) && !target.is_mock {
        return Err("needs the mock's admin API".into());
    }
    if !case.has(Tag::Appliance) && !target.is_mock {
        return Err("not safe against a real appliance".into());
    }
    Ok(target)
}

/// Whether a case is selected by the options.
pub fn selected(case: &Case, opts: &RunOptions) -> bool {
    opts.filter.as_ref().is_none_or(|re| re.is_match(case.id))
        && (opts.tags.is_empty() || opts.tags.iter().any(|t| case.has(*t)))
}

/// Runs the selected cases against one target (client cases too, when it is an
/// in-process mock), printing a line each through `out`.
pub async fn run(
    cases: &[Case],
    target: &Target,
    opts: &RunOptions,
    out: impl FnMut(&CaseResult),
) -> Report {
    let client = if target.mock.is_some() {
        Some(target)
    } else {
        None
    };
    run_on(
        cases,
        &Targets {
            server: target,
            client,
        },
        opts,
        out,
    )
    .await
}

/// Runs the selected cases one after another with separate server and client targets.
pub async fn run_on(
    cases: &[Case],
    targets: &Targets<'_>,
    opts: &RunOptions,
    mut out: impl FnMut(&CaseResult),
) -> Report {
    let target = targets.server;
    let start = Instant::now();
    let mut results = Vec::new();
    for case in cases {
        if !selected(case, opts) {
            continue;
        }
        let t0 = Instant::now();
        let (outcome, skip, failure) = match placement(case, targets) {
            Err(why) => ("skipped", Some(why), None),
            Ok(on) => match tokio::time::timeout(Duration::from_secs(60), (case.run)(on)).await {
                Ok(Ok(())) => ("passed", None, None),
                Ok(Err(f)) => match case.divergence_for(on.appliance_version.as_deref()) {
                    Some(d) => (
                        "skipped",
                        Some(format!("known divergence on {}: {}", d.versions, d.reason)),
                        Some(f),
                    ),
                    None => ("failed", None, Some(f)),
                },
                Err(_) => (
                    "failed",
                    None,
                    Some(Failure::new(
                        "the case to finish within 60 s",
                        "it timed out",
                    )),
                ),
            },
        };
        let r = CaseResult {
            id: case.id,
            must: case.must,
            outcome,
            skip_reason: skip,
            seconds: t0.elapsed().as_secs_f64(),
            failure,
        };
        out(&r);
        results.push(r);
    }
    Report {
        target: target.base_url.clone(),
        results,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// The human form of a result: one line, plus the failure's details indented.
pub fn render(r: &CaseResult, base_url: &str) -> String {
    let mut s = format!(
        "{:<7} {} ({:.3}s)",
        r.outcome.to_uppercase(),
        r.id,
        r.seconds
    );
    if let Some(why) = &r.skip_reason {
        s.push_str(&format!(" — {why}"));
    }
    if let Some(f) = &r.failure {
        s.push_str(&format!(
            "\n        MUST: {}\n        expected: {}\n        actual:   {}",
            r.must, f.expected, f.actual
        ));
        if let Some(ex) = &f.exchange {
            s.push_str(&format!(
                "\n        request:  {} {} (signed over {:?})",
                ex.method, ex.target, ex.signed_target
            ));
            s.push_str(&format!("\n        reproduce: {}", ex.curl()));
            s.push_str(&format!(
                "\n        re-sign:   {}",
                ex.resign_command(base_url)
            ));
        }
    }
    s
}
