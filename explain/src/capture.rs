//! Captured requests: what a customer sends to support, in whatever shape it came.
//!
//! A [`Captured`] is the request as the appliance would see it: the method, the
//! raw target (path and query exactly as written, never re-encoded), the headers
//! and the body bytes. It can be read from a curl command line
//! ([`Captured::from_curl`]), a raw HTTP request ([`Captured::from_http`]), a HAR
//! file ([`Captured::from_har`]), a block of `Name: value` lines plus a target
//! ([`Captured::from_header_lines`]), or built from the three headers and the target
//! ([`Captured::from_headers`]). [`parse_any`] picks the format by itself.
//!
//! Nothing here reads a file or the network: a curl `-d @file` is an error, not a
//! read. No input makes these functions panic.

use std::borrow::Cow;

use dt_protocol::{RequestParts, HEADER_DATE, HEADER_SIGNATURE, HEADER_TOKEN};

use crate::shell::{self, ShellError, Word};

/// A request as captured: everything the signature check reads, and the rest of
/// the headers for context.
///
/// `Debug` shows the headers as captured: they are the customer's own input, and
/// they hold only a public token unless the customer pasted a private one there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// The path and query exactly as sent (`/devices?ip=10.0.0.1`).
    pub target: String,
    /// Header names and values, in the order captured (names as written).
    pub headers: Vec<(String, String)>,
    /// The body, byte for byte.
    pub body: Vec<u8>,
}

/// The formats [`parse_any`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaptureFormat {
    /// A `curl ...` command line.
    Curl,
    /// A raw HTTP/1.x request (`GET /status HTTP/1.1`, headers, blank line, body).
    Http,
    /// A HAR (HTTP Archive) JSON file.
    Har,
    /// `Name: value` lines and a target line (a path, a URL, `GET /path`, or a
    /// browser's `Request URL:` / `:path:` line).
    HeaderLines,
}

/// Why a capture could not be read. Messages quote at most a short prefix of the
/// offending input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// Nothing but whitespace.
    #[error("the capture is empty")]
    Empty,
    /// No known format matched.
    #[error("not a curl command, raw HTTP request, HAR file or header block (starts {start:?})")]
    Unrecognized {
        /// The first characters of the input.
        start: String,
    },
    /// The curl line could not be split into words.
    #[error("curl command line: {0}")]
    Shell(#[from] ShellError),
    /// The first word is not `curl`.
    #[error("not a curl command (first word {first:?})")]
    NotCurl {
        /// The first word.
        first: String,
    },
    /// A curl option that takes a value had none.
    #[error("curl option {option} needs a value")]
    MissingValue {
        /// The option.
        option: String,
    },
    /// A curl option reads a file; this crate does no IO.
    #[error("curl option {option} reads from a file ({value:?}): paste the file's content with --data-raw instead")]
    FileReference {
        /// The option.
        option: String,
        /// Its value (the file reference).
        value: String,
    },
    /// A curl option whose request cannot be rebuilt (multipart forms).
    #[error("curl option {option} is not supported: the request body cannot be rebuilt from it")]
    Unsupported {
        /// The option.
        option: String,
    },
    /// No URL anywhere.
    #[error("no URL or target found")]
    NoTarget,
    /// The first line is not `METHOD target [HTTP/x.y]`.
    #[error("bad HTTP request line {line:?}")]
    RequestLine {
        /// The line (shortened).
        line: String,
    },
    /// A header line without a `:`.
    #[error("line {line_no}: not a `Name: value` header line ({line:?})")]
    HeaderLine {
        /// 1-based line number.
        line_no: usize,
        /// The line (shortened).
        line: String,
    },
    /// The HAR text is not JSON.
    #[error("HAR file is not valid JSON: {message}")]
    HarJson {
        /// The parser's message.
        message: String,
    },
    /// The HAR JSON lacks a field or has a field of the wrong type.
    #[error("HAR file: {what}")]
    HarShape {
        /// What is missing or wrong.
        what: String,
    },
    /// The requested HAR entry does not exist.
    #[error("HAR entry {index} does not exist (the file has {count})")]
    HarEntry {
        /// The entry asked for.
        index: usize,
        /// How many entries there are.
        count: usize,
    },
    /// Several HAR entries, none carrying `DTAPI-Token`.
    #[error("none of the {count} HAR entries carries a DTAPI-Token header: pick one by index")]
    HarNoSignedEntry {
        /// How many entries there are.
        count: usize,
    },
}

fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    let mut out: String = s.chars().take(MAX).collect();
    if s.chars().count() > MAX {
        out.push('…');
    }
    out
}

impl Captured {
    /// A capture from its parts. A full URL as `target` is reduced to its path and
    /// query, as written.
    pub fn from_parts(
        method: impl Into<String>,
        target: &str,
        headers: Vec<(String, String)>,
        body: impl Into<Vec<u8>>,
    ) -> Self {
        let (_, target) = split_url(target.trim());
        Captured {
            method: method.into(),
            target,
            headers,
            body: body.into(),
        }
    }

    /// A capture from the three `DTAPI-*` headers (each optional, as a customer may
    /// have left one out) and the target, for reports that give them separately.
    pub fn from_headers(
        method: &str,
        target: &str,
        token: Option<&str>,
        date: Option<&str>,
        signature: Option<&str>,
        body: impl Into<Vec<u8>>,
    ) -> Self {
        let headers = [
            (HEADER_TOKEN, token),
            (HEADER_DATE, date),
            (HEADER_SIGNATURE, signature),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n.to_string(), v.to_string())))
        .collect();
        Captured::from_parts(method, target, headers, body)
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Host` header (or HTTP/2 `:authority`), if captured.
    pub fn host(&self) -> Option<&str> {
        self.header("host").or_else(|| self.header(":authority"))
    }

    /// The parts the verifier reads, borrowed from this capture.
    pub fn parts(&self) -> RequestParts<'_> {
        RequestParts::from_headers(
            &self.method,
            &self.target,
            self.headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
            &self.body,
        )
    }

    /// Reads a curl command line.
    pub fn from_curl(text: &str) -> Result<Self, CaptureError> {
        parse_curl(text)
    }

    /// Reads a raw HTTP/1.x request. CRLF and bare LF line endings are both accepted.
    pub fn from_http(bytes: &[u8]) -> Result<Self, CaptureError> {
        parse_http(bytes)
    }

    /// Reads entry `index` of a HAR file, or by default the first entry carrying a
    /// `DTAPI-Token` header (the only entry, if there is just one).
    pub fn from_har(text: &str, index: Option<usize>) -> Result<Self, CaptureError> {
        parse_har(text, index)
    }

    /// Reads `Name: value` lines plus a target line (see [`CaptureFormat::HeaderLines`]).
    pub fn from_header_lines(text: &str) -> Result<Self, CaptureError> {
        parse_header_lines(text)
    }
}

/// Guesses the format of a capture, without parsing it fully.
pub fn detect_format(text: &str) -> Option<CaptureFormat> {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') {
        return Some(CaptureFormat::Har);
    }
    let first_line = t.lines().next().unwrap_or("");
    let first_word = first_line
        .trim_start_matches("$ ")
        .split_whitespace()
        .next()
        .unwrap_or("");
    if is_curl_word(first_word.trim_matches(|c| c == '\'' || c == '"')) {
        return Some(CaptureFormat::Curl);
    }
    if looks_like_request_line(first_line) {
        return Some(CaptureFormat::Http);
    }
    if t.lines().any(|l| l.contains(':')) {
        return Some(CaptureFormat::HeaderLines);
    }
    None
}

/// Reads a capture in any supported format (see [`detect_format`]).
pub fn parse_any(text: &str) -> Result<Captured, CaptureError> {
    let t = text.trim_start_matches('\u{feff}');
    if t.trim().is_empty() {
        return Err(CaptureError::Empty);
    }
    match detect_format(t) {
        Some(CaptureFormat::Har) => parse_har(t, None),
        Some(CaptureFormat::Curl) => parse_curl(t),
        Some(CaptureFormat::Http) => parse_http(t.trim_start().as_bytes()),
        Some(CaptureFormat::HeaderLines) => parse_header_lines(t),
        None => Err(CaptureError::Unrecognized {
            start: shorten(t.trim_start()),
        }),
    }
}

fn is_curl_word(w: &str) -> bool {
    let base = w.rsplit(['/', '\\']).next().unwrap_or(w);
    base.eq_ignore_ascii_case("curl") || base.eq_ignore_ascii_case("curl.exe")
}

fn is_method(w: &str) -> bool {
    !w.is_empty() && w.len() <= 16 && w.bytes().all(|b| b.is_ascii_uppercase() || b == b'-')
}

fn looks_like_request_line(line: &str) -> bool {
    let mut it = line.split_whitespace();
    let (Some(m), Some(t)) = (it.next(), it.next()) else {
        return false;
    };
    is_method(m) && (t.starts_with('/') || t.starts_with("http://") || t.starts_with("https://"))
}

/// Splits a URL into its host (if any) and its target (path + query, fragment
/// dropped), keeping every byte as written. A bare path is its own target.
pub(crate) fn split_url(url: &str) -> (Option<String>, String) {
    let no_frag = match url.find('#') {
        Some(i) => &url[..i],
        None => url,
    };
    if no_frag.starts_with('/') {
        return (None, no_frag.to_string());
    }
    let rest = match no_frag.find("://") {
        Some(i)
            if no_frag[..i]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.') =>
        {
            &no_frag[i + 3..]
        }
        _ => no_frag,
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let target = &rest[end..];
    let target = if target.starts_with('?') {
        format!("/{target}")
    } else if target.is_empty() {
        "/".to_string()
    } else {
        target.to_string()
    };
    let host = (!host.is_empty()).then(|| host.to_string());
    (host, target)
}

// ----------------------------------------------------------------------------- curl

/// Long curl options that take a value (and are otherwise ignored unless handled).
const CURL_LONG_WITH_VALUE: &[&str] = &[
    "abstract-unix-socket",
    "alt-svc",
    "aws-sigv4",
    "cacert",
    "capath",
    "cert",
    "cert-type",
    "ciphers",
    "config",
    "connect-timeout",
    "connect-to",
    "cookie",
    "cookie-jar",
    "create-file-mode",
    "curves",
    "data",
    "data-ascii",
    "data-binary",
    "data-raw",
    "data-urlencode",
    "delegation",
    "dns-interface",
    "dns-ipv4-addr",
    "dns-ipv6-addr",
    "dns-servers",
    "doh-url",
    "engine",
    "etag-compare",
    "etag-save",
    "expect100-timeout",
    "form",
    "form-string",
    "ftp-account",
    "header",
    "hostpubmd5",
    "hostpubsha256",
    "hsts",
    "interface",
    "ipfs-gateway",
    "json",
    "keepalive-time",
    "key",
    "key-type",
    "krb",
    "libcurl",
    "limit-rate",
    "local-port",
    "login-options",
    "mail-auth",
    "mail-from",
    "mail-rcpt",
    "max-filesize",
    "max-redirs",
    "max-time",
    "netrc-file",
    "noproxy",
    "oauth2-bearer",
    "output",
    "output-dir",
    "parallel-max",
    "pass",
    "pinnedpubkey",
    "preproxy",
    "proto",
    "proto-default",
    "proto-redir",
    "proxy",
    "proxy-cacert",
    "proxy-capath",
    "proxy-cert",
    "proxy-cert-type",
    "proxy-ciphers",
    "proxy-header",
    "proxy-key",
    "proxy-key-type",
    "proxy-pass",
    "proxy-user",
    "proxy1.0",
    "pubkey",
    "quote",
    "random-file",
    "range",
    "rate",
    "referer",
    "request",
    "request-target",
    "resolve",
    "retry",
    "retry-delay",
    "retry-max-time",
    "sasl-authzid",
    "service-name",
    "socks4",
    "socks4a",
    "socks5",
    "socks5-gssapi-service",
    "socks5-hostname",
    "speed-limit",
    "speed-time",
    "stderr",
    "telnet-option",
    "tftp-blksize",
    "time-cond",
    "tls-max",
    "tls13-ciphers",
    "trace",
    "trace-ascii",
    "trace-config",
    "unix-socket",
    "upload-file",
    "url",
    "url-query",
    "user",
    "user-agent",
    "variable",
    "write-out",
];

/// Short curl options that take a value.
const CURL_SHORT_WITH_VALUE: &[u8] = b"AbcCdDeEFHKmoPQrtTuUwxXyYz";

#[derive(Default)]
struct CurlState {
    method: Option<String>,
    url: Option<String>,
    headers: Vec<(String, String)>,
    data: Vec<Vec<u8>>,
    json: bool,
    get: bool,
    head: bool,
    url_queries: Vec<String>,
}

fn parse_curl(text: &str) -> Result<Captured, CaptureError> {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    let t = t.strip_prefix("$ ").unwrap_or(t);
    let words = shell::split(t)?;
    let mut it = words.into_iter().peekable();
    let first = it.next().ok_or(CaptureError::Empty)?;
    if !is_curl_word(&first.text) {
        return Err(CaptureError::NotCurl {
            first: shorten(&first.text),
        });
    }
    let mut st = CurlState::default();
    let mut rest: Vec<Word> = Vec::new();
    for w in it {
        if !w.quoted && is_shell_operator(&w.text) {
            break;
        }
        rest.push(w);
    }
    let mut i = 0;
    let mut options_done = false;
    while i < rest.len() {
        let w = rest[i].text.clone();
        i += 1;
        if options_done || !w.starts_with('-') || w == "-" {
            if st.url.is_none() {
                st.url = Some(w);
            }
            continue;
        }
        if w == "--" {
            options_done = true;
            continue;
        }
        if let Some(long) = w.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) if CURL_LONG_WITH_VALUE.contains(&n) => {
                    (n.to_string(), Some(v.to_string()))
                }
                _ => (long.to_string(), None),
            };
            if CURL_LONG_WITH_VALUE.contains(&name.as_str()) {
                let value = match inline {
                    Some(v) => v,
                    None => {
                        let v = rest.get(i).map(|w| w.text.clone()).ok_or_else(|| {
                            CaptureError::MissingValue {
                                option: format!("--{name}"),
                            }
                        })?;
                        i += 1;
                        v
                    }
                };
                curl_long(&mut st, &name, value)?;
            } else {
                curl_flag(&mut st, &name);
            }
            continue;
        }
        // Short options, possibly bundled (`-sSk`, `-XPOST`, `-H'x: y'`).
        let bytes = w.as_bytes();
        let mut j = 1;
        while j < bytes.len() {
            let c = bytes[j];
            j += 1;
            if CURL_SHORT_WITH_VALUE.contains(&c) {
                let value = if j < bytes.len() {
                    String::from_utf8_lossy(&bytes[j..]).into_owned()
                } else {
                    let v = rest.get(i).map(|w| w.text.clone()).ok_or_else(|| {
                        CaptureError::MissingValue {
                            option: format!("-{}", c as char),
                        }
                    })?;
                    i += 1;
                    v
                };
                curl_short(&mut st, c, value)?;
                break;
            }
            match c {
                b'G' => st.get = true,
                b'I' => st.head = true,
                _ => {}
            }
        }
    }
    finish_curl(st)
}

fn is_shell_operator(w: &str) -> bool {
    matches!(w, "|" | "||" | "&&" | ";" | "&" | "|&")
        || w.starts_with('>')
        || w.starts_with('<')
        || w.starts_with("2>")
        || w.starts_with("1>")
}

fn curl_flag(st: &mut CurlState, name: &str) {
    match name {
        "get" => st.get = true,
        "head" => st.head = true,
        _ => {}
    }
}

fn curl_short(st: &mut CurlState, c: u8, value: String) -> Result<(), CaptureError> {
    let long = match c {
        b'd' => "data",
        b'H' => "header",
        b'X' => "request",
        b'A' => "user-agent",
        b'e' => "referer",
        b'F' => "form",
        b'T' => "upload-file",
        _ => return Ok(()),
    };
    curl_long(st, long, value)
}

fn curl_long(st: &mut CurlState, name: &str, value: String) -> Result<(), CaptureError> {
    let file_ref = |value: &str| CaptureError::FileReference {
        option: format!("--{name}"),
        value: shorten(value),
    };
    match name {
        "url" if st.url.is_none() => st.url = Some(value),
        "request" => st.method = Some(value),
        "header" => {
            if value.starts_with('@') {
                return Err(file_ref(&value));
            }
            if let Some((n, v)) = value.split_once(':') {
                let v = v.trim();
                // `-H 'Name:'` removes a header: curl sends nothing.
                if !v.is_empty() {
                    st.headers.push((n.trim().to_string(), v.to_string()));
                }
            } else if let Some(n) = value.strip_suffix(';') {
                // `-H 'Name;'` sends the header with an empty value.
                st.headers.push((n.trim().to_string(), String::new()));
            }
        }
        "user-agent" => st.headers.push(("User-Agent".into(), value)),
        "referer" => st.headers.push(("Referer".into(), value)),
        "data" | "data-ascii" | "data-binary" => {
            if value.starts_with('@') {
                return Err(file_ref(&value));
            }
            st.data.push(value.into_bytes());
        }
        "data-raw" => st.data.push(value.into_bytes()),
        "json" => {
            if value.starts_with('@') {
                return Err(file_ref(&value));
            }
            st.json = true;
            st.data.push(value.into_bytes());
        }
        "data-urlencode" => st
            .data
            .push(data_urlencode(&value).ok_or_else(|| file_ref(&value))?),
        "url-query" => st.url_queries.push(match value.strip_prefix('+') {
            Some(raw) => raw.to_string(),
            None => {
                String::from_utf8_lossy(&data_urlencode(&value).ok_or_else(|| file_ref(&value))?)
                    .into_owned()
            }
        }),
        "form" | "form-string" => {
            return Err(CaptureError::Unsupported {
                option: format!("--{name}"),
            })
        }
        "upload-file" => return Err(file_ref(&value)),
        _ => {}
    }
    Ok(())
}

/// curl's `--data-urlencode` forms: `content`, `=content`, `name=content`;
/// `@file` and `name@file` read files (None).
fn data_urlencode(value: &str) -> Option<Vec<u8>> {
    if let Some((name, content)) = value.split_once('=') {
        let mut out = name.as_bytes().to_vec();
        if !name.is_empty() {
            out.push(b'=');
        }
        out.extend_from_slice(crate::encode::strict(content.as_bytes(), true).as_bytes());
        return Some(out);
    }
    if value.contains('@') {
        return None;
    }
    Some(crate::encode::strict(value.as_bytes(), true).into_bytes())
}

fn finish_curl(st: CurlState) -> Result<Captured, CaptureError> {
    let url = st.url.ok_or(CaptureError::NoTarget)?;
    let (host, mut target) = split_url(&url);
    let mut body: Vec<u8> = if st.json {
        st.data.concat()
    } else {
        st.data.join(&b'&')
    };
    let mut extra_query: Vec<String> = Vec::new();
    if st.get && !body.is_empty() {
        extra_query.push(String::from_utf8_lossy(&body).into_owned());
        body.clear();
    }
    extra_query.extend(st.url_queries);
    for q in extra_query {
        target.push(if target.contains('?') { '&' } else { '?' });
        target.push_str(&q);
    }
    let method = match st.method {
        Some(m) => m,
        None if st.head => "HEAD".into(),
        None if !body.is_empty() => "POST".into(),
        None => "GET".into(),
    };
    let mut headers = st.headers;
    let has = |hs: &[(String, String)], n: &str| hs.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    if let Some(h) = host {
        if !has(&headers, "host") {
            headers.insert(0, ("Host".into(), h));
        }
    }
    if st.json {
        if !has(&headers, "content-type") {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        if !has(&headers, "accept") {
            headers.push(("Accept".into(), "application/json".into()));
        }
    } else if !body.is_empty() && !has(&headers, "content-type") {
        headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    Ok(Captured {
        method,
        target,
        headers,
        body,
    })
}

// ----------------------------------------------------------------------------- raw HTTP

fn parse_http(bytes: &[u8]) -> Result<Captured, CaptureError> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let bytes = bytes[start..]
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or(&bytes[start..]);
    if bytes.is_empty() {
        return Err(CaptureError::Empty);
    }
    let (head, body) = split_head(bytes);
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or("");
    let mut words = request_line.split_whitespace();
    let (Some(method), Some(raw_target)) = (words.next(), words.next()) else {
        return Err(CaptureError::RequestLine {
            line: shorten(request_line),
        });
    };
    let version_ok = words.next().is_none_or(|v| v.starts_with("HTTP/"));
    if !is_method(method) || !version_ok || words.next().is_some() {
        return Err(CaptureError::RequestLine {
            line: shorten(request_line),
        });
    }
    let (_, target) = split_url(raw_target);
    let headers = header_block(lines, 2)?;
    let mut body = body.to_vec();
    let content_length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    match content_length {
        Some(n) if n <= body.len() => body.truncate(n),
        // A pasted request often ends with a stray newline: without a length, a
        // body of only whitespace is no body.
        None if body.iter().all(u8::is_ascii_whitespace) => body.clear(),
        _ => {}
    }
    Ok(Captured {
        method: method.to_string(),
        target,
        headers,
        body,
    })
}

/// Splits at the first blank line (CRLF CRLF or LF LF, whichever comes first).
fn split_head(bytes: &[u8]) -> (&[u8], &[u8]) {
    let crlf = find(bytes, b"\r\n\r\n").map(|i| (i, 4));
    let lf = find(bytes, b"\n\n").map(|i| (i, 2));
    let mixed = find(bytes, b"\n\r\n").map(|i| (i, 3));
    match [crlf, lf, mixed]
        .into_iter()
        .flatten()
        .min_by_key(|(i, _)| *i)
    {
        Some((i, n)) => (&bytes[..i], &bytes[i + n..]),
        None => (bytes, &[]),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads `Name: value` lines (with obsolete line folding).
fn header_block<'a>(
    lines: impl Iterator<Item = &'a str>,
    first_line_no: usize,
) -> Result<Vec<(String, String)>, CaptureError> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for (k, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
        }
        match split_header(line) {
            Some(h) => headers.push(h),
            None => {
                return Err(CaptureError::HeaderLine {
                    line_no: first_line_no + k,
                    line: shorten(line),
                })
            }
        }
    }
    Ok(headers)
}

/// `Name: value`, also HTTP/2 pseudo-headers `:path: /x`.
fn split_header(line: &str) -> Option<(String, String)> {
    let (pseudo, rest) = match line.strip_prefix(':') {
        Some(r) => (true, r),
        None => (false, line),
    };
    let (n, v) = rest.split_once(':')?;
    let n = n.trim();
    if n.is_empty() || (!pseudo && n.contains(char::is_whitespace) && !is_browser_label(n)) {
        return None;
    }
    let name = if pseudo {
        format!(":{n}")
    } else {
        n.to_string()
    };
    Some((name, v.trim().to_string()))
}

fn is_browser_label(n: &str) -> bool {
    [
        "request url",
        "request method",
        "status code",
        "remote address",
        "referrer policy",
    ]
    .iter()
    .any(|l| n.eq_ignore_ascii_case(l))
}

// ----------------------------------------------------------------------------- header lines

fn parse_header_lines(text: &str) -> Result<Captured, CaptureError> {
    let mut method: Option<String> = None;
    let mut target: Option<String> = None;
    let mut headers = Vec::new();
    for (k, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        // A target line: `/path`, `https://...`, or `GET /path [HTTP/1.1]`.
        if line.starts_with('/') || line.starts_with("http://") || line.starts_with("https://") {
            target.get_or_insert_with(|| split_url(line).1);
            continue;
        }
        if looks_like_request_line(line) {
            let mut w = line.split_whitespace();
            let m = w.next().unwrap_or("GET");
            let t = w.next().unwrap_or("/");
            method.get_or_insert_with(|| m.to_string());
            target.get_or_insert_with(|| split_url(t).1);
            continue;
        }
        let Some((name, value)) = split_header(line) else {
            return Err(CaptureError::HeaderLine {
                line_no: k + 1,
                line: shorten(line),
            });
        };
        let lname = name.to_ascii_lowercase();
        match lname.as_str() {
            "request url" | "url" | "target" | "path" | ":path" => {
                target.get_or_insert_with(|| split_url(&value).1);
            }
            "request method" | "method" | ":method" => {
                method.get_or_insert(value);
            }
            "status code" | "remote address" | "referrer policy" | ":scheme" => {}
            ":authority" => headers.push(("Host".to_string(), value)),
            _ => headers.push((name, value)),
        }
    }
    let target = target.ok_or(CaptureError::NoTarget)?;
    Ok(Captured {
        method: method.unwrap_or_else(|| "GET".into()),
        target,
        headers,
        body: Vec::new(),
    })
}

