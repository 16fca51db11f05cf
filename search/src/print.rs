//! [`Query`] to canonical query text.
//!
//! For any tree `q` that [`crate::parse`] returns, `parse(&q.to_string()) == Ok(q)`,
//! and the printed text never nests deeper than the text `q` came from, so the
//! round trip also holds at the depth limit. The rules:
//!
//! - Terms print as `field:value`; words are backslash-escaped where needed
//!   (special characters, the keywords `AND`/`OR`/`NOT`/`TO`, `*`/`?` in a
//!   [`TermValue::Word`], and a leading `>`/`<`/`&`/`|`, plus `-`/`+`/`!` where a
//!   clause starts, so `f:-5` but bare `\-5`); phrases are quoted with `"` and
//!   `\` escaped. Field names are escaped like words.
//! - Ranges with one open end print as `field:>v`, `>=`, `<`, `<=`; the others as
//!   `field:[a TO b}` with `*` for an open end. Bounds are quoted unless they are
//!   plain words.
//! - `And` and `Or` print their children joined by ` AND ` / ` OR `. Parentheses
//!   go only where precedence needs them: around an `Or` inside an `And`, an `And`
//!   or `Or` under `NOT`, and a `NOT` inside an `Or` (where a bare `NOT` would be
//!   read as a must-not clause of the whole OR level).
//! - An `And` whose children are all `Not` except one `Or` is what the parser
//!   builds from `-a b c`, and prints back in that form (`-a b c`), which needs no
//!   parentheses and so no extra nesting; as a child of an `Or` it prints as
//!   `NOT a AND (b OR c)`, which there is the shallower form.
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

