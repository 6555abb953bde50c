//! Finding plugins (bundled and in directories) and loading each one
//! independently: a broken plugin is reported with its reason, and the rest
//! load.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bundled::BUNDLED;
use crate::config::DaemonConfig;
use crate::manifest::{MANIFEST_FILE, Manifest, ManifestError, PluginKind};
use crate::runtime::{LoadError, Origin, Plugin, PluginSource, Runtime};

/// A plugin that could not be loaded.
#[derive(Debug)]
pub struct LoadFailure {
    /// The plugin's name, when its manifest could be read.
    pub name: Option<String>,
    /// The version its manifest names, when it could be read (even if it
    /// did not validate).
    pub version: Option<String>,
    /// Where it came from.
    pub origin: String,
    /// Why it failed.
    pub error: LoadError,
}

/// The outcome of loading a set of plugins.
#[derive(Default)]
pub struct LoadReport {
    /// Plugins ready to run, sorted by name.
    pub plugins: Vec<Arc<Plugin>>,
    /// Plugins that failed, with reasons.
    pub failures: Vec<LoadFailure>,
}

/// Where to look for plugins.
#[derive(Debug, Clone, Default)]
pub struct PluginSources {
    /// Include the plugins compiled into the binary.
    pub bundled: bool,
    /// Directories of plugins (each subdirectory with a `plugin.toml`, or a
    /// single plugin directory). Later directories override earlier ones and
    /// the bundled set, by plugin name.
    pub dirs: Vec<PathBuf>,
}

/// Read every manifest and component. Failures are collected, not returned early.
pub fn discover(sources: &PluginSources) -> (Vec<PluginSource>, Vec<LoadFailure>) {
    let mut found: BTreeMap<String, PluginSource> = BTreeMap::new();
    let mut failures = Vec::new();
    if sources.bundled {
        for bundled in BUNDLED {
            let origin = Origin::Bundled(bundled.package.to_owned());
            match Manifest::parse(bundled.manifest, &origin.to_string()) {
                Ok(manifest) => {
                    let source = PluginSource { manifest, origin, wasm: Arc::from(bundled.component) };
                    found.insert(source.manifest.name.clone(), source);
                }
                Err(err) => {
                    let (name, version) = identity(bundled.manifest);
                    failures.push(LoadFailure { name, version, origin: origin.to_string(), error: err.into() });
                }
            }
        }
    }
    for dir in &sources.dirs {
        for plugin_dir in plugin_dirs(dir, &mut failures) {
            match read_source(&plugin_dir) {
                Ok(source) => {
                    if let Some(previous) = found.get(&source.manifest.name) {
                        tracing::info!(
                            plugin = %source.manifest.name,
                            replaces = %previous.origin,
                            by = %source.origin,
                            "plugin overrides an earlier one of the same name"
                        );
                    }
                    found.insert(source.manifest.name.clone(), source);
                }
                Err(failed) => {
                    let ((name, version), error) = *failed;
                    let origin = plugin_dir.join(MANIFEST_FILE).display().to_string();
                    failures.push(LoadFailure { name, version, origin, error });
                }
            }
        }
    }
    (found.into_values().collect(), failures)
}

/// Apply `vigil.toml`: per-plugin overrides, the critical-check list and
/// `${endpoint}` placeholders. Disabled plugins are dropped; a plugin whose
/// placeholders do not resolve fails on its own.
pub fn apply_config(sources: Vec<PluginSource>, config: &DaemonConfig) -> (Vec<PluginSource>, Vec<LoadFailure>) {
    let variables = config.endpoints.variables();
    let mut ready = Vec::new();
    let mut failures = Vec::new();
    for mut source in sources {
        let manifest = &mut source.manifest;
        if let Some(over) = config.plugins.get(&manifest.name) {
            if !over.enabled {
                tracing::info!(plugin = %manifest.name, "plugin disabled in configuration");
                continue;
            }
            over.apply(manifest);
        }
        let allowed = config.plugins.get(&manifest.name).is_some_and(|over| over.allow_native);
        if manifest.native && !allowed {
            let origin = source.origin.to_string();
            let problem = format!(
                "native plugin {} runs unsandboxed; set [plugins.{}] allow_native = true in vigil.toml to load it",
                manifest.name, manifest.name
            );
            let error = ManifestError { source_name: origin.clone(), problem };
            let (name, version) = (Some(manifest.name.clone()), Some(manifest.version.clone()));
            failures.push(LoadFailure { name, version, origin, error: error.into() });
            continue;
        }
        if let Some(critical) = &config.critical_checks {
            manifest.critical = manifest.kind == PluginKind::Check && critical.contains(&manifest.name);
        }
        match manifest.substitute(&variables) {
            Ok(()) => ready.push(source),
            Err(problem) => {
                let origin = source.origin.to_string();
                let error = ManifestError { source_name: origin.clone(), problem };
                let (name, version) = (Some(source.manifest.name.clone()), Some(source.manifest.version.clone()));
                failures.push(LoadFailure { name, version, origin, error: error.into() });
            }
        }
    }
    (ready, failures)
}

