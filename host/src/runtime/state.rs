//! What a plugin's `Store` holds: its identity and grants, its WASI context
//! (empty: no files, env, args or sockets), its limits and its stderr tail.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capabilities::Services;
use crate::capabilities::http::{HttpClient, Policy};
use crate::capabilities::log::LogQuota;
use crate::manifest::{Grants, Manifest, PluginKind};
use crate::runtime::stderr::StderrTail;

/// A plugin's identity, grants and config, shared by all its stores.
#[derive(Debug)]
pub struct PluginContext {
    /// Plugin name (from its manifest).
    pub name: String,
    /// Plugin kind.
    pub kind: PluginKind,
    /// What the plugin may reach.
    pub grants: Grants,
    /// The `[config]` table as JSON text (what `run` receives).
    pub config_json: String,
    /// The same table, for `config.get`.
    pub config: Map<String, Value>,
    /// Linear-memory cap in bytes.
    pub memory_limit: usize,
    /// The `log` quota.
    pub log_quota: LogQuota,
    /// Its rate and burst, for reports.
    pub log_limits: (u32, u32),
    /// What `http` may reach.
    pub http_policy: Arc<Policy>,
    /// The `http` client, built on first use.
    pub http_client: HttpClient,
    /// Largest response body `http` reads, in bytes.
    pub http_body_limit: usize,
}

impl PluginContext {
    /// Build the context from a manifest.
    pub fn from_manifest(manifest: &Manifest) -> Self {
        let config_json = manifest.config_json();
        let config = match serde_json::from_str::<Value>(&config_json) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        Self {
            name: manifest.name.clone(),
            kind: manifest.kind,
            grants: manifest.grants.clone(),
            config_json,
            config,
            memory_limit: manifest.limits.memory_mib as usize * 1024 * 1024,
            log_quota: LogQuota::new(&manifest.limits),
            log_limits: (manifest.limits.log_lines_per_second, manifest.limits.log_burst),
            http_policy: Arc::new(Policy::new(&manifest.grants.http, &manifest.grants.http_networks)),
            http_client: HttpClient::default(),
            http_body_limit: manifest.limits.http_body_kib as usize * 1024,
        }
    }
}

/// Enforces a store's limits and remembers a refused memory growth, so a
/// trap that follows it can be explained as "exceeded memory limit".
pub struct MemoryGuard {
    limits: StoreLimits,
    /// The size, in bytes, of the last refused memory growth.
    pub denied_growth: Option<usize>,
}

impl MemoryGuard {
    fn new(memory: usize, table_elements: usize, instances: usize) -> Self {
        let limits = StoreLimitsBuilder::new()
            .memory_size(memory)
            .table_elements(table_elements)
            .instances(instances)
            .tables(instances * 2)
            .memories(instances)
            .build();
        Self { limits, denied_growth: None }
    }
}

impl ResourceLimiter for MemoryGuard {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if !allowed {
            self.denied_growth = Some(desired);
        }
        Ok(allowed)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// The data of one plugin store.
pub struct HostState {
    /// Who is calling: every capability checks this plugin's grants.
    pub plugin: Arc<PluginContext>,
    /// Shared capability backends.
    pub services: Arc<Services>,
    /// Limits, with the memory-refusal record.
    pub guard: MemoryGuard,
    /// The guest's stderr tail.
    pub stderr: StderrTail,
    /// When the call in progress must end (capabilities clamp their own
    /// timeouts to it).
    pub deadline: Option<Instant>,
    /// The CPU slot the call in progress holds (see [`HostState::off_cpu`]).
    pub cpu: Option<tokio::sync::OwnedSemaphorePermit>,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl HostState {
    /// A fresh state for one store of `plugin`.
    pub fn new(plugin: Arc<PluginContext>, services: Arc<Services>, table_elements: usize, instances: usize) -> Self {
        let stderr = StderrTail::default();
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        let guard = MemoryGuard::new(plugin.memory_limit, table_elements, instances);
        Self { plugin, services, guard, stderr, deadline: None, cpu: None, wasi, table: ResourceTable::new() }
    }
}

impl HostState {
    /// Wait for host I/O (a network call, a query, a program) without
    /// holding a CPU slot: the slot goes back to the pool while `io` runs
    /// and is taken again before the guest continues, so plugins waiting on
    /// the network never keep others from running.
    pub async fn off_cpu<T>(&mut self, io: impl std::future::Future<Output = T>) -> T {
        let Some(permit) = self.cpu.take() else { return io.await };
        let slots = Arc::clone(permit.semaphore());
        drop(permit);
        let answer = io.await;
        self.cpu = slots.acquire_owned().await.ok();
        answer
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}
