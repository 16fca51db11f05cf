//! Query text to [`Query`] tree.
//!
//! # Grammar
//!
//! ```text
//! query   := ws                                  (empty query: Query::All)
//!          | ws or_expr ws EOF
//! or_expr := and_expr ( ws [ "OR" | "||" ] ws and_expr )*   (no operator = implicit OR)
//! and_expr:= unary ( ws ( "AND" | "&&" ) ws unary )*
//! unary   := ( "NOT" | "!" | "-" | "+" ) ws unary | primary
//! primary := "(" ws or_expr ws ")" | phrase | word
//!          | word ws ":" ws value                (the word is a field name)
//!          | "*" ws ":" ws "*"                   (Query::All)
//! value   := "(" ws or_expr ws ")"              (each bare term inside gets the field)
//!          | phrase | word
//!          | ("[" | "{") ws bound ws "TO" ws bound ws ("]" | "}")
//!          | (">=" | ">" | "<=" | "<") (phrase | word)
//! ```
//!
//! Precedence is the usual Lucene one: `NOT` binds tightest, then `AND`, then
//! `OR`, so `a OR b AND c` is `a OR (b AND c)`. Keywords are uppercase only;
//! `and`, `or`, `not` are ordinary words.
//!
//! # Prefixed clauses at the OR level
//!
//! Advanced Search is Elasticsearch behind Kibana (its responses are ES hits with
//! a `kibana` echo), and Lucene's classic parser, which `query_string` uses,
//! makes a clause written `-x`, `!x` or `NOT x` a *must not* clause and `+x` a
//! *must* clause of the enclosing boolean query, whatever operator sits next to
//! it. The OR level therefore collects its clauses as Lucene does:
//! - only plain clauses: `Or` of them;
//! - otherwise `And` of the `+` clauses, the negated clauses, and (only when there
//!   is no `+` clause) the `Or` of the plain clauses, in source order.
//!
//! So `a -b` and `a OR NOT b` mean `a AND NOT b`, `-a b c` means
//! `NOT a AND (b OR c)`, and `a +b` means `b` (with a `+` clause present the plain
//! ones only affect scoring, which a boolean match has none of). Inside an
//! `AND` chain the prefixes are plain: `a AND -b` is `a AND NOT b`.
//!
//! # Shape of the tree
//!
//! Groups do not create nodes, `And` never directly contains `And`, `Or` never
//! directly contains `Or`, and neither has fewer than two children. The printer
//! relies on this to render text that reparses to the same tree.
//!
//! # Depth limit
//!
//! Each `(` (including `field:(`) and each prefix operator opens one nesting level.
//! Beyond the limit ([`crate::MAX_DEPTH`] by default) parsing stops with an error
//! at the offending character, so the recursive descent never runs deeper than
//! the limit, whatever the input.

use winnow::combinator::{alt, opt};
use winnow::error::{ContextError, ErrMode};
use winnow::token::{any, literal, take_till, take_while};
use winnow::Parser;

use crate::{Bound, ParseError, Query, TermValue};

/// Errors carry one human-readable message; the offset is where the input was
/// when the parser gave up.
type PErr = ErrMode<ContextError<String>>;
type PResult<T> = Result<T, PErr>;

/// Parses `input`, allowing at most `max_depth` nested groups/prefix operators.
pub(crate) fn parse_query(input: &str, max_depth: usize) -> Result<Query, ParseError> {
    let cx = Cx {
        depth: 0,
        max_depth,
        total: input.len(),
        field: None,
    };
    let mut rest = input;
    match top(&mut rest, cx) {
        Ok(q) => Ok(q),
        Err(e) => {
            let message = match e.into_inner() {
                Ok(ctx) => ctx.context().next().cloned(),
                Err(_) => None,
            }
            .unwrap_or_else(|| format!("unexpected {}", describe(rest)));
            Err(ParseError {
                offset: input.len() - rest.len(),
                message,
            })
        }
    }
}

/// What the recursive descent carries down.
#[derive(Clone, Copy)]
struct Cx<'f> {
    depth: usize,
    max_depth: usize,
    /// Length of the whole input, to turn the remaining input into an offset.
    total: usize,
    /// The field a `field:( ... )` group hands to the bare terms inside it.
    field: Option<&'f str>,
}

impl<'f> Cx<'f> {
    fn offset(&self, rest: &str) -> usize {
        self.total - rest.len()
    }

    /// One level deeper, or the depth error (reported at the current position,
    /// which is the `(` or prefix that would exceed the limit).
    fn deeper(self) -> PResult<Self> {
        if self.depth >= self.max_depth {
            return fail(format!(
                "query nested deeper than {} levels (each `(` and each NOT, !, -, + prefix is a level)",
                self.max_depth
            ));
        }
        Ok(Cx {
            depth: self.depth + 1,
            ..self
        })
    }

    fn with_field<'g>(self, field: &'g str) -> Cx<'g>
    where
        'f: 'g,
    {
        Cx {
            field: Some(field),
            ..self
        }
    }
}

