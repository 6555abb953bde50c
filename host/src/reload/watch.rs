//! What triggers a reload: changes in plugin directories and the
//! configuration file (the `notify` crate; the watcher only reports that
//! something changed), SIGHUP, and the admin route. One task debounces file
//! events (waiting until writes settle, so a plugin copied in pieces is not
//! read half-written; deploy with an atomic rename to be safe) and runs the
//! reloads, so they never race.

use std::path::PathBuf;
use std::sync::Arc;
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

/// A polling watcher over the same paths, when inotify is not available.
fn poll_watcher(daemon: &Daemon, sender: mpsc::UnboundedSender<()>) -> Option<Box<dyn Watcher + Send>> {
    let config = notify::Config::default().with_poll_interval(Duration::from_secs(1));
    let handler = move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            let _ = sender.send(());
        }
    };
    let mut watcher = match notify::PollWatcher::new(handler, config) {
        Ok(watcher) => watcher,
        Err(err) => {
            tracing::warn!(error = %err, "cannot watch plugin directories; reload with SIGHUP or POST /admin/reload");
            return None;
        }
    };
    for (path, mode) in watched(daemon) {
        if let Err(err) = watcher.watch(&path, mode) {
            tracing::warn!(path = %path.display(), error = %err, "cannot watch");
        }
    }
    Some(Box::new(watcher))
}

/// Start watching, plus SIGHUP; reloads run on one task until `shutdown`.
pub fn watch(daemon: &Arc<Daemon>, shutdown: &CancellationToken) {
    let (sender, mut events) = mpsc::unbounded_channel::<()>();
    let config_file = daemon.config.load().origin.path.clone().and_then(|p| std::fs::canonicalize(p).ok());
    let plugin_dirs: Vec<PathBuf> =
        daemon.config.load().plugin_dirs.iter().filter_map(|d| std::fs::canonicalize(d).ok()).collect();
    let notify_sender = sender.clone();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        // In the config file's directory, only the config file itself counts.
        let relevant = event.paths.iter().any(|path| {
            plugin_dirs.iter().any(|dir| path.starts_with(dir)) || config_file.as_ref().is_some_and(|f| path == f)
        });
        if relevant {
            let _ = notify_sender.send(());
        }
    });
    let watcher = watcher.map_err(|err| err.to_string()).and_then(|mut watcher| {
        for (path, mode) in watched(daemon) {
            watcher.watch(&path, mode).map_err(|err| format!("{}: {err}", path.display()))?;
        }
        Ok(Box::new(watcher) as Box<dyn Watcher + Send>)
    });
    // Without inotify (its per-user instance limit is easily reached in
    // containers), poll instead: slower to notice, same behaviour.
    let watcher = match watcher {
        Ok(watcher) => Some(watcher),
        Err(err) => {
            tracing::warn!(error = %err, "file events unavailable; polling plugin directories every second");
            poll_watcher(daemon, sender.clone())
        }
    };

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
        let _watcher = watcher;
        let _sender = sender;
        loop {
            let first = tokio::select! {
                first = settle(&mut events, DEBOUNCE) => first,
                _ = shutdown.cancelled() => break,
            };
            let Some(first) = first else { break };
            daemon.reload("files changed", first).await;
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
