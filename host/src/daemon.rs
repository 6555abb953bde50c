//! The daemon's shared state: the sandbox, the loaded plugins, the results
//! store and the scheduler's heartbeat. Routes and commands read it.

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::capabilities::Services;
use crate::config::DaemonConfig;
use crate::loader::{self, LoadFailure, LoadReport, PluginSources};
use crate::metrics::Metrics;
use crate::results::ResultsStore;
use crate::runtime::{Plugin, Runtime, RuntimeOptions};
use crate::scheduler::Heartbeat;
use crate::security::SecurityLogger;

/// How often the index plan is refreshed.
const INDEX_CHECK: std::time::Duration = std::time::Duration::from_secs(600);

/// A plugin that failed to load, as shown to operators.
#[derive(Debug, Clone, Serialize)]
pub struct FailedPlugin {
    /// Its name, when known.
    pub name: Option<String>,
    /// Where it came from.
    pub origin: String,
    /// Why it failed.
    pub error: String,
}

impl From<&LoadFailure> for FailedPlugin {
    fn from(failure: &LoadFailure) -> Self {
        Self { name: failure.name.clone(), origin: failure.origin.clone(), error: failure.error.to_string() }
    }
}

/// The loaded plugin set. Replaced whole, atomically, on reload.
#[derive(Default)]
pub struct PluginSet {
    /// Plugins ready to run, sorted by name.
    pub plugins: Vec<Arc<Plugin>>,
    /// Plugins that failed to load.
    pub failed: Vec<FailedPlugin>,
}

impl From<LoadReport> for PluginSet {
    fn from(report: LoadReport) -> Self {
        Self { failed: report.failures.iter().map(FailedPlugin::from).collect(), plugins: report.plugins }
    }
}

/// Everything the daemon shares between its tasks.
pub struct Daemon {
    /// The configuration in force (replaced by a reload that changes it).
    pub config: ArcSwap<DaemonConfig>,
    /// The sandbox.
    pub runtime: Runtime,
    /// The current plugin set.
    pub plugins: ArcSwap<PluginSet>,
    /// Latest check results.
    pub results: Arc<ResultsStore>,
    /// The scheduler's heartbeat.
    pub heartbeat: Arc<Heartbeat>,
    /// When the daemon started.
    pub started: Instant,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// The scrubber engine built from this daemon's scrubber plugins (also
    /// installed process-wide for the log writer); rebuilt on reload.
    pub scrubber: ArcSwap<crate::scrubber::Engine>,
    /// The admin routes' gate (rate limit, bearer token, security events).
    pub admin: crate::security::admin::AdminGuard,
    /// The data-sync watchdog and its dispatcher.
    pub watchdog: Arc<crate::watchdog::Watchdog>,
    /// The Celery event-stream consumer, when a broker is configured.
    pub celery: Option<Arc<crate::celery::CeleryMonitor>>,
    /// The latest index plan (empty until the first check).
    pub index_plan: ArcSwap<crate::indexes::Plan>,
    /// Per-plugin loops, once started.
    pub(crate) supervisor: std::sync::Mutex<Option<crate::supervisor::Supervisor>>,
    /// Reload state: one reload at a time, and the versions rejected so far.
    pub(crate) reloads: crate::reload::ReloadState,
    /// Probe bodies, built once per state change.
    pub(crate) probes: crate::server::cache::ProbeCache,
    /// The live event stream (`/health/events`).
    pub(crate) events: crate::server::events::Hub,
    /// When the daemon started, as wall time (for `/health/status`).
    pub started_at: std::time::SystemTime,
    /// True until the first plugin load is done.
    starting: std::sync::atomic::AtomicBool,
}

impl Daemon {
    /// Build the sandbox and load every plugin the configuration names.
    pub async fn start(config: DaemonConfig) -> anyhow::Result<Arc<Self>> {
        let daemon = Self::new(config).await?;
        daemon.load_plugins().await;
        Ok(daemon)
    }

