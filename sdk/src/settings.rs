//! [`Config`]: typed access to a plugin's `[config]` table.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The plugin's `[config]` table (from `plugin.toml`, with `vigil.toml`
/// overrides applied), as the host passed it to `run` or `evaluate`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    table: Map<String, Value>,
}

impl Config {
    /// Parse the JSON object the host passes. An empty string is an empty table.
    pub fn from_json(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(table)) => Ok(Self { table }),
            Ok(other) => Err(format!("config must be a JSON object, got {other}")),
            Err(err) => Err(format!("config is not valid JSON: {err}")),
        }
    }

    /// The raw value of a key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.table.get(key)
    }

    /// A string value.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.table.get(key).and_then(Value::as_str)
    }

    /// A string value, or `default` when absent or not a string.
    pub fn str_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.str(key).unwrap_or(default)
    }

    /// An unsigned integer value.
    pub fn u64(&self, key: &str) -> Option<u64> {
        self.table.get(key).and_then(Value::as_u64)
    }

    /// An unsigned integer value, or `default`.
    pub fn u64_or(&self, key: &str, default: u64) -> u64 {
        self.u64(key).unwrap_or(default)
    }

    /// A number value (integers convert).
    pub fn f64(&self, key: &str) -> Option<f64> {
        self.table.get(key).and_then(Value::as_f64)
    }

    /// A boolean value, or `default`.
    pub fn bool_or(&self, key: &str, default: bool) -> bool {
        self.table.get(key).and_then(Value::as_bool).unwrap_or(default)
    }

    /// A list of strings; absent is empty, a non-string item is an error.
    pub fn str_list(&self, key: &str) -> Result<Vec<String>, String> {
        match self.table.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str().map(str::to_owned).ok_or_else(|| format!("config.{key}: expected a list of strings"))
                })
                .collect(),
            Some(_) => Err(format!("config.{key}: expected a list of strings")),
        }
    }

    /// Deserialize one key into `T`; absent is `None`.
    pub fn parse_key<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, String> {
        self.table
            .get(key)
            .map(|value| serde_json::from_value(value.clone()).map_err(|err| format!("config.{key}: {err}")))
            .transpose()
    }

    /// Deserialize the whole table into `T` (use `#[serde(deny_unknown_fields)]`
    /// on `T` to reject typos).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_value(Value::Object(self.table.clone())).map_err(|err| format!("config: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_typed_values_and_defaults() {
        let config =
            Config::from_json(r#"{"mode":"redis","n":3,"ratio":0.5,"on":true,"tools":["a","b"]}"#).expect("valid");
        assert_eq!(config.str("mode"), Some("redis"));
        assert_eq!(config.str_or("missing", "x"), "x");
        assert_eq!(config.u64_or("n", 9), 3);
        assert_eq!(config.f64("ratio"), Some(0.5));
        assert!(config.bool_or("on", false));
        assert_eq!(config.str_list("tools").expect("list"), vec!["a", "b"]);
        assert_eq!(config.str_list("absent").expect("empty"), Vec::<String>::new());
    }

    #[test]
    fn rejects_non_objects_and_bad_lists() {
        assert!(Config::from_json("[1]").is_err());
        assert!(Config::from_json("{").is_err());
        assert_eq!(Config::from_json("").expect("empty ok"), Config::default());
        let config = Config::from_json(r#"{"tools":[1]}"#).expect("valid");
        assert!(config.str_list("tools").unwrap_err().contains("config.tools"));
    }
}