/// How a clause takes part in the OR level (Lucene's SHOULD / MUST / MUST_NOT).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Occur {
    Should,
    Must,
    MustNot,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Keyword {
    And,
    Or,
    Not,
    To,
}

/// A cut error: stop here, no backtracking, report this message.
fn fail<T>(message: impl Into<String>) -> PResult<T> {
    let mut e = ContextError::new();
    e.push(message.into());
    Err(ErrMode::Cut(e))
}

/// Names what sits at the start of `rest`, for error messages.
fn describe(rest: &str) -> String {
    if let Some(kw) = peek_keyword(rest) {
        let text = match kw {
            Keyword::And => "AND",
            Keyword::Or => "OR",
            Keyword::Not => "NOT",
            Keyword::To => "TO",
        };
        return format!("`{text}`");
    }
    if rest.starts_with("&&") || rest.starts_with("||") {
        return format!("`{}`", &rest[..2]);
    }
    match rest.chars().next() {
        None => "end of input".to_string(),
        Some(c) if c.is_whitespace() => "whitespace".to_string(),
        Some(c) => format!("`{c}`"),
    }
}

/// Characters that end an unquoted word (a `\` escapes any of them).
pub(crate) fn is_special(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '(' | ')' | '"' | ':' | '[' | ']' | '{' | '}' | '^' | '~' | '\\'
        )
}

fn is_word_char(c: char) -> bool {
    !is_special(c)
}

/// Whether the next character would carry on a word (so `ANDROID` and `AND\x`
/// are words, not the keyword `AND`).
fn continues_word(rest: &str) -> bool {
    rest.chars()
        .next()
        .is_some_and(|c| is_word_char(c) || c == '\\')
}

fn peek_keyword(rest: &str) -> Option<Keyword> {
    [
        ("AND", Keyword::And),
        ("OR", Keyword::Or),
        ("NOT", Keyword::Not),
        ("TO", Keyword::To),
    ]
    .into_iter()
    .find_map(|(text, kw)| {
        let after = rest.strip_prefix(text)?;
        (!continues_word(after)).then_some(kw)
    })
}

fn ws(i: &mut &str) -> PResult<()> {
    take_while(0.., char::is_whitespace).void().parse_next(i)
}

fn at_end_of_group(i: &str) -> bool {
    i.is_empty() || i.starts_with(')')
}

fn top(i: &mut &str, cx: Cx<'_>) -> PResult<Query> {
    ws(i)?;
    if i.is_empty() {
        return Ok(Query::All);
    }
    let q = or_expr(i, cx)?;
    // `or_expr` only stops at the end or at a `)`.
    if !i.is_empty() {
        return fail("unexpected `)` with no matching `(`");
    }
    Ok(q)
}

fn or_expr(i: &mut &str, cx: Cx<'_>) -> PResult<Query> {
    let mut clauses = Vec::new();
    loop {
        clauses.push(and_expr(i, cx)?);
        ws(i)?;
        if at_end_of_group(i) {
            break;
        }
        // An explicit OR changes nothing: adjacent clauses are OR'ed anyway.
        if peek_keyword(i) == Some(Keyword::Or) {
            literal("OR").void().parse_next(i)?;
        } else {
            opt(literal("||")).void().parse_next(i)?;
        }
        ws(i)?;
    }
    Ok(combine_or_level(clauses))
}

fn and_expr(i: &mut &str, cx: Cx<'_>) -> PResult<(Query, Occur)> {
    let first = unary(i, cx)?;
    let mut rest = Vec::new();
    loop {
        let before_ws = *i;
        ws(i)?;
        let is_and = peek_keyword(i) == Some(Keyword::And) || i.starts_with("&&");
        if !is_and {
            *i = before_ws;
            break;
        }
        alt((literal("AND"), literal("&&"))).void().parse_next(i)?;
        ws(i)?;
        rest.push(unary(i, cx)?.0);
    }
    if rest.is_empty() {
        // A lone clause keeps its prefix, which matters at the OR level.
        return Ok(first);
    }
    // Inside an AND chain `+x` is just `x` and `-x` just `NOT x`.
    let mut members = Vec::new();
    for q in std::iter::once(first.0).chain(rest) {
        push_flat_and(&mut members, q);
    }
    Ok((Query::And(members), Occur::Should))
}

fn unary(i: &mut &str, cx: Cx<'_>) -> PResult<(Query, Occur)> {
    let occur = if peek_keyword(i) == Some(Keyword::Not) {
        Some((3, Occur::MustNot))
    } else {
        match i.chars().next() {
            Some('!' | '-') => Some((1, Occur::MustNot)),
            Some('+') => Some((1, Occur::Must)),
            _ => None,
        }
    };
    let Some((len, occur)) = occur else {
        return Ok((primary(i, cx)?, Occur::Should));
    };
    let inner_cx = cx.deeper()?;
    *i = &i[len..];
    ws(i)?;
    let (inner, _) = unary(i, inner_cx)?;
    Ok(match occur {
        Occur::MustNot => (Query::Not(Box::new(inner)), Occur::MustNot),
        _ => (inner, occur),
    })
}

