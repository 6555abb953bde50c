//! Typed access to the `store` capability: filters and documents as
//! `serde_json::Value` in MongoDB Extended JSON, and date helpers.
//!
//! ```ignore
//! use serde_json::json;
//! use vigil_sdk::documents::{self, date};
//!
//! let cutoff = documents::now_ms() - 4 * 3_600_000;
//! let stuck = documents::count(
//!     "cspm_orchestration.scan_runs",
//!     &json!({ "status": "RUNNING", "started_at": { "$lt": date(cutoff) } }),
//! )?;
//! ```

use serde_json::{Value, json};

use crate::CapabilityError;
use crate::bindings::host::vigil::plugin::{clock, store};

/// Milliseconds since the Unix epoch, from the host's clock.
pub fn now_ms() -> u64 {
    clock::now_unix_ms()
}

/// A date for a filter: `{"$date": {"$numberLong": "<ms>"}}`.
pub fn date(unix_ms: u64) -> Value {
    json!({ "$date": { "$numberLong": unix_ms.to_string() } })
}

/// Read a date from a document field: relaxed (`{"$date": "2026-…Z"}`) or
/// canonical (`{"$date": {"$numberLong": "…"}}`) Extended JSON.
pub fn date_ms(value: &Value) -> Option<u64> {
    match value.get("$date")? {
        Value::String(text) => {
            let time = humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).ok()?;
            u64::try_from(time.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis()).ok()
        }
        Value::Object(long) => long.get("$numberLong")?.as_str()?.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// The value at a dotted path of a document.
pub fn field<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |value, key| value.get(key))
}

fn parse(text: &str) -> Result<Value, CapabilityError> {
    serde_json::from_str(text).map_err(|err| CapabilityError::Failed(format!("store returned bad JSON: {err}")))
}

/// Count documents of `collection` matching `filter`.
pub fn count(collection: &str, filter: &Value) -> Result<u64, CapabilityError> {
    store::count(collection, &filter.to_string())
}

/// Find documents: `filter`, optional `projection` and `sort`, at most `limit` (0: the host's cap).
pub fn find(
    collection: &str,
    filter: &Value,
    projection: Option<&Value>,
    sort: Option<&Value>,
    limit: u32,
) -> Result<Vec<Value>, CapabilityError> {
    let query = store::FindQuery {
        filter_json: filter.to_string(),
        projection_json: projection.map(Value::to_string),
        sort_json: sort.map(Value::to_string),
        limit,
    };
    store::find(collection, &query)?.iter().map(|doc| parse(doc)).collect()
}

/// The document with the greatest `field` among those matching `filter`.
pub fn latest(collection: &str, field: &str, filter: &Value) -> Result<Option<Value>, CapabilityError> {
    store::latest(collection, field, &filter.to_string())?.map(|doc| parse(&doc)).transpose()
}

/// Run an aggregation pipeline (a JSON array of `$match`, `$group`, `$sort`, `$limit`, `$count` stages).
pub fn aggregate(collection: &str, pipeline: &Value) -> Result<Vec<Value>, CapabilityError> {
    store::aggregate(collection, &pipeline.to_string())?.iter().map(|doc| parse(doc)).collect()
}

/// The side of an anti-join: a collection, its key field, and which of its
/// documents count.
#[derive(Debug, Clone, Copy)]
pub struct KeysOf<'a> {
    /// `database.collection`.
    pub collection: &'a str,
    /// The field holding the key (a dotted path).
    pub key_field: &'a str,
    /// Which documents count (`{}`: all).
    pub filter: &'a Value,
}

/// What [`missing_keys`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    /// Distinct keys of the first collection.
    pub keys: u64,
    /// Of those, keys the second one does not have.
    pub missing: u64,
    /// The smallest missing keys, at most the limit asked for.
    pub sample: Vec<Value>,
}

/// The distinct keys of `of` that no document of `in_other` has (an
/// anti-join run by the store over every document, however old), with up to
/// `limit` of them as a sample. Both collections must be granted.
pub fn missing_keys(of: KeysOf<'_>, in_other: KeysOf<'_>, limit: u32) -> Result<Missing, CapabilityError> {
    let query = store::MissingKeysQuery {
        collection: of.collection.to_owned(),
        key_field: of.key_field.to_owned(),
        filter_json: of.filter.to_string(),
        other_collection: in_other.collection.to_owned(),
        other_key_field: in_other.key_field.to_owned(),
        other_filter_json: in_other.filter.to_string(),
        limit,
    };
    let answer = store::missing_keys(&query)?;
    let sample = answer.sample.iter().map(|key| parse(key)).collect::<Result<_, _>>()?;
    Ok(Missing { keys: answer.keys, missing: answer.missing, sample })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_both_extended_json_forms() {
        assert_eq!(date_ms(&json!({ "$date": "1970-01-01T00:00:01.5Z" })), Some(1500));
        assert_eq!(date_ms(&json!({ "$date": { "$numberLong": "1764316800000" } })), Some(1_764_316_800_000));
        assert_eq!(date_ms(&date(42)), Some(42));
        assert_eq!(date_ms(&json!("2026-01-01")), None);
    }

    #[test]
    fn dotted_fields() {
        let doc = json!({ "a": { "b": 1 } });
        assert_eq!(field(&doc, "a.b"), Some(&json!(1)));
        assert_eq!(field(&doc, "a.c"), None);
    }
}
