//! The case registry. Ids are stable: rename a case only with a reviewed manifest
//! change, and mark a known divergence with a tag and its reason instead of
//! deleting the case.

use crate::case::Case;

pub mod auth;
pub mod client;
pub mod details;
pub mod devices;
pub mod language;
pub mod modelbreaches;
pub mod search;
pub mod status;

/// Builds a [`Case`] from an async fn taking `&Target`.
#[macro_export]
macro_rules! case {
    ($id:literal, $must:literal, $reference:literal, [$($tag:ident),*], $f:path) => {
        $crate::case::Case {
            id: $id,
            must: $must,
            reference: $reference,
            tags: &[$($crate::case::Tag::$tag),*],
            divergences: &[],
            run: |t| Box::pin($f(t)),
        }
    };
    ($id:literal, $must:literal, $reference:literal, [$($tag:ident),*], $f:path, diverges: [$(($v:literal, $why:literal)),*]) => {
        $crate::case::Case {
            id: $id,
            must: $must,
            reference: $reference,
            tags: &[$($crate::case::Tag::$tag),*],
            divergences: &[$($crate::case::Divergence { versions: $v, reason: $why }),*],
            run: |t| Box::pin($f(t)),
        }
    };
}

/// Every case, in manifest order.
pub fn all() -> Vec<Case> {
    let mut v = Vec::new();
    v.extend(auth::cases());
    v.extend(status::cases());
    v.extend(devices::cases());
    v.extend(details::cases());
    v.extend(modelbreaches::cases());
    v.extend(search::cases());
    v.extend(language::cases());
    v.extend(client::cases());
    v
}
