//! A probe port that slow clients cannot hold: a thousand connections that
//! send half a request head and wait are closed after `header_read_timeout`,
//! probes keep answering while they wait, and a connection beyond
//! `max_connections` is closed at once and counted.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use vigil_tests::process::VigilProcess;
use vigil_tests::{http_request, wait_until};

/// Connections a test may hold, within this process's open-files limit.
fn holdable(wanted: usize) -> usize {
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        })
        .unwrap_or(1024usize);
    wanted.min(limit.saturating_sub(200))
}

fn config(dir: &std::path::Path, http: &str) -> std::path::PathBuf {
    let path = dir.join("vigil.toml");
    std::fs::write(&path, format!("bundled_plugins = false\n[http]\n{http}\n")).expect("config");
    path
}

/// Whether the server closed `stream` (a read returns end of file or an error).
fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.read(&mut byte), Ok(0) | Err(_))
}

#[test]
fn half_sent_requests_cannot_hold_the_probe_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), "header_read_timeout = \"2s\"");
    let vigil = VigilProcess::start(&[], Some(&config), &[]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");

    let count = holdable(1000);
    let mut slow: Vec<TcpStream> = (0..count)
        .map(|_| {
            let mut stream = TcpStream::connect(vigil.addr).expect("connect");
            stream.write_all(b"GET /health/live HTTP/1.1\r\nHost: vigil\r\n").expect("half a head");
            stream
        })
        .collect();

    // While they wait, probes are answered (the slowest of twenty is reported).
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        let answer = runtime.block_on(http_request(vigil.addr, "GET", "/health/live", &[])).expect("a probe answers");
        assert_eq!(answer.status, 200);
        slowest = slowest.max(started.elapsed());
    }
    println!("{count} half-sent requests held: slowest of 20 probes {slowest:?}");

    // After the timeout every one of them is closed by the server.
    for stream in &mut slow {
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    }
    let started = Instant::now();
    assert!(slow.iter_mut().all(closed), "a half-sent request was kept open");
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
