//! `mock-server/openapi.json`: served at `/_mock/openapi.json`, a valid OpenAPI 3.0.3
//! document, describing exactly the router's appliance routes, and true of real answers.
//!
//! Response schemas are checked with the `jsonschema` crate (draft 4, as OpenAPI 3.0
//! uses it) after the one OpenAPI-only keyword in the document, `nullable`, is rewritten
//! as a JSON Schema type union. Each real answer is checked twice: against the schema
//! the document gives its operation and status (what schemathesis checks), and, for
//! successes without `responsedata`, against the strict component schema (every
//! required key present), which the operation's schema cannot demand because
//! `responsedata` may keep any subset of keys.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use dt_protocol::{sign, DateFormat, Secret};
use serde_json::{json, Value};
use time::macros::datetime;
use time::OffsetDateTime;

use crate::support::{raw, signed_get, start_at, RawResponse, PRIV, PUB};

const NOW: OffsetDateTime = datetime!(2024-05-01 12:00:00 UTC);

/// The checked-in document, read from disk (not through the crate's `include_str!`).
fn document_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    std::fs::read_to_string(path).expect("mock-server/openapi.json exists")
}

fn document() -> Value {
    serde_json::from_str(&document_text()).expect("openapi.json is JSON")
}

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// `(method, path)` of every operation in the document.
fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((m.to_string(), path.clone()));
            }
        }
    }
    out
}

/// `(method, path)` of every route `app.rs` adds outside `/_mock`, read from its source
/// so that a route added there without being described fails
/// [`every_appliance_route_is_described`]. Axum's `{*rest}` becomes OpenAPI's `{rest}`.
fn router_operations() -> BTreeSet<(String, String)> {
    let src = include_str!("../src/app.rs");
    let mut out = BTreeSet::new();
    let mut rest = src;
    while let Some(i) = rest.find(".route(\"") {
        rest = &rest[i + ".route(\"".len()..];
        let end = rest.find('"').expect("a closing quote");
        let path = rest[..end].replace("{*", "{");
        // The handler expression runs to the `)` that closes `.route(`.
        let mut depth = 1;
        let mut close = end;
        for (j, c) in rest[end..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = end + j;
                        break;
                    }
                }
                _ => {}
            }
        }
        let handler = &rest[end..close];
        if !path.starts_with("/_mock") {
            let mut found = false;
            for m in METHODS {
                let call = format!("{m}(");
                let hit = handler
                    .match_indices(&call)
                    .any(|(k, _)| k == 0 || !handler.as_bytes()[k - 1].is_ascii_alphanumeric());
                if hit {
                    out.insert((m.to_string(), path.clone()));
                    found = true;
                }
            }
            assert!(found, "no method recognised in the route {path}: {handler}");
        }
        rest = &rest[close..];
    }
    out
}

/// Rewrites OpenAPI 3.0's `nullable: true` as a JSON Schema type union.
fn to_json_schema(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, val) in m {
                if k != "nullable" && k != "example" && k != "examples" {
                    out.insert(k.clone(), to_json_schema(val));
                }
            }
            if m.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = m.get("type") {
                    out.insert("type".into(), json!([t, "null"]));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

/// A draft-4 validator for `schema`, its `#/components/schemas/...` references resolved
/// in the document.
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let root = json!({
        "allOf": [to_json_schema(schema)],
        "components": {"schemas": to_json_schema(&doc["components"]["schemas"])},
    });
    jsonschema::draft4::new(&root).unwrap_or_else(|e| panic!("schema does not compile: {e}"))
}

fn assert_valid(doc: &Value, schema: &Value, instance: &Value, what: &str) {
    let v = validator(doc, schema);
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: the answer does not match its schema:\n{}\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(instance)
            .unwrap()
            .chars()
            .take(2_000)
            .collect::<String>()
    );
}

/// The operation object of `method path` (a document path such as `/modelbreaches/{pbid}`).
fn operation<'d>(doc: &'d Value, method: &str, path: &str) -> &'d Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not documented");
    op
}

