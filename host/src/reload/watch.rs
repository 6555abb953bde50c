//! What triggers a reload: changes in plugin directories and the
//! configuration file (the `notify` crate; the watcher only reports that
//! something changed), SIGHUP, and the admin route. One task debounces file
//! events (waiting until writes settle, so a plugin copied in pieces is not
//! read half-written; `vigil plugin deploy` swaps a whole directory in one
//! rename) and runs the reloads, so they never race.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::daemon::Daemon;

/// How long file events must pause before a reload.
pub const DEBOUNCE: Duration = Duration::from_millis(500);

/// Wait for the first event, then until none has arrived for `quiet`;
/// returns when the first came, or `None` when the channel closed.
pub async fn settle(events: &mut mpsc::UnboundedReceiver<()>, quiet: Duration) -> Option<Instant> {
    events.recv().await?;
    let first = Instant::now();
    loop {
        match tokio::time::timeout(quiet, events.recv()).await {
            Ok(Some(())) => continue,
            Ok(None) | Err(_) => return Some(first),
        }
    }
}

/// Paths to watch: every plugin directory and the configuration file's directory.
fn watched(daemon: &Daemon) -> Vec<(PathBuf, RecursiveMode)> {
    let config = daemon.config.load();
    let mut paths: Vec<(PathBuf, RecursiveMode)> =
        config.plugin_dirs.iter().map(|dir| (dir.clone(), RecursiveMode::Recursive)).collect();
    if let Some(parent) = config.origin.path.as_ref().and_then(|p| p.parent()) {
        let parent = if parent.as_os_str().is_empty() { PathBuf::from(".") } else { parent.to_path_buf() };
        paths.push((parent, RecursiveMode::NonRecursive));
    }
    paths
}

/// Which changed paths matter: those in a plugin directory, and the
/// configuration file itself (not its neighbours).
#[derive(Debug, Default)]
struct Relevant {
    plugin_dirs: Vec<PathBuf>,
    config_file: Option<PathBuf>,
}

impl Relevant {
    fn of(daemon: &Daemon) -> Self {
        let config = daemon.config.load();
        Self {
            plugin_dirs: config.plugin_dirs.iter().filter_map(|d| std::fs::canonicalize(d).ok()).collect(),
            config_file: config.origin.path.clone().and_then(|p| std::fs::canonicalize(p).ok()),
        }
    }

    fn covers(&self, path: &std::path::Path) -> bool {
        self.plugin_dirs.iter().any(|dir| path.starts_with(dir)) || self.config_file.as_deref() == Some(path)
    }
}

/// A watcher and what it watches now; follows the configuration's
/// `plugin_dirs` after every applied reload.
struct Watching {
    watcher: Option<Box<dyn Watcher + Send>>,
    paths: Vec<(PathBuf, RecursiveMode)>,
    relevant: Arc<RwLock<Relevant>>,
}

impl Watching {
    fn start(daemon: &Daemon, sender: &mpsc::UnboundedSender<()>) -> Self {
        let relevant = Arc::new(RwLock::new(Relevant::of(daemon)));
        let (notify_sender, filter) = (sender.clone(), Arc::clone(&relevant));
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            if event.kind.is_access() {
                return;
            }
            let relevant = filter.read().unwrap_or_else(PoisonError::into_inner);
            if event.paths.iter().any(|path| relevant.covers(path)) {
                let _ = notify_sender.send(());
            }
        });
        let mut watching = Self { watcher: None, paths: Vec::new(), relevant };
        match watcher {
            Ok(watcher) => {
                watching.watcher = Some(Box::new(watcher));
                if let Err(err) = watching.sync(daemon) {
                    tracing::warn!(error = %err, "file events unavailable; polling plugin directories every second");
                    watching.watcher = None;
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "file events unavailable; polling plugin directories every second")
            }
        }
        // Without inotify (its per-user instance limit is easily reached in
        // containers), poll instead: slower to notice, same behaviour.
        if watching.watcher.is_none() {
            watching.paths.clear();
            watching.watcher = poll_watcher(sender.clone());
            if let Err(err) = watching.sync(daemon) {
                tracing::warn!(error = %err, "cannot watch plugin directories; reload with SIGHUP or POST /admin/reload");
            }
        }
        watching
    }

    /// Watch what the configuration names now, and nothing else. Returns
    /// whether a path was added (what landed there before it was watched
    /// needs one more look).
    fn sync(&mut self, daemon: &Daemon) -> Result<bool, String> {
        let wanted = watched(daemon);
        *self.relevant.write().unwrap_or_else(PoisonError::into_inner) = Relevant::of(daemon);
        let Some(watcher) = self.watcher.as_mut() else { return Ok(false) };
        for (path, _) in self.paths.iter().filter(|p| !wanted.contains(p)) {
            let _ = watcher.unwatch(path);
        }
        let mut first_error = None;
        for (path, mode) in wanted.iter().filter(|p| !self.paths.contains(p)) {
            if let Err(err) = watcher.watch(path, *mode) {
                tracing::warn!(path = %path.display(), error = %err, "cannot watch");
                first_error.get_or_insert_with(|| format!("{}: {err}", path.display()));
            }
        }
        let added = wanted.iter().any(|p| !self.paths.contains(p));
        self.paths = wanted;
        first_error.map_or(Ok(added), Err)
    }
}

