//! [`Query`] to canonical query text.
//!
//! For any tree `q` that [`crate::parse`] returns, `parse(&q.to_string()) == Ok(q)`,
//! and the printed text never nests deeper than the text `q` came from, so the
//! round trip also holds at the depth limit. The rules:
//!
//! - Terms print as `field:value`; words are backslash-escaped where needed
//!   (special characters, a leading `-`/`+`/`!`/`>`/`<`/`&`/`|`, the keywords
//!   `AND`/`OR`/`NOT`/`TO`, and `*`/`?` in a [`TermValue::Word`]); phrases are
//!   quoted with `"` and `\` escaped. Field names are escaped like words.
//! - Ranges with one open end print as `field:>v`, `>=`, `<`, `<=`; the others as
//!   `field:[a TO b}` with `*` for an open end. Bounds are quoted unless they are
//!   plain words.
//! - `And` and `Or` print their children joined by ` AND ` / ` OR `. Parentheses
//!   go only where precedence needs them: around an `Or` inside an `And`, an `And`
//!   or `Or` under `NOT`, and a `NOT` inside an `Or` (where a bare `NOT` would be
//!   read as a must-not clause of the whole OR level).
//! - An `And` whose children are all `Not` except one `Or` is what the parser
//!   builds from `-a b c`, and prints back in that form (`-a b c`), which needs no
//!   parentheses and so no extra nesting.
//! - Trees the parser never builds still print as text with the same meaning:
//!   an empty `And` as `*`, an empty `Or` as `NOT *`, a one-child `And`/`Or` as
//!   its child, a bare `Wildcard("*")` as `**`, an empty word as `""`.

use std::fmt::{self, Display, Formatter, Write};

use crate::parser::is_special;
use crate::{Bound, Query, TermValue};

/// Where a query is printed, which decides whether it needs parentheses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Top,
    AndMember,
    OrMember,
    NotOperand,
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_query(f, self, Place::Top)
    }
}

fn write_query(f: &mut Formatter<'_>, q: &Query, place: Place) -> fmt::Result {
    match q {
        Query::All => f.write_char('*'),
        Query::Term { field, value } => {
            if let Some(field) = field {
                write_word(f, field, true)?;
                f.write_char(':')?;
            }
            write_value(f, value, field.is_none())
        }
        Query::Range { field, lower, upper } => {
            write_word(f, field, true)?;
            f.write_char(':')?;
            write_range(f, lower, upper)
        }
        Query::Not(inner) => {
            let paren = place == Place::OrMember;
            open(f, paren)?;
            f.write_str("NOT ")?;
            write_query(f, inner, Place::NotOperand)?;
            close(f, paren)
        }
        Query::And(qs) => match qs.as_slice() {
            [] => write_query(f, &Query::All, place),
            [only] => write_query(f, only, place),
            _ if is_modifier_shape(qs) => {
                let paren = place != Place::Top;
                open(f, paren)?;
                write_modifier_form(f, qs)?;
                close(f, paren)
            }
            _ => {
                let paren = matches!(place, Place::AndMember | Place::NotOperand);
                open(f, paren)?;
                join(f, qs, " AND ", Place::AndMember)?;
                close(f, paren)
            }
        },
        Query::Or(qs) => match qs.as_slice() {
            [] => write_query(f, &Query::Not(Box::new(Query::All)), place),
            [only] => write_query(f, only, place),
            _ => {
                let paren = matches!(place, Place::AndMember | Place::NotOperand);
                open(f, paren)?;
                join(f, qs, " OR ", Place::OrMember)?;
                close(f, paren)
            }
        },
    }
}

fn open(f: &mut Formatter<'_>, paren: bool) -> fmt::Result {
    if paren {
        f.write_char('(')?;
    }
    Ok(())
}

fn close(f: &mut Formatter<'_>, paren: bool) -> fmt::Result {
    if paren {
        f.write_char(')')?;
    }
    Ok(())
}

fn join(f: &mut Formatter<'_>, qs: &[Query], sep: &str, place: Place) -> fmt::Result {
    for (n, q) in qs.iter().enumerate() {
        if n > 0 {
            f.write_str(sep)?;
        }
        write_query(f, q, place)?;
    }
    Ok(())
}

/// All children `Not`, except exactly one `Or` of two or more.
fn is_modifier_shape(qs: &[Query]) -> bool {
    let ors = qs.iter().filter(|q| matches!(q, Query::Or(inner) if inner.len() >= 2)).count();
    ors == 1 && qs.iter().all(|q| matches!(q, Query::Not(_) | Query::Or(_)))
}

