//! One test per known mistake, each from a request really signed that wrong way
//! (dt_protocol::sign over the wrong string), captured in one of the four formats.

use crate::common::*;
use dt_explain::{diagnose, explain, parse_any, Captured, Explanation, MistakeId, Rule, Verdict};
use dt_protocol::{sign, Secret, Verifier};

/// Checks the explanation names `id`, refuses with `rule`, leaks no secret, and that
/// the mock's per-rejection `diagnose` agrees (when `diagnose_too`).
fn expect(c: &Captured, ex: &Explanation, rule: Rule, id: MistakeId, diagnose_too: bool) {
    assert_eq!(ex.verdict, Verdict::Rejected, "{}", ex.render_text());
    assert_eq!(ex.rule, Some(rule), "{}", ex.render_text());
    assert_eq!(mistake_id(ex), id.as_str(), "{}", ex.render_text());
    assert_no_secret(ex, PRIV);
    if diagnose_too {
        let parts = c.parts();
        let store = [(PUB.to_string(), secret())];
        let rejection = Verifier::new(skew())
            .verify(&parts, store.as_slice(), NOW)
            .expect_err("the verifier refuses it too");
        let m = diagnose(&parts, Some(&secret()), &rejection, NOW, skew())
            .expect("diagnose names a mistake");
        assert_eq!(m.id, id, "diagnose disagrees: {}", m.detail);
        assert!(!format!("{m:?}").contains(PRIV));
    }
}

fn answer_body(ex: &Explanation) -> &str {
    &ex.answer.as_ref().expect("an answer").body
}

// ----------------------------------------------------------------------------- accepted

#[test]
fn a_correct_request_is_accepted_in_every_format() {
    let target = "/modelbreaches?starttime=1586851200000&endtime=1586937600000";
    let r = Req::get(target, sig(target));
    for text in [r.curl(), r.http(), r.har()] {
        let ex = explain_text(&text);
        assert_eq!(ex.verdict, Verdict::Accepted, "{}", ex.render_text());
        assert_eq!(ex.rule, None);
        assert!(ex.mistake.is_none());
        assert_no_secret(&ex, PRIV);
    }
    let ex = explain_captured(&r.parts());
    assert_eq!(ex.verdict, Verdict::Accepted);
}

#[test]
fn a_correct_post_and_a_decoded_query_are_accepted() {
    let body = r#"{"message":"hello","priority":"high"}"#;
    let r = Req::post(
        "/modelbreaches/101/comments",
        body,
        sig(&format!("/modelbreaches/101/comments?{body}")),
    );
    assert_eq!(explain_text(&r.curl()).verdict, Verdict::Accepted);
    // D1: signed decoded, sent encoded.
    let wire = "/details?did=1&from=2020-04-15%2008%3A00%3A00";
    let r = Req::get(wire, sig("/details?did=1&from=2020-04-15 08:00:00"));
    let ex = explain_text(&r.http());
    assert_eq!(ex.verdict, Verdict::Accepted, "{}", ex.render_text());
    assert_eq!(ex.signed_form, Some(dt_protocol::SignedForm::Decoded));
}

// ----------------------------------------------------------------------------- headers

#[test]
fn missing_headers_redirect_to_login_and_name_near_misses() {
    let text = format!(
        "GET /status HTTP/1.1\r\nHost: {HOST}\r\nDTAPI-Token: {PUB}\r\nDTAPI_Date: {DATE}\r\nDTAPI-Signature: {}\r\n\r\n",
        sig("/status")
    );
    let c = parse_any(&text).unwrap();
    let ex = explain_captured(&c);
    expect(&c, &ex, Rule::Headers, MistakeId::MissingHeaders, true);
    let a = ex.answer.as_ref().unwrap();
    assert_eq!(
        (a.status, a.body.as_str()),
        (302, "Found. Redirecting to /login")
    );
    assert!(ex.mistake.as_ref().unwrap().detail.contains("`DTAPI_Date`"));
}

#[test]
fn duplicate_header() {
    let s = sig("/status");
    let text = format!(
        "GET /status HTTP/1.1\r\nDTAPI-Token: {PUB}\r\nDTAPI-Date: {DATE}\r\nDTAPI-Signature: {s}\r\nDTAPI-Signature: {s}\r\n\r\n"
    );
    let c = parse_any(&text).unwrap();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::DuplicateHeader,
        true,
    );
}

