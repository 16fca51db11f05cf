//! The security-validation platform's Darktrace integration client.
//!
//! Module map:
//! - [`config`]: the settings model (DECISIONS D5), loaded from TOML/JSON, flags and env.
//! - [`transport`]: signed HTTP requests on reqwest with rustls, and the D13 error mapping.
//! - [`health`]: the connectivity test (Healthy / Unhealthy).
//! - [`error`]: the errors the client reports, each distinct and actionable (D13).
//! - [`action`]: a validation action (start time, IPs, hostnames).
//! - [`window`]: the sliding query windows (D6) and time on the wire (D7).
//! - [`macros`]: `%IPS%` and `%HOSTNAMES%` expansion (D8).
//! - [`fieldmap`]: first-match field maps with dotted paths (D12).
//! - [`normalize`]: the normalized event (D11).
//! - [`results`]: per-action deduplication, limits and matching (D10).
//! - [`clock`]: the scheduler's clock, real or virtual (D6).
//! - [`flows`]: the D9 requests one query at a time, paging and retries (D7, D13).
//! - [`scheduler`]: one action's run over its windows, outcomes and summary (D6–D13).
//! - [`run`]: jobs of concurrent actions, the Test query, command-line times.
//! - [`output`]: JSON-lines output, the progress bar and the human summary.

pub mod action;
pub mod clock;
pub mod config;
pub mod error;
pub mod fieldmap;
pub mod flows;
pub mod health;
pub mod macros;
pub mod normalize;
pub mod output;
pub mod results;
pub mod run;
pub mod scheduler;
pub mod transport;
pub mod window;
