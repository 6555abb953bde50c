//! The HTTP server: health routes over the daemon's stored results.
//!
//! Handlers only read snapshots; a probe never triggers a check, so a probe
//! storm cannot reach the platform's databases. Errors are JSON with a
//! message and never carry internals.

mod admin;
pub(crate) mod cache;
pub(crate) mod events;
mod health;
mod health_json;
mod listen;
mod page;
mod probe;
mod query;
mod track;
mod watch;

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub use events::MAX_STREAMS as MAX_EVENT_STREAMS;
pub use health::{LIVENESS_GRACE, worst};
pub use listen::{App, serve};
pub use probe::Probes;

use crate::daemon::Daemon;

/// The application: its routes, and the plain probes answered before
/// routing.
pub fn app(daemon: Arc<Daemon>) -> App {
    App::new(router(Arc::clone(&daemon)), Probes::new(daemon))
}

/// The application's routes, including `/metrics`.
pub fn router(daemon: Arc<Daemon>) -> Router {
    Router::new()
        .route("/", get(page::page))
        .route("/ui/vigil.css", get(page::style))
        .route("/ui/vigil.js", get(page::script))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/health/ready/{check}", get(health::ready_one))
        .route("/health/status", get(health::status))
        .route("/health/metrics", get(health::counters))
        .route("/health/events", get(events::stream))
        .route("/metrics", get(prometheus_metrics))
        .merge(admin::routes(&daemon))
        .fallback(not_found)
        .layer(track::TrackLayer::new(Arc::clone(daemon.metrics.http())))
        .with_state(daemon)
}

/// Only `/metrics`, for a separate listener (`metrics_listen`).
pub fn metrics_router(daemon: Arc<Daemon>) -> Router {
    Router::new()
        .route("/metrics", get(prometheus_metrics))
        .fallback(not_found)
        .layer(track::TrackLayer::new(Arc::clone(daemon.metrics.http())))
        .with_state(daemon)
}

/// The Prometheus text exposition, written from a snapshot of the daemon's
/// state taken under the results store's read lock (no copy).
async fn prometheus_metrics(State(daemon): State<Arc<Daemon>>, conditions: cache::Conditions) -> Response {
    let set = daemon.plugins.load();
    let plan = daemon.index_plan.load();
    let scrubber = daemon.scrubber.load();
    let ready_on_degraded = daemon.config.load().ready_on_degraded;
    let body = daemon.results.read(|records| {
        let snapshot = crate::metrics::Snapshot {
            checks: crate::metrics::check_views(&set.plugins, records),
            ready_on_degraded,
            plugins: set
                .plugins
                .iter()
                .map(|p| (p.name(), p.kind().as_str(), p.manifest.version.to_string()))
                .collect(),
            index_plan: &plan,
            scrubber_rules: scrubber.rules().iter().map(|r| r.id.as_str()).collect(),
        };
        daemon.metrics.render(&snapshot)
    });
    cache::respond_tagged(&conditions, "text/plain; version=0.0.4; charset=utf-8", body.into())
}

/// An error answer: a status code and a message for the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    /// 404 with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self { status: StatusCode::NOT_FOUND, message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("not found")
}