// ----------------------------------------------------------------------------- dates

#[test]
fn local_time_as_utc_is_a_date_error_with_the_hour_offset() {
    // The client is in UTC+2 and sent its local time as if it were UTC.
    let local = "2020-04-15 15:34:07";
    let s = sign(&secret(), "/status", PUB, local);
    let r = Req::get("/status", s).date(local);
    let c = parse_any(&r.curl()).unwrap();
    let ex = explain_captured(&c);
    expect(&c, &ex, Rule::Date, MistakeId::LocalTimeAsUtc, true);
    let m = ex.mistake.as_ref().unwrap();
    assert_eq!(m.utc_offset_minutes, Some(120));
    assert!(m.detail.contains("UTC+2 as if it were UTC"), "{}", m.detail);
    assert_eq!(answer_body(&ex), "{\n  \"status\": \"API DATE ERROR\"\n}");
    let d = ex.date.as_ref().unwrap();
    assert_eq!(
        (d.skew_seconds, d.allowed_skew_seconds, d.within),
        (Some(7207), 1800, false)
    );
    assert!(ex
        .notes
        .iter()
        .any(|n| n.contains("Fixing the date is enough")));
}

#[test]
fn local_time_west_of_utc() {
    let local = "2020-04-15T08:40:00";
    let r = Req::get("/devices", sign(&secret(), "/devices", PUB, local)).date(local);
    let c = r.parts();
    let ex = explain_captured(&c);
    expect(&c, &ex, Rule::Date, MistakeId::LocalTimeAsUtc, true);
    assert_eq!(ex.mistake.unwrap().utc_offset_minutes, Some(-300));
}

#[test]
fn clock_skew_that_is_not_a_zone() {
    let mut c = Req::get("/status", String::new()).parts();
    let date = "2020-04-15 13:34:00";
    c.headers[1].1 = date.into();
    c.headers[2].1 = sign(&secret(), "/status", PUB, date);
    // Thirty-one minutes behind: a clock problem, not a zone.
    let now = NOW + time::Duration::minutes(31);
    let ex = explain(&c, Some(&secret()), None, now, skew());
    assert_eq!(ex.rule, Some(Rule::Date));
    assert_eq!(mistake_id(&ex), "clock-skew", "{}", ex.render_text());
    assert!(ex.mistake.unwrap().detail.contains("31 min behind"));
}

#[test]
fn unreadable_date() {
    let date = "Wed, 15 Apr 2020 13:34:00 GMT";
    let r = Req::get("/status", sign(&secret(), "/status", PUB, date)).date(date);
    let c = parse_any(&r.har()).unwrap();
    let ex = explain_captured(&c);
    expect(&c, &ex, Rule::Date, MistakeId::DateFormat, true);
    assert!(ex.mistake.unwrap().detail.contains("HTTP date"));
}

#[test]
fn date_mismatch_the_clock_read_twice() {
    let r = Req::get(
        "/status",
        sign(&secret(), "/status", PUB, "20200415T133401"),
    );
    let c = parse_any(&r.har()).unwrap();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::DateMismatch,
        true,
    );
}

// ----------------------------------------------------------------------------- tokens

#[test]
fn swapped_tokens_in_the_settings() {
    // The private token went out as DTAPI-Token and keyed the HMAC with the public.
    let target = "/devices?ip=10.0.0.1";
    let s = sign(&Secret::new(PUB), target, PRIV, DATE);
    let r = Req::get(target, s).token(PRIV);
    let text = r.curl();
    let c = parse_any(&text).unwrap();
    for known in [Some(PUB), None] {
        let ex = explain(&c, Some(&secret()), known, NOW, skew());
        assert_eq!(ex.rule, Some(Rule::Token), "{}", ex.render_text());
        assert_eq!(mistake_id(&ex), "swapped-tokens");
        assert_eq!(
            answer_body(&ex),
            "{\n  \"devices\": \"API SIGNATURE ERROR\"\n}"
        );
        // The header value is the secret: it must be redacted everywhere.
        assert_no_secret(&ex, PRIV);
        assert!(ex.render_text().contains("[private token]"));
    }
    // Even without the secret, the public token alone shows the swap.
    let ex = explain(&c, None, Some(PUB), NOW, skew());
    assert_eq!(mistake_id(&ex), "swapped-tokens");
    // The mock, given the private token equal to the sent DTAPI-Token, agrees.
    let parts = c.parts();
    let rej = Verifier::new(skew())
        .verify(&parts, [(PUB.to_string(), secret())].as_slice(), NOW)
        .unwrap_err();
    let m = diagnose(&parts, Some(&secret()), &rej, NOW, skew()).unwrap();
    assert_eq!(m.id, MistakeId::SwappedTokens);
    assert!(!format!("{m:?}").contains(PRIV));
}

