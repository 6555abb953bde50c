//! Accepting connections with limits (`[http]`): a client gets
//! `header_read_timeout` to send a request's head (also the idle time a
//! keep-alive connection may sit), a head of at most `max_header_bytes`, and
//! a place among `max_connections`; a connection beyond that is closed as
//! soon as it is accepted and counted. So half-sent requests, slow clients
//! and idle connections cannot use up the descriptors the probes need.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt as _;

use crate::config::HttpConfig;
use crate::metrics::Metrics;

/// How long connections in flight may finish after shutdown.
const GRACE: Duration = Duration::from_secs(5);

/// Serve `router` on `listener` until `shutdown`, within `limits`; each
/// request carries its client's address (the admin routes rate-limit and log
/// by source).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: CancellationToken,
    limits: &HttpConfig,
    metrics: Arc<Metrics>,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes)
        .keep_alive(true);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let connections = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors, or a connection reset before accept:
                // keep serving the others.
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            metrics.http_connection_refused();
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = router.clone().map_request(move |request: hyper::Request<hyper::body::Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let (shutdown, metrics) = (shutdown.clone(), Arc::clone(&metrics));
        metrics.http_connection_opened();
        connections.spawn(async move {
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            metrics.http_connection_closed();
            drop(slot);
        });
    }
    connections.close();
    if tokio::time::timeout(GRACE, connections.wait()).await.is_err() {
        tracing::warn!(open = connections.len(), "connections still open after the shutdown grace; closing them");
    }
    Ok(())
}
