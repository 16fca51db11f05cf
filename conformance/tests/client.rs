//! dt-client's connectivity test against the mock: Healthy over HTTP and HTTPS, and
//! each failure reported as its D13 error.

use std::time::Duration;

use dt_client::config::Mode;
use dt_client::health::{check, Health};
use dt_client::transport::{Transport, TransportSettings};
use dt_mock::{tls, MockClock, MockConfig, TokenSet};
use dt_protocol::{DateFormat, Secret};

const PUB: &str = "client-public";
const PRIV: &str = "client-private";

async fn mock(adjust: impl FnOnce(&mut MockConfig)) -> (String, tokio::sync::oneshot::Sender<()>) {
    let tokens = TokenSet::parse_pairs([format!("{PUB}:{PRIV}").as_str()]).unwrap();
    let mut config = MockConfig::new(tokens, MockClock::system(time::Duration::ZERO));
    adjust(&mut config);
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(dt_mock::run(listener, config, async {
        let _ = rx.await;
    }));
    (format!("{scheme}://{addr}"), tx)
}

fn settings(base_url: &str, secret: &str) -> TransportSettings {
    TransportSettings {
        base_url: base_url.to_string(),
        api_key: PUB.into(),
        api_secret: Secret::new(secret),
        timeout: Duration::from_secs(5),
        verify_ssl: true,
        ca_file: None,
        proxy: None,
        date_format: DateFormat::Compact,
    }
}

async fn health(s: TransportSettings) -> Health {
    check(&Transport::new(s).unwrap(), Mode::Msi).await
}

fn kind(h: &Health) -> &str {
    match h {
        Health::Healthy { .. } => "healthy",
        Health::Unhealthy { kind, .. } => kind,
    }
}

#[tokio::test]
async fn healthy_over_http_with_the_version() {
    let (url, _stop) = mock(|_| {}).await;
    let h = health(settings(&url, PRIV)).await;
    assert!(
        matches!(&h, Health::Healthy { version: Some(v), .. } if v.starts_with("6.1.")),
        "{h}"
    );
}

#[tokio::test]
async fn wrong_secret_is_the_signature_error() {
    let (url, _stop) = mock(|_| {}).await;
    let h = health(settings(&url, "not-it")).await;
    assert_eq!(kind(&h), "signature", "{h}");
    assert!(h.to_string().contains("Api signature Error"), "{h}");
}

#[tokio::test]
async fn appliance_clock_ahead_is_the_date_error() {
    let (url, _stop) = mock(|c| c.clock = MockClock::system(time::Duration::minutes(31))).await;
    let h = health(settings(&url, PRIV)).await;
    assert_eq!(kind(&h), "date", "{h}");
}

#[tokio::test]
async fn https_with_the_ca_is_healthy_and_without_it_the_tls_error() {
    let g = tls::generate_localhost().unwrap();
    let dir = std::env::temp_dir().join(format!("dt-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &g.ca_pem).unwrap();
    let server = tls::server_config(g.chain, g.key).unwrap();
    let (url, _stop) = mock(|c| c.tls = Some(server)).await;

    let mut with_ca = settings(&url, PRIV);
    with_ca.ca_file = Some(ca);
    assert!(matches!(health(with_ca).await, Health::Healthy { .. }));

    let h = health(settings(&url, PRIV)).await;
    assert_eq!(kind(&h), "tls", "{h}");
    assert!(
        h.to_string().contains("ca_file") && h.to_string().contains("verify_ssl"),
        "the hint: {h}"
    );

    let mut insecure = settings(&url, PRIV);
    insecure.verify_ssl = false;
    assert!(matches!(health(insecure).await, Health::Healthy { .. }));
}

#[tokio::test]
async fn nothing_listening_is_the_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let h = health(settings(&url, PRIV)).await;
    assert_eq!(kind(&h), "connect", "{h}");
}
