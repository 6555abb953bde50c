//! Dependency flaps. A real Redis, a real dockerd and a real Celery worker
//! are killed (SIGKILL) and restarted at random moments under a running
//! `vigil run` whose watchdog keeps finding new drift: the checks follow
//! each change within their interval, the daemon never panics, its
//! descriptors and memory stay flat, and every repair it dispatched ran
//! exactly once by the worker's own record.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use vigil_tests::observe::{Rng, metric_sum, rss_kib, settled_fds};
use vigil_tests::platform::{self, Dependency, Platform, timed};
use vigil_tests::process::VigilProcess;
use vigil_tests::services::{RedisServer, recorded_calls, skip_unless_installed};

fn disable(text: &mut String, plugins: &[&str]) {
    for plugin in plugins {
        text.push_str(&format!("[plugins.{plugin}]\nenabled = false\n"));
    }
}

#[test]
fn redis_flaps_are_followed_without_leaks() {
    if skip_unless_installed(&["redis-server"]) {
        return;
    }
    let mut redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("vigil.toml");
    // Readiness hangs on the cache alone, and a degraded cache is not ready.
    let mut text = format!(
        "critical_checks = [\"cache-backend\"]\nready_on_degraded = false\n[endpoints]\nredis_url = \"{}\"\ncall_timeout = \"300ms\"\n",
        redis.url()
    );
    text.push_str("[plugins.cache-backend]\ninterval = \"200ms\"\ntimeout = \"1s\"\n");
    disable(
        &mut text,
        &[
            "session-storage",
            "database",
            "security-tools",
            "scf-baseline",
            "python-deps",
            "stuck-scans",
            "vulnerability-sync",
            "compliance-freshness",
        ],
    );
    std::fs::write(&config, text).expect("config");
    let vigil = VigilProcess::start(&[], Some(&config), &[]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    // One interval plus the call timeout and the reconnect back-off, with room for a loaded machine.
    let limit = Duration::from_secs(30);
    let cache = |up: bool| {
        timed(&format!("Redis seen up: {up}, and readiness with it"), limit, || {
            let ready = runtime.block_on(vigil_tests::http_request(vigil.addr, "GET", "/health/ready", &[]));
            runtime.block_on(platform::seen(vigil.addr, Dependency::Redis)) == Some(up)
                && ready.is_some_and(|r| r.status == if up { 200 } else { 503 })
        })
    };

    cache(true);
    let (baseline, _) = settled_fds(vigil.pid());
    let mut slowest = Duration::ZERO;
    for round in 0..10 {
        // Half shut down cleanly, half killed.
        if round % 2 == 0 {
            redis.stop()
        } else {
            redis.kill()
        }
        slowest = slowest.max(cache(false));
        redis.restart();
        slowest = slowest.max(cache(true));
    }
    eprintln!("slowest transition after a flap: {slowest:?}");
    let (after, _) = settled_fds(vigil.pid());
    // Connections are re-established, not accumulated: a few may be in flight.
    assert!(after <= baseline + 4, "open fds grew from {baseline} to {after} over ten flaps");
    vigil.stop();
}

#[test]
fn redis_dockerd_and_celery_worker_killed_at_random_moments() {
    let Some(mut platform) = Platform::start() else { return };
    let config = platform.dir().join("vigil.toml");
    let mut text = platform.config();
    text.push_str("[plugins.cache-backend]\ninterval = \"200ms\"\ntimeout = \"1s\"\n");
    text.push_str("[plugins.security-tools]\ninterval = \"200ms\"\ntimeout = \"3s\"\n");
    for rule in ["stuck-scans", "vulnerability-sync", "compliance-freshness"] {
        text.push_str(&format!("[plugins.{rule}]\ninterval = \"300ms\"\ntimeout = \"10s\"\n"));
    }
    disable(&mut text, &["session-storage", "database", "scf-baseline", "python-deps"]);
    std::fs::write(&config, text).expect("config");

    let vigil = VigilProcess::start(&[], Some(&config), &[]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    let limit = Duration::from_secs(60);
    let seen = |dependency: Dependency| runtime.block_on(platform::seen(vigil.addr, dependency));
    for dependency in Dependency::ALL {
        timed(&format!("{dependency:?} seen up"), limit, || seen(dependency) == Some(true));
    }
    // Warm: the first evaluations have dispatched the example's drift.
    let stuck_at_start = platform.planted.stuck_runs.len();
    timed("the first repairs", limit, || recorded_calls(&platform.redis).len() >= stuck_at_start);
    let ((fds, socks), rss) = (settled_fds(vigil.pid()), rss_kib(vigil.pid()));
    eprintln!("after warm-up: {fds} fds, {socks} sockets, RSS {rss} KiB");

    let mut rng = Rng::from_env("flaps");
    let mut plan: Vec<Dependency> = Dependency::ALL.iter().flat_map(|d| [*d; 10]).collect();
    rng.shuffle(&mut plan);
    let mut stuck: Vec<String> = platform.planted.stuck_runs.clone();
    let mut slowest: BTreeMap<Dependency, (Duration, Duration)> = BTreeMap::new();
    let mut rss_series = vec![rss];
    for (round, dependency) in plan.iter().copied().enumerate() {
        // New drift, then the kill at a random moment of the next evaluation
        // and dispatch (300 ms interval).
        let run_id = format!("flap-run-{round:03}");
        platform.plant_stuck_run(&run_id);
        stuck.push(run_id);
        std::thread::sleep(Duration::from_millis(rng.below(400)));
        let (to_down, to_up) = platform.flap(dependency, limit, seen);
        let entry = slowest.entry(dependency).or_default();
        *entry = (entry.0.max(to_down), entry.1.max(to_up));
        rss_series.push(rss_kib(vigil.pid()));
    }
    for (dependency, (to_down, to_up)) in &slowest {
        eprintln!("{dependency:?}: slowest seen down {to_down:?}, slowest seen up again {to_up:?}");
    }

    // Every stuck run's repair reaches the worker, then nothing more comes:
    // the dispatch counter holds still over two more evaluations.
    let redis = &platform.redis;
    let ran = |calls: &[Value], run: &str| calls.iter().any(|c| c["args"][0] == run);
    let missing = || -> Vec<String> {
        let calls = recorded_calls(redis);
        stuck.iter().filter(|run| !ran(&calls, run)).cloned().collect()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while !missing().is_empty() {
        if Instant::now() > deadline {
            let metrics = runtime
                .block_on(vigil_tests::http_request(vigil.addr, "GET", "/metrics", &[]))
                .map(|r| r.body)
                .unwrap_or_default();
            let dispatches: Vec<&str> =
                metrics.lines().filter(|l| l.starts_with("vigil_watchdog_dispatches_total")).collect();
            panic!(
                "never repaired: {:?}\nqueue: {} waiting, {} unacked\n{dispatches:#?}\nworker:\n{}\ndaemon:\n{}",
                missing(),
                redis.cli(&["LLEN", "celery"]).trim(),
                redis.cli(&["HLEN", "unacked"]).trim(),
                platform.worker.log(),
                vigil.log()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Repaired runs are no longer findings: the stuck-scan dispatch counter
    // holds still over two more evaluations.
    let counters = || {
        let text = runtime
            .block_on(vigil_tests::http_request(vigil.addr, "GET", "/metrics", &[]))
            .map(|r| r.body)
            .unwrap_or_default();
        let stuck_scan = |outcome| {
            metric_sum(&text, "vigil_watchdog_dispatches_total", &[("rule", "stuck-scan"), ("outcome", outcome)])
        };
        let evaluations = metric_sum(&text, "vigil_watchdog_evaluations_total", &[("plugin", "stuck-scans")]);
        (evaluations, stuck_scan("dispatched"), stuck_scan("failed"))
    };
    let (evaluations, dispatched, failed) = counters();
    timed("two more evaluations", limit, || counters().0 >= evaluations + 2.0);
    assert_eq!(counters().1, dispatched, "stuck-scan dispatches continued after every run was repaired");

    // The worker's record is the truth: each run repaired under one task
    // id (however often Celery redelivered it after a kill); a second id
    // would be a second dispatch of a repair that had already run.
    let calls = recorded_calls(redis);
    let ids = platform::repairs(&calls);
    for run in &stuck {
        let repair = platform::stuck_repair(run);
        let ran = ids.get(&repair).map_or(0, |ids| ids.len());
        assert_eq!(ran, 1, "{repair} ran under {ran} task ids: {:?}", ids.get(&repair));
    }
    let runs = calls.iter().filter(|c| c["task"] == "app.tasks.cspm.recover_stuck_scan").count();
    eprintln!(
        "{} runs repaired once each ({runs} task runs recorded, {} redelivered after a kill); vigil sent {dispatched} \
         ({} lost by the broker in a kill and sent again after the cooldown), {failed} sends failed",
        stuck.len(),
        runs - stuck.len(),
        dispatched as usize - stuck.len().min(dispatched as usize)
    );

    let ((fds_after, socks_after), rss_after) = (settled_fds(vigil.pid()), rss_kib(vigil.pid()));
    eprintln!(
        "after 30 flaps: {fds_after} fds, {socks_after} sockets, RSS {rss_after} KiB; RSS by round {rss_series:?}"
    );
    assert!(fds_after <= fds + 2, "open fds grew from {fds} to {fds_after}");
    assert!(socks_after <= socks + 2, "sockets grew from {socks} to {socks_after}");
    assert!(rss_after <= rss + 48 * 1024, "RSS grew from {rss} KiB to {rss_after} KiB");
    let log = vigil.stop();
    assert!(!log.contains("panicked"), "the daemon panicked:\n{log}");
}
