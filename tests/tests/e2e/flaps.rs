//! Dependency flaps (the start of the reliability suite): a real Redis killed
//! and restarted ten times under a running `vigil run`. Each time the cache
//! check follows (degraded while Redis is gone, optimal once it is back),
//! the daemon keeps serving, and its open file descriptors (counted from
//! /proc) do not grow.

use std::time::{Duration, Instant};

use vigil_tests::process::VigilProcess;
use vigil_tests::services::{RedisServer, skip_unless_installed};

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn redis_flaps_are_followed_without_leaks() {
    if skip_unless_installed(&["redis-server"]) {
        return;
    }
    let mut redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("vigil.toml");
    let mut text = format!("[endpoints]\nredis_url = \"{}\"\ncall_timeout = \"300ms\"\n", redis.url());
    text.push_str("[plugins.cache-backend]\ninterval = \"200ms\"\ntimeout = \"1s\"\n");
    for other in [
        "session-storage",
        "database",
        "security-tools",
        "scf-baseline",
        "python-deps",
        "stuck-scans",
        "vulnerability-sync",
        "compliance-freshness",
    ] {
        text.push_str(&format!("[plugins.{other}]\nenabled = false\n"));
    }
    std::fs::write(&config, text).expect("config");
    let vigil = VigilProcess::start(&[], Some(&config), &[]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    let mode = || -> String {
        runtime
            .block_on(vigil_tests::http_request(vigil.addr, "GET", "/health/status", &[]))
            .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok())
            .and_then(|s| {
                s["plugins"].as_array()?.iter().find(|p| p["name"] == "cache-backend")?["result"]["mode"]
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    };
    // One interval plus the call timeout and the reconnect back-off, with room for a loaded machine.
    let follow = |want: &str| -> Duration {
        let started = Instant::now();
        while mode() != want {
            assert!(started.elapsed() < Duration::from_secs(30), "the cache check did not report {want} within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        started.elapsed()
    };

    follow("redis");
    let baseline = open_fds(vigil.pid());
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        redis.stop();
        slowest = slowest.max(follow("in-memory"));
        redis.restart();
        slowest = slowest.max(follow("redis"));
    }
    eprintln!("slowest transition after a flap: {slowest:?}");
    let after = open_fds(vigil.pid());
    // Connections are re-established, not accumulated: a few may be in flight.
    assert!(after <= baseline + 4, "open fds grew from {baseline} to {after} over ten flaps");
    vigil.stop();
}
