//! The HTTP server: health routes over the daemon's stored results.
//!
//! Handlers only read snapshots; a probe never triggers a check, so a probe
//! storm cannot reach the platform's databases. Errors are JSON with a
//! message and never carry internals.

mod health;
mod health_json;
mod query;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub use health::{LIVENESS_GRACE, worst};

use crate::daemon::Daemon;

/// The application's routes.
pub fn router(daemon: Arc<Daemon>) -> Router {
    Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/health/ready/{check}", get(health::ready_one))
        .route("/health/status", get(health::status))
        .route("/health/metrics", get(health::counters))
        .fallback(not_found)
        .with_state(daemon)
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
