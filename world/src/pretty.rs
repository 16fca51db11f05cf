//! Stored `_source` text re-indented straight to the appliance's 2-space JSON.
//!
//! [`write_source`] writes a stored source exactly as `serde_json::to_writer_pretty`
//! writes the `Value` parsed from it with its times patched (as
//! [`crate::search::patch_times`] patches them), at a given nesting depth, by copying
//! its bytes and adding the indentation. A string is copied only when its escapes are
//! the ones serde_json itself writes, and a number only when it is a plain integer
//! that prints back unchanged; any other number goes through serde_json's own parser
//! and printer. For anything else it cannot vouch for it returns `false`, leaving
//! `out` as it was, and the caller takes the serde path: the fast path never changes
//! what is written, only how fast (checked against serde on random sources).
//!
//! The stored text is valid JSON (the store checks every source on load) and has no
//! repeated keys, as the serde path assumes too.

use crate::clock;
use crate::search::epoch_value;

/// Which times to patch in the object being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Patch {
    /// Copy as is.
    None,
    /// A `_source`: `@timestamp`, `@message`'s first column, and `@fields` below.
    Source(i64),
    /// Its `@fields`: `epochdate`.
    Fields(i64),
}

/// Writes the stored source `src` at `depth` (the indentation level of the line it
/// starts on), its times patched from `time_us` when given. Returns `false`, with
/// `out` unchanged, when only the serde path can say what to write.
pub(crate) fn write_source(
    out: &mut Vec<u8>,
    src: &str,
    depth: usize,
    time_us: Option<i64>,
) -> bool {
    let mark = out.len();
    let patch = time_us.map_or(Patch::None, Patch::Source);
    let mut w = Writer {
        s: src.as_bytes(),
        i: 0,
        out,
    };
    let ok = w.value(depth, patch).is_some() && {
        w.ws();
        w.i == w.s.len()
    };
    if !ok {
        out.truncate(mark);
    }
    ok
}

/// A newline and `depth` levels of two-space indentation.
pub(crate) fn newline(out: &mut Vec<u8>, depth: usize) {
    const LINE: &[u8; 65] = b"\n                                                                ";
    let n = 1 + depth * 2;
    if n <= LINE.len() {
        out.extend_from_slice(&LINE[..n]);
    } else {
        out.push(b'\n');
        out.resize(out.len() + depth * 2, b' ');
    }
}

/// `"YYYY-MM-DDTHH:MM:SS"` (with the quotes), as [`clock::iso_secs`] writes it.
fn push_iso_secs(out: &mut Vec<u8>, ms: i64) {
    out.push(b'"');
    clock::push_layout(out, ms, b"YYYY-MM-DDThh:mm:ss");
    out.push(b'"');
}

