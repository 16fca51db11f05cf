//! Fast paths for reading what [`crate::World::write_file`] writes: a stored `_source`
//! ([`scan_source`], behind [`crate::search::source_keys`]) and a `connections.jsonl`
//! line ([`scan_connection`]). Reading these is most of the work of loading a big
//! world, and serde's visitor machinery was most of that (about 40% less time here).
//!
//! They are accelerators, not second parsers: each answers only when the text is plainly
//! well-formed and every key and value it needs is an escape-free string or a number,
//! and says "don't know" (`None`) otherwise, in which case the caller asks serde (which
//! then either reads the text or produces its usual error message). Hence the
//! invariant, checked by property tests against serde: **whenever a fast path answers,
//! serde accepts the text and reads the same values.** In particular it never accepts
//! what serde rejects: [`scan_source`] validates every value it skips (grammar of
//! numbers, escapes, control characters, literals, nesting) the way `serde_json` does
//! when it ignores a value, and gives up on anything serde would reject (duplicate
//! fields, a missing `epochdate`, an indexed field that is not a string or null,
//! trailing characters); [`scan_connection`] accepts only the exact layout serde writes.

use std::net::IpAddr;

use crate::model::{Connection, Peer};

/// The record's `@fields.epochdate` as written (a JSON number) and the values of
/// [`crate::search::INDEXED_FIELDS`] (escape-free strings, borrowed from the text).
pub(crate) struct Scanned<'a> {
    pub epochdate: &'a str,
    pub vals: [Option<&'a str>; 5],
}

/// Scans a `_source` text (see the module docs); `None` means "ask serde".
pub(crate) fn scan_source(text: &str) -> Option<Scanned<'_>> {
    let mut s = Scanner { text, pos: 0 };
    s.ws();
    let out = s.source()?;
    s.ws();
    (s.pos == text.len()).then_some(out)
}

/// Deeper nesting is left to serde (whose own limit is 128 levels).
const MAX_DEPTH: usize = 64;

/// The slot of an indexed `@fields` member in [`crate::search::INDEXED_FIELDS`] order
/// (`@type`, the fifth, is a top-level member).
fn field_slot(key: &str) -> Option<usize> {
    match key {
        "src_ip" => Some(0),
        "dest_ip" => Some(1),
        "source_ip" => Some(2),
        "host" => Some(3),
        _ => None,
    }
}

/// The value of a kept slot: not yet seen, seen as `null`, or seen as a string.
#[derive(Clone, Copy, PartialEq)]
enum Slot<'a> {
    Unseen,
    Null,
    Str(&'a str),
}

impl<'a> Slot<'a> {
    fn value(self) -> Option<&'a str> {
        match self {
            Slot::Str(s) => Some(s),
            Slot::Unseen | Slot::Null => None,
        }
    }
}

struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek() == Some(b)).then(|| self.pos += 1)
    }

    /// `ws : ws`, between a key and its value.
    fn colon(&mut self) -> Option<()> {
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(())
    }

    /// After a member: `ws ,` (another member follows: `Some(true)`) or `ws }`
    /// (`Some(false)`).
    fn next_member(&mut self) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.pos += 1;
                self.ws();
                Some(true)
            }
            b'}' => {
                self.pos += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// `{` then either `}` (`Some(false)`: empty) or the start of the first member.
    fn open_object(&mut self) -> Option<bool> {
        self.eat(b'{')?;
        self.ws();
        if self.eat(b'}').is_some() {
            return Some(false);
        }
        Some(true)
    }

    /// The top-level object: `@fields` and `@type` read, everything else skipped.
    fn source(&mut self) -> Option<Scanned<'a>> {
        let mut fields: Option<(&'a str, [Slot<'a>; 4])> = None;
        let mut ty = None;
        let mut more = self.open_object()?;
        while more {
            let key = self.plain_string()?;
            self.colon()?;
            match key {
                "@fields" if fields.is_none() => fields = Some(self.fields()?),
                "@type" if ty.is_none() => ty = Some(self.plain_string()?),
                // A repeated field is serde's error to report.
                "@fields" | "@type" => return None,
                _ => self.value(1)?,
            }
            more = self.next_member()?;
        }
        let (epochdate, slots) = fields?;
        let [a, b, c, d] = slots.map(Slot::value);
        Some(Scanned {
            epochdate,
            vals: [a, b, c, d, Some(ty?)],
        })
    }

    /// `@fields`: `epochdate` (a number) and the indexed members (strings or null).
    fn fields(&mut self) -> Option<(&'a str, [Slot<'a>; 4])> {
        let mut epochdate = None;
        let mut slots = [Slot::Unseen; 4];
        let mut more = self.open_object()?;
        while more {
            let key = self.plain_string()?;
            self.colon()?;
            if key == "epochdate" {
                if epochdate.is_some() {
                    return None;
                }
                epochdate = Some(self.number()?);
            } else if let Some(i) = field_slot(key) {
                if slots[i] != Slot::Unseen {
                    return None;
                }
                slots[i] = if self.peek()? == b'n' {
                    self.literal(b"null")?;
                    Slot::Null
                } else {
                    Slot::Str(self.plain_string()?)
                };
            } else {
                self.value(2)?;
            }
            more = self.next_member()?;
        }
        Some((epochdate?, slots))
    }

    /// Skips one value of any kind, validating it.
    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' => {
                let mut more = self.open_object()?;
                while more {
                    self.skip_string()?;
                    self.colon()?;
                    self.value(depth + 1)?;
                    more = self.next_member()?;
                }
                Some(())
            }
            b'[' => {
                self.pos += 1;
                self.ws();
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.value(depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => {
                            self.pos += 1;
                            self.ws();
                        }
                        b']' => {
                            self.pos += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos + word.len();
        (self.bytes().get(self.pos..end)? == word).then(|| self.pos = end)
    }

    /// A number in JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let _ = self.eat(b'-');
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.').is_some() {
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.some_digits()?;
        }
        // After `0`, a digit is an error ("invalid number"), not the next token.
        if self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return None;
        }
        self.text.get(start..self.pos)
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.pos;
        self.digits();
        (self.pos > start).then_some(())
    }

    /// A string whose contents are needed: escape-free, so they are a slice of the text.
    fn plain_string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.pos;
        self.pos = start + find_special(&self.bytes()[start..]);
        // Not a quote: an escape, a control character or the end of the text.
        self.eat(b'"')?;
        self.text.get(start..self.pos - 1)
    }

    /// Skips a string, validating its escapes as serde does when it ignores a string
    /// (`\u` takes any four hex digits); a control character is an error.
    fn skip_string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            self.pos += find_special(&self.bytes()[self.pos..]);
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Some(());
                }
                b'\\' => {
                    self.pos += 1;
                    match self.peek()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.pos += 1,
                        b'u' => {
                            let hex = self.bytes().get(self.pos + 1..self.pos + 5)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            self.pos += 5;
                        }
                        _ => return None,
                    }
                }
                _ => return None, // a control character
            }
        }
    }
}

/// The offset of the first `"`, `\` or control character (below 0x20) in `bytes`, or
/// its length. Eight bytes at a time, as serde_json does: for each wanted byte, the
/// classic "has a zero byte" test on the word XORed with it sets the high bit of every
/// matching byte; a borrow can also flag bytes above a true match, never below one, so
/// the lowest flagged byte is the first match.
fn find_special(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    let mut chunks = bytes.chunks_exact(8);
    let mut i = 0;
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().expect("chunks of 8"));
        let ctrl = w.wrapping_sub(ONES * 0x20) & !w;
        let q = w ^ (ONES * u64::from(b'"'));
        let quote = q.wrapping_sub(ONES) & !q;
        let b = w ^ (ONES * u64::from(b'\\'));
        let backslash = b.wrapping_sub(ONES) & !b;
        let found = (ctrl | quote | backslash) & HIGH;
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let tail = chunks.remainder();
    i + tail
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(tail.len())
}

