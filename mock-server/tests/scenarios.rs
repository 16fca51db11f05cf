//! Scenarios (`--scenario NAME`): every built-in one loads, applies, and produces its
//! customer symptom at the HTTP level. (What dt-client reports for each is tested in
//! conformance/tests/scenarios.rs, since dt-mock does not depend on dt-client.)

use std::net::SocketAddr;
use std::time::Duration;

use dt_mock::scenario::{self, Applied, Scenario};
use dt_mock::{MockClock, MockConfig, TokenSet};
use dt_protocol::{sign, DateFormat, Secret};
use time::macros::datetime;
use time::OffsetDateTime;

use crate::support::{raw, signed_get, start, RawResponse, Running, PRIV, PUB};

const NOW: OffsetDateTime = datetime!(2024-05-01 12:00:00 UTC);

fn config() -> MockConfig {
    let tokens = TokenSet::parse_pairs([format!("{PUB}:{PRIV}").as_str()]).unwrap();
    MockConfig::new(tokens, MockClock::manual(NOW))
}

async fn start_scenario(name: &str) -> (Running, Applied) {
    let s = Scenario::find(name).unwrap();
    let mut c = config();
    let applied = s.apply(&mut c).unwrap();
    (start(c).await, applied)
}

/// A GET signed with any pair at `at`.
async fn signed_get_as(
    addr: SocketAddr,
    target: &str,
    at: OffsetDateTime,
    public: &str,
    private: &str,
) -> RawResponse {
    let date = DateFormat::Compact.format(at);
    let sig = sign(&Secret::new(private), target, public, &date);
    raw(
        addr,
        "GET",
        target,
        &[
            ("DTAPI-Token", public),
            ("DTAPI-Date", &date),
            ("DTAPI-Signature", &sig),
        ],
        b"",
    )
    .await
}

fn scenarios_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios")
}

#[test]
fn every_file_in_fixtures_scenarios_is_built_in_and_in_the_readme() {
    let mut files: Vec<String> = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    files.sort();
    let mut builtin: Vec<String> = scenario::BUILTIN
        .iter()
        .map(|(f, _)| f.to_string())
        .collect();
    builtin.sort();
    assert_eq!(
        files, builtin,
        "embed every scenario file in scenario::BUILTIN"
    );
    let readme = std::fs::read_to_string(scenarios_dir().join("README.md")).unwrap();
    for s in scenario::builtin() {
        let line = readme
            .lines()
            .find(|l| l.starts_with(&format!("- `{}`", s.name)))
            .unwrap_or_else(|| panic!("no README line for {}", s.name));
        assert!(
            line.contains(&format!("`{}`", s.expected_error)),
            "the README line for {} must name its error {}: {line}",
            s.name,
            s.expected_error
        );
    }
}

#[test]
fn a_scenario_file_path_loads_too() {
    let path = scenarios_dir().join("flaky.toml");
    let s = Scenario::find(path.to_str().unwrap()).unwrap();
    assert_eq!(s.name, "flaky");
    assert!(matches!(
        Scenario::find("no-such-scenario"),
        Err(scenario::ScenarioError::Unknown { .. })
    ));
    let err = Scenario::find("no-such-scenario").unwrap_err().to_string();
    assert!(err.contains("clock-ahead"), "{err}");
}

#[tokio::test]
async fn clock_ahead_and_behind_answer_the_date_error() {
    for (name, offset) in [("clock-ahead", -40), ("clock-behind", 40)] {
        let (m, applied) = start_scenario(name).await;
        assert!(!applied.notes.is_empty());
        assert_eq!(m.state.clock.now(), NOW + time::Duration::minutes(offset));
        let r = signed_get(m.addr, "/status", NOW).await;
        assert_eq!(r.status, 400, "{name}");
        assert_eq!(r.text(), "{\n  \"status\": \"API DATE ERROR\"\n}", "{name}");
    }
}

#[tokio::test]
async fn local_time_as_utc_is_an_appliance_two_hours_behind() {
    // A Director at UTC+2 signing its local wall time as UTC sends NOW+2h.
    let plain = start(config()).await;
    let r = signed_get(plain.addr, "/status", NOW + time::Duration::hours(2)).await;
    assert_eq!(r.text(), "{\n  \"status\": \"API DATE ERROR\"\n}");
    // The scenario reproduces it with a correct client: the appliance is 2 h behind.
    let (m, _) = start_scenario("local-time-as-utc").await;
    let r = signed_get(m.addr, "/status", NOW).await;
    assert_eq!(r.text(), "{\n  \"status\": \"API DATE ERROR\"\n}");
    // The same request as the broken Director's, relative to the appliance, is accepted
    // by the plain mock shifted back: the two are the same skew.
    let r = signed_get(m.addr, "/status", NOW - time::Duration::hours(2)).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn rotated_token_rejects_the_old_pair_and_accepts_the_new_one() {
    let (m, applied) = start_scenario("rotated-token").await;
    let (public, new_private) = applied.rotated.clone().unwrap();
    assert_eq!(public, PUB);
    assert_ne!(new_private, PRIV);
    assert!(applied.notes.iter().any(|n| n.contains(&new_private)));
    let old = signed_get(m.addr, "/status", NOW).await;
    assert_eq!(old.status, 400);
    assert_eq!(old.text(), "{\n  \"status\": \"API SIGNATURE ERROR\"\n}");
    let new = signed_get_as(m.addr, "/status", NOW, PUB, &new_private).await;
    assert_eq!(new.status, 200, "{}", new.text());
}

#[tokio::test]
async fn permission_denied_redirects_modelbreaches_to_403_only() {
    let (m, _) = start_scenario("permission-denied").await;
    let r = signed_get(m.addr, "/modelbreaches?minscore=0.5", NOW).await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/403"));
    assert_eq!(r.text(), "Found. Redirecting to /403");
    assert_eq!(signed_get(m.addr, "/status", NOW).await.status, 200);
}

#[tokio::test]
async fn slow_appliance_does_not_answer_within_a_short_client_timeout() {
    let (m, _) = start_scenario("slow-appliance").await;
    // The one wall-clock wait allowed: a 300 ms client timeout.
    let r = tokio::time::timeout(
        Duration::from_millis(300),
        signed_get(m.addr, "/status", NOW),
    )
    .await;
    assert!(r.is_err(), "answered within 300 ms: {r:?}");
    let faults = m.state.faults.list();
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].fired, 1);
}

