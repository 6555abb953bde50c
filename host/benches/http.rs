//! HTTP throughput of the health routes under `wrk` (2 threads, 64
//! connections), served by Vigil's own accept loop, against a minimal axum
//! handler served by the same process in the same run, as a ratio.
//!
//! Two more rows split the difference: the minimal handler behind Vigil's
//! accept loop (its connection watch and cap), and Vigil's `/health/ready`
//! through the router behind `axum::serve` (without the probes' own path).
//!
//! `cargo bench -p vigil-host --bench http` (needs `wrk`; `VIGIL_BENCH_SECONDS`, default 10;
//! `VIGIL_BENCH_ROUTES=ready` runs only the rows whose name holds `ready`).

use std::process::Command;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use vigil_host::config::DaemonConfig;
use vigil_host::daemon::Daemon;
use vigil_host::{scheduler, server};

/// The allocator the `vigil` binary uses, so the numbers are its numbers.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    let (vigil, minimal, minimal_limited, vigil_plain) = tokio.block_on(async {
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
        let bind = || async { tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind") };
        let (vigil, minimal, minimal_limited, vigil_plain) = (bind().await, bind().await, bind().await, bind().await);
        let addr = |l: &tokio::net::TcpListener| l.local_addr().expect("addr");
        let addrs = (addr(&vigil), addr(&minimal), addr(&minimal_limited), addr(&vigil_plain));
        let limits = daemon.config.load().http.clone();
        let stop = tokio_util::sync::CancellationToken::new();
        let bare = || Router::new().route("/", get(|| async { "ok" }));
        let serve = |listener, app: server::App| {
            let (limits, stop, metrics) = (limits.clone(), stop.clone(), Arc::clone(&daemon.metrics));
            tokio::spawn(async move { server::serve(listener, app, stop, &limits, metrics).await })
        };
        serve(vigil, server::app(Arc::clone(&daemon)));
        serve(minimal_limited, bare().into());
        tokio::spawn(axum::serve(minimal, bare()).into_future());
        tokio::spawn(axum::serve(vigil_plain, server::router(Arc::clone(&daemon))).into_future());
        addrs
    });
    // Each route right after a run of the minimal handler, and its ratio to
    // that run, in several rounds; the median ratio is the figure.
    // Throughput on this machine drifts by 20 % over a minute, so a ratio
    // to a baseline measured once at the start would mostly measure drift.
    let routes = [
        ("/health/ready", format!("http://{vigil}/health/ready")),
        ("/health/live", format!("http://{vigil}/health/live")),
        ("/health/status", format!("http://{vigil}/health/status")),
        ("/metrics", format!("http://{vigil}/metrics")),
        ("minimal, Vigil's loop", format!("http://{minimal_limited}/")),
        ("ready, axum::serve", format!("http://{vigil_plain}/health/ready")),
    ];
    let only = std::env::var("VIGIL_BENCH_ROUTES").unwrap_or_default();
    let rounds: usize = std::env::var("VIGIL_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3).max(1);
    println!(
        "{:<24} {:>12} {:>10} {:>8} {:>12} {:>7}  (each round)",
        "route", "requests/s", "p99", "errors", "minimal r/s", "ratio"
    );
    for (name, url) in routes.iter().filter(|(name, _)| name.contains(only.as_str())) {
        let mut pairs: Vec<(Run, Run)> = (0..rounds)
            .map(|_| (wrk("minimal axum handler", &format!("http://{minimal}/"), seconds), wrk(name, url, seconds)))
            .collect();
        let ratio = |(baseline, run): &(Run, Run)| run.requests_per_second / baseline.requests_per_second.max(1.0);
        let each: Vec<String> = pairs.iter().map(|p| format!("{:.2}", ratio(p))).collect();
        pairs.sort_by(|a, b| ratio(a).total_cmp(&ratio(b)));
        let (baseline, run) = &pairs[pairs.len() / 2];
        println!(
            "{:<24} {:>12.0} {:>10} {:>8} {:>12.0} {:>7.2}  ({})",
            run.name,
            run.requests_per_second,
            run.p99,
            pairs.iter().map(|(b, r)| b.errors + r.errors).sum::<u64>(),
            baseline.requests_per_second,
            ratio(&pairs[pairs.len() / 2]),
            each.join(" ")
        );
    }
}
