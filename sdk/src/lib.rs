//! # vigil-sdk: write Vigil plugins
//!
//! A Vigil plugin is a WebAssembly component built for `wasm32-wasip2`. It
//! implements one of four traits and exports it with [`export!`]:
//!
//! | kind | trait | what it gives the host |
//! |---|---|---|
//! | `check` | [`Check`] | a [`CheckReport`] on every run |
//! | `scrubber` | [`Scrubber`] | credential-matching [`ScrubRule`]s |
//! | `watchdog` | [`Watchdog`] | [`Finding`]s with optional dispatch requests |
//! | `index-profile` | [`IndexProfile`] | the [`IndexSpec`]s that should exist |
//!
//! ```ignore
//! use vigil_sdk::{Check, CheckReport, Config, Description};
//!
//! struct AlwaysFine;
//!
//! impl Check for AlwaysFine {
//!     fn describe() -> Description {
//!         Description::new("example", "Reports ok every time")
//!     }
//!     fn run(config: &Config) -> Result<CheckReport, String> {
//!         let mode = config.str_or("mode", "normal");
//!         Ok(CheckReport::ok(mode).detail("all good"))
//!     }
//! }
//!
//! vigil_sdk::export!(check: AlwaysFine);
//! ```
//!
//! Host services live in modules: [`log`] (or the [`log!`] macro), [`clock`],
//! [`config`], and the capability modules [`redis`], [`mongo`], [`docker`],
//! [`exec`], [`http`], [`store`], [`fs`]. A capability only works for the
//! targets the plugin's `plugin.toml` grants; anything else returns
//! [`CapabilityError::NotGranted`].

// Generated code and the export macros name this crate by its absolute path.
extern crate self as vigil_sdk;

pub mod bindings;
pub mod documents;
mod report;
mod settings;

pub use bindings::host::vigil::plugin::capability_types::CapabilityError;
pub use bindings::host::vigil::plugin::types::{
    CheckReport, Description, DispatchRequest, Finding, IndexKey, IndexKeyKind, IndexOptions, IndexSpec, Label,
    Observation, ScrubRule, Severity, Status,
};
pub use bindings::host::vigil::plugin::{clock, config, docker, exec, fs, http, mongo, redis, store};
pub use settings::Config;

/// Write log records through the host (scrubbed, tagged with the plugin).
pub mod log {
    pub use crate::bindings::host::vigil::plugin::log::{Level, log};
}

/// The version of the WIT contract this SDK builds against. The host reads it
/// from the component's `vigil:api-version` custom section before compiling.
pub const API_VERSION: &str = "0.1.0";

/// A subsystem check.
pub trait Check {
    /// Introduce the check: the subsystem it watches and what it checks.
    fn describe() -> Description;
    /// Run once. An `Err` is the plugin's own failure; the host reports it as
    /// `down` with the message.
    fn run(config: &Config) -> Result<CheckReport, String>;
}

/// A rule set for the host's credential scrubber.
pub trait Scrubber {
    /// The rules. Called once when the plugin loads.
    fn rules() -> Vec<ScrubRule>;
    /// Called for candidates of rules that set `verify`: return whether the
    /// candidate really is a secret. The default accepts every candidate.
    fn verify(rule_id: &str, candidate: &str) -> bool {
        let _ = (rule_id, candidate);
        true
    }
}

/// A data-sync watchdog rule.
pub trait Watchdog {
    /// Introduce the rule.
    fn describe() -> Description;
    /// Look for drift and say what to dispatch.
    fn evaluate(config: &Config) -> Result<Vec<Finding>, String>;
}

/// A set of indexes that should exist.
pub trait IndexProfile {
    /// The wanted indexes.
    fn indexes() -> Vec<IndexSpec>;
}

