//! Test-only helpers: a simple [`Document`], and proptest strategies for trees,
//! query-like text and records.

use proptest::prelude::*;

use crate::{Bound, Document, Query, TermValue};

/// A record made of `(path, value)` pairs and a message.
#[derive(Debug, Clone)]
pub(crate) struct TestDoc {
    pub fields: Vec<(String, String)>,
    pub message: String,
}

impl Document for TestDoc {
    fn for_each_value(&self, field: &str, f: &mut dyn FnMut(&str)) {
        for (k, v) in &self.fields {
            if k == field {
                f(v);
            }
        }
    }
    fn message(&self) -> &str {
        &self.message
    }
}

const FIELDS: &[&str] = &[
    "@fields.src_ip",
    "@fields.dest_ip",
    "@fields.dest_port",
    "@type",
    "@fields.id.orig_h",
    "@timestamp",
];

/// Field names a printer must cope with, beyond the everyday ones.
const ODD_FIELDS: &[&str] = &[
    "a b", "a:b", "-neg", "AND", "*", "x\\y", "(p)", "é.ü", "f?", "+1",
];

const VALUES: &[&str] = &[
    "10.0.0.1",
    "10.0.0.2",
    "443",
    "443.0",
    "80",
    "conn",
    "CONN",
    "dns",
    "2024-05-01T00:00:00",
    "1714521600.0",
    "-5",
    "a b",
    "fe80::1",
    "",
];

pub(crate) fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(FIELDS).prop_map(str::to_string),
        1 => proptest::sample::select(ODD_FIELDS).prop_map(str::to_string),
    ]
}

/// Text for words, phrases and bounds: ordinary values plus awkward characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(VALUES).prop_map(str::to_string),
        2 => "[a-zA-Z0-9@._:\\-\\\\\" *?()\\[\\]{}<>=!&|+^~/]{1,8}",
        1 => proptest::sample::select(&["AND", "OR", "NOT", "TO", "*", "=x", ">x", "&&", "||"][..])
            .prop_map(str::to_string),
    ]
}

/// A canonical wildcard pattern: literal chunks (with `*`, `?`, `\` escaped) and
/// at least one unescaped `*` or `?`.
fn pattern() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        2 => "[a-z0-9.:\\-\\\\*? \"]{1,4}".prop_map(|lit| {
            let mut out = String::new();
            for c in lit.chars() {
                if matches!(c, '*' | '?' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
            out
        }),
        1 => Just("*".to_string()),
        1 => Just("?".to_string()),
    ];
    (
        proptest::collection::vec(piece, 0..4),
        prop_oneof![Just("*"), Just("?")],
        0usize..4,
    )
        .prop_map(|(mut pieces, wild, at)| {
            let at = at.min(pieces.len());
            pieces.insert(at, wild.to_string());
            pieces.concat()
        })
}

fn term_value() -> impl Strategy<Value = TermValue> {
    prop_oneof![
        3 => text().prop_filter("words are never empty", |s| !s.is_empty()).prop_map(TermValue::Word),
        2 => text().prop_map(TermValue::Phrase),
        2 => pattern().prop_map(TermValue::Wildcard),
    ]
}

fn bound() -> impl Strategy<Value = Bound> {
    prop_oneof![
        1 => Just(Bound::Unbounded),
        2 => text().prop_map(Bound::Inclusive),
        2 => text().prop_map(Bound::Exclusive),
    ]
}

fn leaf() -> impl Strategy<Value = Query> {
    prop_oneof![
        1 => Just(Query::All),
        6 => (proptest::option::weighted(0.8, field_name()), term_value())
            .prop_map(|(field, value)| Query::Term { field, value }),
        3 => (field_name(), bound(), bound())
            .prop_map(|(field, lower, upper)| Query::Range { field, lower, upper }),
    ]
}

/// Any tree, including shapes the parser never builds (singleton and empty
/// `And`/`Or`, `And` directly in `And`).
pub(crate) fn any_query() -> impl Strategy<Value = Query> {
    leaf().prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            3 => proptest::collection::vec(inner.clone(), 0..5).prop_map(Query::And),
            3 => proptest::collection::vec(inner.clone(), 0..5).prop_map(Query::Or),
            2 => inner.prop_map(|q| Query::Not(Box::new(q))),
        ]
    })
}

