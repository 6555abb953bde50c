//! `/admin/...`: operations that change what the daemon does, behind the
//! [`AdminGuard`](crate::security::admin::AdminGuard): 429 over the
//! per-source budget, 403 while no token is configured, 401 without the
//! right bearer token. Each answer is a security event.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::post};
use serde_json::json;

use crate::daemon::Daemon;
use crate::manifest::PluginKind;
use crate::security::Request as Subject;
use crate::security::admin::{UNKNOWN_SOURCE, Verdict};

/// The admin routes, each gated.
pub fn routes(daemon: &Arc<Daemon>) -> Router<Arc<Daemon>> {
    Router::new()
        .route("/admin/checks/run", post(run_checks))
        .route("/admin/watchdog/run", post(run_watchdog))
        .route("/admin/reload", post(reload))
        .route_layer(axum::middleware::from_fn_with_state(Arc::clone(daemon), guard))
}

/// The operation name a route stands for, in security events.
fn action(route: &str) -> &'static str {
    match route {
        "/admin/checks/run" => "admin.run_checks",
        "/admin/reload" => "admin.reload",
        "/admin/watchdog/run" => "admin.watchdog_run",
        _ => "admin.other",
    }
}

async fn guard(State(daemon): State<Arc<Daemon>>, request: Request, next: Next) -> Response {
    let source = request.extensions().get::<ConnectInfo<SocketAddr>>().map_or(UNKNOWN_SOURCE, |info| info.0.ip());
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let authorization = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let subject = Subject { source, resource: &route, action: action(&route) };
    match daemon.admin.check(subject, authorization, Instant::now()) {
        // Nothing to run or reload until the first load is done.
        Verdict::Allow if daemon.is_starting() => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            Json(json!({ "error": "starting: plugins are loading" })),
        )
            .into_response(),
        Verdict::Allow => next.run(request).await,
        Verdict::Unauthenticated(reason) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"vigil\"")],
            Json(json!({ "error": reason })),
        )
            .into_response(),
        Verdict::Forbidden(reason) => (StatusCode::FORBIDDEN, Json(json!({ "error": reason }))).into_response(),
        Verdict::TooManyRequests(retry) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry.to_string())],
            Json(json!({ "error": "rate limit exceeded" })),
        )
            .into_response(),
    }
}

/// Run every check now (instead of waiting for its interval) and answer
/// with the results.
async fn run_checks(State(daemon): State<Arc<Daemon>>) -> Json<serde_json::Value> {
    let set = daemon.plugins.load_full();
    let mut runs = tokio::task::JoinSet::new();
    for plugin in set.plugins.iter().filter(|p| p.kind() == PluginKind::Check) {
        let (plugin, results) = (Arc::clone(plugin), Arc::clone(&daemon.results));
        runs.spawn(async move {
            let result = crate::scheduler::run_once(&plugin, &results).await;
            json!({ "name": plugin.name(), "status": result.status.as_str(), "mode": result.mode, "detail": result.detail })
        });
    }
    let mut ran: Vec<serde_json::Value> = runs.join_all().await;
    ran.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    Json(json!({ "ran": ran }))
}

/// The options of `POST /admin/watchdog/run`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WatchdogRunOptions {
    /// Print the dispatches instead of sending them.
    #[serde(default)]
    dry_run: bool,
}

/// `POST /admin/watchdog/run[?dry_run=true]`: evaluate every rule now,
/// dispatching what they ask for (the same dedupe and cooldown apply), and
/// answer with the reports; with `dry_run`, print the dispatches instead of
/// sending them.
async fn run_watchdog(
    State(daemon): State<Arc<Daemon>>,
    axum::extract::Query(options): axum::extract::Query<WatchdogRunOptions>,
) -> Json<serde_json::Value> {
    let set = daemon.plugins.load_full();
    let reports = daemon.watchdog.evaluate_all_with(&set.plugins, options.dry_run).await;
    Json(json!({ "coordination": daemon.watchdog.coordination(), "rules": reports }))
}

/// Reload plugins and configuration now; answer with the report.
async fn reload(State(daemon): State<Arc<Daemon>>) -> Json<crate::reload::ReloadReport> {
    Json(daemon.reload("admin", Instant::now()).await)
}