fn primary(i: &mut &str, cx: Cx<'_>) -> PResult<Query> {
    match peek_keyword(i) {
        Some(Keyword::To) => {
            return fail("`TO` is only valid inside a range, as in `field:[a TO b]`")
        }
        Some(_) => return fail(format!("expected a clause, found {}", describe(i))),
        None => {}
    }
    if i.starts_with("&&") || i.starts_with("||") {
        return fail(format!("expected a clause, found {}", describe(i)));
    }
    match i.chars().next() {
        None | Some(')') => fail(format!("expected a clause, found {}", describe(i))),
        Some('(') => group(i, cx),
        Some('"') => {
            let text = phrase(i, cx)?;
            Ok(term(cx.field, TermValue::Phrase(text)))
        }
        Some('[' | '{') => match cx.field {
            Some(field) => range(i, cx, field),
            None => fail("a range needs a field, as in `field:[a TO b]`"),
        },
        Some('>' | '<') => match cx.field {
            Some(field) => comparison(i, cx, field),
            None => fail("a comparison needs a field, as in `field:>10`"),
        },
        Some(':') => fail("unexpected `:`: quote or escape (`\\:`) a `:` inside a value"),
        Some(']' | '}') => fail(format!("unexpected {} outside a range", describe(i))),
        Some('^' | '~') => {
            fail("boosts (`^`) and fuzzy or proximity searches (`~`) are not supported")
        }
        Some(_) => word_clause(i, cx),
    }
}

/// A word, then either `:` (it was a field name) or nothing (it is a term).
fn word_clause(i: &mut &str, cx: Cx<'_>) -> PResult<Query> {
    let word_start = *i;
    let w = word(i)?;
    let after_word = *i;
    ws(i)?;
    if !i.starts_with(':') {
        *i = after_word;
        if w.is_star() {
            // `*` alone is everything, but inside `field:( ... )` it means "has the field".
            return Ok(match cx.field {
                None => Query::All,
                Some(_) => term(cx.field, TermValue::Wildcard("*".into())),
            });
        }
        return Ok(term(cx.field, w.into_value()));
    }
    *i = &i[1..];
    ws(i)?;
    if w.is_star() {
        if i.starts_with('*') && !continues_word(&i[1..]) {
            *i = &i[1..];
            return Ok(Query::All);
        }
        *i = word_start;
        return fail("only `*:*` may use `*` as the field; searching every field is not supported");
    }
    if w.wildcard {
        *i = word_start;
        return fail("wildcards in field names are not supported");
    }
    value(i, cx, &w.text)
}

/// What follows `field:`.
fn value(i: &mut &str, cx: Cx<'_>, field: &str) -> PResult<Query> {
    let expected = |rest: &str| {
        format!(
            "expected a value after `{field}:`, found {}",
            describe(rest)
        )
    };
    if peek_keyword(i).is_some() || i.starts_with("&&") || i.starts_with("||") {
        return fail(expected(i));
    }
    match i.chars().next() {
        Some('(') => group(i, cx.with_field(field)),
        Some('"') => {
            let text = phrase(i, cx)?;
            Ok(term(Some(field), TermValue::Phrase(text)))
        }
        Some('[' | '{') => range(i, cx, field),
        Some('>' | '<') => comparison(i, cx, field),
        Some(c) if is_word_char(c) || c == '\\' => {
            let w = word(i)?;
            if w.is_star() {
                return Ok(term(Some(field), TermValue::Wildcard("*".into())));
            }
            Ok(term(Some(field), w.into_value()))
        }
        _ => fail(expected(i)),
    }
}

fn term(field: Option<&str>, value: TermValue) -> Query {
    Query::Term {
        field: field.map(str::to_string),
        value,
    }
}

/// `( or_expr )`; `cx.field` is already the field a `field:(` hands down.
fn group(i: &mut &str, cx: Cx<'_>) -> PResult<Query> {
    let open = cx.offset(i);
    let inner = cx.deeper()?;
    *i = &i[1..];
    ws(i)?;
    let q = or_expr(i, inner)?;
    if i.starts_with(')') {
        *i = &i[1..];
        Ok(q)
    } else {
        fail(format!("expected `)` to close the `(` at offset {open}"))
    }
}

/// A double-quoted phrase; `\` escapes the next character.
fn phrase(i: &mut &str, cx: Cx<'_>) -> PResult<String> {
    let open = cx.offset(i);
    '"'.void().parse_next(i)?;
    let mut text = String::new();
    loop {
        let run: &str = take_till(0.., ['"', '\\']).parse_next(i)?;
        text.push_str(run);
        match opt(any).parse_next(i)? {
            Some('"') => return Ok(text),
            Some(_backslash) => match opt(any).parse_next(i)? {
                Some(c) => text.push(c),
                None => break,
            },
            None => break,
        }
    }
    fail(format!(
        "unterminated phrase: the `\"` at offset {open} is never closed"
    ))
}

/// An unquoted word as read from the input.
#[derive(Default)]
struct Word<'i> {
    /// The source text, escapes included.
    raw: &'i str,
    /// Escapes resolved.
    text: String,
    /// Like `text`, but escaped `*`, `?` and `\` keep their backslash, so the
    /// wildcard matcher can tell them from wildcards.
    pattern: String,
    /// Contains an unescaped `*` or `?`.
    wildcard: bool,
}

