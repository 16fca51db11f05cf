//! Capture parsing (curl, raw HTTP, HAR, header lines) and the explanation of what
//! was parsed. Never panics, and the explanation never shows the private token
//! unless the capture itself carried it.
#![no_main]

use dt_protocol::Secret;
use libfuzzer_sys::fuzz_target;
use time::{Duration, OffsetDateTime};

const PRIVATE: &str = "PRIVTOKEN-fuzz-Zq9x";

fuzz_target!(|data: &[u8]| {
    let _ = dt_explain::Captured::from_http(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = dt_explain::detect_format(text);
    let captured = match dt_explain::parse_any(text) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = dt_explain::Captured::from_har(text, Some(1));
    let now = OffsetDateTime::from_unix_timestamp(1_714_564_800).unwrap();
    let secret = Secret::new(PRIVATE);
    let e = dt_explain::explain(&captured, Some(&secret), None, now, Duration::minutes(30));
    let out = [e.render_text(), serde_json::to_string(&e).unwrap()];
    if !text.contains(PRIVATE) {
        for s in &out {
            assert!(!s.contains(PRIVATE), "the private token leaked: {s}");
        }
    }
});
