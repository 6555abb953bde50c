//! Closing connections that hold the port without a request in progress:
//! a half-sent request head, a slow client, or a kept-alive connection left
//! idle, for longer than `[http] header_read_timeout`.
//!
//! hyper can time the head itself, but it boxes and registers a timer for
//! every request a kept-alive connection makes, which cost probes about 5%
//! of their throughput. Here a request costs a few uncontended atomic
//! operations: each connection notes when it last became idle (accepted,
//! or its answer sent), on a coarse clock that one sweeper task per
//! listener advances. The sweeper closes the connections idle too long:
//! their reads end, so hyper sees the client's end of stream, and their
//! writes fail, so an answer its client stopped reading is dropped.
//!
//! A connection is busy from the moment its request head is parsed until
//! its answer's body is dropped (handed to hyper whole, or abandoned), so a
//! long answer (the `/health/events` stream) is never cut; bytes still
//! going out after that count as activity, so a client reading slowly is
//! not idle, one that stopped reading is. The close comes between
//! `timeout` and `timeout` plus two sweeps, never before.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// The sweeper's shared state: its clock and the connections it watches.
pub struct Watch {
    /// Milliseconds since the sweeper started, as of its last sweep.
    clock: AtomicU64,
    /// Every connection accepted since the last sweep, and every one still open.
    connections: Mutex<Vec<Weak<Connection>>>,
    timeout: Duration,
    sweep: Duration,
}

/// One connection's state, shared by its reads, its answers and the sweeper.
#[derive(Debug)]
pub struct Connection {
    /// The watch's clock is read when an answer ends.
    watch: Arc<Watch>,
    /// Requests whose head was read and whose answer is not yet sent.
    busy: AtomicU32,
    /// The watch's clock when the connection last had nothing in progress.
    idle_since: AtomicU64,
    /// Set by the sweeper: reads end from now on.
    closed: AtomicBool,
    /// The task reading the connection, woken when it is closed.
    reader: AtomicWaker,
}

