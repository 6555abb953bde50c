//! Native plugins: refused without `allow_native`, loaded and run with it,
//! their panics caught, their hangs reported as timeouts, and a library
//! built for another ABI version refused before any other call.

use std::path::{Path, PathBuf};
use std::process::Command;

use vigil_host::config::{DaemonConfig, PluginOverride};
use vigil_host::loader::{self, PluginSources};
use vigil_host::results::{ResultsStore, Status};
use vigil_tests::runtime;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Build examples/native-check for this host; the path of the library.
fn build_example() -> PathBuf {
    let cargo = PathBuf::from(env!("CARGO"));
    let target_dir = PathBuf::from(env!("VIGIL_TARGET_DIR")).join("native");
    let output = Command::new(&cargo)
        .current_dir(repo().join("examples/native-check"))
        .args(["build", "--offline", "--target-dir"])
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "native example failed to build:\n{}", String::from_utf8_lossy(&output.stderr));
    target_dir.join("debug/libnative_check.so")
}

fn plugin_dir(library: &Path, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = dir.path().join("load-average");
    std::fs::create_dir(&plugin).expect("plugin dir");
    let manifest = std::fs::read_to_string(repo().join("examples/native-check/plugin.toml")).expect("manifest");
    std::fs::write(plugin.join("plugin.toml"), format!("{manifest}{extra}")).expect("manifest");
    std::fs::copy(library, plugin.join("libnative_check.so")).expect("library");
    dir
}

fn config(dir: &Path, allow: bool, config: &[(&str, toml::Value)]) -> DaemonConfig {
    let mut over = PluginOverride { allow_native: allow, ..PluginOverride::default() };
    for (key, value) in config {
        over.config.insert((*key).to_owned(), value.clone());
    }
    let mut config =
        DaemonConfig { bundled_plugins: false, plugin_dirs: vec![dir.to_path_buf()], ..DaemonConfig::default() };
    config.plugins.insert("load-average".to_owned(), over);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_checks_are_opt_in_contained_and_versioned() {
    let library = build_example();
    let dir = plugin_dir(&library, "");
    let sources = PluginSources { bundled: false, dirs: vec![dir.path().to_path_buf()] };

    // Without allow_native: refused, saying how to allow it.
    let report = loader::load_all(&runtime(), &sources, &config(dir.path(), false, &[])).await;
    assert!(report.plugins.is_empty());
    assert!(report.failures[0].error.to_string().contains("allow_native = true"), "{}", report.failures[0].error);

    // Allowed: it describes itself and runs.
    let report = loader::load_all(&runtime(), &sources, &config(dir.path(), true, &[])).await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let plugin = &report.plugins[0];
    assert!(plugin.is_native());
    assert_eq!(plugin.description().map(|d| d.subsystem.as_str()), Some("host"));
    let result = vigil_host::scheduler::run_once(plugin, &ResultsStore::new()).await;
    assert!(matches!(result.status, Status::Ok | Status::Degraded), "{result:?}");
    assert_eq!(result.observations[0].name, "load_average");

    // A panic in the library is caught and reported.
    let panicky = config(dir.path(), true, &[("behaviour", toml::Value::String("panic".into()))]);
    let report = loader::load_all(&runtime(), &sources, &panicky).await;
    let result = vigil_host::scheduler::run_once(&report.plugins[0], &ResultsStore::new()).await;
    assert_eq!(result.status, Status::Down);
    assert!(result.detail.contains("panicked: asked to panic"), "{result:?}");

    // A call that hangs is reported as timed out (deadline 1 s), and the plugin is not called again meanwhile.
    let hanging = config(dir.path(), true, &[("behaviour", toml::Value::String("hang".into()))]);
    let report = loader::load_all(&runtime(), &sources, &hanging).await;
    let plugin = &report.plugins[0];
    let result = vigil_host::scheduler::run_once(plugin, &ResultsStore::new()).await;
    assert_eq!(result.fault, Some("timeout"), "{result:?}");
    let again = vigil_host::scheduler::run_once(plugin, &ResultsStore::new()).await;
    assert!(again.detail.contains("has not returned yet"), "{again:?}");
}

#[tokio::test]
async fn a_library_for_another_abi_version_is_refused() {
    if vigil_tests::services::skip_unless_installed(&["cc"]) {
        return;
    }
    let built = tempfile::tempdir().expect("tempdir");
    let library = built.path().join("libnative_check.so");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(repo().join("tests/native/abi_mismatch.c"))
        .status()
        .expect("cc runs");
    assert!(status.success());
    let dir = plugin_dir(&library, "");
    let sources = PluginSources { bundled: false, dirs: vec![dir.path().to_path_buf()] };
    let report = loader::load_all(&runtime(), &sources, &config(dir.path(), true, &[])).await;
    assert!(report.plugins.is_empty());
    let error = report.failures[0].error.to_string();
    assert!(error.contains("native ABI version 99 is not supported (this host speaks version 1)"), "{error}");
}
