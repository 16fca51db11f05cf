//! The mock's clock: the wall clock plus an adjustable offset, or a manual clock.
//!
//! An appliance whose clock is ahead or behind is reproduced with an offset
//! (`--clock-offset 31m`). Tests use a manual clock so nothing waits on real time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

/// Where "now" comes from.
#[derive(Debug)]
enum Source {
    /// The system's UTC clock.
    System,
    /// A fixed time in epoch ms, moved only by `advance`/`set`.
    Manual(AtomicI64),
}

/// A shareable clock with an offset that can change at run time.
#[derive(Debug, Clone)]
pub struct MockClock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    source: Source,
    offset_ms: AtomicI64,
    /// The offset the clock started with, restored by `reset_offset`.
    initial_offset_ms: i64,
}

impl MockClock {
    /// The system clock shifted by `offset`.
    pub fn system(offset: Duration) -> Self {
        MockClock {
            inner: Arc::new(Inner {
                source: Source::System,
                offset_ms: AtomicI64::new(offset.whole_milliseconds() as i64),
                initial_offset_ms: offset.whole_milliseconds() as i64,
            }),
        }
    }

    /// A clock that stands still at `at` until moved.
    pub fn manual(at: OffsetDateTime) -> Self {
        MockClock {
            inner: Arc::new(Inner {
                source: Source::Manual(AtomicI64::new(to_ms(at))),
                offset_ms: AtomicI64::new(0),
                initial_offset_ms: 0,
            }),
        }
    }

    /// The mock's current time (offset applied).
    pub fn now(&self) -> OffsetDateTime {
        from_ms(self.now_ms())
    }

    /// The mock's current time in epoch ms.
    pub fn now_ms(&self) -> i64 {
        let base = match &self.inner.source {
            Source::System => to_ms(OffsetDateTime::now_utc()),
            Source::Manual(ms) => ms.load(Ordering::Relaxed),
        };
        // Saturating: an absurd offset from the admin API must not overflow the clock.
        base.saturating_add(self.inner.offset_ms.load(Ordering::Relaxed))
    }

    /// The offset from the underlying clock.
    pub fn offset(&self) -> Duration {
        Duration::milliseconds(self.inner.offset_ms.load(Ordering::Relaxed))
    }

    /// Changes the offset (an appliance whose clock drifts or is corrected).
    pub fn set_offset(&self, offset: Duration) {
        self.inner
            .offset_ms
            .store(offset.whole_milliseconds() as i64, Ordering::Relaxed);
    }

    /// Restores the offset the clock started with.
    pub fn reset_offset(&self) {
        self.inner
            .offset_ms
            .store(self.inner.initial_offset_ms, Ordering::Relaxed);
    }

    /// Moves a manual clock forward; a system clock ignores it.
    pub fn advance(&self, by: Duration) {
        if let Source::Manual(ms) = &self.inner.source {
            ms.fetch_add(by.whole_milliseconds() as i64, Ordering::Relaxed);
        }
    }
}

/// Epoch milliseconds of a time.
pub fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The time at epoch milliseconds (clamped to the representable range).
pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = MockClock::manual(datetime!(2024-05-01 12:00 UTC));
        assert_eq!(c.now(), datetime!(2024-05-01 12:00 UTC));
        c.advance(Duration::minutes(5));
        c.set_offset(Duration::minutes(31));
        assert_eq!(c.now(), datetime!(2024-05-01 12:36 UTC));
    }
}
