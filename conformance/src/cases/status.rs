//! `GET /status` (reference §3.1, §6.1).

use crate::case;
use crate::case::{ensure, Case, Failure};
use crate::probe::Probe;
use crate::target::Target;

/// The cases.
pub fn cases() -> Vec<Case> {
    vec![case!(
        "status.shape",
        "GET /status MUST answer 200 with a 2-space-indented JSON object holding version, time (YYYY-MM-DD HH:MM:SS), hostname, ipAddress, type and uptime.",
        "ref 3.1, 6.1",
        [Appliance],
        shape
    )]
}

async fn shape(t: &Target) -> Result<(), Failure> {
    let ex = t.send(&Probe::get("/status")).await?;
    let v = ex.json().unwrap_or_default();
    let time_ok = v["time"].as_str().is_some_and(|s| {
        dt_protocol::date::parse_time_param(s).is_some()
            && s.len() == 19
            && s.as_bytes()[10] == b' '
    });
    let keys_ok = ["version", "hostname", "ipAddress", "type", "uptime"]
        .iter()
        .all(|k| v.get(*k).is_some());
    ensure(
        ex.status == 200
            && ex.content_type.as_deref() == Some("application/json; charset=utf-8")
            && ex.body.starts_with("{\n  \"")
            && v.is_object()
            && time_ok
            && keys_ok,
        &ex,
        "HTTP 200, application/json; charset=utf-8, an indented object with version, time, hostname, ipAddress, type, uptime",
    )
}
