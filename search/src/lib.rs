//! The Lucene subset that Darktrace advanced-search clients send.
//!
//! Module map:
//! - [`ast`]: the query tree.
//! - `parser`: query text to tree, with Lucene precedence and a depth limit.
//! - `print`: tree to canonical query text (parse, print, reparse is stable).
//! - `eval`: whether a record matches a tree, through the [`Document`] trait.

pub mod ast;

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

/// Parses query text. Placeholder until the parser lands.
pub fn parse(input: &str) -> Result<Query, ParseError> {
    let _ = input;
    Err(ParseError { offset: 0, message: "parser not built yet".into() })
}

/// Whether a document matches a query. Placeholder until the evaluator lands.
pub fn matches(query: &Query, doc: &dyn Document) -> bool {
    let _ = (query, doc);
    false
}
