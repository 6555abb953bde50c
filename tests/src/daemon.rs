//! A daemon running in the test process: the real loader, scheduler and
//! HTTP server on a loopback socket, stopped when dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use vigil_host::config::DaemonConfig;
use vigil_host::daemon::Daemon;
use vigil_host::server;

/// A running daemon.
pub struct TestDaemon {
    /// Its shared state.
    pub daemon: Arc<Daemon>,
    /// Where it serves.
    pub addr: SocketAddr,
    shutdown: CancellationToken,
}

impl TestDaemon {
    /// Start with `config` (the shared artifact cache is filled in).
    pub async fn start(mut config: DaemonConfig) -> Self {
        config.cache_dir = Some(crate::shared_cache_dir());
        let daemon = Daemon::start(config).await.expect("daemon starts");
        let shutdown = CancellationToken::new();
        daemon.spawn_tasks(&shutdown);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = shutdown.clone();
        let app = server::app(Arc::clone(&daemon));
        let (limits, metrics) = (daemon.config.load().http.clone(), Arc::clone(&daemon.metrics));
        tokio::spawn(async move {
            let _ = server::serve(listener, app, stop, &limits, metrics).await;
        });
        Self { daemon, addr, shutdown }
    }

    /// GET `path` with extra headers; returns status, content type and body.
    pub async fn request(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
        crate::http_get(self.addr, path, headers).await
    }

    /// GET `path` as JSON.
    pub async fn json(&self, path: &str) -> (u16, serde_json::Value) {
        let (code, _, body) = self.request(path, &[]).await;
        (code, serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path} returned non-JSON: {body}")))
    }

    /// The `/health/status` entry of plugin `name`.
    pub async fn plugin(&self, name: &str) -> serde_json::Value {
        let (_, body) = self.json("/health/status").await;
        body["plugins"].as_array().and_then(|p| p.iter().find(|p| p["name"] == name).cloned()).unwrap_or_default()
    }

    /// Poll `/health/status` until plugin `name` satisfies `ready`; returns
    /// the entry and how long it took. Panics after `limit`.
    pub async fn wait_for(
        &self,
        name: &str,
        limit: Duration,
        ready: impl Fn(&serde_json::Value) -> bool,
    ) -> (serde_json::Value, Duration) {
        let started = Instant::now();
        loop {
            let entry = self.plugin(name).await;
            if ready(&entry) {
                return (entry, started.elapsed());
            }
            assert!(started.elapsed() < limit, "{name} did not reach the expected state within {limit:?}: {entry}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl TestDaemon {
    /// Poll `/metrics` until every one of `series` (exact sample lines, or
    /// prefixes of them) appears; returns the exposition. Panics after `limit`.
    pub async fn wait_for_metrics(&self, series: &[&str], limit: Duration) -> String {
        let started = Instant::now();
        loop {
            let (_, _, text) = self.request("/metrics", &[]).await;
            let missing: Vec<&&str> = series.iter().filter(|s| !text.lines().any(|l| l.starts_with(**s))).collect();
            if missing.is_empty() {
                return text;
            }
            assert!(started.elapsed() < limit, "metrics {missing:?} did not appear within {limit:?}:\n{text}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A configuration with only the named bundled plugins enabled.
pub fn only_bundled(names: &[&str]) -> DaemonConfig {
    let mut config = DaemonConfig::default();
    for plugin in vigil_host::bundled::BUNDLED {
        let manifest =
            vigil_host::manifest::Manifest::parse(plugin.manifest, plugin.package).expect("bundled manifest");
        if !names.contains(&manifest.name.as_str()) {
            let disabled = vigil_host::config::PluginOverride { enabled: false, ..Default::default() };
            config.plugins.insert(manifest.name, disabled);
        }
    }
    config
}