#[test]
fn swapped_tokens_in_the_signing_call() {
    let target = "/status";
    let s = dt_protocol::sign::sign_bytes(
        &Secret::new(PUB),
        format!("{target}\n{PRIV}\n{DATE}").as_bytes(),
    );
    let c = parse_any(&Req::get(target, s).har()).unwrap();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::SwappedTokens,
        true,
    );
}

#[test]
fn unknown_public_token() {
    let c = Req::get("/status", sig("/status"))
        .token("0000another0public")
        .parts();
    let ex = explain(&c, Some(&secret()), Some(PUB), NOW, skew());
    assert_eq!(ex.rule, Some(Rule::Token));
    assert_eq!(mistake_id(&ex), "unknown-token");
    assert_no_secret(&ex, PRIV);
}

// ----------------------------------------------------------------------------- signature

#[test]
fn signature_format_uppercase_hex() {
    let r = Req::get("/status", sig("/status").to_ascii_uppercase());
    let c = parse_any(&r.curl()).unwrap();
    let ex = explain_captured(&c);
    expect(&c, &ex, Rule::Signature, MistakeId::SignatureFormat, true);
    assert!(ex
        .mistake
        .unwrap()
        .detail
        .contains("The HMAC itself is right"));
}

#[test]
fn sorted_query() {
    let wire = "/modelbreaches?starttime=1586851200000&endtime=1586937600000&minscore=0.5";
    let signed = "/modelbreaches?endtime=1586937600000&minscore=0.5&starttime=1586851200000";
    let c = parse_any(&Req::get(wire, sig(signed)).curl()).unwrap();
    let ex = explain_captured(&c);
    expect(&c, &ex, Rule::Signature, MistakeId::SortedQuery, true);
    assert!(ex
        .mistake
        .unwrap()
        .client_signed
        .unwrap()
        .starts_with(signed));
}

#[test]
fn query_order_other_than_sorted() {
    let wire = "/similardevices?did=7&count=5&fulldevicedetails=true";
    let signed = "/similardevices?fulldevicedetails=true&did=7&count=5";
    let c = parse_any(&Req::get(wire, sig(signed)).http()).unwrap();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::QueryOrder,
        true,
    );
}

#[test]
fn encoding_mismatch_plus_for_space() {
    let wire = "/devices?count=1&responsedata=a%20b";
    let c = parse_any(&Req::get(wire, sig("/devices?count=1&responsedata=a+b")).har()).unwrap();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::EncodingMismatch,
        true,
    );
}

#[test]
fn encoding_mismatch_fully_encoded_signed_raw_sent() {
    let wire = "/details?did=1&from=2020-04-15T08:00:00";
    let c = Req::get(wire, sig("/details?did=1&from=2020-04-15T08%3A00%3A00")).parts();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::EncodingMismatch,
        true,
    );
}

#[test]
fn encoding_mismatch_double_encoded() {
    let wire = "/devices?responsedata=a%20b";
    let c = parse_any(&Req::get(wire, sig("/devices?responsedata=a%2520b")).curl()).unwrap();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::EncodingMismatch,
        true,
    );
}