/// Any tree, brought to the shape the parser builds: `And`/`Or` flattened and
/// with two or more children, and a bare `*` wildcard as the `**` it prints as.
pub(crate) fn normalize(q: Query) -> Query {
    fn flat(qs: Vec<Query>, is_and: bool) -> Vec<Query> {
        let mut out = Vec::new();
        for q in qs.into_iter().map(normalize) {
            match q {
                Query::And(inner) if is_and => out.extend(inner),
                Query::Or(inner) if !is_and => out.extend(inner),
                q => out.push(q),
            }
        }
        out
    }
    match q {
        Query::Term {
            field: None,
            value: TermValue::Wildcard(p),
        } if p == "*" => Query::Term {
            field: None,
            value: TermValue::Wildcard("**".into()),
        },
        Query::And(qs) => {
            let mut qs = flat(qs, true);
            match qs.len() {
                0 => Query::All,
                1 => qs.remove(0),
                _ => Query::And(qs),
            }
        }
        Query::Or(qs) => {
            let mut qs = flat(qs, false);
            match qs.len() {
                0 => Query::Not(Box::new(Query::All)),
                1 => qs.remove(0),
                _ => Query::Or(qs),
            }
        }
        Query::Not(q) => Query::Not(Box::new(normalize(*q))),
        q => q,
    }
}

/// Text made of query-ish tokens, to reach the parser's corners more often
/// than random characters do.
pub(crate) fn query_like_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        3 => proptest::sample::select(&[
            "(", ")", "\"", ":", "[", "]", "{", "}", " TO ", " AND ", " OR ", "NOT ", "*", "?",
            "\\", ">", "<", ">=", "-", "+", "!", "&&", "||", " ", " ", "f:", "@fields.src_ip:",
            "@type :", "é", "^", "~",
        ][..])
        .prop_map(str::to_string),
        2 => "[a-z0-9.]{1,5}",
    ];
    proptest::collection::vec(token, 0..30).prop_map(|ts| ts.concat())
}

/// A record drawn from the same small pools as the trees, so matches happen.
pub(crate) fn test_doc() -> impl Strategy<Value = TestDoc> {
    let value = prop_oneof![
        3 => proptest::sample::select(VALUES).prop_map(str::to_string),
        1 => "[a-z0-9 .:*?\\\\\"-]{0,6}",
    ];
    let pair = (field_name(), value);
    let message = proptest::collection::vec(
        prop_oneof![
            proptest::sample::select(VALUES).prop_map(str::to_string),
            "[a-z]{1,4}"
        ],
        0..6,
    )
    .prop_map(|ws| ws.join(" "));
    (proptest::collection::vec(pair, 0..8), message)
        .prop_map(|(fields, message)| TestDoc { fields, message })
}

/// Query text built from the grammar, in all its spellings (operator symbols,
/// prefixes, groups, field groups, every range form, spaced colons, escapes),
/// so most of it parses and much of it nests.
pub(crate) fn grammar_text() -> impl Strategy<Value = String> {
    let word = proptest::sample::select(
        &[
            "conn",
            "10.0.0.1",
            "a*",
            "b?c",
            r"fe80\:\:1",
            r"\AND",
            "x-y",
            r"\-5",
            "é",
            "ANDROID",
            "*ssl*",
            r"a\*b",
            "443",
        ][..],
    );
    let value = proptest::sample::select(
        &[
            "-5",
            "conn",
            "443",
            "*",
            "1714521600.0",
            r"a\ b",
            r#""a \"q\" b""#,
            "c*",
        ][..],
    );
    let field = || proptest::sample::select(&["@type", "@fields.src_ip", "f", r"a\:b"][..]);
    let colon = || proptest::sample::select(&[":", " :", ": ", " : "][..]);
    let range = proptest::sample::select(
        &[
            "[1 TO 5]",
            "{1 TO 5}",
            "[1 TO 5}",
            "{* TO 5]",
            "[2024-05-01T00:00:00 TO *]",
            ">5",
            ">=5",
            "<5",
            "<=1714521600.0",
            r#"["a b" TO "*"]"#,
        ][..],
    );
    let leaf = prop_oneof![
        2 => word.prop_map(str::to_string),
        1 => Just(r#""a phrase""#.to_string()),
        1 => Just("*".to_string()),
        1 => Just("*:*".to_string()),
        4 => (field(), colon(), value).prop_map(|(f, c, v)| format!("{f}{c}{v}")),
        2 => (field(), colon(), range).prop_map(|(f, c, r)| format!("{f}{c}{r}")),
    ];
    leaf.prop_recursive(6, 48, 3, move |inner| {
        let binary = proptest::sample::select(
            &[" AND ", " && ", " OR ", " || ", " ", " AND NOT ", " -", " +", " NOT ", " OR NOT "][..],
        );
        let prefix = proptest::sample::select(&["NOT ", "!", "-", "+", "NOT NOT "][..]);
        prop_oneof![
            3 => (inner.clone(), binary, inner.clone()).prop_map(|(a, op, b)| format!("{a}{op}{b}")),
            2 => inner.clone().prop_map(|q| format!("({q})")),
            1 => (prefix, inner.clone()).prop_map(|(p, q)| format!("{p}{q}")),
            1 => (field(), inner).prop_map(|(f, q)| format!("{f}:({q})")),
        ]
    })
}
