//! The conformance cases inside `cargo test`, against an in-process mock. Modules:
//! - here: the whole server registry against the mock;
//! - `client`: dt-client against the mock (connectivity test outcomes).
//! - `client_run`: dt-client runs against a fresh mock, requests and output snapshotted.
//! - `shapes`: one answer per data-endpoint shape from a pinned mock, snapshotted; the
//!   appliance cases against an appliance with no data.

mod client;
mod client_run;
mod fault_matrix;
mod scenarios;
mod shapes;
mod tls_matrix;

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

#[test]
fn the_checked_in_manifest_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cases.md");
    let want = dt_conformance::report::manifest(&cases::all());
    if std::env::var_os("DT_UPDATE_MANIFEST").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "conformance/cases.md is stale: run `cargo run -p dt-conformance -- manifest > conformance/cases.md` and review the diff"
    );
}

#[tokio::test]
async fn junit_report_has_the_required_elements() {
    let target = Target::in_process().await.unwrap();
    let report = run(&cases::all()[..3], &target, &RunOptions::default(), |_| {}).await;
    let xml = dt_conformance::report::junit(&report);
    assert!(xml.starts_with("<?xml"));
    assert!(
        xml.contains("<testsuites") && xml.contains("<testsuite ") && xml.contains("<testcase ")
    );
    assert_eq!(xml.matches("<testcase ").count(), 3);
}
