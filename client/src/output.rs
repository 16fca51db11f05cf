//! Where a run's results go: JSON lines (one D11 normalized event per line), an
//! in-memory collection for tests, the progress bar of real-time runs, and the human
//! summary block.

use std::io::Write;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressStyle};

use crate::normalize::{rfc3339, NormalizedEvent};
use crate::scheduler::{FailureNote, Progress, RunSummary, ScheduleKind, Sink};

/// Writes every emitted record as one JSON line. Write errors are kept, and the first is
/// returned by [`JsonLines::finish`].
pub struct JsonLines {
    out: Mutex<(Box<dyn Write + Send>, Option<std::io::Error>)>,
}

impl JsonLines {
    /// Lines to `out` (wrap files in a `BufWriter`).
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        JsonLines {
            out: Mutex::new((out, None)),
        }
    }

    /// Flushes; the first write error, if any.
    pub fn finish(&self) -> std::io::Result<()> {
        let mut g = self.out.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = g.1.take() {
            return Err(e);
        }
        g.0.flush()
    }
}

impl Sink for JsonLines {
    fn emit(&self, _action: &str, event: &NormalizedEvent) {
        let mut line = match serde_json::to_vec(event) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize an event");
                return;
            }
        };
        line.push(b'\n');
        let mut g = self.out.lock().unwrap_or_else(|p| p.into_inner());
        if g.1.is_none() {
            if let Err(e) = g.0.write_all(&line) {
                g.1 = Some(e);
            }
        }
    }

    fn progress(&self, _progress: &Progress) {
        // A window is done: make its records visible to whoever tails the output.
        let mut g = self.out.lock().unwrap_or_else(|p| p.into_inner());
        if g.1.is_none() {
            if let Err(e) = g.0.flush() {
                g.1 = Some(e);
            }
        }
    }
}

/// Keeps every emitted record and progress report in memory (tests, embedding).
#[derive(Debug, Default)]
pub struct Collected {
    events: Mutex<Vec<(String, NormalizedEvent)>>,
    progress: Mutex<Vec<Progress>>,
}

impl Collected {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// The records emitted, in order, with their action's id.
    pub fn events(&self) -> Vec<(String, NormalizedEvent)> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The records emitted for one action, in order.
    pub fn for_action(&self, action: &str) -> Vec<NormalizedEvent> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(a, _)| a == action)
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// The progress reports, in order.
    pub fn progress(&self) -> Vec<Progress> {
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Sink for Collected {
    fn emit(&self, action: &str, event: &NormalizedEvent) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((action.to_string(), event.clone()));
    }

    fn progress(&self, progress: &Progress) {
        self.progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(progress.clone());
    }
}

/// A sink that shows a progress bar (on stderr) and passes everything on.
pub struct WithProgressBar {
    inner: Arc<dyn Sink>,
    bar: ProgressBar,
}

