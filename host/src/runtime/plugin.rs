//! A loaded plugin: its manifest, its `InstancePre`, and at most one live
//! instance. Scrubbers and checks that run more than once a second keep
//! their instance between calls (instantiation would be a large share of a
//! `verify` or a short interval); every other plugin instantiates for each
//! call and drops the instance after it, so an idle plugin holds no linear
//! memory, stack or store. Any fault drops the instance too.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::bindings::{check, index_profile, scrubber, types, watchdog};
use super::fault::Fault;
use super::state::{HostState, PluginContext};
use super::{CacheOutcome, Inner};
use crate::manifest::{Manifest, PluginKind};

/// Longest string a plugin may return in one field.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Most items a plugin may return in one list (observations, findings, rules, indexes).
pub const MAX_ITEMS: usize = 10_000;
/// A check that runs more often than this keeps its instance between runs.
pub const KEEP_WARM_BELOW: std::time::Duration = std::time::Duration::from_secs(1);

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into the `vigil` binary.
    Bundled(String),
    /// A directory on disk (holding `plugin.toml`).
    Directory(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bundled(name) => write!(f, "bundled plugin {name}"),
            Self::Directory(dir) => write!(f, "{}", dir.join(crate::manifest::MANIFEST_FILE).display()),
        }
    }
}

/// A manifest with its component bytes, not yet compiled.
#[derive(Clone)]
pub struct PluginSource {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// Where it came from.
    pub origin: Origin,
    /// The component.
    pub wasm: Arc<[u8]>,
}

enum Pre {
    /// A native shared library (checks only; see [`super::native`]).
    Native(Arc<super::native::NativeLibrary>),
    Check(check::CheckPre<HostState>),
    Scrubber(scrubber::ScrubberPre<HostState>),
    Watchdog(watchdog::WatchdogPre<HostState>),
    IndexProfile(index_profile::IndexProfilePre<HostState>),
}

enum Exports {
    Check(check::Check),
    Scrubber(scrubber::Scrubber),
    Watchdog(watchdog::Watchdog),
    IndexProfile(index_profile::IndexProfile),
}

struct Live {
    store: Store<HostState>,
    exports: Exports,
}

type CallFuture<'a, R> = Pin<Box<dyn Future<Output = Result<wasmtime::Result<R>, Fault>> + Send + 'a>>;

/// A plugin ready to be called.
pub struct Plugin {
    /// The manifest it was loaded with.
    pub manifest: Manifest,
    /// Where it came from.
    pub origin: Origin,
    /// SHA-256 of the component, hex.
    pub digest: String,
    /// The plugin API version it was built for.
    pub api_version: String,
    /// Whether the compiled artifact came from the cache.
    pub cache_outcome: CacheOutcome,
    context: Arc<PluginContext>,
    runtime: Arc<Inner>,
    pre: Pre,
    live: Mutex<Option<Live>>,
    /// Whether `live` is kept between calls.
    keep_warm: bool,
    description: std::sync::OnceLock<types::Description>,
    /// Keeps the shared compiled component alive while this plugin is loaded.
    _compiled: Option<Arc<super::shared::Compiled>>,
}

impl Plugin {
    pub(super) fn new(
        runtime: Arc<Inner>,
        source: PluginSource,
        digest: String,
        compiled: Arc<super::shared::Compiled>,
        instance_pre: InstancePre<HostState>,
        api_version: String,
        cache_outcome: CacheOutcome,
    ) -> wasmtime::Result<Self> {
        let pre = match source.manifest.kind {
            PluginKind::Check => Pre::Check(check::CheckPre::new(instance_pre)?),
            PluginKind::Scrubber => Pre::Scrubber(scrubber::ScrubberPre::new(instance_pre)?),
            PluginKind::Watchdog => Pre::Watchdog(watchdog::WatchdogPre::new(instance_pre)?),
            PluginKind::IndexProfile => Pre::IndexProfile(index_profile::IndexProfilePre::new(instance_pre)?),
        };
        let keep_warm = keeps_warm(&source.manifest);
        Ok(Self {
            context: Arc::new(PluginContext::from_manifest(&source.manifest)),
            digest,
            manifest: source.manifest,
            origin: source.origin,
            api_version,
            cache_outcome,
            runtime,
            pre,
            live: Mutex::new(None),
            keep_warm,
            description: std::sync::OnceLock::new(),
            _compiled: Some(compiled),
        })
    }

    /// A native plugin around `library` (see [`super::native`]).
    pub(super) fn new_native(runtime: Arc<Inner>, source: PluginSource, library: super::native::NativeLibrary) -> Self {
        Self {
            context: Arc::new(PluginContext::from_manifest(&source.manifest)),
            digest: hex::encode(Sha256::digest(&source.wasm)),
            manifest: source.manifest,
            origin: source.origin,
            api_version: format!("native-{}", super::native::NATIVE_ABI_VERSION),
            cache_outcome: CacheOutcome::Disabled,
            runtime,
            pre: Pre::Native(Arc::new(library)),
            live: Mutex::new(None),
            keep_warm: false,
            description: std::sync::OnceLock::new(),
            _compiled: None,
        }
    }

