//! The query tree. Parsing produces it, printing renders it back to query text,
//! and the evaluator and the world's index planner walk it.

/// A parsed advanced-search query.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// Matches every record (`*`, `*:*`, or an empty query).
    All,
    /// `field:value`, `field:"phrase"`, or a bare term (no field: searches the message).
    Term {
        /// The field path, e.g. `@fields.src_ip` or `@type`; `None` for a bare term.
        field: Option<String>,
        /// The value to match.
        value: TermValue,
    },
    /// `field:[a TO b]`, `field:{a TO b}`, `field:>N`, `field:<=N`, ...
    Range {
        /// The field path.
        field: String,
        /// The lower bound.
        lower: Bound,
        /// The upper bound.
        upper: Bound,
    },
    /// Every clause must match.
    And(Vec<Query>),
    /// At least one clause must match.
    Or(Vec<Query>),
    /// The clause must not match.
    Not(Box<Query>),
}

/// The value side of a term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermValue {
    /// An unquoted word, matched exactly (case-insensitively).
    Word(String),
    /// A quoted phrase, matched exactly (case-insensitively).
    Phrase(String),
    /// A word with `*` or `?` wildcards.
    Wildcard(String),
}

/// One end of a range.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// No limit (`*`).
    Unbounded,
    /// The value is part of the range (`[`, `]`, `>=`, `<=`).
    Inclusive(String),
    /// The value is not part of the range (`{`, `}`, `>`, `<`).
    Exclusive(String),
}
