//! Integration tests for dt-mock, one binary. Modules:
//! - `support`: start an in-process mock on 127.0.0.1:0, raw HTTP requests.
//! - `vectors`: every golden signature vector over the wire.
//! - `auth`: the D3 answers byte for byte, the journal, the log line.
//! - `status`: the /status shape.
//! - `faults`: run-time faults and the clock through the admin API.
//! - `secrets`: the private token appears in no log, journal or Debug output.

mod support;

mod auth;
mod faults;
mod secrets;
mod status;
mod vectors;
