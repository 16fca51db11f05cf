//! `DTAPI-Date` parsing: never panics, and every accepted date (in years 0–9999)
//! formats back to a value that parses to the same instant (to the second).
#![no_main]

use dt_protocol::{parse_dtapi_date, DateFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = parse_dtapi_date(&text);
    let _ = dt_protocol::date::parse_time_param(&text);
    let _ = dt_protocol::parse_signed_duration(&text);
    if let Ok(t) = parsed {
        assert_eq!(t.offset(), time::UtcOffset::UTC);
        // An offset can carry year 0000 into year -1, which no format writes.
        if !(0..=9999).contains(&t.year()) {
            return;
        }
        for f in DateFormat::ALL {
            let again = parse_dtapi_date(&f.format(t))
                .unwrap_or_else(|e| panic!("{f} of {t} does not parse: {e}"));
            assert_eq!(again.unix_timestamp(), t.unix_timestamp(), "{f}");
        }
    } else if let Err(e) = parsed {
        let _ = e.to_string();
    }
});