/// Reads a `connections.jsonl` line in exactly the layout serde writes for a
/// [`Connection`] (fields in declaration order, absent options and false flags
/// omitted, no whitespace, strings without escapes); `None` means "ask serde".
pub(crate) fn scan_connection(line: &str) -> Option<Connection> {
    let mut c = Cursor(line);
    c.lit("{\"uid\":")?;
    let uid = c.string()?.to_owned();
    c.lit(",\"time_ms\":")?;
    let time_ms = c.int()?;
    c.lit(",\"src\":")?;
    let src = c.peer()?;
    c.lit(",\"dst\":")?;
    let dst = c.peer()?;
    c.lit(",\"src_port\":")?;
    let src_port = c.int()?;
    c.lit(",\"dst_port\":")?;
    let dst_port = c.int()?;
    c.lit(",\"protocol\":")?;
    let protocol = c.string()?.to_owned();
    c.lit(",\"app\":")?;
    let app = c.string()?.to_owned();
    c.lit(",\"bytes_out\":")?;
    let bytes_out = c.int()?;
    c.lit(",\"bytes_in\":")?;
    let bytes_in = c.int()?;
    let dns_query = match c.lit(",\"dns_query\":") {
        Some(()) => Some(c.string()?.to_owned()),
        None => None,
    };
    let unusual = c.lit(",\"unusual\":true").is_some();
    let new = c.lit(",\"new\":true").is_some();
    c.lit("}")?;
    c.0.is_empty().then_some(Connection {
        uid,
        time_ms,
        src,
        dst,
        src_port,
        dst_port,
        protocol,
        app,
        bytes_out,
        bytes_in,
        dns_query,
        unusual,
        new,
    })
}

/// The unread rest of a line being read by [`scan_connection`].
struct Cursor<'a>(&'a str);

impl<'a> Cursor<'a> {
    fn lit(&mut self, text: &str) -> Option<()> {
        self.0 = self.0.strip_prefix(text)?;
        Some(())
    }

