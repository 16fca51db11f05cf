//! The verdict on a captured request, as the appliance would give it, and why.
//!
//! [`explain`] runs dt-protocol's [`Verifier`] (so the verdict is exactly the
//! mock's rule), fills in what the appliance would answer, the strings to sign it
//! tries, the date comparison, and, for a failure, the customer mistake that
//! reproduces the captured request (see [`crate::mistake`]).
//!
//! The private token never reaches an [`Explanation`]: texts are built without it,
//! and as a last guard every string is scrubbed of it (a customer who swapped the
//! tokens sends the private one in `DTAPI-Token`).

use dt_protocol::target::{first_segment, split_target};
use dt_protocol::verify::signed_targets;
use dt_protocol::{
    parse_dtapi_date, string_to_sign, Rejection, Secret, SignedForm, Verifier, HEADER_DATE,
    HEADER_SIGNATURE, HEADER_TOKEN,
};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::capture::Captured;
use crate::mistake::{self, Mistake, SigInput};

/// What the appliance would do with the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// It passes authentication (the route then decides the answer).
    Accepted,
    /// It is refused; see the rule and the answer.
    Rejected,
    /// Headers and date pass, but the signature cannot be checked without the
    /// private token.
    CannotTellWithoutSecret,
}

impl Verdict {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Rejected => "rejected",
            Verdict::CannotTellWithoutSecret => "cannot-tell-without-secret",
        }
    }
}

/// The check that failed, in the appliance's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A `DTAPI-*` header is missing.
    Headers,
    /// The date is unreadable or outside the allowed skew.
    Date,
    /// The public token is unknown.
    Token,
    /// The signature matches none of the accepted strings to sign.
    Signature,
}

impl Rule {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Headers => "headers",
            Rule::Date => "date",
            Rule::Token => "token",
            Rule::Signature => "signature",
        }
    }
}

/// The appliance's answer to a refused request (live error style, D3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: String,
    /// The body, byte for byte.
    pub body: String,
    /// `Location`, for redirects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl Answer {
    fn login() -> Self {
        Answer {
            status: 302,
            content_type: "text/plain; charset=utf-8".into(),
            body: "Found. Redirecting to /login".into(),
            location: Some("/login".into()),
        }
    }

    fn error(segment: &str, text: &str) -> Self {
        let mut map = serde_json::Map::new();
        map.insert(segment.to_string(), serde_json::Value::String(text.into()));
        Answer {
            status: 400,
            content_type: "application/json; charset=utf-8".into(),
            body: serde_json::to_string_pretty(&serde_json::Value::Object(map)).unwrap_or_default(),
            location: None,
        }
    }
}

/// The parts of the request the verdict rests on (public values only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestSummary {
    /// Method.
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    /// `DTAPI-Token` (repeated headers joined with `", "`, as the appliance does).
    pub token: Option<String>,
    /// `DTAPI-Date`.
    pub date: Option<String>,
    /// `DTAPI-Signature`.
    pub signature: Option<String>,
    /// Body length in bytes.
    pub body_bytes: usize,
}

/// The date comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DateCheck {
    /// `DTAPI-Date` as sent.
    pub value: String,
    /// The time it means (RFC 3339, UTC), if readable.
    pub request_time: Option<String>,
    /// The server time it was compared with (RFC 3339).
    pub server_time: String,
    /// Request time minus server time, in seconds (positive: the client is ahead).
    pub skew_seconds: Option<i64>,
    /// The allowed skew either way, in seconds.
    pub allowed_skew_seconds: i64,
    /// Whether the date passes.
    pub within: bool,
}

/// Everything [`explain`] found out. Holds no private token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// What the appliance would do.
    pub verdict: Verdict,
    /// The rule that failed (none when accepted or undecided).
    pub rule: Option<Rule>,
    /// The request as the verdict read it.
    pub request: RequestSummary,
    /// The appliance's answer to a refused request.
    pub answer: Option<Answer>,
    /// The strings to sign the appliance tries, in order (public token and date,
    /// never the private token).
    pub strings_to_sign: Vec<String>,
    /// Which string matched, when accepted.
    pub signed_form: Option<SignedForm>,
    /// The date comparison, when a date was sent.
    pub date: Option<DateCheck>,
    /// The client's mistake, when one is named.
    pub mistake: Option<Mistake>,
    /// Further remarks for the support engineer.
    pub notes: Vec<String>,
}

