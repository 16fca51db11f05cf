//! Conformance cases for the Darktrace Threat Visualizer API and its client.
//!
//! One registry of named cases, each with a MUST statement, the reference it rests
//! on and tags saying where it may run. The same cases run inside `cargo test`
//! against an in-process mock and from the `dt-conformance` binary against any URL,
//! mock or real appliance.
//!
//! Module map:
//! - [`case`]: the case type, tags, outcomes and failure reports.
//! - [`probe`]: signed and deliberately mis-signed requests, and what came back.
//! - [`target`]: where the cases run (URL, credentials, TLS) and the in-process mock.
//! - [`cases`]: the registry, one module per area.
//! - [`runner`]: filtering, running, and the one-line-per-case output.
//! - [`report`]: JUnit XML, JSON, and the generated case manifest.

pub mod case;
pub mod cases;
pub mod probe;
pub mod report;
pub mod runner;
pub mod target;

pub use case::{Case, Failure, Tag};
pub use runner::{run, Report, RunOptions};
pub use target::Target;
