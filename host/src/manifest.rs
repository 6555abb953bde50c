//! `plugin.toml`: what a plugin is, what it may touch, and how it runs.
//!
//! Parsing is strict (`deny_unknown_fields`) and every error names the file
//! and the field, because a typo in a grant must not silently widen or narrow
//! what a plugin can do.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component as PathComponent, Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The file name every plugin directory carries.
pub const MANIFEST_FILE: &str = "plugin.toml";

/// The four plugin kinds; each is one WIT world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// Runs on an interval and reports a subsystem's status and mode.
    Check,
    /// Declares credential-matching rules for the scrubber.
    Scrubber,
    /// Runs on an interval and reports drift, with dispatch requests.
    Watchdog,
    /// Declares the indexes that should exist.
    IndexProfile,
}

impl PluginKind {
    /// The WIT world (and manifest spelling) of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Check => "check",
            Self::Scrubber => "scrubber",
            Self::Watchdog => "watchdog",
            Self::IndexProfile => "index-profile",
        }
    }

    /// All kinds, for iteration.
    pub const ALL: [PluginKind; 4] = [Self::Check, Self::Scrubber, Self::Watchdog, Self::IndexProfile];
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed and validated `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Unique plugin name: lowercase letters, digits and `-`. A plugin in a
    /// `--plugins` directory replaces a bundled plugin of the same name.
    pub name: String,
    /// Which world the component exports.
    pub kind: PluginKind,
    /// The plugin's own version, shown in status and metrics.
    pub version: String,
    /// One line for operators.
    #[serde(default)]
    pub description: String,
    /// The component file, relative to the manifest's directory.
    pub component: PathBuf,
    /// How often a check or watchdog runs.
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// Deadline of one call into the plugin.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// For checks: whether `/health/ready` depends on this check.
    #[serde(default)]
    pub critical: bool,
    /// For checks: consecutive passing runs needed before a failing check
    /// counts as passing again.
    #[serde(default = "one")]
    pub rise: u32,
    /// For checks: consecutive failing runs needed before a passing check
    /// counts as failing (so one blip does not flip readiness).
    #[serde(default = "one")]
    pub fall: u32,
    /// Resource limits of the plugin's sandbox.
    #[serde(default)]
    pub limits: Limits,
    /// What the plugin may reach beyond `log`, `clock` and `config`.
    #[serde(default)]
    pub grants: Grants,
    /// Free-form settings passed to the plugin as JSON.
    #[serde(default)]
    pub config: toml::Table,
    /// The component is a native shared library (checks only), loaded with
    /// the versioned C ABI, unsandboxed; it loads only where vigil.toml sets
    /// `[plugins.NAME] allow_native = true`.
    #[serde(default)]
    pub native: bool,
}

fn one() -> u32 {
    1
}

fn default_interval() -> Duration {
    Duration::from_secs(30)
}

fn default_timeout() -> Duration {
    Duration::from_secs(2)
}

/// Sandbox limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Maximum linear memory of the plugin, in MiB.
    #[serde(default = "default_memory_mib")]
    pub memory_mib: u32,
    /// Maximum number of table elements (function references).
    #[serde(default = "default_table_elements")]
    pub table_elements: u32,
    /// Maximum number of core instances (a Rust component has a handful;
    /// a Python one about 14).
    #[serde(default = "default_instances")]
    pub instances: u32,
    /// Log lines per second the plugin may write, on average (at most 1,000).
    #[serde(default = "default_log_lines_per_second")]
    pub log_lines_per_second: u32,
    /// Log lines the plugin may write in a burst above that rate (at most 10,000).
    #[serde(default = "default_log_burst")]
    pub log_burst: u32,
    /// Longest log message kept, in bytes; the rest is cut (at most 16,384).
    #[serde(default = "default_log_line_bytes")]
    pub log_line_bytes: u32,
    /// Largest HTTP response body the plugin may read, in KiB (at most 16,384).
    #[serde(default = "default_http_body_kib")]
    pub http_body_kib: u32,
}

/// Host maxima for [`Limits`]: no manifest raises a limit past these.
pub mod maxima {
    /// `log_lines_per_second`.
    pub const LOG_LINES_PER_SECOND: u32 = 1_000;
    /// `log_burst`.
    pub const LOG_BURST: u32 = 10_000;
    /// `log_line_bytes`.
    pub const LOG_LINE_BYTES: u32 = 16 * 1024;
    /// `http_body_kib`.
    pub const HTTP_BODY_KIB: u32 = 16 * 1024;
}

fn default_log_lines_per_second() -> u32 {
    50
}

fn default_log_burst() -> u32 {
    500
}

fn default_log_line_bytes() -> u32 {
    4096
}

fn default_http_body_kib() -> u32 {
    1024
}

fn default_memory_mib() -> u32 {
    64
}

fn default_table_elements() -> u32 {
    20_000
}

fn default_instances() -> u32 {
    32
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_mib: default_memory_mib(),
            table_elements: default_table_elements(),
            instances: default_instances(),
            log_lines_per_second: default_log_lines_per_second(),
            log_burst: default_log_burst(),
            log_line_bytes: default_log_line_bytes(),
            http_body_kib: default_http_body_kib(),
        }
    }
}

/// Capability grants. Anything not listed is refused at the call site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// May use the host's Redis connection.
    #[serde(default)]
    pub redis: bool,
    /// MongoDB databases the plugin may name (`hello` needs none).
    #[serde(default)]
    pub mongo: Vec<String>,
    /// May query the Docker engine.
    #[serde(default)]
    pub docker: bool,
    /// Programs the plugin may run (bare names looked up on PATH, or absolute paths).
    #[serde(default)]
    pub exec: Vec<String>,
    /// URLs the plugin may GET or HEAD: `scheme://host[:port][/path-prefix]`
    /// (the prefix matches whole path segments), or a bare `host` or
    /// `host:port` for any scheme and path.
    #[serde(default)]
    pub http: Vec<String>,
    /// Address ranges (`127.0.0.0/8`, `fd00::/8`) that granted HTTP names may
    /// resolve to although they are loopback, link-local (cloud metadata),
    /// unspecified or multicast addresses, which are refused otherwise.
    #[serde(default)]
    pub http_networks: Vec<String>,
    /// Tasks a watchdog may dispatch: exact names, or `module.*` for every
    /// task of a module.
    #[serde(default)]
    pub dispatch: Vec<String>,
    /// Queues its dispatches may name; without it, only the dispatcher's
    /// default queue.
    #[serde(default)]
    pub queues: Vec<String>,
    /// Collections (`database.collection`) the plugin may read.
    #[serde(default)]
    pub store: Vec<String>,
    /// Directories the plugin may read, recursively.
    #[serde(default)]
    pub fs: Vec<PathBuf>,
}

