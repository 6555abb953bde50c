//! The sandbox: one wasmtime [`Engine`], one [`Linker`] with every host
//! import, an epoch ticker that enforces deadlines, and the artifact cache.
//!
//! [`Runtime::prepare`] turns a [`PluginSource`] (manifest plus component
//! bytes) into a ready [`Plugin`], or a [`LoadError`] that says exactly why
//! not. Each plugin then runs in its own `Store`, created from an
//! `InstancePre`.

pub mod bindings;
pub mod cache;
pub mod fault;
pub mod native;
mod plugin;
mod shared;
mod state;
mod stderr;
pub mod version;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine};

pub use cache::{ArtifactCache, CacheOutcome};
pub use fault::Fault;
pub use plugin::{Origin, Plugin, PluginSource};
pub use state::{HostState, PluginContext};

use crate::capabilities::Services;
use crate::manifest::{Manifest, PluginKind};

/// How often the epoch advances; deadlines are checked at this granularity.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Largest wasm stack a plugin may use before a stack-overflow trap.
const MAX_WASM_STACK: usize = 512 * 1024;

/// Why a plugin could not be loaded. Every variant names the plugin's source.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The manifest is unusable.
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    /// The component file could not be read.
    #[error("{source_name}: cannot read component {path}: {error}")]
    Read {
        /// The plugin's source.
        source_name: String,
        /// The component path.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The bytes are not an acceptable component (not wasm, a core module,
    /// truncated, wrong API version).
    #[error("{source_name}: {reason}")]
    Invalid {
        /// The plugin's source.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// The component exports another world than its manifest's kind.
    #[error("{source_name}: manifest says kind = \"{expected}\" but the component exports {found}")]
    WrongWorld {
        /// The plugin's source.
        source_name: String,
        /// The manifest's kind.
        expected: PluginKind,
        /// What it exports.
        found: String,
    },
    /// The plugin loaded but failed its first call (`describe`, `rules`, `indexes`).
    #[error("{source_name}: first call failed: {fault}")]
    Probe {
        /// The plugin's source.
        source_name: String,
        /// What went wrong.
        fault: Fault,
    },
}

/// Settings of the sandbox.
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Where precompiled artifacts are kept; `None` compiles in memory.
    pub cache_dir: Option<PathBuf>,
}

