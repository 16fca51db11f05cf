//! Advanced search as the mock serves it: the GET segment's percent and base64
//! decoding, the POST body, and running the decoded JSON against a small world.
//! Never panics; every failure is an `ApiError`; and the answer the mock writes
//! directly (hand-written envelope, re-indented sources, cached hits) is byte for
//! byte the pretty-printed `Value` answer, or the same kind of error.
#![no_main]

use std::sync::OnceLock;

use dt_world::api::search::{
    advanced_search_json, advanced_search_json_pretty, advanced_search_post, decode_search_segment,
};
use dt_world::{generate, GenParams, World};
use libfuzzer_sys::fuzz_target;

const ANCHOR: i64 = 1_700_000_000_000;

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        generate(&GenParams {
            devices: 10,
            records: 500,
            seed: 1,
            anchor_ms: ANCHOR,
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let w = world();
    match selector % 3 {
        // A GET segment.
        0 => {
            let segment = String::from_utf8_lossy(rest);
            if let Ok(json) = decode_search_segment(&segment) {
                let _ = advanced_search_json(w, &json, ANCHOR);
            }
        }
        // The decoded query JSON itself.
        1 => {
            let value = advanced_search_json(w, rest, ANCHOR);
            let written = advanced_search_json_pretty(w, rest, ANCHOR);
            match (&value, &written) {
                (Ok(v), Ok(bytes)) => assert!(
                    serde_json::to_vec_pretty(v).unwrap() == *bytes,
                    "the written answer differs from the Value answer"
                ),
                (Err(a), Err(b)) => {
                    assert_eq!(std::mem::discriminant(a), std::mem::discriminant(b))
                }
                _ => panic!("the two paths disagree: {value:?} / {written:?}"),
            }
        }
        // A POST body.
        _ => {
            let _ = advanced_search_post(w, rest, ANCHOR);
        }
    }
});
