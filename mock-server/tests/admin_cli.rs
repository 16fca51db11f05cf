//! `dt-mock fault|clock|reset|inject|journal`: argument parsing into admin API calls,
//! and the calls against a running mock.

use dt_mock::admin_cli::{http_client, journal_line, parse, send, AdminRequest};
use serde_json::json;
use time::macros::datetime;

use crate::support::{signed_get, start_at};

fn request(line: &str) -> AdminRequest {
    let cmd = parse(line.split_whitespace()).unwrap_or_else(|e| panic!("{line}: {e}"));
    cmd.request().unwrap_or_else(|e| panic!("{line}: {e}"))
}

#[test]
fn fault_commands_become_fault_calls() {
    let r = request(
        "dt-mock fault add --url http://m:1 --route /status --kind status --status 503 --times 2",
    );
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/_mock/faults");
    assert_eq!(
        r.body.unwrap(),
        json!({"route": "/status", "kind": "status", "status": 503, "times": 2})
    );
    let r = request("dt-mock fault add --kind long-tail --median-ms 200 --p99-ms 5000");
    assert_eq!(
        r.body.unwrap(),
        json!({"route": "/", "kind": "long-tail", "median_ms": 200, "p99_ms": 5000})
    );
    let r = request("dt-mock fault add --kind html");
    assert_eq!(
        r.body.unwrap(),
        json!({"route": "/", "kind": "html", "status": 502})
    );
    for (kind, want) in [
        ("truncate", json!({"route": "/", "kind": "truncate"})),
        ("reset", json!({"route": "/", "kind": "reset"})),
    ] {
        assert_eq!(
            request(&format!("dt-mock fault add --kind {kind}")).body,
            Some(want)
        );
    }
    assert_eq!(
        request("dt-mock fault add --kind delay --ms 250").body,
        Some(json!({"route": "/", "kind": "delay", "ms": 250}))
    );
    assert_eq!(request("dt-mock fault list").method, "GET");
    let clear = request("dt-mock fault clear --url http://m:1");
    assert_eq!(
        (clear.method, clear.path.as_str()),
        ("DELETE", "/_mock/faults")
    );
    let rm = request("dt-mock fault remove --id 7");
    assert_eq!((rm.method, rm.path.as_str()), ("DELETE", "/_mock/faults/7"));
}

#[test]
fn missing_or_bad_values_are_refused() {
    let cmd = parse(["dt-mock", "fault", "add", "--kind", "status"]).unwrap();
    assert!(cmd.request().unwrap_err().contains("--status"));
    let cmd = parse(["dt-mock", "fault", "add", "--kind", "delay"]).unwrap();
    assert!(cmd.request().unwrap_err().contains("--ms"));
    assert!(parse(["dt-mock", "fault", "add", "--kind", "meteor"]).is_err());
    assert!(parse(["dt-mock", "inject", "--src", "10.0.0.1"]).is_err());
    let cmd = parse(["dt-mock", "clock", "--offset", "soon"]).unwrap();
    assert!(cmd.request().is_err());
}

#[test]
fn clock_reset_inject_and_journal_calls() {
    let r = request("dt-mock clock --offset -2h");
    assert_eq!(r.method, "POST");
    assert_eq!(r.body.unwrap(), json!({"offset": "-2h"}));
    assert_eq!(request("dt-mock clock").method, "GET");
    let r = request("dt-mock reset --url http://m:1");
    assert_eq!((r.method, r.path.as_str()), ("POST", "/_mock/reset"));
    let r = request(
        "dt-mock inject --src 10.10.2.23 --dest 10.10.1.10 --host lt-dave-01 --kind model-breach",
    );
    assert_eq!(r.path, "/_mock/inject");
    assert_eq!(
        r.body.unwrap(),
        json!({"src": "10.10.2.23", "dest": "10.10.1.10", "host": "lt-dave-01", "kind": "model-breach"})
    );
    let r = request("dt-mock inject --src 10.10.2.23 --dest 10.10.1.10");
    assert_eq!(r.body.unwrap()["kind"], "firewall-deny");
    let r = request("dt-mock journal --since 41 --limit 5");
    assert_eq!(r.path, "/_mock/journal?since=41&limit=5");
    let cmd = parse([
        "dt-mock",
        "journal",
        "--url",
        "https://m:8443",
        "--insecure",
    ])
    .unwrap();
    assert_eq!(cmd.mock().url, "https://m:8443");
    assert!(cmd.mock().insecure);
}

#[test]
fn journal_lines_escape_control_characters() {
    let line = journal_line(&json!({
        "id": 3, "time": "t", "method": "GET", "target": "/x\u{1b}[31m", "status": 400,
        "verdict": "rejected", "reason": "bad\nline",
        "diagnosis": {"mistake": {"id": "wrong-secret"}},
    }));
    assert!(!line.contains('\u{1b}') && !line.contains('\n'), "{line}");
    assert!(line.contains("wrong-secret"), "{line}");
}

#[tokio::test]
async fn the_calls_work_against_a_running_mock() {
    let now = datetime!(2024-05-01 12:00:00 UTC);
    let m = start_at(now).await;
    let url = format!("http://{}", m.addr);
    let http = http_client(false).unwrap();
    let call = |line: &str| {
        let mut args: Vec<String> = line.split_whitespace().map(String::from).collect();
        args.extend(["--url".to_string(), url.clone()]);
        parse(args).unwrap().request().unwrap()
    };
    let added = send(
        &http,
        &url,
        &call("dt-mock fault add --route /status --kind status --status 503 --times 1"),
    )
    .await
    .unwrap();
    assert!(added["id"].as_u64().is_some());
    let list = send(&http, &url, &call("dt-mock fault list"))
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(signed_get(m.addr, "/status", now).await.status, 503);
    send(&http, &url, &call("dt-mock clock --offset 31m"))
        .await
        .unwrap();
    assert_eq!(signed_get(m.addr, "/status", now).await.status, 400);
    let journal = send(&http, &url, &call("dt-mock journal --since 1"))
        .await
        .unwrap();
    assert_eq!(journal.as_array().unwrap().len(), 1);
    assert_eq!(journal[0]["verdict"], "rejected");
    send(&http, &url, &call("dt-mock reset")).await.unwrap();
    assert_eq!(signed_get(m.addr, "/status", now).await.status, 200);
    let injected = send(
        &http,
        &url,
        &call("dt-mock inject --src 10.10.2.23 --dest 10.10.1.10"),
    )
    .await
    .unwrap();
    assert_eq!(injected["kind"], "firewall-deny");
    let err = send(
        &http,
        &url,
        &call("dt-mock inject --src nonsense --dest 10.10.1.10"),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("400") && err.contains("not an IP address"),
        "{err}"
    );
}

#[tokio::test]
async fn a_mock_without_admin_api_is_reported_as_such() {
    let now = datetime!(2024-05-01 12:00:00 UTC);
    let tokens = dt_mock::TokenSet::demo();
    let mut config = dt_mock::MockConfig::new(tokens, dt_mock::MockClock::manual(now));
    config.settings.admin = false;
    let m = crate::support::start(config).await;
    let url = format!("http://{}", m.addr);
    let err = send(
        &http_client(false).unwrap(),
        &url,
        &parse(["dt-mock", "fault", "list"])
            .unwrap()
            .request()
            .unwrap(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("--no-admin"), "{err}");
}