struct Writer<'a> {
    s: &'a [u8],
    i: usize,
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize, patch: Patch) -> Option<()> {
        // Deeper than serde_json reads (its limit is 128): not a stored source.
        if depth > 160 {
            return None;
        }
        self.ws();
        match self.peek()? {
            b'{' => self.object(depth, patch),
            b'[' => self.array(depth),
            b'"' => {
                let (start, end) = self.string()?;
                self.out.extend_from_slice(&self.s[start - 1..end + 1]);
                Some(())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if !self.s[self.i..].starts_with(word) {
            return None;
        }
        self.i += word.len();
        self.out.extend_from_slice(word);
        Some(())
    }

    fn object(&mut self, depth: usize, patch: Patch) -> Option<()> {
        self.i += 1;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            self.out.extend_from_slice(b"{}");
            return Some(());
        }
        self.out.push(b'{');
        loop {
            self.ws();
            if self.peek()? != b'"' {
                return None;
            }
            newline(self.out, depth + 1);
            let (start, end) = self.string()?;
            let key = &self.s[start..end];
            self.out.extend_from_slice(&self.s[start - 1..end + 1]);
            self.ws();
            if self.peek()? != b':' {
                return None;
            }
            self.i += 1;
            self.out.extend_from_slice(b": ");
            self.ws();
            match (patch, key) {
                (Patch::Source(us), b"@timestamp") => {
                    self.skip_value(depth + 1)?;
                    push_iso_secs(self.out, us.div_euclid(1_000));
                }
                (Patch::Source(us), b"@message") if self.peek()? == b'"' => self.message(us)?,
                (Patch::Source(us), b"@fields") => self.value(depth + 1, Patch::Fields(us))?,
                (Patch::Fields(us), b"epochdate") => {
                    self.skip_value(depth + 1)?;
                    serde_json::to_writer(&mut *self.out, &epoch_value(us)).ok()?;
                }
                _ => self.value(depth + 1, Patch::None)?,
            }
            self.ws();
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    self.out.push(b',');
                }
                b'}' => {
                    self.i += 1;
                    break;
                }
                _ => return None,
            }
        }
        newline(self.out, depth);
        self.out.push(b'}');
        Some(())
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        self.i += 1;
        self.ws();
        if self.peek()? == b']' {
            self.i += 1;
            self.out.extend_from_slice(b"[]");
            return Some(());
        }
        self.out.push(b'[');
        loop {
            newline(self.out, depth + 1);
            self.value(depth + 1, Patch::None)?;
            self.ws();
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    self.out.push(b',');
                }
                b']' => {
                    self.i += 1;
                    break;
                }
                _ => return None,
            }
        }
        newline(self.out, depth);
        self.out.push(b']');
        Some(())
    }

    /// Skips a value (validating it as [`Self::value`] does).
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        let mark = self.out.len();
        let r = self.value(depth, Patch::None);
        self.out.truncate(mark);
        r
    }

    /// Moves past a string whose escapes are all ones serde_json writes; returns its
    /// content's range (without the quotes).
    fn string(&mut self) -> Option<(usize, usize)> {
        let start = self.i + 1;
        let mut j = start;
        loop {
            let b = *self.s.get(j)?;
            if !SPECIAL[usize::from(b)] {
                j += 1;
                continue;
            }
            match b {
                b'"' => break,
                b'\\' => j += canonical_escape(&self.s[j..])?,
                // A raw control character is not JSON (and serde would escape it).
                _ => return None,
            }
        }
        self.i = j + 1;
        Some((start, j))
    }

    /// `@message`: its first tab-separated column becomes the epoch column when it
    /// reads as a float.
    fn message(&mut self, time_us: i64) -> Option<()> {
        let (start, end) = self.string()?;
        let text = &self.s[start..end];
        // The first tab is the first `\t` escape (a raw tab is not JSON, and `\u0009`
        // is not an escape serde writes, so `string` refused it).
        let mut tab = text.len();
        let mut j = 0;
        while j < text.len() {
            if text[j] == b'\\' {
                if text[j + 1] == b't' {
                    tab = j;
                    break;
                }
                j += 2;
            } else {
                j += 1;
            }
        }
        let first = &text[..tab];
        // A column holding an escape decodes to something no float parse accepts.
        let is_float = !first.contains(&b'\\')
            && std::str::from_utf8(first).is_ok_and(|f| f.parse::<f64>().is_ok());
        self.out.push(b'"');
        if is_float {
            push_epoch_column(self.out, time_us);
            self.out.extend_from_slice(&text[tab..]);
        } else {
            self.out.extend_from_slice(text);
        }
        self.out.push(b'"');
        Some(())
    }

    fn number(&mut self) -> Option<()> {
        let start = self.i;
        let mut j = start;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.s.get(j) {
            j += 1;
        }
        let token = &self.s[start..j];
        self.i = j;
        if prints_unchanged(token) {
            self.out.extend_from_slice(token);
        } else {
            // As serde_json reads and prints it (this also refuses what is not a number).
            let n: serde_json::Number = serde_json::from_slice(token).ok()?;
            serde_json::to_writer(&mut *self.out, &n).ok()?;
        }
        Some(())
    }
}

/// Bytes that end a run of plain string content: `"`, `\` and control characters.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Whether serde_json reads a number token and prints it back byte for byte:
/// - an integer of at most 18 digits (an `i64` or `u64` either way), except `-0`;
/// - a decimal `I.F` without exponent, `I` without leading zeros, `F` not ending in
///   `0`, at most 15 significant digits (so the `f64` is exact to read and its
///   shortest form is the token itself) and at most four zeros after the point before
///   the first digit (ryu's fixed notation goes down to `0.0000d`).
fn prints_unchanged(token: &[u8]) -> bool {
    let digits = token.strip_prefix(b"-").unwrap_or(token);
    let (int, frac) = match digits.iter().position(|&b| b == b'.') {
        Some(p) => (&digits[..p], Some(&digits[p + 1..])),
        None => (digits, None),
    };
    let all_digits = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
    if !all_digits(int) || (int[0] == b'0' && int.len() > 1) {
        return false;
    }
    match frac {
        None => int.len() <= 18 && token != b"-0",
        Some(frac) => {
            if !all_digits(frac) || frac.ends_with(b"0") {
                return false;
            }
            if int == b"0" {
                let zeros = frac.iter().take_while(|&&b| b == b'0').count();
                zeros <= 4 && frac.len() - zeros <= 15
            } else {
                int.len() + frac.len() <= 15
            }
        }
    }
}

