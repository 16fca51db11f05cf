//! A faithful simulator of the Darktrace Threat Visualizer v6.1 REST API.
//!
//! It checks every request's signature and date as the appliance does, answers with
//! the appliance's status codes and bodies, and serves a coherent fixture world.
//! [`run`] takes a bound listener, so tests bind `127.0.0.1:0`.
//!
//! Module map:
//! - [`app`]: the router (appliance routes behind auth; pages; admin API).
//! - [`auth`]: the auth layer (D1–D3), journal recording, rejection logging.
//! - [`error`]: [`ApiError`], the one `IntoResponse` type for appliance failures.
//! - [`faults`]: run-time faults (delay, status, truncation, proxy page, reset).
//! - [`json`]: the appliance's JSON formatting.
//! - [`routes`]: appliance endpoint handlers.
//! - [`admin`]: `/_mock/` routes (D4): health, journal, faults, clock, reset, inject.
//! - [`admin_cli`]: the `dt-mock fault|clock|reset|inject|journal` commands against a
//!   running mock.
//! - [`scenario`]: named presets reproducing customer symptoms (`--scenario`).
//! - [`inject`]: demo detections added to the world at the mock's now.
//! - [`ui`]: the live journal page at `/_mock/`.
//! - [`journal`]: the bounded request journal.
//! - [`clock`]: the mock's clock, with an offset or under manual control.
//! - [`tokens`]: accepted token pairs.
//! - [`state`]: settings and shared handler state.
//! - [`tls`]: generated or loaded certificates.
//! - [`serve`]: the accept loop with limits and graceful shutdown.

pub mod admin;
pub mod admin_cli;
pub mod app;
pub mod auth;
pub mod clock;
pub mod error;
pub mod faults;
pub mod inject;
pub mod journal;
pub mod json;
pub mod routes;
pub mod scenario;
pub mod serve;
pub mod state;
pub mod tls;
pub mod tokens;
pub mod ui;

use std::future::Future;
use std::sync::{Arc, RwLock};

pub use clock::MockClock;
pub use error::{ApiError, ErrorStyle};
pub use serve::Limits;
pub use state::{AppState, Settings};
pub use tokens::{Token, TokenSet, DEMO_PRIVATE, DEMO_PUBLIC};

/// Everything a mock needs to start.
pub struct MockConfig {
    /// Fixed settings (skew, error style, admin API, limits on bodies).
    pub settings: Settings,
    /// Accepted token pairs.
    pub tokens: TokenSet,
    /// The clock (keep a clone to move it from a test).
    pub clock: MockClock,
    /// TLS, when serving HTTPS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Most journal entries kept.
    pub journal_capacity: usize,
    /// Connection limits.
    pub limits: Limits,
    /// The fixture world.
    pub world: dt_world::World,
    /// Faults installed at start (a scenario's).
    pub faults: Vec<faults::FaultSpec>,
    /// The active scenario, if any (see [`scenario::Scenario::apply`]).
    pub scenario: Option<Arc<scenario::ActiveScenario>>,
}

impl MockConfig {
    /// A plain-HTTP mock with the given tokens and clock, serving the default world
    /// anchored at the clock's now, and defaults elsewhere.
    pub fn new(tokens: TokenSet, clock: MockClock) -> Self {
        MockConfig {
            world: dt_world::World::default_world(Some(clock.now_ms())),
            settings: Settings::default(),
            tokens,
            clock,
            tls: None,
            journal_capacity: 10_000,
            limits: Limits::default(),
            faults: Vec::new(),
            scenario: None,
        }
    }
}

/// A built mock: its state (journal, clock, tokens) stays reachable for tests.
pub struct Mock {
    state: AppState,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
}

impl Mock {
    /// Builds the mock's state.
    pub fn new(config: MockConfig) -> Self {
        let state = AppState::new(state::Shared {
            settings: Arc::new(config.settings),
            clock: config.clock,
            tokens: Arc::new(RwLock::new(config.tokens)),
            journal: Arc::new(journal::Journal::new(config.journal_capacity)),
            world: Arc::new(RwLock::new(config.world)),
            faults: Arc::new(faults::Faults::new()),
            scenario: config.scenario,
        });
        for spec in config.faults {
            if let Err(e) = state.faults.add(spec) {
                tracing::warn!("fault not installed: {e}");
            }
        }
        Mock {
            state,
            tls: config.tls,
            limits: config.limits,
        }
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The router, for driving the mock without a socket.
    pub fn router(&self) -> axum::Router {
        app::app(self.state.clone())
    }

    /// Serves until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let router = self.router();
        serve::serve(listener, router, self.tls, self.limits, shutdown).await
    }
}

/// Builds a mock from `config` and serves it on `listener` until `shutdown`.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: MockConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    Mock::new(config).serve(listener, shutdown).await
}
