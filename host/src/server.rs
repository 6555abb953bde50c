//! The HTTP server: health routes over the daemon's stored results.
//!
//! Handlers only read snapshots; a probe never triggers a check, so a probe
//! storm cannot reach the platform's databases.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

use crate::daemon::{Daemon, FailedPlugin};
use crate::manifest::PluginKind;
use crate::results::{CheckResult, Status};
use crate::scheduler::HEARTBEAT;

/// A heartbeat older than this makes `/health/live` fail.
pub const LIVENESS_GRACE: Duration = Duration::from_secs(10 * HEARTBEAT.as_secs());

/// The application's routes.
pub fn router(daemon: Arc<Daemon>) -> Router {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/status", get(status))
        .fallback(not_found)
        .with_state(daemon)
}

async fn live(State(daemon): State<Arc<Daemon>>) -> Response {
    match daemon.heartbeat.age() {
        Some(age) if age > LIVENESS_GRACE => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "fail", "detail": format!("scheduler stalled for {}s", age.as_secs()) })),
        )
            .into_response(),
        Some(_) => Json(json!({ "status": "pass" })).into_response(),
        None => Json(json!({ "status": "pass", "detail": "starting" })).into_response(),
    }
}

#[derive(Serialize)]
struct PluginStatus<'a> {
    name: &'a str,
    kind: PluginKind,
    version: &'a str,
    origin: String,
    digest: &'a str,
    api_version: &'a str,
    subsystem: Option<&'a str>,
    summary: Option<&'a str>,
    critical: bool,
    interval_seconds: f64,
    timeout_seconds: f64,
    status: Option<Status>,
    runs: u64,
    faults: u64,
    result: Option<CheckResult>,
}

#[derive(Serialize)]
struct StatusBody<'a> {
    status: Status,
    version: &'static str,
    uptime_seconds: f64,
    plugins: Vec<PluginStatus<'a>>,
    failed_plugins: &'a [FailedPlugin],
}

async fn status(State(daemon): State<Arc<Daemon>>) -> Response {
    let set = daemon.plugins.load();
    let records = daemon.results.snapshot();
    let plugins: Vec<PluginStatus<'_>> = set
        .plugins
        .iter()
        .map(|plugin| {
            let record = records.get(plugin.name()).cloned().unwrap_or_default();
            let description = plugin.description();
            let is_check = plugin.kind() == PluginKind::Check;
            PluginStatus {
                name: plugin.name(),
                kind: plugin.kind(),
                version: &plugin.manifest.version,
                origin: plugin.origin.to_string(),
                digest: &plugin.digest,
                api_version: &plugin.api_version,
                subsystem: description.map(|d| d.subsystem.as_str()),
                summary: description.map(|d| d.summary.as_str()),
                critical: plugin.manifest.critical,
                interval_seconds: plugin.manifest.interval.as_secs_f64(),
                timeout_seconds: plugin.manifest.timeout.as_secs_f64(),
                status: is_check.then(|| record.latest.as_ref().map_or(Status::Unknown, |r| r.status)),
                runs: record.runs,
                faults: record.faults,
                result: record.latest,
            }
        })
        .collect();
    let overall = worst(plugins.iter().filter_map(|p| p.status));
    let body = StatusBody {
        status: overall,
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: daemon.started.elapsed().as_secs_f64(),
        plugins,
        failed_plugins: &set.failed,
    };
    Json(body).into_response()
}

/// The worst of several statuses; `unknown` ranks between degraded and down.
pub fn worst(statuses: impl Iterator<Item = Status>) -> Status {
    let rank = |status: Status| match status {
        Status::Ok => 0,
        Status::Degraded => 1,
        Status::Unknown => 2,
        Status::Down => 3,
    };
    statuses.max_by_key(|status| rank(*status)).unwrap_or(Status::Ok)
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": "not found" }))).into_response()
}