// ----------------------------------------------------------------------------- HAR

fn parse_har(text: &str, index: Option<usize>) -> Result<Captured, CaptureError> {
    use serde_json::Value;
    let shape = |what: &str| CaptureError::HarShape {
        what: what.to_string(),
    };
    let v: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        CaptureError::HarJson {
            message: e.to_string(),
        }
    })?;
    let entries = v
        .get("log")
        .and_then(|l| l.get("entries"))
        .and_then(Value::as_array)
        .ok_or_else(|| shape("no log.entries array"))?;
    let headers_of = |e: &Value| -> Result<Vec<(String, String)>, CaptureError> {
        let Some(hs) = e.pointer("/request/headers") else {
            return Ok(Vec::new());
        };
        let hs = hs
            .as_array()
            .ok_or_else(|| shape("request.headers is not an array"))?;
        hs.iter()
            .map(|h| {
                let name = h.get("name").and_then(Value::as_str);
                let value = h.get("value").and_then(Value::as_str);
                match (name, value) {
                    (Some(n), Some(v)) => Ok((n.to_string(), v.to_string())),
                    _ => Err(shape("a request header lacks a string name or value")),
                }
            })
            .collect()
    };
    let entry = match index {
        Some(i) => entries.get(i).ok_or(CaptureError::HarEntry {
            index: i,
            count: entries.len(),
        })?,
        None if entries.len() == 1 => &entries[0],
        None => entries
            .iter()
            .find(|e| {
                headers_of(e)
                    .map(|hs| hs.iter().any(|(n, _)| n.eq_ignore_ascii_case(HEADER_TOKEN)))
                    .unwrap_or(false)
            })
            .ok_or(CaptureError::HarNoSignedEntry {
                count: entries.len(),
            })?,
    };
    let req = entry
        .get("request")
        .ok_or_else(|| shape("the entry has no request"))?;
    let method = req
        .get("method")
        .and_then(Value::as_str)
        .ok_or_else(|| shape("request.method is missing"))?;
    let url = req
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| shape("request.url is missing"))?;
    let mut headers = headers_of(entry)?;
    // HTTP/2 pseudo-headers are not headers; keep `:authority` as the host.
    headers.retain(|(n, _)| !n.starts_with(':') || n == ":authority");
    let body = match req.get("postData") {
        None | Some(Value::Null) => Vec::new(),
        Some(pd) => match pd.get("text") {
            Some(Value::String(s)) => s.clone().into_bytes(),
            Some(_) => return Err(shape("request.postData.text is not a string")),
            None => har_params(pd),
        },
    };
    let (_, target) = split_url(url);
    Ok(Captured {
        method: method.to_string(),
        target,
        headers,
        body,
    })
}

