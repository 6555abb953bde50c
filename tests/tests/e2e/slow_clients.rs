//! A probe port that slow clients cannot hold: a thousand connections that
//! send half a request head and wait are closed after `header_read_timeout`,
//! probes keep answering while they wait, and a connection beyond
//! `max_connections` is closed at once and counted.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use vigil_tests::process::VigilProcess;
use vigil_tests::{http_request, wait_until};

/// Connections a test may hold, within this process's open-files limit
/// (raised to its hard limit first, as the daemon raises its own).
fn holdable(wanted: usize) -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.maximum.is_some_and(|hard| limit.current.is_some_and(|soft| soft < hard)) {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
    let soft = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    let room = usize::try_from(soft.saturating_sub(200)).unwrap_or(usize::MAX);
    if room < wanted {
        println!("holding {room} connections, not {wanted}: the open-files hard limit is {soft}");
    }
    wanted.min(room)
}

fn config(dir: &std::path::Path, http: &str) -> std::path::PathBuf {
    let path = dir.join("vigil.toml");
    std::fs::write(&path, format!("bundled_plugins = false\n[http]\n{http}\n")).expect("config");
    path
}

/// Whether the server closed `stream`: a read returns end of file or a
/// reset (a read that times out is no close).
fn closed(stream: &mut TcpStream) -> bool {
    use std::io::ErrorKind;
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Err(err) => matches!(err.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted),
        Ok(_) => false,
    }
}

#[test]
fn half_sent_requests_cannot_hold_the_probe_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), "header_read_timeout = \"2s\"");
    let vigil = VigilProcess::start(&[], Some(&config), &[]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");

    let count = holdable(1000);
    let first_sent = Instant::now();
    let mut slow: Vec<TcpStream> = (0..count)
        .map(|_| {
            let mut stream = TcpStream::connect(vigil.addr).expect("connect");
            stream.write_all(b"GET /health/live HTTP/1.1\r\nHost: vigil\r\n").expect("half a head");
            stream
        })
        .collect();

    // While they wait, probes are answered within 10 ms (the median of
    // twenty, each on a new connection; the slowest is reported, since a
    // loaded CI machine can stall any one of them).
    let mut times: Vec<Duration> = (0..20)
        .map(|_| {
            let started = Instant::now();
            let answer =
                runtime.block_on(http_request(vigil.addr, "GET", "/health/live", &[])).expect("a probe answers");
            assert_eq!(answer.status, 200);
            started.elapsed()
        })
        .collect();
    times.sort();
    println!("{count} half-sent requests held: probes took {:?} (median), {:?} (slowest)", times[10], times[19]);
    assert!(times[10] <= Duration::from_millis(10), "probes took {:?} (median)", times[10]);

    // After the timeout, and not before, every one of them is closed.
    for stream in &mut slow {
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    }
    let started = Instant::now();
    assert!(closed(&mut slow[0]), "a half-sent request was kept open");
    let first_closed = first_sent.elapsed();
    assert!(first_closed >= Duration::from_secs(2), "closed {first_closed:?} after it was sent, before the timeout");
    assert!(slow.iter_mut().skip(1).all(closed), "a half-sent request was kept open");
    println!("all {count} closed {:?} after the probes", started.elapsed());
    wait_until(Duration::from_secs(10), "the open-connections gauge to count only the scrape", || {
        gauge(&runtime, &vigil, "vigil_http_connections_open") == Some(1.0)
    });
    let timed_out = gauge(&runtime, &vigil, "vigil_http_connections_timed_out_total");
    assert!(timed_out.is_some_and(|n| n >= count as f64), "{timed_out:?} of {count} counted as timed out");
    vigil.stop();
}

