//! The scheduler's clock (D6): real time against a real appliance, virtual time for
//! replays, tests and benchmarks.
//!
//! - [`RealClock`] reads the wall clock and sleeps on tokio's timer until a wall time.
//! - [`VirtualClock`] is a shareable instant that only moves when something sleeps on
//!   it: [`Clock::sleep_until`] jumps `now` forward at once (never backwards), so a
//!   5-minute schedule runs in as long as its requests take.
//!
//! Pinned here:
//! - Tokio's paused time is deliberately not used: a paused runtime auto-advances while
//!   it waits on socket IO and would fire request timeouts spuriously.
//! - Library code reads the wall clock only through [`RealClock`]. The transport's
//!   signatures always carry the real UTC time (the appliance checks them against its own
//!   clock); only the windows follow the scheduler's clock.
//! - Backoff between retries sleeps through the same clock, so it is instant in virtual
//!   time and real in real time.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::OffsetDateTime;

/// Where the scheduler's "now" comes from, and how it waits.
#[async_trait]
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> OffsetDateTime;
    /// Returns once `now() >= t` (at once when `t` has passed).
    async fn sleep_until(&self, t: OffsetDateTime);
}

/// The wall clock (UTC), waiting on tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealClock;

/// Longest single timer wait; the clock is re-read after each, so a suspended host or
/// a stepped wall clock delays a query by at most this much beyond its time.
const MAX_REAL_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

#[async_trait]
impl Clock for RealClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    async fn sleep_until(&self, t: OffsetDateTime) {
        loop {
            let left = t - self.now();
            if !left.is_positive() {
                return;
            }
            let wait = std::time::Duration::try_from(left)
                .unwrap_or(MAX_REAL_WAIT)
                .min(MAX_REAL_WAIT);
            tokio::time::sleep(wait).await;
        }
    }
}

/// A virtual instant, shared by clones: `sleep_until` moves it forward at once.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl VirtualClock {
    /// A clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        VirtualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock to `t` if `t` is later; never backwards.
    pub fn advance_to(&self, t: OffsetDateTime) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        if t > *now {
            *now = t;
        }
    }

    /// Moves the clock forward by `by` (ignored when not positive).
    pub fn advance(&self, by: time::Duration) {
        if by.is_positive() {
            let t = self.now() + by;
            self.advance_to(t);
        }
    }
}

#[async_trait]
impl Clock for VirtualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn sleep_until(&self, t: OffsetDateTime) {
        self.advance_to(t);
        // Let other tasks run, as a real wait would.
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use time::Duration;

    #[tokio::test]
    async fn d6_virtual_clock_jumps_forward_never_back() {
        let c = VirtualClock::new(datetime!(2024-05-01 12:00 UTC));
        let shared = c.clone();
        c.sleep_until(datetime!(2024-05-01 12:05 UTC)).await;
        assert_eq!(shared.now(), datetime!(2024-05-01 12:05 UTC));
        c.sleep_until(datetime!(2024-05-01 11:00 UTC)).await;
        assert_eq!(c.now(), datetime!(2024-05-01 12:05 UTC), "never backwards");
        c.advance(Duration::seconds(30));
        c.advance(Duration::seconds(-30));
        assert_eq!(c.now(), datetime!(2024-05-01 12:05:30 UTC));
    }

    #[tokio::test]
    async fn d6_real_clock_does_not_wait_for_the_past() {
        let c = RealClock;
        let before = c.now();
        c.sleep_until(before - Duration::hours(1)).await;
        assert!(c.now() - before < Duration::seconds(5));
    }
}
