//! The query canonicalizer: splitting a target, decoding and parsing its query,
//! and the signed targets the verifier tries. Never panics; the forms obey their
//! documented relations.
#![no_main]

use dt_protocol::target::{
    decode_component, decode_query, first_segment, parse_query, split_target,
};
use dt_protocol::verify::signed_targets;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let target = String::from_utf8_lossy(rest);
    let (path, query) = split_target(&target);
    assert!(!path.contains('?'));
    let _ = first_segment(path);
    if let Some(q) = query {
        let decoded = decode_query(q);
        // Decoding never grows the text.
        assert!(decoded.len() <= q.len());
        let _ = decode_component(q);
        let pairs = parse_query(q);
        assert!(pairs.len() <= q.split('&').count());
    }
    let method = match selector % 4 {
        0 => "GET",
        1 => "POST",
        2 => "DELETE",
        _ => "PUT",
    };
    let body: &[u8] = if selector & 0x10 != 0 {
        b"{\"hash\":\"e30\"}"
    } else {
        b""
    };
    let targets = signed_targets(method, &target, body);
    assert!(!targets.is_empty() && targets.len() <= 2);
    for (_, t) in &targets {
        assert!(t.starts_with(path.as_bytes()));
    }
});
