//! wasmtime bindings for `vigil:plugin@0.1.0`.
//!
//! Imports are generated once, from the `host-imports` world, and every plugin
//! world maps its imports onto them with `with`; so one host implementation
//! of each capability serves all four kinds. Everything is async: host
//! capabilities do network I/O, and an async call can be abandoned on its
//! deadline without blocking a thread.
#![allow(missing_docs, clippy::all)]

/// Imports and shared types.
pub mod host {
    wasmtime::component::bindgen!({
        world: "host-imports",
        path: "../wit",
        imports: { default: async | trappable },
        additional_derives: [serde::Serialize],
    });
}

macro_rules! world_bindings {
    ($module:ident, $world:literal) => {
        #[doc = concat!("Exports of the `", $world, "` world.")]
        pub mod $module {
            wasmtime::component::bindgen!({
                world: $world,
                path: "../wit",
                imports: { default: async | trappable },
                exports: { default: async },
                with: {
                    "vigil:plugin/types": crate::runtime::bindings::host::vigil::plugin::types,
                    "vigil:plugin/capability-types": crate::runtime::bindings::host::vigil::plugin::capability_types,
                    "vigil:plugin/log": crate::runtime::bindings::host::vigil::plugin::log,
                    "vigil:plugin/clock": crate::runtime::bindings::host::vigil::plugin::clock,
                    "vigil:plugin/config": crate::runtime::bindings::host::vigil::plugin::config,
                    "vigil:plugin/redis": crate::runtime::bindings::host::vigil::plugin::redis,
                    "vigil:plugin/mongo": crate::runtime::bindings::host::vigil::plugin::mongo,
                    "vigil:plugin/docker": crate::runtime::bindings::host::vigil::plugin::docker,
                    "vigil:plugin/exec": crate::runtime::bindings::host::vigil::plugin::exec,
                    "vigil:plugin/http": crate::runtime::bindings::host::vigil::plugin::http,
                    "vigil:plugin/store": crate::runtime::bindings::host::vigil::plugin::store,
                    "vigil:plugin/fs": crate::runtime::bindings::host::vigil::plugin::fs,
                },
            });
        }
    };
}

world_bindings!(check, "check");
world_bindings!(scrubber, "scrubber");
world_bindings!(watchdog, "watchdog");
world_bindings!(index_profile, "index-profile");

pub use host::vigil::plugin::capability_types::CapabilityError;
pub use host::vigil::plugin::types;
