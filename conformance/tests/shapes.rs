//! Snapshots of one answer per data-endpoint shape, from an in-process mock whose clock
//! and world are pinned (2024-05-01 12:00:00 UTC, the default world's stored anchor), so
//! every value is reproducible; `took` is redacted (a cost figure, not part of the
//! contract). Also: what the appliance cases do against an appliance with no data.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use dt_conformance::probe::{Probe, Signing};
use dt_conformance::runner::{run, RunOptions};
use dt_conformance::{cases, Tag, Target};
use dt_mock::{MockClock, MockConfig, TokenSet};
use serde_json::{json, Value};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// The default world's stored anchor (`fixtures/worlds/default/world.json`).
const ANCHOR: OffsetDateTime = datetime!(2024-05-01 12:00 UTC);

/// An in-process mock whose clock stands at `now` and whose default world ends at
/// `world_end`.
async fn pinned_at(now: OffsetDateTime, world_end: OffsetDateTime) -> Target {
    Target::in_process_with(|c| {
        // MockConfig::new anchors the default world at its clock's now.
        let tokens = TokenSet::parse_pairs(["pin:pin"]).unwrap();
        c.world = MockConfig::new(tokens, MockClock::manual(world_end)).world;
        c.clock = MockClock::manual(now);
    })
    .await
    .unwrap()
}

async fn pinned() -> Target {
    pinned_at(ANCHOR, ANCHOR).await
}

/// What a snapshot records of an answer: status, content type, and the body (as JSON
/// when it is JSON, else the text).
async fn answer(t: &Target, request: &str, p: Probe) -> Value {
    let ex = t.send(&p).await.unwrap();
    json!({
        "request": request,
        "status": ex.status,
        "content_type": ex.content_type,
        "location": ex.location,
        "body": ex.json().unwrap_or_else(|| Value::String(ex.body.clone())),
    })
}

fn search_probe(q: &Value) -> Probe {
    Probe::get(format!(
        "/advancedsearch/api/search/{}",
        STANDARD.encode(q.to_string())
    ))
}

fn dns_last_hour() -> Value {
    json!({
        "search": "@type:dns",
        "fields": [],
        "offset": 0,
        "timeframe": "custom",
        "time": {"from": "2024-05-01T11:00:00.000Z", "to": "2024-05-01T12:00:00.000Z", "user_interval": "0"},
        "size": 2
    })
}

macro_rules! snap {
    ($name:literal, $value:expr) => {
        insta::assert_json_snapshot!($name, $value, {".body.took" => "[took]", ".answer.body.took" => "[took]"})
    };
}

#[tokio::test]
async fn devices_shapes() {
    let t = pinned().await;
    let list = "GET /devices?count=2";
    snap!(
        "devices_list",
        answer(&t, list, Probe::get("/devices?count=2")).await
    );
    let one = "GET /devices?did=127&includetags=true";
    snap!(
        "devices_by_did",
        answer(&t, one, Probe::get("/devices?did=127&includetags=true")).await
    );
}

#[tokio::test]
async fn details_shapes() {
    let t = pinned().await;
    let conn = "GET /details?did=127&count=2";
    snap!(
        "details_connections",
        answer(&t, conn, Probe::get("/details?did=127&count=2")).await
    );
    let pbid = "GET /details?pbid=2041";
    snap!(
        "details_pbid",
        answer(&t, pbid, Probe::get("/details?pbid=2041")).await
    );
}

#[tokio::test]
async fn modelbreaches_shapes() {
    let t = pinned().await;
    let default = "GET /modelbreaches?count=1";
    snap!(
        "modelbreaches_default",
        answer(&t, default, Probe::get("/modelbreaches?count=1")).await
    );
    let historic = "GET /modelbreaches?count=1&historicmodelonly=true&includebreachurl=true&includeacknowledged=true&deviceattop=false";
    snap!(
        "modelbreaches_historic_nested_device",
        answer(&t, historic, Probe::get(&historic[4..])).await
    );
    let minimal = "GET /modelbreaches?count=1&minimal=true";
    snap!(
        "modelbreaches_minimal",
        answer(&t, minimal, Probe::get(&minimal[4..])).await
    );
    let object = "GET /modelbreaches/2012?responsedata=pbid%2Ctime%2Cscore%2Cacknowledged%2Cdevice";
    snap!(
        "modelbreach_object",
        answer(&t, object, Probe::get(&object[4..])).await
    );
}

