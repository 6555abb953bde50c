//! Runs every check on its own interval, with its own deadline and at most
//! one run in flight, and keeps a heartbeat for liveness.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::manifest::PluginKind;
use crate::results::{CheckResult, ResultsStore, Thresholds};
use crate::runtime::Plugin;

/// How often the scheduler's heartbeat beats.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// Proof of life of the scheduler, read by `/health/live`.
#[derive(Debug, Default)]
pub struct Heartbeat {
    last_unix_ms: AtomicU64,
}

impl Heartbeat {
    /// Record a beat now.
    pub fn beat(&self) {
        self.last_unix_ms.store(unix_ms(SystemTime::now()), Ordering::Relaxed);
    }

    /// Time since the last beat, or `None` before the first.
    pub fn age(&self) -> Option<Duration> {
        match self.last_unix_ms.load(Ordering::Relaxed) {
            0 => None,
            last => Some(Duration::from_millis(unix_ms(SystemTime::now()).saturating_sub(last))),
        }
    }
}

fn unix_ms(time: SystemTime) -> u64 {
    u64::try_from(time.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(u64::MAX)
}

/// Run a check once and record its result.
pub async fn run_once(plugin: &Plugin, results: &ResultsStore) -> CheckResult {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let outcome = plugin.run_check().await;
    let result = CheckResult::from_outcome(outcome, started_at, started.elapsed());
    match &result.fault {
        Some(fault) => tracing::warn!(plugin = plugin.name(), fault, reason = %result.detail, "check failed"),
        None => tracing::info!(
            plugin = plugin.name(),
            status = result.status.as_str(),
            mode = %result.mode,
            duration_seconds = result.duration.as_secs_f64(),
            "check ran"
        ),
    }
    plugin.services().metrics.check_ran(plugin.name(), &result);
    let thresholds = Thresholds { rise: plugin.manifest.rise, fall: plugin.manifest.fall };
    results.record(plugin.name(), result.clone(), thresholds);
    result
}

/// Beat the heartbeat every [`HEARTBEAT`] until `shutdown`.
pub async fn heartbeat(heartbeat: Arc<Heartbeat>, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            _ = ticker.tick() => heartbeat.beat(),
            _ = shutdown.cancelled() => break,
        }
    }
}

/// Run `plugin` on its interval until `stop` (a reload retired it: a run in
/// flight finishes first) or `shutdown` (the process stops: it does not).
pub async fn check_loop(
    plugin: Arc<Plugin>,
    results: Arc<ResultsStore>,
    stop: CancellationToken,
    shutdown: CancellationToken,
) {
    let mut ticker = tokio::time::interval(plugin.manifest.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.cancelled() => break,
        }
        tokio::select! {
            _ = run_once(&plugin, &results) => {}
            _ = shutdown.cancelled() => break,
        }
    }
}

/// Start one loop per check plugin plus the heartbeat, all stopping at
/// `shutdown` (for one-shot use; the daemon uses the [`crate::supervisor`]).
pub fn spawn(
    plugins: &[Arc<Plugin>],
    results: Arc<ResultsStore>,
    beat: Arc<Heartbeat>,
    shutdown: CancellationToken,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    tasks.spawn(heartbeat(beat, shutdown.clone()));
    for plugin in plugins.iter().filter(|p| p.kind() == PluginKind::Check) {
        tasks.spawn(check_loop(Arc::clone(plugin), Arc::clone(&results), shutdown.clone(), shutdown.clone()));
    }
    tasks
}
