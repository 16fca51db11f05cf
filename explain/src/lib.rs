//! Explains why the Darktrace appliance would accept or refuse a captured request.
//!
//! A support engineer gets "Api signature Error" and a captured request; this crate
//! says whether the appliance would accept it and, if not, which rule failed and
//! which known customer mistake reproduces the captured signature. It is pure: no
//! IO, no clock (the server time is a parameter), and it never outputs the private
//! token.
//!
//! Module map:
//! - [`capture`]: [`Captured`] requests read from a curl command line, a raw HTTP
//!   request, a HAR file or header lines ([`parse_any`] detects which).
//! - [`explain`](mod@explain): [`explain()`] and [`Explanation`] (verdict, rule, the
//!   appliance's answer, strings to sign, date check, mistake) with
//!   [`Explanation::render_text`] for the command line.
//! - [`mistake`]: the catalogue of [`MistakeId`]s, the signature search, and
//!   [`diagnose`], the cheap per-rejection entry point for the mock's journal.
//! - `encode` (private): percent-encoding the way client libraries do it.
//! - `shell` (private): the word splitter behind the curl parser.

pub mod capture;
mod encode;
pub mod explain;
pub mod mistake;
mod shell;

pub use capture::{detect_format, parse_any, CaptureError, CaptureFormat, Captured};
pub use explain::{
    explain, explain_with, Answer, DateCheck, ExplainOptions, Explanation, RequestSummary, Rule,
    Verdict,
};
pub use mistake::{diagnose, Mistake, MistakeId, BUILTIN_PREFIXES};
pub use shell::ShellError;
