//! The SystemIntegrityMonitor checks against real services: Redis stopped
//! and restarted under the scheduler, scanner binaries on a temporary PATH,
//! MongoDB on a closed port (and a real server when `MONGODB_URI` is set).

use std::time::Duration;

use vigil_host::config::{PluginOverride, Secret};
use vigil_host::results::ResultsStore;
use vigil_tests::daemon::{TestDaemon, only_bundled};
use vigil_tests::services::{RedisServer, script, skip_unless_installed};

fn fast(interval_ms: u64) -> PluginOverride {
    PluginOverride { interval: Some(Duration::from_millis(interval_ms)), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_degrades_sessions_and_cache_then_recovers() {
    if skip_unless_installed(&["redis-server", "redis-cli"]) {
        return;
    }
    let mut redis = RedisServer::start();
    for key in ["session:a", "session:b", "session:c", "cache:x"] {
        redis.cli(&["SET", key, "1"]);
    }
    let interval = Duration::from_millis(300);
    let call_timeout = Duration::from_millis(500);
    let mut config = only_bundled(&["session-storage", "cache-backend"]);
    config.endpoints.redis_url = Some(Secret::Literal(redis.url()));
    config.endpoints.call_timeout = call_timeout;
    config.critical_checks = Some(vec!["session-storage".into()]);
    config.ready_on_degraded = false;
    config.plugins.insert("session-storage".into(), fast(300));
    config.plugins.insert("cache-backend".into(), fast(300));
    let daemon = TestDaemon::start(config).await;
    let limit = Duration::from_secs(20);

    let is = |status: &'static str, mode: &'static str| {
        move |entry: &serde_json::Value| entry["status"] == status && entry["result"]["mode"] == mode
    };
    daemon.wait_for("session-storage", limit, is("ok", "redis")).await;
    daemon.wait_for("cache-backend", limit, is("ok", "redis")).await;
    let (_, counters) = daemon.json("/health/metrics").await;
    assert_eq!(counters["active_sessions"], 3.0);
    assert_eq!(daemon.json("/health/ready").await.0, 200);

    // Redis goes away: both move to the in-memory fallback within one
    // interval plus one call timeout (and scheduling slack).
    redis.stop();
    let within = interval + call_timeout + Duration::from_secs(2);
    let (session, took) = daemon.wait_for("session-storage", limit, is("degraded", "in-memory")).await;
    assert!(took <= within, "session-storage took {took:?} to notice the outage (bound {within:?})");
    assert_eq!(session["result"]["impact"], "sessions lost on restart and not shared between workers");
    let (_, took) = daemon.wait_for("cache-backend", limit, is("degraded", "in-memory")).await;
    assert!(took <= within, "cache-backend took {took:?} (bound {within:?})");
    // ready_on_degraded = false: a degraded critical check fails readiness.
    let (code, _, text) = daemon.request("/health/ready?verbose", &[]).await;
    assert_eq!(code, 503, "{text}");
    assert!(text.contains("[-]session-storage failed: degraded"), "{text}");
    assert!(text.ends_with("readyz check failed\n"), "{text}");

    redis.restart();
    daemon.wait_for("session-storage", limit, is("ok", "redis")).await;
    daemon.wait_for("cache-backend", limit, is("ok", "redis")).await;
    assert_eq!(daemon.json("/health/ready").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanner_binaries_on_path_hang_and_garbage_are_told_apart() {
    let bin = tempfile::tempdir().expect("temp dir");
    script(bin.path(), "trivy", "echo 'Version: 0.50.1'; echo 'Vulnerability DB: ok'");
    script(bin.path(), "grype", "echo 'hello, I am not a version'");
    script(bin.path(), "syft", "exec /bin/sleep 30");
    let mut config = only_bundled(&["security-tools"]);
    config.endpoints.exec_path = Some(bin.path().display().to_string());
    config.endpoints.docker_host = Some("unix:///nonexistent/vigil-test.sock".into());
    let mut over = PluginOverride::default();
    over.config.insert("command_timeout_ms".into(), toml::Value::Integer(500));
    config.plugins.insert("security-tools".into(), over);
    let daemon = TestDaemon::start(config).await;

    let (entry, _) =
        daemon.wait_for("security-tools", Duration::from_secs(30), |e| e["runs"].as_u64() >= Some(1)).await;
    let result = &entry["result"];
    assert_eq!(entry["status"], "degraded", "{entry}");
    assert_eq!(result["mode"], "partial");
    assert_eq!(result["impact"], "scans fail for grype; scans fail for syft");
    let detail = result["detail"].as_str().expect("detail");
    assert!(detail.contains("trivy: image unknown: docker engine unreachable"), "{detail}");
    assert!(detail.contains("binary 0.50.1"), "{detail}");
    assert!(detail.contains("grype version printed no version"), "{detail}");
    assert!(detail.contains("syft did not finish within 500ms"), "{detail}");

    let (_, status) = daemon.json("/health/status").await;
    let tools = &status["security_tools"];
    assert_eq!(tools["trivy"]["available"], true);
    assert_eq!(tools["trivy"]["version"], "0.50.1");
    assert_eq!(tools["grype"]["available"], false);
    assert_eq!(tools["syft"]["binary_present"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_on_a_closed_port_fails_readiness_naming_the_database() {
    let port = vigil_tests::free_port();
    let mut config = only_bundled(&["database", "session-storage"]);
    let uri = format!("mongodb://vigil:hunter2@127.0.0.1:{port}/?directConnection=true");
    config.endpoints.mongodb_uri = Some(Secret::Literal(uri));
    config.endpoints.call_timeout = Duration::from_millis(500);
    config.critical_checks = Some(vec!["database".into()]);
    let daemon = TestDaemon::start(config).await;

    let (entry, took) = daemon.wait_for("database", Duration::from_secs(20), |e| e["runs"].as_u64() >= Some(1)).await;
    assert_eq!(entry["status"], "down", "{entry}");
    assert!(took < Duration::from_secs(5), "the closed port took {took:?} to report");
    let detail = entry["result"]["detail"].as_str().expect("detail");
    assert!(detail.contains("primary MongoDB unavailable"), "{detail}");
    let (code, body) = daemon.json("/health/ready").await;
    assert_eq!(code, 503);
    assert_eq!(body["checks"]["database"]["status"], "down");
    let (_, _, everything) = daemon.request("/health/status", &[]).await;
    assert!(!everything.contains("hunter2"), "the MongoDB password leaked into /health/status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_up_path_with_a_real_server() {
    let Ok(uri) = std::env::var("MONGODB_URI") else {
        eprintln!("skipped: MONGODB_URI not set");
        return;
    };
    let mut config = only_bundled(&["database"]);
    config.endpoints.mongodb_uri = Some(Secret::Literal(uri));
    let daemon = TestDaemon::start(config).await;
    let (entry, _) = daemon.wait_for("database", Duration::from_secs(30), |e| e["runs"].as_u64() >= Some(1)).await;
    assert_eq!(entry["status"], "ok", "{entry}");
    assert_eq!(entry["result"]["mode"], "primary");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scf_workbooks_parse_to_their_published_counts() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/scf");
    if !data.is_dir() {
        eprintln!("skipped: ../shared/data/scf not found");
        return;
    }
    // Expected counts come from the data's own README, not from the parser.
    let readme = std::fs::read_to_string(data.join("README.md")).expect("README");
    for (file, expected) in [("scf-2019.4.xlsx", "747"), ("scf-2022.3.xlsx", "1,090")] {
        assert!(readme.contains(&format!("| {file} |")) && readme.contains(&format!("| {expected} |")));
        let mut config = only_bundled(&["scf-baseline"]);
        config.endpoints.scf_workbook = Some(std::fs::canonicalize(data.join(file)).expect("workbook"));
        let daemon = vigil_host::daemon::Daemon::start(config).await.expect("daemon");
        let plugins = daemon.plugins.load().plugins.clone();
        let result = vigil_host::scheduler::run_once(&plugins[0], &ResultsStore::new()).await;
        assert_eq!(result.mode, "excel", "{}", result.detail);
        let controls = result.observations.iter().find(|o| o.name == "controls").expect("count").value;
        assert_eq!(controls, expected.replace(',', "").parse::<f64>().expect("number"), "{file}");
    }
}
