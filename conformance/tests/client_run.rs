//! dt-client runs against a fresh in-process mock, snapshotted: the requests the mock
//! journaled (advanced-search segments decoded) and the client's JSON-lines output and
//! summary. Each test starts its own mock; the inserted records' ids are shown by
//! position, so the snapshots do not depend on the size of the default world.

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

/// The JSON lines the client wrote, parsed back, with the inserted records' `_id`s
/// named by position (`<record 1>`, ...): the ids themselves depend on how many records
/// the mock's world held before.
fn output(run: &Run) -> Vec<Value> {
    run.events
        .iter()
        .map(|e| {
            let mut text = serde_json::to_string(e).expect("an event serializes");
            for (i, id) in run.inserted.iter().enumerate() {
                text = text.replace(&format!("\"{id}\""), &format!("\"<record {}>\"", i + 1));
            }
            serde_json::from_str(&text).expect("still JSON")
        })
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
