//! Hot reload of plugins and configuration. One reload runs at a time
//! (file changes, SIGHUP and `POST /admin/reload` all come here):
//!
//! 1. Re-read `vigil.toml` (if any). An invalid file is rejected whole, the
//!    field named, and the old configuration stays. Changes that need a
//!    restart (listen addresses, logging, cache, endpoints, admin, watchdog
//!    and Celery settings) are reported, not half-applied; plugin overrides,
//!    critical checks, readiness policy and plugin directories apply.
//! 2. Discover plugins. A plugin whose manifest, configuration and component
//!    are unchanged keeps its running instance.
//! 3. Load each new or changed plugin (through the artifact cache), ask for
//!    its `describe()`, and canary it: a check runs once under its deadline,
//!    a scrubber gives its rules, an index profile its indexes, a watchdog
//!    evaluates once (its findings are dropped, nothing is dispatched; its
//!    own error, such as a store it cannot reach, is no fault). Any failure
//!    rejects that version: the old one keeps running, and the rejection is
//!    in `/health/status`, the log and `vigil_plugin_reloads_total`.
//! 4. Swap the plugin set atomically, rebuild the scrubber when its rules
//!    changed, and hand the set to the supervisor (calls in flight finish on
//!    the old instances).

pub mod watch;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::config::DaemonConfig;
use crate::daemon::{Daemon, FailedPlugin, PluginSet};
use crate::loader::{self, PluginSources};
use crate::manifest::PluginKind;
use crate::runtime::{Plugin, PluginSource};

pub use watch::watch;

/// A version of a plugin that was not swapped in.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    /// The plugin.
    pub name: String,
    /// The rejected version.
    pub version: String,
    /// Where it came from.
    pub origin: String,
    /// Why.
    pub reason: String,
    /// Whether an older version keeps running.
    pub kept_previous: bool,
    /// When (Unix seconds).
    pub at: f64,
}

/// What happened to `vigil.toml`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConfigReload {
    /// `unchanged`, `applied`, `rejected` or `none` (no file).
    pub outcome: &'static str,
    /// Why it was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Changed settings that only take effect after a restart.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub restart_required: Vec<&'static str>,
}

/// The outcome of one reload.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReloadReport {
    /// What triggered it.
    pub trigger: String,
    /// Plugins loaded for the first time.
    pub added: Vec<String>,
    /// Plugins whose new version was swapped in.
    pub replaced: Vec<String>,
    /// Plugins unloaded.
    pub removed: Vec<String>,
    /// Plugins left as they were.
    pub unchanged: usize,
    /// Versions not swapped in.
    pub rejected: Vec<Rejected>,
    /// The configuration file.
    pub config: ConfigReload,
    /// Time from the trigger to the swap.
    pub duration_seconds: f64,
}

/// Reload bookkeeping kept by the daemon.
#[derive(Default)]
pub struct ReloadState {
    pub(crate) running: tokio::sync::Mutex<()>,
    rejected: Mutex<BTreeMap<String, Rejected>>,
    /// Woken after each reload that applied a new configuration (the file
    /// watcher then follows its `plugin_dirs`).
    pub(crate) applied: tokio::sync::Notify,
}

impl ReloadState {
    /// Versions rejected and not yet superseded, by plugin.
    pub fn rejected(&self) -> Vec<Rejected> {
        self.rejected.lock().unwrap_or_else(PoisonError::into_inner).values().cloned().collect()
    }
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}

/// What identifies a plugin version: its manifest after configuration, its
/// origin and its component's digest.
fn fingerprint(manifest: &crate::manifest::Manifest, origin: &str, digest: &str) -> String {
    format!("{manifest:?}|{origin}|{digest}")
}

fn source_fingerprint(source: &PluginSource) -> String {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(&source.wasm));
    fingerprint(&source.manifest, &source.origin.to_string(), &digest)
}

fn plugin_fingerprint(plugin: &Plugin) -> String {
    fingerprint(&plugin.manifest, &plugin.origin.to_string(), &plugin.digest)
}

/// Settings a reload does not apply (named as in `vigil.toml`).
fn restart_only(old: &DaemonConfig, new: &DaemonConfig) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut check = |name: &'static str, same: bool| {
        if !same {
            changed.push(name);
        }
    };
    check("listen", old.listen == new.listen);
    check("metrics_listen", old.metrics_listen == new.metrics_listen);
    check("cache_dir", old.cache_dir == new.cache_dir && old.disable_cache == new.disable_cache);
    check("log", old.log == new.log);
    check("endpoints", old.endpoints == new.endpoints);
    check("admin", old.admin == new.admin);
    check("watchdog", old.watchdog == new.watchdog);
    check("celery", old.celery == new.celery);
    changed
}