/// Canonical query text: `parse(&q.to_string()) == Ok(q)` for any `q` from
/// [`crate::parse`]. See `src/print.rs` for the rules.
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
                write_word(f, field, Position::ClauseStart)?;
                f.write_char(':')?;
            }
            write_value(f, value, field.is_none())
        }
        Query::Range {
            field,
            lower,
            upper,
        } => {
            write_word(f, field, Position::ClauseStart)?;
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
            // Inside an `Or` the plain form needs no parentheses of its own, so it is
            // never deeper than the source; elsewhere the `-a b c` form is shallower.
            _ if is_modifier_shape(qs) && place != Place::OrMember => {
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
    let is_or = |q: &Query| matches!(q, Query::Or(inner) if inner.len() >= 2);
    qs.iter().filter(|q| is_or(q)).count() == 1
        && qs.iter().all(|q| is_or(q) || matches!(q, Query::Not(_)))
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
    let position = if bare {
        Position::ClauseStart
    } else {
        Position::Value
    };
    match value {
        TermValue::Word(w) if w.is_empty() => f.write_str("\"\""),
        TermValue::Word(w) => write_word(f, w, position),
        TermValue::Phrase(p) => write_phrase(f, p),
        // A bare `*` would read back as "everything"; `**` matches the same tokens.
        TermValue::Wildcard(p) if bare && p == "*" => f.write_str("**"),
        TermValue::Wildcard(p) if p.is_empty() => f.write_str("\"\""),
        TermValue::Wildcard(p) => write_pattern(f, p, position),
    }
}

/// Where a word starts, which decides what its first character may be.
#[derive(Clone, Copy)]
enum Position {
    /// Start of a clause (bare terms, field names): `-`, `+`, `!` are prefixes there.
    ClauseStart,
    /// After `field:`, where `-5` is just a value.
    Value,
}

/// Characters that would mean something else at the start of a word.
fn needs_escape_first(c: char, position: Position) -> bool {
    match position {
        Position::ClauseStart => matches!(c, '-' | '+' | '!' | '>' | '<' | '&' | '|'),
        Position::Value => matches!(c, '>' | '<' | '&' | '|'),
    }
}

fn is_keyword(s: &str) -> bool {
    matches!(s, "AND" | "OR" | "NOT" | "TO")
}

/// A word (or field name) with every character escaped that would otherwise end
/// it or change its meaning.
fn write_word(f: &mut Formatter<'_>, s: &str, position: Position) -> fmt::Result {
    let keyword = is_keyword(s);
    for (n, c) in s.chars().enumerate() {
        let escape = is_special(c)
            || matches!(c, '*' | '?')
            || (n == 0 && (needs_escape_first(c, position) || keyword));
        if escape {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    Ok(())
}

/// A wildcard pattern: `*` and `?` print as themselves, `\x` keeps its escape,
/// anything else is escaped as in a word.
fn write_pattern(f: &mut Formatter<'_>, p: &str, position: Position) -> fmt::Result {
    let keyword = is_keyword(p);
    let mut chars = p.chars().enumerate();
    while let Some((n, c)) = chars.next() {
        match c {
            '*' | '?' => f.write_char(c)?,
            '\\' => {
                f.write_char('\\')?;
                f.write_char(chars.next().map_or('\\', |(_, e)| e))?;
            }
            c => {
                if is_special(c) || (n == 0 && (needs_escape_first(c, position) || keyword)) {
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
    !s.is_empty() && s != "*" && !is_keyword(s) && !s.starts_with('=') && !s.chars().any(is_special)
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
            f.write_char(if matches!(lower, Bound::Exclusive(_)) {
                '{'
            } else {
                '['
            })?;
            write_bound(f, lower)?;
            f.write_str(" TO ")?;
            write_bound(f, upper)?;
            f.write_char(if matches!(upper, Bound::Exclusive(_)) {
                '}'
            } else {
                ']'
            })
        }
    }
}

fn write_bound(f: &mut Formatter<'_>, b: &Bound) -> fmt::Result {
    match b {
        Bound::Unbounded => f.write_char('*'),
        Bound::Inclusive(v) | Bound::Exclusive(v) => write_bound_value(f, v),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::testutil::{any_query, grammar_text, normalize, query_like_text, test_doc};
    use crate::{matches, parse, parse_with_limit, Bound, Query, TermValue, MAX_DEPTH};

    fn printed(input: &str) -> String {
        parse(input)
            .unwrap_or_else(|e| panic!("{input:?}: {e}"))
            .to_string()
    }

    /// Parse, print, reparse: same tree, and printing again gives the same text.
    fn assert_round_trip(input: &str, max_depth: usize) {
        let q = parse_with_limit(input, max_depth).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        let text = q.to_string();
        let again = parse_with_limit(&text, max_depth)
            .unwrap_or_else(|e| panic!("{input:?} printed as {text:?}: {e}"));
        assert_eq!(again, q, "{input:?} printed as {text:?}");
        assert_eq!(again.to_string(), text);
    }

    #[test]
    fn canonical_text() {
        let cases: &[(&str, &str)] = &[
            ("@type:conn", "@type:conn"),
            ("  @type : conn ", "@type:conn"),
            (
                r#"@type:"ssl" AND @fields.dest_port:"443""#,
                r#"@type:"ssl" AND @fields.dest_port:"443""#,
            ),
            (r#"f:"a \"b\" \\ c""#, r#"f:"a \"b\" \\ c""#),
            ("f:(a OR b)", "f:a OR f:b"),
            ("a OR b AND c", "a OR b AND c"),
            ("(a OR b) AND c", "(a OR b) AND c"),
            ("((a))", "a"),
            ("a b c", "a OR b OR c"),
            ("a && b || !c", "a AND b AND NOT c"),
            ("NOT (a OR b)", "NOT (a OR b)"),
            ("NOT NOT a", "NOT NOT a"),
            ("NOT (NOT a)", "NOT NOT a"),
            ("a OR (NOT b)", "a OR (NOT b)"),
            ("a -b", "a AND NOT b"),
            ("-a b c", "-a b c"),
            ("NOT a AND (b OR c)", "-a b c"),
            ("x OR (-a b c)", "x OR NOT a AND (b OR c)"),
            ("(b OR c) AND NOT a OR x", "(b OR c) AND NOT a OR x"),
            ("+a +b", "a AND b"),
            ("*", "*"),
            ("*:*", "*"),
            ("", "*"),
            ("f:*", "f:*"),
            ("f:ab*c?", "f:ab*c?"),
            (r"f:a\*b*", r"f:a\*b*"),
            (r"f:a\*b", r"f:a\*b"),
            ("f:[1 TO 5]", "f:[1 TO 5]"),
            ("f:{1 TO 5]", "f:{1 TO 5]"),
            ("f:[* TO 5}", "f:<5"),
            ("f:[5 TO *]", "f:>=5"),
            ("f:{* TO *}", "f:[* TO *]"),
            (
                "@fields.epochdate :>1714521600.0",
                "@fields.epochdate:>1714521600.0",
            ),
            (
                "@fields.epochdate: <=1714521600.0",
                "@fields.epochdate:<=1714521600.0",
            ),
            (r#"f:["a b" TO "*"]"#, r#"f:["a b" TO "*"]"#),
            (
                "@timestamp:[2024-05-01T00:00:00 TO *]",
                r#"@timestamp:>="2024-05-01T00:00:00""#,
            ),
            (r"ip:fe80\:\:1", r"ip:fe80\:\:1"),
            ("f:-5", "f:-5"),
            (r"\-5", r"\-5"),
            (r"\AND", r"\AND"),
            (r"f:\OR", r"f:\OR"),
            (r"a\:b:c", r"a\:b:c"),
        ];
        for &(input, want) in cases {
            assert_eq!(printed(input), want, "{input:?}");
            assert_round_trip(input, MAX_DEPTH);
        }
    }

    #[test]
    fn odd_trees_print_with_their_meaning() {
        let bare_star = Query::Term {
            field: None,
            value: TermValue::Wildcard("*".into()),
        };
        assert_eq!(bare_star.to_string(), "**");
        assert_eq!(Query::And(vec![]).to_string(), "*");
        assert_eq!(Query::Or(vec![]).to_string(), "NOT *");
        let word = |s: &str| Query::Term {
            field: Some("f".into()),
            value: TermValue::Word(s.into()),
        };
        assert_eq!(word("").to_string(), r#"f:"""#);
        assert_eq!(word("a b*").to_string(), r"f:a\ b\*");
        assert_eq!(word(">5").to_string(), r"f:\>5");
        assert_eq!(Query::Or(vec![word("x")]).to_string(), "f:x");
        let r = |lower, upper| Query::Range {
            field: "f".into(),
            lower,
            upper,
        };
        assert_eq!(
            r(Bound::Exclusive("=x".into()), Bound::Unbounded).to_string(),
            r#"f:>"=x""#
        );
        assert_eq!(
            r(Bound::Inclusive("TO".into()), Bound::Inclusive("".into())).to_string(),
            r#"f:["TO" TO ""]"#
        );
    }

    #[test]
    fn printing_never_nests_deeper_than_the_input() {
        // Each chain is repeated as often as the limit allows, so the input sits
        // at the limit and any extra nesting in the printed text would fail.
        let chains: &[(&str, &str)] = &[
            ("(", ")"),
            ("NOT ", ""),
            ("-", ""),
            ("NOT (", ")"),
            ("f:(", ")"),
            ("(x OR NOT ", ")"),
            ("(NOT x ", ")"),
            // Each level is `-a b (...) c`: a must-not clause beside plain ones,
            // which prints back as `-a b ... c` rather than adding `(b OR ...)`.
            ("-a b (", ") c"),
            ("x AND (-a b ", " c)"),
            ("NOT (-a b ", " c)"),
            ("(NOT a AND (b OR ", "))"),
            // Found by the property below: an AND chain of a group and a NOT, as
            // one alternative of an OR.
            ("(b OR c) AND NOT a OR (", ")"),
            ("x OR (-a b ", " c)"),
        ];
        for &(open, close) in chains {
            let chain = |reps: usize| format!("{}a{}", open.repeat(reps), close.repeat(reps));
            let reps = (1..=MAX_DEPTH).rev().find(|&r| parse(&chain(r)).is_ok());
            let reps = reps.unwrap_or_else(|| panic!("{open:?} chain never parses"));
            assert!(reps >= MAX_DEPTH / 2 - 1, "{open:?}: only {reps} levels");
            assert_round_trip(&chain(reps), MAX_DEPTH);
        }
    }

    proptest! {
        #[test]
        fn normalized_trees_round_trip_exactly(q in any_query()) {
            let q = normalize(q);
            let text = q.to_string();
            let again = parse(&text);
            prop_assert_eq!(again.as_ref(), Ok(&q), "printed as {:?}", text);
            prop_assert_eq!(again.map(|a| a.to_string()), Ok(text));
        }

        #[test]
        fn printing_any_tree_keeps_its_meaning(q in any_query(), docs in proptest::collection::vec(test_doc(), 1..6)) {
            let text = q.to_string();
            let again = parse(&text);
            prop_assert!(again.is_ok(), "{:?} printed as {:?}: {:?}", q, text, again);
            let again = again.unwrap();
            for doc in &docs {
                prop_assert_eq!(matches(&q, doc), matches(&again, doc), "{} on {:?}", text, doc);
            }
        }

        #[test]
        fn parsed_text_round_trips(input in prop_oneof![query_like_text(), grammar_text()]) {
            if let Ok(q) = parse(&input) {
                let text = q.to_string();
                let again = parse(&text);
                prop_assert_eq!(again.as_ref(), Ok(&q), "{:?} printed as {:?}", input, text);
                prop_assert_eq!(again.map(|a| a.to_string()), Ok(text));
            }
        }

        #[test]
        fn printed_text_needs_no_more_nesting_than_its_source(input in grammar_text()) {
            // The smallest limit that accepts the input is its nesting depth; the
            // printed text must reparse, to the same tree, under that same limit.
            let depth = (0..=MAX_DEPTH).find(|&d| parse_with_limit(&input, d).is_ok());
            if let Some(depth) = depth {
                let q = parse_with_limit(&input, depth).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let text = q.to_string();
                prop_assert_eq!(parse_with_limit(&text, depth), Ok(q), "{:?} printed as {:?}", input, text);
            }
        }

        #[test]
        fn printing_keeps_the_meaning_of_parsed_text(input in grammar_text(), docs in proptest::collection::vec(test_doc(), 1..6)) {
            if let Ok(q) = parse(&input) {
                let again = parse(&q.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                for doc in &docs {
                    prop_assert_eq!(matches(&q, doc), matches(&again, doc));
                }
            }
        }
    }
}
