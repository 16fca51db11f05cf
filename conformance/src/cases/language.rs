//! The advanced-search query language (reference §3.5; the dt-search grammar in
//! `search/src/parser.rs` and matching rules in `search/src/eval.rs`).
//!
//! Appliance cases take a sample record from the target (the newest of a fixed recent
//! window), build queries from its own values and check the answers against each other
//! and against the hits' contents: they never assume fixture values. Mock-only cases pin
//! the default world's counts and the mock's own choices.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::case;
use crate::case::{Case, Failure};
use crate::cases::devices::check;
use crate::cases::search::{
    custom, hits, ids, is_bad_request_page, require_hits, search, total, Window,
};
use crate::probe::Exchange;
use crate::target::Target;

/// The cases.
pub fn cases() -> Vec<Case> {
    vec![
        case!("language.match-all", "The search texts \"*\", \"\" and \"*:*\" MUST all match every record of the window.", "ref 3.5; search/src/lib.rs", [Appliance], match_all),
        case!("language.type-filter", "@type:T MUST return only records of type T, and at least the sampled one.", "ref 3.5 [DOC example]", [Appliance], type_filter),
        case!("language.field-term", "@fields.F:V MUST return only records whose @fields.F is V, including the sampled record.", "ref 3.5; search/src/eval.rs", [Appliance], field_term),
        case!("language.phrase", "@fields.F:\"V\" (a quoted phrase) MUST return the same records as @fields.F:V for a one-word value.", "ref 3.5; search/src/eval.rs", [Appliance], phrase),
        case!("language.group-or", "@type:(A OR B) MUST return exactly the records of @type:A plus those of @type:B.", "search/src/parser.rs (field groups)", [Appliance], group_or),
        case!("language.implicit-or", "Adjacent clauses without an operator (@type:A @type:B) MUST be OR'ed.", "search/src/parser.rs (Lucene default operator)", [Appliance], implicit_or),
        case!("language.and", "@type:T AND @fields.F:V MUST return only records satisfying both, including the sampled one.", "search/src/parser.rs", [Appliance], and),
        case!("language.parentheses", "Parentheses MUST group: @type:A OR (@type:B AND @type:<none>) matches exactly @type:A, and (@type:A OR @type:B) AND @type:<none> matches nothing.", "ref 3.5; search/src/parser.rs", [Appliance], parentheses),
        case!("language.and-or-precedence", "Without parentheses AND MUST bind tighter than OR (dt-search's reading): @type:A OR @type:B AND @type:<none> matches exactly @type:A.", "search/src/parser.rs; unverified: ES query_string does not honour this precedence (elastic/elasticsearch#30808)", [MockOnly], and_or_precedence),
        case!("language.not", "NOT @type:T MUST return every record of the window except those of type T.", "search/src/parser.rs, eval.rs", [Appliance], not),
        case!("language.minus-prefix", "-@type:T MUST mean NOT @type:T.", "search/src/parser.rs (prefixed clauses)", [Appliance], minus_prefix),
        case!("language.wildcard", "@type:<prefix>* MUST return only records whose type starts with the prefix, at least those of the full type.", "search/src/eval.rs (wildcards)", [Appliance], wildcard),
        case!("language.wildcard-single-char", "? in a value MUST match exactly one character (@type:<type with one letter as ?>).", "search/src/eval.rs (wildcards)", [Appliance], wildcard_single),
        case!("language.range-inclusive", "@fields.epochdate:[E TO E] MUST include the record whose epochdate is E and nothing else.", "search/src/eval.rs (ranges)", [Appliance], range_inclusive),
        case!("language.range-exclusive", "@fields.epochdate:{E TO E} MUST match nothing.", "search/src/eval.rs (ranges)", [Appliance], range_exclusive),
        case!("language.range-gt-spaced-colon", "@fields.epochdate :>E (space before the colon) MUST return only records after E; :>=E MUST add the record at E.", "ref 3.5 [CLIENT S6]; search/src/parser.rs", [Appliance], range_gt),
        case!("language.bare-term-message", "A bare term MUST search @message: the sampled record's uid finds it, and every hit's message holds the term.", "ref 3.5 (kibana.default_fields); search/src/eval.rs", [Appliance], bare_term),
        case!("language.parse-error-400", "An unparseable search text MUST get the 400 HTML page.", "world/src/api/search.rs", [MockOnly], parse_error),
        case!("language.case-insensitive-values", "Terms MUST match values ignoring ASCII case (@type:CONN = @type:conn).", "search/src/eval.rs", [MockOnly], case_insensitive),
        case!("language.fixture-counts", "Over the whole default world * MUST match all 3000 records, the totals of @type:T over its 7 record types MUST add up to 3000, and @type:(ssl OR http) MUST be ssl plus http.", "fixtures/worlds/default", [MockOnly], fixture_counts),
    ]
}