/// Settings of an explanation; [`explain`] covers the common case.
#[derive(Debug, Clone, Copy)]
pub struct ExplainOptions<'a> {
    /// The private token, if the customer shared it (it is never output).
    pub secret: Option<&'a Secret>,
    /// The public token the private one belongs to; without it the captured
    /// `DTAPI-Token` is assumed to be it.
    pub known_public: Option<&'a str>,
    /// The appliance's clock at the time the request was sent.
    pub server_time: OffsetDateTime,
    /// The allowed skew (the appliance's is 30 minutes).
    pub max_skew: Duration,
    /// Extra path prefixes a proxy may strip (e.g. `/darktrace`); a few common
    /// ones are always tried.
    pub prefixes: &'a [&'a str],
}

/// Explains a captured request: would the appliance accept it, and if not, why.
pub fn explain(
    captured: &Captured,
    secret: Option<&Secret>,
    known_public: Option<&str>,
    server_time: OffsetDateTime,
    max_skew: Duration,
) -> Explanation {
    explain_with(
        captured,
        &ExplainOptions {
            secret,
            known_public,
            server_time,
            max_skew,
            prefixes: &[],
        },
    )
}

/// [`explain`] with every setting, including path-prefix hints.
pub fn explain_with(captured: &Captured, o: &ExplainOptions<'_>) -> Explanation {
    let parts = captured.parts();
    let token = parts.token.as_deref();
    let date = parts.date.as_deref();
    let provided = parts.signature.as_deref();
    let (path, _) = split_target(&captured.target);
    let segment = first_segment(path);
    let secret = o.secret.filter(|s| !s.is_empty());
    let token_is_secret = matches!((secret, token), (Some(s), Some(t)) if s.expose_secret() == t);

    let store: Vec<(String, Secret)> = match (secret, o.known_public, token) {
        (Some(s), Some(k), _) => vec![(k.to_string(), s.clone())],
        (Some(s), None, Some(t)) if !token_is_secret => vec![(t.to_string(), s.clone())],
        _ => Vec::new(),
    };
    let verifier = Verifier::new(o.max_skew);
    let result = verifier.verify(&parts, store.as_slice(), o.server_time);

    let mut ex = Explanation {
        verdict: Verdict::Rejected,
        rule: None,
        request: RequestSummary {
            method: captured.method.clone(),
            target: captured.target.clone(),
            token: token.map(str::to_string),
            date: date.map(str::to_string),
            signature: provided.map(str::to_string),
            body_bytes: captured.body.len(),
        },
        answer: None,
        strings_to_sign: match (token, date) {
            (Some(t), Some(d)) => {
                signed_targets(&captured.method, &captured.target, &captured.body)
                    .into_iter()
                    .map(|(_, st)| string_to_sign(&String::from_utf8_lossy(&st), t, d))
                    .collect()
            }
            _ => Vec::new(),
        },
        signed_form: None,
        date: date.map(|d| date_check(d, o.server_time, o.max_skew)),
        mistake: None,
        notes: Vec::new(),
    };
    let duplicated = |name: &str| {
        let n = captured
            .headers
            .iter()
            .filter(|(h, _)| h.eq_ignore_ascii_case(name))
            .count();
        (n > 1).then(|| mistake::duplicate_header(name, n))
    };

    match result {
        Ok(acc) => {
            ex.verdict = Verdict::Accepted;
            ex.signed_form = Some(acc.form);
            ex.notes.push(format!(
                "The signature is valid (it covers {}). The route now decides the answer: 200, or 302 to /login for an unknown route, or 302 to /403 when the token lacks the permission.",
                form_text(acc.form, &captured.target)
            ));
            ex.notes.push(
                "If the appliance still answers API SIGNATURE ERROR to this request, something between the client and the appliance changes it (a proxy rewriting the path or re-encoding the query): capture it where the appliance receives it.".into(),
            );
        }
        Err(Rejection::MissingHeaders { missing }) => {
            ex.rule = Some(Rule::Headers);
            ex.answer = Some(Answer::login());
            let near: Vec<String> = captured
                .headers
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| {
                    let l = n.to_ascii_lowercase();
                    (l.contains("dtapi") || l.contains("signature"))
                        && ![HEADER_TOKEN, HEADER_DATE, HEADER_SIGNATURE]
                            .iter()
                            .any(|h| h.eq_ignore_ascii_case(n))
                })
                .collect();
            ex.mistake = Some(mistake::missing_headers(&missing, &near));
        }
        Err(rej @ (Rejection::UnparseableDate { .. } | Rejection::Skew { .. })) => {
            ex.rule = Some(Rule::Date);
            ex.answer = Some(Answer::error(segment, "API DATE ERROR"));
            ex.mistake = Some(match (duplicated(HEADER_DATE), &rej) {
                (Some(m), _) => m,
                (
                    None,
                    Rejection::Skew {
                        request_time,
                        server_time,
                        allowed,
                    },
                ) => mistake::date_skew(date.unwrap_or(""), *request_time, *server_time, *allowed),
                (None, _) => mistake::date_format(date.unwrap_or("")),
            });
            // Would the rest pass once the clock is fixed?
            if let (Some(s), Some(t), Some(d), Some(sig)) = (secret, token, date, provided) {
                if o.known_public.is_none_or(|k| k == t) && !token_is_secret {
                    match verifier.check_signature(&parts, s, t, d, sig) {
                        Ok(form) => ex.notes.push(format!(
                            "Apart from the date the request is right: the signature is valid (it covers {}). Fixing the date is enough.",
                            form_text(form, &captured.target)
                        )),
                        Err(_) => {
                            let m = mistake::search_signature(
                                &SigInput {
                                    method: &captured.method,
                                    target: &captured.target,
                                    body: &captured.body,
                                    token: t,
                                    date: d,
                                    provided: sig,
                                    host: captured.host(),
                                    prefixes: o.prefixes,
                                    thorough: true,
                                },
                                s,
                            );
                            ex.notes.push(format!(
                                "Once the date is fixed the signature fails too: {}: {}",
                                m.id, m.detail
                            ));
                        }
                    }
                }
            }
        }
        Err(Rejection::UnknownToken { .. }) => {
            let t = token.unwrap_or("");
            let known_differs = o.known_public.is_some_and(|k| k != t);
            if let Some(m) = duplicated(HEADER_TOKEN) {
                ex.rule = Some(Rule::Token);
                ex.mistake = Some(m);
            } else if token_is_secret {
                ex.rule = Some(Rule::Token);
                ex.mistake = Some(mistake::swapped_config(o.known_public));
            } else if let (true, Some(k)) = (known_differs, o.known_public) {
                ex.rule = Some(Rule::Token);
                ex.mistake = Some(if swapped_with_public_key(captured, k) {
                    mistake::swapped_config(Some(k))
                } else {
                    mistake::unknown_token(t, Some(k))
                });
            } else if let Some(m) = duplicated(HEADER_SIGNATURE)
                .or_else(|| provided.and_then(mistake::signature_format_only))
            {
                // Whatever the token, this signature cannot pass.
                ex.rule = Some(Rule::Signature);
                ex.mistake = Some(m);
            } else {
                ex.verdict = Verdict::CannotTellWithoutSecret;
                ex.notes.push(
                    "The headers and the date pass. Without the private token the signature cannot be checked: the appliance computes HMAC-SHA1, keyed with the private token, over one of the strings to sign listed above. Give the private token to name the client's mistake, if any.".into(),
                );
            }
            if ex.verdict == Verdict::Rejected {
                ex.answer = Some(Answer::error(segment, "API SIGNATURE ERROR"));
            }
        }
        Err(Rejection::SignatureMismatch { provided: sent, .. }) => {
            ex.rule = Some(Rule::Signature);
            ex.answer = Some(Answer::error(segment, "API SIGNATURE ERROR"));
            let m = duplicated(HEADER_SIGNATURE).or_else(|| {
                let s = secret?;
                let (t, d) = (token?, date?);
                Some(mistake::search_signature(
                    &SigInput {
                        method: &captured.method,
                        target: &captured.target,
                        body: &captured.body,
                        token: t,
                        date: d,
                        provided: &sent,
                        host: captured.host(),
                        prefixes: o.prefixes,
                        thorough: true,
                    },
                    s,
                ))
            });
            ex.mistake = m;
        }
    }
    if let Some(s) = o.secret {
        scrub(&mut ex, s);
    }
    ex
}

