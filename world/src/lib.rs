//! The mock appliance's data plane: a coherent fixture world, its indexes, and the data
//! endpoints' semantics, free of HTTP.
//!
//! Module map:
//! - [`model`]: the stored entities (devices, models, breaches, connections).
//! - [`world`]: the [`World`], its lookups and its mutation entry points.
//! - [`search`]: advanced-search records, inverted index, planner and linear scan.
//! - `scan`: fast paths that read stored `_source` texts and connection lines on load.
//! - `render`: advanced-search answers written as 2-space JSON without a `Value` per hit.
//! - `pretty`: stored `_source` text re-indented to that JSON without parsing it.
//! - [`records`]: building `_source` texts and deterministic `_id`s/uids.
//! - [`gen`]: the seeded generator ([`generate`]).
//! - [`store`]: world directories on disk and the embedded default world.
//! - [`api`]: `/devices`, `/details`, `/modelbreaches`, advanced search.
//! - [`clock`]: UTC formatting and parsing of the appliance's time forms.
//!
//! The world format is described in `fixtures/worlds/README.md`.

pub mod api;
pub mod clock;
pub mod gen;
pub mod model;
mod pretty;
pub mod records;
mod render;
mod scan;
pub mod search;
pub mod store;
pub mod world;

pub use api::ApiError;
pub use gen::{generate, GenParams};
pub use search::{Found, SearchStore, Window};
pub use store::{write_default_fixture, DEFAULT_PARAMS};
pub use world::{Meta, NewBreach, NewConnection, PeerRef, World, WorldError};

#[cfg(test)]
pub(crate) mod testutil {
    use std::sync::OnceLock;

    use crate::{generate, GenParams, World};

    /// The pinned anchor of the test world: 2024-03-10 18:00:00 UTC.
    pub const ANCHOR: i64 = 1_710_093_600_000;

    /// A small generated world shared by the unit tests.
    pub fn small_world() -> &'static World {
        static W: OnceLock<World> = OnceLock::new();
        W.get_or_init(|| {
            generate(&GenParams {
                devices: 24,
                records: 1_500,
                seed: 7,
                anchor_ms: ANCHOR,
            })
        })
    }

    pub fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}
