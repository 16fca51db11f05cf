//! `%IPS%` and `%HOSTNAMES%` expansion (D8).
//!
//! `%IPS%` is the action's source then destination IPs, `%HOSTNAMES%` its hostnames:
//! deduplicated, first-seen order, each double-quoted with `\` and `"` escaped by a
//! backslash, joined by ` OR `. `@fields.src_ip:(%IPS%)` with two IPs becomes
//! `@fields.src_ip:("10.0.0.1" OR "10.0.0.2")`. Quoting keeps IPv6 (`"fe80::1"`) and
//! hostnames with `-` or `/` valid Lucene.
//!
//! Pinned where D8 is silent:
//! - Macro names are matched exactly (upper case, with both `%`); any other `%WORD%` is
//!   left as written. A template without macros is sent as it is.
//! - A query is skipped when ANY macro it uses has an empty list: sending it would put
//!   `()` into the search (a syntax error) or, worse, match unrelated records. The
//!   skip names what was missing ([`SkipReason`]).
//! - Blank values are ignored (an action never holds them).

use std::fmt;

use crate::action::{Action, Identifiers};

/// The IP macro.
pub const IPS: &str = "%IPS%";
/// The hostname macro.
pub const HOSTNAMES: &str = "%HOSTNAMES%";

/// Why a query was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The query uses `%IPS%` and the action has no IPs.
    NoIps,
    /// The query uses `%HOSTNAMES%` and the action has no hostnames.
    NoHostnames,
    /// The query uses both and the action has neither.
    NoIpsOrHostnames,
}