/// Read the configuration file again, keeping restart-only settings.
fn reload_config(current: &DaemonConfig) -> (Arc<DaemonConfig>, ConfigReload) {
    let Some(path) = &current.origin.path else {
        return (Arc::new(current.clone()), ConfigReload { outcome: "none", ..ConfigReload::default() });
    };
    let mut fresh = match DaemonConfig::load(path) {
        Ok(fresh) => fresh,
        Err(err) => {
            tracing::error!(error = %err, "configuration rejected; keeping the one in force");
            let outcome =
                ConfigReload { outcome: "rejected", error: Some(err.to_string()), restart_required: Vec::new() };
            return (Arc::new(current.clone()), outcome);
        }
    };
    current.origin.apply(&mut fresh);
    let restart_required = restart_only(current, &fresh);
    if !restart_required.is_empty() {
        tracing::warn!(settings = ?restart_required, "configuration changes that need a restart are not applied");
    }
    // Keep what needs a restart as it is; apply the rest.
    fresh.listen = current.listen;
    fresh.metrics_listen = current.metrics_listen;
    fresh.cache_dir = current.cache_dir.clone();
    fresh.disable_cache = current.disable_cache;
    fresh.log = current.log.clone();
    fresh.endpoints = current.endpoints.clone();
    fresh.admin = current.admin.clone();
    fresh.watchdog = current.watchdog.clone();
    fresh.celery = current.celery.clone();
    let outcome = if fresh == *current { "unchanged" } else { "applied" };
    (Arc::new(fresh), ConfigReload { outcome, error: None, restart_required })
}

/// Ask a freshly loaded plugin to do its job once.
async fn canary(plugin: &Plugin) -> Result<(), String> {
    let fault = match plugin.kind() {
        PluginKind::Check => plugin.run_check().await.err(),
        PluginKind::Scrubber => plugin.rules().await.err(),
        PluginKind::IndexProfile => plugin.indexes().await.err(),
        PluginKind::Watchdog => match plugin.evaluate().await {
            Err(crate::runtime::Fault::PluginError(_)) | Ok(_) => None,
            Err(fault) => Some(fault),
        },
    };
    match fault {
        Some(fault) => Err(format!("canary {} failed: {fault}", plugin.kind())),
        None => Ok(()),
    }
}

impl Daemon {
    /// Whether the plugin directories hold a plugin other than the ones
    /// loaded (one that landed between the load's scan and the watcher's
    /// start). Plugins that failed to load are left out: they fail again.
    pub fn plugins_drifted(&self) -> bool {
        let config = self.config.load();
        let sources = PluginSources { bundled: config.bundled_plugins, dirs: config.plugin_dirs.clone() };
        let (found, _) = loader::discover(&sources);
        let (configured, _) = loader::apply_config(found, &config);
        let set = self.plugins.load();
        let failed: Vec<&str> = set.failed.iter().filter_map(|f| f.name.as_deref()).collect();
        let loaded: BTreeMap<&str, String> = set.plugins.iter().map(|p| (p.name(), plugin_fingerprint(p))).collect();
        let on_disk: Vec<&PluginSource> =
            configured.iter().filter(|s| !failed.contains(&s.manifest.name.as_str())).collect();
        on_disk.len() != loaded.len()
            || on_disk.iter().any(|s| loaded.get(s.manifest.name.as_str()) != Some(&source_fingerprint(s)))
    }