/// The shared sandbox. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    linker: Linker<HostState>,
    cache: Option<ArtifactCache>,
    components: shared::SharedComponents,
    /// One slot per core: how many plugin calls run guest code at once
    /// (a call waiting on host I/O gives its slot back meanwhile).
    pub(crate) cpu: Arc<tokio::sync::Semaphore>,
    pub(crate) services: Arc<Services>,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Build the engine and linker and start the epoch ticker.
    pub fn new(options: RuntimeOptions, services: Arc<Services>) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true).epoch_interruption(true).max_wasm_stack(MAX_WASM_STACK);
        let engine = Engine::new(&config).map_err(|err| anyhow::anyhow!("cannot create wasm engine: {err}"))?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|err| anyhow::anyhow!("cannot link WASI: {err}"))?;
        bindings::host::HostImports::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)
            .map_err(|err| anyhow::anyhow!("cannot link host imports: {err}"))?;

        let cache = match options.cache_dir {
            Some(dir) => match ArtifactCache::open(&dir) {
                Ok(cache) => Some(cache),
                Err(err) => {
                    tracing::warn!(dir = %dir.display(), error = %err, "artifact cache disabled: cannot create directory");
                    None
                }
            },
            None => None,
        };
        let ticker = EpochTicker::start(engine.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache,
                components: Default::default(),
                cpu: Arc::new(tokio::sync::Semaphore::new(cpu_slots())),
                services,
                _ticker: ticker,
            }),
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The artifact cache, if enabled.
    pub fn cache(&self) -> Option<&ArtifactCache> {
        self.inner.cache.as_ref()
    }

    /// The shared capability services.
    pub fn services(&self) -> &Arc<Services> {
        &self.inner.services
    }

    /// Compile (through the cache), check and link a plugin, then make its
    /// first call. Compilation runs on a blocking thread.
    pub async fn prepare(&self, source: PluginSource) -> Result<Plugin, LoadError> {
        let source_name = source.origin.to_string();
        let invalid = |reason: String| LoadError::Invalid { source_name: source_name.clone(), reason };
        if source.manifest.native {
            let Origin::Directory(dir) = &source.origin else {
                return Err(invalid("a native plugin must come from a plugin directory".to_owned()));
            };
            let path = dir.join(&source.manifest.component);
            let library =
                native::NativeLibrary::open(&path).map_err(|err| invalid(format!("{}: {err}", path.display())))?;
            tracing::warn!(plugin = %source.manifest.name, path = %path.display(), "loading a native plugin: it runs unsandboxed");
            let plugin = Plugin::new_native(Arc::clone(&self.inner), source, library);
            plugin.probe().await.map_err(|fault| LoadError::Probe { source_name, fault })?;
            return Ok(plugin);
        }

        let stamped = version::stamped_api_version(&source.wasm).map_err(|err| invalid(err.to_string()))?;
        if let Some(found) = &stamped {
            version::check_supported(found).map_err(|err| invalid(err.to_string()))?;
        }

        let digest = hex::encode(Sha256::digest(&source.wasm));
        let (compiled, sharing) = self
            .inner
            .components
            .get_or_build(&digest, || self.compile(Arc::clone(&source.wasm)))
            .await
            .map_err(invalid)?;
        let component = &compiled.component;
        let api_version = match stamped {
            Some(version) => version,
            None => self.imported_api_version(component).map_err(invalid)?,
        };
        let exported = exported_world(&self.inner.engine, component);
        if exported.kind != Some(source.manifest.kind) {
            return Err(LoadError::WrongWorld {
                source_name,
                expected: source.manifest.kind,
                found: exported.describe(),
            });
        }
        let instance_pre = compiled.pre.clone().map_err(invalid)?;
        let cache_outcome = match sharing {
            shared::Sharing::Shared => CacheOutcome::Shared,
            shared::Sharing::Loaded => compiled.cache_outcome,
        };
        let plugin = Plugin::new(
            Arc::clone(&self.inner),
            source,
            digest,
            Arc::clone(&compiled),
            instance_pre,
            api_version,
            cache_outcome,
        )
        .map_err(|err| invalid(format!("cannot link: {err:#}")))?;
        plugin.probe().await.map_err(|fault| LoadError::Probe { source_name, fault })?;
        Ok(plugin)
    }

    /// Compile `wasm` (through the cache, on a blocking thread) and link it.
    async fn compile(&self, wasm: Arc<[u8]>) -> Result<shared::Compiled, String> {
        let inner = Arc::clone(&self.inner);
        let compiled = tokio::task::spawn_blocking(move || match &inner.cache {
            Some(cache) => cache.load_or_compile(&inner.engine, &wasm),
            None => cache::compile(&inner.engine, &wasm).map(|component| (component, CacheOutcome::Disabled)),
        })
        .await
        .map_err(|err| format!("compiler task failed: {err}"))?;
        let (component, cache_outcome) = compiled.map_err(|err| format!("not a valid component: {err:#}"))?;
        let pre = self.inner.linker.instantiate_pre(&component).map_err(|err| format!("cannot link: {err:#}"));
        Ok(shared::Compiled { component, pre, cache_outcome })
    }

    /// How many distinct compiled components are in memory (plugins with
    /// the same component share one).
    pub fn components_in_memory(&self) -> usize {
        self.inner.components.count()
    }

    fn imported_api_version(&self, component: &Component) -> Result<String, String> {
        let found: BTreeSet<String> = component
            .component_type()
            .imports(&self.inner.engine)
            .filter_map(|(name, _)| version::version_from_import(name).map(str::to_owned))
            .collect();
        match found.into_iter().next() {
            Some(found) => {
                version::check_supported(&found).map_err(|err| err.to_string())?;
                Ok(found)
            }
            // A plugin that imports nothing of ours links against any version.
            None => Ok(version::SUPPORTED_API_VERSIONS[0].to_owned()),
        }
    }
}

/// How many plugin calls run guest code at once: the cores this process may use.
fn cpu_slots() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// The world a component's exports match.
struct ExportedWorld {
    kind: Option<PluginKind>,
    names: Vec<String>,
}

impl ExportedWorld {
    fn describe(&self) -> String {
        let names = if self.names.is_empty() { "nothing".to_owned() } else { self.names.join(", ") };
        match self.kind {
            Some(kind) => format!("the {kind} world ({names})"),
            None => format!("no plugin world (exports: {names})"),
        }
    }
}

fn exported_world(engine: &Engine, component: &Component) -> ExportedWorld {
    let names: Vec<String> = component.component_type().exports(engine).map(|(name, _)| name.to_owned()).collect();
    let has = |name: &str| names.iter().any(|n| n == name);
    let kind = if has("run") && has("describe") {
        Some(PluginKind::Check)
    } else if has("rules") && has("verify") {
        Some(PluginKind::Scrubber)
    } else if has("evaluate") && has("describe") {
        Some(PluginKind::Watchdog)
    } else if has("indexes") {
        Some(PluginKind::IndexProfile)
    } else {
        None
    };
    ExportedWorld { kind, names }
}

/// Advances the engine's epoch on an OS thread (a task on the runtime could
/// not tick while a guest runs inside `poll`). Stops when dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("vigil-epoch".to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .ok();
        Self { stop, thread }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Build a source from a manifest and component bytes (bundled plugins, tests).
pub fn source(manifest: Manifest, origin: Origin, wasm: impl Into<Arc<[u8]>>) -> PluginSource {
    PluginSource { manifest, origin, wasm: wasm.into() }
}
