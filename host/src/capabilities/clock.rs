//! `clock`: wall time and a monotonic counter.

use std::sync::OnceLock;
use std::time::Instant;

use crate::runtime::HostState;
use crate::runtime::bindings::host::vigil::plugin::clock::Host;

fn process_start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

impl Host for HostState {
    async fn now_unix_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(self.services.now_unix_ms())
    }

    async fn monotonic_ns(&mut self) -> wasmtime::Result<u64> {
        Ok(u64::try_from(process_start().elapsed().as_nanos()).unwrap_or(u64::MAX))
    }
}
