//! The client's config loader on arbitrary TOML and JSON: never panics, and a
//! loaded config survives its own checks and accessors.
#![no_main]

use dt_client::config::Config;
use libfuzzer_sys::fuzz_target;

fn exercise(c: &Config) {
    let _ = c.check_values();
    let _ = c.validate();
    let _ = c.warnings();
    let _ = c.base_url();
    let _ = c.limit_usize();
    let _ = c.page_size();
    let _ = format!("{c:?}");
    let _ = dt_client::transport::TransportSettings::from_config(c);
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::from_toml_str(text) {
        Ok(c) => exercise(&c),
        Err(e) => {
            let _ = e.to_string();
        }
    }
    match Config::from_json_str(text) {
        Ok(c) => exercise(&c),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
