//! The Lucene subset that Darktrace advanced-search clients send.
//!
//! Module map:
//! - [`ast`]: the query tree.
//! - `parser`: query text to tree ([`parse`], [`parse_with_limit`]), built with
//!   winnow: Lucene precedence (NOT, then AND, then OR; adjacent clauses are
//!   OR'ed), Elasticsearch's reading of `+`/`-`/`NOT` clauses, and a nesting
//!   limit ([`MAX_DEPTH`]) so no input can exhaust the stack.
//! - `print`: `impl Display for Query`, canonical query text; for any tree from
//!   [`parse`], printing and reparsing gives the same tree.
//! - `eval`: [`matches()`], whether a record matches a tree, through the
//!   [`Document`] trait (case-insensitive terms, numeric equality, wildcards,
//!   numeric-or-string ranges, bare terms against message tokens).
//!
//! The grammar and the exact matching rules are documented on those modules'
//! source (`src/parser.rs`, `src/eval.rs`).

pub mod ast;
mod eval;
mod parser;
mod print;
#[cfg(test)]
mod testutil;

pub use ast::{Bound, Query, TermValue};

/// A parse failure, with the byte offset where the input stopped making sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse query at offset {offset}: {message}")]
pub struct ParseError {
    /// Byte offset into the input.
    pub offset: usize,
    /// What was expected.
    pub message: String,
}

/// A record that a query can be evaluated against.
pub trait Document {
    /// Calls `f` with each string form of the values at a dotted field path
    /// (`@fields.src_ip`, `@type`); arrays yield each element. Numbers are given in
    /// their JSON text form.
    fn for_each_value(&self, field: &str, f: &mut dyn FnMut(&str));
    /// The text a bare term searches (the appliance's `@message`).
    fn message(&self) -> &str;
}

/// How deeply [`parse`] lets a query nest: each `(` (also `field:(`) and each
/// `NOT`, `!`, `-` or `+` prefix opens one level. Real client queries use a few;
/// the limit only exists so hostile input cannot exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// Parses query text into a [`Query`], nesting at most [`MAX_DEPTH`] levels.
///
/// Empty or whitespace-only text, `*` and `*:*` give [`Query::All`]. Never panics;
/// any input it cannot read gives a [`ParseError`] whose offset is a char
/// boundary of `input`.
pub fn parse(input: &str) -> Result<Query, ParseError> {
    parse_with_limit(input, MAX_DEPTH)
}

/// Like [`parse`], with a different nesting limit (0 allows no groups or prefixes).
pub fn parse_with_limit(input: &str, max_depth: usize) -> Result<Query, ParseError> {
    parser::parse_query(input, max_depth)
}

/// Whether a document matches a query; the rules are in `src/eval.rs`.
///
/// Recurses once per tree level: fine for any tree from [`parse`], whose depth
/// is bounded by [`MAX_DEPTH`].
pub fn matches(query: &Query, doc: &dyn Document) -> bool {
    eval::eval(query, doc)
}
