//! A plugin written in Python (examples/python-check), built from the WIT
//! with componentize-py and run by the same host: degraded without Redis,
//! optimal with a real one.

use std::path::Path;
use std::process::Command;

use vigil_host::loader;
use vigil_host::results::{ResultsStore, Status};
use vigil_tests::services::{RedisServer, skip_unless_installed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_check_builds_from_the_wit_and_runs() {
    if skip_unless_installed(&["componentize-py", "redis-server"]) {
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(repo.join("examples/python-check/plugin.toml"), dir.path().join("plugin.toml")).expect("manifest");
    let output = Command::new("componentize-py")
        .arg("-d")
        .arg(repo.join("wit"))
        .args(["-w", "check", "componentize", "-p"])
        .arg(repo.join("examples/python-check/app"))
        .arg("app")
        .arg("-o")
        .arg(dir.path().join("check_python.wasm"))
        .output()
        .expect("componentize-py runs");
    assert!(output.status.success(), "componentize-py failed:\n{}", String::from_utf8_lossy(&output.stderr));

    let source = loader::read_source(dir.path()).map_err(|f| f.1.to_string()).expect("manifest and component");
    let plugin = vigil_tests::runtime().prepare(source.clone()).await.expect("the Python component loads");
    assert_eq!(plugin.api_version, "0.1.0", "the API version comes from the component's imports");
    assert_eq!(plugin.description().map(|d| d.subsystem.as_str()), Some("cache"));
    let result = vigil_host::scheduler::run_once(&plugin, &ResultsStore::new()).await;
    assert_eq!((result.status, result.mode.as_str()), (Status::Degraded, "in-memory"), "{result:?}");
    assert!(result.detail.contains("no endpoint configured"), "{result:?}");

    // With a real Redis granted, the same component reports the optimal mode.
    let redis = RedisServer::start();
    let endpoints = vigil_host::config::Endpoints {
        redis_url: Some(vigil_host::config::Secret::Literal(redis.url())),
        ..vigil_host::config::Endpoints::default()
    };
    let services =
        vigil_host::capabilities::Services::connect(&endpoints, std::sync::Arc::default()).await.expect("services");
    let options = vigil_host::runtime::RuntimeOptions { cache_dir: Some(vigil_tests::shared_cache_dir()) };
    let runtime = vigil_host::runtime::Runtime::new(options, std::sync::Arc::new(services)).expect("runtime");
    let plugin = runtime.prepare(source).await.expect("loads");
    let result = vigil_host::scheduler::run_once(&plugin, &ResultsStore::new()).await;
    assert_eq!((result.status, result.mode.as_str()), (Status::Ok, "redis"), "{result:?}");
    assert_eq!(result.observations[0].name, "redis_ping_latency");
}
