//! The conformance cases inside `cargo test`, against an in-process mock. Modules:
//! - here: the whole server registry against the mock;
//! - `client`: dt-client against the mock (connectivity test outcomes).

mod client;

use dt_conformance::runner::{render, RunOptions};
use dt_conformance::{cases, run, Target};

#[tokio::test]
async fn every_server_case_passes_against_the_mock() {
    let target = Target::in_process().await.unwrap();
    let report = run(&cases::all(), &target, &RunOptions::default(), |_| {}).await;
    let failures: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.outcome != "passed")
        .map(|r| render(r, &target.base_url))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(report.passed() >= 13, "{}", report.summary());
}

#[tokio::test]
async fn a_mock_that_sorts_the_query_is_caught() {
    let target = Target::in_process_with(|c| c.settings.sort_query_before_verify = true)
        .await
        .unwrap();
    let report = run(&cases::all(), &target, &RunOptions::default(), |_| {}).await;
    let failed: Vec<&str> = report
        .results
        .iter()
        .filter(|r| r.outcome == "failed")
        .map(|r| r.id)
        .collect();
    assert!(failed.contains(&"auth.query.resorted"), "{failed:?}");
}