/// A form body rebuilt from `postData.params` when `text` is absent.
fn har_params(pd: &serde_json::Value) -> Vec<u8> {
    let Some(params) = pd.get("params").and_then(|p| p.as_array()) else {
        return Vec::new();
    };
    let pairs: Vec<String> = params
        .iter()
        .map(|p| {
            let s = |k: &str| -> Cow<'_, str> {
                p.get(k)
                    .and_then(|v| v.as_str())
                    .map(Cow::Borrowed)
                    .unwrap_or_default()
            };
            format!("{}={}", s("name"), s("value"))
        })
        .collect();
    pairs.join("&").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_with_everything() {
        let c = parse_any(
            "curl -sSk -X POST 'https://dt.example:8443/modelbreaches/1/comments?x=a%20b' \\\n  -H 'DTAPI-Token: PUB' \\\n  --header \"DTAPI-Date: 2020-04-15 13:34:00\" \\\n  -H'DTAPI-Signature: abc' --data-raw '{\"message\":\"hi\"}' | jq .",
        )
        .unwrap();
        assert_eq!(c.method, "POST");
        assert_eq!(c.target, "/modelbreaches/1/comments?x=a%20b");
        assert_eq!(c.header("dtapi-token"), Some("PUB"));
        assert_eq!(c.header("DTAPI-Date"), Some("2020-04-15 13:34:00"));
        assert_eq!(c.header("DTAPI-Signature"), Some("abc"));
        assert_eq!(c.host(), Some("dt.example:8443"));
        assert_eq!(c.body, br#"{"message":"hi"}"#);
    }

    #[test]
    fn curl_data_implies_post_and_get_moves_it_to_the_query() {
        let c = parse_any("curl https://h/devices -d a=1 -d b=2").unwrap();
        assert_eq!(
            (c.method.as_str(), c.body.as_slice()),
            ("POST", &b"a=1&b=2"[..])
        );
        let c = parse_any("curl -G https://h/devices?x=0 --data a=1").unwrap();
        assert_eq!(c.method, "GET");
        assert_eq!(c.target, "/devices?x=0&a=1");
        assert!(c.body.is_empty());
        let c =
            parse_any("curl --request=DELETE --url=https://h/x --data-urlencode 'q=a b'").unwrap();
        assert_eq!(c.method, "DELETE");
        assert_eq!(c.body, b"q=a%20b");
    }

    #[test]
    fn curl_file_data_is_an_error_not_a_read() {
        assert!(matches!(
            parse_any("curl https://h/x -d @body.json"),
            Err(CaptureError::FileReference { .. })
        ));
    }

    #[test]
    fn url_shapes() {
        assert_eq!(
            split_url("https://u:p@h:1/a?b#c"),
            (Some("h:1".into()), "/a?b".into())
        );
        assert_eq!(split_url("https://h"), (Some("h".into()), "/".into()));
        assert_eq!(
            split_url("https://h?x=1"),
            (Some("h".into()), "/?x=1".into())
        );
        assert_eq!(split_url("h/status"), (Some("h".into()), "/status".into()));
        assert_eq!(split_url("/a/b%2Fc"), (None, "/a/b%2Fc".into()));
    }

    #[test]
    fn raw_http_crlf_and_lf() {
        let c = parse_any("GET /status?x=1 HTTP/1.1\r\nHost: h\r\nDTAPI-Token: P\r\n\r\n").unwrap();
        assert_eq!(
            (c.method.as_str(), c.target.as_str()),
            ("GET", "/status?x=1")
        );
        assert_eq!(c.header("dtapi-token"), Some("P"));
        let c = parse_any("POST /tags HTTP/1.1\nContent-Length: 2\n\n{}\n").unwrap();
        assert_eq!(c.body, b"{}");
        let c = parse_any("POST http://h/tags HTTP/1.1\n\nname=x").unwrap();
        assert_eq!(
            (c.target.as_str(), c.body.as_slice()),
            ("/tags", &b"name=x"[..])
        );
    }

    #[test]
    fn header_lines_with_a_browser_url() {
        let c = parse_any(
            "Request URL: https://h/devices?ip=1\nRequest Method: GET\nStatus Code: 400\ndtapi-token: P\ndtapi-date: D\n",
        )
        .unwrap();
        assert_eq!(c.target, "/devices?ip=1");
        assert_eq!(c.header("DTAPI-Token"), Some("P"));
        let c = parse_any("DTAPI-Token: P\nDTAPI-Signature: S\nDELETE /intelfeed?x=1").unwrap();
        assert_eq!(
            (c.method.as_str(), c.target.as_str()),
            ("DELETE", "/intelfeed?x=1")
        );
    }

    #[test]
    fn har_picks_the_signed_entry() {
        let har = r#"{"log":{"entries":[
            {"request":{"method":"GET","url":"https://h/app.js","headers":[]}},
            {"request":{"method":"POST","url":"https://h/tags?x=%20","headers":[{"name":"DTAPI-Token","value":"P"}],"postData":{"mimeType":"application/json","text":"{}"}}}
        ]}}"#;
        let c = parse_any(har).unwrap();
        assert_eq!(
            (c.method.as_str(), c.target.as_str()),
            ("POST", "/tags?x=%20")
        );
        assert_eq!(c.body, b"{}");
        assert_eq!(Captured::from_har(har, Some(0)).unwrap().target, "/app.js");
        assert!(matches!(
            Captured::from_har(har, Some(5)),
            Err(CaptureError::HarEntry { index: 5, count: 2 })
        ));
    }

    #[test]
    fn unrecognised_input_is_an_error() {
        assert_eq!(parse_any("  \n"), Err(CaptureError::Empty));
        assert!(matches!(
            parse_any("hello world"),
            Err(CaptureError::Unrecognized { .. })
        ));
        assert!(matches!(
            parse_any("{not json"),
            Err(CaptureError::HarJson { .. })
        ));
    }
}
