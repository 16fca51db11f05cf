//! The live journal page at `/_mock/`: served as self-contained HTML, and only when the
//! admin API is on. (It is driven in a real browser by ci/browser-test.sh.)

use time::macros::datetime;

use crate::support::{raw, start, start_at};

#[tokio::test]
async fn the_page_is_served_at_mock_root_and_ui() {
    let m = start_at(datetime!(2024-05-01 12:00:00 UTC)).await;
    for path in ["/_mock/", "/_mock", "/_mock/ui"] {
        let r = raw(m.addr, "GET", path, &[], b"").await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        let page = r.text();
        assert!(page.contains("<title>dt-mock live journal</title>"));
        assert!(page.contains("/_mock/journal?since="));
        assert!(page.contains("Inject demo detection") && page.contains("Clear faults"));
    }
    // The page never reaches the journal itself: admin routes are not journaled.
    assert!(m.state.journal.is_empty());
}

#[test]
fn the_page_is_self_contained_and_inserts_text_only() {
    let page = dt_mock::ui::PAGE;
    for banned in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
    ] {
        assert!(!page.contains(banned), "the page uses {banned}");
    }
    for external in [
        "http://",
        "https://",
        "src=\"//",
        "<link rel=\"stylesheet\"",
    ] {
        assert!(!page.contains(external), "the page loads {external}");
    }
    assert!(page.contains("textContent"));
}

#[tokio::test]
async fn no_admin_means_no_page() {
    let tokens = dt_mock::TokenSet::demo();
    let mut config = dt_mock::MockConfig::new(
        tokens,
        dt_mock::MockClock::manual(datetime!(2024-05-01 12:00:00 UTC)),
    );
    config.settings.admin = false;
    let m = start(config).await;
    let r = raw(m.addr, "GET", "/_mock/", &[], b"").await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/login"));
}
