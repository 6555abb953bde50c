//! Cold start of the daemon with the bundled plugins, with an empty and with
//! a warm artifact cache, and the RSS of the idle daemon. Start-up is timed
//! from spawn until `/health/status` shows every bundled check with a result.
//!
//! `cargo bench -p vigil-host --bench startup` (set `VIGIL_BENCH_RUNS`, default 5).

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};

use std::time::{Duration, Instant};
use support::{Daemon, free_port};

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

fn status(port: u16) -> Option<serde_json::Value> {
    support::get(port, "/health/status").map(|(_, body)| body)
}

fn all_checks_ran(body: &serde_json::Value) -> bool {
    body["plugins"]
        .as_array()
        .is_some_and(|plugins| plugins.iter().filter(|p| p["kind"] == "check").all(|p| p["runs"].as_u64() >= Some(1)))
}

/// Start the daemon and return it with the time until all checks reported.
fn start(cache: &std::path::Path) -> (Daemon, Duration) {
    let port = free_port();
    let started = Instant::now();
    let child = Command::new(VIGIL)
        .args(["run", "--listen", &format!("127.0.0.1:{port}"), "--log-level", "warn", "--cache-dir"])
        .arg(cache)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("vigil starts");
    let daemon = Daemon(child);
    loop {
        if status(port).is_some_and(|body| all_checks_ran(&body)) {
            return (daemon, started.elapsed());
        }
        assert!(started.elapsed() < Duration::from_secs(120), "daemon did not become ready");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<40} min {:>8.1} ms  median {:>8.1} ms  max {:>8.1} ms  (n={})",
        ms(samples[0]),
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() - 1]),
        samples.len()
    );
}

fn main() {
    // `cargo test --benches` runs bench binaries with no arguments meant for us; stay quick there.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let runs: usize = std::env::var("VIGIL_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let mut cold = Vec::new();
    for _ in 0..runs {
        let cache = tempfile::tempdir().expect("temp dir");
        cold.push(start(cache.path()).1);
    }
    let warm_cache = tempfile::tempdir().expect("temp dir");
    drop(start(warm_cache.path()));
    let mut warm = Vec::new();
    for _ in 0..runs {
        warm.push(start(warm_cache.path()).1);
    }
    summary("start-up, empty artifact cache", cold);
    summary("start-up, warm artifact cache", warm);

    let (daemon, _) = start(warm_cache.path());
    std::thread::sleep(Duration::from_secs(3));
    let (rss, peak) = rss_kib(daemon.0.id());
    println!("idle daemon RSS after 3 s: {:.1} MiB (peak {:.1} MiB)", rss as f64 / 1024.0, peak as f64 / 1024.0);
}
