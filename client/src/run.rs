//! Runs: one action, a job of many actions run concurrently, and the platform's Test
//! query over one window.
//!
//! - [`run_job`] runs each action's schedule ([`crate::scheduler::run_action`]) as its own
//!   task, at most `concurrency` at a time. In [`TimeMode::Virtual`] each action gets its
//!   own [`VirtualClock`] standing at its start, so one action's waits never move
//!   another's windows; in [`TimeMode::Real`] they share the [`RealClock`]. Requests are
//!   exactly what each schedule implies: nothing is shared or repeated between actions.
//! - [`query_window`] is the Test query: the configured event queries once over
//!   [from, to] (MSI: `/modelbreaches` and advanced search or `/details?pbid=`; legacy:
//!   `/devices?ip=` and `/details?did=`), results deduplicated and capped but not
//!   correlated to any action. Macros expand with the identifiers given (none: the
//!   queries that use them are skipped, and say so).
//! - [`parse_time`] reads the command line's times: RFC 3339 / the D2 forms (zone-less
//!   is UTC), `now`, and `now-1h` / `now+5m` (units as `parse_signed_duration`).

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::Semaphore;

use crate::action::{Action, Identifiers};
use crate::clock::{Clock, RealClock, VirtualClock};
use crate::flows::{Appliance, Uncorrelated};
use crate::scheduler::{
    run_action, ActionReport, ActionRun, Plan, RunOptions, RunSummary, ScheduleKind, SharedAction,
    Sink, Slot,
};
use crate::window::Window;

/// Which clock a run follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeMode {
    /// The wall clock: queries wait for their issue times.
    Real,
    /// A virtual clock per action, starting at the action's start: no waiting.
    Virtual,
}

/// Runs every action concurrently (at most `concurrency` at once, at least 1) and
/// returns their reports in the order given.
pub async fn run_job(
    app: Arc<dyn Appliance>,
    plan: Arc<Plan>,
    actions: Vec<SharedAction>,
    time: TimeMode,
    sink: Arc<dyn Sink>,
    opts: RunOptions,
    concurrency: usize,
) -> Vec<ActionReport> {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::with_capacity(actions.len());
    for action in actions {
        let (app, plan, sink, opts, permits) = (
            app.clone(),
            plan.clone(),
            sink.clone(),
            opts.clone(),
            permits.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            let start = action.read().unwrap_or_else(|p| p.into_inner()).start;
            let clock: Box<dyn Clock> = match time {
                TimeMode::Real => Box::new(RealClock),
                TimeMode::Virtual => Box::new(VirtualClock::new(start)),
            };
            run_action(&*app, &plan, &action, &*clock, &*sink, &opts).await
        }));
    }
    let mut reports = Vec::with_capacity(tasks.len());
    for t in tasks {
        match t.await {
            Ok(r) => reports.push(r),
            // A panicking action is a bug; surface it rather than lose it.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    reports
}

/// Runs one action to its end.
pub async fn run_one(
    app: &dyn Appliance,
    plan: &Plan,
    action: &SharedAction,
    time: TimeMode,
    sink: &dyn Sink,
    opts: &RunOptions,
) -> ActionReport {
    let start = action.read().unwrap_or_else(|p| p.into_inner()).start;
    match time {
        TimeMode::Real => run_action(app, plan, action, &RealClock, sink, opts).await,
        TimeMode::Virtual => {
            run_action(app, plan, action, &VirtualClock::new(start), sink, opts).await
        }
    }
}

/// The Test query: the event queries once over [from, to], uncorrelated (see the
/// module doc). `ids` fills the macros. The report's action is `test`.
pub async fn query_window(
    app: &dyn Appliance,
    plan: &Plan,
    from: OffsetDateTime,
    to: OffsetDateTime,
    ids: &Identifiers,
    sink: &dyn Sink,
    opts: &RunOptions,
) -> ActionReport {
    let clock = RealClock;
    let issued_at = clock.now();
    let window = Window {
        index: 0,
        from,
        to,
        issue_at: issued_at,
    };
    let mut run = ActionRun::new(
        plan,
        "test".into(),
        app,
        &clock,
        opts.retry,
        Box::new(Uncorrelated::new(plan.config.limit)),
        sink,
    );
    run.run_slot(ScheduleKind::Event, window, issued_at, ids)
        .await;
    let slots = [Slot {
        kind: ScheduleKind::Event,
        window,
    }];
    let summary = RunSummary::from_outcomes("test", &slots, &run.outcomes, run.results());
    ActionReport {
        summary,
        outcomes: run.outcomes,
    }
}

/// The identifiers of an action made from command-line values (validated as an
/// [`Action`] would validate them).
pub fn identifiers(
    src_ips: &[String],
    dest_ips: &[String],
    hostnames: &[String],
) -> Result<Identifiers, crate::action::ActionError> {
    Ok(Action::new(
        "test",
        OffsetDateTime::UNIX_EPOCH,
        src_ips,
        dest_ips,
        hostnames,
    )?
    .identifiers())
}

/// Reads a command-line time: RFC 3339 or another D2 form (zone-less = UTC), `now`,
/// or `now` plus or minus a duration (`now-1h`, `now+90s`).
pub fn parse_time(value: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let v = value.trim();
    if let Some(rest) = v.strip_prefix("now") {
        // `now` to the second: windows on whole seconds read better.
        let now = now.replace_nanosecond(0).unwrap_or(now);
        if rest.is_empty() {
            return Ok(now);
        }
        if rest.starts_with('-') || rest.starts_with('+') {
            return dt_protocol::parse_signed_duration(rest)
                .map(|d| now + d)
                .map_err(|e| e.to_string());
        }
    }
    dt_protocol::date::parse_time_param(v).ok_or_else(|| {
        format!(
            "invalid time {value:?}: expected RFC 3339 (2024-05-01T12:00:00Z), \
             YYYY-MM-DD HH:MM:SS (UTC), now, or now-1h"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use time::Duration;

    #[test]
    fn times_on_the_command_line() {
        let now = datetime!(2024-05-01 12:00:00 UTC);
        assert_eq!(parse_time("now", now).unwrap(), now);
        assert_eq!(parse_time("now-1h", now).unwrap(), now - Duration::hours(1));
        assert_eq!(
            parse_time("now+90s", now).unwrap(),
            now + Duration::seconds(90)
        );
        assert_eq!(
            parse_time("2024-05-01T11:00:00Z", now).unwrap(),
            datetime!(2024-05-01 11:00:00 UTC)
        );
        assert_eq!(
            parse_time("2024-05-01 11:00:00", now).unwrap(),
            datetime!(2024-05-01 11:00:00 UTC)
        );
        assert!(parse_time("yesterday", now).is_err());
        assert!(parse_time("now-1y", now).is_err());
    }
}
