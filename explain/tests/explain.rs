//! Integration tests for dt-explain, one binary. Modules:
//! - `common`: fixtures (tokens, signing helpers, the no-secret check).
//! - `mistakes`: one test per customer mistake, from really mis-signed requests.
//! - `secrecy`: the private token never appears in any output.
//! - `props`: parsers and explain never panic.
//! - `snapshot`: rendered explanations.

mod common;
mod mistakes;
mod props;
mod secrecy;
mod snapshot;