    /// An escape-free string.
    fn string(&mut self) -> Option<&'a str> {
        let rest = self.0.strip_prefix('"')?;
        let end = find_special(rest.as_bytes());
        let (text, rest) = rest.split_at_checked(end)?;
        self.0 = rest.strip_prefix('"')?;
        Some(text)
    }

    /// An integer as JSON writes it (`-?(0|[1-9][0-9]*)`) that fits `T`.
    fn int<T: std::str::FromStr>(&mut self) -> Option<T> {
        let b = self.0.as_bytes();
        let sign = usize::from(b.first() == Some(&b'-'));
        let digits = b[sign..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || (digits > 1 && b[sign] == b'0') {
            return None;
        }
        let (number, rest) = self.0.split_at(sign + digits);
        self.0 = rest;
        number.parse().ok()
    }

    /// `{"did":N,"ip":"…","hostname":"…"}` with `did` and `hostname` optional.
    fn peer(&mut self) -> Option<Peer> {
        self.lit("{")?;
        let did = match self.lit("\"did\":") {
            Some(()) => {
                let did = self.int()?;
                self.lit(",")?;
                Some(did)
            }
            None => None,
        };
        self.lit("\"ip\":")?;
        let ip: IpAddr = self.string()?.parse().ok()?;
        let hostname = match self.lit(",\"hostname\":") {
            Some(()) => Some(self.string()?.to_owned()),
            None => None,
        };
        self.lit("}")?;
        Some(Peer { did, ip, hostname })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Option<(String, Vec<Option<String>>)> {
        scan_source(text).map(|s| {
            (
                s.epochdate.to_string(),
                s.vals.iter().map(|v| v.map(str::to_string)).collect(),
            )
        })
    }

    #[test]
    fn reads_a_stored_source() {
        let text = r#"{"@fields":{"epochdate":1714478401.01752,"uid":"C1","source_ip":"10.11.2.96","dest_ip":"198.51.100.123","n":[1,2.5e3,{"x":null}],"ok":true},"@type":"conn","@timestamp":"2024-04-30T12:00:01","@message":"1714478401.0175\tC1\t\u00e9\"","@darktrace_probe":"1"}"#;
        let (t, vals) = keys(text).unwrap();
        assert_eq!(t, "1714478401.01752");
        assert_eq!(
            vals,
            vec![
                None,
                Some("198.51.100.123".into()),
                Some("10.11.2.96".into()),
                None,
                Some("conn".into())
            ]
        );
        let spaced = " { \"@type\" : \"x\" , \"@fields\" : { \"host\" : null , \"epochdate\" : -0.5E+2 } } \n";
        let (t, vals) = keys(spaced).unwrap();
        assert_eq!(t, "-0.5E+2");
        assert_eq!(vals, vec![None, None, None, None, Some("x".into())]);
    }

    #[test]
    fn leaves_to_serde_what_it_does_not_plainly_accept() {
        for text in [
            r#"{"@fields":{"epochdate":1},"@type":"x"} x"#,
            r#"{"@fields":{"epochdate":1},"@type":"x""#,
            r#"{"@fields":{"epochdate":1,"epochdate":2},"@type":"x"}"#,
            r#"{"@fields":{"epochdate":1},"@type":"x","@type":"y"}"#,
            r#"{"@fields":{"epochdate":1},"@fields":{"epochdate":1},"@type":"x"}"#,
            r#"{"@fields":{"epochdate":"1"},"@type":"x"}"#,
            r#"{"@fields":{"epochdate":01},"@type":"x"}"#,
            r#"{"@fields":{"epochdate":1.},"@type":"x"}"#,
            r#"{"@fields":{"epochdate":1,"host":5},"@type":"x"}"#,
            r#"{"@fields":{"epochdate":1,"host":"a\"b"},"@type":"x"}"#,
            r#"{"@fields":{"epoch\u0064ate":1},"@type":"x"}"#,
            r#"{"@fields":{"epochdate":1},"@type":null}"#,
            r#"{"@fields":{},"@type":"x"}"#,
            r#"{"@fields":{"epochdate":1}}"#,
            r#"{"@fields":{"epochdate":1},"@type":"x","m":"a\qb"}"#,
            r#"{"@fields":{"epochdate":1},"@type":"x","m":"\u12g4"}"#,
            "{\"@fields\":{\"epochdate\":1},\"@type\":\"x\",\"m\":\"a\tb\"}",
            r#"{"@fields":{"epochdate":1},"@type":"x","m":[1,]}"#,
            r#"{"@fields":{"epochdate":1},"@type":"x","m":{"a":1,}}"#,
            r#"{"@fields":{"epochdate":1},"@type":"x","m":tru}"#,
            r#"[{"epochdate":1},"x"]"#,
            "",
        ] {
            assert!(scan_source(text).is_none(), "{text}");
        }
    }

    #[test]
    fn a_number_serde_cannot_read_is_its_error() {
        use crate::search::source_keys;
        let text = r#"{"@fields":{"epochdate":1e400},"@type":"x"}"#;
        assert!(scan_source(text).is_some(), "the grammar is fine");
        let err = source_keys(text).unwrap_err();
        assert!(err.contains("number out of range"), "{err}");
    }

    #[test]
    fn deep_nesting_is_left_to_serde() {
        let deep = format!(
            r#"{{"@fields":{{"epochdate":1}},"@type":"x","m":{}{}}}"#,
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(scan_source(&deep).is_none());
        let shallow = deep
            .replace(&"[".repeat(100), "[[")
            .replace(&"]".repeat(100), "]]");
        assert!(scan_source(&shallow).is_some());
    }

    #[test]
    fn special_bytes_are_found_in_every_position() {
        for len in 0..40 {
            for at in 0..len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    let mut v = vec![b'a'; len];
                    v[at] = special;
                    if at + 1 < len {
                        v[at + 1] = 0xff; // high bytes around it must not hide it
                    }
                    assert_eq!(find_special(&v), at, "{len} {at} {special}");
                }
            }
            assert_eq!(find_special(&vec![0x7f; len]), len);
            assert_eq!(find_special(&vec![0x20; len]), len);
        }
    }

    mod props {
        use proptest::prelude::*;
        use serde_json::{Map, Value};

        use super::super::*;
        use crate::search::{source_keys, source_keys_serde, IndexedValues};

        /// Strings from plain ones to ones serde must escape.
        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => "[a-z0-9@._-]{0,12}",
                1 => "\\PC{0,8}",
                1 => prop::collection::vec(
                    prop_oneof![
                        Just('"'),
                        Just('\\'),
                        Just('\t'),
                        Just('\u{1}'),
                        Just('\u{7f}'),
                        Just('é'),
                        Just('/'),
                        any::<char>(),
                    ],
                    0..6
                )
                .prop_map(|v| v.into_iter().collect()),
            ]
        }

        fn plain() -> impl Strategy<Value = String> {
            "[a-z0-9@._-]{0,12}"
        }

        fn value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                text().prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::vec((text(), inner), 0..4)
                        .prop_map(|kv| Value::Object(kv.into_iter().collect())),
                ]
            })
        }

        fn epochdate() -> impl Strategy<Value = Value> {
            prop_oneof![
                (0u64..4_000_000_000_000_000).prop_map(|us| Value::from(us as f64 / 1e6)),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
            ]
        }

        /// A `_source`: `@fields` with `epochdate` and the indexed members, `@type`, and
        /// other members; `key` makes the keys at those two levels, `odd` whether the
        /// kept values may be of any type.
        fn source(key: fn() -> BoxedStrategy<String>, odd: bool) -> impl Strategy<Value = Value> {
            let w = if odd { 1 } else { 0 };
            let indexed = prop_oneof![
                4 => key().prop_map(Value::String),
                1 => Just(Value::Null),
                w => value(),
            ];
            let fields = (
                prop_oneof![8 => epochdate(), w => value()],
                prop::collection::vec(
                    (
                        prop::sample::select(&["src_ip", "dest_ip", "source_ip", "host"][..]),
                        indexed,
                    ),
                    0..5,
                ),
                prop::collection::vec((key(), value()), 0..4),
                prop::collection::vec((key(), value()), 0..3),
            )
                .prop_map(|(epoch, indexed, before, after)| {
                    let mut m: Map<String, Value> = before.into_iter().collect();
                    m.insert("epochdate".into(), epoch);
                    m.extend(indexed.into_iter().map(|(k, v)| (k.to_string(), v)));
                    m.extend(after);
                    Value::Object(m)
                });
            (
                prop::option::weighted(0.95, fields),
                prop_oneof![8 => key().prop_map(Value::String), w => value()],
                prop::collection::vec((key(), value()), 0..3),
                prop::collection::vec((key(), value()), 0..3),
            )
                .prop_map(|(fields, ty, before, after)| {
                    let mut m: Map<String, Value> = before.into_iter().collect();
                    if let Some(f) = fields {
                        m.insert("@fields".into(), f);
                    }
                    m.insert("@type".into(), ty);
                    m.extend(after);
                    Value::Object(m)
                })
        }

        fn boxed_plain() -> BoxedStrategy<String> {
            plain().boxed()
        }

        /// Mostly keys the fast path reads, sometimes ones it leaves to serde.
        fn boxed_key() -> BoxedStrategy<String> {
            prop_oneof![9 => plain(), 1 => text()].boxed()
        }

        /// Edits that make near-misses: JSON punctuation, escapes, control characters,
        /// numbers' parts, repeated members.
        const SNIPPETS: [&str; 23] = [
            " ",
            "\n",
            ",",
            ":",
            "{",
            "}",
            "[",
            "]",
            "\"",
            "\\",
            "\\u12",
            "\\uD800",
            "\u{1}",
            "0",
            "-",
            ".",
            "e",
            "+",
            "null",
            "\"epochdate\":1,",
            "\"@type\":\"t\",",
            "\"host\":\"h\",",
            "\"@fields\":{\"epochdate\":2},",
        ];

        /// An edit: where (0: anywhere; 1: just after a `{`, `,`, `:` or `[`, where
        /// members and values start; 2: at or just after a character of a number), and
        /// what (a snippet to insert, or a deletion).
        type Edit = (u8, prop::sample::Index, Option<usize>);

        fn mutate(text: &str, edits: &[Edit]) -> String {
            let mut out: Vec<char> = text.chars().collect();
            for (place, at, snippet) in edits {
                let places: Vec<usize> = match place {
                    1 => (0..out.len())
                        .filter(|&i| matches!(out[i], '{' | ',' | ':' | '['))
                        .map(|i| i + 1)
                        .collect(),
                    2 => (0..out.len())
                        .filter(|&i| matches!(out[i], '0'..='9' | '.' | '-' | 'e' | 'E' | '+'))
                        .flat_map(|i| [i, i + 1])
                        .collect(),
                    _ => Vec::new(),
                };
                let at = if places.is_empty() {
                    at.index(out.len() + 1)
                } else {
                    places[at.index(places.len())]
                };
                match snippet {
                    Some(i) => {
                        let s = SNIPPETS[*i];
                        out.splice(at..at, s.chars());
                    }
                    None if at < out.len() => {
                        out.remove(at);
                    }
                    None => {}
                }
            }
            out.into_iter().collect()
        }

        fn edit() -> impl Strategy<Value = Edit> {
            (
                0..3u8,
                any::<prop::sample::Index>(),
                prop::option::weighted(0.8, 0..SNIPPETS.len()),
            )
        }

        /// What `source_keys` gives through serde alone.
        fn by_serde(text: &str) -> Result<(i64, IndexedValues<'_>), String> {
            let (epochdate, vals) = source_keys_serde(text)?;
            if !epochdate.is_finite() {
                return Err("@fields.epochdate is not a finite number".into());
            }
            Ok(((epochdate * 1e6).round() as i64, vals))
        }

        fn peer() -> impl Strategy<Value = Peer> {
            let ip = prop_oneof![
                any::<[u8; 4]>().prop_map(IpAddr::from),
                any::<[u16; 8]>().prop_map(IpAddr::from),
            ];
            (prop::option::of(any::<u32>()), ip, prop::option::of(text()))
                .prop_map(|(did, ip, hostname)| Peer { did, ip, hostname })
        }

        fn connection() -> impl Strategy<Value = Connection> {
            (
                (
                    text(),
                    any::<i64>(),
                    peer(),
                    peer(),
                    any::<u16>(),
                    any::<u16>(),
                ),
                (text(), text(), any::<u64>(), any::<u64>()),
                (prop::option::of(text()), any::<bool>(), any::<bool>()),
            )
                .prop_map(
                    |(
                        (uid, time_ms, src, dst, src_port, dst_port),
                        (protocol, app, bytes_out, bytes_in),
                        (dns_query, unusual, new),
                    )| Connection {
                        uid,
                        time_ms,
                        src,
                        dst,
                        src_port,
                        dst_port,
                        protocol,
                        app,
                        bytes_out,
                        bytes_in,
                        dns_query,
                        unusual,
                        new,
                    },
                )
        }

        /// Whether serde writes `s` without an escape.
        fn unescaped(s: &str) -> bool {
            !s.chars().any(|c| c == '"' || c == '\\' || c < ' ')
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

            /// The fast path changes nothing: `source_keys` answers exactly as serde does,
            /// values and errors alike, on sources with members of any type ...
            #[test]
            fn source_keys_answers_as_serde_does(src in source(boxed_key, true)) {
                let text = serde_json::to_string(&src).unwrap();
                prop_assert_eq!(source_keys(&text), by_serde(&text), "{}", text);
            }

            /// ... and on near-misses of stored sources: one edit away, or two.
            #[test]
            fn source_keys_answers_as_serde_does_on_near_misses(
                src in source(boxed_key, false),
                edits in prop::collection::vec(edit(), 1..3),
            ) {
                let text = mutate(&serde_json::to_string(&src).unwrap(), &edits);
                prop_assert_eq!(source_keys(&text), by_serde(&text), "{}", text);
            }

            /// ... and it is taken for sources written the way worlds are.
            #[test]
            fn stored_sources_take_the_fast_path(src in source(boxed_plain, false)) {
                let text = serde_json::to_string(&src).unwrap();
                let has_fields = src.get("@fields").is_some();
                prop_assert_eq!(scan_source(&text).is_some(), has_fields, "{}", text);
            }

            /// Numbers, kept or skipped, against serde's grammar and range.
            #[test]
            fn numbers_read_as_serde_reads_them(n in "[-+0-9.eE]{1,8}|-?[0-9]{1,3}(\\.[0-9]{0,2})?([eE][-+.]?[0-9]{0,3})?") {
                for text in [
                    format!(r#"{{"@fields":{{"epochdate":{n}}},"@type":"t"}}"#),
                    format!(r#"{{"@fields":{{"epochdate":1,"n":{n}}},"@type":"t","m":[{n},{n}]}}"#),
                ] {
                    prop_assert_eq!(source_keys(&text), by_serde(&text), "{}", text);
                }
            }

            /// Strings, kept or skipped, with and without escapes, valid or not.
            #[test]
            fn strings_read_as_serde_reads_them(s in "[a\\\\\"u0-9a-fA-FnrtbD/\t\u{1}é]{0,8}") {
                for text in [
                    format!(r#"{{"@fields":{{"epochdate":1,"m":"{s}"}},"@type":"t"}}"#),
                    format!(r#"{{"@fields":{{"epochdate":1,"{s}":1}},"@type":"t"}}"#),
                    format!(r#"{{"@fields":{{"epochdate":1,"host":"{s}"}},"@type":"{s}"}}"#),
                    format!(r#"{{"@fields":{{"epochdate":1}},"@type":"t","m":{{"{s}":["{s}"]}}}}"#),
                ] {
                    prop_assert_eq!(source_keys(&text), by_serde(&text), "{}", text);
                }
            }

            /// A connection line read by the fast path is what serde reads, and every line
            /// serde writes without escapes takes it.
            #[test]
            fn connection_lines_read_as_serde_reads_them(
                c in connection(),
                edits in prop::collection::vec(edit(), 0..3),
            ) {
                let text = serde_json::to_string(&c).unwrap();
                let plain = [Some(&c.uid), Some(&c.protocol), Some(&c.app), c.src.hostname.as_ref(),
                    c.dst.hostname.as_ref(), c.dns_query.as_ref()]
                    .into_iter()
                    .flatten()
                    .all(|s| unescaped(s));
                prop_assert_eq!(scan_connection(&text).is_some(), plain, "{}", text);
                let text = mutate(&text, &edits);
                if let Some(fast) = scan_connection(&text) {
                    let slow: Connection = serde_json::from_str(&text)
                        .map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
                    prop_assert_eq!(fast, slow, "{}", text);
                }
            }
        }
    }
}