impl Watch {
    /// A watch closing connections idle longer than `timeout`, counting them
    /// in `metrics`; its sweeper runs until `stop`.
    pub fn start(timeout: Duration, metrics: Arc<Metrics>, stop: CancellationToken) -> Arc<Self> {
        let watch = Arc::new(Self::new(timeout));
        let sweeper = Arc::clone(&watch);
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let mut ticks = tokio::time::interval(sweeper.sweep);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = stop.cancelled() => break,
                }
                let closed = sweeper.sweep_at(millis(started.elapsed()));
                if closed > 0 {
                    metrics.http_connections_timed_out(closed);
                    tracing::debug!(closed, "closed connections idle longer than the header read timeout");
                }
            }
        });
        watch
    }

    fn new(timeout: Duration) -> Self {
        // Coarse enough to cost nothing, fine enough that the close comes
        // soon after the timeout: a twentieth of it, within 10 ms to 1 s.
        let sweep = (timeout / 20).clamp(Duration::from_millis(10), Duration::from_secs(1));
        Self { clock: AtomicU64::new(0), connections: Mutex::new(Vec::new()), timeout, sweep }
    }

    /// Watch a new connection, idle from now.
    pub fn watch(self: &Arc<Self>) -> Arc<Connection> {
        let connection = Arc::new(Connection {
            watch: Arc::clone(self),
            busy: AtomicU32::new(0),
            idle_since: AtomicU64::new(self.clock.load(Ordering::Relaxed)),
            closed: AtomicBool::new(false),
            reader: AtomicWaker::new(),
        });
        self.connections.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(Arc::downgrade(&connection));
        connection
    }

    /// Advance the clock to `now` (milliseconds) and close the connections
    /// idle too long; forget the ones that ended. Returns how many it closed.
    fn sweep_at(&self, now: u64) -> u64 {
        self.clock.store(now, Ordering::Relaxed);
        // The clock lags real time by up to a sweep, so an idle start read
        // from it may be early by that much: allow one sweep more.
        let limit = millis(self.timeout + self.sweep);
        let mut closed = 0;
        let mut connections = self.connections.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        connections.retain(|weak| {
            let Some(connection) = weak.upgrade() else { return false };
            if connection.busy.load(Ordering::Acquire) == 0
                && now.saturating_sub(connection.idle_since.load(Ordering::Relaxed)) >= limit
                && !connection.closed.swap(true, Ordering::AcqRel)
            {
                connection.reader.wake();
                closed += 1;
            }
            true
        });
        closed
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Connection {
    /// A request's head was read: busy until the returned guard (carried by
    /// its answer's body) is dropped.
    pub fn begin(self: &Arc<Self>) -> Answering {
        self.busy.fetch_add(1, Ordering::AcqRel);
        Answering { connection: Arc::clone(self) }
    }

    /// Whether the sweeper closed this connection.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closed, and no answer in progress: reads end and writes fail. (A
    /// request that began as the sweeper closed the connection is answered
    /// first; then the connection ends.)
    fn ended(&self) -> bool {
        self.is_closed() && self.busy.load(Ordering::Acquire) == 0
    }

    /// Bytes went out: a client still reading is not idle.
    fn progressed(&self) {
        self.idle_since.store(self.watch.clock.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// A request in progress; when dropped its connection is idle again.
#[derive(Debug)]
pub struct Answering {
    connection: Arc<Connection>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        let now = self.connection.watch.clock.load(Ordering::Relaxed);
        self.connection.idle_since.store(now, Ordering::Relaxed);
        self.connection.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

pin_project_lite::pin_project! {
    /// A stream whose reads end once its connection is closed by the watch.
    pub struct Watched<S> {
        #[pin]
        io: S,
        connection: Arc<Connection>,
    }
}

impl<S> Watched<S> {
    /// Wrap `io`, read on behalf of `connection`.
    pub fn new(io: S, connection: Arc<Connection>) -> Self {
        Self { io, connection }
    }
}

impl<S: AsyncRead> AsyncRead for Watched<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        if this.connection.ended() {
            return Poll::Ready(Ok(()));
        }
        match this.io.poll_read(cx, buf) {
            Poll::Pending => pending_unless(this.connection, cx, || Ok(())),
            ready => ready,
        }
    }
}

/// `Pending`, with the task woken when the sweeper closes the connection;
/// `ended` instead if it already has (the wake may have gone to an earlier
/// waker).
fn pending_unless<T>(connection: &Connection, cx: &Context<'_>, ended: impl FnOnce() -> T) -> Poll<T> {
    connection.reader.register(cx.waker());
    if connection.ended() { Poll::Ready(ended()) } else { Poll::Pending }
}

/// A write to a connection the sweeper ended: its client stopped reading an
/// answer for longer than the timeout.
fn stalled() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the client read nothing for longer than the header read timeout")
}

/// A write through `write`, failing once the connection ended; bytes that
/// went out count as activity.
fn watched_write(
    connection: &Connection,
    cx: &mut Context<'_>,
    write: impl FnOnce(&mut Context<'_>) -> Poll<io::Result<usize>>,
) -> Poll<io::Result<usize>> {
    if connection.ended() {
        return Poll::Ready(Err(stalled()));
    }
    match write(cx) {
        Poll::Pending => pending_unless(connection, cx, || Err(stalled())),
        ready => {
            connection.progressed();
            ready
        }
    }
}

impl<S: AsyncWrite> AsyncWrite for Watched<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.project();
        watched_write(this.connection, cx, |cx| this.io.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        watched_write(this.connection, cx, |cx| this.io.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        if this.connection.ended() {
            return Poll::Ready(Err(stalled()));
        }
        match this.io.poll_flush(cx) {
            Poll::Pending => pending_unless(this.connection, cx, || Err(stalled())),
            ready => ready,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(2);

    fn sweep_ms(watch: &Watch) -> u64 {
        millis(watch.sweep)
    }

    #[test]
    fn an_idle_connection_is_closed_after_the_timeout_and_not_before() {
        let watch = Arc::new(Watch::new(TIMEOUT));
        let connection = watch.watch();
        let limit = millis(TIMEOUT) + sweep_ms(&watch);
        assert_eq!(watch.sweep_at(limit - 1), 0);
        assert!(!connection.is_closed());
        assert_eq!(watch.sweep_at(limit), 1);
        assert!(connection.is_closed());
        // Closed once: a later sweep does not count it again.
        assert_eq!(watch.sweep_at(limit * 2), 0);
    }

    #[test]
    fn a_connection_answering_is_never_closed_and_idles_from_its_answer() {
        let watch = Arc::new(Watch::new(TIMEOUT));
        let connection = watch.watch();
        let answering = connection.begin();
        let limit = millis(TIMEOUT) + sweep_ms(&watch);
        assert_eq!(watch.sweep_at(limit * 10), 0, "a long answer (an event stream) was cut");
        drop(answering);
        assert_eq!(watch.sweep_at(limit * 11 - 1), 0, "closed before the timeout counted from the answer");
        assert_eq!(watch.sweep_at(limit * 11), 1);
    }

    #[test]
    fn ended_connections_are_forgotten() {
        let watch = Arc::new(Watch::new(TIMEOUT));
        let kept = watch.watch();
        drop(watch.watch());
        watch.sweep_at(1);
        assert_eq!(watch.connections.lock().map(|c| c.len()).unwrap_or_default(), 1);
        drop(kept);
    }

    #[tokio::test]
    async fn a_closed_connection_reads_end_of_stream_and_its_reader_wakes() {
        use tokio::io::AsyncReadExt as _;
        let watch = Arc::new(Watch::new(TIMEOUT));
        let connection = watch.watch();
        // A client that sent half a head and waits.
        let (mut client, server) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut client, b"GET / HTTP/1.1\r\n").await.expect("write");
        let mut reader = Watched::new(server, Arc::clone(&connection));
        let read = tokio::spawn(async move {
            let mut all = Vec::new();
            reader.read_to_end(&mut all).await.map(|_| all)
        });
        tokio::task::yield_now().await;
        assert_eq!(watch.sweep_at(millis(TIMEOUT) * 2), 1);
        let read = tokio::time::timeout(Duration::from_secs(10), read).await.expect("the reader woke");
        assert_eq!(read.expect("joined").expect("read").as_slice(), b"GET / HTTP/1.1\r\n".as_slice());
        drop(client);
    }

    #[test]
    fn a_request_begun_as_the_sweeper_closes_is_answered_first() {
        let watch = Arc::new(Watch::new(TIMEOUT));
        let connection = watch.watch();
        assert_eq!(watch.sweep_at(millis(TIMEOUT) * 2), 1);
        // The head had arrived as the sweeper looked.
        let answering = connection.begin();
        assert!(!connection.ended(), "reads would end under a request in progress");
        drop(answering);
        assert!(connection.ended());
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_is_closed_and_one_still_reading_is_not() {
        use tokio::io::AsyncWriteExt as _;
        let watch = Arc::new(Watch::new(TIMEOUT));
        let limit = millis(TIMEOUT) + sweep_ms(&watch);
        let connection = watch.watch();
        let (mut client, server) = tokio::io::duplex(64);
        let mut writer = Watched::new(server, Arc::clone(&connection));
        // Bytes that went out at 1 s count as activity then.
        assert_eq!(watch.sweep_at(1000), 0);
        writer.write_all(b"HTTP/1.1 200 OK\r\n").await.expect("write");
        assert_eq!(watch.sweep_at(limit + 999), 0, "closed while it was reading");
        // Now the client reads nothing: what fits goes out (activity at
        // this sweep's clock), the rest of the answer cannot.
        let last = limit + 999;
        let stuck = tokio::spawn(async move { writer.write_all(&[b'x'; 4096]).await });
        tokio::task::yield_now().await;
        assert_eq!(watch.sweep_at(last + limit - 1), 0);
        assert_eq!(watch.sweep_at(last + limit), 1);
        let written = tokio::time::timeout(Duration::from_secs(10), stuck).await.expect("the writer woke");
        let err = written.expect("joined").expect_err("a write to a client that stopped reading failed");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        let mut read = Vec::new();
        drop(tokio::io::AsyncReadExt::read_buf(&mut client, &mut read).await);
    }
}