    /// Whether this is a native (unsandboxed) plugin.
    pub fn is_native(&self) -> bool {
        matches!(self.pre, Pre::Native(_))
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// The plugin's kind.
    pub fn kind(&self) -> PluginKind {
        self.manifest.kind
    }

    /// The capability services (and metrics) this plugin's calls go through.
    pub fn services(&self) -> &Arc<crate::capabilities::Services> {
        &self.runtime.services
    }

    /// What `describe()` said at load (checks and watchdogs).
    pub fn description(&self) -> Option<&types::Description> {
        self.description.get()
    }

    /// The first call after loading: `describe`, `rules` or `indexes`.
    pub(super) async fn probe(&self) -> Result<(), Fault> {
        match self.kind() {
            PluginKind::Check | PluginKind::Watchdog => {
                let description = self.describe().await?;
                let _ = self.description.set(description);
            }
            PluginKind::Scrubber => {
                self.rules().await?;
            }
            PluginKind::IndexProfile => {
                self.indexes().await?;
            }
        }
        Ok(())
    }

    /// `describe()` of a check or watchdog.
    pub async fn describe(&self) -> Result<types::Description, Fault> {
        if let Pre::Native(library) = &self.pre {
            let description = library.describe(self.manifest.timeout).await?;
            return self.validated(description, |d| check_text("description", &d.summary)).await;
        }
        let description = self
            .invoke(|exports, store| {
                Box::pin(async move {
                    match exports {
                        Exports::Check(check) => Ok(check.call_describe(store).await),
                        Exports::Watchdog(watchdog) => Ok(watchdog.call_describe(store).await),
                        _ => Err(Fault::WrongKind("describe")),
                    }
                })
            })
            .await?;
        self.validated(description, |d| {
            check_text("description", &d.summary)?;
            check_text("description", &d.subsystem)
        })
        .await
    }

    /// Run a check once with its configured deadline.
    pub async fn run_check(&self) -> Result<types::CheckReport, Fault> {
        let config = self.context.config_json.clone();
        let report = match &self.pre {
            Pre::Native(library) => library.run(config, self.manifest.timeout).await?,
            _ => self.run_wasm_check(config).await?,
        };
        self.validated(report, |r| {
            for (what, text) in
                [("mode", &r.mode), ("optimal mode", &r.optimal_mode), ("impact", &r.impact), ("detail", &r.detail)]
            {
                check_text(what, text)?;
            }
            check_items("observation list", r.observations.len())
        })
        .await
    }

    async fn run_wasm_check(&self, config: String) -> Result<types::CheckReport, Fault> {
        let report = self
            .invoke(|exports, store| {
                Box::pin(async move {
                    match exports {
                        Exports::Check(check) => Ok(check.call_run(store, &config).await),
                        _ => Err(Fault::WrongKind("run")),
                    }
                })
            })
            .await?
            .map_err(Fault::PluginError)?;
        Ok(report)
    }

    /// A scrubber's rules.
    pub async fn rules(&self) -> Result<Vec<types::ScrubRule>, Fault> {
        let rules = self
            .invoke(|exports, store| {
                Box::pin(async move {
                    match exports {
                        Exports::Scrubber(scrubber) => Ok(scrubber.call_rules(store).await),
                        _ => Err(Fault::WrongKind("rules")),
                    }
                })
            })
            .await?;
        self.validated(rules, |r| check_items("rule list", r.len())).await
    }

    /// A scrubber's verdict on one candidate.
    pub async fn verify(&self, rule_id: &str, candidate: &str) -> Result<bool, Fault> {
        let (rule_id, candidate) = (rule_id.to_owned(), candidate.to_owned());
        self.invoke(|exports, store| {
            Box::pin(async move {
                match exports {
                    Exports::Scrubber(scrubber) => Ok(scrubber.call_verify(store, &rule_id, &candidate).await),
                    _ => Err(Fault::WrongKind("verify")),
                }
            })
        })
        .await
    }

    /// Run a watchdog rule once.
    pub async fn evaluate(&self) -> Result<Vec<types::Finding>, Fault> {
        let config = self.context.config_json.clone();
        let findings = self
            .invoke(|exports, store| {
                Box::pin(async move {
                    match exports {
                        Exports::Watchdog(watchdog) => Ok(watchdog.call_evaluate(store, &config).await),
                        _ => Err(Fault::WrongKind("evaluate")),
                    }
                })
            })
            .await?
            .map_err(Fault::PluginError)?;
        self.validated(findings, |f| check_items("finding list", f.len())).await
    }

    /// An index profile's wanted indexes.
    pub async fn indexes(&self) -> Result<Vec<types::IndexSpec>, Fault> {
        let indexes = self
            .invoke(|exports, store| {
                Box::pin(async move {
                    match exports {
                        Exports::IndexProfile(profile) => Ok(profile.call_indexes(store).await),
                        _ => Err(Fault::WrongKind("indexes")),
                    }
                })
            })
            .await?;
        self.validated(indexes, |i| check_items("index list", i.len())).await
    }

    /// Drop the live instance: the next call starts from a fresh store.
    pub async fn reset(&self) {
        self.live.lock().await.take();
    }

    /// Validate what a call returned; a plugin that answers with too much is
    /// treated like one that trapped, and its instance (and memory) is dropped.
    async fn validated<T>(&self, value: T, check: impl FnOnce(&T) -> Result<(), Fault>) -> Result<T, Fault> {
        match check(&value) {
            Ok(()) => Ok(value),
            Err(fault) => {
                self.reset().await;
                Err(fault)
            }
        }
    }

    /// Call into the live instance (instantiating one if needed) under the
    /// plugin's deadline. Any fault discards the instance; the next call
    /// starts from a fresh store.
    async fn invoke<R, F>(&self, call: F) -> Result<R, Fault>
    where
        F: for<'a> FnOnce(&'a Exports, &'a mut Store<HostState>) -> CallFuture<'a, R>,
    {
        // A CPU slot first (scrubbers' `verify` excepted: it is short and is
        // called from a log line, perhaps one a slot holder is writing). The
        // deadline starts once the slot is held, and so does a scheduled
        // run: how late it is counts from the time the scheduler planned.
        let cpu = match self.kind() {
            PluginKind::Scrubber => None,
            _ => Arc::clone(&self.runtime.cpu).acquire_owned().await.ok(),
        };
        if let Ok(planned) = crate::scheduler::PLANNED.try_with(|planned| *planned) {
            self.services().metrics.check_started_late(planned.elapsed());
        }
        let deadline = self.manifest.timeout;
        let started = Instant::now();
        let mut slot = self.live.lock().await;
        let mut live = match slot.take() {
            Some(live) => live,
            None => {
                tokio::time::timeout(deadline, self.instantiate()).await.map_err(|_| Fault::Timeout(deadline))??
            }
        };
        let remaining = deadline.saturating_sub(started.elapsed());
        let Live { store, exports } = &mut live;
        store.data_mut().deadline = Some(started + deadline);
        store.data_mut().cpu = cpu;
        let outcome = tokio::time::timeout(remaining, call(exports, store)).await;
        live.store.data_mut().cpu = None;
        let context = &self.context;
        crate::capabilities::log::report_dropped(
            &context.name,
            context.log_quota.flush(Instant::now()),
            context.log_limits,
        );
        match outcome {
            Err(_) => Err(Fault::Timeout(deadline)),
            Ok(Err(fault)) => {
                self.keep(&mut slot, live);
                Err(fault)
            }
            Ok(Ok(Err(error))) => Err(Fault::classify(&error, live.store.data())),
            Ok(Ok(Ok(value))) => {
                self.keep(&mut slot, live);
                Ok(value)
            }
        }
    }

    /// Put the instance back for the next call, if this plugin keeps one.
    fn keep(&self, slot: &mut Option<Live>, live: Live) {
        if self.keep_warm {
            *slot = Some(live);
        }
    }

    /// Whether an instance is live now (kept from an earlier call).
    pub async fn is_warm(&self) -> bool {
        self.live.lock().await.is_some()
    }

    async fn instantiate(&self) -> Result<Live, Fault> {
        let limits = &self.manifest.limits;
        let state = HostState::new(
            Arc::clone(&self.context),
            Arc::clone(&self.runtime.services),
            limits.table_elements as usize,
            limits.instances as usize,
        );
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|state| &mut state.guard);
        // Yield to the executor on every epoch tick: a guest that never
        // returns still lets the deadline timer fire and other tasks run.
        store.epoch_deadline_async_yield_and_update(1);
        store.set_epoch_deadline(1);
        let exports = match &self.pre {
            Pre::Check(pre) => pre.instantiate_async(&mut store).await.map(Exports::Check),
            Pre::Scrubber(pre) => pre.instantiate_async(&mut store).await.map(Exports::Scrubber),
            Pre::Watchdog(pre) => pre.instantiate_async(&mut store).await.map(Exports::Watchdog),
            Pre::IndexProfile(pre) => pre.instantiate_async(&mut store).await.map(Exports::IndexProfile),
            Pre::Native(_) => return Err(Fault::WrongKind("instantiate")),
        };
        match exports {
            Ok(exports) => Ok(Live { store, exports }),
            Err(error) => Err(Fault::classify(&error, store.data())),
        }
    }
}

/// Scrubbers (their `verify` sits on the log path) and checks that run more
/// often than [`KEEP_WARM_BELOW`].
fn keeps_warm(manifest: &Manifest) -> bool {
    match manifest.kind {
        PluginKind::Scrubber => true,
        PluginKind::Check => manifest.interval < KEEP_WARM_BELOW,
        PluginKind::Watchdog | PluginKind::IndexProfile => false,
    }
}

fn check_text(what: &'static str, text: &str) -> Result<(), Fault> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(Fault::Oversized { what, size: text.len(), limit: MAX_TEXT_BYTES, unit: "bytes" });
    }
    Ok(())
}

fn check_items(what: &'static str, count: usize) -> Result<(), Fault> {
    if count > MAX_ITEMS {
        return Err(Fault::Oversized { what, size: count, limit: MAX_ITEMS, unit: "items" });
    }
    Ok(())
}
