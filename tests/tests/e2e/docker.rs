//! The security-tools check against a real Docker engine with images made
//! offline by `docker import`.

use std::time::Duration;

use vigil_host::config::PluginOverride;
use vigil_tests::daemon::{TestDaemon, only_bundled};
use vigil_tests::services::DockerEngine;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanner_images_on_the_engine_then_one_removed() {
    let Some(engine) = DockerEngine::start() else { return };
    for image in ["aquasec/trivy:0.50.1", "anchore/grype:v0.74.0", "anchore/syft:v1.0.0"] {
        engine.import(image);
    }
    let no_binaries = tempfile::tempdir().expect("temp dir");
    let mut config = only_bundled(&["security-tools"]);
    config.endpoints.docker_host = Some(engine.host());
    config.endpoints.exec_path = Some(no_binaries.path().display().to_string());
    config.plugins.insert(
        "security-tools".into(),
        PluginOverride { interval: Some(Duration::from_millis(300)), ..Default::default() },
    );
    let daemon = TestDaemon::start(config).await;
    let limit = Duration::from_secs(30);

    let (entry, _) = daemon.wait_for("security-tools", limit, |e| e["status"] == "ok").await;
    assert_eq!(entry["result"]["mode"], "complete");
    let detail = entry["result"]["detail"].as_str().expect("detail");
    assert!(detail.contains("trivy: image present, binary: trivy not found on PATH"), "{detail}");

    engine.remove("anchore/grype:v0.74.0");
    let (entry, _) = daemon.wait_for("security-tools", limit, |e| e["status"] == "degraded").await;
    assert_eq!(entry["result"]["mode"], "partial");
    assert_eq!(entry["result"]["impact"], "scans fail for grype");
    let (_, status) = daemon.json("/health/status").await;
    assert_eq!(status["security_tools"]["grype"]["image_present"], false);
    assert_eq!(status["security_tools"]["trivy"]["image_present"], true);
}