/// Compile and probe every source concurrently.
pub async fn load(runtime: &Runtime, sources: Vec<PluginSource>) -> LoadReport {
    let mut tasks = tokio::task::JoinSet::new();
    for source in sources {
        let runtime = runtime.clone();
        tasks.spawn(async move {
            let (name, version) = (Some(source.manifest.name.clone()), Some(source.manifest.version.clone()));
            let origin = source.origin.to_string();
            runtime.prepare(source).await.map_err(|error| LoadFailure { name, version, origin, error })
        });
    }
    let mut report = LoadReport::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(plugin)) => report.plugins.push(Arc::new(plugin)),
            Ok(Err(failure)) => report.failures.push(failure),
            Err(err) => tracing::error!(error = %err, "plugin load task failed"),
        }
    }
    report.plugins.sort_by(|a, b| a.name().cmp(b.name()));
    report
}

/// Discover, configure and load in one go, logging each failure.
pub async fn load_all(runtime: &Runtime, sources: &PluginSources, config: &DaemonConfig) -> LoadReport {
    let (found, mut failures) = discover(sources);
    let (configured, mut invalid) = apply_config(found, config);
    failures.append(&mut invalid);
    let mut report = load(runtime, configured).await;
    failures.append(&mut report.failures);
    report.failures = failures;
    for failure in &report.failures {
        tracing::error!(origin = %failure.origin, error = %failure.error, "plugin not loaded");
    }
    for plugin in &report.plugins {
        tracing::info!(
            plugin = plugin.name(),
            kind = %plugin.kind(),
            version = %plugin.manifest.version,
            origin = %plugin.origin,
            cache = ?plugin.cache_outcome,
            "plugin loaded"
        );
    }
    report
}

/// Suffixes of names that editors, copy tools and package managers leave
/// behind while they work: never a plugin.
const TEMPORARY_SUFFIXES: [&str; 12] =
    ["~", ".tmp", ".temp", ".part", ".partial", ".swp", ".bak", ".old", ".orig", ".dpkg-new", ".dpkg-old", ".rpmnew"];

/// Whether a directory entry is skipped: hidden (`.my-check.new`, where a
/// deploy stages its copy) or a temporary name (`my-check.tmp`).
pub fn is_skipped(name: &str) -> bool {
    name.starts_with('.') || TEMPORARY_SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
}

/// A directory with `plugin.toml` is one plugin; otherwise each subdirectory
/// with one is, except hidden and temporary ones ([`is_skipped`]).
fn plugin_dirs(dir: &Path, failures: &mut Vec<LoadFailure>) -> Vec<PathBuf> {
    if dir.join(MANIFEST_FILE).is_file() {
        return vec![dir.to_path_buf()];
    }
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            let mut dirs: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .filter(|entry| !is_skipped(&entry.file_name().to_string_lossy()))
                .map(|entry| entry.path())
                .filter(|path| path.join(MANIFEST_FILE).is_file())
                .collect();
            dirs.sort();
            dirs
        }
        Err(error) => {
            failures.push(LoadFailure {
                name: None,
                version: None,
                origin: dir.display().to_string(),
                error: LoadError::Read { source_name: dir.display().to_string(), path: dir.to_path_buf(), error },
            });
            Vec::new()
        }
    }
}

/// A plugin's name and version, as far as its manifest tells them.
pub type Identity = (Option<String>, Option<String>);

/// Read one plugin directory.
pub fn read_source(dir: &Path) -> Result<PluginSource, Box<(Identity, LoadError)>> {
    let manifest = Manifest::load(dir).map_err(|err| {
        let text = std::fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap_or_default();
        Box::new((identity(&text), err.into()))
    })?;
    let path = dir.join(&manifest.component);
    let origin = Origin::Directory(dir.to_path_buf());
    match std::fs::read(&path) {
        Ok(bytes) => Ok(PluginSource { manifest, origin, wasm: Arc::from(bytes) }),
        Err(error) => {
            let identity = (Some(manifest.name.clone()), Some(manifest.version.clone()));
            Err(Box::new((identity, LoadError::Read { source_name: origin.to_string(), path, error })))
        }
    }
}

/// `name` and `version` from manifest text that is TOML but not a valid
/// manifest, so a rejected version is reported by what it calls itself.
fn identity(text: &str) -> Identity {
    let Ok(table) = text.parse::<toml::Table>() else { return (None, None) };
    let field = |key: &str| table.get(key).and_then(toml::Value::as_str).map(str::to_owned);
    (field("name"), field("version"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_and_temporary_names_are_skipped() {
        for name in
            [".my-check", ".my-check.deploy-42", "my-check~", "my-check.tmp", "x.part", "x.swp", "x.bak", "x.old"]
        {
            assert!(is_skipped(name), "{name}");
        }
        for name in ["my-check", "scrubber-tokens", "v2.0", "old-check", "tmp-check"] {
            assert!(!is_skipped(name), "{name}");
        }
    }

    #[test]
    fn a_directory_scan_skips_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["live", ".staged", "copy.tmp"] {
            std::fs::create_dir(dir.path().join(name)).expect("dir");
            std::fs::write(dir.path().join(name).join(MANIFEST_FILE), "").expect("manifest");
        }
        let mut failures = Vec::new();
        assert_eq!(plugin_dirs(dir.path(), &mut failures), [dir.path().join("live")]);
        assert!(failures.is_empty());
    }
}