/// `-a b c`: the negated children as must-not clauses, the `Or`'s children as
/// plain clauses, in order.
fn write_modifier_form(f: &mut Formatter<'_>, qs: &[Query]) -> fmt::Result {
    let mut first = true;
    let mut sep = |f: &mut Formatter<'_>| {
        if !std::mem::take(&mut first) {
            f.write_char(' ')?;
        }
        Ok::<(), fmt::Error>(())
    };
    for q in qs {
        match q {
            Query::Not(inner) => {
                sep(f)?;
                f.write_char('-')?;
                write_query(f, inner, Place::NotOperand)?;
            }
            Query::Or(members) => {
                for m in members {
                    sep(f)?;
                    write_query(f, m, Place::OrMember)?;
                }
            }
            other => {
                sep(f)?;
                write_query(f, other, Place::OrMember)?;
            }
        }
    }
    Ok(())
}

fn write_value(f: &mut Formatter<'_>, value: &TermValue, bare: bool) -> fmt::Result {
    match value {
        TermValue::Word(w) if w.is_empty() => f.write_str("\"\""),
        TermValue::Word(w) => write_word(f, w, true),
        TermValue::Phrase(p) => write_phrase(f, p),
        // A bare `*` would read back as "everything"; `**` matches the same tokens.
        TermValue::Wildcard(p) if bare && p == "*" => f.write_str("**"),
        TermValue::Wildcard(p) if p.is_empty() => f.write_str("\"\""),
        TermValue::Wildcard(p) => write_pattern(f, p),
    }
}

/// Characters that would mean something else at the start of a word.
fn needs_escape_first(c: char) -> bool {
    matches!(c, '-' | '+' | '!' | '>' | '<' | '&' | '|')
}

fn is_keyword(s: &str) -> bool {
    matches!(s, "AND" | "OR" | "NOT" | "TO")
}

/// A word (or field name) with every character escaped that would otherwise end
/// it or change its meaning.
fn write_word(f: &mut Formatter<'_>, s: &str, escape_wildcards: bool) -> fmt::Result {
    let keyword = is_keyword(s);
    for (n, c) in s.chars().enumerate() {
        let escape = is_special(c)
            || (escape_wildcards && matches!(c, '*' | '?'))
            || (n == 0 && (needs_escape_first(c) || keyword));
        if escape {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    Ok(())
}

/// A wildcard pattern: `*` and `?` print as themselves, `\x` keeps its escape,
/// anything else is escaped as in a word.
fn write_pattern(f: &mut Formatter<'_>, p: &str) -> fmt::Result {
    let mut chars = p.chars().enumerate();
    while let Some((n, c)) = chars.next() {
        match c {
            '*' | '?' => f.write_char(c)?,
            '\\' => {
                f.write_char('\\')?;
                f.write_char(chars.next().map_or('\\', |(_, e)| e))?;
            }
            c => {
                if is_special(c) || (n == 0 && needs_escape_first(c)) {
                    f.write_char('\\')?;
                }
                f.write_char(c)?;
            }
        }
    }
    Ok(())
}

fn write_phrase(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}

/// A bound value that reads back unchanged both after `>` and inside brackets.
fn is_plain_bound(s: &str) -> bool {
    !s.is_empty()
        && s != "*"
        && !is_keyword(s)
        && !s.starts_with('=')
        && !s.chars().any(is_special)
}

fn write_bound_value(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    if is_plain_bound(s) {
        f.write_str(s)
    } else {
        write_phrase(f, s)
    }
}

fn write_range(f: &mut Formatter<'_>, lower: &Bound, upper: &Bound) -> fmt::Result {
    match (lower, upper) {
        (Bound::Inclusive(v), Bound::Unbounded) => {
            f.write_str(">=")?;
            write_bound_value(f, v)
        }
        (Bound::Exclusive(v), Bound::Unbounded) => {
            f.write_char('>')?;
            write_bound_value(f, v)
        }
        (Bound::Unbounded, Bound::Inclusive(v)) => {
            f.write_str("<=")?;
            write_bound_value(f, v)
        }
        (Bound::Unbounded, Bound::Exclusive(v)) => {
            f.write_char('<')?;
            write_bound_value(f, v)
        }
        _ => {
            f.write_char(if matches!(lower, Bound::Exclusive(_)) { '{' } else { '[' })?;
            write_bound(f, lower)?;
            f.write_str(" TO ")?;
            write_bound(f, upper)?;
            f.write_char(if matches!(upper, Bound::Exclusive(_)) { '}' } else { ']' })
        }
    }
}

fn write_bound(f: &mut Formatter<'_>, b: &Bound) -> fmt::Result {
    match b {
        Bound::Unbounded => f.write_char('*'),
        Bound::Inclusive(v) | Bound::Exclusive(v) => write_bound_value(f, v),
    }
}
