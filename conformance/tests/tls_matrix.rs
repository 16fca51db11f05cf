//! The TLS matrix (RELIABILITY.md, "Proxy and TLS"): dt-client's connectivity test
//! against an in-process mock serving HTTPS with generated certificates, verification
//! on (with and without a CA file) and off. Every refusal must be the D13 TLS error,
//! and its message must carry the hint for its cause.
//!
//! Certificates come from `dt_mock::tls::generate` (a CA and a leaf it signed, with
//! any names and validity), so nothing outside cargo is needed and nothing waits on
//! the wall clock: an expired certificate is simply one whose `not_after` is past.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dt_client::config::Mode;
use dt_client::health::{check, Health};
use dt_client::transport::{Transport, TransportSettings};
use dt_mock::tls::{self, Generated};
use dt_mock::{MockClock, MockConfig, TokenSet};
use dt_protocol::{DateFormat, Secret};
use time::OffsetDateTime;

const PUB: &str = "tls-public";
const PRIV: &str = "tls-private";

/// The D13 hints, as `dt_client::error` words them (one per TLS cause).
const HINT_UNTRUSTED: &str =
    "Trust the appliance's CA (ca_file) or turn off certificate verification (verify_ssl = false)";
const HINT_WRONG_HOST: &str = "The certificate is for another host name: connect with the name the certificate was issued for";
const HINT_VALIDITY: &str = "The certificate is outside its validity period: renew it, or check this machine's clock (or turn off verification, verify_ssl = false)";

/// A mock serving HTTPS with `g`'s certificate on 127.0.0.1, its CA in a file.
struct TlsMock {
    port: u16,
    ca_file: PathBuf,
    dir: PathBuf,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Drop for TlsMock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "dt-tls-matrix-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn serve(g: Generated) -> TlsMock {
    let dir = scratch_dir();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &g.ca_pem).unwrap();
    let tokens = TokenSet::parse_pairs([format!("{PUB}:{PRIV}").as_str()]).unwrap();
    let mut config = MockConfig::new(tokens, MockClock::system(time::Duration::ZERO));
    config.tls = Some(tls::server_config(g.chain, g.key).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(dt_mock::run(listener, config, async {
        let _ = rx.await;
    }));
    TlsMock {
        port,
        ca_file,
        dir,
        _stop: tx,
    }
}

/// A certificate for `names`, valid from `from` to `to` days around now.
fn cert(names: &[&str], from_days: i64, to_days: i64) -> Generated {
    let now = OffsetDateTime::now_utc();
    tls::generate(
        names,
        now + time::Duration::days(from_days),
        now + time::Duration::days(to_days),
    )
    .unwrap()
}

fn settings(port: u16, verify_ssl: bool, ca_file: Option<&Path>) -> TransportSettings {
    TransportSettings {
        base_url: format!("https://127.0.0.1:{port}"),
        api_key: PUB.into(),
        api_secret: Secret::new(PRIV),
        timeout: Duration::from_secs(10),
        verify_ssl,
        ca_file: ca_file.map(Path::to_path_buf),
        proxy: None,
        date_format: DateFormat::Compact,
    }
}

/// The connectivity test: `("healthy", message)` or `(kind, message)`.
async fn test(s: TransportSettings) -> (String, String) {
    let transport = Transport::new(s).unwrap();
    match check(&transport, Mode::Msi).await {
        h @ Health::Healthy { .. } => ("healthy".into(), h.to_string()),
        Health::Unhealthy { kind, error, .. } => (kind, error),
    }
}

/// Asserts the D13 TLS error with `hint`, and that no other cause's hint is given.
fn assert_tls_error(case: &str, (kind, msg): &(String, String), hint: &str) {
    eprintln!("{case}: {kind}: {msg}");
    assert_eq!(kind, "tls", "{case}: {msg}");
    assert!(msg.starts_with("TLS error: "), "{case}: {msg}");
    assert!(
        msg.contains(hint),
        "{case}: the hint {hint:?} is missing: {msg}"
    );
    for other in [HINT_UNTRUSTED, HINT_WRONG_HOST, HINT_VALIDITY] {
        if other != hint {
            assert!(!msg.contains(other), "{case}: wrong hint: {msg}");
        }
    }
    // Every TLS hint offers both ways out.
    assert!(msg.contains("verify_ssl = false"), "{case}: {msg}");
}

