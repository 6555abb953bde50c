//! Capabilities whose backends arrive with later work: `http`.
//! Every call checks the grant first; a granted call answers `not-available`.

use crate::capabilities::grants::{self, Refusal};
use crate::runtime::HostState;
use crate::runtime::bindings::CapabilityError;
use crate::runtime::bindings::host::vigil::plugin::{capability_types, http, types};

type Answer<T> = wasmtime::Result<Result<T, CapabilityError>>;

impl HostState {
    fn unavailable<T>(&self, allowed: Result<(), Refusal>, what: &str) -> Answer<T> {
        Ok(Err(match allowed {
            Err(refusal) => self.services.refuse(&self.plugin.name, refusal),
            Ok(()) => CapabilityError::NotAvailable(format!("{what}: not configured on this host")),
        }))
    }
}

impl types::Host for HostState {}
impl capability_types::Host for HostState {}

impl http::Host for HostState {
    async fn get(&mut self, url: String, _timeout_ms: u32) -> Answer<http::Response> {
        self.unavailable(grants::http(&self.plugin.grants, &url), "http")
    }
}
