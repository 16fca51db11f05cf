//! The Darktrace Threat Visualizer API's request-signing protocol.
//!
//! This crate does no IO and never reads a clock: the server time is always a
//! parameter. Both the mock's verifier and the client's signer use it, so the two
//! can never disagree about what a signature covers.
//!
//! Module map:
//! - [`secret`]: the private-token type, redacted in `Debug` and never `Display`ed.
//! - [`sign`]: the HMAC-SHA1 signature and the string it covers (DECISIONS D1).
//! - [`target`]: splitting a request target into path and query, and the decoded
//!   query form the appliance also accepts.
//! - [`date`]: parsing and formatting `DTAPI-Date` values (D2).
//! - [`verify`]: checking a whole request against a token store, a server time and
//!   an allowed skew, with a typed rejection that says why (D1–D3).
//! - [`duration`]: signed human durations such as `31m` or `-45m`, used by the
//!   command lines for skews and offsets.

pub mod date;
pub mod duration;
pub mod secret;
pub mod sign;
pub mod target;
pub mod verify;

pub use date::{parse_dtapi_date, DateError, DateFormat};
pub use duration::{parse_signed_duration, DurationError};
pub use secret::Secret;
pub use sign::{sign, string_to_sign, HEADER_DATE, HEADER_SIGNATURE, HEADER_TOKEN};
pub use verify::{Accepted, RejectKind, Rejection, RequestParts, SignedForm, TokenStore, Verifier};
