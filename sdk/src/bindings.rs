//! Generated bindings for `vigil:plugin@0.1.0`, one module per world.
//!
//! The imports and shared types are generated once, in [`host`]; the four
//! plugin worlds reuse them through `with`, so a `CheckReport` is the same Rust
//! type whichever world a plugin exports. Each world's export macro is public
//! and is used by [`crate::export!`]; only the world a plugin exports ends up
//! in its component.
#![allow(missing_docs, clippy::all)]

/// Imports and shared types.
pub mod host {
    wit_bindgen::generate!({
        world: "host-imports",
        path: "../wit",
        runtime_path: "::vigil_sdk::__rt::wit_bindgen::rt",
        generate_all,
    });
}

macro_rules! plugin_world {
    ($module:ident, $world:literal, $macro_name:literal, $bindings:literal) => {
        #[doc = concat!("Exports of the `", $world, "` world.")]
        pub mod $module {
            wit_bindgen::generate!({
                world: $world,
                path: "../wit",
                runtime_path: "::vigil_sdk::__rt::wit_bindgen::rt",
                pub_export_macro: true,
                export_macro_name: $macro_name,
                default_bindings_module: $bindings,
                with: {
                    "vigil:plugin/types@0.1.0": ::vigil_sdk::bindings::host::vigil::plugin::types,
                    "vigil:plugin/capability-types@0.1.0": ::vigil_sdk::bindings::host::vigil::plugin::capability_types,
                    "vigil:plugin/log@0.1.0": ::vigil_sdk::bindings::host::vigil::plugin::log,
                    "vigil:plugin/clock@0.1.0": ::vigil_sdk::bindings::host::vigil::plugin::clock,
                    "vigil:plugin/config@0.1.0": ::vigil_sdk::bindings::host::vigil::plugin::config,
                    "vigil:plugin/redis@0.1.0": ::vigil_sdk::bindings::host::vigil::plugin::redis,
                    "vigil:plugin/mongo@0.1.0": ::vigil_sdk::bindings::host::vigil::plugin::mongo,
                    "vigil:plugin/docker@0.1.0": ::vigil_sdk::bindings::host::vigil::plugin::docker,
                    "vigil:plugin/exec@0.1.0": ::vigil_sdk::bindings::host::vigil::plugin::exec,
                    "vigil:plugin/http@0.1.0": ::vigil_sdk::bindings::host::vigil::plugin::http,
                    "vigil:plugin/store@0.1.0": ::vigil_sdk::bindings::host::vigil::plugin::store,
                    "vigil:plugin/fs@0.1.0": ::vigil_sdk::bindings::host::vigil::plugin::fs,
                },
            });
        }
    };
}

plugin_world!(check, "check", "__export_check_world", "::vigil_sdk::bindings::check");
plugin_world!(scrubber, "scrubber", "__export_scrubber_world", "::vigil_sdk::bindings::scrubber");
plugin_world!(watchdog, "watchdog", "__export_watchdog_world", "::vigil_sdk::bindings::watchdog");
plugin_world!(index_profile, "index-profile", "__export_index_profile_world", "::vigil_sdk::bindings::index_profile");
