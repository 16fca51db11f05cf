//! Integration tests for dt-mock, one binary. Modules:
//! - `support`: start an in-process mock on 127.0.0.1:0, raw HTTP requests.
//! - `vectors`: every golden signature vector over the wire.
//! - `auth`: the D3 answers byte for byte, the journal, the log line.
//! - `status`: the /status shape.
//! - `faults`: run-time faults and the clock through the admin API.
//! - `secrets`: the private token appears in no log, journal or Debug output.
//! - `malformed`: malformed HTTP over raw TCP gets a 4xx or a close, never a 5xx.
//! - `scenarios`: every `--scenario` preset applies and shows its symptom over HTTP.
//! - `inject`: demo detections visible in advanced search, /details, /modelbreaches.
//! - `admin_cli`: `dt-mock fault|clock|reset|inject|journal` parsing and calls.
//! - `ui`: the live journal page at /_mock/.

mod support;

mod admin_cli;
mod auth;
mod faults;
mod inject;
mod malformed;
mod openapi;
mod scenarios;
mod secrets;
mod status;
mod ui;
mod vectors;
