//! Whether a [`Document`] matches a [`Query`].
//!
//! # Semantics
//!
//! - **Term on a field** (`field:value`, `field:"phrase"`): true if *any* value at
//!   that dotted path equals the term, ignoring ASCII case. When both the value
//!   and the term read as finite numbers (`443`, `-1.5`, `1e3`; not `inf`/`NaN`)
//!   they also match when numerically equal, so `@fields.dest_port:443` matches
//!   the JSON number `443` and `epochdate:1714521600` matches `1714521600.0`.
//!   Words and phrases behave the same on a field: the whole value must match.
//! - **Wildcard on a field**: `*` is any run of characters (also none), `?` is
//!   exactly one character, `\` makes the next character literal; the pattern
//!   must cover the whole value, ignoring ASCII case. `field:*` therefore means
//!   "the field has a value". Matching is the two-pointer algorithm with a single
//!   backtrack point: O(pattern × value) at worst, never exponential.
//! - **Bare term** (no field): searches `doc.message()`. The message is split into
//!   tokens at every character that is not alphanumeric or one of `. - _ :`, and a
//!   trailing `.` or `:` is trimmed from each token (sentence punctuation). The
//!   term is split the same way and matches when its tokens appear consecutively
//!   in the message, ignoring ASCII case; for a one-token word that is simply
//!   "the message has this token". A bare phrase works the same way. A bare
//!   wildcard matches when any single token matches the pattern. A term with no
//!   tokens (`""`) matches nothing.
//! - **Range**: a value is in range when it passes both bounds. Each bound is
//!   compared numerically when both it and the value read as numbers, otherwise
//!   as strings, byte by byte (so ISO-8601 timestamps compare correctly). An open
//!   end (`*`) always passes. True if any value at the path is in range.
//! - A field absent from the document matches no term and no range, so
//!   `NOT field:x` matches documents that lack the field.
//! - `All` is true; `And` is true when every child is (an empty `And` is true);
//!   `Or` when any child is (an empty `Or` is false); `Not` negates.
//!
//! Evaluation recurses once per tree level. Trees from [`crate::parse`] are
//! depth-limited ([`crate::MAX_DEPTH`] levels of text nesting give at most a few
//! times that in tree depth), so this cannot exhaust the stack for them; a
//! hand-built tree nested hundreds of thousands deep could.

use std::cmp::Ordering;

use crate::{Bound, Document, Query, TermValue};

pub(crate) fn eval(q: &Query, doc: &dyn Document) -> bool {
    match q {
        Query::All => true,
        Query::Term {
            field: Some(field),
            value,
        } => term_on_field(field, value, doc),
        Query::Term { field: None, value } => term_in_message(value, doc.message()),
        Query::Range {
            field,
            lower,
            upper,
        } => any_value(doc, field, |v| {
            passes_lower(v, lower) && passes_upper(v, upper)
        }),
        Query::And(qs) => qs.iter().all(|q| eval(q, doc)),
        Query::Or(qs) => qs.iter().any(|q| eval(q, doc)),
        Query::Not(q) => !eval(q, doc),
    }
}

/// Whether any value at `field` satisfies `pred` (stops testing after the first hit).
fn any_value(doc: &dyn Document, field: &str, mut pred: impl FnMut(&str) -> bool) -> bool {
    let mut hit = false;
    doc.for_each_value(field, &mut |v| {
        if !hit && pred(v) {
            hit = true;
        }
    });
    hit
}

fn term_on_field(field: &str, value: &TermValue, doc: &dyn Document) -> bool {
    match value {
        TermValue::Word(t) | TermValue::Phrase(t) => {
            let t_num = number(t);
            any_value(doc, field, |v| {
                v.eq_ignore_ascii_case(t) || t_num.is_some_and(|a| number(v) == Some(a))
            })
        }
        TermValue::Wildcard(p) => {
            let pattern = Pattern::new(p);
            any_value(doc, field, |v| pattern.matches(v))
        }
    }
}

fn term_in_message(value: &TermValue, message: &str) -> bool {
    match value {
        TermValue::Word(t) | TermValue::Phrase(t) => {
            let want: Vec<&str> = tokens(t).collect();
            if want.is_empty() {
                return false;
            }
            let have: Vec<&str> = tokens(message).collect();
            have.windows(want.len())
                .any(|w| w.iter().zip(&want).all(|(a, b)| a.eq_ignore_ascii_case(b)))
        }
        TermValue::Wildcard(p) => {
            let pattern = Pattern::new(p);
            tokens(message).any(|t| pattern.matches(t))
        }
    }
}

