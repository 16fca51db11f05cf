//! Request targets: the path and query exactly as sent, and the decoded query form.
//!
//! The appliance verifies the path exactly as transmitted, never decoded (the
//! advanced-search base64 segment depends on it). For the query it accepts either
//! the wire form or the percent-decoded form with `+` read as a space, always in
//! the order sent (D1). Nothing here sorts.

/// Splits a raw request target (`/path?query`) at the first `?`.
///
/// The query is `None` when there is no `?`, and `Some("")` for a bare trailing `?`.
pub fn split_target(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

/// The first path segment, which keys the appliance's auth error bodies
/// (`/advancedsearch/api/...` gives `advancedsearch`).
pub fn first_segment(path: &str) -> &str {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    trimmed.split('/').next().unwrap_or("")
}

/// Percent-decodes a query string with `+` read as a space, as a form decoder does.
///
/// Malformed escapes (`%`, `%4`, `%zz`) are kept literally, which is what lenient
/// server-side decoders do, so decoding never fails. The result is bytes because a
/// decoded escape need not be UTF-8.
pub fn decode_query(query: &str) -> Vec<u8> {
    let bytes = query.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Decodes one query component into text (lossy for invalid UTF-8), with `+` as
/// a space. Used to read parameter values, not for signatures.
pub fn decode_component(value: &str) -> String {
    String::from_utf8_lossy(&decode_query(value)).into_owned()
}

/// Parses a query string into `(name, value)` pairs in the order sent, decoding both.
/// Empty segments (`a=1&&b=2`) are skipped; a segment without `=` has an empty value.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| match seg.split_once('=') {
            Some((k, v)) => (decode_component(k), decode_component(v)),
            None => (decode_component(seg), String::new()),
        })
        .collect()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_everything_after_the_first_question_mark() {
        assert_eq!(split_target("/a?b=1?c"), ("/a", Some("b=1?c")));
        assert_eq!(split_target("/a?"), ("/a", Some("")));
        assert_eq!(split_target("/a"), ("/a", None));
    }

    #[test]
    fn first_segment_of_paths() {
        assert_eq!(first_segment("/status"), "status");
        assert_eq!(
            first_segment("/advancedsearch/api/search/abc"),
            "advancedsearch"
        );
        assert_eq!(first_segment("/"), "");
        assert_eq!(first_segment(""), "");
    }

    #[test]
    fn decodes_percent_and_plus() {
        assert_eq!(
            decode_query("from=2020-04-15%2008%3A00%3A00"),
            b"from=2020-04-15 08:00:00"
        );
        assert_eq!(decode_query("a+b"), b"a b");
        assert_eq!(decode_query("%2B"), b"+");
    }

    #[test]
    fn malformed_escapes_stay_literal() {
        assert_eq!(decode_query("%"), b"%");
        assert_eq!(decode_query("%4"), b"%4");
        assert_eq!(decode_query("%zz1"), b"%zz1");
        assert_eq!(decode_query("100%"), b"100%");
        assert_eq!(decode_query("%41%"), b"A%");
    }

    #[test]
    fn parses_pairs_in_order_with_repeats() {
        let q = parse_query("saasfilter=a&saasfilter=b&x&&y=%20");
        assert_eq!(
            q,
            vec![
                ("saasfilter".into(), "a".into()),
                ("saasfilter".into(), "b".into()),
                ("x".into(), String::new()),
                ("y".into(), " ".into()),
            ]
        );
    }
}
