//! `responsedata`: restricts returned objects to the named top-level fields.
//!
//! `responsedata=a,b` keeps only keys `a` and `b` of an object, or of each object in
//! an array (an element with none of them becomes `{}`, as the appliance's
//! `[\n  {}\n]` for `/devices?count=1&responsedata=a b` shows).

use serde_json::Value;

/// Applies a `responsedata` value to a response body.
pub fn apply_responsedata(v: Value, fields: &str) -> Value {
    let keep: Vec<&str> = fields
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    if keep.is_empty() {
        return v;
    }
    let restrict = |o: serde_json::Map<String, Value>| -> Value {
        Value::Object(
            o.into_iter()
                .filter(|(k, _)| keep.contains(&k.as_str()))
                .collect(),
        )
    };
    match v {
        Value::Object(o) => restrict(o),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| match i {
                    Value::Object(o) => restrict(o),
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn restricts_objects_and_arrays() {
        assert_eq!(
            apply_responsedata(json!({"a":1,"b":2,"c":3}), "a,c"),
            json!({"a":1,"c":3})
        );
        assert_eq!(
            apply_responsedata(json!([{"a":1},{"b":2}]), "a"),
            json!([{"a":1},{}])
        );
        assert_eq!(apply_responsedata(json!([{"a":1}]), "a b"), json!([{}]));
    }
}
