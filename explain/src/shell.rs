//! A small POSIX-shell word splitter, enough for pasted `curl` command lines.
//!
//! Handles whitespace, `\`-newline continuations (LF and CRLF), backslash escapes,
//! single quotes, double quotes (with their four escapes), ANSI-C `$'...'` quotes and
//! `#` comments. It does no expansion: `$VAR` stays literal, which is what a support
//! engineer wants to see. It never panics; unterminated quotes are a typed error.

/// One shell word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    /// The word after quote removal.
    pub text: String,
    /// Whether any part of it was quoted or escaped (then it is never an operator).
    pub quoted: bool,
}

/// Why a line could not be split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    /// A quote was opened and never closed.
    #[error("unterminated {0} quote")]
    Unterminated(&'static str),
}

/// Splits a command line into words.
pub(crate) fn split(input: &str) -> Result<Vec<Word>, ShellError> {
    let b = input.as_bytes();
    let mut words = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut i = 0;

    fn finish(words: &mut Vec<Word>, cur: &mut Vec<u8>, in_word: &mut bool, quoted: &mut bool) {
        if *in_word {
            words.push(Word {
                text: String::from_utf8_lossy(cur).into_owned(),
                quoted: *quoted,
            });
        }
        cur.clear();
        *in_word = false;
        *quoted = false;
    }

    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                finish(&mut words, &mut cur, &mut in_word, &mut quoted);
                i += 1;
            }
            b'#' if !in_word => {
                // A comment runs to the end of the line.
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'\\' => {
                match b.get(i + 1) {
                    Some(b'\n') => i += 2,
                    Some(b'\r') if b.get(i + 2) == Some(&b'\n') => i += 3,
                    Some(&next) => {
                        in_word = true;
                        quoted = true;
                        // Copy the whole (possibly multi-byte) character literally.
                        let len = utf8_len(next);
                        let end = (i + 1 + len).min(b.len());
                        cur.extend_from_slice(&b[i + 1..end]);
                        i = end;
                    }
                    None => i += 1,
                }
            }
            b'\'' => {
                in_word = true;
                quoted = true;
                let start = i + 1;
                let Some(rel) = b[start..].iter().position(|&x| x == b'\'') else {
                    return Err(ShellError::Unterminated("single"));
                };
                cur.extend_from_slice(&b[start..start + rel]);
                i = start + rel + 1;
            }
            b'"' => {
                in_word = true;
                quoted = true;
                i = double_quoted(b, i + 1, &mut cur)?;
            }
            b'$' if b.get(i + 1) == Some(&b'\'') => {
                in_word = true;
                quoted = true;
                i = ansi_c_quoted(b, i + 2, &mut cur)?;
            }
            b'$' if b.get(i + 1) == Some(&b'"') => {
                in_word = true;
                quoted = true;
                i = double_quoted(b, i + 2, &mut cur)?;
            }
            _ => {
                in_word = true;
                cur.push(c);
                i += 1;
            }
        }
    }
    finish(&mut words, &mut cur, &mut in_word, &mut quoted);
    Ok(words)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Reads a double-quoted part starting after the opening quote; returns the index
/// after the closing quote.
fn double_quoted(b: &[u8], mut i: usize, cur: &mut Vec<u8>) -> Result<usize, ShellError> {
    while i < b.len() {
        match b[i] {
            b'"' => return Ok(i + 1),
            b'\\' => match b.get(i + 1) {
                Some(b'\n') => i += 2,
                Some(b'\r') if b.get(i + 2) == Some(&b'\n') => i += 3,
                Some(&e @ (b'"' | b'\\' | b'$' | b'`')) => {
                    cur.push(e);
                    i += 2;
                }
                _ => {
                    cur.push(b'\\');
                    i += 1;
                }
            },
            c => {
                cur.push(c);
                i += 1;
            }
        }
    }
    Err(ShellError::Unterminated("double"))
}

/// Reads a `$'...'` part starting after the opening quote.
fn ansi_c_quoted(b: &[u8], mut i: usize, cur: &mut Vec<u8>) -> Result<usize, ShellError> {
    while i < b.len() {
        match b[i] {
            b'\'' => return Ok(i + 1),
            b'\\' => {
                let Some(&e) = b.get(i + 1) else {
                    return Err(ShellError::Unterminated("$'...'"));
                };
                i += 2;
                match e {
                    b'n' => cur.push(b'\n'),
                    b't' => cur.push(b'\t'),
                    b'r' => cur.push(b'\r'),
                    b'a' => cur.push(0x07),
                    b'b' => cur.push(0x08),
                    b'e' | b'E' => cur.push(0x1b),
                    b'f' => cur.push(0x0c),
                    b'v' => cur.push(0x0b),
                    b'\\' | b'\'' | b'"' | b'?' => cur.push(e),
                    b'x' => {
                        let (v, n) = radix_digits(&b[i..], 16, 2);
                        if n == 0 {
                            cur.extend_from_slice(b"\\x");
                        } else {
                            cur.push(v as u8);
                        }
                        i += n;
                    }
                    b'u' | b'U' => {
                        let max = if e == b'u' { 4 } else { 8 };
                        let (v, n) = radix_digits(&b[i..], 16, max);
                        match char::from_u32(v).filter(|_| n > 0) {
                            Some(ch) => {
                                let mut buf = [0u8; 4];
                                cur.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            }
                            None => {
                                cur.push(b'\\');
                                cur.push(e);
                            }
                        }
                        i += n;
                    }
                    b'0'..=b'7' => {
                        let (v, n) = radix_digits(&b[i - 1..], 8, 3);
                        cur.push((v & 0xff) as u8);
                        i += n.saturating_sub(1);
                    }
                    other => {
                        cur.push(b'\\');
                        cur.push(other);
                    }
                }
            }
            c => {
                cur.push(c);
                i += 1;
            }
        }
    }
    Err(ShellError::Unterminated("$'...'"))
}

/// Reads up to `max` digits in `radix`; returns the value and the count read.
fn radix_digits(b: &[u8], radix: u32, max: usize) -> (u32, usize) {
    let mut v: u32 = 0;
    let mut n = 0;
    for &c in b.iter().take(max) {
        match (c as char).to_digit(radix) {
            Some(d) => {
                v = v.wrapping_mul(radix).wrapping_add(d);
                n += 1;
            }
            None => break,
        }
    }
    (v, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        split(s).unwrap().into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(
            texts(r#"curl 'a b' "c \"d\" \x" e\ f"#),
            ["curl", "a b", r#"c "d" \x"#, "e f"]
        );
        assert_eq!(texts("a'b'\"c\"d"), ["abcd"]);
        assert_eq!(texts(r"'it'\''s'"), ["it's"]);
    }

    #[test]
    fn continuations_and_comments() {
        assert_eq!(
            texts("curl \\\n  -H x \\\r\n  'y' # done"),
            ["curl", "-H", "x", "y"]
        );
        assert_eq!(texts("a\\\nb"), ["ab"]);
    }

    #[test]
    fn ansi_c_quotes() {
        assert_eq!(texts(r"$'a\nb\x41\u00e9\'\101'"), ["a\nbAé'A"]);
    }

    #[test]
    fn unterminated_is_an_error() {
        assert_eq!(split("'abc"), Err(ShellError::Unterminated("single")));
        assert_eq!(split("\"abc"), Err(ShellError::Unterminated("double")));
        assert!(split("$'abc").is_err());
    }

    #[test]
    fn empty_quotes_make_an_empty_word() {
        assert_eq!(texts("a '' b"), ["a", "", "b"]);
    }
}
