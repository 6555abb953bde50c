//! The HTTP server: health routes over the daemon's stored results.
//!
//! Handlers only read snapshots; a probe never triggers a check, so a probe
//! storm cannot reach the platform's databases. Errors are JSON with a
//! message and never carry internals.

mod admin;
mod health;
mod health_json;
mod query;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub use health::{LIVENESS_GRACE, worst};

use crate::daemon::Daemon;

/// The application's routes, including `/metrics`.
pub fn router(daemon: Arc<Daemon>) -> Router {
    Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/health/ready/{check}", get(health::ready_one))
        .route("/health/status", get(health::status))
        .route("/health/metrics", get(health::counters))
        .route("/metrics", get(prometheus_metrics))
        .merge(admin::routes(&daemon))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&daemon), track))
        .with_state(daemon)
}

/// Serve `router` on `listener` until `shutdown`, recording each client's
/// address (the admin routes rate-limit and log by source).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

/// Only `/metrics`, for a separate listener (`metrics_listen`).
pub fn metrics_router(daemon: Arc<Daemon>) -> Router {
    Router::new()
        .route("/metrics", get(prometheus_metrics))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&daemon), track))
        .with_state(daemon)
}

/// The Prometheus text exposition.
async fn prometheus_metrics(State(daemon): State<Arc<Daemon>>) -> Response {
    let body = daemon.metrics.render(&daemon);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

/// Count and time every request by its matched route (bounded labels).
async fn track(State(daemon): State<Arc<Daemon>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = match *request.method() {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        _ => "other",
    };
    let started = Instant::now();
    let response = next.run(request).await;
    daemon.metrics.http_request(&route, method, response.status().as_u16(), started.elapsed());
    response
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
