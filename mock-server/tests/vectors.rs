//! Every golden vector, sent over a socket to an in-process mock whose clock is
//! set to the vector's server time.

use std::path::PathBuf;

use dt_mock::journal::Verdict;
use dt_mock::{MockClock, MockConfig, Token, TokenSet};
use dt_protocol::Secret;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::support::{raw, start};

fn vectors() -> Vec<serde_json::Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/signatures");
    let mut v: Vec<serde_json::Value> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect();
    v.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    v
}

#[tokio::test]
async fn every_golden_vector_gets_its_verdict_over_the_wire() {
    let all = vectors();
    assert!(all.len() >= 32);
    for v in all {
        let name = v["name"].as_str().unwrap();
        let tokens = TokenSet::new(
            v["server_tokens"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| Token {
                    public: p[0].as_str().unwrap().into(),
                    private: Secret::new(p[1].as_str().unwrap()),
                    denied: vec![],
                })
                .collect(),
        );
        let now = OffsetDateTime::parse(v["server_time"].as_str().unwrap(), &Rfc3339).unwrap();
        let mut config = MockConfig::new(tokens, MockClock::manual(now));
        config.settings.max_skew = time::Duration::seconds(v["max_skew_seconds"].as_i64().unwrap());
        let mock = start(config).await;
        let headers: Vec<(&str, &str)> = v["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, x)| (k.as_str(), x.as_str().unwrap()))
            .collect();
        let body = v["body"].as_str().unwrap_or("").as_bytes();
        let target = v["target"].as_str().unwrap();
        let resp = raw(
            mock.addr,
            v["method"].as_str().unwrap(),
            target,
            &headers,
            body,
        )
        .await;
        let entry = mock.state.journal.all().pop().expect("a journal entry");
        match v["verdict"].as_str().unwrap() {
            "accept" => assert_eq!(entry.verdict, Verdict::Accepted, "vector {name}: {entry:?}"),
            verdict => {
                assert_eq!(entry.verdict, Verdict::Rejected, "vector {name}");
                assert_eq!(
                    resp.status as u64,
                    v["status"].as_u64().unwrap(),
                    "vector {name}"
                );
                let segment = dt_protocol::target::first_segment(target.split('?').next().unwrap());
                let want = match verdict {
                    "signature-error" => {
                        format!("{{\n  \"{segment}\": \"API SIGNATURE ERROR\"\n}}")
                    }
                    "date-error" => format!("{{\n  \"{segment}\": \"API DATE ERROR\"\n}}"),
                    "login" => "Found. Redirecting to /login".to_string(),
                    other => panic!("unknown verdict {other}"),
                };
                assert_eq!(resp.text(), want, "vector {name}");
            }
        }
    }
}
