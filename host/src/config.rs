//! `vigil.toml`: the daemon's configuration. Every table denies unknown
//! fields, and every field has a default, so an empty file is valid.

mod endpoints;
mod http;
mod logging;
mod secret;
pub mod toml_error;
mod watchdog;

pub use endpoints::Endpoints;
pub use http::HttpConfig;
pub use logging::{AdminConfig, Console, LogConfig, LogFormat};
pub use secret::Secret;
pub use watchdog::{CeleryConfig, DispatchTarget, IndexesConfig, WatchdogConfig};

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::manifest::Manifest;

/// The default listen address of the HTTP server.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// The daemon's configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Address of the HTTP server (health routes, metrics).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// A second address serving only `/metrics` (off when absent; `/metrics`
    /// is always on `listen` too).
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// Load the plugins compiled into the binary.
    #[serde(default = "default_true")]
    pub bundled_plugins: bool,
    /// Plugin directories, in order; later ones override earlier ones (and
    /// the bundled set) by plugin name.
    #[serde(default)]
    pub plugin_dirs: Vec<PathBuf>,
    /// Where compiled plugins are cached. Default: `$XDG_CACHE_HOME/vigil`
    /// or `~/.cache/vigil`.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Turn the compiled-artifact cache off.
    #[serde(default)]
    pub disable_cache: bool,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// The platform's services.
    #[serde(default)]
    pub endpoints: Endpoints,
    /// Whether a critical check in a degraded (fallback) mode still counts as
    /// ready. `false` makes readiness demand the optimal mode.
    #[serde(default = "default_true")]
    pub ready_on_degraded: bool,
    /// Checks `/health/ready` depends on. When set, exactly these are
    /// critical; otherwise each manifest's `critical` (or its override) decides.
    #[serde(default)]
    pub critical_checks: Option<Vec<String>>,
    /// Per-plugin overrides, keyed by plugin name.
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginOverride>,
    /// The authenticated admin routes (`/admin/...`).
    #[serde(default)]
    pub admin: AdminConfig,
    /// The HTTP server's limits (`[http]`).
    #[serde(default)]
    pub http: HttpConfig,
    /// The data-sync watchdog and its dispatcher.
    #[serde(default)]
    pub watchdog: WatchdogConfig,
    /// Celery task metrics from the broker's event stream.
    #[serde(default)]
    pub celery: CeleryConfig,
    /// The index manager.
    #[serde(default)]
    pub indexes: IndexesConfig,
    /// Where this configuration came from (not a setting): the file and the
    /// command-line additions a reload must apply again.
    #[serde(skip)]
    pub origin: ConfigOrigin,
}

/// The file a configuration was read from and the command-line options
/// layered over it that a reload re-applies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigOrigin {
    /// The `vigil.toml`, if one was given.
    pub path: Option<PathBuf>,
    /// `--plugins` directories added after the file's `plugin_dirs`.
    pub extra_plugin_dirs: Vec<PathBuf>,
    /// `--no-bundled`.
    pub no_bundled: bool,
}

impl ConfigOrigin {
    /// Apply the command-line additions to `config`.
    pub fn apply(&self, config: &mut DaemonConfig) {
        config.plugin_dirs.extend(self.extra_plugin_dirs.iter().cloned());
        if self.no_bundled {
            config.bundled_plugins = false;
        }
        config.origin = self.clone();
    }
}

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN.parse().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8787)))
}

fn default_true() -> bool {
    true
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            metrics_listen: None,
            bundled_plugins: true,
            plugin_dirs: Vec::new(),
            cache_dir: None,
            disable_cache: false,
            log: LogConfig::default(),
            endpoints: Endpoints::default(),
            ready_on_degraded: true,
            critical_checks: None,
            plugins: BTreeMap::new(),
            admin: AdminConfig::default(),
            http: HttpConfig::default(),
            watchdog: WatchdogConfig::default(),
            celery: CeleryConfig::default(),
            indexes: IndexesConfig::default(),
            origin: ConfigOrigin::default(),
        }
    }
}

/// Settings that replace a plugin manifest's own, by plugin name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginOverride {
    /// Load the plugin at all.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Replaces `interval`.
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    /// Replaces `timeout`.
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// Replaces `critical`.
    #[serde(default)]
    pub critical: Option<bool>,
    /// Replaces `rise`.
    #[serde(default)]
    pub rise: Option<u32>,
    /// Replaces `fall`.
    #[serde(default)]
    pub fall: Option<u32>,
    /// Keys merged over the manifest's `[config]` table.
    #[serde(default)]
    pub config: toml::Table,
    /// Let this plugin load when its manifest says `native = true`: a native
    /// shared library runs unsandboxed, in the daemon's process.
    #[serde(default)]
    pub allow_native: bool,
}

