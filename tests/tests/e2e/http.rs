//! The `http` capability against a real local HTTP server: what a grant
//! lets through, and everything it does not (another host, another path, a
//! redirect out of the grant, a name resolving to a guarded address, a slow
//! answer, an oversized body, a proxy in the environment).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;
use vigil_host::loader::{self, PluginSources};
use vigil_host::results::{ResultsStore, Status};
use vigil_host::scheduler;
use vigil_tests::{PluginDir, fixtures, runtime};

/// A server on 127.0.0.1 with the routes the cases need; its port.
async fn server(other_port: u16) -> u16 {
    let app = Router::new()
        .route("/ok", get(|| async { "fine" }))
        .route("/ok/inner", get(|| async { "inner" }))
        .route("/admin", get(|| async { "secret admin" }))
        .route("/redirect-in", get(|| async { Redirect::temporary("/ok/inner") }))
        .route(
            "/redirect-out",
            get(move || async move { Redirect::temporary(&format!("http://127.0.0.1:{other_port}/ok")) }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "late"
            }),
        )
        .route("/big", get(|| async { "b".repeat(2 << 20) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// Run a check that GETs `url` under `grants`; its status and detail.
async fn fetch(grants: &str, url: &str, extra: &str) -> (Status, String) {
    let (status, detail, _) = fetch_counted(grants, url, extra).await;
    (status, detail)
}

/// [`fetch`], and how many calls the host refused (warned about and
/// counted in `vigil_capability_refusals_total`).
async fn fetch_counted(grants: &str, url: &str, extra: &str) -> (Status, String, u64) {
    let dir = PluginDir::new();
    let manifest =
        format!("timeout = \"2s\"\n{extra}\n[grants]\n{grants}\n[config]\nbehaviour = \"http\"\nurl = \"{url}\"\n");
    dir.add("fetch", "check", fixtures::CHECK_MISBEHAVE, &manifest);
    let sources = PluginSources { bundled: false, dirs: vec![dir.path().to_path_buf()] };
    let report = loader::load_all(&runtime(), &sources, &Default::default()).await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let result = scheduler::run_once(&report.plugins[0], &Arc::new(ResultsStore::new())).await;
    (result.status, result.detail, report.plugins[0].services().refused_calls())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_lets_through_exactly_what_it_names() {
    let other = server(1).await;
    let port = server(other).await;
    let base = format!("http://127.0.0.1:{port}");
    let grant = format!(
        "http = [\"{base}/ok\", \"{base}/redirect-in\", \"{base}/redirect-out\", \"{base}/slow\", \"{base}/big\"]"
    );

    let (status, detail) = fetch(&grant, &format!("{base}/ok"), "").await;
    assert_eq!((status, detail.as_str()), (Status::Ok, "status 200 body 4 bytes"));
    let (status, detail) = fetch(&grant, &format!("{base}/redirect-in"), "").await;
    assert_eq!((status, detail.as_str()), (Status::Ok, "status 200 body 5 bytes"), "a redirect inside the grant");

    // (what, url, what the plugin is told, whether the host counts a refusal)
    for (what, url, expected, refused) in [
        ("another host", format!("http://127.0.0.2:{port}/ok"), "NotGranted", 1),
        ("another port", format!("http://127.0.0.1:{other}/ok"), "NotGranted", 1),
        ("another path", format!("{base}/admin"), "NotGranted", 1),
        ("a longer path segment", format!("{base}/okay"), "NotGranted", 1),
        ("a redirect out of the grant", format!("{base}/redirect-out?token=t0p"), "outside the grant", 1),
        ("a slow answer", format!("{base}/slow"), "Timeout", 0),
        ("an oversized body", format!("{base}/big"), "larger than 1048576 bytes", 0),
        ("another scheme", format!("ftp://127.0.0.1:{port}/ok"), "NotGranted", 1),
    ] {
        let (status, detail, refusals) = fetch_counted(&grant, &url, "").await;
        assert_eq!(status, Status::Down, "{what}: {detail}");
        assert!(detail.contains(expected), "{what}: {detail:?} lacks {expected:?}");
        assert!(!detail.contains("secret admin") && !detail.contains("t0p"), "{what}: {detail}");
        assert_eq!(refusals, refused, "{what}: refusals counted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_name_may_not_resolve_to_a_guarded_address_unless_its_range_is_granted() {
    let port = server(1).await;
    let url = format!("http://localhost:{port}/ok");
    let grant = format!("http = [\"http://localhost:{port}/\"]");
    let (status, detail) = fetch(&grant, &url, "").await;
    assert_eq!(status, Status::Down, "{detail}");
    assert!(detail.contains("NotGranted") && detail.contains("resolves to 127.0.0.1"), "{detail}");
    let grant = format!("{grant}\nhttp_networks = [\"127.0.0.0/8\", \"::1/128\"]");
    let (status, detail) = fetch(&grant, &url, "").await;
    assert_eq!((status, detail.as_str()), (Status::Ok, "status 200 body 4 bytes"));
    // HEAD: the status, no body.
    let dir_grant = format!("http = [\"http://127.0.0.1:{port}/ok\"]");
    let dir = PluginDir::new();
    let manifest = format!(
        "timeout = \"2s\"\n[grants]\n{dir_grant}\n[config]\nbehaviour = \"http\"\nmethod = \"head\"\nurl = \"http://127.0.0.1:{port}/ok\"\n"
    );
    dir.add("head", "check", fixtures::CHECK_MISBEHAVE, &manifest);
    let sources = PluginSources { bundled: false, dirs: vec![dir.path().to_path_buf()] };
    let report = loader::load_all(&runtime(), &sources, &Default::default()).await;
    let result = scheduler::run_once(&report.plugins[0], &Arc::new(ResultsStore::new())).await;
    assert_eq!(result.detail, "status 200 body 0 bytes");
}

#[test]
fn no_proxy_is_taken_from_the_environment() {
    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    let port = tokio.block_on(server(1));
    let dir = PluginDir::new();
    let manifest = format!(
        "timeout = \"2s\"\n[grants]\nhttp = [\"http://127.0.0.1:{port}/ok\"]\n[config]\nbehaviour = \"http\"\nurl = \"http://127.0.0.1:{port}/ok\"\n"
    );
    let plugin = dir.add("proxied", "check", fixtures::CHECK_MISBEHAVE, &manifest);
    let out = std::process::Command::new(vigil_tests::vigil_binary())
        .args(["plugin", "test", &plugin.to_string_lossy()])
        .env("VIGIL_CACHE_DIR", env!("VIGIL_TEST_CACHE"))
        .env("HTTP_PROXY", "http://127.0.0.1:1")
        .env("http_proxy", "http://127.0.0.1:1")
        .env("ALL_PROXY", "http://127.0.0.1:1")
        .output()
        .expect("vigil plugin test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("status 200 body 4 bytes"), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}

/// The bundled `api-health` check with `[endpoints] api_health_url` set to
/// `url` (or unset): its result.
async fn api_health(url: Option<String>) -> vigil_host::results::CheckResult {
    let mut config = vigil_tests::daemon::only_bundled(&["api-health"]);
    config.endpoints.api_health_url = url;
    let sources = PluginSources { bundled: true, dirs: vec![] };
    let report = loader::load_all(&runtime(), &sources, &config).await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let plugin = report.plugins.iter().find(|p| p.name() == "api-health").expect("api-health");
    scheduler::run_once(plugin, &Arc::new(ResultsStore::new())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_health_check_reports_status_and_latency() {
    let app = Router::new()
        .route("/health", get(|| async { "{\"status\": \"ok\"}" }))
        .route(
            "/slow/health",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1200)).await;
                "ok"
            }),
        )
        .route("/sick/health", get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let result = api_health(None).await;
    assert_eq!((result.status, result.mode.as_str()), (Status::Unknown, "unconfigured"), "{}", result.detail);
    let result = api_health(Some(format!("{base}/health"))).await;
    assert_eq!((result.status, result.mode.as_str()), (Status::Ok, "responsive"), "{}", result.detail);
    assert!(result.observations.iter().any(|o| o.name == "latency" && o.value > 0.0), "{:?}", result.observations);
    let result = api_health(Some(format!("{base}/slow/health"))).await;
    assert_eq!((result.status, result.mode.as_str()), (Status::Degraded, "slow"), "{}", result.detail);
    let result = api_health(Some(format!("{base}/sick/health"))).await;
    assert_eq!((result.status, result.mode.as_str()), (Status::Down, "unhealthy"), "{}", result.detail);
    assert!(result.detail.starts_with("HTTP 503"), "{}", result.detail);
}
