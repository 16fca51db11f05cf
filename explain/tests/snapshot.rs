//! What a support engineer reads, pinned.

use crate::common::*;
use dt_explain::parse_any;

#[test]
fn rendered_sorted_query_explanation() {
    let wire = "/modelbreaches?starttime=1586851200000&endtime=1586937600000";
    let signed = "/modelbreaches?endtime=1586937600000&starttime=1586851200000";
    let ex = explain_text(&Req::get(wire, sig(signed)).curl());
    insta::assert_snapshot!(ex.render_text());
}

#[test]
fn rendered_local_time_explanation_as_json() {
    let local = "2020-04-15T15:34:00";
    let r = Req::get(
        "/status",
        dt_protocol::sign(&secret(), "/status", PUB, local),
    )
    .date(local);
    let ex = dt_explain::explain(
        &parse_any(&r.http()).unwrap(),
        Some(&secret()),
        None,
        NOW,
        skew(),
    );
    insta::assert_json_snapshot!(ex);
}