    /// Reload plugins and configuration now. `trigger` says why (for the
    /// report and the log); `since` is when the change was noticed.
    pub async fn reload(self: &Arc<Self>, trigger: &str, since: Instant) -> ReloadReport {
        let _one_at_a_time = self.reloads.running.lock().await;
        let (config, config_outcome) = reload_config(&self.config.load());
        let mut report =
            ReloadReport { trigger: trigger.to_owned(), config: config_outcome, ..ReloadReport::default() };

        let sources = PluginSources { bundled: config.bundled_plugins, dirs: config.plugin_dirs.clone() };
        let (found, mut failures) = loader::discover(&sources);
        let (configured, mut invalid) = loader::apply_config(found, &config);
        failures.append(&mut invalid);

        let current = self.plugins.load_full();
        let by_name: BTreeMap<&str, &Arc<Plugin>> = current.plugins.iter().map(|p| (p.name(), p)).collect();
        let mut next: Vec<Arc<Plugin>> = Vec::new();
        let mut to_load = Vec::new();
        let mut unchanged = Vec::new();
        for source in configured {
            match by_name.get(source.manifest.name.as_str()) {
                Some(old) if plugin_fingerprint(old) == source_fingerprint(&source) => {
                    unchanged.push(old.name().to_owned());
                    next.push(Arc::clone(old));
                }
                _ => to_load.push(source),
            }
        }
        let loaded = loader::load(&self.runtime, to_load).await;
        let mut rejected_now: Vec<Rejected> = Vec::new();
        let mut reject = |name: String, version: String, origin: String, reason: String| {
            let kept_previous = by_name.contains_key(name.as_str());
            rejected_now.push(Rejected { name, version, origin, reason, kept_previous, at: unix_now() });
        };
        // A failure we can tie to a running plugin (by name, or by the file a
        // broken manifest lives in) rejects a new version; others are plain failures.
        let mut unrelated = Vec::new();
        for failure in loaded.failures.into_iter().chain(failures.drain(..)) {
            let known = failure.name.clone().or_else(|| {
                current.plugins.iter().find(|p| p.origin.to_string() == failure.origin).map(|p| p.name().to_owned())
            });
            match known {
                Some(name) => {
                    let version = failure.version.clone().unwrap_or_else(|| "unknown".to_owned());
                    reject(name, version, failure.origin.clone(), failure.error.to_string())
                }
                None => unrelated.push(failure),
            }
        }
        failures = unrelated;
        for plugin in loaded.plugins {
            match canary(&plugin).await {
                Ok(()) => {
                    if by_name.contains_key(plugin.name()) {
                        report.replaced.push(plugin.name().to_owned());
                    } else {
                        report.added.push(plugin.name().to_owned());
                    }
                    next.push(plugin);
                }
                Err(reason) => reject(
                    plugin.name().to_owned(),
                    plugin.manifest.version.to_string(),
                    plugin.origin.to_string(),
                    reason,
                ),
            }
        }
        // A rejected version of a plugin we already run: keep the old one.
        for rejected in &rejected_now {
            if let Some(old) = by_name.get(rejected.name.as_str())
                && !next.iter().any(|p| p.name() == rejected.name)
            {
                next.push(Arc::clone(old));
            }
        }
        next.sort_by(|a, b| a.name().cmp(b.name()));
        report.removed =
            by_name.keys().filter(|name| !next.iter().any(|p| p.name() == **name)).map(|n| (*n).to_owned()).collect();

        let mut failed: Vec<FailedPlugin> = failures.iter().map(FailedPlugin::from).collect();
        failed.extend(rejected_now.iter().filter(|r| !r.kept_previous).map(|r| FailedPlugin {
            name: Some(r.name.clone()),
            origin: r.origin.clone(),
            error: r.reason.clone(),
        }));
        let scrubbers_changed = report.added.iter().chain(&report.replaced).chain(&report.removed).any(|name| {
            next.iter().chain(&current.plugins).any(|p| p.name() == name && p.kind() == PluginKind::Scrubber)
        });
        self.swap(PluginSet { plugins: next, failed }, config, &report, scrubbers_changed).await;
        report.unchanged = unchanged.len();
        self.record_rejections(&report, &unchanged, rejected_now);
        report.rejected = self.reloads.rejected();
        report.duration_seconds = since.elapsed().as_secs_f64();
        self.metrics.reload_finished(report.duration_seconds, report.config.outcome);
        if report.config.outcome == "applied" {
            self.reloads.applied.notify_waiters();
        }
        tracing::info!(
            trigger,
            added = ?report.added,
            replaced = ?report.replaced,
            removed = ?report.removed,
            rejected = report.rejected.len(),
            config = report.config.outcome,
            seconds = report.duration_seconds,
            "reload finished"
        );
        report
    }

    async fn swap(&self, set: PluginSet, config: Arc<DaemonConfig>, report: &ReloadReport, scrubbers_changed: bool) {
        if scrubbers_changed {
            let (engine, problems) = crate::scrubber::build(&set.plugins).await;
            for problem in &problems {
                tracing::error!(problem = %problem, "scrubber rule not loaded");
            }
            let engine = Arc::new(engine);
            crate::scrubber::install(Arc::clone(&engine));
            self.scrubber.store(engine);
        }
        for name in &report.removed {
            self.results.remove(name);
        }
        self.metrics.plugins_changed(set.plugins.iter().map(|p| p.kind()), set.failed.len());
        let set = Arc::new(set);
        self.config.store(config);
        self.plugins.store(Arc::clone(&set));
        crate::generation::bump();
        if let Some(supervisor) = self.supervisor.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
            supervisor.sync(&set.plugins);
        }
    }

    fn record_rejections(&self, report: &ReloadReport, unchanged: &[String], rejected_now: Vec<Rejected>) {
        self.note_rejections(report, unchanged, rejected_now);
        // After the change: a body built meanwhile is stored under the old
        // generation and built again, never kept without the rejection.
        crate::generation::bump();
    }

    fn note_rejections(&self, report: &ReloadReport, unchanged: &[String], rejected_now: Vec<Rejected>) {
        let mut rejected = self.reloads.rejected.lock().unwrap_or_else(PoisonError::into_inner);
        // The files are back to the running version: nothing is rejected any more.
        for name in unchanged {
            rejected.remove(name);
        }
        for name in report.added.iter().chain(&report.replaced).chain(&report.removed) {
            rejected.remove(name);
            self.metrics.reloaded(true);
        }
        for rejection in rejected_now {
            tracing::error!(
                plugin = rejection.name,
                version = rejection.version,
                origin = rejection.origin,
                reason = rejection.reason,
                kept_previous = rejection.kept_previous,
                "plugin version rejected"
            );
            self.metrics.reloaded(false);
            rejected.insert(rejection.name.clone(), rejection);
        }
    }
}