#[test]
fn encoding_mismatch_advanced_search_path_signed_encoded() {
    // Raw standard base64 (with `/`, `+` and `=`) on the wire; the client signed it
    // percent-encoded.
    let b64 = "eyJzZWFyY2giOiJAZmllbGRzLnNvdXJjZV9pcDoxMC4wLjAuMSIsImZpZWxkcyI6W119+/A=";
    let wire = format!("/advancedsearch/api/search/{b64}");
    let signed = format!(
        "/advancedsearch/api/search/{}",
        b64.replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    );
    let c = parse_any(&Req::get(&wire, sig(&signed)).http()).unwrap();
    let ex = explain_captured(&c);
    expect(&c, &ex, Rule::Signature, MistakeId::EncodingMismatch, true);
    assert!(answer_body(&ex).contains("\"advancedsearch\": \"API SIGNATURE ERROR\""));
}

#[test]
fn encoding_mismatch_path_sent_encoded_signed_raw() {
    let b64 = "eyJzZWFyY2giOiIqIn0=";
    let wire = "/advancedsearch/api/search/eyJzZWFyY2giOiIqIn0%3D";
    let signed = format!("/advancedsearch/api/search/{b64}");
    let c = parse_any(&Req::get(wire, sig(&signed)).curl()).unwrap();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::EncodingMismatch,
        true,
    );
}

#[test]
fn question_mark_on_an_empty_query() {
    let c = parse_any(&Req::get("/usagestatistics", sig("/usagestatistics?")).http()).unwrap();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::QuestionMark,
        true,
    );
}

#[test]
fn question_mark_query_left_out() {
    let c = parse_any(&Req::get("/devices?did=52000", sig("/devices")).har()).unwrap();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::QuestionMark,
        true,
    );
}

#[test]
fn question_mark_missing_between_path_and_query() {
    let c = Req::get("/devices?did=52000", sig("/devicesdid=52000")).parts();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::QuestionMark,
        true,
    );
}

#[test]
fn secret_with_a_trailing_newline() {
    let target = "/status";
    let s = sign(&Secret::new(format!("{PRIV}\n")), target, PUB, DATE);
    let c = parse_any(&Req::get(target, s).http()).unwrap();
    let ex = explain_captured(&c);
    expect(&c, &ex, Rule::Signature, MistakeId::SecretWhitespace, true);
    assert!(ex.mistake.unwrap().detail.contains("trailing newline"));
}

#[test]
fn secret_trimmed_when_the_real_one_has_whitespace() {
    // The configured secret has a trailing CRLF; the client signed with it trimmed.
    let real = Secret::new(format!("{PRIV}\r\n"));
    let c = Req::get("/status", sig("/status")).parts();
    let ex = explain(&c, Some(&real), None, NOW, skew());
    assert_eq!(mistake_id(&ex), "secret-whitespace", "{}", ex.render_text());
    assert_no_secret(&ex, PRIV);
    let parts = c.parts();
    let rej = Verifier::new(skew())
        .verify(&parts, [(PUB.to_string(), real.clone())].as_slice(), NOW)
        .unwrap_err();
    assert_eq!(
        diagnose(&parts, Some(&real), &rej, NOW, skew()).unwrap().id,
        MistakeId::SecretWhitespace
    );
}

#[test]
fn body_omitted_from_a_post() {
    let body = r#"{"search":"@type:\"ssl\"","fields":[]}"#;
    let r = Req::post(
        "/advancedsearch/api/search",
        body,
        sig("/advancedsearch/api/search"),
    );
    let c = parse_any(&r.curl()).unwrap();
    assert_eq!(c.body, body.as_bytes());
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::BodyOmitted,
        true,
    );
}

#[test]
fn body_omitted_but_query_signed() {
    let r = Req::post(
        "/tags?responsedata=name",
        r#"{"name":"x"}"#,
        sig("/tags?responsedata=name"),
    );
    let c = parse_any(&r.har()).unwrap();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::BodyOmitted,
        true,
    );
}

#[test]
fn body_included_with_the_query_sdk_style() {
    let body = r#"{"name":"watched"}"#;
    let target = "/tags?responsedata=name";
    let r = Req::post(target, body, sig(&format!("{target}&{body}")));
    let c = parse_any(&r.http()).unwrap();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::BodyIncluded,
        true,
    );
}

