//! UTC timestamp formatting and parsing.
//!
//! Hand-rolled civil-date arithmetic (Howard Hinnant's algorithm) because the world
//! formats millions of timestamps while generating and rendering, and every format the
//! appliance uses is a fixed-width UTC layout.

use std::fmt::Write as _;

/// One second in milliseconds.
pub const SECOND_MS: i64 = 1_000;
/// One minute in milliseconds.
pub const MINUTE_MS: i64 = 60 * SECOND_MS;
/// One hour in milliseconds.
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millis: u32,
}

/// Breaks epoch milliseconds into UTC calendar fields.
pub fn civil(ms: i64) -> Civil {
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: (rem / HOUR_MS) as u32,
        minute: (rem % HOUR_MS / MINUTE_MS) as u32,
        second: (rem % MINUTE_MS / SECOND_MS) as u32,
        millis: (rem % SECOND_MS) as u32,
    }
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD HH:MM:SS`, the appliance's `time` fields and `from`/`to` form.
pub fn spaced(ms: i64) -> String {
    layout(ms, b"YYYY-MM-DD hh:mm:ss")
}

/// `YYYY-MM-DDTHH:MM:SS`, advanced search's `@timestamp`.
pub fn iso_secs(ms: i64) -> String {
    layout(ms, b"YYYY-MM-DDThh:mm:ss")
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, advanced search's `kibana.time` echo.
pub fn iso_millis(ms: i64) -> String {
    layout(ms, b"YYYY-MM-DDThh:mm:ss.fffZ")
}

/// `YYYY.MM.DD`, the date suffix of logstash index names.
pub fn index_date(ms: i64) -> String {
    layout(ms, b"YYYY.MM.DD")
}

/// Fills a fixed layout: `YYYY` year, `MM` month, `DD` day, `hh`, `mm`, `ss`, `fff`
/// milliseconds; other bytes are copied.
fn layout(ms: i64, pattern: &[u8]) -> String {
    let mut out = Vec::with_capacity(pattern.len());
    push_layout(&mut out, ms, pattern);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends [`layout`]'s text. Digits are written by hand (these run per hit and per
/// record); a year outside 0–9999 takes `format!`'s `{:04}`.
pub(crate) fn push_layout(out: &mut Vec<u8>, ms: i64, pattern: &[u8]) {
    let c = civil(ms);
    if !(0..=9999).contains(&c.year) {
        let mut s = String::new();
        let mut p = pattern;
        while !p.is_empty() {
            let (field, n): (i64, usize) = match p[0] {
                b'Y' => (c.year, 4),
                b'M' => (c.month.into(), 2),
                b'D' => (c.day.into(), 2),
                b'h' => (c.hour.into(), 2),
                b'm' => (c.minute.into(), 2),
                b's' => (c.second.into(), 2),
                b'f' => (c.millis.into(), 3),
                other => {
                    s.push(char::from(other));
                    p = &p[1..];
                    continue;
                }
            };
            let _ = write!(s, "{field:0n$}");
            p = &p[n..];
        }
        out.extend_from_slice(s.as_bytes());
        return;
    }
    let start = out.len();
    out.extend_from_slice(pattern);
    let text = &mut out[start..];
    let mut i = 0;
    while i < text.len() {
        let (mut field, n) = match text[i] {
            b'Y' => (c.year as u32, 4),
            b'M' => (c.month, 2),
            b'D' => (c.day, 2),
            b'h' => (c.hour, 2),
            b'm' => (c.minute, 2),
            b's' => (c.second, 2),
            b'f' => (c.millis, 3),
            _ => {
                i += 1;
                continue;
            }
        };
        for k in (0..n).rev() {
            text[i + k] = b'0' + (field % 10) as u8;
            field /= 10;
        }
        i += n;
    }
}

/// The start of the UTC day containing `ms` (`i64::MIN` for the first, partial day of
/// the range, whose start is not representable).
pub fn day_start(ms: i64) -> i64 {
    ms.saturating_sub(ms.rem_euclid(DAY_MS))
}

/// The start of the UTC hour containing `ms`.
pub fn hour_start(ms: i64) -> i64 {
    ms - ms.rem_euclid(HOUR_MS)
}

/// Parses a `from`/`to`/`iptime` value (`YYYY-MM-DD HH:MM:SS`, ISO-8601 with optional
/// fraction and zone, or compact) into epoch milliseconds.
pub fn parse_time(value: &str) -> Option<i64> {
    let t = dt_protocol::date::parse_time_param(value.trim())?;
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

/// Epoch microseconds as advanced search's `@fields.epochdate` (float seconds).
pub fn epoch_seconds(time_us: i64) -> f64 {
    time_us as f64 / 1e6
}

/// The epochdate as the first column of `@message` (four decimals, as the appliance prints it).
pub fn epoch_message_column(time_us: i64) -> String {
    format!("{:.4}", epoch_seconds(time_us))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        // 2020-04-15 08:00:00 UTC, from the reference's /details example.
        let ms = 1_586_937_600_000;
        assert_eq!(spaced(ms), "2020-04-15 08:00:00");
        assert_eq!(iso_secs(ms + 1_234), "2020-04-15T08:00:01");
        assert_eq!(iso_millis(ms + 1_234), "2020-04-15T08:00:01.234Z");
        assert_eq!(index_date(ms), "2020.04.15");
        assert_eq!(spaced(0), "1970-01-01 00:00:00");
        assert_eq!(spaced(951_782_400_000), "2000-02-29 00:00:00");
    }

    #[test]
    fn layouts_agree_with_format_for_any_year() {
        let old = |ms: i64| {
            let c = civil(ms);
            (
                format!(
                    "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                    c.year, c.month, c.day, c.hour, c.minute, c.second
                ),
                format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                    c.year, c.month, c.day, c.hour, c.minute, c.second, c.millis
                ),
                format!("{:04}.{:02}.{:02}", c.year, c.month, c.day),
            )
        };
        let year_ms = 31_556_952_000i64;
        for ms in [
            0,
            -1,
            1_586_937_601_234,
            -62_167_219_200_000 - 1,
            253_402_300_799_999,
            253_402_300_800_000,
            20_000 * year_ms,
            -20_000 * year_ms,
        ] {
            let (sp, mi, ix) = old(ms);
            assert_eq!(
                (spaced(ms), iso_millis(ms), index_date(ms)),
                (sp, mi.clone(), ix),
                "{ms}"
            );
            assert_eq!(iso_secs(ms), mi[..mi.len() - 5].to_string(), "{ms}");
        }
    }

    #[test]
    fn agrees_with_the_time_crate_across_years() {
        for i in 0..2_000i64 {
            let ms = i * 987_654_321_123 % 4_102_444_800_000;
            let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .unwrap();
            let c = civil(ms);
            assert_eq!(
                (c.year, c.month, c.day, c.hour, c.minute, c.second),
                (
                    i64::from(t.year()),
                    t.month() as u32,
                    u32::from(t.day()),
                    u32::from(t.hour()),
                    u32::from(t.minute()),
                    u32::from(t.second())
                ),
                "{ms}"
            );
        }
    }

    #[test]
    fn parses_param_forms() {
        let want = Some(1_586_937_600_000);
        assert_eq!(parse_time("2020-04-15 08:00:00"), want);
        assert_eq!(parse_time("2020-04-15T08:00:00Z"), want);
        assert_eq!(parse_time("2020-04-15T08:00:00.00Z"), want);
        assert_eq!(parse_time("20200415T080000"), want);
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn epoch_message_column_has_four_decimals() {
        assert_eq!(
            epoch_message_column(1_647_342_620_459_522),
            "1647342620.4595"
        );
        assert_eq!(
            epoch_seconds(1_647_342_620_459_522).to_string(),
            "1647342620.459522"
        );
    }
}
