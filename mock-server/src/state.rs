//! The state every handler shares.

use std::sync::{Arc, RwLock};

use time::Duration;

use crate::clock::MockClock;
use crate::error::ErrorStyle;
use crate::journal::Journal;
use crate::tokens::TokenSet;

/// The mock's settings that do not change while it runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The allowed skew between a request's date and the mock's clock (D2).
    pub max_skew: Duration,
    /// How auth failures are answered.
    pub error_style: ErrorStyle,
    /// Whether the `/_mock/` admin API is served.
    pub admin: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// A deliberately broken verifier for testing the conformance suite: it sorts the
    /// query parameters before checking, as some broken proxies and SDKs do.
    pub sort_query_before_verify: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_skew: Duration::minutes(30),
            error_style: ErrorStyle::Live,
            admin: true,
            body_limit: 1024 * 1024,
            sort_query_before_verify: false,
        }
    }
}

/// Shared handler state: one `Arc`, so the clone each middleware and handler takes
/// per request is one reference count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Shares `shared` between handlers.
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    /// Fixed settings.
    pub settings: Arc<Settings>,
    /// The mock's clock.
    pub clock: MockClock,
    /// Accepted token pairs (a lock, since scenarios rotate them).
    pub tokens: Arc<RwLock<TokenSet>>,
    /// The request journal.
    pub journal: Arc<Journal>,
    /// Faults injected at run time.
    pub faults: Arc<crate::faults::Faults>,
    /// The fixture world the data endpoints serve.
    pub world: Arc<RwLock<dt_world::World>>,
    /// The scenario the mock started with, if any.
    pub scenario: Option<Arc<crate::scenario::ActiveScenario>>,
}
