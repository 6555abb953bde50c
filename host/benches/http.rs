//! HTTP throughput of the health routes under `wrk` (2 threads, 64
//! connections), served by Vigil's own accept loop, against a minimal axum
//! handler served by the same process in the same run, as a ratio.
//!
//! `cargo bench -p vigil-host --bench http` (needs `wrk`; `VIGIL_BENCH_SECONDS`, default 10).

use std::process::Command;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use vigil_host::config::DaemonConfig;
use vigil_host::daemon::Daemon;
use vigil_host::{scheduler, server};

struct Run {
    name: &'static str,
    requests_per_second: f64,
    p99: String,
    errors: u64,
}

fn wrk(name: &'static str, url: &str, seconds: u64) -> Run {
    let output = Command::new("wrk")
        .args(["-t2", "-c64", &format!("-d{seconds}s"), "--latency", url])
        .output()
        .expect("wrk runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |prefix: &str| {
        text.lines().find_map(|l| l.trim().strip_prefix(prefix).map(|rest| rest.trim().to_owned())).unwrap_or_default()
    };
    let errors =
        field("Non-2xx or 3xx responses:").parse().unwrap_or(0) + if text.contains("Socket errors") { 1 } else { 0 };
    Run { name, requests_per_second: field("Requests/sec:").parse().unwrap_or(0.0), p99: field("99%"), errors }
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("skipped: wrk is not installed (apt-get install wrk)");
        return;
    }
    let seconds: u64 = std::env::var("VIGIL_BENCH_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    let cache = tempfile::tempdir().expect("temp dir");
    let (vigil, minimal) = tokio.block_on(async {
        // Readiness on a check that passes, so the measured path is the 200 one.
        let config = DaemonConfig {
            cache_dir: Some(cache.path().to_path_buf()),
            critical_checks: Some(vec!["cache-backend".into()]),
            ..DaemonConfig::default()
        };
        let daemon = Daemon::start(config).await.expect("daemon");
        for plugin in daemon.plugins.load().plugins.iter() {
            scheduler::run_once(plugin, &daemon.results).await;
        }
        let vigil = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let minimal = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addrs = (vigil.local_addr().expect("addr"), minimal.local_addr().expect("addr"));
        let limits = daemon.config.load().http.clone();
        let (router, metrics) = (server::router(Arc::clone(&daemon)), Arc::clone(&daemon.metrics));
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(async move { server::serve(vigil, router, stop, &limits, metrics).await });
        tokio::spawn(axum::serve(minimal, Router::new().route("/", get(|| async { "ok" }))).into_future());
        addrs
    });
    let runs = [
        wrk("minimal axum handler", &format!("http://{minimal}/"), seconds),
        wrk("/health/ready", &format!("http://{vigil}/health/ready"), seconds),
        wrk("/health/status", &format!("http://{vigil}/health/status"), seconds),
        wrk("/metrics", &format!("http://{vigil}/metrics"), seconds),
    ];
    let baseline = runs[0].requests_per_second.max(1.0);
    println!("{:<24} {:>12} {:>10} {:>8} {:>7}", "route", "requests/s", "p99", "errors", "ratio");
    for run in &runs {
        println!(
            "{:<24} {:>12.0} {:>10} {:>8} {:>7.2}",
            run.name,
            run.requests_per_second,
            run.p99,
            run.errors,
            run.requests_per_second / baseline
        );
    }
}