/// A manifest that could not be used, with the file it came from.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {problem}")]
pub struct ManifestError {
    /// The file (or bundled plugin) the manifest came from.
    pub source_name: String,
    /// What is wrong with it.
    pub problem: String,
}

impl Manifest {
    /// Parse and validate manifest text. `source_name` is used in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, ManifestError> {
        let fail = |problem: String| ManifestError { source_name: source_name.to_owned(), problem };
        let manifest: Manifest =
            toml::from_str(text).map_err(|err| fail(crate::config::toml_error::describe(&err, text)))?;
        manifest.validate().map_err(fail)?;
        Ok(manifest)
    }

    /// Read and parse `dir/plugin.toml`.
    pub fn load(dir: &Path) -> Result<Self, ManifestError> {
        let path = dir.join(MANIFEST_FILE);
        let source_name = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|err| ManifestError {
            source_name: source_name.clone(),
            problem: format!("cannot read: {err}"),
        })?;
        Self::parse(&text, &source_name)
    }

    fn validate(&self) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !self.name.starts_with('-');
        if !name_ok {
            return Err(format!(
                "field `name`: {:?} must be 1-64 characters of a-z, 0-9 and '-', not starting with '-'",
                self.name
            ));
        }
        if self.native && self.kind != PluginKind::Check {
            return Err(format!("field `native`: only checks can be native, not {}", self.kind));
        }
        if self.version.trim().is_empty() {
            return Err("field `version`: must not be empty".to_owned());
        }
        let relative_inside = !self.component.as_os_str().is_empty()
            && self.component.components().all(|part| matches!(part, PathComponent::Normal(_)));
        if !relative_inside {
            return Err(format!(
                "field `component`: {:?} must be a relative path inside the plugin directory",
                self.component.display().to_string()
            ));
        }
        if self.timeout < Duration::from_millis(10) || self.timeout > Duration::from_secs(300) {
            return Err(format!(
                "field `timeout`: {} is out of range (10ms to 5m)",
                humantime::format_duration(self.timeout)
            ));
        }
        if self.interval < Duration::from_millis(100) {
            return Err(format!(
                "field `interval`: {} is too short (at least 100ms)",
                humantime::format_duration(self.interval)
            ));
        }
        let limits = &self.limits;
        for (field, value, max) in [
            ("limits.log_lines_per_second", limits.log_lines_per_second, maxima::LOG_LINES_PER_SECOND),
            ("limits.log_burst", limits.log_burst, maxima::LOG_BURST),
            ("limits.log_line_bytes", limits.log_line_bytes, maxima::LOG_LINE_BYTES),
            ("limits.http_body_kib", limits.http_body_kib, maxima::HTTP_BODY_KIB),
        ] {
            if value == 0 || value > max {
                return Err(format!("field `{field}`: {value} is out of range (1 to {max}, the host's maximum)"));
            }
        }
        if !(1..=4096).contains(&self.limits.memory_mib) {
            return Err(format!("field `limits.memory_mib`: {} is out of range (1 to 4096)", self.limits.memory_mib));
        }
        if self.limits.instances == 0 || self.limits.table_elements == 0 {
            return Err("field `limits`: `instances` and `table_elements` must be at least 1".to_owned());
        }
        if self.rise == 0 || self.fall == 0 {
            return Err("field `rise`/`fall`: must be at least 1".to_owned());
        }
        if self.critical && self.kind != PluginKind::Check {
            return Err(format!("field `critical`: only checks can be critical, this plugin is a {}", self.kind));
        }
        for (field, items) in [
            ("grants.mongo", &self.grants.mongo),
            ("grants.exec", &self.grants.exec),
            ("grants.http", &self.grants.http),
            ("grants.http_networks", &self.grants.http_networks),
            ("grants.store", &self.grants.store),
            ("grants.dispatch", &self.grants.dispatch),
            ("grants.queues", &self.grants.queues),
        ] {
            if let Some(bad) = items.iter().find(|item| item.trim().is_empty() || item.contains(char::is_whitespace)) {
                return Err(format!("field `{field}`: {bad:?} is not a valid entry"));
            }
        }
        if (!self.grants.dispatch.is_empty() || !self.grants.queues.is_empty()) && self.kind != PluginKind::Watchdog {
            return Err(format!("field `grants.dispatch`: only watchdogs dispatch, this plugin is a {}", self.kind));
        }
        // Entries with a `${name}` placeholder are checked once it is expanded.
        check_dispatch(self.grants.dispatch.iter().filter(|e| !is_placeholder(e)))?;
        check_http(&self.grants.http, &self.grants.http_networks, false)?;
        if let Some(bad) = self.grants.store.iter().find(|c| !is_placeholder(c) && !is_collection(c)) {
            return Err(format!("field `grants.store`: {bad:?} must be `database.collection`"));
        }
        if let Some(bad) =
            self.grants.fs.iter().find(|dir| !dir.is_absolute() && !is_placeholder(&dir.to_string_lossy()))
        {
            return Err(format!("field `grants.fs`: {:?} must be an absolute directory", bad.display().to_string()));
        }
        Ok(())
    }

    /// Replace `${name}` placeholders in `[config]` strings (nested tables
    /// and arrays too) and every `[grants]` entry with `vars` (from
    /// `[endpoints]` in `vigil.toml`). A grant entry that resolves to nothing
    /// is dropped: a grant of an unconfigured endpoint grants nothing.
    pub fn substitute(&mut self, vars: &BTreeMap<&'static str, String>) -> Result<(), String> {
        fn expand(text: &str, vars: &BTreeMap<&'static str, String>, field: &str) -> Result<String, String> {
            let mut out = String::new();
            let mut rest = text;
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                let end = after.find('}').ok_or_else(|| format!("field `{field}`: unclosed `${{` in {text:?}"))?;
                let name = &after[..end];
                let value = vars.get(name).ok_or_else(|| {
                    let known: Vec<&str> = vars.keys().copied().collect();
                    format!("field `{field}`: unknown variable ${{{name}}} (known: {})", known.join(", "))
                })?;
                out.push_str(value);
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            Ok(out)
        }
        fn expand_value(
            value: &mut toml::Value,
            vars: &BTreeMap<&'static str, String>,
            field: &str,
        ) -> Result<(), String> {
            match value {
                toml::Value::String(text) => *text = expand(text, vars, field)?,
                toml::Value::Array(items) => {
                    for (i, item) in items.iter_mut().enumerate() {
                        expand_value(item, vars, &format!("{field}[{i}]"))?;
                    }
                }
                toml::Value::Table(table) => {
                    for (key, item) in table.iter_mut() {
                        expand_value(item, vars, &format!("{field}.{key}"))?;
                    }
                }
                _ => {}
            }
            Ok(())
        }
        for (key, value) in self.config.iter_mut() {
            expand_value(value, vars, &format!("config.{key}"))?;
        }
        let grants = &mut self.grants;
        for (field, list) in [
            ("grants.exec", &mut grants.exec),
            ("grants.http", &mut grants.http),
            ("grants.http_networks", &mut grants.http_networks),
            ("grants.mongo", &mut grants.mongo),
            ("grants.store", &mut grants.store),
            ("grants.dispatch", &mut grants.dispatch),
            ("grants.queues", &mut grants.queues),
        ] {
            for item in list.iter_mut() {
                *item = expand(item, vars, field)?;
            }
            list.retain(|item| !item.is_empty());
        }
        if let Some(bad) = grants.store.iter().find(|c| !is_collection(c)) {
            return Err(format!("field `grants.store`: {bad:?} must be `database.collection`"));
        }
        check_dispatch(grants.dispatch.iter())?;
        check_http(&grants.http, &grants.http_networks, true)?;
        let mut fs = Vec::new();
        for dir in &grants.fs {
            let expanded = expand(&dir.to_string_lossy(), vars, "grants.fs")?;
            if expanded.is_empty() {
                continue;
            }
            let path = PathBuf::from(&expanded);
            if !path.is_absolute() {
                return Err(format!("field `grants.fs`: {expanded:?} must be an absolute path"));
            }
            fs.push(path);
        }
        grants.fs = fs;
        Ok(())
    }

    /// The `[config]` table as the JSON text handed to the plugin.
    pub fn config_json(&self) -> String {
        serde_json::to_string(&self.config).unwrap_or_else(|_| "{}".to_owned())
    }
}