/// A polling watcher, when inotify is not available.
fn poll_watcher(sender: mpsc::UnboundedSender<()>) -> Option<Box<dyn Watcher + Send>> {
    let config = notify::Config::default().with_poll_interval(Duration::from_secs(1));
    let handler = move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            let _ = sender.send(());
        }
    };
    match notify::PollWatcher::new(handler, config) {
        Ok(watcher) => Some(Box::new(watcher)),
        Err(err) => {
            tracing::warn!(error = %err, "cannot watch plugin directories; reload with SIGHUP or POST /admin/reload");
            None
        }
    }
}

/// Start watching, plus SIGHUP; reloads run on one task until `shutdown`.
/// After every reload that applies a new configuration (whatever triggered
/// it) the watched directories follow its `plugin_dirs`.
pub fn watch(daemon: &Arc<Daemon>, shutdown: &CancellationToken) {
    let (sender, mut events) = mpsc::unbounded_channel::<()>();
    let mut watching = Watching::start(daemon, &sender);
    // What landed after the load's scan and before the watcher started has
    // no event: look once.
    if daemon.plugins_drifted() {
        let _ = sender.send(());
    }

    // Registered before returning, so a SIGHUP right after start-up reloads
    // instead of killing the process.
    #[cfg(unix)]
    if let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        let (daemon, shutdown) = (Arc::clone(daemon), shutdown.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = hangups.recv() => { daemon.reload("SIGHUP", Instant::now()).await; }
                    _ = shutdown.cancelled() => break,
                }
            }
        });
    }

    let (daemon, shutdown) = (Arc::clone(daemon), shutdown.clone());
    tokio::spawn(async move {
        loop {
            let applied = daemon.reloads.applied.notified();
            tokio::pin!(applied);
            // Registered now, so a reload applied before the select polls it still counts.
            applied.as_mut().enable();
            tokio::select! {
                first = settle(&mut events, DEBOUNCE) => {
                    let Some(first) = first else { break };
                    daemon.reload("files changed", first).await;
                }
                () = &mut applied => {}
                _ = shutdown.cancelled() => break,
            }
            match watching.sync(&daemon) {
                // A directory the reload added may have changed before it was watched.
                Ok(true) => {
                    let _ = sender.send(());
                }
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "some plugin directories are not watched; reload with SIGHUP"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_writes_settles_into_one_reload() {
        let (sender, mut events) = mpsc::unbounded_channel();
        let burst = tokio::spawn(async move {
            for _ in 0..10 {
                sender.send(()).expect("send");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            sender
        });
        let started = tokio::time::Instant::now();
        assert!(settle(&mut events, DEBOUNCE).await.is_some());
        // Ten events 100 ms apart, then 500 ms of quiet: one settle, after ~1.4 s of (paused) time.
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(1400) && waited < Duration::from_millis(1500), "{waited:?}");
        let sender = burst.await.expect("burst");
        assert!(events.try_recv().is_err(), "every event of the burst was consumed by the one settle");
        drop(sender);
        assert!(settle(&mut events, DEBOUNCE).await.is_none());
    }
}