impl WithProgressBar {
    /// A bar over `windows` windows in front of `inner`.
    pub fn new(inner: Arc<dyn Sink>, windows: usize) -> Self {
        let bar = ProgressBar::new(windows as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} windows  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(250));
        WithProgressBar { inner, bar }
    }

    /// Says what the run waits for.
    pub fn waiting(&self, message: String) {
        self.bar.set_message(message);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Sink for WithProgressBar {
    fn emit(&self, action: &str, event: &NormalizedEvent) {
        self.inner.emit(action, event);
    }

    fn progress(&self, p: &Progress) {
        self.inner.progress(p);
        self.bar.set_length(p.windows_total as u64);
        self.bar.set_position(p.windows_done as u64);
        let what = match p.kind {
            ScheduleKind::Event => "window",
            ScheduleKind::Correlation => "correlation window",
        };
        let next = p
            .next_at
            .map(|t| format!("  next at {}", clock_time(t)))
            .unwrap_or_default();
        self.bar.set_message(format!(
            "{what} {} ({} – {})  queries: {} done, ~{} left, {} failed  events: {}  alerts: {}{next}",
            p.window,
            clock_time(p.from),
            clock_time(p.to),
            p.queries_done,
            p.queries_left,
            p.queries_failed,
            p.events,
            p.alerts
        ));
    }
}

fn clock_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The summary as a human block (for stderr).
pub fn render_summary(s: &RunSummary) -> String {
    let r = &s.results;
    let mut out = String::new();
    out.push_str(&format!("Run summary for action {}\n", s.action));
    out.push_str(&format!(
        "  windows:    {} event, {} correlation; {} with failures\n",
        s.windows, s.correlation_windows, s.windows_failed
    ));
    out.push_str(&format!(
        "  queries:    {} issued, {} skipped, {} failed, {} not sent\n",
        s.queries_issued, s.queries_skipped, s.queries_failed, s.queries_not_sent
    ));
    out.push_str(&format!(
        "  requests:   {} ({} retries)\n",
        s.requests, s.retries
    ));
    out.push_str(&format!(
        "  events:     {} (cut by the limit: {}; truncated: {})\n",
        r.events,
        r.events_over_limit,
        yes_no(r.events_truncated)
    ));
    out.push_str(&format!(
        "  alerts:     {} (cut by the limit: {}; truncated: {})\n",
        r.alerts,
        r.alerts_over_limit,
        yes_no(r.alerts_truncated)
    ));
    out.push_str(&format!(
        "  suspicious: {} kept, {} dropped, {} over the limit\n",
        r.suspicious_kept, r.suspicious_dropped, r.suspicious_over_limit
    ));
    out.push_str(&format!(
        "  truncated:  {} queries stopped at the limit; {} duplicates removed\n",
        r.truncated_queries, r.duplicates
    ));
    if !s.skipped.is_empty() {
        out.push_str("  skipped:\n");
        for k in &s.skipped {
            out.push_str(&format!(
                "    {}: {} ({} windows)\n",
                k.query, k.reason, k.windows
            ));
        }
    }
    if !s.failures.is_empty() {
        out.push_str("  failures:\n");
        // The same failure in many windows is shown once, with its windows.
        let mut groups: Vec<(&FailureNote, Vec<u32>)> = Vec::new();
        for f in &s.failures {
            match groups.iter_mut().find(|(g, _)| {
                g.schedule == f.schedule
                    && g.query == f.query
                    && g.kind == f.kind
                    && g.error == f.error
            }) {
                Some((_, windows)) => windows.push(f.window),
                None => groups.push((f, vec![f.window])),
            }
        }
        for (f, windows) in groups {
            let which = if windows.len() == 1 {
                format!("window {} at {}", f.window, rfc3339(f.issued_at))
            } else {
                format!(
                    "{} windows ({}), first at {}",
                    windows.len(),
                    windows
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    rfc3339(f.issued_at)
                )
            };
            out.push_str(&format!(
                "    {} {}, {}: [{}] {}\n",
                f.schedule.as_str(),
                which,
                f.query,
                f.kind,
                f.error
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::results::Summary;
    use time::macros::datetime;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn d11_json_lines_one_event_per_line() {
        let buf = Buf::default();
        let lines = JsonLines::new(Box::new(buf.clone()));
        let n = crate::normalize::Normalizer::new(
            crate::fieldmap::FieldMap::default(),
            time::Duration::ZERO,
            true,
        );
        for id in ["a", "b"] {
            let e = n.normalize(
                serde_json::json!({"_id": id, "_source": {"@fields": {"src_ip": "10.0.0.1"}}}),
                crate::normalize::Source::AdvancedSearch,
                crate::normalize::Kind::Event,
                Some("IP Query"),
            );
            lines.emit("a1", &e);
        }
        lines.finish().unwrap();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let ids: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
            .collect();
        assert_eq!(ids, ["\"a\"", "\"b\""]);
    }

    #[test]
    fn d13_summary_groups_a_repeated_failure() {
        let note = |window| FailureNote {
            schedule: ScheduleKind::Event,
            window,
            query: "modelbreaches".into(),
            issued_at: datetime!(2024-05-01 12:00:00 UTC),
            kind: ErrorKind::Signature,
            error: "Api signature Error: ...".into(),
        };
        let s = RunSummary {
            action: "a1".into(),
            windows: 11,
            correlation_windows: 0,
            windows_failed: 3,
            queries_issued: 3,
            queries_skipped: 0,
            queries_failed: 3,
            queries_not_sent: 0,
            requests: 3,
            retries: 0,
            results: Summary::default(),
            failures: vec![note(4), note(5), note(6)],
            skipped: vec![],
        };
        let text = render_summary(&s);
        assert!(
            text.contains("event 3 windows (4, 5, 6), first at 2024-05-01T12:00:00Z, modelbreaches: [signature] Api signature Error"),
            "{text}"
        );
        assert!(
            text.contains("3 issued, 0 skipped, 3 failed, 0 not sent"),
            "{text}"
        );
    }
}