#[tokio::test]
async fn search_shapes() {
    let t = pinned().await;
    let q = dns_last_hour();
    let get = answer(
        &t,
        "GET /advancedsearch/api/search/<base64 of the query>",
        search_probe(&q),
    )
    .await;
    snap!("search_envelope", json!({"query": q, "answer": get}));
    let post = answer(
        &t,
        "POST /advancedsearch/api/search",
        Probe::post_json(
            "/advancedsearch/api/search",
            json!({"hash": STANDARD.encode(q.to_string())}).to_string(),
        ),
    )
    .await;
    assert_eq!(
        post["body"], get["body"],
        "POST {{hash}} answers as the GET form"
    );
    let mut bad = q.clone();
    bad["time"]["from"] = json!("yesterday");
    snap!(
        "search_bad_custom_range",
        answer(&t, "GET (from: yesterday)", search_probe(&bad)).await
    );
    let html = answer(
        &t,
        "GET /advancedsearch/api/search/!!!",
        Probe::get("/advancedsearch/api/search/!!!"),
    )
    .await;
    snap!("search_bad_request_page", html);
}

#[tokio::test]
async fn error_shapes() {
    let t = pinned().await;
    snap!(
        "error_input",
        answer(&t, "GET /details", Probe::get("/details")).await
    );
    snap!(
        "error_not_found",
        answer(&t, "GET /modelbreaches/42", Probe::get("/modelbreaches/42")).await
    );
    snap!(
        "error_signature",
        answer(
            &t,
            "GET /devices (wrong secret)",
            Probe::get("/devices").signing(Signing::WrongSecret)
        )
        .await
    );
    snap!(
        "error_unknown_route",
        answer(&t, "GET /nosuchroute", Probe::get("/nosuchroute")).await
    );
}

/// Against an appliance with no recent data (the world ended 400 days before its
/// clock), a discovery case must fail saying there is nothing to check, never pass
/// without having checked anything; the cases listed here hold honestly without data.
#[tokio::test]
async fn appliance_cases_never_pass_vacuously_on_an_empty_appliance() {
    let t = pinned_at(ANCHOR + Duration::days(400), ANCHOR).await;
    let mine = [
        "devices.",
        "details.",
        "modelbreaches.",
        "search.",
        "language.",
        "responsedata.",
        "errors.",
    ];
    let selected: Vec<_> = cases::all()
        .into_iter()
        .filter(|c| c.has(Tag::Appliance) && mine.iter().any(|p| c.id.starts_with(p)))
        .collect();
    let report = run(&selected, &t, &RunOptions::default(), |_| {}).await;
    let mut passed = Vec::new();
    let mut wrong = Vec::new();
    for r in &report.results {
        match (&r.failure, r.outcome) {
            (_, "passed") => passed.push(r.id),
            (Some(f), "failed") if f.actual.contains("nothing to check") => {}
            (Some(f), _) => wrong.push(format!(
                "{}: expected {}, got {}",
                r.id, f.expected, f.actual
            )),
            (None, outcome) => wrong.push(format!("{} {outcome}", r.id)),
        }
    }
    assert!(
        wrong.is_empty(),
        "failed for another reason:\n{}",
        wrong.join("\n")
    );
    assert_eq!(
        passed,
        [
            "devices.filter.ip-unknown-empty",
            "devices.priority-omitted-when-zero",
            "devices.absent-attributes-omitted",
            "devices.default-window-7days",
            "devices.seensince.units",
            "details.requires-subject",
            "errors.input-error-shape",
            "modelbreaches.unknown-pbid-404",
            "errors.not-found-shape",
            "search.get-percent-encoded-signed-raw-refused",
            "search.timeframe-seconds",
            "search.bad-custom-range-200-error",
            "errors.content-type-json-everywhere",
            "errors.unknown-route-login",
        ]
    );
}

#[test]
fn endpoint_cases_are_many_unique_and_referenced() {
    let all = cases::all();
    let mine: Vec<_> = all
        .iter()
        .filter(|c| {
            [
                "devices.",
                "details.",
                "modelbreaches.",
                "search.",
                "language.",
                "responsedata.",
                "errors.",
            ]
            .iter()
            .any(|p| c.id.starts_with(p))
        })
        .collect();
    assert!(mine.len() >= 55, "{} endpoint cases", mine.len());
    let mut ids: Vec<&str> = all.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "case ids are unique");
    for c in mine {
        assert!(c.must.contains("MUST"), "{}", c.id);
        assert!(!c.reference.is_empty(), "{}", c.id);
        assert_eq!(c.tags.len(), 1, "{} is appliance or mock-only", c.id);
    }
}
