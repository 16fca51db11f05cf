//! The data endpoints' semantics: decoded parameters and "now" in, JSON body or a typed
//! error out. No HTTP here; the mock renders the value (2-space JSON) or the error.
//!
//! Common rules:
//! - Parameters arrive in request order with repeats kept; the first occurrence of a
//!   name is used, names are case-sensitive, unknown names are ignored.
//! - Booleans: `true`/`false`/`1`/`0` (any case); anything else is an input error.
//! - `responsedata=a,b` keeps only those top-level keys of each returned object (of the
//!   single object for single-object answers); an empty value is ignored.
//!
//! Submodules: [`mod@devices`], [`mod@details`], [`breaches`], [`search`]; shared device and
//! time-window helpers live here.

pub mod breaches;
pub mod details;
pub mod devices;
pub mod search;

use serde_json::{Map, Value};

use crate::clock;
use crate::model::{Device, Tag};

pub use breaches::{modelbreach, modelbreaches};
pub use details::details;
pub use devices::devices;
pub use search::{advanced_search_get, advanced_search_post, decode_search_segment};

/// Why an endpoint refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Invalid parameter values: 400 `{"error": <message>, "response": "INPUT ERROR"}`.
    #[error("{0}")]
    Input(String),
    /// Missing object: 404 `{"error": <message>}`.
    #[error("{0}")]
    NotFound(String),
    /// Undecodable or unparseable advanced-search query: the appliance's 400.
    #[error("{0}")]
    BadSearch(String),
}

fn input(msg: impl Into<String>) -> ApiError {
    ApiError::Input(msg.into())
}

/// Query parameters, in request order.
#[derive(Clone, Copy)]
pub(crate) struct Params<'a>(pub &'a [(String, String)]);

impl<'a> Params<'a> {
    /// The first value of a parameter.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(input(format!("{name} must be true or false"))),
            },
        }
    }

    pub fn int<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(|v| {
                v.trim()
                    .parse::<T>()
                    .map_err(|_| input(format!("{name} must be an integer")))
            })
            .transpose()
    }

    /// A positive count.
    pub fn count(&self, name: &str) -> Result<Option<usize>, ApiError> {
        match self.int::<usize>(name)? {
            Some(0) => Err(input(format!("{name} must be a positive integer"))),
            other => Ok(other),
        }
    }
}

/// A time parameter: epoch ms under `ms_name` or a date string (or epoch ms) under
/// `str_name`; the ms form wins when both are given.
fn time_param(p: Params<'_>, ms_name: &str, str_name: &str) -> Result<Option<i64>, ApiError> {
    if let Some(v) = p.get(ms_name) {
        return v
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| input(format!("{ms_name} must be a time in epoch milliseconds")));
    }
    match p.get(str_name) {
        None => Ok(None),
        Some(v) => {
            let v = v.trim();
            if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
                return v
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| input(format!("{str_name} is not a valid time")));
            }
            clock::parse_time(v).map(Some).ok_or_else(|| {
                input(format!(
                    "{str_name} must be a time in YYYY-MM-DD HH:MM:SS format"
                ))
            })
        }
    }
}

/// The (start, end) time parameters as given (`starttime`/`from`, `endtime`/`to`).
pub(crate) fn time_window(p: Params<'_>) -> Result<(Option<i64>, Option<i64>), ApiError> {
    Ok((
        time_param(p, "starttime", "from")?,
        time_param(p, "endtime", "to")?,
    ))
}

pub(crate) const PAIRS_ERROR: &str =
    "Time parameters must be specified in pairs (starttime and endtime, or from and to)";

/// Restricts each returned object (or the single object) to the top-level keys listed in
/// `responsedata` (comma-separated), keeping the object's own key order.
pub fn apply_responsedata(value: &mut Value, params: &[(String, String)]) {
    let Some(spec) = Params(params).get("responsedata") else {
        return;
    };
    let keys: Vec<&str> = spec
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    if keys.is_empty() {
        return;
    }
    let restrict = |v: &mut Value| {
        if let Value::Object(map) = v {
            map.retain(|k, _| keys.contains(&k.as_str()));
        }
    };
    match value {
        Value::Array(items) => items.iter_mut().for_each(restrict),
        other => restrict(other),
    }
}

pub(crate) fn ips_json(d: &Device) -> Value {
    Value::Array(
        d.ips
            .iter()
            .map(|u| {
                // The appliance reports the hour the device was last seen with the address.
                let last = clock::hour_start(u.to_ms);
                let mut m = Map::new();
                m.insert("ip".into(), Value::String(u.ip.to_string()));
                m.insert("timems".into(), Value::from(last));
                m.insert("time".into(), Value::String(clock::spaced(last)));
                m.insert("sid".into(), Value::from(u.sid));
                Value::Object(m)
            })
            .collect(),
    )
}