impl Word<'_> {
    fn is_star(&self) -> bool {
        self.raw == "*"
    }

    fn into_value(self) -> TermValue {
        if self.wildcard {
            TermValue::Wildcard(self.pattern)
        } else {
            TermValue::Word(self.text)
        }
    }
}

fn word<'i>(i: &mut &'i str) -> PResult<Word<'i>> {
    let start = *i;
    let mut w = Word::default();
    loop {
        let run: &str = take_while(0.., is_word_char).parse_next(i)?;
        w.wildcard |= run.contains(['*', '?']);
        w.text.push_str(run);
        w.pattern.push_str(run);
        if !i.starts_with('\\') {
            break;
        }
        *i = &i[1..];
        let Some(c) = opt(any).parse_next(i)? else {
            return fail("a `\\` at the end of the query escapes nothing");
        };
        w.text.push(c);
        if matches!(c, '*' | '?' | '\\') {
            w.pattern.push('\\');
        }
        w.pattern.push(c);
    }
    w.raw = &start[..start.len() - i.len()];
    if w.raw.is_empty() {
        return fail(format!("expected a word, found {}", describe(i)));
    }
    Ok(w)
}

/// `[a TO b]`, `{a TO b}`, and the mixed forms; `*` is an open end.
fn range(i: &mut &str, cx: Cx<'_>, field: &str) -> PResult<Query> {
    let open = cx.offset(i);
    let lower_inclusive = any.parse_next(i)? == '[';
    ws(i)?;
    if peek_keyword(i) == Some(Keyword::To) {
        return fail("expected a lower bound before `TO` (use `*` for an open end)");
    }
    let lower = bound(i, cx, lower_inclusive)?;
    ws(i)?;
    if peek_keyword(i) != Some(Keyword::To) {
        return fail(format!("expected `TO` in the range, found {}", describe(i)));
    }
    literal("TO").void().parse_next(i)?;
    ws(i)?;
    if peek_keyword(i) == Some(Keyword::To) || i.is_empty() || i.starts_with([']', '}']) {
        return fail(format!(
            "expected an upper bound after `TO` (use `*` for an open end), found {}",
            describe(i)
        ));
    }
    // The closing bracket decides inclusivity, so read the bound first as inclusive.
    let upper = bound(i, cx, true)?;
    ws(i)?;
    let upper = match i.chars().next() {
        Some(']') => upper,
        Some('}') => match upper {
            Bound::Inclusive(s) => Bound::Exclusive(s),
            other => other,
        },
        _ => {
            return fail(format!(
                "expected `]` or `}}` to close the range opened at offset {open}, found {}",
                describe(i)
            ))
        }
    };
    *i = &i[1..];
    Ok(Query::Range {
        field: field.to_string(),
        lower,
        upper,
    })
}

/// One end of a bracketed range: a phrase, `*`, or anything up to whitespace,
/// `]` or `}` (so `2024-05-01T00:00:00` needs no quoting, as in Lucene).
fn bound(i: &mut &str, cx: Cx<'_>, inclusive: bool) -> PResult<Bound> {
    let text = if i.starts_with('"') {
        phrase(i, cx)?
    } else {
        let start = *i;
        let mut text = String::new();
        loop {
            let run: &str = take_till(0.., |c: char| {
                c.is_whitespace() || matches!(c, ']' | '}' | '\\')
            })
            .parse_next(i)?;
            text.push_str(run);
            if !i.starts_with('\\') {
                break;
            }
            *i = &i[1..];
            let Some(c) = opt(any).parse_next(i)? else {
                return fail("a `\\` at the end of the query escapes nothing");
            };
            text.push(c);
        }
        let raw = &start[..start.len() - i.len()];
        if raw.is_empty() {
            return fail(format!("expected a range bound, found {}", describe(i)));
        }
        if raw == "*" {
            return Ok(Bound::Unbounded);
        }
        text
    };
    Ok(if inclusive {
        Bound::Inclusive(text)
    } else {
        Bound::Exclusive(text)
    })
}

/// `>N`, `>=N`, `<N`, `<=N`: a half-open range.
fn comparison(i: &mut &str, cx: Cx<'_>, field: &str) -> PResult<Query> {
    let op: &str = alt((">=", ">", "<=", "<")).parse_next(i)?;
    let text = match i.chars().next() {
        Some('"') => phrase(i, cx)?,
        Some(c) if is_word_char(c) || c == '\\' => word(i)?.text,
        _ => {
            return fail(format!(
                "expected a value after `{op}`, found {}",
                describe(i)
            ))
        }
    };
    let (lower, upper) = match op {
        ">=" => (Bound::Inclusive(text), Bound::Unbounded),
        ">" => (Bound::Exclusive(text), Bound::Unbounded),
        "<=" => (Bound::Unbounded, Bound::Inclusive(text)),
        _ => (Bound::Unbounded, Bound::Exclusive(text)),
    };
    Ok(Query::Range {
        field: field.to_string(),
        lower,
        upper,
    })
}

