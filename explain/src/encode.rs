//! Percent-encoding as the different client libraries do it, to rebuild what a
//! client may have signed. (dt-protocol never re-encodes; only the diagnosis does.)

fn push_escape(out: &mut String, b: u8, upper: bool) {
    const UP: &[u8; 16] = b"0123456789ABCDEF";
    const LO: &[u8; 16] = b"0123456789abcdef";
    let t = if upper { UP } else { LO };
    out.push('%');
    out.push(t[usize::from(b >> 4)] as char);
    out.push(t[usize::from(b & 15)] as char);
}

fn encode_with(
    bytes: &[u8],
    keep: impl Fn(u8) -> bool,
    plus_for_space: bool,
    upper: bool,
) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || keep(b) {
            out.push(b as char);
        } else if plus_for_space && b == b' ' {
            out.push('+');
        } else {
            push_escape(&mut out, b, upper);
        }
    }
    out
}

/// RFC 3986 strict: everything but `A-Z a-z 0-9 - . _ ~` escaped (curl's
/// `--data-urlencode`, Python's `quote(safe='')`).
pub(crate) fn strict(bytes: &[u8], upper: bool) -> String {
    encode_with(
        bytes,
        |b| matches!(b, b'-' | b'.' | b'_' | b'~'),
        false,
        upper,
    )
}

/// Form encoding: a space becomes `+`, the rest as [`strict`] (Python's
/// `quote_plus`, Go's `url.QueryEscape`, `requests`' params).
pub(crate) fn form(bytes: &[u8]) -> String {
    encode_with(
        bytes,
        |b| matches!(b, b'-' | b'.' | b'_' | b'~'),
        true,
        true,
    )
}

/// JavaScript's `encodeURIComponent`.
pub(crate) fn uri_component(bytes: &[u8]) -> String {
    encode_with(
        bytes,
        |b| {
            matches!(
                b,
                b'-' | b'.' | b'_' | b'~' | b'!' | b'\'' | b'(' | b')' | b'*'
            )
        },
        false,
        true,
    )
}

/// Percent-decodes without reading `+` as a space (a path decoder, or a query
/// decoder that forgot the form rule). Malformed escapes stay literal.
pub(crate) fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Flips the case of the hex digits in every `%XX` escape (`%3a` ↔ `%3A`).
pub(crate) fn flip_escape_case(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() && hex(b[i + 1]).is_some() && hex(b[i + 2]).is_some() {
            out.push(b'%');
            for &d in &b[i + 1..i + 3] {
                out.push(if d.is_ascii_uppercase() {
                    d.to_ascii_lowercase()
                } else {
                    d.to_ascii_uppercase()
                });
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Re-encodes each `name=value` pair of a query with `enc`, after decoding it
/// form-style. Pairs keep their order; a pair without `=` stays without one.
pub(crate) fn reencode_pairs(query: &str, enc: impl Fn(&[u8]) -> String) -> String {
    query
        .split('&')
        .map(|seg| match seg.split_once('=') {
            Some((k, v)) => format!(
                "{}={}",
                enc(&dt_protocol::target::decode_query(k)),
                enc(&dt_protocol::target::decode_query(v))
            ),
            None => enc(&dt_protocol::target::decode_query(seg)),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_styles() {
        assert_eq!(strict(b"a b:/=~", true), "a%20b%3A%2F%3D~");
        assert_eq!(strict(b":", false), "%3a");
        assert_eq!(form(b"a b:"), "a+b%3A");
        assert_eq!(uri_component(b"a b(!)"), "a%20b(!)");
    }

    #[test]
    fn decoding_keeps_plus_and_malformed_escapes() {
        assert_eq!(percent_decode("a+b%3D%3d%zz%4"), b"a+b==%zz%4");
        assert_eq!(percent_decode("%41"), b"A");
        assert_eq!(percent_decode("%"), b"%");
    }

    #[test]
    fn flips_escape_case() {
        assert_eq!(flip_escape_case("a%3ab%2F%zz"), "a%3Ab%2f%zz");
    }

    #[test]
    fn reencodes_pairs_in_order() {
        assert_eq!(
            reencode_pairs("b=a b&a=x:y&flag", form),
            "b=a+b&a=x%3Ay&flag"
        );
    }
}