/// Whether the request was signed with `public` as the key and the sent token (the
/// private one) in the message: the tokens are swapped in the client's settings.
fn swapped_with_public_key(c: &Captured, public: &str) -> bool {
    let parts = c.parts();
    let (Some(t), Some(d), Some(sig)) = (
        parts.token.as_deref(),
        parts.date.as_deref(),
        parts.signature.as_deref(),
    ) else {
        return false;
    };
    let key = Secret::new(public);
    let want = sig.to_ascii_lowercase();
    signed_targets(&c.method, &c.target, &c.body)
        .into_iter()
        .any(|(_, st)| {
            let msg = [st.as_slice(), b"\n", t.as_bytes(), b"\n", d.as_bytes()].concat();
            dt_protocol::sign::sign_bytes(&key, &msg) == want
        })
}

/// What a matching signature covered, in words.
fn form_text(form: SignedForm, target: &str) -> &'static str {
    let has_query = matches!(split_target(target).1, Some(q) if !q.is_empty());
    match form {
        SignedForm::Raw if has_query => "the path and query exactly as sent",
        SignedForm::Raw => "the path as sent",
        SignedForm::Decoded => "the path and the percent-decoded query",
        SignedForm::Body => "the path and the body",
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn date_check(value: &str, server_time: OffsetDateTime, max_skew: Duration) -> DateCheck {
    let parsed = parse_dtapi_date(value).ok();
    let skew = parsed.map(|t| (t - server_time).whole_seconds());
    DateCheck {
        value: value.to_string(),
        request_time: parsed.map(rfc3339),
        server_time: rfc3339(server_time),
        skew_seconds: skew,
        allowed_skew_seconds: max_skew.whole_seconds(),
        within: parsed.is_some_and(|t| (t - server_time).abs() <= max_skew),
    }
}

const REDACTED: &str = "[private token]";

/// Replaces every occurrence of the private token (and its trimmed form) in every
/// string of the explanation.
fn scrub(ex: &mut Explanation, secret: &Secret) {
    let raw = secret.expose_secret();
    let mut needles: Vec<&str> = vec![raw];
    let trimmed = raw.trim();
    if trimmed != raw && !trimmed.is_empty() {
        needles.push(trimmed);
    }
    needles.retain(|n| !n.is_empty());
    if needles.is_empty() {
        return;
    }
    let fix = |s: &mut String| {
        for n in &needles {
            if s.contains(n) {
                *s = s.replace(n, REDACTED);
            }
        }
    };
    let r = &mut ex.request;
    fix(&mut r.method);
    fix(&mut r.target);
    for s in [&mut r.token, &mut r.date, &mut r.signature]
        .into_iter()
        .flatten()
    {
        fix(s);
    }
    if let Some(a) = &mut ex.answer {
        fix(&mut a.body);
    }
    ex.strings_to_sign.iter_mut().for_each(fix);
    if let Some(d) = &mut ex.date {
        fix(&mut d.value);
    }
    if let Some(m) = &mut ex.mistake {
        fix(&mut m.detail);
        fix(&mut m.fix);
        if let Some(s) = &mut m.client_signed {
            fix(s);
        }
    }
    ex.notes.iter_mut().for_each(fix);
}

impl Explanation {
    /// A few lines for a support engineer: the verdict, the rule, the appliance's
    /// answer, the mistake and what to do, and the strings to sign with `\n` shown.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        let verdict = match (self.verdict, self.rule) {
            (Verdict::Accepted, _) => {
                "ACCEPTED: the appliance lets this request through".to_string()
            }
            (Verdict::CannotTellWithoutSecret, _) => {
                "CANNOT TELL without the private token (headers and date pass)".to_string()
            }
            (Verdict::Rejected, Some(rule)) => format!("REJECTED by the {} rule", rule.as_str()),
            (Verdict::Rejected, None) => "REJECTED".to_string(),
        };
        line(format!("verdict:  {verdict}"));
        let r = &self.request;
        let body = if r.body_bytes > 0 {
            format!(" (+{} byte body)", r.body_bytes)
        } else {
            String::new()
        };
        line(format!("request:  {} {}{body}", r.method, r.target));
        let show = |v: &Option<String>| {
            v.as_deref()
                .map_or("(missing)".to_string(), |s| format!("{s:?}"))
        };
        line(format!(
            "headers:  DTAPI-Token {}  DTAPI-Date {}  DTAPI-Signature {}",
            show(&r.token),
            show(&r.date),
            show(&r.signature)
        ));
        if let Some(a) = &self.answer {
            line(format!(
                "answer:   {} {} ({})",
                a.status,
                reason(a.status),
                a.content_type
            ));
            for l in a.body.lines() {
                line(format!("          {l}"));
            }
        }
        if let Some(d) = &self.date {
            let t = match (&d.request_time, d.skew_seconds) {
                (Some(rt), Some(skew)) => format!(
                    "{rt}; server {}; skew {}{} (allowed ±{}){}",
                    d.server_time,
                    if skew >= 0 { "+" } else { "-" },
                    mistake::human_duration(skew),
                    mistake::human_duration(d.allowed_skew_seconds),
                    if d.within { "" } else { "  OUT OF WINDOW" }
                ),
                _ => "unreadable".to_string(),
            };
            line(format!("date:     {t}"));
        }
        if let Some(m) = &self.mistake {
            line(format!("mistake:  {}", m.id));
            line(format!("          {}", m.detail));
            line(format!("fix:      {}", m.fix));
            if let Some(s) = &m.client_signed {
                line("client signed:".to_string());
                line(format!("          {s:?}"));
            }
        }
        if !self.strings_to_sign.is_empty() {
            line(if self.verdict == Verdict::Accepted {
                "appliance accepts any of (strings to sign):".to_string()
            } else {
                "appliance expects one of (strings to sign):".to_string()
            });
            for s in &self.strings_to_sign {
                line(format!("          {s:?}"));
            }
        }
        for n in &self.notes {
            line(format!("note:     {n}"));
        }
        out
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        _ => "",
    }
}
