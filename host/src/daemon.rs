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
    /// The configuration it started with.
    pub config: DaemonConfig,
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
    /// installed process-wide for the log writer).
    pub scrubber: Arc<crate::scrubber::Engine>,
    /// The admin routes' gate (rate limit, bearer token, security events).
    pub admin: crate::security::admin::AdminGuard,
    /// The data-sync watchdog and its dispatcher.
    pub watchdog: Arc<crate::watchdog::Watchdog>,
    /// The Celery event-stream consumer, when a broker is configured.
    pub celery: Option<Arc<crate::celery::CeleryMonitor>>,
}

impl Daemon {
    /// Build the sandbox and load every plugin the configuration names.
    pub async fn start(config: DaemonConfig) -> anyhow::Result<Arc<Self>> {
        let metrics = Arc::new(Metrics::new()?);
        let services =
            Arc::new(Services::connect(&config.endpoints, Arc::clone(&metrics)).await.map_err(anyhow::Error::msg)?);
        let watchdog = Arc::new(crate::watchdog::from_config(&config, &services, &metrics)?);
        let celery = crate::celery::from_config(&config, &metrics)?.map(Arc::new);
        let runtime = Runtime::new(RuntimeOptions { cache_dir: config.effective_cache_dir() }, services)?;
        let sources = PluginSources { bundled: config.bundled_plugins, dirs: config.plugin_dirs.clone() };
        let report = loader::load_all(&runtime, &sources, &config).await;
        let set = PluginSet::from(report);
        metrics.plugins_changed(&set);
        let (engine, problems) = crate::scrubber::build(&set.plugins).await;
        for problem in &problems {
            tracing::error!(problem = %problem, "scrubber rule not loaded");
        }
        tracing::info!(rules = engine.rules().len(), "scrubber rules installed");
        let scrubber = Arc::new(engine);
        crate::scrubber::install(Arc::clone(&scrubber));
        let admin = crate::security::admin::AdminGuard::new(&config.admin, SecurityLogger::new(&metrics)?);
        Ok(Arc::new(Self {
            admin,
            watchdog,
            celery,
            config,
            runtime,
            plugins: ArcSwap::from_pointee(set),
            metrics,
            scrubber,
            results: Arc::new(ResultsStore::new()),
            heartbeat: Arc::new(Heartbeat::default()),
            started: Instant::now(),
        }))
    }
}

impl Daemon {
    /// Start the background work: the check scheduler (and heartbeat), the
    /// watchdog rules (when `watchdog.enabled`), and the Celery event
    /// consumer (when configured). All stop when `shutdown` is cancelled.
    pub fn spawn_tasks(self: &Arc<Self>, shutdown: &tokio_util::sync::CancellationToken) -> tokio::task::JoinSet<()> {
        let plugins = self.plugins.load().plugins.clone();
        let mut tasks =
            crate::scheduler::spawn(&plugins, Arc::clone(&self.results), Arc::clone(&self.heartbeat), shutdown.clone());
        if self.config.watchdog.enabled {
            let mut watchdog = self.watchdog.spawn(&plugins, shutdown.clone());
            tasks.spawn(async move { while watchdog.join_next().await.is_some() {} });
        }
        if let Some(celery) = &self.celery {
            tasks.spawn(Arc::clone(celery).run(shutdown.clone()));
        }
        tasks
    }
}
