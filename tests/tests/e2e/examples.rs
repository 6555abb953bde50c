//! The shipped examples work as documented: the annotated config parses and
//! starts as shipped, and the copy-me plugin builds on its own, outside any
//! workspace, and runs.

use std::path::{Path, PathBuf};

use vigil_host::config::DaemonConfig;
use vigil_host::loader;
use vigil_host::results::{ResultsStore, Status};
use vigil_tests::runtime;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_path_buf()
}

#[test]
fn annotated_config_is_valid() {
    let config = DaemonConfig::load(&repo().join("examples/vigil.toml")).expect("examples/vigil.toml is valid");
    assert_eq!(config.listen.to_string(), "127.0.0.1:8787");
    assert!(config.plugins.contains_key("session-storage"));
    assert_eq!(config.critical_checks.as_deref(), Some(&["database".to_owned(), "session-storage".to_owned()][..]));
}

/// `vigil run --config examples/vigil.toml`, as its header says, with none
/// of its optional variables set: it starts and serves.
#[test]
fn annotated_config_starts_as_shipped() {
    let unset = [("REDIS_URL", ""), ("MONGODB_URI", ""), ("MONGODB_FALLBACK_URI", "")];
    let vigil = vigil_tests::process::VigilProcess::start(&[], Some(&repo().join("examples/vigil.toml")), &unset);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    let live = runtime.block_on(vigil_tests::http_request(vigil.addr, "GET", "/health/live", &[])).expect("live");
    assert_eq!(live.status, 200, "{}", live.body);
    let logs = vigil.stop();
    assert!(!logs.contains("is not set"), "{logs}");
}

#[test]
fn kubernetes_configmap_holds_a_valid_config() {
    let yaml = std::fs::read_to_string(repo().join("examples/kubernetes/configmap.yaml")).expect("configmap");
    let (_, block) = yaml.split_once("vigil.toml: |\n").expect("vigil.toml key");
    let toml: String = block
        .lines()
        .take_while(|line| line.is_empty() || line.starts_with("    "))
        .map(|line| format!("{}\n", line.strip_prefix("    ").unwrap_or(line)))
        .collect();
    let config = DaemonConfig::parse(&toml, "configmap.yaml#vigil.toml").expect("valid vigil.toml in the ConfigMap");
    assert_eq!(config.listen.port(), 8787);
    assert_eq!(config.plugins["database"].fall, Some(3));
    let deployment = std::fs::read_to_string(repo().join("examples/kubernetes/deployment.yaml")).expect("deployment");
    assert!(deployment.contains("path: /health/live") && deployment.contains("path: /health/ready"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").filter_map(Result::ok) {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_me_plugin_builds_standalone_and_runs() {
    let work = tempfile::tempdir().expect("temp dir");
    let crate_dir = work.path().join("my-check");
    copy_dir(&repo().join("examples/minimal-check"), &crate_dir);
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).expect("read");
    let sdk = repo().join("sdk");
    let manifest = manifest.replace("path = \"../../sdk\"", &format!("path = {:?}", sdk.display().to_string()));
    std::fs::write(crate_dir.join("Cargo.toml"), manifest).expect("write");
    vigil_tests::build_guest_crate(&crate_dir, "minimal_check.wasm");
    let source = loader::read_source(&crate_dir).map_err(|f| f.1.to_string()).expect("manifest and component");
    let plugin = runtime().prepare(source).await.expect("loads");
    assert_eq!(plugin.api_version, "0.1.0");
    let result = vigil_host::scheduler::run_once(&plugin, &ResultsStore::new()).await;
    assert!(matches!(result.status, Status::Ok | Status::Degraded), "{result:?}");
    assert_eq!(result.observations[0].name, "threshold");
    assert_eq!(result.observations[0].value, 60.0);
}
