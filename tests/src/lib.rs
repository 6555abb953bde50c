//! Helpers for Vigil's end-to-end tests: fixture components, throwaway
//! plugin directories, a shared artifact cache, and child processes that are
//! stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;

use vigil_host::capabilities::Services;
use vigil_host::runtime::{Runtime, RuntimeOptions};

pub mod daemon;
pub mod services;

/// Paths of the compiled fixture components.
pub mod fixtures {
    include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));
}

/// The artifact cache shared by all tests (under the cargo target directory),
/// so each fixture is compiled once per build rather than once per test.
pub fn shared_cache_dir() -> PathBuf {
    PathBuf::from(env!("VIGIL_TEST_CACHE"))
}

/// A runtime using the shared cache.
pub fn runtime() -> Runtime {
    Runtime::new(RuntimeOptions { cache_dir: Some(shared_cache_dir()) }, Arc::new(Services::new()))
        .expect("runtime starts")
}

/// A temporary directory of plugins, removed when dropped.
pub struct PluginDir {
    dir: tempfile::TempDir,
}

impl Default for PluginDir {
    fn default() -> Self {
        Self::new()
    }
}

impl PluginDir {
    /// An empty plugin directory.
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Add plugin `name` of `kind` using the component at `wasm`; `extra` is
    /// appended to the manifest (more keys, `[config]`, `[limits]`...).
    pub fn add(&self, name: &str, kind: &str, wasm: &str, extra: &str) -> PathBuf {
        let bytes = std::fs::read(wasm).expect("fixture component exists");
        self.add_bytes(name, kind, &bytes, extra)
    }

    /// Add a plugin whose component is `bytes`.
    pub fn add_bytes(&self, name: &str, kind: &str, bytes: &[u8], extra: &str) -> PathBuf {
        let plugin_dir = self.dir.path().join(name);
        std::fs::create_dir_all(&plugin_dir).expect("create plugin dir");
        std::fs::write(plugin_dir.join("plugin.wasm"), bytes).expect("write component");
        let manifest = format!(
            "name = \"{name}\"\nkind = \"{kind}\"\nversion = \"0.0.1\"\ncomponent = \"plugin.wasm\"\n{extra}\n"
        );
        std::fs::write(plugin_dir.join("plugin.toml"), manifest).expect("write manifest");
        plugin_dir
    }

    /// A `check-misbehave` plugin with `behaviour`, a deadline, and extra manifest text.
    pub fn misbehaving(&self, name: &str, behaviour: &str, timeout: &str, extra: &str) -> PathBuf {
        let text = format!("timeout = \"{timeout}\"\n{extra}\n[config]\nbehaviour = \"{behaviour}\"\n");
        self.add(name, "check", fixtures::CHECK_MISBEHAVE, &text)
    }
}

/// A child process killed (and reaped) when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// Path of the `vigil` binary built for these tests.
pub fn vigil_binary() -> PathBuf {
    let target = PathBuf::from(env!("VIGIL_TARGET_DIR"));
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    target.join(profile).join("vigil")
}
