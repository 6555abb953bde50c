//! The probes' own path. A kubelet, a load balancer or a sidecar asks
//! `GET /health/live` and `GET /health/ready` many times a second, with no
//! query; those requests are answered before routing, by the same
//! functions the routes call, and counted under the same labels. Routing
//! them through axum (path match, matched-path and client-address
//! extensions, the boxed route service, the counting layer, extractors)
//! cost them about a tenth of their throughput. Every other request,
//! `HEAD` and any query included, goes through the router.

use std::sync::Arc;
use std::time::Instant;

use axum::http::{Method, Request};
use axum::response::Response;

use super::cache::Conditions;
use super::health;
use crate::daemon::Daemon;
use crate::metrics::http::{HttpStats, method_index, route_id};

/// Answers plain probes of one daemon.
pub struct Probes {
    daemon: Arc<Daemon>,
    stats: Arc<HttpStats>,
    /// The route ids the router's counting layer gives these paths.
    live: u32,
    ready: u32,
}

impl Probes {
    /// The probes of `daemon`, counted in its HTTP statistics.
    pub fn new(daemon: Arc<Daemon>) -> Self {
        let stats = Arc::clone(daemon.metrics.http());
        Self { daemon, stats, live: route_id("/health/live"), ready: route_id("/health/ready") }
    }

    /// The answer to `request` when it is a plain probe; `None` sends it to
    /// the router.
    pub fn answer<B>(&self, request: &Request<B>) -> Option<Response> {
        if request.method() != Method::GET || request.uri().query().is_some() {
            return None;
        }
        let started = Instant::now();
        let (route, response) = match request.uri().path() {
            "/health/ready" => {
                (self.ready, health::ready_answer(&self.daemon, false, &Conditions::of(request.headers())))
            }
            "/health/live" => (self.live, health::live_answer(&self.daemon)),
            _ => return None,
        };
        self.stats.record(route, method_index(&Method::GET), response.status().as_u16(), started.elapsed());
        Some(response)
    }
}
