//! A conformance case: a stable id, a MUST statement, the reference it rests on,
//! tags, and the check itself.

use std::future::Future;
use std::pin::Pin;

use crate::probe::Exchange;
use crate::target::Target;

/// Where a case may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tag {
    /// Safe and meaningful against a real appliance: read-only.
    Appliance,
    /// Needs the mock's clock, journal or faults.
    MockOnly,
    /// Asserts the client's behaviour.
    Client,
}

impl Tag {
    /// The tag's name as written in manifests and `--tags`.
    pub fn name(self) -> &'static str {
        match self {
            Tag::Appliance => "appliance",
            Tag::MockOnly => "mock-only",
            Tag::Client => "client",
        }
    }
}

/// A known, reviewed difference between the reference behaviour a case pins and a
/// particular appliance version. A case is marked, never deleted: against a matching
/// appliance its failure is reported as a known divergence instead of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Divergence {
    /// Appliance version prefix it applies to, as `/status` reports it (e.g. `7.`).
    pub versions: &'static str,
    /// Why, with the evidence.
    pub reason: &'static str,
}

/// A boxed future, so cases can be stored in a table.
pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Failure>> + Send + 'a>>;

/// One case.
#[derive(Clone, Copy)]
pub struct Case {
    /// A stable id, e.g. `auth.date.skew-ahead-31m`. Never reused for another meaning.
    pub id: &'static str,
    /// What MUST hold, in one line.
    pub must: &'static str,
    /// The DECISIONS item or reference section it rests on.
    pub reference: &'static str,
    /// Where it may run.
    pub tags: &'static [Tag],
    /// Known divergences on particular appliance versions.
    pub divergences: &'static [Divergence],
    /// The check.
    pub run: for<'a> fn(&'a Target) -> CaseFuture<'a>,
}

impl Case {
    /// The divergence that applies to an appliance version, if any.
    pub fn divergence_for(&self, version: Option<&str>) -> Option<&'static Divergence> {
        let v = version?;
        self.divergences.iter().find(|d| v.starts_with(d.versions))
    }

    /// Whether the case carries a tag.
    pub fn has(&self, tag: Tag) -> bool {
        self.tags.contains(&tag)
    }
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("id", &self.id)
            .field("tags", &self.tags)
            .finish_non_exhaustive()
    }
}

/// Why a case failed: what it expected, what it got, and the exchange to reproduce.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    /// The expectation.
    pub expected: String,
    /// What happened.
    pub actual: String,
    /// The request that showed it, if one did (boxed: failures travel in `Result`s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Box<Exchange>>,
}

impl Failure {
    /// A failure without a request (setup problems, client-side checks).
    pub fn new(expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Failure {
            expected: expected.into(),
            actual: actual.into(),
            exchange: None,
        }
    }

    /// A failure shown by an exchange.
    pub fn with(
        exchange: &Exchange,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Failure {
            expected: expected.into(),
            actual: actual.into(),
            exchange: Some(Box::new(exchange.clone())),
        }
    }
}

/// Checks a condition about an exchange.
pub fn ensure(cond: bool, ex: &Exchange, expected: impl Into<String>) -> Result<(), Failure> {
    if cond {
        Ok(())
    } else {
        Err(Failure::with(ex, expected, ex.summary()))
    }
}
