//! Accepting connections with limits (`[http]`): a client gets
//! `header_read_timeout` to send a request's head (also the idle time a
//! keep-alive connection may sit; see [`super::watch`]), a head of at most
//! `max_header_bytes`, and a place among `max_connections`; a connection
//! beyond that is closed as soon as it is accepted and counted. So
//! half-sent requests, slow clients and idle connections cannot use up the
//! descriptors the probes need.

use std::sync::Arc;
use std::time::Duration;

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::{Future, Ready};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::response::Response;
use axum::routing::future::RouteFuture;
use futures_util::future::Either;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::Service as _;

use super::probe::Probes;
use super::watch::{Answering, Connection, Watch, Watched};
use crate::config::HttpConfig;
use crate::metrics::Metrics;

/// How long connections in flight may finish after shutdown.
const GRACE: Duration = Duration::from_secs(5);

/// Serve `router` on `listener` until `shutdown`, within `limits`; each
/// request carries its client's address (the admin routes rate-limit and log
/// by source).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: impl Into<App>,
    shutdown: CancellationToken,
    limits: &HttpConfig,
    metrics: Arc<Metrics>,
) -> std::io::Result<()> {
    let App { router, probes } = app.into();
    let mut http = hyper::server::conn::http1::Builder::new();
    // No hyper timer: the watch times request heads and idle connections.
    http.header_read_timeout(None).max_buf_size(limits.max_header_bytes).keep_alive(true);
    // The sweeper stops with the server, whether shut down or failed.
    let watching = shutdown.child_token();
    let _stop_watching = watching.clone().drop_guard();
    let watch = Watch::start(limits.header_read_timeout, Arc::clone(&metrics), watching);
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
        let watched = watch.watch();
        let service = Serving {
            router: RefCell::new(router.clone()),
            probes: probes.clone(),
            connection: Arc::clone(&watched),
            peer,
        };
        let connection = http.serve_connection(TokioIo::new(Watched::new(stream, watched)), service);
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

/// What a listener serves: a router, and the plain probes it answers before
/// routing (see [`Probes`]).
pub struct App {
    router: Router,
    probes: Option<Arc<Probes>>,
}

impl App {
    /// `router`, with `probes` answered before it.
    pub fn new(router: Router, probes: Probes) -> Self {
        Self { router, probes: Some(Arc::new(probes)) }
    }
}

impl From<Router> for App {
    fn from(router: Router) -> Self {
        Self { router, probes: None }
    }
}

/// One connection's service: the probes, then the router, each request
/// carrying its client's address (the admin routes rate-limit and log by
/// source) and its answer keeping the connection busy for the watch until
/// sent.
struct Serving {
    /// hyper serves one request of a connection at a time; borrowed only
    /// while a request is routed. (Not cloned per request: a clone of the
    /// router touches a counter every connection shares.)
    router: RefCell<Router>,
    probes: Option<Arc<Probes>>,
    connection: Arc<Connection>,
    peer: SocketAddr,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Serving {
    type Response = hyper::Response<Answer>;
    type Error = Infallible;
    type Future = Answered;

    fn call(&self, request: hyper::Request<Incoming>) -> Answered {
        let answering = Some(self.connection.begin());
        if let Some(response) = self.probes.as_deref().and_then(|probes| probes.answer(&request)) {
            return Answered { inner: Either::Left(std::future::ready(Ok(response))), answering };
        }
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        // A `Router`'s `poll_ready` is always ready.
        Answered { inner: Either::Right(self.router.borrow_mut().call(request)), answering }
    }
}

pin_project_lite::pin_project! {
    /// The router's answer, its body given the connection's busy guard.
    struct Answered {
        #[pin]
        inner: Either<Ready<Result<Response, Infallible>>, RouteFuture<Infallible>>,
        answering: Option<Answering>,
    }
}

impl Future for Answered {
    type Output = Result<hyper::Response<Answer>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(response): Result<Response, Infallible> = std::task::ready!(this.inner.poll(cx));
        let answering = this.answering.take();
        Poll::Ready(Ok(response.map(|body| Answer { body, _answering: answering })))
    }
}

pin_project_lite::pin_project! {
    /// An answer's body; the connection is idle again once it is dropped.
    struct Answer {
        #[pin]
        body: Body,
        _answering: Option<Answering>,
    }
}

impl hyper::body::Body for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