/// [`clock::epoch_message_column`] (`{:.4}` of the epoch seconds) without formatting
/// a float: exact from the integer, except at a tie, where the float decides.
fn push_epoch_column(out: &mut Vec<u8>, time_us: i64) {
    let (q, r) = (time_us.div_euclid(100), time_us.rem_euclid(100));
    // The f64 is within 0.13 µs of `time_us` for any time this side of year 2255, so
    // only an exact tie (r = 50) can round either way.
    if r == 50 || !(0..=8_000_000_000_000_000).contains(&time_us) {
        out.extend_from_slice(clock::epoch_message_column(time_us).as_bytes());
        return;
    }
    let tenths_of_ms = q + i64::from(r > 50);
    let (secs, frac) = (tenths_of_ms / 10_000, tenths_of_ms % 10_000);
    out.extend_from_slice(secs.to_string().as_bytes());
    let f = frac as u32;
    let d = |n: u32| b'0' + (n % 10) as u8;
    out.extend_from_slice(&[b'.', d(f / 1000), d(f / 100), d(f / 10), d(f)]);
}

/// The length of the escape at the start of `s` (which starts with `\`) when it is
/// one serde_json writes: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, or `\u00XX`
/// (lowercase hex) for another control character.
fn canonical_escape(s: &[u8]) -> Option<usize> {
    match s.get(1)? {
        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => Some(2),
        b'u' => {
            let hex = s.get(2..6)?;
            let lower = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
            if hex[0] != b'0' || hex[1] != b'0' || !matches!(hex[2], b'0' | b'1') || !lower(&hex[3])
            {
                return None;
            }
            let v = u8::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()?;
            // These five have short forms, which serde uses.
            (!matches!(v, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d)).then_some(6)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// What the serde path writes: the patched `Value`, pretty, at `depth`.
    fn reference(src: &str, depth: usize, time_us: Option<i64>) -> Option<Vec<u8>> {
        let mut v: Value = serde_json::from_str(src).ok()?;
        if let (Some(us), Value::Object(m)) = (time_us, &mut v) {
            crate::search::patch_times(m, us);
        }
        let text = serde_json::to_vec_pretty(&v).ok()?;
        // Indent every line after the first by `depth` levels.
        let mut out = Vec::new();
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                newline(&mut out, depth);
            }
            out.extend_from_slice(line);
        }
        Some(out)
    }

    fn fast(src: &str, depth: usize, time_us: Option<i64>) -> Option<Vec<u8>> {
        let mut out = b"prefix".to_vec();
        if write_source(&mut out, src, depth, time_us) {
            Some(out[6..].to_vec())
        } else {
            assert_eq!(out, b"prefix", "a refusal leaves the output as it was");
            None
        }
    }

    fn check(src: &str, depth: usize, time_us: Option<i64>) -> bool {
        let want = reference(src, depth, time_us);
        match fast(src, depth, time_us) {
            Some(got) => {
                assert_eq!(
                    Some(String::from_utf8_lossy(&got).into_owned()),
                    want.map(|w| String::from_utf8_lossy(&w).into_owned()),
                    "source {src:?}"
                );
                true
            }
            None => false,
        }
    }

    const US: i64 = 1_714_564_680_123_456;

    #[test]
    fn stored_shapes_take_the_fast_path() {
        let src = json!({
            "@fields": {"epochdate": 1.5, "src_ip": "10.0.0.1", "port": 443, "tags": [], "m": {},
                         "nested": [1, {"a": [true, false, null]}], "neg": -12, "zero": 0},
            "@message": "1714564680.1234\tconn\tC1\t\"quoted\"\\back",
            "@timestamp": "2024-05-01T11:58:00",
            "@type": "conn",
            "uni": "é ☃ \u{1}\u{1f}\u{7f}\n\t\r\u{8}\u{c}",
        })
        .to_string();
        for depth in [0, 4] {
            assert!(check(&src, depth, Some(US)), "fast path refused");
            assert!(check(&src, depth, None), "fast path refused");
        }
    }

    #[test]
    fn every_generated_source_takes_the_fast_path() {
        let store = crate::testutil::small_world().search();
        for &id in store.ids_by_time() {
            let rec = store.record(id);
            assert!(
                check(&rec.source, 4, Some(rec.time_us())),
                "refused {}",
                rec.source
            );
        }
    }

    #[test]
    fn floats_and_odd_numbers_print_as_serde_prints_them() {
        for n in [
            "1.0",
            "1e5",
            "-0",
            "0.1",
            "1E+2",
            "12345678901234567890",
            "-9223372036854775809",
            "2.5e-7",
        ] {
            let src = format!("{{\"n\":{n},\"a\":[{n}]}}");
            assert!(check(&src, 1, None), "refused {n}");
        }
    }

    #[test]
    fn non_canonical_text_is_refused_or_rendered_identically() {
        for src in [
            r#"{"a":"\u0041"}"#,
            r#"{"a":"\/"}"#,
            r#"{"a":"\u000A"}"#,
            r#"{"a":"\u000a"}"#,
            r#"{"a":"\u001F"}"#,
            r#"{"@message":"x\u0009y"}"#,
            r#"{ "a" : [ 1 , 2 ] , "b" : { } }"#,
            "{\"a\":1}  ",
            r#"{"@message":"1.5\\tnot a tab"}"#,
            r#"{"@message":"nan\tx"}"#,
            r#"{"@message":7}"#,
            r#"{"@fields":[{"epochdate":1}],"@timestamp":{"x":1}}"#,
            r#"[{"@timestamp":1}]"#,
            r#""just a string""#,
        ] {
            check(src, 2, Some(US));
            check(src, 0, None);
        }
    }

    #[test]
    fn number_rules_at_their_edges() {
        for (t, want) in [
            ("0", true),
            ("-0", false),
            ("123456789012345678", true),
            ("1234567890123456789", false),
            ("0.5", true),
            ("0.50", false),
            ("00.5", false),
            ("0.00001", true),
            ("0.000001", false),
            ("123456789012.345", true),
            ("1234567890123.456", false),
            ("1.0", false),
            ("1e5", false),
            ("-0.025806", true),
            ("-", false),
            ("1.", false),
            (".5", false),
        ] {
            assert_eq!(prints_unchanged(t.as_bytes()), want, "{t}");
            if want {
                let v: Value = serde_json::from_str(t).unwrap();
                assert_eq!(v.to_string(), t);
            }
        }
        for us in [
            0,
            50,
            149,
            150,
            151,
            1_714_478_446_041_116,
            1_714_478_446_041_150,
            999_950,
        ] {
            let mut out = Vec::new();
            push_epoch_column(&mut out, us);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                clock::epoch_message_column(us),
                "{us}"
            );
        }
    }

    #[test]
    fn malformed_text_is_refused() {
        for src in [
            "",
            "{",
            "{\"a\":}",
            "[1,]",
            "{\"a\":1,}",
            "tru",
            "{\"a\" 1}",
            "\"abc",
            "{\"a\":1}x",
            "1..2",
        ] {
            assert_eq!(fast(src, 0, None), None, "{src:?}");
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[ -~\\t\\n\\u{1}\\u{7f}é☃\\\\\"]{0,12}".prop_map(Value::String),
            "[0-9]{1,4}\\.[0-9]{1,4}(\\t[a-z ]{0,6}){0,2}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("@timestamp".to_string()),
                            Just("@message".to_string()),
                            Just("@fields".to_string()),
                            Just("epochdate".to_string()),
                            "[a-z\"\\\\]{0,5}",
                        ],
                        inner
                    ),
                    0..5
                )
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever serde_json wrote (compact or pretty), the fast path writes what
        /// the serde path writes, and takes it.
        #[test]
        fn serde_written_sources_render_identically(
            v in json_value(),
            depth in 0usize..6,
            us in proptest::option::of(-10_000_000_000_000_000i64..10_000_000_000_000_000),
            pretty_input in any::<bool>(),
        ) {
            let src = if pretty_input {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                v.to_string()
            };
            prop_assert!(check(&src, depth, us), "refused serde's own text {src:?}");
        }

        /// A token judged to print unchanged does, through serde_json's reader and
        /// printer (the `Value` path).
        #[test]
        fn unchanged_numbers_are_unchanged(
            token in "-?(0|[1-9][0-9]{0,19})(\\.[0-9]{1,17})?",
        ) {
            if prints_unchanged(token.as_bytes()) {
                let v: Value = serde_json::from_str(&token).unwrap();
                prop_assert_eq!(v.to_string(), token);
            }
        }

        /// The integer epoch column is `{:.4}` of the float seconds.
        #[test]
        fn epoch_column_matches_the_float_formatting(us in 0i64..8_000_000_000_000_000) {
            let mut out = Vec::new();
            push_epoch_column(&mut out, us);
            prop_assert_eq!(String::from_utf8(out).unwrap(), clock::epoch_message_column(us));
        }

        /// On arbitrary text it never panics, and what it writes is what serde writes.
        #[test]
        fn arbitrary_text_is_refused_or_identical(
            src in "[ {}\\[\\]\":,0-9a-z.eE+\\-\\\\/@u]{0,40}",
            depth in 0usize..3,
        ) {
            check(&src, depth, Some(US));
            check(&src, depth, None);
        }
    }
}