/// Splices nested `And`s so `And` never directly holds `And`.
fn push_flat_and(out: &mut Vec<Query>, q: Query) {
    match q {
        Query::And(qs) => out.extend(qs),
        q => out.push(q),
    }
}

fn push_flat_or(out: &mut Vec<Query>, q: Query) {
    match q {
        Query::Or(qs) => out.extend(qs),
        q => out.push(q),
    }
}

fn and_of(mut qs: Vec<Query>) -> Query {
    if qs.len() == 1 {
        qs.pop().unwrap_or(Query::All)
    } else {
        Query::And(qs)
    }
}

fn or_of(mut qs: Vec<Query>) -> Query {
    if qs.len() == 1 {
        qs.pop().unwrap_or(Query::All)
    } else {
        Query::Or(qs)
    }
}

/// Combines the clauses of one OR level by Lucene's SHOULD/MUST/MUST_NOT rules
/// (see the module doc).
fn combine_or_level(clauses: Vec<(Query, Occur)>) -> Query {
    let has_must = clauses.iter().any(|(_, o)| *o == Occur::Must);
    let has_prefixed = has_must || clauses.iter().any(|(_, o)| *o == Occur::MustNot);
    if !has_prefixed {
        let mut members = Vec::new();
        for (q, _) in clauses {
            push_flat_or(&mut members, q);
        }
        return or_of(members);
    }
    // Required and prohibited clauses in source order; the OR of the plain ones
    // goes where the first plain clause was.
    let mut parts: Vec<Option<Query>> = Vec::new();
    let mut optional = Vec::new();
    let mut optional_slot = None;
    for (q, occur) in clauses {
        match occur {
            Occur::Should => {
                optional_slot.get_or_insert(parts.len());
                if optional.is_empty() {
                    parts.push(None);
                }
                push_flat_or(&mut optional, q);
            }
            Occur::Must | Occur::MustNot => parts.push(Some(q)),
        }
    }
    let mut members = Vec::new();
    for part in parts {
        match part {
            Some(q) => push_flat_and(&mut members, q),
            None if !has_must => push_flat_and(&mut members, or_of(std::mem::take(&mut optional))),
            None => {}
        }
    }
    and_of(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse, parse_with_limit, MAX_DEPTH};

    fn t(field: &str, v: &str) -> Query {
        Query::Term {
            field: Some(field.into()),
            value: TermValue::Word(v.into()),
        }
    }
    fn bare(v: &str) -> Query {
        Query::Term {
            field: None,
            value: TermValue::Word(v.into()),
        }
    }
    fn p(field: &str, v: &str) -> Query {
        Query::Term {
            field: Some(field.into()),
            value: TermValue::Phrase(v.into()),
        }
    }
    fn wc(field: Option<&str>, v: &str) -> Query {
        Query::Term {
            field: field.map(Into::into),
            value: TermValue::Wildcard(v.into()),
        }
    }
    fn not(q: Query) -> Query {
        Query::Not(Box::new(q))
    }
    fn range(field: &str, lower: Bound, upper: Bound) -> Query {
        Query::Range {
            field: field.into(),
            lower,
            upper,
        }
    }
    fn inc(s: &str) -> Bound {
        Bound::Inclusive(s.into())
    }
    fn exc(s: &str) -> Bound {
        Bound::Exclusive(s.into())
    }
    fn ok(s: &str) -> Query {
        parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }
    fn err(s: &str) -> ParseError {
        match parse(s) {
            Err(e) => e,
            Ok(q) => panic!("{s:?} parsed as {q:?}"),
        }
    }

    #[test]
    fn field_terms() {
        assert_eq!(ok("@type:conn"), t("@type", "conn"));
        assert_eq!(
            ok("@fields.src_ip:10.0.0.1"),
            t("@fields.src_ip", "10.0.0.1")
        );
        assert_eq!(
            ok("@fields.id.orig_h:10.1.2.3"),
            t("@fields.id.orig_h", "10.1.2.3")
        );
        assert_eq!(ok("host-name_2:x"), t("host-name_2", "x"));
        assert_eq!(
            ok("  @fields.dest_port:443  "),
            t("@fields.dest_port", "443")
        );
        assert_eq!(ok("f:-5"), t("f", "-5"), "a value may start with `-`");
    }

    #[test]
    fn bare_terms_search_the_message() {
        assert_eq!(ok("conn"), bare("conn"));
        assert_eq!(ok("10.0.0.1"), bare("10.0.0.1"));
        assert_eq!(ok("and"), bare("and"), "lowercase keywords are words");
        assert_eq!(ok("ANDROID"), bare("ANDROID"));
    }

    #[test]
    fn phrases_and_escapes() {
        assert_eq!(ok(r#"@type:"ssl""#), p("@type", "ssl"));
        assert_eq!(
            ok(r#"f:"a \"quoted\" \\ word""#),
            p("f", r#"a "quoted" \ word"#)
        );
        assert_eq!(
            ok(r#""two words""#),
            Query::Term {
                field: None,
                value: TermValue::Phrase("two words".into())
            }
        );
        assert_eq!(ok(r"ip:fe80\:\:1"), t("ip", "fe80::1"));
        assert_eq!(ok(r"f:a\ b"), t("f", "a b"));
        assert_eq!(ok(r"\AND"), bare("AND"));
        assert_eq!(
            ok(r"a\:b:c"),
            t("a:b", "c"),
            "escapes work in field names too"
        );
        assert_eq!(ok(r"f:\*"), t("f", "*"), "an escaped star is literal");
    }

    #[test]
    fn field_groups_give_each_term_the_field() {
        assert_eq!(
            ok(r#"@fields.src_ip:(a OR b OR "c")"#),
            Query::Or(vec![
                t("@fields.src_ip", "a"),
                t("@fields.src_ip", "b"),
                p("@fields.src_ip", "c")
            ])
        );
        assert_eq!(
            ok("f:(a AND (b OR c*))"),
            Query::And(vec![
                t("f", "a"),
                Query::Or(vec![t("f", "b"), wc(Some("f"), "c*")])
            ])
        );
        assert_eq!(
            ok("f:(a g:b)"),
            Query::Or(vec![t("f", "a"), t("g", "b")]),
            "an inner field wins"
        );
        assert_eq!(
            ok("f:([1 TO 2] OR >5)"),
            Query::Or(vec![
                range("f", inc("1"), inc("2")),
                range("f", exc("5"), Bound::Unbounded),
            ])
        );
        assert_eq!(ok("f:(*)"), wc(Some("f"), "*"));
        // The client's macro expansion (DECISIONS.md D8).
        assert_eq!(
            ok(r#"@fields.src_ip:("10.0.0.1" OR "10.0.0.2") OR @fields.dest_ip:("10.0.0.1")"#),
            Query::Or(vec![
                p("@fields.src_ip", "10.0.0.1"),
                p("@fields.src_ip", "10.0.0.2"),
                p("@fields.dest_ip", "10.0.0.1"),
            ])
        );
    }

    #[test]
    fn and_or_not_precedence() {
        assert_eq!(
            ok("a OR b AND c"),
            Query::Or(vec![bare("a"), Query::And(vec![bare("b"), bare("c")])])
        );
        assert_eq!(
            ok("a AND b OR c"),
            Query::Or(vec![Query::And(vec![bare("a"), bare("b")]), bare("c")])
        );
        assert_eq!(
            ok("NOT a AND b"),
            Query::And(vec![not(bare("a")), bare("b")])
        );
        assert_eq!(
            ok("(a OR b) AND c"),
            Query::And(vec![Query::Or(vec![bare("a"), bare("b")]), bare("c")])
        );
        assert_eq!(
            ok("a AND (b AND c)"),
            Query::And(vec![bare("a"), bare("b"), bare("c")])
        );
        assert_eq!(ok("NOT NOT a"), not(not(bare("a"))));
        assert_eq!(ok("NOT(a)"), not(bare("a")));
        // The real S6 client query.
        assert_eq!(
            ok("((@fields.method:GET) AND (@fields.epochdate:>1647409125.029 AND @fields.epochdate:<1647409425.029))"),
            Query::And(vec![
                t("@fields.method", "GET"),
                range("@fields.epochdate", exc("1647409125.029"), Bound::Unbounded),
                range("@fields.epochdate", Bound::Unbounded, exc("1647409425.029")),
            ])
        );
    }

    #[test]
    fn implicit_operator_is_or() {
        assert_eq!(
            ok("a b c"),
            Query::Or(vec![bare("a"), bare("b"), bare("c")])
        );
        assert_eq!(
            ok("@type:conn f:x"),
            Query::Or(vec![t("@type", "conn"), t("f", "x")])
        );
        assert_eq!(ok("(a)(b)"), Query::Or(vec![bare("a"), bare("b")]));
    }

    #[test]
    fn symbolic_operators() {
        assert_eq!(ok("a && b"), Query::And(vec![bare("a"), bare("b")]));
        assert_eq!(ok("a || b"), Query::Or(vec![bare("a"), bare("b")]));
        assert_eq!(ok("!a && b"), Query::And(vec![not(bare("a")), bare("b")]));
        assert_eq!(
            ok("a&&b"),
            bare("a&&b"),
            "as in Lucene, `&&` inside a word is part of it"
        );
        assert_eq!(ok("(a)&&(b)"), Query::And(vec![bare("a"), bare("b")]));
    }

    #[test]
    fn plus_and_minus_prefixes_are_lucene_clauses() {
        assert_eq!(ok("a -b"), Query::And(vec![bare("a"), not(bare("b"))]));
        assert_eq!(ok("-a"), not(bare("a")));
        assert_eq!(ok("+a +b"), Query::And(vec![bare("a"), bare("b")]));
        assert_eq!(
            ok("-a b c"),
            Query::And(vec![not(bare("a")), Query::Or(vec![bare("b"), bare("c")])])
        );
        assert_eq!(
            ok("a b -c"),
            Query::And(vec![Query::Or(vec![bare("a"), bare("b")]), not(bare("c"))])
        );
        // With a required clause present, plain clauses only affect scoring.
        assert_eq!(ok("a +b"), bare("b"));
        assert_eq!(ok("+a -b c"), Query::And(vec![bare("a"), not(bare("b"))]));
        assert_eq!(ok("a AND -b"), Query::And(vec![bare("a"), not(bare("b"))]));
        assert_eq!(ok("a AND +b"), Query::And(vec![bare("a"), bare("b")]));
        assert_eq!(
            ok("+(a AND b) -c"),
            Query::And(vec![bare("a"), bare("b"), not(bare("c"))])
        );
        assert_eq!(
            ok("- a"),
            not(bare("a")),
            "whitespace after a prefix is allowed"
        );
    }

    #[test]
    fn or_level_not_is_must_not_as_in_elasticsearch() {
        assert_eq!(ok("a NOT b"), Query::And(vec![bare("a"), not(bare("b"))]));
        assert_eq!(
            ok("a OR NOT b"),
            Query::And(vec![bare("a"), not(bare("b"))])
        );
        assert_eq!(
            ok("NOT a OR b"),
            Query::And(vec![not(bare("a")), bare("b")])
        );
        // A group is a plain clause, whatever is inside.
        assert_eq!(
            ok("a OR (NOT b)"),
            Query::Or(vec![bare("a"), not(bare("b"))])
        );
    }

    #[test]
    fn wildcards() {
        assert_eq!(ok("f:ab*"), wc(Some("f"), "ab*"));
        assert_eq!(ok("f:a?c"), wc(Some("f"), "a?c"));
        assert_eq!(ok("*ssl*"), wc(None, "*ssl*"));
        assert_eq!(
            ok("f:*"),
            wc(Some("f"), "*"),
            "field:* asks for the field to exist"
        );
        assert_eq!(
            ok(r"f:a\*b*"),
            wc(Some("f"), r"a\*b*"),
            "escaped wildcards stay escaped in the pattern"
        );
        assert_eq!(ok(r"f:a\:b*"), wc(Some("f"), "a:b*"));
        assert_eq!(ok("**"), wc(None, "**"));
    }

    #[test]
    fn match_all_and_empty() {
        assert_eq!(ok("*"), Query::All);
        assert_eq!(ok("*:*"), Query::All);
        assert_eq!(ok(" * : * "), Query::All);
        assert_eq!(ok(""), Query::All);
        assert_eq!(ok(" \t\n "), Query::All);
        assert_eq!(ok("* AND a"), Query::And(vec![Query::All, bare("a")]));
    }

    #[test]
    fn bracket_ranges() {
        assert_eq!(ok("f:[1 TO 5]"), range("f", inc("1"), inc("5")));
        assert_eq!(ok("f:{1 TO 5}"), range("f", exc("1"), exc("5")));
        assert_eq!(ok("f:[1 TO 5}"), range("f", inc("1"), exc("5")));
        assert_eq!(ok("f:{1 TO 5]"), range("f", exc("1"), inc("5")));
        assert_eq!(ok("f:[* TO 5]"), range("f", Bound::Unbounded, inc("5")));
        assert_eq!(ok("f:{10 TO *}"), range("f", exc("10"), Bound::Unbounded));
        assert_eq!(ok("f:[ 1  TO  5 ]"), range("f", inc("1"), inc("5")));
        assert_eq!(
            ok("@timestamp:[2024-05-01T00:00:00 TO 2024-05-02T00:00:00]"),
            range(
                "@timestamp",
                inc("2024-05-01T00:00:00"),
                inc("2024-05-02T00:00:00")
            ),
            "colons need no quoting inside a range, as in Lucene"
        );
        assert_eq!(
            ok(r#"f:["a b" TO "*"]"#),
            range("f", inc("a b"), inc("*")),
            "a quoted * is literal"
        );
    }

    #[test]
    fn comparison_ranges() {
        assert_eq!(ok("f:>5"), range("f", exc("5"), Bound::Unbounded));
        assert_eq!(ok("f:>=5"), range("f", inc("5"), Bound::Unbounded));
        assert_eq!(ok("f:<5"), range("f", Bound::Unbounded, exc("5")));
        assert_eq!(ok("f:<=5"), range("f", Bound::Unbounded, inc("5")));
        assert_eq!(ok("f:>-1.5"), range("f", exc("-1.5"), Bound::Unbounded));
        assert_eq!(
            ok(r#"f:>"2024-05-01 00:00""#),
            range("f", exc("2024-05-01 00:00"), Bound::Unbounded)
        );
    }

    #[test]
    fn spaced_colon_forms() {
        let want = range("@fields.epochdate", exc("1714521600.0"), Bound::Unbounded);
        assert_eq!(ok("@fields.epochdate :>1714521600.0"), want);
        assert_eq!(ok("@fields.epochdate: >1714521600.0"), want);
        assert_eq!(ok("@fields.epochdate : >1714521600.0"), want);
        assert_eq!(ok("@type : conn"), t("@type", "conn"));
        assert_eq!(ok("f: [1 TO 2]"), range("f", inc("1"), inc("2")));
    }

    #[test]
    fn errors_carry_offsets() {
        let cases: &[(&str, usize, &str)] = &[
            ("(a", 2, "expected `)` to close the `(` at offset 0"),
            ("a)", 1, "unexpected `)`"),
            ("f:", 2, "expected a value after `f:`"),
            ("f: ", 3, "expected a value after `f:`"),
            ("a AND", 5, "expected a clause"),
            ("a OR", 4, "expected a clause"),
            ("AND a", 0, "expected a clause, found `AND`"),
            ("a && || b", 5, "found `||`"),
            ("NOT", 3, "expected a clause"),
            ("-", 1, "expected a clause"),
            ("\"abc", 4, "the `\"` at offset 0 is never closed"),
            ("f:\"a\\\"", 6, "never closed"),
            ("a\\", 2, "escapes nothing"),
            ("TO", 0, "only valid inside a range"),
            ("a TO b", 2, "only valid inside a range"),
            ("[1 TO 2]", 0, "a range needs a field"),
            (">5", 0, "a comparison needs a field"),
            ("f:[1 2]", 5, "expected `TO`"),
            ("f:[1 TO]", 7, "expected an upper bound"),
            ("f:[TO 2]", 3, "expected a lower bound"),
            ("f:[1 TO 2", 9, "expected `]` or `}`"),
            ("f:[1 TO 2 3]", 10, "expected `]` or `}`"),
            ("f:>", 3, "expected a value after `>`"),
            ("ip:fe80::1", 7, "unexpected `:`"),
            ("*:foo", 0, "only `*:*`"),
            ("a*:b", 0, "wildcards in field names"),
            ("a^2", 1, "boosts"),
            ("a ]", 2, "outside a range"),
            ("f:AND", 2, "expected a value after `f:`, found `AND`"),
            ("()", 1, "expected a clause, found `)`"),
            ("f:(a", 4, "expected `)` to close the `(` at offset 2"),
            ("é)", 2, "unexpected `)`"),
        ];
        for &(input, offset, needle) in cases {
            let e = err(input);
            assert_eq!(e.offset, offset, "{input:?}: {e}");
            assert!(
                e.message.contains(needle),
                "{input:?}: {:?} lacks {needle:?}",
                e.message
            );
        }
    }

    #[test]
    fn nesting_at_the_limit_parses_and_beyond_fails() {
        let at_limit = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(ok(&at_limit), bare("a"));
        let over = format!(
            "{}a{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        let e = err(&over);
        assert_eq!(e.offset, MAX_DEPTH);
        assert!(e.message.contains("nested deeper than 64"), "{e}");

        let nots = format!("{}a", "NOT ".repeat(MAX_DEPTH));
        assert!(parse(&nots).is_ok());
        let e = err(&format!("{}a", "NOT ".repeat(MAX_DEPTH + 1)));
        assert_eq!(e.offset, 4 * MAX_DEPTH);

        assert!(parse_with_limit("(a)", 0).is_err());
        assert_eq!(
            parse_with_limit("a b", 0),
            Ok(Query::Or(vec![bare("a"), bare("b")]))
        );
    }

    #[test]
    fn hundred_thousand_parens_do_not_overflow() {
        let e = err(&"(".repeat(100_000));
        assert_eq!(e.offset, MAX_DEPTH);
        let e = err(&format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000)));
        assert_eq!(e.offset, MAX_DEPTH);
        let e = err(&"f:(".repeat(100_000));
        assert!(e.message.contains("nested deeper"), "{e}");
    }

    #[test]
    fn hundred_thousand_nots_do_not_overflow() {
        let e = err(&"NOT ".repeat(100_000));
        assert_eq!(e.offset, 4 * MAX_DEPTH);
        for prefix in ["!", "-", "+", "-(", "NOT ("] {
            let e = err(&prefix.repeat(100_000));
            assert!(e.message.contains("nested deeper"), "{prefix}: {e}");
        }
    }

    #[test]
    fn long_flat_queries_are_fine() {
        let q = vec!["a"; 100_000].join(" OR ");
        match ok(&q) {
            Query::Or(qs) => assert_eq!(qs.len(), 100_000),
            other => panic!("{other:?}"),
        }
        let q = vec!["a"; 100_000].join(" AND ");
        assert!(matches!(ok(&q), Query::And(qs) if qs.len() == 100_000));
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use crate::testutil::{grammar_text, query_like_text};
    use crate::{parse, parse_with_limit};

    fn check_error_offset(
        input: &str,
        result: Result<crate::Query, crate::ParseError>,
    ) -> Result<(), TestCaseError> {
        if let Err(e) = result {
            prop_assert!(e.offset <= input.len(), "{:?}: {}", input, e);
            prop_assert!(input.is_char_boundary(e.offset), "{:?}: {}", input, e);
            prop_assert!(!e.message.is_empty());
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn never_panics_on_any_text(input in "\\PC{0,200}") {
            check_error_offset(&input, parse(&input))?;
        }

        #[test]
        fn never_panics_on_query_like_text(input in prop_oneof![query_like_text(), grammar_text()]) {
            check_error_offset(&input, parse(&input))?;
            check_error_offset(&input, parse_with_limit(&input, 1))?;
        }
    }
}