/// Log through the host: `vigil_sdk::log!(info, "checked {} keys", n)`.
///
/// Levels: `trace`, `debug`, `info`, `warn`, `error`.
#[macro_export]
macro_rules! log {
    (trace, $($arg:tt)+) => { $crate::log::log($crate::log::Level::Trace, &format!($($arg)+)) };
    (debug, $($arg:tt)+) => { $crate::log::log($crate::log::Level::Debug, &format!($($arg)+)) };
    (info, $($arg:tt)+) => { $crate::log::log($crate::log::Level::Info, &format!($($arg)+)) };
    (warn, $($arg:tt)+) => { $crate::log::log($crate::log::Level::Warn, &format!($($arg)+)) };
    (error, $($arg:tt)+) => { $crate::log::log($crate::log::Level::Error, &format!($($arg)+)) };
}

/// Export a type as the plugin's implementation of its kind.
///
/// `vigil_sdk::export!(check: MyCheck)`, `export!(scrubber: MyRules)`,
/// `export!(watchdog: MyRule)` or `export!(index_profile: MyProfile)`. The kind
/// is named explicitly because a component exports exactly one world and a
/// macro cannot tell which trait a type implements.
#[macro_export]
macro_rules! export {
    (check: $ty:ty) => {
        const _: () = {
            struct __VigilCheck;
            impl $crate::bindings::check::Guest for __VigilCheck {
                fn describe() -> $crate::Description {
                    <$ty as $crate::Check>::describe()
                }
                fn run(config: String) -> Result<$crate::CheckReport, String> {
                    let config = $crate::Config::from_json(&config)?;
                    <$ty as $crate::Check>::run(&config)
                }
            }
            $crate::bindings::check::__export_check_world!(__VigilCheck);
        };
        $crate::__api_version_section!();
    };
    (scrubber: $ty:ty) => {
        const _: () = {
            struct __VigilScrubber;
            impl $crate::bindings::scrubber::Guest for __VigilScrubber {
                fn rules() -> Vec<$crate::ScrubRule> {
                    <$ty as $crate::Scrubber>::rules()
                }
                fn verify(rule_id: String, candidate: String) -> bool {
                    <$ty as $crate::Scrubber>::verify(&rule_id, &candidate)
                }
            }
            $crate::bindings::scrubber::__export_scrubber_world!(__VigilScrubber);
        };
        $crate::__api_version_section!();
    };
    (watchdog: $ty:ty) => {
        const _: () = {
            struct __VigilWatchdog;
            impl $crate::bindings::watchdog::Guest for __VigilWatchdog {
                fn describe() -> $crate::Description {
                    <$ty as $crate::Watchdog>::describe()
                }
                fn evaluate(config: String) -> Result<Vec<$crate::Finding>, String> {
                    let config = $crate::Config::from_json(&config)?;
                    <$ty as $crate::Watchdog>::evaluate(&config)
                }
            }
            $crate::bindings::watchdog::__export_watchdog_world!(__VigilWatchdog);
        };
        $crate::__api_version_section!();
    };
    (index_profile: $ty:ty) => {
        const _: () = {
            struct __VigilIndexProfile;
            impl $crate::bindings::index_profile::Guest for __VigilIndexProfile {
                fn indexes() -> Vec<$crate::IndexSpec> {
                    <$ty as $crate::IndexProfile>::indexes()
                }
            }
            $crate::bindings::index_profile::__export_index_profile_world!(__VigilIndexProfile);
        };
        $crate::__api_version_section!();
    };
}

/// Stamps [`API_VERSION`] into the component as the `vigil:api-version`
/// custom section. Emitted by [`export!`], in the plugin's own crate, so the
/// linker cannot drop it.
#[doc(hidden)]
#[macro_export]
macro_rules! __api_version_section {
    () => {
        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = "vigil:api-version")]
        #[used]
        static __VIGIL_API_VERSION: [u8; 5] = *b"0.1.0";
    };
}

#[doc(hidden)]
pub mod __rt {
    pub use wit_bindgen;
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_version_section_matches_constant() {
        // The custom section is spelled out as bytes in a macro; keep them equal.
        let stamped: [u8; 5] = *b"0.1.0";
        assert_eq!(crate::API_VERSION.as_bytes(), &stamped);
    }
}
