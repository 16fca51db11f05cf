//! The private token appears in no log line (at any level), no journal entry and
//! no `Debug` output.

use std::io::Write;
use std::sync::{Arc, Mutex};

use dt_mock::{MockClock, MockConfig, TokenSet};
use dt_protocol::{sign, DateFormat, Secret};
use time::macros::datetime;

use crate::support::{raw, start};

/// Log lines captured from the current thread's subscriber.
#[derive(Clone, Default)]
pub struct Lines(Arc<Mutex<Vec<u8>>>);

impl Lines {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every log event of the test process at TRACE level. One global
/// subscriber serves every test (a thread-local one races with callsite caching), so
/// tests look for lines that carry their own markers.
pub fn capture_logs() -> Lines {
    static LINES: std::sync::OnceLock<Lines> = std::sync::OnceLock::new();
    LINES
        .get_or_init(|| {
            let lines = Lines::default();
            let writer = lines.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber");
            lines
        })
        .clone()
}

const SECRET: &str = "s3cr3t-Private-Zq9x";
const PUBLIC: &str = "team-public";

#[tokio::test]
async fn private_token_is_never_logged_journaled_or_debug_printed() {
    let lines = capture_logs();
    let now = datetime!(2024-05-01 12:00:00 UTC);
    let tokens = TokenSet::parse_pairs([format!("{PUBLIC}:{SECRET}").as_str()]).unwrap();
    let config = MockConfig::new(tokens.clone(), MockClock::manual(now));
    let m = start(config).await;
    let date = DateFormat::Compact.format(now);
    let good = sign(&Secret::new(SECRET), "/status", PUBLIC, &date);
    let bad = sign(&Secret::new("other"), "/status", PUBLIC, &date);
    let late = DateFormat::Compact.format(now + time::Duration::hours(2));
    for (sig, d) in [(&good, &date), (&bad, &date), (&good, &late)] {
        let _ = raw(
            m.addr,
            "GET",
            "/status",
            &[
                ("DTAPI-Token", PUBLIC),
                ("DTAPI-Date", d),
                ("DTAPI-Signature", sig),
            ],
            b"",
        )
        .await;
    }
    let _ = raw(m.addr, "GET", "/status", &[("DTAPI-Token", PUBLIC)], b"").await;
    let journal = raw(m.addr, "GET", "/_mock/journal", &[], b"").await;

    assert!(
        lines.text().contains("7200s ahead"),
        "logging was captured: {}",
        lines.text()
    );
    assert!(
        !lines.text().contains(SECRET),
        "a log line holds the secret"
    );
    assert!(journal.text().contains(PUBLIC), "the journal was read");
    assert!(
        !journal.text().contains(SECRET),
        "the journal holds the secret"
    );
    for shown in [
        format!("{tokens:?}"),
        format!("{:?}", m.state.tokens),
        format!("{:?}", m.state.settings),
    ] {
        assert!(!shown.contains(SECRET), "Debug shows the secret: {shown}");
    }
    let token_err = TokenSet::parse_pairs([SECRET]).unwrap_err();
    assert!(!token_err.to_string().contains(SECRET));
}

#[tokio::test]
async fn swapped_tokens_never_show_the_private_token() {
    let lines = capture_logs();
    let now = datetime!(2024-05-01 12:00:00 UTC);
    let tokens = TokenSet::parse_pairs([format!("{PUBLIC}:{SECRET}").as_str()]).unwrap();
    let m = start(MockConfig::new(tokens, MockClock::manual(now))).await;
    let date = DateFormat::Compact.format(now);
    // The customer put the private token in DTAPI-Token and keyed the HMAC with the public one.
    let sig = sign(&Secret::new(PUBLIC), "/status?swapped-test", SECRET, &date);
    let r = raw(
        m.addr,
        "GET",
        "/status?swapped-test",
        &[
            ("DTAPI-Token", SECRET),
            ("DTAPI-Date", &date),
            ("DTAPI-Signature", &sig),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 400);
    let journal = raw(m.addr, "GET", "/_mock/journal", &[], b"").await.text();
    assert!(journal.contains("swapped-tokens"), "{journal}");
    assert!(
        !journal.contains(SECRET),
        "the journal holds the secret: {journal}"
    );
    assert!(lines.text().contains("swapped-tokens"));
    assert!(
        !lines.text().contains(SECRET),
        "a log line holds the secret"
    );
}