fn check_dispatch<'a>(mut tasks: impl Iterator<Item = &'a String>) -> Result<(), String> {
    match tasks.find(|task| !is_task_pattern(task)) {
        Some(bad) => Err(format!(
            "field `grants.dispatch`: {bad:?} is not a task name (`app.tasks.sync`) or a module (`app.tasks.*`)"
        )),
        None => Ok(()),
    }
}

/// Check `http` and `http_networks` entries; before expansion (`expanded`
/// false) those with a placeholder are passed over.
fn check_http(http: &[String], networks: &[String], expanded: bool) -> Result<(), String> {
    for entry in http.iter().filter(|e| expanded || !is_placeholder(e)) {
        crate::capabilities::http::Grant::parse(entry).map_err(|err| format!("field `grants.http`: {err}"))?;
    }
    for entry in networks.iter().filter(|e| expanded || !is_placeholder(e)) {
        crate::capabilities::http::Network::parse(entry)
            .map_err(|err| format!("field `grants.http_networks`: {err}"))?;
    }
    Ok(())
}

fn is_placeholder(text: &str) -> bool {
    text.starts_with("${")
}

fn is_collection(name: &str) -> bool {
    name.split('.').filter(|p| !p.is_empty()).count() >= 2
}

/// `app.tasks.sync_all` or `app.tasks.*`: dotted identifiers, a `*` only as
/// the whole last part.
fn is_task_pattern(task: &str) -> bool {
    let parts: Vec<&str> = task.split('.').collect();
    parts.iter().enumerate().all(|(i, part)| {
        (*part == "*" && i == parts.len() - 1 && i > 0)
            || (!part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_expand_from_endpoint_variables() {
        let text =
            format!("{MINIMAL}\n[grants]\nfs = [\"${{scf_workbook}}\"]\n[config]\nworkbook = \"${{scf_workbook}}\"\n");
        let mut manifest = Manifest::parse(&text, "plugin.toml").expect("placeholders are valid before expansion");
        let mut vars = BTreeMap::new();
        vars.insert("scf_workbook", "/data/scf.xlsx".to_owned());
        manifest.substitute(&vars).expect("expands");
        assert_eq!(manifest.grants.fs, vec![PathBuf::from("/data/scf.xlsx")]);
        assert_eq!(manifest.config_json(), r#"{"workbook":"/data/scf.xlsx"}"#);

        let mut empty = Manifest::parse(&text, "plugin.toml").expect("valid");
        vars.insert("scf_workbook", String::new());
        empty.substitute(&vars).expect("expands");
        assert!(empty.grants.fs.is_empty());

        let mut unknown = Manifest::parse(&format!("{MINIMAL}\n[config]\nx = \"${{nope}}\"\n"), "p").expect("valid");
        let err = unknown.substitute(&vars).unwrap_err();
        assert!(err.contains("unknown variable ${nope}"), "{err}");
    }

    #[test]
    fn placeholders_reach_every_grant_list_and_nested_config() {
        let text = r#"
            name = "w"
            kind = "watchdog"
            version = "0.1.0"
            component = "w.wasm"
            [grants]
            mongo = ["${db}"]
            store = ["${db}.scan_runs"]
            http = ["${url}"]
            http_networks = ["${net}"]
            dispatch = ["${task}"]
            queues = ["${queue}"]
            [config.nested]
            list = ["${url}/health", { deeper = "${db}" }]
        "#;
        let mut manifest = Manifest::parse(text, "plugin.toml").expect("placeholders are valid before expansion");
        let vars = BTreeMap::from([
            ("db", "platform".to_owned()),
            ("url", "http://api:8000".to_owned()),
            ("net", "10.0.0.0/8".to_owned()),
            ("task", "app.tasks.*".to_owned()),
            ("queue", "repairs".to_owned()),
        ]);
        manifest.substitute(&vars).expect("expands");
        let grants = &manifest.grants;
        assert_eq!((grants.mongo[0].as_str(), grants.store[0].as_str()), ("platform", "platform.scan_runs"));
        assert_eq!((grants.http[0].as_str(), grants.http_networks[0].as_str()), ("http://api:8000", "10.0.0.0/8"));
        assert_eq!((grants.dispatch[0].as_str(), grants.queues[0].as_str()), ("app.tasks.*", "repairs"));
        assert_eq!(manifest.config_json(), r#"{"nested":{"list":["http://api:8000/health",{"deeper":"platform"}]}}"#);

        // An expanded entry is checked as a written one would be.
        for (name, value, field) in
            [("task", "purge-all!", "grants.dispatch"), ("net", "the office", "grants.http_networks")]
        {
            let mut bad = Manifest::parse(text, "plugin.toml").expect("valid");
            let mut vars = vars.clone();
            vars.insert(name, value.to_owned());
            let err = bad.substitute(&vars).unwrap_err();
            assert!(err.contains(field), "{err}");
        }
    }

    const MINIMAL: &str = r#"
        name = "redis-session"
        kind = "check"
        version = "0.1.0"
        component = "check.wasm"
    "#;

    #[test]
    fn minimal_manifest_gets_defaults() {
        let manifest = Manifest::parse(MINIMAL, "plugin.toml").expect("valid");
        assert_eq!(manifest.kind, PluginKind::Check);
        assert_eq!(manifest.interval, Duration::from_secs(30));
        assert_eq!(manifest.timeout, Duration::from_secs(2));
        assert_eq!(manifest.limits.memory_mib, 64);
        assert_eq!(manifest.grants, Grants::default());
        assert_eq!(manifest.config_json(), "{}");
    }

    #[test]
    fn config_table_becomes_json() {
        let text = format!("{MINIMAL}\n[config]\nmode = \"redis\"\nkeys = [1, 2]\n");
        let manifest = Manifest::parse(&text, "plugin.toml").expect("valid");
        assert_eq!(manifest.config_json(), r#"{"keys":[1,2],"mode":"redis"}"#);
    }

    #[test]
    fn error_names_source_and_field() {
        let text = MINIMAL.replace("check.wasm", "../escape.wasm");
        let err = Manifest::parse(&text, "dir/plugin.toml").unwrap_err().to_string();
        assert!(err.starts_with("dir/plugin.toml: field `component`"), "{err}");
    }
}
