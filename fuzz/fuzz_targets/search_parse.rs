//! The search language: never panics, and for every parsed query printing then
//! reparsing gives the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match dt_search::parse(text) {
        Ok(q) => {
            let printed = q.to_string();
            let again = dt_search::parse(&printed)
                .unwrap_or_else(|e| panic!("{printed:?} (from {text:?}) does not reparse: {e}"));
            assert_eq!(again, q, "{text:?} printed as {printed:?}");
        }
        Err(e) => {
            assert!(e.offset <= text.len());
            assert!(text.is_char_boundary(e.offset));
        }
    }
});