/// Read from `stream` until what was read holds `needle`.
fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut text = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&text).contains(needle) {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => panic!("closed before {needle:?}: {}", String::from_utf8_lossy(&text)),
            Ok(n) => text.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// The timeout counts from the end of a connection's last answer: a
/// kept-alive connection left idle is closed, an answer still being sent
/// (the event stream) is not cut however long it lasts.
#[test]
fn idle_connections_are_closed_and_event_streams_are_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), "header_read_timeout = \"1s\"");
    let vigil = VigilProcess::start(&[], Some(&config), &[]);

    let mut events = TcpStream::connect(vigil.addr).expect("connect");
    events.write_all(b"GET /health/events HTTP/1.1\r\nHost: vigil\r\n\r\n").expect("request");
    read_until(&mut events, "event: hello");
    let mut idle = TcpStream::connect(vigil.addr).expect("connect");
    idle.write_all(b"GET /health/live HTTP/1.1\r\nHost: vigil\r\n\r\n").expect("request");
    read_until(&mut idle, "\"pass\"");

    let answered = Instant::now();
    idle.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    assert!(closed(&mut idle), "the idle connection was kept open");
    let after = answered.elapsed();
    assert!(after >= Duration::from_secs(1), "closed {after:?} after its answer, before the timeout");

    // The stream has outlived the timeout; it stays open for three more.
    events.set_read_timeout(Some(Duration::from_secs(3))).expect("timeout");
    let mut chunk = [0u8; 4096];
    loop {
        match events.read(&mut chunk) {
            Ok(0) => panic!("the event stream was closed"),
            Ok(_) => continue,
            Err(err) => {
                assert!(matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut), "{err}");
                break;
            }
        }
    }
    // Only the idle connection timed out (hyper would keep writing a stream
    // whose reads ended, so the count is what shows it was left alone).
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    assert_eq!(gauge(&runtime, &vigil, "vigil_http_connections_timed_out_total"), Some(1.0));
    vigil.stop();
}

#[test]
fn connections_beyond_the_cap_are_refused_at_once_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), "max_connections = 8\nheader_read_timeout = \"3s\"");
    let vigil = VigilProcess::start(&[], Some(&config), &[]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    // Start-up's readiness poll may still hold a slot for a moment.
    wait_until(Duration::from_secs(10), "the start-up connection to close", || {
        gauge(&runtime, &vigil, "vigil_http_connections_open") == Some(1.0)
    });

    let idle: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(vigil.addr).expect("connect")).collect();
    let mut extra = TcpStream::connect(vigil.addr).expect("the kernel accepts");
    extra.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
    assert!(closed(&mut extra), "the connection over the cap was not closed at once");
    drop(idle);
    wait_until(Duration::from_secs(10), "the refusal to be counted", || {
        gauge(&runtime, &vigil, "vigil_http_connections_refused_total").is_some_and(|n| n >= 1.0)
    });
    vigil.stop();
}

/// The value of an unlabelled series in a scrape (`None` while the scrape
/// itself is refused).
fn gauge(runtime: &tokio::runtime::Runtime, vigil: &VigilProcess, name: &str) -> Option<f64> {
    let scrape = runtime.block_on(http_request(vigil.addr, "GET", "/metrics", &[]))?;
    scrape.body.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Event streams are answers in progress, which the timeout never cuts: at
/// most `MAX_EVENT_STREAMS` are open at once, one more gets 503 at once, and
/// a closed stream frees its place.
#[test]
fn event_streams_are_capped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), "header_read_timeout = \"5s\"");
    let vigil = VigilProcess::start(&[], Some(&config), &[]);
    let open = || {
        let mut stream = TcpStream::connect(vigil.addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        stream.write_all(b"GET /health/events HTTP/1.1\r\nHost: vigil\r\n\r\n").expect("request");
        let head = read_until(&mut stream, "\r\n\r\n");
        (stream, head)
    };
    let mut streams: Vec<TcpStream> = (0..vigil_host::server::MAX_EVENT_STREAMS)
        .map(|i| {
            let (stream, head) = open();
            assert!(head.starts_with("HTTP/1.1 200"), "stream {i}: {head}");
            stream
        })
        .collect();
    let (_, refused) = open();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    drop(streams.pop());
    wait_until(Duration::from_secs(10), "a closed stream to free its place", || open().1.starts_with("HTTP/1.1 200"));
    vigil.stop();
}
