//! The plugins compiled into the binary by `build.rs` from `plugins/*`.

/// A bundled plugin: its crate name, manifest text and component bytes.
#[derive(Debug, Clone, Copy)]
pub struct BundledPlugin {
    /// The crate (and directory) name under `plugins/`.
    pub package: &'static str,
    /// The `plugin.toml` text.
    pub manifest: &'static str,
    /// The compiled component.
    pub component: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
