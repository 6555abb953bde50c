//! `config`: the plugin's own `[config]` table.

use crate::runtime::HostState;
use crate::runtime::bindings::host::vigil::plugin::config::Host;

impl Host for HostState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.plugin.config.get(&key).map(ToString::to_string))
    }

    async fn all(&mut self) -> wasmtime::Result<String> {
        Ok(self.plugin.config_json.clone())
    }
}
