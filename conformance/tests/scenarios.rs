//! Every `dt-mock --scenario` preset, seen from dt-client: the connectivity test
//! (`dt-client test`, [`dt_client::health::check`]) and a validation run
//! (`dt-client run`, [`dt_client::run::run_one`] on a virtual clock) report the D13
//! error the scenario names (`test_result` / `expected_error` in its TOML file).
//!
//! Each part gets a fresh mock, since counted faults (flaky) are used up by requests.
//! Nothing waits on the wall clock except the 300 ms client timeout of slow-appliance.

use std::time::Duration;

use dt_client::action::Action;
use dt_client::config::Config;
use dt_client::health::{check, Health};
use dt_client::run::{run_one, TimeMode};
use dt_client::scheduler::{shared, NullSink, Plan, RunOptions};
use dt_client::transport::{Transport, TransportSettings};
use dt_mock::scenario::Scenario;
use dt_mock::{MockClock, MockConfig, TokenSet, DEMO_PRIVATE};

/// A mock running a scenario.
struct ScenarioMock {
    port: u16,
    https: bool,
    ca_file: Option<std::path::PathBuf>,
    rotated: Option<String>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(s: &Scenario) -> ScenarioMock {
    let mut config = MockConfig::new(TokenSet::demo(), MockClock::system(time::Duration::ZERO));
    let applied = s.apply(&mut config).unwrap();
    let ca_file = applied.ca_pem.as_ref().map(|pem| {
        let dir = std::env::temp_dir().join(format!(
            "dt-scenario-{}-{}-{}",
            s.name,
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ca.pem");
        std::fs::write(&path, pem).unwrap();
        path
    });
    let https = config.tls.is_some();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(dt_mock::run(listener, config, async {
        let _ = rx.await;
    }));
    ScenarioMock {
        port,
        https,
        ca_file,
        rotated: applied.rotated.map(|(_, new)| new),
        _stop: tx,
    }
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The client's settings for a mock: the demo pair, a short schedule (two windows),
/// verification on with the mock's CA when it serves HTTPS.
fn client_config(m: &ScenarioMock, secret: &str, timeout: Duration) -> Config {
    let toml = format!(
        r#"
host = "127.0.0.1"
port = {port}
protocol = "{proto}"
api_key = "demo-public"
api_secret = "{secret}"
verify_ssl = {verify}
query_time = 1
query_interval = 60
"#,
        port = m.port,
        proto = if m.https { "https" } else { "http" },
        verify = m.https,
    );
    let mut c = Config::from_toml_str(&toml).unwrap();
    c.ca_file = m.ca_file.clone();
    c.timeout = timeout;
    c
}

fn timeout_for(s: &Scenario) -> Duration {
    if s.expected_error == "timeout" {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(10)
    }
}

/// What `dt-client test` reports: `healthy` or the error kind, with the message.
async fn test_part(s: &Scenario, secret: &str) -> (String, String) {
    let m = start(s).await;
    let secret = if secret.is_empty() {
        m.rotated.clone().unwrap()
    } else {
        secret.to_string()
    };
    let config = client_config(&m, &secret, timeout_for(s));
    let transport = Transport::new(TransportSettings::from_config(&config)).unwrap();
    match check(&transport, config.mode).await {
        h @ Health::Healthy { .. } => ("healthy".to_string(), h.to_string()),
        Health::Unhealthy { kind, error, .. } => (kind, error),
    }
}

/// The error kinds a `dt-client run` reports, in order, with their messages.
async fn run_part(s: &Scenario) -> Vec<(String, String)> {
    let m = start(s).await;
    let config = client_config(&m, DEMO_PRIVATE, timeout_for(s));
    let transport = Transport::new(TransportSettings::from_config(&config)).unwrap();
    let plan = Plan::new(config).unwrap();
    let action = Action::new(
        "scenario",
        time::OffsetDateTime::now_utc(),
        ["10.10.2.22"],
        ["10.10.4.10"],
        Vec::<String>::new(),
    )
    .unwrap();
    let report = run_one(
        &transport,
        &plan,
        &shared(action),
        TimeMode::Virtual,
        &NullSink,
        &RunOptions::default(),
    )
    .await;
    report
        .summary
        .failures
        .iter()
        .map(|f| (f.kind.to_string(), f.error.clone()))
        .collect()
}

async fn scenario_reproduces_its_symptom(name: &str) -> (String, Vec<(String, String)>) {
    let s = Scenario::find(name).unwrap();
    let (test_kind, test_msg) = test_part(&s, DEMO_PRIVATE).await;
    assert_eq!(
        test_kind,
        s.test_result(),
        "{name}: dt-client test said: {test_msg}"
    );
    let failures = run_part(&s).await;
    assert!(
        !failures.is_empty(),
        "{name}: dt-client run reported no failure"
    );
    assert_eq!(
        failures[0].0, s.expected_error,
        "{name}: dt-client run said: {failures:?}"
    );
    (test_msg, failures)
}

#[tokio::test]
async fn scenario_clock_ahead() {
    let (msg, failures) = scenario_reproduces_its_symptom("clock-ahead").await;
    assert!(msg.contains("Api date Error"), "{msg}");
    // Every window fails the same way: the credentials' error ends each window.
    assert_eq!(failures.len(), 2, "{failures:?}");
}

#[tokio::test]
async fn scenario_clock_behind() {
    scenario_reproduces_its_symptom("clock-behind").await;
}

#[tokio::test]
async fn scenario_local_time_as_utc() {
    scenario_reproduces_its_symptom("local-time-as-utc").await;
}

#[tokio::test]
async fn scenario_rotated_token() {
    let (msg, _) = scenario_reproduces_its_symptom("rotated-token").await;
    assert!(msg.contains("Api signature Error"), "{msg}");
    // With the new private token printed at start, the test is healthy again.
    let s = Scenario::find("rotated-token").unwrap();
    let (kind, msg) = test_part(&s, "").await;
    assert_eq!(kind, "healthy", "{msg}");
}

#[tokio::test]
async fn scenario_permission_denied() {
    let (_, failures) = scenario_reproduces_its_symptom("permission-denied").await;
    assert!(failures[0].1.contains("/403"), "{failures:?}");
    assert!(failures[0].1.contains("/modelbreaches"), "{failures:?}");
}

#[tokio::test]
async fn scenario_slow_appliance() {
    scenario_reproduces_its_symptom("slow-appliance").await;
}

#[tokio::test]
async fn scenario_flaky() {
    let (_, failures) = scenario_reproduces_its_symptom("flaky").await;
    // Three 503s use up the first query's three attempts; everything after succeeds.
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].1.contains("503"), "{failures:?}");
}

#[tokio::test]
async fn scenario_proxy_html_error() {
    let (msg, _) = scenario_reproduces_its_symptom("proxy-html-error").await;
    assert!(
        msg.contains("502") && msg.contains("<html>") && msg.contains("Bad Gateway"),
        "the proxy's page shows in the error: {msg}"
    );
}

#[tokio::test]
async fn scenario_truncated_json() {
    let (msg, _) = scenario_reproduces_its_symptom("truncated-json").await;
    assert!(msg.contains("truncated"), "{msg}");
}

#[tokio::test]
async fn scenario_connection_reset() {
    scenario_reproduces_its_symptom("connection-reset").await;
}

#[tokio::test]
async fn scenario_wrong_host_cert() {
    let (msg, _) = scenario_reproduces_its_symptom("wrong-host-cert").await;
    // The hint names the real cause: the certificate is for another host name.
    assert!(
        msg.contains("not valid for name")
            && msg.contains("another host name")
            && msg.contains("verify_ssl"),
        "{msg}"
    );
}

#[tokio::test]
async fn scenario_proxy_reorders_query() {
    let (_, failures) = scenario_reproduces_its_symptom("proxy-reorders-query").await;
    assert!(
        failures[0].1.contains("Api signature Error"),
        "{failures:?}"
    );
}

#[test]
fn every_builtin_scenario_has_a_test_here() {
    let this = include_str!("scenarios.rs");
    for name in dt_mock::scenario::names() {
        assert!(
            this.contains(&format!("scenario_reproduces_its_symptom(\"{name}\")")),
            "no dt-client test for scenario {name}"
        );
    }
}
