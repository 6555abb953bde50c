//! Host capabilities: what plugins can import.
//!
//! `log`, `clock` and `config` are open to every plugin. The others reach
//! outside the sandbox and go through [`grants`] first: a call to a target the
//! plugin's manifest does not grant is refused before anything is contacted,
//! the plugin gets `not-granted`, and the host logs a warning naming the
//! plugin and the target. One module per capability implements its WIT
//! interface for [`HostState`](crate::runtime::HostState).

mod backends;
mod clock;
mod config;
pub mod grants;
mod log;

use std::sync::atomic::{AtomicU64, Ordering};

pub use grants::Refusal;

use crate::runtime::bindings::CapabilityError;

/// Backends shared by every plugin's store, and capability counters.
#[derive(Debug, Default)]
pub struct Services {
    refused: AtomicU64,
}

impl Services {
    /// Services with no backends configured.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record and report a refused call.
    pub fn refuse(&self, plugin: &str, refusal: Refusal) -> CapabilityError {
        self.refused.fetch_add(1, Ordering::Relaxed);
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
