//! Reports for CI: JUnit XML and JSON, and the case manifest.

use std::fmt::Write;

use crate::case::Case;
use crate::runner::{render, Report};

/// Escapes text for XML attributes and content.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The report as JUnit XML: one `testsuite`, one `testcase` per case.
pub fn junit(report: &Report) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"dt-conformance\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        report.results.len(),
        report.failed(),
        report.skipped(),
        report.seconds
    );
    let _ = writeln!(
        s,
        "  <testsuite name=\"dt-conformance\" hostname=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
        xml(&report.target),
        report.results.len(),
        report.failed(),
        report.skipped(),
        report.seconds
    );
    for r in &report.results {
        let classname = r.id.split('.').next().unwrap_or("case");
        let _ = write!(
            s,
            "    <testcase classname=\"dt-conformance.{}\" name=\"{}\" time=\"{:.3}\"",
            xml(classname),
            xml(r.id),
            r.seconds
        );
        match r.outcome {
            "failed" => {
                let f = r.failure.as_ref();
                let msg = f
                    .map(|f| format!("expected {}; got {}", f.expected, f.actual))
                    .unwrap_or_default();
                let _ = writeln!(s, ">");
                let _ = writeln!(
                    s,
                    "      <failure message=\"{}\" type=\"conformance\">{}</failure>",
                    xml(&msg),
                    xml(&render(r, &report.target))
                );
                let _ = writeln!(s, "    </testcase>");
            }
            "skipped" => {
                let _ = writeln!(s, ">");
                let _ = writeln!(
                    s,
                    "      <skipped message=\"{}\"/>",
                    xml(r.skip_reason.as_deref().unwrap_or(""))
                );
                let _ = writeln!(s, "    </testcase>");
            }
            _ => {
                let _ = writeln!(s, "/>");
            }
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

/// The report as pretty JSON. It holds no private token: exchanges carry only what
/// went over the wire.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".into())
}

/// The case manifest (`conformance/cases.md`), generated from the registry so that
/// adding, removing or renaming a case is a reviewed diff.
pub fn manifest(cases: &[Case]) -> String {
    let mut s = String::from(
        "# Conformance cases\n\n\
         Generated from the registry by `dt-conformance manifest`; a test fails when this file\n\
         is stale. Tags: `appliance` (read-only, safe against a real appliance), `mock-only`\n\
         (needs the mock's clock, journal or faults), `client` (asserts the client's behaviour).\n\n",
    );
    let _ = writeln!(s, "{} cases.\n", cases.len());
    s.push_str("| id | MUST | reference | tags | known divergences |\n|---|---|---|---|---|\n");
    for c in cases {
        let tags: Vec<&str> = c.tags.iter().map(|t| t.name()).collect();
        let div: Vec<String> = c
            .divergences
            .iter()
            .map(|d| format!("{}: {}", d.versions, d.reason))
            .collect();
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} |",
            c.id,
            c.must.replace('|', "\\|"),
            c.reference.replace('|', "\\|"),
            tags.join(", "),
            div.join("; ").replace('|', "\\|")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_control_characters() {
        assert_eq!(
            xml("a<b>&\"c'\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}"
        );
    }
}