#[test]
fn body_included_on_a_delete() {
    let body = "name=x";
    let r = Req::post("/intelfeed", body, sig("/intelfeed?name=x")).method("DELETE");
    let c = r.parts();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::BodyIncluded,
        true,
    );
}

#[test]
fn body_reserialized_python_style() {
    let sent = r#"{"message":"Test Comment","priority":"high"}"#;
    let signed_body = r#"{"message": "Test Comment", "priority": "high"}"#;
    let target = "/modelbreaches/101/comments";
    let r = Req::post(target, sent, sig(&format!("{target}?{signed_body}")));
    let c = parse_any(&r.curl()).unwrap();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::BodyReserialized,
        true,
    );
}

#[test]
fn path_prefix_stripped_from_the_signed_path() {
    let c = parse_any(&Req::get("/darktrace/status", sig("/status")).curl()).unwrap();
    let ex = explain_captured(&c);
    expect(&c, &ex, Rule::Signature, MistakeId::PathPrefix, true);
    assert!(ex.mistake.unwrap().detail.contains("`/darktrace` prefix"));
}

#[test]
fn path_prefix_added_then_stripped_by_a_proxy() {
    let c = parse_any(&Req::get("/status?x=1", sig("/api/status?x=1")).har()).unwrap();
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::PathPrefix,
        true,
    );
}

#[test]
fn path_prefix_from_a_hint() {
    let c = parse_any(&Req::get("/devices", sig("/custom-gw/devices")).http()).unwrap();
    assert_eq!(mistake_id(&explain_captured(&c)), "wrong-secret");
    let ex = explain_hinted(&c, &["custom-gw/"]);
    assert_eq!(mistake_id(&ex), "path-prefix", "{}", ex.render_text());
    assert_no_secret(&ex, PRIV);
}

#[test]
fn full_url_signed() {
    let c = parse_any(&Req::get("/status", sig(&format!("https://{HOST}/status"))).curl()).unwrap();
    // Explain-only: the mock's parts carry no host.
    expect(
        &c,
        &explain_captured(&c),
        Rule::Signature,
        MistakeId::FullUrl,
        false,
    );
}

#[test]
fn wrong_secret_when_nothing_reproduces() {
    let s = sign(&Secret::new("another-private-token"), "/status", PUB, DATE);
    let c = parse_any(&Req::get("/status", s).http()).unwrap();
    let ex = explain_captured(&c);
    expect(&c, &ex, Rule::Signature, MistakeId::WrongSecret, true);
    assert!(ex.mistake.unwrap().detail.contains("another private token"));
}

// ----------------------------------------------------------------------------- without a secret

#[test]
fn without_the_secret_it_cannot_tell_but_still_judges_headers_and_dates() {
    let r = Req::get("/status", sig("/status"));
    let c = parse_any(&r.curl()).unwrap();
    let ex = explain(&c, None, None, NOW, skew());
    assert_eq!(ex.verdict, Verdict::CannotTellWithoutSecret);
    assert_eq!(ex.strings_to_sign, [format!("/status\n{PUB}\n{DATE}")]);
    assert!(ex
        .render_text()
        .contains(r#""/status\n5d1c0ffee0public7a3b\n20200415T133400""#));
    // A date problem needs no secret.
    let late = NOW + time::Duration::hours(3);
    let ex = explain(&c, None, Some(PUB), late, skew());
    assert_eq!((ex.verdict, ex.rule), (Verdict::Rejected, Some(Rule::Date)));
    assert_eq!(mistake_id(&ex), "local-time-as-utc");
    // Nor does a malformed signature.
    let c = parse_any(&Req::get("/status", "abc".into()).http()).unwrap();
    let ex = explain(&c, None, None, NOW, skew());
    assert_eq!(
        (ex.verdict, ex.rule),
        (Verdict::Rejected, Some(Rule::Signature))
    );
    assert_eq!(mistake_id(&ex), "signature-format");
}

#[test]
fn every_mistake_id_is_covered_by_a_test_here() {
    let src = include_str!("mistakes.rs");
    for id in MistakeId::ALL {
        let variant = format!("{id:?}");
        let named = src.contains(&format!("MistakeId::{variant}"))
            || src.contains(&format!("\"{}\"", id.as_str()));
        assert!(named, "no test names {id}");
    }
}
