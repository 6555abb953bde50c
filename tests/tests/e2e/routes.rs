//! Health routes over stored results: through `Router::oneshot` and over a
//! real socket.

use std::sync::Arc;

use axum::body::Body;
use axum::body::HttpBody as _;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vigil_host::config::DaemonConfig;
use vigil_host::daemon::Daemon;
use vigil_host::{scheduler, server};
use vigil_tests::{PluginDir, shared_cache_dir};

async fn daemon_with(dir: &PluginDir) -> Arc<Daemon> {
    let config = DaemonConfig {
        bundled_plugins: false,
        plugin_dirs: vec![dir.path().to_path_buf()],
        cache_dir: Some(shared_cache_dir()),
        ..DaemonConfig::default()
    };
    Daemon::start(config).await.expect("daemon starts")
}

async fn get(daemon: &Arc<Daemon>, uri: &str) -> (StatusCode, serde_json::Value) {
    let response = server::router(Arc::clone(daemon))
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).expect("JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_plugins_results_and_failures() {
    let dir = PluginDir::new();
    dir.misbehaving("good", "ok", "2s", "");
    dir.misbehaving("panicker", "panic", "2s", "");
    dir.misbehaving("never-run", "ok", "2s", "");
    dir.add_bytes("broken", "check", b"nope", "");
    let daemon = daemon_with(&dir).await;
    let plugins = daemon.plugins.load().plugins.clone();
    for plugin in plugins.iter().filter(|p| p.name() != "never-run") {
        scheduler::run_once(plugin, &daemon.results).await;
    }

    let (code, body) = get(&daemon, "/health/status").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["status"], "down");
    let plugin = |name: &str| {
        body["plugins"].as_array().expect("plugins").iter().find(|p| p["name"] == name).cloned().expect(name)
    };
    assert_eq!(plugin("good")["status"], "ok");
    assert_eq!(plugin("good")["result"]["mode"], "normal");
    assert_eq!(plugin("good")["subsystem"], "fixture");
    assert_eq!(plugin("panicker")["status"], "down");
    assert_eq!(plugin("panicker")["result"]["fault"], "panic");
    assert_eq!(plugin("panicker")["result"]["detail"], "panicked: fixture panicked on purpose");
    assert_eq!(plugin("never-run")["status"], "unknown");
    assert!(plugin("never-run")["result"].is_null());
    let failed = &body["failed_plugins"][0];
    assert_eq!(failed["name"], "broken");
    assert!(failed["error"].as_str().expect("error").contains("not a WebAssembly component"));

    // Filters and a page, for daemons with many plugins.
    let (code, body) = get(&daemon, "/health/status?status=down&status=unknown&limit=1").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["status"], "down", "the overall status is the daemon's");
    assert_eq!(body["selection"], serde_json::json!({"total": 3, "matched": 2, "offset": 0, "listed": 1}));
    assert_eq!(body["plugins"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["plugins"][0]["name"], "never-run");
    let (_, body) = get(&daemon, "/health/status?check=good&kind=check").await;
    let names: Vec<&str> =
        body["plugins"].as_array().expect("plugins").iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["good"]);
    let (code, body) = get(&daemon, "/health/status?status=fine").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().expect("message").contains("`status`"), "{body}");

    let (code, body) = get(&daemon, "/health/live").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body["status"], "pass");
    let (code, body) = get(&daemon, "/no/such/route").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_over_a_real_socket_while_a_plugin_loops() {
    let dir = PluginDir::new();
    dir.misbehaving("good", "ok", "2s", "interval = \"100ms\"");
    dir.misbehaving("looper", "loop", "5s", "interval = \"100ms\"");
    let daemon = daemon_with(&dir).await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let plugins = daemon.plugins.load().plugins.clone();
    let mut tasks = scheduler::spawn(&plugins, daemon.results.clone(), daemon.heartbeat.clone(), shutdown.clone());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = shutdown.clone();
    let server = tokio::spawn(
        axum::serve(listener, server::router(Arc::clone(&daemon)))
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .into_future(),
    );

    // Wait (bounded) until the good check has run twice; the looper is still
    // inside its first 5 s call the whole time.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(4);
    loop {
        let body = http_get(addr, "/health/status").await;
        let runs =
            body["plugins"].as_array().expect("plugins").iter().find(|p| p["name"] == "good").expect("good")["runs"]
                .as_u64()
                .expect("runs");
        if runs >= 2 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "good check did not run twice: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(daemon.results.get("looper").map(|r| r.runs).unwrap_or(0), 0, "looper cannot have finished yet");
    let live = http_get(addr, "/health/live").await;
    assert_eq!(live["status"], "pass");

    shutdown.cancel();
    server.await.expect("server task").expect("server ran");
    while tasks.join_next().await.is_some() {}
}

/// A minimal HTTP/1.1 GET over a fresh connection; returns the JSON body.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> serde_json::Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8(response).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).expect("JSON body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_critical_checks_with_exclude_and_verbose() {
    let dir = PluginDir::new();
    dir.misbehaving("db", "ok", "2s", "critical = true");
    dir.misbehaving("cache", "degraded", "2s", "critical = true");
    dir.misbehaving("sessions", "error", "2s", "critical = true");
    dir.misbehaving("optional", "error", "2s", "");
    let daemon = daemon_with(&dir).await;
    for plugin in daemon.plugins.load().plugins.iter() {
        scheduler::run_once(plugin, &daemon.results).await;
    }

    let (code, body) = get(&daemon, "/health/ready").await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "fail");
    assert_eq!(body["checks"]["sessions"]["passed"], false);
    assert!(body["checks"].get("optional").is_none(), "non-critical checks do not count: {body}");

    let (code, body) = get(&daemon, "/health/ready?exclude=sessions").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let (code, body) = get(&daemon, "/health/ready/db").await;
    assert_eq!((code, body["status"].as_str()), (StatusCode::OK, Some("pass")));
    let (code, _) = get(&daemon, "/health/ready/optional").await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    let (code, body) = get(&daemon, "/health/ready/nope").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "no check named \"nope\"");

    let response = server::router(Arc::clone(&daemon))
        .oneshot(Request::get("/health/ready?verbose").body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text =
        String::from_utf8(response.into_body().collect().await.expect("body").to_bytes().to_vec()).expect("utf-8");
    assert_eq!(
        text,
        "[+]cache ok (degraded: fallback)\n[+]db ok\n[-]sessions failed: down: plugin error: the fixture failed on purpose\nreadyz check failed\n"
    );

    for (query, message) in [
        ("/health/ready?verbos", "unknown query parameter `verbos` (expected `verbose` or `exclude`)"),
        ("/health/ready?verbose=maybe", "query parameter `verbose`: expected true or false, got \"maybe\""),
        ("/health/ready?exclude=ghost", "exclude: no check named \"ghost\""),
    ] {
        let (code, body) = get(&daemon, query).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["error"], message, "{query}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_speaks_health_json_when_asked() {
    let dir = PluginDir::new();
    dir.misbehaving("good", "ok", "2s", "");
    dir.misbehaving("slow-lane", "degraded", "2s", "");
    let daemon = daemon_with(&dir).await;
    for plugin in daemon.plugins.load().plugins.iter() {
        scheduler::run_once(plugin, &daemon.results).await;
    }
    let response = server::router(Arc::clone(&daemon))
        .oneshot(
            Request::get("/health/status")
                .header("accept", "application/health+json")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(response.headers()["content-type"], "application/health+json");
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(body["status"], "warn");
    assert_eq!(body["serviceId"], "vigil");
    let status = &body["checks"]["fixture:status"];
    let entries = status.as_array().expect("one entry per fixture plugin");
    assert_eq!(entries.len(), 2);
    let slow = entries.iter().find(|e| e["componentId"] == "slow-lane").expect("slow-lane");
    assert_eq!(slow["status"], "warn");
    assert_eq!(slow["observedValue"], "fallback");
    assert_eq!(slow["output"], "running on the fallback");
    assert_eq!(body["checks"]["fixture:duration"][0]["observedUnit"], "s");
}

/// Probe bodies are shared until the state changes: the same `ETag` while
/// nothing happens (`If-None-Match` gets 304 and no body), a new body and tag
/// once a check runs; readiness follows the new result at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_bodies_follow_state_changes_and_answer_if_none_match() {
    let dir = PluginDir::new();
    dir.misbehaving("flappy", "ok", "2s", "critical = true");
    let daemon = daemon_with(&dir).await;
    let request = |uri: &str, etag: Option<&str>| {
        let mut builder = Request::get(uri);
        if let Some(etag) = etag {
            builder = builder.header("if-none-match", etag);
        }
        let router = server::router(Arc::clone(&daemon));
        let request = builder.body(Body::empty()).expect("request");
        async move {
            let response = router.oneshot(request).await.expect("infallible");
            let status = response.status();
            let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let body = response.into_body().collect().await.expect("body").to_bytes();
            (status, etag, String::from_utf8_lossy(&body).into_owned())
        }
    };
    for uri in ["/health/status", "/health/ready", "/health/ready/flappy", "/health/metrics"] {
        let (first_status, first_tag, first) = request(uri, None).await;
        let first_tag = first_tag.unwrap_or_else(|| panic!("{uri}: no ETag"));
        let (_, again_tag, again) = request(uri, None).await;
        assert_eq!((again_tag.as_deref(), again.as_str()), (Some(first_tag.as_str()), first.as_str()), "{uri}");
        let (status, _, body) = request(uri, Some(&first_tag)).await;
        if first_status.is_success() {
            assert_eq!((status, body.as_str()), (StatusCode::NOT_MODIFIED, ""), "{uri}");
        } else {
            // Not ready yet: the precondition is ignored, the 503 stands.
            assert_eq!((status, body.as_str()), (first_status, first.as_str()), "{uri}");
        }
    }
    let (before, _, _) = request("/health/ready", None).await;
    assert_eq!(before, StatusCode::SERVICE_UNAVAILABLE, "the check has not run yet");
    let (_, status_tag, _) = request("/health/status", None).await;
    for plugin in daemon.plugins.load().plugins.iter() {
        scheduler::run_once(plugin, &daemon.results).await;
    }
    let (after, _, _) = request("/health/ready", None).await;
    assert_eq!(after, StatusCode::OK, "readiness did not follow the new result");
    let (status, new_tag, body) = request("/health/status", status_tag.as_deref()).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(new_tag, status_tag);
    assert!(body.contains("\"runs\":1"), "{body}");
    let (_, metrics_tag, _) = request("/metrics", None).await;
    assert!(metrics_tag.is_some(), "/metrics has no ETag");
}

/// Plain probes (`GET /health/ready`, `GET /health/live`, no query) are
/// answered before routing; the answer is the router's, byte for byte,
/// header for header, in every state; anything else goes to the router.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_answered_before_routing_are_the_routers_answers() {
    let dir = PluginDir::new();
    dir.misbehaving("flappy", "ok", "2s", "critical = true");
    let daemon = daemon_with(&dir).await;
    let probes = server::Probes::new(Arc::clone(&daemon));
    let request = |uri: &str, etag: Option<&str>| {
        let mut builder = Request::get(uri);
        if let Some(etag) = etag {
            builder = builder.header("if-none-match", etag);
        }
        builder.body(Body::empty()).expect("request")
    };
    // The router sets `content-length` from the body's exact size; hyper
    // does the same when it writes an answer without one.
    let parts = |response: axum::response::Response| async move {
        let (head, body) = response.into_parts();
        assert!(body.size_hint().exact().is_some(), "a probe body of unknown length");
        let mut headers: Vec<(String, String)> = head
            .headers
            .iter()
            .filter(|(name, _)| *name != "content-length")
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("?").to_owned()))
            .collect();
        headers.sort();
        (head.status, headers, body.collect().await.expect("body").to_bytes())
    };
    for run in [false, true] {
        if run {
            for plugin in daemon.plugins.load().plugins.iter() {
                scheduler::run_once(plugin, &daemon.results).await;
            }
        }
        for uri in ["/health/ready", "/health/live"] {
            let routed = server::router(Arc::clone(&daemon)).oneshot(request(uri, None)).await.expect("infallible");
            let tag = routed.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
            let routed = parts(routed).await;
            let direct = probes.answer(&request(uri, None)).unwrap_or_else(|| panic!("{uri} was not answered"));
            assert_eq!(parts(direct).await, routed, "{uri} after a run: {run}");
            if let Some(tag) = tag {
                // A failing probe is never a 304 (probes count 2xx-3xx as up).
                let direct = probes.answer(&request(uri, Some(&tag))).expect("answered");
                let expected = if routed.0.is_success() { StatusCode::NOT_MODIFIED } else { routed.0 };
                assert_eq!(direct.status(), expected, "{uri}");
                let star = probes.answer(&request(uri, Some("*"))).expect("answered");
                assert_eq!(star.status(), expected, "{uri} with If-None-Match: *");
            }
        }
        let ready = probes.answer(&request("/health/ready", None)).expect("answered");
        assert_eq!(ready.status(), if run { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE });
    }
    for uri in ["/health/ready?verbose", "/health/ready/flappy", "/health/status", "/health/ready/", "/metrics"] {
        assert!(probes.answer(&request(uri, None)).is_none(), "{uri} was answered before routing");
    }
    let head = Request::head("/health/ready").body(Body::empty()).expect("request");
    assert!(probes.answer(&head).is_none(), "HEAD was answered before routing");
}