/// What the language cases build their queries from.
struct Sample {
    w: Window,
    /// hits.total of `*` over the window.
    all: u64,
    /// The sampled record.
    hit: Value,
    /// Its type.
    t1: String,
    /// Another type seen in the window, or a type no record has.
    t2: String,
}

const NO_TYPE: &str = "dtconformancenotype";
const PAGE: usize = 200;

/// Whether a value can be written as a bare query word.
fn wordy(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        && !matches!(s, "AND" | "OR" | "NOT" | "TO")
}

async fn sample(t: &Target) -> Result<Sample, Failure> {
    let w = Window::recent(t);
    let (ex, v) = search(t, &custom("*", w, PAGE, 0)).await?;
    require_hits(&ex, &v, w)?;
    let page = hits(&v);
    let good = |h: &&Value| {
        let f = &h["_source"]["@fields"];
        h["_source"]["@type"].as_str().is_some_and(wordy)
            && f["uid"].as_str().is_some_and(wordy)
            && f["epochdate"].is_number()
    };
    let Some(hit) = page.iter().find(good).cloned() else {
        return Err(Failure::with(
            &ex,
            "a record with a @type, @fields.uid and a numeric @fields.epochdate",
            "none among the newest 200 records of the window",
        ));
    };
    let t1 = hit["_source"]["@type"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let t2 = page
        .iter()
        .filter_map(|h| h["_source"]["@type"].as_str())
        .find(|ty| *ty != t1 && wordy(ty))
        .unwrap_or(NO_TYPE)
        .to_string();
    Ok(Sample {
        w,
        all: total(&v),
        hit,
        t1,
        t2,
    })
}

impl Sample {
    fn id(&self) -> String {
        self.hit["_id"].as_str().unwrap_or_default().to_string()
    }
    fn uid(&self) -> String {
        self.hit["_source"]["@fields"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
    fn epochdate(&self) -> String {
        self.hit["_source"]["@fields"]["epochdate"].to_string()
    }
    fn epoch_f64(&self) -> f64 {
        self.hit["_source"]["@fields"]["epochdate"]
            .as_f64()
            .unwrap_or_default()
    }
}

/// Runs a search text over the sample's window.
async fn run(t: &Target, s: &Sample, text: &str) -> Result<(Exchange, Value), Failure> {
    search(t, &custom(text, s.w, PAGE, 0)).await
}

fn types(v: &Value) -> BTreeSet<String> {
    hits(v)
        .iter()
        .filter_map(|h| h["_source"]["@type"].as_str().map(str::to_string))
        .collect()
}

fn contains_id(v: &Value, id: &str) -> bool {
    ids(v).iter().any(|x| x == id)
}

/// Checks a hits.total.
fn total_is(ex: &Exchange, v: &Value, want: u64, what: &str) -> Result<(), Failure> {
    check(
        total(v) == want,
        ex,
        format!("hits.total {want} ({what})"),
        || format!("hits.total {}", total(v)),
    )
}

async fn count(t: &Target, s: &Sample, text: &str) -> Result<u64, Failure> {
    Ok(total(&run(t, s, text).await?.1))
}

async fn match_all(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    for text in ["", "*:*"] {
        let (ex, v) = run(t, &s, text).await?;
        total_is(&ex, &v, s.all, "what * matches")?;
    }
    Ok(())
}

async fn type_filter(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let (ex, v) = run(t, &s, &format!("@type:{}", s.t1)).await?;
    check(
        total(&v) >= 1 && total(&v) <= s.all && types(&v) == BTreeSet::from([s.t1.clone()]),
        &ex,
        format!("only records of type {}", s.t1),
        || format!("hits.total {}, types {:?}", total(&v), types(&v)),
    )
}

async fn field_term(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let uid = s.uid();
    let (ex, v) = run(t, &s, &format!("@fields.uid:{uid}")).await?;
    check(
        contains_id(&v, &s.id())
            && hits(&v).iter().all(|h| {
                h["_source"]["@fields"]["uid"]
                    .as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(&uid))
            }),
        &ex,
        format!("only records with @fields.uid {uid}, including {}", s.id()),
        || format!("ids {:?}", ids(&v)),
    )
}

async fn phrase(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let uid = s.uid();
    let (_, word) = run(t, &s, &format!("@fields.uid:{uid}")).await?;
    let (ex, quoted) = run(t, &s, &format!("@fields.uid:\"{uid}\"")).await?;
    check(
        ids(&quoted) == ids(&word) && !ids(&word).is_empty(),
        &ex,
        format!("the records of @fields.uid:{uid}: {:?}", ids(&word)),
        || format!("{:?}", ids(&quoted)),
    )
}

async fn group_or(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let a = count(t, &s, &format!("@type:{}", s.t1)).await?;
    let b = count(t, &s, &format!("@type:{}", s.t2)).await?;
    let (ex, v) = run(t, &s, &format!("@type:({} OR {})", s.t1, s.t2)).await?;
    total_is(
        &ex,
        &v,
        a + b,
        &format!("@type:{} plus @type:{}", s.t1, s.t2),
    )?;
    let allowed = BTreeSet::from([s.t1.clone(), s.t2.clone()]);
    check(
        types(&v).is_subset(&allowed),
        &ex,
        format!("types within {allowed:?}"),
        || format!("{:?}", types(&v)),
    )
}

async fn implicit_or(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let a = count(t, &s, &format!("@type:{}", s.t1)).await?;
    let b = count(t, &s, &format!("@type:{}", s.t2)).await?;
    let (ex, v) = run(t, &s, &format!("@type:{} @type:{}", s.t1, s.t2)).await?;
    total_is(&ex, &v, a + b, "the two clauses OR'ed")
}

async fn and(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let uid = s.uid();
    let (ex, v) = run(t, &s, &format!("@type:{} AND @fields.uid:{uid}", s.t1)).await?;
    check(
        contains_id(&v, &s.id())
            && hits(&v).iter().all(|h| {
                h["_source"]["@type"] == s.t1.as_str()
                    && h["_source"]["@fields"]["uid"]
                        .as_str()
                        .is_some_and(|u| u.eq_ignore_ascii_case(&uid))
            }),
        &ex,
        format!("only {} records with uid {uid}, including {}", s.t1, s.id()),
        || format!("ids {:?}, types {:?}", ids(&v), types(&v)),
    )
}

async fn parentheses(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let a = count(t, &s, &format!("@type:{}", s.t1)).await?;
    let (ex, v) = run(
        t,
        &s,
        &format!("@type:{} OR (@type:{} AND @type:{NO_TYPE})", s.t1, s.t2),
    )
    .await?;
    total_is(&ex, &v, a, &format!("@type:{}", s.t1))?;
    let (ex, v) = run(
        t,
        &s,
        &format!("(@type:{} OR @type:{}) AND @type:{NO_TYPE}", s.t1, s.t2),
    )
    .await?;
    total_is(&ex, &v, 0, "nothing")
}

async fn and_or_precedence(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let a = count(t, &s, &format!("@type:{}", s.t1)).await?;
    let (ex, v) = run(
        t,
        &s,
        &format!("@type:{} OR @type:{} AND @type:{NO_TYPE}", s.t1, s.t2),
    )
    .await?;
    total_is(
        &ex,
        &v,
        a,
        &format!("@type:{} OR (@type:{} AND nothing)", s.t1, s.t2),
    )
}

async fn not(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let a = count(t, &s, &format!("@type:{}", s.t1)).await?;
    let (ex, v) = run(t, &s, &format!("NOT @type:{}", s.t1)).await?;
    total_is(&ex, &v, s.all - a, "all records minus that type")?;
    check(
        !types(&v).contains(&s.t1),
        &ex,
        format!("no record of type {}", s.t1),
        || format!("{:?}", types(&v)),
    )
}

async fn minus_prefix(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let (_, not) = run(t, &s, &format!("NOT @type:{}", s.t1)).await?;
    let (ex, minus) = run(t, &s, &format!("-@type:{}", s.t1)).await?;
    total_is(&ex, &minus, total(&not), "NOT @type:T")?;
    check(
        ids(&minus) == ids(&not),
        &ex,
        "the same hits as NOT",
        || format!("{:?}", ids(&minus)),
    )
}

async fn wildcard(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let prefix: String = s.t1.chars().take(2).collect();
    let a = count(t, &s, &format!("@type:{}", s.t1)).await?;
    let (ex, v) = run(t, &s, &format!("@type:{prefix}*")).await?;
    check(
        total(&v) >= a && types(&v).iter().all(|ty| ty.starts_with(&prefix)),
        &ex,
        format!("at least {a} records, all of a type starting with {prefix}"),
        || format!("hits.total {}, types {:?}", total(&v), types(&v)),
    )
}

async fn wildcard_single(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let mut pattern: Vec<char> = s.t1.chars().collect();
    let last = pattern.len() - 1;
    pattern[last] = '?';
    let pattern: String = pattern.into_iter().collect();
    let stem = &s.t1[..last];
    let a = count(t, &s, &format!("@type:{}", s.t1)).await?;
    let (ex, v) = run(t, &s, &format!("@type:{pattern}")).await?;
    check(
        total(&v) >= a
            && types(&v)
                .iter()
                .all(|ty| ty.len() == s.t1.len() && ty.starts_with(stem)),
        &ex,
        format!("at least {a} records, all of a type matching {pattern}"),
        || format!("hits.total {}, types {:?}", total(&v), types(&v)),
    )
}

fn epochs(v: &Value) -> Vec<f64> {
    hits(v)
        .iter()
        .map(|h| {
            h["_source"]["@fields"]["epochdate"]
                .as_f64()
                .unwrap_or(f64::NAN)
        })
        .collect()
}

async fn range_inclusive(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let e = s.epochdate();
    let (ex, v) = run(t, &s, &format!("@fields.epochdate:[{e} TO {e}]")).await?;
    check(
        contains_id(&v, &s.id()) && epochs(&v).iter().all(|x| *x == s.epoch_f64()),
        &ex,
        format!("the record at {e} and only records at {e}"),
        || format!("ids {:?}, epochdates {:?}", ids(&v), epochs(&v)),
    )
}

async fn range_exclusive(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let e = s.epochdate();
    let (ex, v) = run(t, &s, &format!("@fields.epochdate:{{{e} TO {e}}}")).await?;
    total_is(&ex, &v, 0, "an empty exclusive range")
}

async fn range_gt(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let e = s.epochdate();
    let (ex, gt) = run(t, &s, &format!("@fields.epochdate :>{e}")).await?;
    check(
        !contains_id(&gt, &s.id()) && epochs(&gt).iter().all(|x| *x > s.epoch_f64()),
        &ex,
        format!("only records after {e}"),
        || format!("epochdates {:?}", epochs(&gt)),
    )?;
    let (ex, ge) = run(t, &s, &format!("@fields.epochdate:>={e}")).await?;
    check(
        contains_id(&ge, &s.id())
            && total(&ge) > total(&gt)
            && epochs(&ge).iter().all(|x| *x >= s.epoch_f64()),
        &ex,
        format!("the records after {e} plus the one at {e}"),
        || {
            format!(
                "hits.total {} (> gave {}), ids {:?}",
                total(&ge),
                total(&gt),
                ids(&ge)
            )
        },
    )
}

async fn bare_term(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let uid = s.uid();
    if !s.hit["_source"]["@message"]
        .as_str()
        .is_some_and(|m| m.contains(&uid))
    {
        return Err(Failure::new(
            format!("the sampled record's @message to hold its uid {uid}"),
            format!("@message {}", s.hit["_source"]["@message"]),
        ));
    }
    let (ex, v) = run(t, &s, &uid).await?;
    let lower = uid.to_ascii_lowercase();
    check(
        contains_id(&v, &s.id())
            && hits(&v).iter().all(|h| {
                h["_source"]["@message"]
                    .as_str()
                    .is_some_and(|m| m.to_ascii_lowercase().contains(&lower))
            }),
        &ex,
        format!("records whose @message holds {uid}, including {}", s.id()),
        || format!("ids {:?}", ids(&v)),
    )
}

async fn parse_error(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    for text in [
        "@fields.source_ip:(((",
        "@type:conn AND",
        "@fields.epochdate:[1 TO",
    ] {
        let q = custom(text, s.w, 5, 0);
        let ex = t
            .send(&crate::cases::search::get_probe(&base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                q.to_string(),
            )))
            .await?;
        is_bad_request_page(&ex)?;
    }
    Ok(())
}

async fn case_insensitive(t: &Target) -> Result<(), Failure> {
    let s = sample(t).await?;
    let (_, lower) = run(t, &s, &format!("@type:{}", s.t1.to_ascii_lowercase())).await?;
    let (ex, upper) = run(t, &s, &format!("@type:{}", s.t1.to_ascii_uppercase())).await?;
    check(
        total(&upper) == total(&lower) && total(&lower) > 0,
        &ex,
        format!("hits.total {} as in lower case", total(&lower)),
        || format!("hits.total {}", total(&upper)),
    )
}

async fn fixture_counts(t: &Target) -> Result<(), Failure> {
    let count = |text: &str| {
        let q = json!({"search": text, "fields": [], "timeframe": "172800", "size": 1});
        async move { search(t, &q).await }
    };
    let (ex, v) = count("*").await?;
    total_is(&ex, &v, 3000, "every record of the default world")?;
    let mut sum = 0;
    let mut per_type = Vec::new();
    for ty in ["conn", "dns", "ssl", "http", "firewall", "ids", "edr"] {
        let (ex, v) = count(&format!("@type:{ty}")).await?;
        check(total(&v) > 0, &ex, format!("records of type {ty}"), || {
            "none".into()
        })?;
        sum += total(&v);
        per_type.push(total(&v));
    }
    check(
        sum == 3000,
        &ex,
        "per-type totals adding up to 3000",
        || format!("{per_type:?} = {sum}"),
    )?;
    let (ex, v) = count("@type:(ssl OR http)").await?;
    total_is(&ex, &v, per_type[2] + per_type[3], "ssl plus http")
}