/// Checks an answer against what the document says of `method path`: the status is
/// documented, the content type is one documented for it, the JSON body matches the
/// schema, and a documented header schema (the redirect's `Location`) holds.
fn check_against_operation(doc: &Value, method: &str, path: &str, r: &RawResponse) {
    let what = format!("{method} {path} -> {}", r.status);
    let op = operation(doc, method, path);
    let resp = &op["responses"][r.status.to_string()];
    assert!(resp.is_object(), "{what}: status not documented");
    let ct = r.header("content-type").unwrap_or("");
    let media = ct.split(';').next().unwrap().trim();
    let content = &resp["content"][media];
    assert!(
        content.is_object(),
        "{what}: content type {ct:?} not documented"
    );
    if media == "application/json" {
        assert_valid(doc, &content["schema"], &r.json(), &what);
    } else if let Some(p) = content["schema"]["pattern"].as_str() {
        let text = r.text();
        let literal = p.replace('\\', "");
        assert!(text.contains(&literal), "{what}: body lacks {literal:?}");
    }
    if let Some(headers) = resp["headers"].as_object() {
        for (name, h) in headers {
            let value = r.header(name);
            if h["required"] == true {
                let value = value.unwrap_or_else(|| panic!("{what}: no {name} header"));
                assert_valid(doc, &h["schema"], &json!(value), &format!("{what} {name}"));
            }
        }
    }
}

/// Which strict component schema a success must also match.
enum Strict {
    /// The whole answer.
    Whole(&'static str),
    /// Each item of the (non-empty) list, against any of these.
    Each(&'static [&'static str]),
    /// None: `responsedata` may keep any subset of keys (or the list is empty).
    Projection,
}
use Strict::{Each, Projection, Whole};

const SEARCH: &str = "/advancedsearch/api/search";
const SEARCH_PATH: &str = "/advancedsearch/api/search/{query}";

fn strict_schema(doc: &Value, name: &str) -> Value {
    assert!(doc["components"]["schemas"][name].is_object(), "{name}");
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A signed POST with a JSON body: the appliance signs `path?<body>`.
async fn signed_post(addr: SocketAddr, path: &str, body: &str, now: OffsetDateTime) -> RawResponse {
    let date = DateFormat::Compact.format(now);
    let sig = sign(&Secret::new(PRIV), &format!("{path}?{body}"), PUB, &date);
    raw(
        addr,
        "POST",
        path,
        &[
            ("DTAPI-Token", PUB),
            ("DTAPI-Date", &date),
            ("DTAPI-Signature", &sig),
        ],
        body.as_bytes(),
    )
    .await
}

fn b64(query: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(query.to_string())
}

#[tokio::test]
async fn served_document_is_the_checked_in_file() {
    let m = start_at(NOW).await;
    let r = raw(m.addr, "GET", "/_mock/openapi.json", &[], b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.text(), document_text());
    assert!(
        m.state.journal.is_empty(),
        "an admin route, not an appliance request"
    );
}

#[tokio::test]
async fn document_is_openapi_3_0_3_with_the_dtapi_scheme() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let mut headers: Vec<&str> = schemes
        .values()
        .map(|s| {
            assert_eq!(s["type"], "apiKey");
            assert_eq!(s["in"], "header");
            s["name"].as_str().unwrap()
        })
        .collect();
    headers.sort_unstable();
    assert_eq!(headers, ["DTAPI-Date", "DTAPI-Signature", "DTAPI-Token"]);
    let required: BTreeSet<&String> = doc["security"][0].as_object().unwrap().keys().collect();
    assert_eq!(required, schemes.keys().collect(), "all three, together");

    // Every schema compiles, and every reference points at something.
    for (name, s) in doc["components"]["schemas"].as_object().unwrap() {
        validator(&doc, s);
        assert!(s["type"].is_string() || s.get("anyOf").is_some(), "{name}");
    }
    let text = document_text();
    for part in text.split("\"$ref\": \"#/").skip(1) {
        let pointer = format!("/{}", &part[..part.find('"').unwrap()]);
        assert!(doc.pointer(&pointer).is_some(), "dangling $ref {pointer}");
    }

    let mut ids = BTreeSet::new();
    for (method, path) in documented_operations(&doc) {
        let op = operation(&doc, &method, &path);
        let id = op["operationId"].as_str().unwrap();
        assert!(ids.insert(id.to_string()), "operationId {id} repeated");
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.contains_key("200"), "{method} {path}");
        let public = op.get("security") == Some(&json!([]));
        if !public {
            for status in ["302", "400"] {
                assert!(responses.contains_key(status), "{method} {path}: {status}");
            }
        }
        // Path parameters are declared, and only those in the template.
        let declared: BTreeSet<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let in_template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        assert_eq!(declared, in_template, "{method} {path}");
    }
}