pub(crate) fn tag_json(t: &Tag) -> Value {
    serde_json::json!({
        "tid": t.tid,
        "expiry": 0,
        "thid": t.tid,
        "name": t.name,
        "restricted": false,
        "data": {"auto": false, "color": t.color, "description": t.description, "visibility": "Public"},
        "isReferenced": true
    })
}

pub(crate) fn put_opt(m: &mut Map<String, Value>, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(key.into(), Value::String(v.clone()));
    }
}

/// The device object embedded in `/details` events (`sourceDevice`/`destinationDevice`):
/// the address it used at `t`; `time` is the first-seen time as a string of epoch ms.
pub(crate) fn device_nested(d: &Device, t: i64) -> Value {
    let u = d.ip_use_or_current(t);
    let mut m = Map::new();
    m.insert("id".into(), Value::from(d.id));
    m.insert("did".into(), Value::from(d.did));
    put_opt(&mut m, "macaddress", &d.macaddress);
    m.insert("ip".into(), Value::String(u.ip.to_string()));
    m.insert("ips".into(), ips_json(d));
    m.insert("sid".into(), Value::from(u.sid));
    put_opt(&mut m, "hostname", &d.hostname);
    m.insert("time".into(), Value::String(d.first_seen.to_string()));
    put_opt(&mut m, "os", &d.os);
    m.insert("typename".into(), Value::String(d.typename.clone()));
    m.insert("typelabel".into(), Value::String(d.typelabel.clone()));
    Value::Object(m)
}

/// The device object of a model breach: the address it used at `t`.
pub(crate) fn device_breach(d: &Device, t: i64) -> Value {
    let u = d.ip_use_or_current(t);
    let mut m = Map::new();
    m.insert("did".into(), Value::from(d.did));
    m.insert("ip".into(), Value::String(u.ip.to_string()));
    m.insert("ips".into(), ips_json(d));
    m.insert("sid".into(), Value::from(u.sid));
    put_opt(&mut m, "hostname", &d.hostname);
    m.insert("firstSeen".into(), Value::from(d.first_seen));
    m.insert("lastSeen".into(), Value::from(d.last_seen));
    m.insert("typename".into(), Value::String(d.typename.clone()));
    m.insert("typelabel".into(), Value::String(d.typelabel.clone()));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::params;
    use serde_json::json;

    #[test]
    fn responsedata_restricts_objects_and_arrays_in_object_order() {
        let mut v = json!([{"a": 1, "b": 2, "c": 3}, {"c": 4}, 5]);
        apply_responsedata(&mut v, &params(&[("responsedata", "c, a")]));
        assert_eq!(v, json!([{"a": 1, "c": 3}, {"c": 4}, 5]));
        let mut v = json!({"a": 1, "b": 2});
        apply_responsedata(&mut v, &params(&[("responsedata", "a b")]));
        assert_eq!(
            v,
            json!({}),
            "an unknown field leaves an empty object, as the live appliance"
        );
        let mut v = json!({"a": 1});
        apply_responsedata(&mut v, &params(&[("responsedata", "")]));
        assert_eq!(v, json!({"a": 1}));
    }

    #[test]
    fn booleans_are_lenient_but_checked() {
        let p = params(&[("a", "TRUE"), ("b", "0"), ("c", "yes"), ("a", "false")]);
        let p = Params(&p);
        assert_eq!(p.bool("a", false), Ok(true), "first occurrence wins");
        assert_eq!(p.bool("b", true), Ok(false));
        assert_eq!(p.bool("missing", true), Ok(true));
        assert_eq!(
            p.bool("c", true),
            Err(ApiError::Input("c must be true or false".into()))
        );
    }

    #[test]
    fn time_params_accept_ms_strings_and_iso() {
        let p = params(&[
            ("starttime", "1586937600000"),
            ("to", "2020-04-15T09:00:00.00Z"),
        ]);
        assert_eq!(
            time_window(Params(&p)),
            Ok((Some(1_586_937_600_000), Some(1_586_941_200_000)))
        );
        let p = params(&[("from", "2020-04-15 08:00:00"), ("to", "1586941200000")]);
        assert_eq!(
            time_window(Params(&p)),
            Ok((Some(1_586_937_600_000), Some(1_586_941_200_000)))
        );
        let p = params(&[("from", "soon")]);
        assert!(matches!(time_window(Params(&p)), Err(ApiError::Input(_))));
        let p = params(&[("starttime", "2020-04-15")]);
        assert!(matches!(time_window(Params(&p)), Err(ApiError::Input(_))));
    }
}