fn assert_healthy(case: &str, (kind, msg): &(String, String)) {
    eprintln!("{case}: {kind}: {msg}");
    assert_eq!(kind, "healthy", "{case}: {msg}");
    assert!(msg.contains("Darktrace 6.1."), "{case}: {msg}");
}

#[tokio::test]
async fn valid_certificate_with_its_ca_file_passes() {
    let m = serve(cert(&["localhost", "127.0.0.1"], -1, 365)).await;
    let r = test(settings(m.port, true, Some(&m.ca_file))).await;
    assert_healthy("valid cert + CA file", &r);
}

#[tokio::test]
async fn valid_certificate_by_dns_name_with_its_ca_file_passes() {
    // The name check on a DNS name, not only on the IP address SAN.
    let m = serve(cert(&["localhost"], -1, 365)).await;
    let mut s = settings(m.port, true, Some(&m.ca_file));
    s.base_url = format!("https://localhost:{}", m.port);
    assert_healthy("valid cert (localhost) + CA file", &test(s).await);
}

#[tokio::test]
async fn verification_off_accepts_an_untrusted_certificate() {
    let m = serve(cert(&["localhost", "127.0.0.1"], -1, 365)).await;
    assert_healthy(
        "insecure, unknown CA, no CA file",
        &test(settings(m.port, false, None)).await,
    );
}

#[tokio::test]
async fn verification_off_accepts_wrong_host_and_expired_certificates() {
    let m = serve(cert(&["darktrace.example.invalid"], -30, -1)).await;
    assert_healthy(
        "insecure, wrong host and expired",
        &test(settings(m.port, false, None)).await,
    );
}

#[tokio::test]
async fn wrong_host_certificate_with_its_ca_file_is_the_tls_error() {
    let m = serve(cert(&["darktrace.example.invalid"], -1, 365)).await;
    let r = test(settings(m.port, true, Some(&m.ca_file))).await;
    assert_tls_error("wrong host + CA file", &r, HINT_WRONG_HOST);
}

#[tokio::test]
async fn certificate_for_localhost_reached_by_ip_is_the_wrong_host_error() {
    // A name SAN does not cover the address the client connects to.
    let m = serve(cert(&["localhost"], -1, 365)).await;
    let r = test(settings(m.port, true, Some(&m.ca_file))).await;
    assert_tls_error("localhost-only cert at 127.0.0.1", &r, HINT_WRONG_HOST);
}

#[tokio::test]
async fn expired_certificate_with_its_ca_file_is_the_tls_error() {
    let m = serve(cert(&["localhost", "127.0.0.1"], -30, -1)).await;
    let r = test(settings(m.port, true, Some(&m.ca_file))).await;
    assert_tls_error("expired + CA file", &r, HINT_VALIDITY);
}

#[tokio::test]
async fn not_yet_valid_certificate_with_its_ca_file_is_the_tls_error() {
    let m = serve(cert(&["localhost", "127.0.0.1"], 1, 365)).await;
    let r = test(settings(m.port, true, Some(&m.ca_file))).await;
    assert_tls_error("not yet valid + CA file", &r, HINT_VALIDITY);
}

#[tokio::test]
async fn unknown_ca_without_the_ca_file_is_the_tls_error() {
    // The mock's own `--tls` setup: a private CA the client was not given.
    let m = serve(cert(&["localhost", "127.0.0.1"], -1, 365)).await;
    let r = test(settings(m.port, true, None)).await;
    assert_tls_error("unknown CA, no CA file", &r, HINT_UNTRUSTED);
}

#[tokio::test]
async fn another_ca_in_the_ca_file_is_the_tls_error() {
    let m = serve(cert(&["localhost", "127.0.0.1"], -1, 365)).await;
    let other = serve(cert(&["localhost", "127.0.0.1"], -1, 365)).await;
    let r = test(settings(m.port, true, Some(&other.ca_file))).await;
    assert_tls_error("CA file of another CA", &r, HINT_UNTRUSTED);
}