impl Default for PluginOverride {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: None,
            timeout: None,
            critical: None,
            rise: None,
            fall: None,
            config: toml::Table::new(),
            allow_native: false,
        }
    }
}

impl PluginOverride {
    /// Apply to a manifest.
    pub fn apply(&self, manifest: &mut Manifest) {
        if let Some(interval) = self.interval {
            manifest.interval = interval;
        }
        if let Some(timeout) = self.timeout {
            manifest.timeout = timeout;
        }
        if let Some(critical) = self.critical {
            manifest.critical = critical;
        }
        if let Some(rise) = self.rise {
            manifest.rise = rise;
        }
        if let Some(fall) = self.fall {
            manifest.fall = fall;
        }
        for (key, value) in &self.config {
            manifest.config.insert(key.clone(), value.clone());
        }
    }
}

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// What is wrong, with the field named.
    pub problem: String,
}

impl DaemonConfig {
    /// Parse configuration text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Self, ConfigError> {
        let fail = |problem: String| ConfigError { path: path.to_owned(), problem };
        let mut config: Self = toml::from_str(text).map_err(|err| fail(toml_error::describe(&err, text)))?;
        config.validate().map_err(fail)?;
        config.unset_optional_secrets();
        Ok(config)
    }

    /// Read and parse a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|err| ConfigError { path: name.clone(), problem: format!("cannot read: {err}") })?;
        Self::parse(&text, &name)
    }

    /// `{ env = "X", optional = true }` with `X` unset: as if the setting
    /// were not written.
    fn unset_optional_secrets(&mut self) {
        for slot in [
            &mut self.endpoints.redis_url,
            &mut self.endpoints.mongodb_uri,
            &mut self.endpoints.mongodb_fallback_uri,
            &mut self.watchdog.broker_url,
            &mut self.watchdog.webhook_url,
            &mut self.celery.broker_url,
        ] {
            if slot.as_ref().is_some_and(Secret::is_unset_optional) {
                *slot = None;
            }
        }
    }

    fn validate(&self) -> Result<(), String> {
        self.http.validate()?;
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|err| format!("field `log.level`: {:?} is not a valid filter: {err}", self.log.level))?;
        for (name, over) in &self.plugins {
            if over.timeout.is_some_and(|t| t < Duration::from_millis(10) || t > Duration::from_secs(300)) {
                return Err(format!("field `plugins.{name}.timeout`: out of range (10ms to 5m)"));
            }
            if over.interval.is_some_and(|interval| interval < Duration::from_millis(100)) {
                return Err(format!("field `plugins.{name}.interval`: too short (at least 100ms)"));
            }
        }
        Ok(())
    }

    /// The artifact cache directory in effect, if any.
    pub fn effective_cache_dir(&self) -> Option<PathBuf> {
        if self.disable_cache {
            return None;
        }
        self.cache_dir.clone().or_else(default_cache_dir)
    }
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("vigil").join("artifacts"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_all_defaults() {
        let config = DaemonConfig::parse("", "vigil.toml").expect("valid");
        assert_eq!(config, DaemonConfig::default());
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn unknown_field_is_named() {
        let err = DaemonConfig::parse("lisen = \"127.0.0.1:1\"", "vigil.toml").unwrap_err().to_string();
        assert!(err.starts_with("vigil.toml:"), "{err}");
        assert!(err.contains("unknown field `lisen`"), "{err}");
    }

    #[test]
    fn override_replaces_and_merges() {
        let config = DaemonConfig::parse(
            "[plugins.example]\ninterval = \"5s\"\ncritical = true\nconfig = { mode = \"fast\" }\n",
            "vigil.toml",
        )
        .expect("valid");
        let mut manifest = Manifest::parse(
            "name = \"example\"\nkind = \"check\"\nversion = \"1\"\ncomponent = \"x.wasm\"\n[config]\nmode = \"slow\"\nkeep = 1\n",
            "plugin.toml",
        )
        .expect("valid");
        config.plugins["example"].apply(&mut manifest);
        assert_eq!(manifest.interval, Duration::from_secs(5));
        assert!(manifest.critical);
        assert_eq!(manifest.config_json(), r#"{"keep":1,"mode":"fast"}"#);
    }

    #[test]
    fn bad_log_level_is_named() {
        let err = DaemonConfig::parse("[log]\nlevel = \"info,,=[\"", "vigil.toml").unwrap_err().to_string();
        assert!(err.contains("log.level"), "{err}");
    }
}
