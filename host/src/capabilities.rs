//! Host capabilities: what plugins can import.
//!
//! `log`, `clock` and `config` are open to every plugin. The others reach
//! outside the sandbox and go through [`grants`] first: a call to a target the
//! plugin's manifest does not grant is refused before anything is contacted,
//! the plugin gets `not-granted`, and the host logs a warning naming the
//! plugin and the target. One module per capability implements its WIT
//! interface for [`HostState`](crate::runtime::HostState).

mod clock;
mod config;
pub mod docker;
pub mod exec;
mod fs;
pub mod grants;
pub mod http;
pub mod log;
pub mod mongo;
pub mod redis;
mod store;
mod types;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use grants::Refusal;

use self::docker::DockerBackend;
use self::mongo::{MongoBackend, MongoEndpoint};
use self::redis::RedisBackend;
use crate::config::Endpoints;
use crate::metrics::Metrics;
use crate::runtime::bindings::CapabilityError;
use crate::store::Store;

/// Backends shared by every plugin's store, and capability counters.
pub struct Services {
    refused: AtomicU64,
    /// Unix milliseconds the `clock` capability reports instead of the
    /// system time (0: the system time). Set by `vigil watchdog run --now`.
    pinned_now_ms: AtomicU64,
    /// Where refusals (and check runs, through the scheduler) are counted.
    pub metrics: Arc<Metrics>,
    /// Redis, when `endpoints.redis_url` is set.
    pub redis: Option<Arc<RedisBackend>>,
    /// MongoDB primary and fallback.
    pub mongo: Arc<MongoBackend>,
    /// The Docker engine (always configured: `DOCKER_HOST` or the local socket).
    pub docker: Arc<DockerBackend>,
    /// Program lookup for `exec`.
    pub exec: exec::ExecBackend,
    /// The document store (`store` capability, watchdog), when configured.
    pub store: Option<Store>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("redis", &self.redis)
            .field("mongo", &self.mongo)
            .field("docker", &self.docker)
            .field("exec", &self.exec)
            .field("store", &self.store.as_ref().map(|s| s.describe()))
            .finish_non_exhaustive()
    }
}

impl Default for Services {
    fn default() -> Self {
        Self::new()
    }
}

impl Services {
    /// Make the `clock` capability report `now` from here on (a one-shot
    /// evaluation "as of" a moment: `vigil watchdog run --now`).
    pub fn pin_clock(&self, now: std::time::SystemTime) {
        let ms =
            now.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.pinned_now_ms.store(ms.max(1), Ordering::Relaxed);
    }

    /// The wall time plugins see: the pinned moment, or the system time.
    pub fn now_unix_ms(&self) -> u64 {
        match self.pinned_now_ms.load(Ordering::Relaxed) {
            0 => {
                let since_epoch =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
            }
            pinned => pinned,
        }
    }

    /// Services with no Redis or MongoDB, and the default Docker engine address.
    pub fn new() -> Self {
        Self {
            refused: AtomicU64::new(0),
            pinned_now_ms: AtomicU64::new(0),
            metrics: Arc::new(Metrics::default()),
            redis: None,
            mongo: Arc::new(MongoBackend::default()),
            docker: Arc::new(DockerBackend::new(None, Endpoints::default().call_timeout)),
            exec: exec::ExecBackend::default(),
            store: None,
        }
    }

    /// Connect (lazily) to the configured endpoints. Errors name the field,
    /// never the secret value. Must run inside a tokio runtime.
    pub async fn connect(endpoints: &Endpoints, metrics: Arc<Metrics>) -> Result<Self, String> {
        let timeout = endpoints.call_timeout;
        let redis = match &endpoints.redis_url {
            Some(url) => {
                let url = url.resolve("endpoints.redis_url")?;
                Some(Arc::new(
                    RedisBackend::new(&url, timeout).map_err(|e| format!("field `endpoints.redis_url`: {e}"))?,
                ))
            }
            None => None,
        };
        let mut mongo = MongoBackend::default();
        if let Some(uri) = &endpoints.mongodb_uri {
            let field = "endpoints.mongodb_uri";
            mongo.primary = Some(MongoEndpoint::new(&uri.resolve(field)?, timeout, field).await?);
        }
        if let Some(uri) = &endpoints.mongodb_fallback_uri {
            let field = "endpoints.mongodb_fallback_uri";
            mongo.fallback = Some(MongoEndpoint::new(&uri.resolve(field)?, timeout, field).await?);
        }
        let store = open_store(endpoints, &mongo)?;
        Ok(Self {
            refused: AtomicU64::new(0),
            pinned_now_ms: AtomicU64::new(0),
            metrics,
            redis,
            store,
            mongo: Arc::new(mongo),
            docker: Arc::new(DockerBackend::new(endpoints.docker_host.as_deref(), timeout)),
            exec: exec::ExecBackend { path: endpoints.exec_path.clone() },
        })
    }

    /// Use `store` for the `store` capability (and the watchdog).
    pub fn with_store(mut self, store: Option<Store>) -> Self {
        self.store = store;
        self
    }

    /// Record and report a refused call.
    pub fn refuse(&self, plugin: &str, refusal: Refusal) -> CapabilityError {
        self.refused.fetch_add(1, Ordering::Relaxed);
        crate::generation::bump();
        self.metrics.capability_refused(plugin, refusal.capability);
        tracing::warn!(
            plugin,
            capability = refusal.capability,
            target = %refusal.target,
            "capability call refused: target not granted"
        );
        CapabilityError::NotGranted(refusal.to_string())
    }

    /// Calls refused since start.
    pub fn refused_calls(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// The document store the endpoints describe: MongoDB when `mongodb_uri` is
/// set, else the snapshot directory, else none.
pub fn open_store(endpoints: &Endpoints, mongo: &MongoBackend) -> Result<Option<Store>, String> {
    let read_preference = crate::store::mongo::read_preference(&endpoints.read_preference)
        .map_err(|err| format!("field `endpoints.read_preference`: {err}"))?;
    if let Some(primary) = &mongo.primary {
        let store =
            crate::store::mongo::MongoStore::new(primary.client().clone(), endpoints.call_timeout, read_preference);
        return Ok(Some(Arc::new(store)));
    }
    match &endpoints.snapshot_dir {
        Some(dir) => {
            let snapshot = crate::store::snapshot::Snapshot::open(dir)
                .map_err(|err| format!("field `endpoints.snapshot_dir`: {err}"))?;
            Ok(Some(Arc::new(crate::store::snapshot::SnapshotStore(Arc::new(snapshot)))))
        }
        None => Ok(None),
    }
}