    /// Build the sandbox, services and routes' state with no plugin loaded
    /// yet ([`Daemon::load_plugins`] does that; until then readiness says
    /// "starting"). `vigil run` serves in between.
    pub async fn new(config: DaemonConfig) -> anyhow::Result<Arc<Self>> {
        let metrics = Arc::new(Metrics::new()?);
        let services =
            Arc::new(Services::connect(&config.endpoints, Arc::clone(&metrics)).await.map_err(anyhow::Error::msg)?);
        let watchdog = Arc::new(crate::watchdog::from_config(&config, &services, &metrics)?);
        let celery = crate::celery::from_config(&config, &metrics)?.map(Arc::new);
        let runtime = Runtime::new(RuntimeOptions { cache_dir: config.effective_cache_dir() }, services)?;
        let admin = crate::security::admin::AdminGuard::new(&config.admin, SecurityLogger::new(&metrics)?);
        Ok(Arc::new(Self {
            admin,
            watchdog,
            celery,
            config: ArcSwap::from_pointee(config),
            runtime,
            plugins: ArcSwap::from_pointee(PluginSet::default()),
            metrics,
            scrubber: ArcSwap::from_pointee(crate::scrubber::Engine::default()),
            supervisor: std::sync::Mutex::new(None),
            index_plan: ArcSwap::from_pointee(crate::indexes::Plan::default()),
            reloads: crate::reload::ReloadState::default(),
            results: Arc::new(ResultsStore::new()),
            heartbeat: Arc::new(Heartbeat::default()),
            started: Instant::now(),
            probes: crate::server::cache::ProbeCache::default(),
            events: crate::server::events::Hub::default(),
            started_at: std::time::SystemTime::now(),
            starting: std::sync::atomic::AtomicBool::new(true),
        }))
    }

    /// Load every plugin the configuration names and install the scrubber
    /// rules they declare. Reloads wait until it is done.
    pub async fn load_plugins(&self) {
        let _no_reload_meanwhile = self.reloads.running.lock().await;
        let config = self.config.load_full();
        let sources = PluginSources { bundled: config.bundled_plugins, dirs: config.plugin_dirs.clone() };
        let report = loader::load_all(&self.runtime, &sources, &config).await;
        let set = PluginSet::from(report);
        self.metrics.plugins_changed(set.plugins.iter().map(|p| p.kind()), set.failed.len());
        let (engine, problems) = crate::scrubber::build(&set.plugins).await;
        for problem in &problems {
            tracing::error!(problem = %problem, "scrubber rule not loaded");
        }
        tracing::info!(rules = engine.rules().len(), "scrubber rules installed");
        let scrubber = Arc::new(engine);
        crate::scrubber::install(Arc::clone(&scrubber));
        self.scrubber.store(scrubber);
        self.plugins.store(Arc::new(set));
        self.starting.store(false, std::sync::atomic::Ordering::Release);
        crate::generation::bump();
    }

    /// Whether the plugins are still loading.
    pub fn is_starting(&self) -> bool {
        self.starting.load(std::sync::atomic::Ordering::Acquire)
    }
}

impl Daemon {
    /// Start the background work: the heartbeat, one loop per check, one per
    /// watchdog rule (when `watchdog.enabled`), and the Celery event consumer
    /// (when configured). All stop when `shutdown` is cancelled; reloads
    /// start and retire per-plugin loops.
    pub fn spawn_tasks(self: &Arc<Self>, shutdown: &tokio_util::sync::CancellationToken) {
        let watchdog = self.config.load().watchdog.enabled.then(|| Arc::clone(&self.watchdog));
        let mut supervisor = crate::supervisor::Supervisor::new(shutdown.clone(), Arc::clone(&self.results), watchdog);
        supervisor.spawn(crate::scheduler::heartbeat(Arc::clone(&self.heartbeat), shutdown.clone()));
        if let Some(celery) = &self.celery {
            supervisor.spawn(Arc::clone(celery).run(shutdown.clone()));
        }
        let (daemon, stop) = (Arc::clone(self), shutdown.clone());
        supervisor.spawn(async move {
            let mut ticker = tokio::time::interval(INDEX_CHECK);
            let mut first = true;
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = stop.cancelled() => break,
                }
                let apply = first && daemon.config.load().indexes.apply_on_start;
                first = false;
                let plan = crate::indexes::check(&daemon, apply).await;
                daemon.index_plan.store(Arc::new(plan));
                crate::generation::bump();
            }
        });
        supervisor.sync(&self.plugins.load().plugins);
        *self.supervisor.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(supervisor);
    }

    /// After shutdown: wait up to `grace` for running checks to finish.
    /// Returns whether they all did.
    pub async fn drain(&self, grace: std::time::Duration) -> bool {
        let supervisor = self.supervisor.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        match supervisor {
            Some(supervisor) => supervisor.drain(grace).await,
            None => true,
        }
    }
}
