//! `DTAPI-Date` values (DECISIONS D2).
//!
//! Accepted, all read as UTC unless they carry an offset:
//! - compact `YYYYMMDDTHHMMSS` (the API guide's example);
//! - spaced `YYYY-MM-DD HH:MM:SS` (the API guide's other example);
//! - ISO-8601 `YYYY-MM-DDTHH:MM:SS`, with optional fractional seconds and an optional
//!   `Z` or `±HH:MM` offset (what Python's `isoformat()` and Go's RFC 3339 send).
//!
//! The signature covers the header exactly as sent, so the format only matters for
//! the skew check. The parser is hand-written so that it cannot panic on any input.

use std::fmt;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Why a date could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unrecognised DTAPI-Date {value:?}: expected YYYYMMDDTHHMMSS, YYYY-MM-DD HH:MM:SS or ISO-8601"
)]
pub struct DateError {
    /// The value as received (dates are not secret).
    pub value: String,
}

/// The formats a client can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFormat {
    /// `20200415T133400`
    Compact,
    /// `2020-04-15 13:34:00`
    Spaced,
    /// `2020-04-15T13:34:00Z`
    Iso,
    /// `2020-04-15T13:34:00.000Z`, the form advanced search uses for `time.from`/`time.to`.
    IsoMillis,
}

impl DateFormat {
    /// Every format, for tests that cover each one.
    pub const ALL: [DateFormat; 4] = [
        DateFormat::Compact,
        DateFormat::Spaced,
        DateFormat::Iso,
        DateFormat::IsoMillis,
    ];

    /// Formats a UTC time in this format.
    pub fn format(self, t: OffsetDateTime) -> String {
        let t = t.to_offset(UtcOffset::UTC);
        let (y, mo, d) = (t.year(), t.month() as u8, t.day());
        let (h, mi, s) = (t.hour(), t.minute(), t.second());
        match self {
            DateFormat::Compact => format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}"),
            DateFormat::Spaced => format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
            DateFormat::Iso => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
            DateFormat::IsoMillis => format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
                t.millisecond()
            ),
        }
    }
}

impl fmt::Display for DateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DateFormat::Compact => "compact",
            DateFormat::Spaced => "spaced",
            DateFormat::Iso => "iso",
            DateFormat::IsoMillis => "iso-millis",
        })
    }
}

/// Parses a `DTAPI-Date` header value.
pub fn parse_dtapi_date(value: &str) -> Result<OffsetDateTime, DateError> {
    parse(value.as_bytes()).ok_or_else(|| DateError {
        value: value.to_string(),
    })
}

/// Parses the time formats the appliance accepts in `from`/`to` query parameters and
/// advanced-search custom ranges: the same set as `DTAPI-Date`.
pub fn parse_time_param(value: &str) -> Option<OffsetDateTime> {
    parse(value.as_bytes())
}

fn parse(b: &[u8]) -> Option<OffsetDateTime> {
    // Compact: exactly 15 bytes, `YYYYMMDDTHHMMSS`.
    if b.len() == 15 && b[8] == b'T' {
        let date = date(num(&b[0..4])?, num(&b[4..6])?, num(&b[6..8])?)?;
        let time = Time::from_hms(
            num(&b[9..11])? as u8,
            num(&b[11..13])? as u8,
            num(&b[13..15])? as u8,
        )
        .ok()?;
        return Some(PrimitiveDateTime::new(date, time).assume_utc());
    }
    // Everything else starts `YYYY-MM-DD` then a `T` or a space, then `HH:MM:SS`.
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let sep = b[10];
    if sep != b'T' && sep != b' ' {
        return None;
    }
    let date = date(num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?)?;
    let (h, mi, s) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    let mut rest = &b[19..];
    let mut nanos: u32 = 0;
    if let Some((b'.', frac)) = rest.split_first() {
        let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let mut n = num(&frac[..digits])?;
        for _ in digits..9 {
            n *= 10;
        }
        nanos = n;
        rest = &frac[digits..];
    }
    let offset = match rest {
        [] => UtcOffset::UTC,
        [b'Z'] | [b'z'] => UtcOffset::UTC,
        [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
            let oh = num(&[*oh1, *oh2])? as i8;
            let om = num(&[*om1, *om2])? as i8;
            let (oh, om) = if *sign == b'-' { (-oh, -om) } else { (oh, om) };
            UtcOffset::from_hms(oh, om, 0).ok()?
        }
        _ => return None,
    };
    let time = Time::from_hms_nano(h as u8, mi as u8, s as u8, nanos).ok()?;
    // Checked: year 9999 with a negative offset is past the calendar in UTC.
    PrimitiveDateTime::new(date, time)
        .assume_offset(offset)
        .checked_to_offset(UtcOffset::UTC)
}

fn num(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')),
    )
}

fn date(y: u32, m: u32, d: u32) -> Option<Date> {
    let month = Month::try_from(u8::try_from(m).ok()?).ok()?;
    Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn accepts_every_documented_form() {
        let want = datetime!(2020-04-15 13:34:00 UTC);
        for s in [
            "20200415T133400",
            "2020-04-15 13:34:00",
            "2020-04-15T13:34:00",
            "2020-04-15T13:34:00Z",
            "2020-04-15T13:34:00.000Z",
            "2020-04-15T13:34:00.000000",
            "2020-04-15T13:34:00+00:00",
            "2020-04-15T15:34:00+02:00",
            "2020-04-15T11:34:00-02:00",
        ] {
            assert_eq!(parse_dtapi_date(s).unwrap(), want, "{s}");
        }
    }

    #[test]
    fn keeps_fractional_seconds() {
        let t = parse_dtapi_date("2024-05-01T12:34:56.789012").unwrap();
        assert_eq!(t.microsecond(), 789_012);
    }

    #[test]
    fn rejects_malformed_dates() {
        for s in [
            "",
            "yesterday",
            "2020-04-15",
            "20200415 133400",
            "2020-13-15 13:34:00",
            "2020-02-30 13:34:00",
            "2020-04-15 25:00:00",
            "2020-04-15T13:34:00.Z",
            "2020-04-15T13:34:00+0200",
            "2020-04-15T13:34:00 UTC",
            "Wed, 15 Apr 2020 13:34:00 GMT",
            "2020-04-15T13:34:00.1234567890Z",
            "9999-12-31T23:59:59-01:00",
        ] {
            assert!(parse_dtapi_date(s).is_err(), "{s}");
        }
    }

    #[test]
    fn formats_each_form() {
        let t = datetime!(2020-04-15 13:34:00.250 UTC);
        assert_eq!(DateFormat::Compact.format(t), "20200415T133400");
        assert_eq!(DateFormat::Spaced.format(t), "2020-04-15 13:34:00");
        assert_eq!(DateFormat::Iso.format(t), "2020-04-15T13:34:00Z");
        assert_eq!(DateFormat::IsoMillis.format(t), "2020-04-15T13:34:00.250Z");
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,40}") {
            let _ = parse_dtapi_date(&s);
        }

        #[test]
        fn format_then_parse_round_trips(secs in 0i64..4_102_444_800) {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            for f in DateFormat::ALL {
                prop_assert_eq!(parse_dtapi_date(&f.format(t)).unwrap(), t);
            }
        }
    }
}