#[tokio::test]
async fn every_appliance_route_is_described() {
    let doc = document();
    let router = router_operations();
    assert!(router.len() >= 9, "the route scan found {router:?}");
    assert_eq!(
        documented_operations(&doc),
        router,
        "app.rs routes (left: documented, right: routed)"
    );

    // And each documented operation reaches a handler of the running mock (not the
    // unknown-route fallback, not a 405).
    let m = start_at(NOW).await;
    for (method, path) in documented_operations(&doc) {
        let target = path
            .replace("{pbid}", "2002")
            .replace("{query}", &b64(&json!({"search": ""})));
        let r = if method == "post" {
            signed_post(m.addr, &target, &json!({"hash": "e30="}).to_string(), NOW).await
        } else {
            signed_get(m.addr, &target, NOW).await
        };
        assert!(
            r.status != 405 && r.header("location") != Some("/login"),
            "{method} {path}: {}",
            r.status
        );
        check_against_operation(&doc, &method, &path, &r);
        if let Some(e) = m.state.journal.all().last() {
            assert_ne!(
                e.reason.as_deref(),
                Some("signature valid; unknown route"),
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn real_successes_match_their_schemas() {
    let doc = document();
    let m = start_at(NOW).await;
    let (did, pbid, acked) = {
        let w = m.state.world.read().unwrap();
        let b = w.breaches().iter().find(|b| !b.uids.is_empty()).unwrap();
        let acked = w.breaches().iter().find(|b| b.acknowledged).unwrap().pbid;
        (b.did, b.pbid, acked)
    };
    let tagged = m
        .state
        .world
        .read()
        .unwrap()
        .devices()
        .iter()
        .find(|d| !d.tags.is_empty())
        .unwrap()
        .did;

    let conn_day = b64(&json!({"search": "@type:conn", "timeframe": "86400", "size": 20}));
    let reversed = b64(&json!({
        "search": "",
        "timeframe": "custom",
        "time": {"from": "2024-05-02T00:00:00Z", "to": "2024-05-01T00:00:00Z"},
    }));
    let dns_two = b64(&json!({"search": "@type:dns", "size": 2, "timeframe": 86400}));
    let all_options =
        "historicmodelonly=true&expandenums=true&includeacknowledged=true&includebreachurl=true";
    // The target, its documented path, and the strict schema of the whole answer
    // (`Whole`) or of each item of the list (`Each`, which must not be empty).
    let cases: Vec<(String, &str, Strict)> = vec![
        ("/status".into(), "/status", Whole("Status")),
        (
            "/status?includechildren=false&fast=1".into(),
            "/status",
            Whole("Status"),
        ),
        (
            "/status?responsedata=version,time".into(),
            "/status",
            Projection,
        ),
        ("/devices".into(), "/devices", Each(&["Device"])),
        (
            "/devices?seensince=30days&includetags=true".into(),
            "/devices",
            Each(&["Device"]),
        ),
        (
            format!("/devices?did={tagged}&includetags=true"),
            "/devices",
            Whole("Device"),
        ),
        (
            "/devices?count=3&responsedata=did,hostname".into(),
            "/devices",
            Projection,
        ),
        (
            format!("/details?did={did}"),
            "/details",
            Each(&["ConnectionEvent"]),
        ),
        (
            format!("/details?did={did}&eventtype=modelbreach"),
            "/details",
            Each(&["PolicyBreachEvent"]),
        ),
        (
            format!("/details?pbid={pbid}"),
            "/details",
            Each(&["PolicyBreachEvent", "ConnectionEvent"]),
        ),
        ("/details?msg=x".into(), "/details", Projection),
        (
            "/modelbreaches".into(),
            "/modelbreaches",
            Each(&["ModelBreach"]),
        ),
        (
            "/modelbreaches?minimal=true&includeacknowledged=true".into(),
            "/modelbreaches",
            Each(&["ModelBreach"]),
        ),
        (
            format!("/modelbreaches?{all_options}"),
            "/modelbreaches",
            Each(&["ModelBreach"]),
        ),
        (
            "/modelbreaches?deviceattop=false&minscore=0.5&count=3".into(),
            "/modelbreaches",
            Each(&["ModelBreach"]),
        ),
        (
            "/modelbreaches?responsedata=pbid,model".into(),
            "/modelbreaches",
            Projection,
        ),
        (
            format!("/modelbreaches/{pbid}"),
            "/modelbreaches/{pbid}",
            Whole("ModelBreach"),
        ),
        (
            format!("/modelbreaches/{acked}?deviceattop=false&includebreachurl=true"),
            "/modelbreaches/{pbid}",
            Whole("ModelBreach"),
        ),
        (
            format!("{SEARCH}/{conn_day}"),
            SEARCH_PATH,
            Whole("SearchResult"),
        ),
        (
            format!("{SEARCH}/{reversed}"),
            SEARCH_PATH,
            Whole("SearchRangeError"),
        ),
        (
            format!("{SEARCH}/{dns_two}?responsedata=hits"),
            SEARCH_PATH,
            Projection,
        ),
    ];
    for (target, path, strict) in cases {
        let r = signed_get(m.addr, &target, NOW).await;
        assert_eq!(r.status, 200, "{target}: {}", r.text());
        check_against_operation(&doc, "get", path, &r);
        let v = r.json();
        match strict {
            Whole(name) => assert_valid(&doc, &strict_schema(&doc, name), &v, &target),
            Each(names) => {
                let items = v.as_array().unwrap();
                assert!(!items.is_empty(), "{target}: an empty list proves nothing");
                let any: Vec<Value> = names.iter().map(|n| strict_schema(&doc, n)).collect();
                for item in items {
                    assert_valid(&doc, &json!({"anyOf": any}), item, &target);
                }
            }
            Projection => {}
        }
    }

    // Advanced search as a POST (6.1), whose schema has no responsedata projection.
    let body =
        json!({"hash": b64(&json!({"search": "@type:conn", "size": 3, "timeframe": "86400"}))});
    let r = signed_post(m.addr, "/advancedsearch/api/search", &body.to_string(), NOW).await;
    assert_eq!(r.status, 200);
    check_against_operation(&doc, "post", "/advancedsearch/api/search", &r);
    assert!(!r.json()["hits"]["hits"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn real_failures_match_their_schemas() {
    let doc = document();
    let m = start_at(NOW).await;
    let date = DateFormat::Compact.format(NOW);

    // D3: a wrong signature, a date out of the window, no headers.
    for (target, path) in [
        ("/status", "/status"),
        ("/devices?did=1", "/devices"),
        ("/details?did=1", "/details"),
        ("/modelbreaches", "/modelbreaches"),
        ("/modelbreaches/1", "/modelbreaches/{pbid}"),
        (
            "/advancedsearch/api/search/e30=",
            "/advancedsearch/api/search/{query}",
        ),
    ] {
        let bad = sign(&Secret::new("not-the-secret"), target, PUB, &date);
        let headers = [
            ("DTAPI-Token", PUB),
            ("DTAPI-Date", date.as_str()),
            ("DTAPI-Signature", bad.as_str()),
        ];
        let r = raw(m.addr, "GET", target, &headers, b"").await;
        assert_eq!(r.status, 400);
        check_against_operation(&doc, "get", path, &r);
        let late = DateFormat::Compact.format(NOW + time::Duration::hours(1));
        let sig = sign(&Secret::new(PRIV), target, PUB, &late);
        let headers = [
            ("DTAPI-Token", PUB),
            ("DTAPI-Date", late.as_str()),
            ("DTAPI-Signature", sig.as_str()),
        ];
        let r = raw(m.addr, "GET", target, &headers, b"").await;
        assert_eq!(r.status, 400);
        check_against_operation(&doc, "get", path, &r);
        let r = raw(m.addr, "GET", target, &[], b"").await;
        assert_eq!(r.status, 302);
        check_against_operation(&doc, "get", path, &r);
    }

    // Bad parameters, missing objects, refused searches.
    for (target, path, status) in [
        ("/status?includechildren=maybe", "/status", 400),
        ("/devices?seensince=0", "/devices", 400),
        ("/devices?did=999999", "/devices", 404),
        ("/details", "/details", 400),
        ("/details?did=1&count=0", "/details", 400),
        ("/modelbreaches?minscore=2", "/modelbreaches", 400),
        ("/modelbreaches?endtime=1", "/modelbreaches", 400),
        ("/modelbreaches/999999", "/modelbreaches/{pbid}", 404),
        (
            "/modelbreaches/x?minimal=maybe",
            "/modelbreaches/{pbid}",
            400,
        ),
        (
            "/advancedsearch/api/search/!!!",
            "/advancedsearch/api/search/{query}",
            400,
        ),
    ] {
        let r = signed_get(m.addr, target, NOW).await;
        assert_eq!(r.status, status, "{target}: {}", r.text());
        check_against_operation(&doc, "get", path, &r);
    }
    let size = b64(&json!({"size": -1}));
    let r = signed_get(m.addr, &format!("/advancedsearch/api/search/{size}"), NOW).await;
    assert_eq!(r.status, 400);
    check_against_operation(&doc, "get", "/advancedsearch/api/search/{query}", &r);
    let r = signed_post(m.addr, "/advancedsearch/api/search", "{\"hash\": 5}", NOW).await;
    assert_eq!(r.status, 400);
    check_against_operation(&doc, "post", "/advancedsearch/api/search", &r);

    // The pages the redirects lead to.
    for (path, title) in [
        ("/login", "Log In | Darktrace"),
        ("/403", "403 | Darktrace"),
    ] {
        let r = raw(m.addr, "GET", path, &[], b"").await;
        assert_eq!(r.status, 200);
        assert!(r.text().contains(title));
        check_against_operation(&doc, "get", path, &r);
    }
}

/// Regression: an id that is not UTF-8 once percent-decoded got axum's plain-text
/// `400 Invalid URL: Invalid UTF-8 in pbid`, an answer neither the appliance nor the
/// document gives. It is an unknown breach: 404 JSON.
#[tokio::test]
async fn a_breach_id_that_is_not_utf8_is_not_found() {
    let doc = document();
    let m = start_at(NOW).await;
    for (target, shown) in [
        ("/modelbreaches/%FF", "\u{fffd}"),
        ("/modelbreaches/%C3%28?minimal=true", "\u{fffd}("),
        ("/modelbreaches/1+%FF", "1+\u{fffd}"),
    ] {
        let r = signed_get(m.addr, target, NOW).await;
        assert_eq!(r.status, 404, "{target}: {}", r.text());
        assert_eq!(
            r.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(
            r.json(),
            json!({"error": format!("Model breach {shown} not found")})
        );
        check_against_operation(&doc, "get", "/modelbreaches/{pbid}", &r);
    }
}

/// Regression: with the mock's clock before 1970 (`/_mock/clock` allows a century
/// back), a huge `/devices` `seensince` or advanced-search `timeframe` overflowed
/// `now - window`: a panic in a debug build (the connection dropped without an answer),
/// a wrapped, meaningless window in a release build.
#[tokio::test]
async fn huge_windows_before_1970_are_answered() {
    let doc = document();
    let then = datetime!(1926-01-01 00:00:00 UTC);
    let m = start_at(then).await;
    let devices = m.state.world.read().unwrap().devices().len();
    let r = signed_get(m.addr, "/devices?seensince=9223372036854775", then).await;
    assert_eq!(r.status, 200, "{}", r.text());
    check_against_operation(&doc, "get", "/devices", &r);
    assert_eq!(r.json().as_array().unwrap().len(), devices, "every device");
    for timeframe in [json!(1e300), json!("9223372036854775807")] {
        let q = b64(&json!({ "timeframe": timeframe, "size": 1 }));
        let r = signed_get(m.addr, &format!("{SEARCH}/{q}"), then).await;
        assert_eq!(r.status, 200, "{}", r.text());
        check_against_operation(&doc, "get", SEARCH_PATH, &r);
        let v = r.json();
        assert_eq!(v["kibana"]["time"]["to"], "1926-01-01T00:00:00.000Z");
        assert_eq!(v["hits"]["hits"].as_array().unwrap().len(), 1);
    }
}
