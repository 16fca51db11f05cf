//! Signed human durations: `31m`, `-45m`, `30s`, `2h`, `1d`, `1500ms`, or a bare
//! number of seconds. The command lines use them for clock offsets and skews.

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {value:?}: expected an integer with a unit (ms, s, m, h, d), e.g. 31m or -45m")]
pub struct DurationError {
    /// The value as given.
    pub value: String,
}

/// Parses a signed duration into a [`time::Duration`].
pub fn parse_signed_duration(value: &str) -> Result<time::Duration, DurationError> {
    let err = || DurationError {
        value: value.to_string(),
    };
    let s = value.trim();
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(err());
    }
    let n: i64 = s[..digits].parse().map_err(|_| err())?;
    let millis_per_unit: i64 = match s[digits..].trim() {
        "ms" => 1,
        "" | "s" | "sec" | "secs" => 1_000,
        "m" | "min" | "mins" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return Err(err()),
    };
    let ms = n.checked_mul(millis_per_unit).ok_or_else(err)?;
    Ok(time::Duration::milliseconds(if neg { -ms } else { ms }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_signs() {
        assert_eq!(
            parse_signed_duration("31m").unwrap(),
            time::Duration::minutes(31)
        );
        assert_eq!(
            parse_signed_duration("-45m").unwrap(),
            time::Duration::minutes(-45)
        );
        assert_eq!(
            parse_signed_duration("+2h").unwrap(),
            time::Duration::hours(2)
        );
        assert_eq!(
            parse_signed_duration("30").unwrap(),
            time::Duration::seconds(30)
        );
        assert_eq!(
            parse_signed_duration("1500ms").unwrap(),
            time::Duration::milliseconds(1500)
        );
        assert_eq!(
            parse_signed_duration("1d").unwrap(),
            time::Duration::days(1)
        );
    }

    #[test]
    fn rejects_junk() {
        for s in ["", "m", "-", "5 parsecs", "1.5m", "99999999999999999999d"] {
            assert!(parse_signed_duration(s).is_err(), "{s}");
        }
    }
}
