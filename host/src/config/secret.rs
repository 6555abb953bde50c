//! [`Secret`]: a configuration value that may come from the environment and
//! never prints itself.

use std::fmt;

use serde::Deserialize;

/// A secret-bearing value: `"literal"`, `{ env = "NAME" }`, or `{ env =
/// "NAME", optional = true }` (an unset variable leaves the setting unset
/// instead of failing). Its `Debug` output is redacted, so a config dump or
/// an error never shows it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(
    untagged,
    expecting = "a string, or { env = \"NAME\" } (optionally with optional = true) to read it from the environment"
)]
pub enum Secret {
    /// Written in the file.
    Literal(String),
    /// Read from an environment variable at start-up (and on reload).
    Env {
        /// The variable's name.
        env: String,
        /// When the variable is unset, the setting is unset (rather than an
        /// error): for settings that have a meaning without a value.
        #[serde(default)]
        optional: bool,
    },
}

impl Secret {
    /// An optional environment reference whose variable is unset or empty.
    pub fn is_unset_optional(&self) -> bool {
        matches!(self, Self::Env { env, optional: true } if std::env::var_os(env).is_none_or(|v| v.is_empty()))
    }

    /// The value. `field` names the setting in the error.
    pub fn resolve(&self, field: &str) -> Result<String, String> {
        match self {
            Self::Literal(value) => Ok(value.clone()),
            Self::Env { env, .. } => {
                std::env::var(env).map_err(|_| format!("field `{field}`: environment variable {env} is not set"))
            }
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Literal(_) => f.write_str("Secret(***)"),
            Self::Env { env, .. } => write!(f, "Secret(env {env})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::Literal("mongodb://user:hunter2@db".into());
        assert_eq!(format!("{secret:?}"), "Secret(***)");
    }

    #[test]
    fn env_values_resolve_or_name_the_variable() {
        let secret = Secret::Env { env: "VIGIL_TEST_SURELY_UNSET_VARIABLE".into(), optional: false };
        let err = secret.resolve("endpoints.redis_url").unwrap_err();
        assert_eq!(
            err,
            "field `endpoints.redis_url`: environment variable VIGIL_TEST_SURELY_UNSET_VARIABLE is not set"
        );
        let path = Secret::Env { env: "PATH".into(), optional: false };
        assert!(path.resolve("x").is_ok());
    }

    #[test]
    fn an_optional_reference_to_an_unset_variable_unsets_the_setting() {
        let text = "[endpoints]\nredis_url = { env = \"VIGIL_TEST_SURELY_UNSET_VARIABLE\", optional = true }\nmongodb_uri = { env = \"PATH\", optional = true }\n";
        let config = crate::config::DaemonConfig::parse(text, "test.toml").expect("parses");
        assert!(config.endpoints.redis_url.is_none());
        assert!(config.endpoints.mongodb_uri.is_some());
        let strict = "[endpoints]\nredis_url = { env = \"VIGIL_TEST_SURELY_UNSET_VARIABLE\" }\n";
        let config = crate::config::DaemonConfig::parse(strict, "test.toml").expect("parses");
        assert!(config.endpoints.redis_url.is_some_and(|s| s.resolve("endpoints.redis_url").is_err()));
    }
}
