//! The case registry. Ids are stable: rename a case only with a reviewed manifest
//! change, and mark a known divergence with a tag and its reason instead of
//! deleting the case.

use crate::case::Case;

pub mod auth;
pub mod client;
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
            run: |t| Box::pin($f(t)),
        }
    };
}

/// Every case, in manifest order.
pub fn all() -> Vec<Case> {
    let mut v = Vec::new();
    v.extend(auth::cases());
    v.extend(status::cases());
    v.extend(client::cases());
    v
}
