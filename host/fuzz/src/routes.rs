//! Every HTTP route with arbitrary check results behind it and arbitrary
//! requests in front: no 500 and no panic, every JSON body parses (the
//! `application/health+json` of `/health/status` included), `/metrics`
//! always carries the readiness gauge, and bad query parameters are a 400.
//!
//! One daemon (all bundled plugins, admin token set) serves every input;
//! each input first records a result of its own for one check, with any
//! mode, detail and observations (names, units, labels, NaN and infinities).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use arbitrary::{Arbitrary, Unstructured};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vigil_host::config::{DaemonConfig, Secret};
use vigil_host::daemon::Daemon;
use vigil_host::results::{CheckResult, Observation, Status, Thresholds};

/// The admin token the fuzzed daemon accepts.
pub const ADMIN_TOKEN: &str = "fuzz-admin-token";

const PATHS: &[&str] = &[
    "/health/live",
    "/health/ready",
    "/health/ready/",
    "/health/status",
    "/health/metrics",
    "/metrics",
    "/admin/checks/run",
    "/admin/reload",
    "/admin/watchdog/run",
];
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];

#[derive(Debug, Arbitrary)]
struct Obs {
    name: String,
    value: f64,
    unit: String,
    labels: Vec<(String, String)>,
}

#[derive(Debug, Arbitrary)]
struct Input {
    check: u8,
    status: u8,
    mode: String,
    optimal_mode: String,
    detail: String,
    observations: Vec<Obs>,
    method: u8,
    path: u8,
    suffix: String,
    query: Option<String>,
    accept: Option<String>,
    authorization: Option<String>,
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    daemon: Arc<Daemon>,
    checks: Vec<String>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
        let mut config = DaemonConfig::default();
        config.admin.token = Secret::Literal(ADMIN_TOKEN.to_owned());
        let daemon = runtime.block_on(Daemon::start(config)).expect("daemon starts");
        let checks = daemon.plugins.load().plugins.iter().map(|p| p.name().to_owned()).collect();
        Fixture { runtime, daemon, checks }
    })
}

fn result(input: &Input) -> CheckResult {
    let status = [Status::Ok, Status::Degraded, Status::Down, Status::Unknown][usize::from(input.status % 4)];
    CheckResult {
        status,
        mode: input.mode.clone(),
        optimal_mode: input.optimal_mode.clone(),
        impact: String::new(),
        detail: input.detail.clone(),
        observations: input
            .observations
            .iter()
            .take(4)
            .map(|o| Observation {
                name: o.name.clone(),
                value: o.value,
                unit: o.unit.clone(),
                labels: o.labels.iter().take(4).cloned().collect(),
            })
            .collect(),
        fault: None,
        started_at: SystemTime::now(),
        duration: Duration::from_millis(3),
    }
}

/// Start the shared daemon now (it compiles every bundled plugin).
pub fn init() {
    fixture();
}

/// The property.
pub fn check(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let fixture = fixture();
    if !fixture.checks.is_empty() {
        let check = &fixture.checks[usize::from(input.check) % fixture.checks.len()];
        fixture.daemon.results.record(check, result(&input), Thresholds::default());
    }
    let path = PATHS[usize::from(input.path) % PATHS.len()];
    let mut uri = format!("{path}{}", input.suffix);
    if let Some(query) = &input.query {
        uri = format!("{uri}?{query}");
    }
    let method = METHODS[usize::from(input.method) % METHODS.len()];
    let mut request = Request::builder().method(method).uri(&uri);
    if let Some(accept) = &input.accept {
        request = request.header(header::ACCEPT, accept.as_str());
    }
    if let Some(authorization) = &input.authorization {
        request = request.header(header::AUTHORIZATION, authorization.as_str());
    }
    // Requests hyper would refuse to parse never reach the router.
    let Ok(mut request) = request.body(Body::empty()) else { return };
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
    let router = vigil_host::server::router(Arc::clone(&fixture.daemon));
    let (status, content_type, body) = fixture.runtime.block_on(async move {
        let response = router.oneshot(request).await.expect("infallible");
        let status = response.status();
        let content_type =
            response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let body = response.into_body().collect().await.expect("body").to_bytes();
        (status, content_type, body)
    });
    assert!(
        !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
        "{method} {uri} answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    if content_type.contains("json") && method != "HEAD" {
        assert!(
            serde_json::from_slice::<serde_json::Value>(&body).is_ok(),
            "{method} {uri}: {content_type} body is not JSON: {}",
            String::from_utf8_lossy(&body)
        );
    }
    if uri == "/metrics" && method == "GET" {
        let text = String::from_utf8_lossy(&body);
        assert!(text.lines().any(|l| l.starts_with("vigil_ready ")), "/metrics lost vigil_ready:\n{text}");
    }
}