#[tokio::test]
async fn flaky_fails_three_times_then_passes() {
    let (m, _) = start_scenario("flaky").await;
    for _ in 0..3 {
        assert_eq!(signed_get(m.addr, "/status", NOW).await.status, 503);
    }
    assert_eq!(signed_get(m.addr, "/status", NOW).await.status, 200);
}

#[tokio::test]
async fn proxy_html_error_is_nginx_502_page() {
    let (m, _) = start_scenario("proxy-html-error").await;
    let r = signed_get(m.addr, "/modelbreaches", NOW).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert!(r.text().contains("<center>nginx</center>"), "{}", r.text());
}

#[tokio::test]
async fn truncated_json_is_cut_every_time() {
    let (m, _) = start_scenario("truncated-json").await;
    for _ in 0..2 {
        let r = signed_get(m.addr, "/status", NOW).await;
        assert_eq!(r.status, 200);
        assert!(serde_json::from_slice::<serde_json::Value>(&r.body)
            .unwrap_err()
            .is_eof());
    }
}

#[tokio::test]
async fn connection_reset_breaks_every_answer() {
    let (m, _) = start_scenario("connection-reset").await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let date = DateFormat::Compact.format(NOW);
    let sig = sign(&Secret::new(PRIV), "/status", PUB, &date);
    let resp = client
        .get(format!("http://{}/status", m.addr))
        .header("DTAPI-Token", PUB)
        .header("DTAPI-Date", &date)
        .header("DTAPI-Signature", &sig)
        .send()
        .await;
    let broken = match resp {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(broken, "a complete answer arrived");
}

#[tokio::test]
async fn wrong_host_cert_fails_hostname_verification_with_the_ca_trusted() {
    let (m, applied) = start_scenario("wrong-host-cert").await;
    let ca = reqwest::Certificate::from_pem(applied.ca_pem.unwrap().as_bytes()).unwrap();
    let client = |resolve: bool| {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .no_proxy()
            .add_root_certificate(ca.clone());
        if resolve {
            b = b.resolve(scenario::WRONG_HOST_NAME, m.addr);
        }
        b.build().unwrap()
    };
    let err = client(false)
        .get(format!("https://{}/_mock/health", m.addr))
        .send()
        .await
        .unwrap_err();
    let chain = format!("{err:?}");
    assert!(
        chain.contains("NotValidForName") || chain.to_lowercase().contains("certificate"),
        "{chain}"
    );
    // The certificate is fine for the name it was made for: only the host is wrong.
    let ok = client(true)
        .get(format!(
            "https://{}:{}/_mock/health",
            scenario::WRONG_HOST_NAME,
            m.addr.port()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn proxy_reorders_query_breaks_signed_queries_only() {
    let (m, _) = start_scenario("proxy-reorders-query").await;
    assert_eq!(signed_get(m.addr, "/status", NOW).await.status, 200);
    let r = signed_get(m.addr, "/modelbreaches?starttime=1&endtime=2", NOW).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        "{\n  \"modelbreaches\": \"API SIGNATURE ERROR\"\n}"
    );
}

#[tokio::test]
async fn health_shows_the_scenario_and_reset_restores_it() {
    let (m, _) = start_scenario("flaky").await;
    let h = raw(m.addr, "GET", "/_mock/health", &[], b"").await.json();
    assert_eq!(h["scenario"]["name"], "flaky");
    assert_eq!(h["scenario"]["expected_error"], "server");
    assert_eq!(h["faults"], 1);
    raw(m.addr, "DELETE", "/_mock/faults", &[], b"").await;
    assert_eq!(signed_get(m.addr, "/status", NOW).await.status, 200);
    raw(m.addr, "POST", "/_mock/reset", &[], b"").await;
    assert_eq!(signed_get(m.addr, "/status", NOW).await.status, 503);

    let (m, _) = start_scenario("clock-ahead").await;
    raw(m.addr, "POST", "/_mock/clock", &[], br#"{"offset":"0s"}"#).await;
    assert_eq!(signed_get(m.addr, "/status", NOW).await.status, 200);
    raw(m.addr, "POST", "/_mock/reset", &[], b"").await;
    assert_eq!(signed_get(m.addr, "/status", NOW).await.status, 400);
    let plain = start(config()).await;
    let h = raw(plain.addr, "GET", "/_mock/health", &[], b"")
        .await
        .json();
    assert!(h["scenario"].is_null());
}
