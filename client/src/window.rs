//! The sliding query windows (D6), the correlation-query schedule (D9) and time on the
//! wire (D7).
//!
//! D6: action start S, query time Q, interval I, delay D; n = ceil(Q/I); query k
//! (k = 0..=n) covers [S − Q + min(kI, Q), S + min(kI, Q)] and is issued at
//! S + min(kI, Q) + D. Every window is exactly Q long, the union is [S − Q, S + Q], and
//! the delay moves only the issue time, never the window. When I does not divide Q the
//! last window is capped at S + Q (Q=5m, I=45s: 8 windows, the last two ending at
//! S+4m30s and S+5m). Bounds are inclusive on both ends; D10 removes the overlaps.
//!
//! Correlation query (D9 says only "every `correlation_query_interval` over
//! [S − Q, issue time]"). Pinned: the same shape as D6 with Ic in place of I and a
//! growing window: n = ceil(Q/Ic), query k (k = 0..=n) covers
//! [S − Q, S + min(k·Ic, Q)] and is issued at S + min(k·Ic, Q) + D. So "issue time" is
//! read in the query's own clock before the delay: the delay again moves only when a
//! query runs, the cadence is Ic, and the last query covers the whole [S − Q, S + Q]
//! even when Ic does not divide Q. Q=5m, Ic=1m gives 6 queries ending S … S+5m.
//!
//! D7: `/details` and `/modelbreaches` take epoch milliseconds ([`wire_ms`]); advanced
//! search takes `YYYY-MM-DDTHH:MM:SS.mmmZ` ([`wire_iso`]). Event time adjustment E: a
//! window is sent in Darktrace's clock, shifted by −E ([`to_darktrace_clock`]); a record
//! time t from Darktrace becomes t + E ([`from_darktrace_clock`]).
//!
//! Nothing here reads a clock; non-positive Q or I give no windows rather than a panic.

use dt_protocol::DateFormat;
use time::{Duration, OffsetDateTime};

/// One scheduled query in our clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// k, from 0.
    pub index: u32,
    /// Window start (inclusive).
    pub from: OffsetDateTime,
    /// Window end (inclusive).
    pub to: OffsetDateTime,
    /// When the query may be issued: never earlier.
    pub issue_at: OffsetDateTime,
}

impl Window {
    /// Whether `t` lies in the window, both ends inclusive.
    pub fn contains(&self, t: OffsetDateTime) -> bool {
        self.from <= t && t <= self.to
    }

    /// The window as sent to Darktrace: shifted by −E (D7).
    pub fn to_darktrace_clock(&self, event_time_adjustment: Duration) -> WireWindow {
        to_darktrace_clock(self, event_time_adjustment)
    }
}

/// A window's bounds in Darktrace's clock, ready for the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireWindow {
    /// Start, in Darktrace's clock.
    pub from: OffsetDateTime,
    /// End, in Darktrace's clock.
    pub to: OffsetDateTime,
}

impl WireWindow {
    /// `starttime` for `/details` and `/modelbreaches` (epoch ms).
    pub fn starttime_ms(&self) -> i64 {
        wire_ms(self.from)
    }

    /// `endtime` for `/details` and `/modelbreaches` (epoch ms).
    pub fn endtime_ms(&self) -> i64 {
        wire_ms(self.to)
    }

    /// `time.from` for advanced search.
    pub fn from_iso(&self) -> String {
        wire_iso(self.from)
    }

    /// `time.to` for advanced search.
    pub fn to_iso(&self) -> String {
        wire_iso(self.to)
    }
}

fn nanos(d: Duration) -> i128 {
    d.whole_nanoseconds()
}

/// The number of windows D6 gives: ceil(Q/I) + 1, or 0 when Q or I is not positive.
pub fn window_count(q: Duration, i: Duration) -> u64 {
    let (q, i) = (nanos(q), nanos(i));
    if q <= 0 || i <= 0 {
        return 0;
    }
    let n = (q + i - 1) / i;
    u64::try_from(n + 1).unwrap_or(u64::MAX)
}

/// min(k·step, Q) as a duration, without overflow.
fn offset(k: u64, step: Duration, q: Duration) -> Duration {
    let ks = i128::from(k).saturating_mul(nanos(step));
    if ks >= nanos(q) {
        q
    } else {
        // ks < q, so it fits in a Duration.
        Duration::new(
            i64::try_from(ks / 1_000_000_000).unwrap_or(i64::MAX),
            i32::try_from(ks % 1_000_000_000).unwrap_or(0),
        )
    }
}

/// The D6 event-query windows, lazily. See the module doc.
#[derive(Debug, Clone)]
pub struct Windows {
    start: OffsetDateTime,
    q: Duration,
    step: Duration,
    d: Duration,
    growing: bool,
    next: u64,
    count: u64,
}