/// The message's tokens: runs of alphanumerics and `. - _ :`, minus a trailing `.`/`:`.
pub(crate) fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')))
        .map(|t| t.trim_end_matches(['.', ':']))
        .filter(|t| !t.is_empty())
}

/// A finite number, if the text is written as one. Rejects `inf`, `NaN` and the
/// like, which `f64::from_str` would accept, so words never compare as numbers.
fn number(s: &str) -> Option<f64> {
    let looks_numeric = s.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'))
        && s.bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
        // Two points (an IP address) never parse; saying so here skips the parser.
        && s.bytes().filter(|&c| c == b'.').count() <= 1;
    if !looks_numeric {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// `value` against `bound`: numerically when both read as numbers, else as strings.
fn compare(value: &str, bound: &str) -> Ordering {
    match (number(value), number(bound)) {
        (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
        _ => value.cmp(bound),
    }
}

fn passes_lower(value: &str, lower: &Bound) -> bool {
    match lower {
        Bound::Unbounded => true,
        Bound::Inclusive(b) => compare(value, b) != Ordering::Less,
        Bound::Exclusive(b) => compare(value, b) == Ordering::Greater,
    }
}

fn passes_upper(value: &str, upper: &Bound) -> bool {
    match upper {
        Bound::Unbounded => true,
        Bound::Inclusive(b) => compare(value, b) != Ordering::Greater,
        Bound::Exclusive(b) => compare(value, b) == Ordering::Less,
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Piece {
    Char(char),
    AnyOne,
    AnyRun,
}

/// A compiled wildcard pattern.
struct Pattern(Vec<Piece>);

impl Pattern {
    fn new(p: &str) -> Self {
        let mut pieces = Vec::new();
        let mut chars = p.chars();
        while let Some(c) = chars.next() {
            let piece = match c {
                '*' => Piece::AnyRun,
                '?' => Piece::AnyOne,
                // A trailing lone `\` stands for itself.
                '\\' => Piece::Char(chars.next().unwrap_or('\\')),
                c => Piece::Char(c),
            };
            // `**` is the same as `*`; collapsing keeps the loop below simple.
            if !(piece == Piece::AnyRun && pieces.last() == Some(&Piece::AnyRun)) {
                pieces.push(piece);
            }
        }
        Pattern(pieces)
    }

    /// Classic two-pointer wildcard match: on a mismatch, go back to just after
    /// the last `*` and let it swallow one more character. Each `*` only ever
    /// moves forward, so the work is bounded by pattern length × text length.
    fn matches(&self, text: &str) -> bool {
        let pat = &self.0;
        let text: Vec<char> = text.chars().collect();
        let (mut p, mut t) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match pat.get(p) {
                Some(Piece::AnyOne) => {
                    p += 1;
                    t += 1;
                }
                Some(Piece::Char(c)) if c.eq_ignore_ascii_case(&text[t]) => {
                    p += 1;
                    t += 1;
                }
                Some(Piece::AnyRun) => {
                    star = Some((p, t));
                    p += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        star = Some((sp, st + 1));
                        p = sp + 1;
                        t = st + 1;
                    }
                    None => return false,
                },
            }
        }
        pat[p..].iter().all(|piece| *piece == Piece::AnyRun)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{matches, parse};

    /// A record for tests: field path to values, and a message.
    struct Rec {
        fields: Vec<(&'static str, &'static str)>,
        message: &'static str,
    }

    impl Document for Rec {
        fn for_each_value(&self, field: &str, f: &mut dyn FnMut(&str)) {
            for (k, v) in &self.fields {
                if *k == field {
                    f(v);
                }
            }
        }
        fn message(&self) -> &str {
            self.message
        }
    }

    fn conn() -> Rec {
        Rec {
            fields: vec![
                ("@type", "conn"),
                ("@fields.src_ip", "10.0.0.1"),
                ("@fields.dest_ip", "10.0.0.2"),
                ("@fields.dest_port", "443"),
                ("@fields.epochdate", "1714521600.0"),
                ("@fields.proto", "TCP"),
                ("@fields.host", "Mail.Example.COM"),
                ("@fields.tags", "alpha"),
                ("@fields.tags", "beta"),
                ("@timestamp", "2024-05-01T00:00:00"),
                ("@fields.note", "a \"quoted\" note"),
                ("@fields.ipv6", "fe80::1"),
            ],
            message: "1714521600.0\tCk1z\t10.0.0.1\t51234\t10.0.0.2\t443\ttcp\tSF, done: ok.",
        }
    }

    fn m(q: &str) -> bool {
        matches(&parse(q).unwrap_or_else(|e| panic!("{q:?}: {e}")), &conn())
    }

    #[test]
    fn field_terms_compare_case_insensitively() {
        assert!(m("@type:conn"));
        assert!(m("@type:CONN"));
        assert!(m("@fields.proto:tcp"));
        assert!(m("@fields.host:\"mail.example.com\""));
        assert!(!m("@type:dns"));
        assert!(!m("@fields.host:mail"), "a term must equal the whole value");
        assert!(m("@fields.note:\"a \\\"quoted\\\" note\""));
        assert!(m("@fields.ipv6:\"fe80::1\""));
        assert!(m(r"@fields.ipv6:fe80\:\:1"));
    }

    #[test]
    fn any_value_of_an_array_matches() {
        assert!(m("@fields.tags:alpha"));
        assert!(m("@fields.tags:beta"));
        assert!(!m("@fields.tags:gamma"));
    }

    #[test]
    fn numbers_compare_by_value_too() {
        assert!(m("@fields.dest_port:443"));
        assert!(m("@fields.dest_port:443.0"));
        assert!(m("@fields.dest_port:\"443\""));
        assert!(m("@fields.epochdate:1714521600"));
        assert!(m("@fields.epochdate:1.7145216e9"));
        assert!(!m("@fields.dest_port:444"));
        assert_eq!(number("inf"), None);
        assert_eq!(number("NaN"), None);
        assert_eq!(number("1e400"), None, "infinite after parsing");
        assert_eq!(number("-1.5"), Some(-1.5));
    }

    #[test]
    fn wildcards_match_the_whole_value() {
        assert!(m("@fields.host:*.example.com"));
        assert!(m("@fields.host:MAIL.*"));
        assert!(m("@fields.src_ip:10.0.0.?"));
        assert!(m("@fields.src_ip:10.*.1"));
        assert!(!m("@fields.src_ip:10.0.0.??"));
        assert!(!m("@fields.host:*.example"));
        assert!(m("@fields.proto:*"), "field:* means the field exists");
        assert!(!m("@fields.missing:*"));
    }

    #[test]
    fn wildcard_matcher_edges() {
        let yes = |p: &str, t: &str| Pattern::new(p).matches(t);
        assert!(yes("*", ""));
        assert!(yes("", ""));
        assert!(!yes("", "a"));
        assert!(!yes("?", ""));
        assert!(yes("a*b*c", "aXXbYYc"));
        assert!(yes("a*b*c", "abcbc"));
        assert!(!yes("a*b*c", "abcb"));
        assert!(yes(r"a\*", "a*"));
        assert!(!yes(r"a\*", "ab"));
        assert!(yes(r"a\?", "a?"));
        assert!(yes(r"a\\*", r"a\bc"));
        assert!(yes("?é?", "aéb"), "`?` is one character, not one byte");
        assert!(!yes("ÉCOLE*", "école"), "case folding is ASCII only");
        assert!(yes("ÉCOLE*", "École-x"));
    }

    #[test]
    fn wildcard_matching_is_not_exponential() {
        let text = "a".repeat(5_000);
        let pattern = format!("{}b", "*a".repeat(200));
        let started = std::time::Instant::now();
        assert!(!Pattern::new(&pattern).matches(&text));
        assert!(Pattern::new(&"*a".repeat(200)).matches(&text));
        assert!(started.elapsed().as_secs() < 2);
    }

    #[test]
    fn bare_terms_match_whole_message_tokens() {
        assert!(m("ck1z"));
        assert!(m("10.0.0.1"));
        assert!(m("TCP"));
        assert!(m("sf"));
        assert!(m("done"), "a trailing `:` is trimmed from a token");
        assert!(m("ok"), "a trailing `.` is trimmed from a token");
        assert!(!m("Ck1"), "a term must be a whole token, not part of one");
        assert!(!m("10.0.0"));
        assert!(m("\"tcp SF\""), "a bare phrase matches consecutive tokens");
        assert!(!m("\"SF tcp\""));
        assert!(!m("\"\""), "an empty phrase matches nothing");
        assert!(m("\"10.0.0.1 51234\""));
    }

    #[test]
    fn bare_wildcards_match_any_token() {
        assert!(m("ck*"));
        assert!(m("10.0.0.?"));
        assert!(m("*234"));
        assert!(!m("zz*"));
    }

    #[test]
    fn ranges_compare_numerically_or_as_strings() {
        assert!(m("@fields.dest_port:[400 TO 500]"));
        assert!(m("@fields.dest_port:[443 TO 443]"));
        assert!(!m("@fields.dest_port:{443 TO 500]"));
        assert!(!m("@fields.dest_port:[400 TO 443}"));
        assert!(
            m("@fields.dest_port:[80 TO *]"),
            "numeric, not lexicographic: 443 > 80"
        );
        assert!(m("@fields.dest_port:>80"));
        assert!(m("@fields.dest_port:>=443"));
        assert!(!m("@fields.dest_port:>443"));
        assert!(m("@fields.dest_port:<=443"));
        assert!(!m("@fields.dest_port:<443"));
        assert!(m("@fields.epochdate :>1714521599.5"));
        assert!(m("@fields.epochdate: <1714521600.5"));
        assert!(m("@timestamp:[2024-04-30T00:00:00 TO 2024-05-01T00:00:00]"));
        assert!(!m("@timestamp:{2024-05-01T00:00:00 TO *}"));
        assert!(
            m("@timestamp:>\"2024-04-30 23:59:59\""),
            "string comparison: 'T' > ' '"
        );
        assert!(m("@fields.proto:[A TO Z]"));
        assert!(m("@fields.dest_port:[* TO *]"));
        assert!(!m("@fields.missing:[* TO *]"));
    }

    #[test]
    fn boolean_operators_and_missing_fields() {
        assert!(m("@type:conn AND @fields.dest_port:443"));
        assert!(!m("@type:conn AND @fields.dest_port:80"));
        assert!(m("@type:dns OR @fields.dest_port:443"));
        assert!(m("NOT @type:dns"));
        assert!(!m("NOT @type:conn"));
        assert!(!m("@fields.missing:x"));
        assert!(
            m("NOT @fields.missing:x"),
            "a missing field never matches, so NOT does"
        );
        assert!(!m("@fields.missing:[1 TO 2]"));
        assert!(m("*"));
        assert!(m(""));
        assert!(m("@type:conn -@fields.dest_port:80"));
        assert!(!m("@type:conn -@fields.dest_port:443"));
        assert!(m(r#"@fields.src_ip:("10.0.0.9" OR "10.0.0.1")"#));
        assert!(eval(&Query::And(vec![]), &conn()));
        assert!(!eval(&Query::Or(vec![]), &conn()));
    }

    #[test]
    fn tokenizer_keeps_ips_and_splits_punctuation() {
        let got: Vec<&str> = tokens("a,b 10.0.0.1\tfe80::1 x_y-z (q) end.").collect();
        assert_eq!(got, ["a", "b", "10.0.0.1", "fe80::1", "x_y-z", "q", "end"]);
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use crate::testutil::{any_query, grammar_text, query_like_text, test_doc};
    use crate::{matches, parse};

    proptest! {
        #[test]
        fn never_panics_on_any_tree(q in any_query(), doc in test_doc()) {
            let _ = matches(&q, &doc);
        }

        #[test]
        fn never_panics_on_parsed_text(input in prop_oneof![query_like_text(), grammar_text()], doc in test_doc()) {
            if let Ok(q) = parse(&input) {
                let _ = matches(&q, &doc);
            }
        }

        #[test]
        fn wildcard_star_alone_matches_any_value(v in "\\PC{0,20}") {
            prop_assert!(super::Pattern::new("*").matches(&v));
            prop_assert!(super::Pattern::new(&"?".repeat(v.chars().count())).matches(&v));
        }
    }
}
