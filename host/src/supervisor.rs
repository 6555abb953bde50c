//! The daemon's background work, per plugin: one loop per check and per
//! watchdog rule, plus the heartbeat and the Celery consumer. A reload hands
//! the supervisor the new plugin set; loops of plugins that left or were
//! replaced are retired (a run in flight finishes on the old instance) and
//! loops for the new ones start.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::manifest::PluginKind;
use crate::results::ResultsStore;
use crate::runtime::Plugin;
use crate::watchdog::Watchdog;

struct Running {
    plugin: Arc<Plugin>,
    stop: CancellationToken,
}

/// Runs and retires per-plugin loops.
pub struct Supervisor {
    tasks: JoinSet<()>,
    running: BTreeMap<String, Running>,
    shutdown: CancellationToken,
    results: Arc<ResultsStore>,
    watchdog: Option<Arc<Watchdog>>,
}

impl Supervisor {
    /// A supervisor whose loops all end at `shutdown`. `watchdog`: run
    /// watchdog rules too.
    pub fn new(shutdown: CancellationToken, results: Arc<ResultsStore>, watchdog: Option<Arc<Watchdog>>) -> Self {
        Self { tasks: JoinSet::new(), running: BTreeMap::new(), shutdown, results, watchdog }
    }

    /// Run a task that is not tied to a plugin until shutdown.
    pub fn spawn(&mut self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task);
    }

    /// Make the running loops match `plugins`: unchanged plugins keep their
    /// loop, replaced and removed ones are retired, new ones start.
    pub fn sync(&mut self, plugins: &[Arc<Plugin>]) {
        let wanted: BTreeMap<&str, &Arc<Plugin>> = plugins
            .iter()
            .filter(|p| p.kind() == PluginKind::Check || (p.kind() == PluginKind::Watchdog && self.watchdog.is_some()))
            .map(|p| (p.name(), p))
            .collect();
        self.running.retain(|name, running| {
            let keep = wanted.get(name.as_str()).is_some_and(|p| Arc::ptr_eq(p, &running.plugin));
            if !keep {
                running.stop.cancel();
            }
            keep
        });
        for (name, plugin) in wanted {
            if self.running.contains_key(name) {
                continue;
            }
            let stop = self.shutdown.child_token();
            let (plugin, shutdown) = (Arc::clone(plugin), self.shutdown.clone());
            match (plugin.kind(), &self.watchdog) {
                (PluginKind::Watchdog, Some(watchdog)) => {
                    self.tasks.spawn(Arc::clone(watchdog).run_loop(Arc::clone(&plugin), stop.clone(), shutdown));
                }
                _ => {
                    let results = Arc::clone(&self.results);
                    self.tasks.spawn(crate::scheduler::check_loop(
                        Arc::clone(&plugin),
                        results,
                        stop.clone(),
                        shutdown,
                    ));
                }
            }
            self.running.insert(name.to_owned(), Running { plugin, stop });
        }
        // Reap loops that have finished, so the set does not grow with reloads.
        while self.tasks.try_join_next().is_some() {}
    }

    /// Wait up to `grace` for every loop to end (after shutdown); abort the rest.
    /// Returns whether all ended in time.
    pub async fn drain(mut self, grace: Duration) -> bool {
        let drained = tokio::time::timeout(grace, async { while self.tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            self.tasks.abort_all();
        }
        drained.is_ok()
    }
}
