//! Reload under load: the daemon serves `/health/ready`, `/health/status`
//! and `/metrics` to a constant load (16 keep-alive clients) for
//! `VIGIL_BENCH_SECONDS` (default 30) without reloads, then as long again
//! while a plugin is replaced every second. Reports requests, responses
//! other than 200 (must be zero), p50/p99 latency in both phases, and the
//! time from change to swap with a warm artifact cache (versions already
//! compiled) and a cold one (a new component each time).
//!
//! `cargo bench -p vigil-tests --bench reload`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use vigil_host::config::DaemonConfig;
use vigil_host::daemon::Daemon;
use vigil_tests::{PluginDir, fixtures};

const ROUTES: &[&str] = &["/health/ready", "/health/status", "/metrics"];
const CLIENTS: usize = 16;

struct Phase {
    latencies: Vec<Duration>,
    unexpected: usize,
}

async fn load(addr: std::net::SocketAddr, stop: Arc<AtomicBool>) -> Phase {
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let stop = Arc::clone(&stop);
        clients.spawn(async move {
            let http = reqwest::Client::new();
            let mut latencies = Vec::new();
            let mut unexpected = 0;
            let mut i = client;
            while !stop.load(Ordering::Relaxed) {
                let url = format!("http://{addr}{}", ROUTES[i % ROUTES.len()]);
                i += 1;
                let started = Instant::now();
                match http.get(&url).send().await {
                    Ok(response) if response.status() == 200 => {
                        let _ = response.bytes().await;
                        latencies.push(started.elapsed());
                    }
                    _ => unexpected += 1,
                }
            }
            (latencies, unexpected)
        });
    }
    let mut phase = Phase { latencies: Vec::new(), unexpected: 0 };
    while let Some(Ok((latencies, unexpected))) = clients.join_next().await {
        phase.latencies.extend(latencies);
        phase.unexpected += unexpected;
    }
    phase.latencies.sort();
    phase
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1e3
}

fn report(name: &str, phase: &Phase, seconds: u64) {
    println!(
        "{name}: {} requests ({:.0}/s), {} not 200, p50 {:.2} ms, p99 {:.2} ms",
        phase.latencies.len() + phase.unexpected,
        phase.latencies.len() as f64 / seconds as f64,
        phase.unexpected,
        percentile(&phase.latencies, 0.50),
        percentile(&phase.latencies, 0.99)
    );
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let seconds: u64 = std::env::var("VIGIL_BENCH_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    tokio.block_on(async {
        let dir = PluginDir::new();
        for name in ["steady-a", "steady-b", "swapped"] {
            dir.misbehaving(name, "ok", "2s", "interval = \"1s\"");
        }
        let cache = tempfile::tempdir().expect("cache");
        let config = DaemonConfig {
            bundled_plugins: false,
            plugin_dirs: vec![dir.path().to_path_buf()],
            cache_dir: Some(cache.path().to_path_buf()),
            ..DaemonConfig::default()
        };
        let daemon = Daemon::start(config).await.expect("daemon");
        let shutdown = CancellationToken::new();
        daemon.spawn_tasks(&shutdown);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (limits, metrics) = (daemon.config.load().http.clone(), Arc::clone(&daemon.metrics));
        let app = vigil_host::server::app(Arc::clone(&daemon));
        let stop = shutdown.clone();
        tokio::spawn(async move { vigil_host::server::serve(listener, app, stop, &limits, metrics).await });

        // Phase 1: load only.
        let stop = Arc::new(AtomicBool::new(false));
        let running = tokio::spawn(load(addr, Arc::clone(&stop)));
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let quiet = running.await.expect("load");

        // Phase 2: load while `swapped` is replaced every second, alternating
        // warm (two versions, compiled once) and cold (a new component) swaps.
        let base = std::fs::read(fixtures::CHECK_MISBEHAVE).expect("fixture");
        let component = dir.path().join("swapped/plugin.wasm");
        let stop = Arc::new(AtomicBool::new(false));
        let running = tokio::spawn(load(addr, Arc::clone(&stop)));
        let (mut warm, mut cold) = (Vec::new(), Vec::new());
        let mut failures = 0;
        for round in 0..seconds {
            let tick = Instant::now();
            let is_cold = round % 2 == 1;
            let bytes = if is_cold { vigil_tests::component_variant(&base, 1000 + round) } else { vigil_tests::component_variant(&base, round % 4 / 2) };
            std::fs::write(&component, bytes).expect("write component");
            let changed = Instant::now();
            let report = daemon.reload("bench", changed).await;
            if report.replaced != ["swapped"] {
                failures += 1;
            }
            let took = changed.elapsed();
            if is_cold { cold.push(took) } else { warm.push(took) }
            tokio::time::sleep(Duration::from_secs(1).saturating_sub(tick.elapsed())).await;
        }
        stop.store(true, Ordering::Relaxed);
        let reloading = running.await.expect("load");

        report("without reloads", &quiet, seconds);
        report("replacing a plugin every second", &reloading, seconds);
        warm.sort();
        cold.sort();
        println!(
            "change to swap: warm cache median {:.1} ms (max {:.1}), cold cache median {:.1} ms (max {:.1}); {} of {seconds} reloads did not swap",
            percentile(&warm, 0.5),
            percentile(&warm, 1.0),
            percentile(&cold, 0.5),
            percentile(&cold, 1.0),
            failures
        );
        shutdown.cancel();
    });
}
