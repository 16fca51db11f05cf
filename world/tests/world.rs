//! Integration tests for dt-world, one binary. Modules:
//! - `coherence`: every endpoint agrees on IPs, hostnames, dids and times; anchoring;
//!   injection; the index and the linear scan agree.
//! - `snapshots`: one response per endpoint shape from a pinned world.

mod coherence;
mod snapshots;
