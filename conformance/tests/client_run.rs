//! dt-client runs against a fresh in-process mock, snapshotted: the requests the mock
//! journaled (advanced-search segments decoded) and the client's JSON-lines output and
//! summary. Each test starts its own mock, so record ids and times are reproducible.

use dt_client::flows::decode_advanced_search_target;
use dt_conformance::cases::client::{fieldmap_run, guide_example_run, Run};
use dt_conformance::Target;
use serde_json::{json, Value};

/// The journal as a reviewable list: method, path, decoded query JSON or parameters,
/// and the mock's verdict.
fn requests(run: &Run) -> Vec<Value> {
    run.journal
        .iter()
        .map(|e| {
            let target = match decode_advanced_search_target(&e.target) {
                Some(q) => json!({"advancedsearch": q}),
                None => Value::String(e.target.clone()),
            };
            json!({"method": e.method, "target": target, "status": e.status, "verdict": e.verdict})
        })
        .collect()
}

/// The JSON lines the client wrote, parsed back.
fn output(run: &Run) -> Vec<Value> {
    run.events
        .iter()
        .map(|e| serde_json::to_value(e).expect("an event serializes"))
        .collect()
}

#[tokio::test]
async fn d6_guide_example_requests_output_and_summary() {
    let t = Target::in_process().await.unwrap();
    let run = guide_example_run(&t).await.unwrap();
    insta::assert_json_snapshot!("d6_guide_example_requests", requests(&run));
    insta::assert_json_snapshot!("d6_guide_example_output", output(&run));
    insta::assert_json_snapshot!("d6_guide_example_summary", run.report.summary);
}

#[tokio::test]
async fn d12_field_map_default_and_user_order() {
    let t = Target::in_process().await.unwrap();
    let default = fieldmap_run(&t, 13, false).await.unwrap();
    insta::assert_json_snapshot!("d12_field_map_default_output", output(&default));
    let user = fieldmap_run(&t, 14, true).await.unwrap();
    insta::assert_json_snapshot!("d12_field_map_user_output", output(&user));
}
