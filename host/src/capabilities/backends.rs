//! The capabilities that reach outside the sandbox: `redis`, `mongo`,
//! `docker`, `exec`, `http`, `store`, `fs`.
//!
//! Every call checks the grant first. No backend is wired in yet, so a
//! granted call answers `not-available` with the reason; the real clients
//! arrive with the integrity-monitor, watchdog and index-manager work.

use crate::capabilities::grants::{self, Refusal};
use crate::runtime::HostState;
use crate::runtime::bindings::CapabilityError;
use crate::runtime::bindings::host::vigil::plugin::{
    capability_types, docker, exec, fs, http, mongo, redis, store, types,
};

type Answer<T> = wasmtime::Result<Result<T, CapabilityError>>;

impl HostState {
    /// Refuse or report the backend missing.
    fn unavailable<T>(&self, allowed: Result<(), Refusal>, what: &str) -> Answer<T> {
        Ok(Err(match allowed {
            Err(refusal) => self.services.refuse(&self.plugin.name, refusal),
            Ok(()) => CapabilityError::NotAvailable(format!("{what}: not configured on this host")),
        }))
    }
}

impl types::Host for HostState {}
impl capability_types::Host for HostState {}

impl redis::Host for HostState {
    async fn ping(&mut self) -> Answer<u64> {
        self.unavailable(grants::redis(&self.plugin.grants), "redis")
    }

    async fn info(&mut self, _section: String) -> Answer<String> {
        self.unavailable(grants::redis(&self.plugin.grants), "redis")
    }

    async fn count_keys(&mut self, _pattern: String, _max_keys: u64) -> Answer<u64> {
        self.unavailable(grants::redis(&self.plugin.grants), "redis")
    }
}

impl mongo::Host for HostState {
    async fn hello(&mut self, _endpoint: mongo::Endpoint) -> Answer<mongo::ServerInfo> {
        self.unavailable(grants::mongo(&self.plugin.grants), "mongo")
    }

    async fn list_databases(&mut self) -> Answer<Vec<String>> {
        self.unavailable(grants::mongo(&self.plugin.grants), "mongo")
    }
}

impl docker::Host for HostState {
    async fn ping(&mut self) -> Answer<String> {
        self.unavailable(grants::docker(&self.plugin.grants), "docker")
    }

    async fn image_exists(&mut self, _reference: String) -> Answer<bool> {
        self.unavailable(grants::docker(&self.plugin.grants), "docker")
    }

    async fn list_images(&mut self, _repository: String) -> Answer<Vec<docker::Image>> {
        self.unavailable(grants::docker(&self.plugin.grants), "docker")
    }
}

impl exec::Host for HostState {
    async fn run(&mut self, program: String, _args: Vec<String>, _timeout_ms: u32) -> Answer<exec::Output> {
        self.unavailable(grants::exec(&self.plugin.grants, &program), "exec")
    }
}

impl http::Host for HostState {
    async fn get(&mut self, url: String, _timeout_ms: u32) -> Answer<http::Response> {
        self.unavailable(grants::http(&self.plugin.grants, &url), "http")
    }
}

impl store::Host for HostState {
    async fn count(&mut self, collection: String, _filter_json: String) -> Answer<u64> {
        self.unavailable(grants::store(&self.plugin.grants, &collection), "store")
    }

    async fn find(&mut self, collection: String, _query: store::FindQuery) -> Answer<Vec<String>> {
        self.unavailable(grants::store(&self.plugin.grants, &collection), "store")
    }

    async fn latest(&mut self, collection: String, _field: String, _filter_json: String) -> Answer<Option<String>> {
        self.unavailable(grants::store(&self.plugin.grants, &collection), "store")
    }

    async fn aggregate(&mut self, collection: String, _pipeline_json: String) -> Answer<Vec<String>> {
        self.unavailable(grants::store(&self.plugin.grants, &collection), "store")
    }
}

impl fs::Host for HostState {
    async fn read_file(&mut self, path: String) -> Answer<Vec<u8>> {
        self.unavailable(grants::fs(&self.plugin.grants, &path).map(drop), "fs")
    }

    async fn list_dir(&mut self, path: String) -> Answer<Vec<String>> {
        self.unavailable(grants::fs(&self.plugin.grants, &path).map(drop), "fs")
    }
}