impl SkipReason {
    /// The reason as the run summary shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NoIps => "no IPs",
            SkipReason::NoHostnames => "no hostnames",
            SkipReason::NoIpsOrHostnames => "no IPs and no hostnames",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of expanding a query template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expansion {
    /// The query to send.
    Query(String),
    /// The query must not be sent.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
}

/// Anything that has the identifiers a template can name.
pub trait MacroValues {
    /// The `%IPS%` list.
    fn macro_ips(&self) -> &[String];
    /// The `%HOSTNAMES%` list.
    fn macro_hostnames(&self) -> &[String];
}

impl MacroValues for Action {
    fn macro_ips(&self) -> &[String] {
        self.ips()
    }
    fn macro_hostnames(&self) -> &[String] {
        self.hostnames()
    }
}

impl MacroValues for Identifiers {
    fn macro_ips(&self) -> &[String] {
        &self.ips
    }
    fn macro_hostnames(&self) -> &[String] {
        &self.hostnames
    }
}

/// Quotes one value: `"` + value with `\` → `\\` and `"` → `\"` + `"`.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The macro list: values deduplicated (first-seen order), quoted, joined by ` OR `.
/// `None` when there is no non-blank value.
pub fn join_values<S: AsRef<str>>(values: &[S]) -> Option<String> {
    let mut seen: Vec<&str> = Vec::with_capacity(values.len());
    for v in values {
        let v = v.as_ref();
        if !v.trim().is_empty() && !seen.contains(&v) {
            seen.push(v);
        }
    }
    if seen.is_empty() {
        return None;
    }
    Some(
        seen.iter()
            .map(|v| quote(v))
            .collect::<Vec<_>>()
            .join(" OR "),
    )
}

/// Expands `%IPS%` and `%HOSTNAMES%` in `template` for an action (or a snapshot of its
/// identifiers taken when the window was issued).
pub fn expand(template: &str, values: &impl MacroValues) -> Expansion {
    expand_lists(template, values.macro_ips(), values.macro_hostnames())
}

/// [`expand`] with the lists given directly.
pub fn expand_lists<S: AsRef<str>, T: AsRef<str>>(
    template: &str,
    ips: &[S],
    hostnames: &[T],
) -> Expansion {
    let uses_ips = template.contains(IPS);
    let uses_hosts = template.contains(HOSTNAMES);
    let ip_list = if uses_ips { join_values(ips) } else { None };
    let host_list = if uses_hosts {
        join_values(hostnames)
    } else {
        None
    };
    let missing_ips = uses_ips && ip_list.is_none();
    let missing_hosts = uses_hosts && host_list.is_none();
    let reason = match (missing_ips, missing_hosts) {
        (true, true) => Some(SkipReason::NoIpsOrHostnames),
        (true, false) => Some(SkipReason::NoIps),
        (false, true) => Some(SkipReason::NoHostnames),
        (false, false) => None,
    };
    if let Some(reason) = reason {
        return Expansion::Skipped { reason };
    }
    // One pass, so a value that happens to contain a macro name is never re-expanded.
    let mut query = String::with_capacity(template.len());
    let mut rest = template;
    loop {
        let next_ip = rest.find(IPS);
        let next_host = rest.find(HOSTNAMES);
        let (at, len, list) = match (next_ip, next_host) {
            (Some(i), Some(h)) if h < i => (h, HOSTNAMES.len(), &host_list),
            (Some(i), _) => (i, IPS.len(), &ip_list),
            (None, Some(h)) => (h, HOSTNAMES.len(), &host_list),
            (None, None) => break,
        };
        query.push_str(&rest[..at]);
        query.push_str(list.as_deref().unwrap_or_default());
        rest = &rest[at + len..];
    }
    query.push_str(rest);
    Expansion::Query(query)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;
    use proptest::prelude::*;
    use time::macros::datetime;

    const IP_QUERY: &str = "@fields.src_ip:(%IPS%) OR @fields.dest_ip:(%IPS%)";
    const HOST_QUERY: &str = "@fields.host:(%HOSTNAMES%)";

    fn action(src: &[&str], dest: &[&str], hosts: &[&str]) -> Action {
        Action::new("a", datetime!(2024-05-01 12:00 UTC), src, dest, hosts).unwrap()
    }

    fn query(e: Expansion) -> String {
        match e {
            Expansion::Query(q) => q,
            other => panic!("expected a query, got {other:?}"),
        }
    }

    #[test]
    fn d8_guide_example_exactly() {
        let a = action(&["10.0.0.1"], &["10.0.0.2"], &[]);
        assert_eq!(
            query(expand("@fields.src_ip:(%IPS%)", &a)),
            r#"@fields.src_ip:("10.0.0.1" OR "10.0.0.2")"#
        );
        assert_eq!(
            query(expand(IP_QUERY, &a)),
            r#"@fields.src_ip:("10.0.0.1" OR "10.0.0.2") OR @fields.dest_ip:("10.0.0.1" OR "10.0.0.2")"#
        );
    }

    #[test]
    fn d8_ipv6_and_quotes() {
        let a = action(&["fe80::1"], &["2001:db8::5"], &[r#"we"ird\host"#]);
        assert_eq!(query(expand("%IPS%", &a)), r#""fe80::1" OR "2001:db8::5""#);
        assert_eq!(
            query(expand(HOST_QUERY, &a)),
            r#"@fields.host:("we\"ird\\host")"#
        );
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quote(""), r#""""#);
    }

    #[test]
    fn d8_duplicates_appear_once_in_first_seen_order() {
        let a = action(
            &["10.0.0.2", "10.0.0.1"],
            &["10.0.0.1", "10.0.0.3"],
            &["h1", "h2", "h1"],
        );
        assert_eq!(
            query(expand("%IPS%", &a)),
            r#""10.0.0.2" OR "10.0.0.1" OR "10.0.0.3""#
        );
        assert_eq!(
            query(expand(HOST_QUERY, &a)),
            r#"@fields.host:("h1" OR "h2")"#
        );
        // join_values deduplicates on its own too.
        assert_eq!(join_values(&["x", "y", "x", " "]).unwrap(), r#""x" OR "y""#);
    }

    #[test]
    fn d8_empty_lists_skip_the_query() {
        let no_ips = action(&[], &[], &["h"]);
        assert_eq!(
            expand(IP_QUERY, &no_ips),
            Expansion::Skipped {
                reason: SkipReason::NoIps
            }
        );
        let no_hosts = action(&["10.0.0.1"], &[], &[]);
        assert_eq!(
            expand(HOST_QUERY, &no_hosts),
            Expansion::Skipped {
                reason: SkipReason::NoHostnames
            }
        );
        let nothing = action(&[], &[], &[]);
        assert_eq!(
            expand("%IPS% %HOSTNAMES%", &nothing),
            Expansion::Skipped {
                reason: SkipReason::NoIpsOrHostnames
            }
        );
        assert_eq!(SkipReason::NoIps.to_string(), "no IPs");
        assert_eq!(SkipReason::NoHostnames.to_string(), "no hostnames");
    }

    #[test]
    fn d8_both_macros_in_one_query() {
        let a = action(&["10.0.0.1"], &[], &["web-1"]);
        assert_eq!(
            query(expand(
                "@fields.src_ip:(%IPS%) AND @fields.host:(%HOSTNAMES%)",
                &a
            )),
            r#"@fields.src_ip:("10.0.0.1") AND @fields.host:("web-1")"#
        );
        // One of the two lists empty: still skipped.
        let b = action(&["10.0.0.1"], &[], &[]);
        assert_eq!(
            expand("@fields.src_ip:(%IPS%) AND @fields.host:(%HOSTNAMES%)", &b),
            Expansion::Skipped {
                reason: SkipReason::NoHostnames
            }
        );
    }

    #[test]
    fn d8_values_are_never_re_expanded() {
        let q = expand_lists("%HOSTNAMES% %IPS%", &["%HOSTNAMES%"], &["%IPS%"]);
        assert_eq!(query(q), r#""%IPS%" "%HOSTNAMES%""#);
    }

    #[test]
    fn d8_template_without_macros_is_sent_as_is() {
        let nothing = action(&[], &[], &[]);
        let t = r#"@type:"ssl" AND @fields.dest_port:"443" AND %ips% AND %OTHER%"#;
        assert_eq!(query(expand(t, &nothing)), t);
    }

    #[test]
    fn d8_snapshot_expands_like_the_action() {
        let mut a = action(&["10.0.0.1"], &[], &["h"]);
        let snap = a.identifiers();
        a.add_ips(crate::action::IpRole::Source, ["10.0.0.9"])
            .unwrap();
        assert_eq!(query(expand("%IPS%", &snap)), r#""10.0.0.1""#);
        assert_eq!(query(expand("%IPS%", &a)), r#""10.0.0.1" OR "10.0.0.9""#);
    }

    /// Reads back a ` OR `-joined list of quoted values.
    fn unquote_list(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut chars = s.chars().peekable();
        loop {
            assert_eq!(
                chars.next(),
                Some('"'),
                "value must open with a quote in {s:?}"
            );
            let mut v = String::new();
            loop {
                match chars.next() {
                    Some('\\') => v.push(chars.next().expect("escape followed by a char")),
                    Some('"') => break,
                    Some(c) => v.push(c),
                    None => panic!("unterminated value in {s:?}"),
                }
            }
            out.push(v);
            if chars.peek().is_none() {
                return out;
            }
            let sep: String = chars.by_ref().take(4).collect();
            assert_eq!(sep, " OR ", "separator in {s:?}");
        }
    }

    proptest! {
        #[test]
        fn d8_quoting_round_trips(values in proptest::collection::vec("[ -~]{0,12}|\\PC{1,6}", 0..8)) {
            let mut want: Vec<String> = Vec::new();
            for v in &values {
                if !v.trim().is_empty() && !want.contains(v) {
                    want.push(v.clone());
                }
            }
            match join_values(&values) {
                None => prop_assert!(want.is_empty()),
                Some(list) => prop_assert_eq!(unquote_list(&list), want),
            }
        }

        #[test]
        fn d8_expansion_of_hostnames_round_trips(hosts in proptest::collection::vec("[a-zA-Z0-9\"\\\\. -]{1,10}", 1..6)) {
            let a = Action::new("a", datetime!(2024-05-01 12:00 UTC), [""; 0], [""; 0], &hosts);
            prop_assume!(a.is_ok());
            let a = a.unwrap();
            let q = query(expand("(%HOSTNAMES%)", &a));
            let inner = q.strip_prefix('(').unwrap().strip_suffix(')').unwrap();
            prop_assert_eq!(unquote_list(inner), a.hostnames().to_vec());
        }
    }
}