impl Iterator for Windows {
    type Item = Window;

    fn next(&mut self) -> Option<Window> {
        if self.next >= self.count {
            return None;
        }
        let k = self.next;
        self.next += 1;
        let off = offset(k, self.step, self.q);
        let to = self.start + off;
        let from = if self.growing {
            self.start - self.q
        } else {
            to - self.q
        };
        Some(Window {
            index: u32::try_from(k).unwrap_or(u32::MAX),
            from,
            to,
            issue_at: to + self.d,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.count - self.next).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Windows {}

/// The D6 event-query windows as an iterator (for schedules too long to collect).
pub fn iter_windows(start: OffsetDateTime, q: Duration, i: Duration, d: Duration) -> Windows {
    Windows {
        start,
        q,
        step: i,
        d,
        growing: false,
        next: 0,
        count: window_count(q, i),
    }
}

/// The D6 event-query windows: ceil(Q/I) + 1 of them, each exactly Q long.
pub fn windows(start: OffsetDateTime, q: Duration, i: Duration, d: Duration) -> Vec<Window> {
    iter_windows(start, q, i, d).collect()
}

/// The correlation-query windows (D9, pinned in the module doc): ceil(Q/Ic) + 1 of
/// them, all starting at S − Q, ending at S + min(k·Ic, Q), issued at end + D.
pub fn correlation_windows(
    start: OffsetDateTime,
    q: Duration,
    ic: Duration,
    d: Duration,
) -> Vec<Window> {
    Windows {
        start,
        q,
        step: ic,
        d,
        growing: true,
        next: 0,
        count: window_count(q, ic),
    }
    .collect()
}

/// Epoch milliseconds (floor), for `starttime`/`endtime` (D7).
pub fn wire_ms(t: OffsetDateTime) -> i64 {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC, for advanced search `time.from`/`time.to` (D7).
pub fn wire_iso(t: OffsetDateTime) -> String {
    DateFormat::IsoMillis.format(t)
}

/// A window in our clock → the same window in Darktrace's clock: both ends − E (D7).
pub fn to_darktrace_clock(window: &Window, event_time_adjustment: Duration) -> WireWindow {
    WireWindow {
        from: window.from - event_time_adjustment,
        to: window.to - event_time_adjustment,
    }
}

/// A record time in Darktrace's clock → our clock: t + E (D7).
pub fn from_darktrace_clock(t: OffsetDateTime, event_time_adjustment: Duration) -> OffsetDateTime {
    t + event_time_adjustment
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const S: OffsetDateTime = datetime!(2024-05-01 12:00:00 UTC);

    fn at(h: u8, m: u8, s: u8) -> OffsetDateTime {
        S.replace_hour(h)
            .unwrap()
            .replace_minute(m)
            .unwrap()
            .replace_second(s)
            .unwrap()
    }

    #[test]
    fn d6_guide_example_eleven_windows() {
        let w = windows(
            S,
            Duration::minutes(5),
            Duration::seconds(30),
            Duration::ZERO,
        );
        assert_eq!(w.len(), 11);
        assert_eq!(
            (w[0].from, w[0].to, w[0].issue_at),
            (at(11, 55, 0), at(12, 0, 0), at(12, 0, 0))
        );
        assert_eq!(
            (w[1].from, w[1].to, w[1].issue_at),
            (at(11, 55, 30), at(12, 0, 30), at(12, 0, 30))
        );
        assert_eq!(
            (w[10].from, w[10].to, w[10].issue_at),
            (at(12, 0, 0), at(12, 5, 0), at(12, 5, 0))
        );
        for (k, win) in w.iter().enumerate() {
            assert_eq!(win.index as usize, k);
            assert_eq!(win.from, at(11, 55, 0) + Duration::seconds(30 * k as i64));
            assert_eq!(win.to, at(12, 0, 0) + Duration::seconds(30 * k as i64));
            assert_eq!(win.issue_at, win.to);
        }
    }

    #[test]
    fn d6_delay_shifts_issue_not_window() {
        let plain = windows(
            S,
            Duration::minutes(5),
            Duration::seconds(30),
            Duration::ZERO,
        );
        let delayed = windows(
            S,
            Duration::minutes(5),
            Duration::seconds(30),
            Duration::minutes(10),
        );
        assert_eq!(delayed.len(), 11);
        for (p, d) in plain.iter().zip(&delayed) {
            assert_eq!((p.from, p.to), (d.from, d.to), "same window");
            assert_eq!(d.issue_at, p.issue_at + Duration::minutes(10));
        }
        assert_eq!(
            delayed[0].issue_at,
            at(12, 10, 0),
            "nothing before 12:10:00"
        );
        assert_eq!(delayed[10].issue_at, at(12, 15, 0), "nothing after S+Q+D");
    }

    #[test]
    fn d6_interval_not_dividing_query_time() {
        let w = windows(
            S,
            Duration::minutes(5),
            Duration::seconds(45),
            Duration::ZERO,
        );
        let ends: Vec<_> = w.iter().map(|w| w.to).collect();
        assert_eq!(
            ends,
            [
                at(12, 0, 0),
                at(12, 0, 45),
                at(12, 1, 30),
                at(12, 2, 15),
                at(12, 3, 0),
                at(12, 3, 45),
                at(12, 4, 30),
                at(12, 5, 0)
            ]
        );
        let starts: Vec<_> = w.iter().map(|w| w.from).collect();
        assert_eq!(starts[0], at(11, 55, 0));
        assert_eq!(starts[6], at(11, 59, 30));
        assert_eq!(starts[7], at(12, 0, 0));
        assert!(w.iter().all(|w| w.to - w.from == Duration::minutes(5)));
    }

    #[test]
    fn d6_interval_longer_than_query_time_gives_two_windows() {
        let w = windows(
            S,
            Duration::minutes(5),
            Duration::minutes(7),
            Duration::ZERO,
        );
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].from, w[0].to), (at(11, 55, 0), at(12, 0, 0)));
        assert_eq!((w[1].from, w[1].to), (at(12, 0, 0), at(12, 5, 0)));
    }

    #[test]
    fn d6_non_positive_settings_give_no_windows() {
        assert!(windows(S, Duration::ZERO, Duration::seconds(30), Duration::ZERO).is_empty());
        assert!(windows(S, Duration::minutes(5), Duration::ZERO, Duration::ZERO).is_empty());
        assert!(windows(
            S,
            Duration::minutes(5),
            Duration::seconds(-1),
            Duration::ZERO
        )
        .is_empty());
        assert_eq!(
            window_count(Duration::minutes(5), Duration::seconds(30)),
            11
        );
    }

    #[test]
    fn d6_iterator_matches_vec_and_reports_its_length() {
        let it = iter_windows(
            S,
            Duration::minutes(5),
            Duration::seconds(30),
            Duration::ZERO,
        );
        assert_eq!(it.len(), 11);
        assert_eq!(
            it.collect::<Vec<_>>(),
            windows(
                S,
                Duration::minutes(5),
                Duration::seconds(30),
                Duration::ZERO
            )
        );
    }

    #[test]
    fn d9_correlation_windows_grow_from_s_minus_q() {
        let w = correlation_windows(
            S,
            Duration::minutes(5),
            Duration::minutes(1),
            Duration::ZERO,
        );
        assert_eq!(w.len(), 6);
        for (k, win) in w.iter().enumerate() {
            assert_eq!(win.from, at(11, 55, 0));
            assert_eq!(win.to, at(12, k as u8, 0));
            assert_eq!(win.issue_at, win.to);
        }
        let delayed = correlation_windows(
            S,
            Duration::minutes(5),
            Duration::minutes(1),
            Duration::minutes(10),
        );
        assert_eq!(delayed[0].issue_at, at(12, 10, 0));
        assert_eq!(delayed[5].issue_at, at(12, 15, 0));
        assert_eq!(delayed[5].to, at(12, 5, 0));
        // Ic not dividing Q: the last query still reaches S + Q.
        let odd = correlation_windows(
            S,
            Duration::minutes(5),
            Duration::minutes(2),
            Duration::ZERO,
        );
        let ends: Vec<_> = odd.iter().map(|w| w.to).collect();
        assert_eq!(
            ends,
            [at(12, 0, 0), at(12, 2, 0), at(12, 4, 0), at(12, 5, 0)]
        );
    }

    #[test]
    fn d7_wire_formats() {
        let t = datetime!(2024-05-01 12:00:30.250 UTC);
        assert_eq!(wire_ms(t), 1_714_564_830_250);
        assert_eq!(wire_iso(t), "2024-05-01T12:00:30.250Z");
        assert_eq!(wire_iso(S), "2024-05-01T12:00:00.000Z");
        let offset = datetime!(2024-05-01 14:00:00 +02:00);
        assert_eq!(wire_iso(offset), "2024-05-01T12:00:00.000Z", "always UTC");
        assert_eq!(
            wire_ms(datetime!(1969-12-31 23:59:59.9995 UTC)),
            -1,
            "floor"
        );
    }

    #[test]
    fn d7_event_time_adjustment_both_directions() {
        let w = windows(
            S,
            Duration::minutes(5),
            Duration::seconds(30),
            Duration::ZERO,
        )[0];
        // E = +120 s: Darktrace's clock is 2 minutes behind ours.
        let plus = w.to_darktrace_clock(Duration::seconds(120));
        assert_eq!((plus.from, plus.to), (at(11, 53, 0), at(11, 58, 0)));
        assert_eq!(plus.starttime_ms(), wire_ms(at(11, 53, 0)));
        assert_eq!(plus.endtime_ms(), wire_ms(at(11, 58, 0)));
        assert_eq!(plus.from_iso(), "2024-05-01T11:53:00.000Z");
        assert_eq!(plus.to_iso(), "2024-05-01T11:58:00.000Z");
        assert_eq!(
            from_darktrace_clock(at(11, 58, 0), Duration::seconds(120)),
            at(12, 0, 0)
        );
        // E = −90 s: Darktrace's clock is ahead.
        let minus = to_darktrace_clock(&w, Duration::seconds(-90));
        assert_eq!((minus.from, minus.to), (at(11, 56, 30), at(12, 1, 30)));
        assert_eq!(
            from_darktrace_clock(at(12, 1, 30), Duration::seconds(-90)),
            at(12, 0, 0)
        );
        // Round trip: a record at the window's Darktrace end lands on our window end.
        for e in [-3600i64, -1, 0, 1, 7200] {
            let e = Duration::seconds(e);
            let wire = w.to_darktrace_clock(e);
            assert_eq!(from_darktrace_clock(wire.to, e), w.to);
            assert_eq!(from_darktrace_clock(wire.from, e), w.from);
        }
        // The issue time is ours and does not move.
        assert_eq!(w.issue_at, at(12, 0, 0));
    }

    #[test]
    fn d6_window_contains_is_inclusive() {
        let w = windows(
            S,
            Duration::minutes(5),
            Duration::seconds(30),
            Duration::ZERO,
        )[0];
        assert!(w.contains(w.from) && w.contains(w.to));
        assert!(!w.contains(w.to + Duration::nanoseconds(1)));
        assert!(!w.contains(w.from - Duration::nanoseconds(1)));
    }

    #[test]
    fn statement_8_event_at_1201_lies_in_windows_two_to_ten() {
        let w = windows(
            S,
            Duration::minutes(5),
            Duration::seconds(30),
            Duration::ZERO,
        );
        let hits: Vec<u32> = w
            .iter()
            .filter(|w| w.contains(at(12, 1, 0)))
            .map(|w| w.index)
            .collect();
        assert_eq!(hits, (2..=10).collect::<Vec<_>>());
    }

    proptest! {
        #[test]
        fn d6_window_arithmetic(
            start in 0i64..4_000_000_000,
            q_s in 1i64..=7200,
            i_s in 1i64..=3600,
            d_s in 0i64..=7200,
        ) {
            let s = OffsetDateTime::from_unix_timestamp(start).unwrap();
            let (q, i, d) = (Duration::seconds(q_s), Duration::seconds(i_s), Duration::seconds(d_s));
            let w = windows(s, q, i, d);
            let n = (q_s + i_s - 1) / i_s;
            prop_assert_eq!(w.len() as i64, n + 1);
            prop_assert_eq!(w.len() as u64, window_count(q, i));
            for win in &w {
                prop_assert_eq!(win.to - win.from, q);
                prop_assert!(win.issue_at >= win.to);
                prop_assert_eq!(win.issue_at - win.to, d);
            }
            for pair in w.windows(2) {
                prop_assert!(pair[1].issue_at > pair[0].issue_at);
                // Consecutive windows overlap or touch, so the union has no gap.
                prop_assert!(pair[1].from <= pair[0].to);
            }
            prop_assert_eq!(w.first().unwrap().from, s - q);
            prop_assert_eq!(w.last().unwrap().to, s + q);
            prop_assert_eq!(w.last().unwrap().issue_at, s + q + d);
        }

        #[test]
        fn d9_correlation_arithmetic(q_s in 1i64..=7200, ic_s in 1i64..=3600, d_s in 0i64..=600) {
            let (q, ic, d) = (Duration::seconds(q_s), Duration::seconds(ic_s), Duration::seconds(d_s));
            let w = correlation_windows(S, q, ic, d);
            prop_assert_eq!(w.len() as i64, (q_s + ic_s - 1) / ic_s + 1);
            prop_assert!(w.iter().all(|w| w.from == S - q && w.issue_at == w.to + d && w.to <= S + q));
            prop_assert_eq!(w.last().unwrap().to, S + q);
            for pair in w.windows(2) {
                prop_assert!(pair[1].issue_at > pair[0].issue_at);
            }
        }
    }
}
