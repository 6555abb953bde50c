//! Counting and timing every request by its matched route, method and
//! status (bounded labels), as a plain tower layer: no boxed future and no
//! allocation per request (the route template is interned once per route,
//! the counts go to the thread's shard: see [`crate::metrics::http`]). The
//! one shared write left is the statistics' reference count, taken by each
//! request's future; plain probes skip this layer ([`super::probe`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use tower::{Layer, Service};

use crate::metrics::http::{HttpStats, method_index, route_id};

/// The layer.
#[derive(Clone)]
pub struct TrackLayer {
    stats: Arc<HttpStats>,
}

impl TrackLayer {
    /// Record into `stats`.
    pub fn new(stats: Arc<HttpStats>) -> Self {
        Self { stats }
    }
}

impl<S> Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track { inner, shared: Arc::new(Shared { stats: Arc::clone(&self.stats), route: OnceLock::new() }) }
    }
}

/// The service: the wrapped one, timed.
#[derive(Clone)]
pub struct Track<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// What every clone of one route's service shares.
struct Shared {
    stats: Arc<HttpStats>,
    /// The route's template id. `Router::layer` wraps each route (and the
    /// fallback) in its own service, so the matched template of the first
    /// request is every request's: interned once, not per request.
    route: OnceLock<u32>,
}

impl<S> Service<Request> for Track<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Tracked<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let route = *self.shared.route.get_or_init(|| {
            route_id(request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str))
        });
        let method = method_index(request.method());
        Tracked {
            inner: self.inner.call(request),
            stats: Arc::clone(&self.shared.stats),
            route,
            method,
            started: Instant::now(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The wrapped service's future; records when it is ready.
    pub struct Tracked<F> {
        #[pin]
        inner: F,
        stats: Arc<HttpStats>,
        route: u32,
        method: u8,
        started: Instant,
    }
}

impl<F, E> Future for Tracked<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = std::task::ready!(this.inner.poll(cx));
        if let Ok(response) = &answer {
            this.stats.record(*this.route, *this.method, response.status().as_u16(), this.started.elapsed());
        }
        Poll::Ready(answer)
    }
}
