//! Dependency flaps. A real Redis, a real dockerd and a real Celery worker
//! are killed (SIGKILL) and restarted at random moments under a running
//! `vigil run` whose watchdog keeps finding new drift: the checks follow
//! each change within their interval, the daemon never panics, its
//! descriptors and memory stay flat, and every repair it dispatched ran
//! exactly once by the worker's own record.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use vigil_tests::observe::{Rng, metric_sum, open_fds, rss_kib, sockets};
use vigil_tests::process::VigilProcess;
use vigil_tests::services::{CeleryWorker, DockerEngine, RedisServer, recorded_calls, skip_unless_installed};
use vigil_tests::snapshot::{Plan, generate};

/// GET `path` from the daemon; `None` while it does not answer.
fn get(vigil: &VigilProcess, runtime: &tokio::runtime::Runtime, path: &str) -> Option<String> {
    runtime.block_on(vigil_tests::http_request(vigil.addr, "GET", path, &[])).map(|r| r.body)
}

/// The current mode of `check` in `/health/status`.
fn mode(vigil: &VigilProcess, runtime: &tokio::runtime::Runtime, check: &str) -> String {
    get(vigil, runtime, "/health/status")
        .and_then(|body| serde_json::from_str::<Value>(&body).ok())
        .and_then(|s| {
            s["plugins"].as_array()?.iter().find(|p| p["name"] == check)?["result"]["mode"].as_str().map(str::to_owned)
        })
        .unwrap_or_default()
}

/// Poll `probe` until it is true; how long that took. Fails after `limit`.
fn follow(what: &str, limit: Duration, mut probe: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !probe() {
        assert!(started.elapsed() < limit, "{what} did not happen within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}

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
    let mut text = format!("[endpoints]\nredis_url = \"{}\"\ncall_timeout = \"300ms\"\n", redis.url());
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
    let cache = |want: &str| {
        follow(&format!("cache-backend reporting {want}"), limit, || mode(&vigil, &runtime, "cache-backend") == want)
    };

    cache("redis");
    let baseline = open_fds(vigil.pid());
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        redis.stop();
        slowest = slowest.max(cache("in-memory"));
        redis.restart();
        slowest = slowest.max(cache("redis"));
    }
    eprintln!("slowest transition after a flap: {slowest:?}");
    let after = open_fds(vigil.pid());
    // Connections are re-established, not accumulated: a few may be in flight.
    assert!(after <= baseline + 4, "open fds grew from {baseline} to {after} over ten flaps");
    vigil.stop();
}

/// Append a scan run stuck in RUNNING for five hours (file replaced whole,
/// so the daemon never reads half a line).
fn plant_stuck_run(snapshot: &Path, run_id: &str) {
    let path = snapshot.join("cspm_orchestration/scan_runs.json");
    let mut text = std::fs::read_to_string(&path).expect("scan runs");
    let started = SystemTime::now() - Duration::from_secs(5 * 3600);
    let run = serde_json::json!({
        "run_id": run_id, "account_id": "acct-000", "provider": "aws", "status": "RUNNING",
        "started_at": { "$date": humantime::format_rfc3339_millis(started).to_string() }, "finished_at": null,
    });
    text.push_str(&format!("{run}\n"));
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, text).expect("write scan runs");
    std::fs::rename(&temporary, &path).expect("replace scan runs");
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Dependency {
    Redis,
    Docker,
    Worker,
}

#[test]
fn redis_dockerd_and_celery_worker_killed_at_random_moments() {
    if skip_unless_installed(&["redis-server", "redis-cli", "celery", "dockerd", "docker"]) {
        return;
    }
    let Some(mut engine) = DockerEngine::start() else { return };
    for image in ["aquasec/trivy:0.50.1", "anchore/grype:v0.74.0", "anchore/syft:v1.0.0"] {
        engine.import(image);
    }
    let mut redis = RedisServer::start_persistent();
    let mut worker = CeleryWorker::start(&redis.url(), "celery");
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("snapshot");
    let planted = generate(&snapshot, &Plan::example(SystemTime::now())).expect("snapshot");
    let no_binaries = dir.path().join("bin");
    std::fs::create_dir_all(&no_binaries).expect("bin dir");
    let config = dir.path().join("vigil.toml");
    let mut text = format!(
        "[endpoints]\nredis_url = \"{}\"\ndocker_host = \"{}\"\nexec_path = \"{}\"\nsnapshot_dir = \"{}\"\ncall_timeout = \"300ms\"\n\
         [watchdog]\ncooldown = \"1h\"\nlease = \"3s\"\n[celery]\nqueues = [\"celery\"]\n",
        redis.url(),
        engine.host(),
        no_binaries.display(),
        snapshot.display()
    );
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
    let workers_online =
        || get(&vigil, &runtime, "/metrics").map_or(-1.0, |text| metric_sum(&text, "vigil_celery_workers_online", &[]));
    let up = |dependency: Dependency| match dependency {
        Dependency::Redis => mode(&vigil, &runtime, "cache-backend") == "redis",
        Dependency::Docker => mode(&vigil, &runtime, "security-tools") == "complete",
        Dependency::Worker => workers_online() >= 1.0,
    };
    let down = |dependency: Dependency| match dependency {
        Dependency::Redis => mode(&vigil, &runtime, "cache-backend") == "in-memory",
        Dependency::Docker => mode(&vigil, &runtime, "security-tools") == "none",
        Dependency::Worker => workers_online() == 0.0,
    };
    for dependency in [Dependency::Redis, Dependency::Docker, Dependency::Worker] {
        follow(&format!("{dependency:?} seen up"), limit, || up(dependency));
    }
    // Warm: the first evaluations have dispatched the example's drift.
    follow("the first repairs", limit, || recorded_calls(&redis).len() >= planted.stuck_runs.len());
    let (fds, socks, rss) = (open_fds(vigil.pid()), sockets(vigil.pid()), rss_kib(vigil.pid()));
    eprintln!("after warm-up: {fds} fds, {socks} sockets, RSS {rss} KiB");

    let mut rng = Rng::from_env("flaps");
    let mut plan: Vec<Dependency> =
        [Dependency::Redis, Dependency::Docker, Dependency::Worker].iter().flat_map(|d| [*d; 10]).collect();
    rng.shuffle(&mut plan);
    let mut stuck: Vec<String> = planted.stuck_runs.clone();
    let mut seen: BTreeMap<Dependency, (Duration, Duration)> = BTreeMap::new();
    let mut rss_series = vec![rss];
    for (round, dependency) in plan.iter().copied().enumerate() {
        // New drift, then the kill at a random moment of the next evaluation
        // and dispatch (300 ms interval).
        let run_id = format!("flap-run-{round:03}");
        plant_stuck_run(&snapshot, &run_id);
        stuck.push(run_id);
        std::thread::sleep(Duration::from_millis(rng.below(400)));
        match dependency {
            Dependency::Redis => redis.kill(),
            Dependency::Docker => engine.kill(),
            Dependency::Worker => worker.kill(),
        }
        let to_down = follow(&format!("round {round}: {dependency:?} seen down"), limit, || down(dependency));
        match dependency {
            Dependency::Redis => redis.restart(),
            Dependency::Docker => engine.restart(),
            Dependency::Worker => worker.restart(),
        }
        let to_up = follow(&format!("round {round}: {dependency:?} seen up"), limit, || up(dependency));
        let slowest = seen.entry(dependency).or_default();
        *slowest = (slowest.0.max(to_down), slowest.1.max(to_up));
        rss_series.push(rss_kib(vigil.pid()));
    }
    for (dependency, (to_down, to_up)) in &seen {
        eprintln!("{dependency:?}: slowest seen down {to_down:?}, slowest seen up again {to_up:?}");
    }

    // Every stuck run's repair reaches the worker, then nothing more comes:
    // the dispatch counter holds still over two more evaluations.
    let ran = |calls: &[Value], run: &str| calls.iter().any(|c| c["args"][0] == run);
    follow("every stuck run repaired", Duration::from_secs(120), || {
        let calls = recorded_calls(&redis);
        stuck.iter().all(|run| ran(&calls, run))
    });
    let counters = || {
        let text = get(&vigil, &runtime, "/metrics").unwrap_or_default();
        let evaluations = metric_sum(&text, "vigil_watchdog_evaluations_total", &[("plugin", "stuck-scans")]);
        let dispatched = metric_sum(&text, "vigil_watchdog_dispatches_total", &[("outcome", "dispatched")]);
        let failed = metric_sum(&text, "vigil_watchdog_dispatches_total", &[("outcome", "failed")]);
        (evaluations, dispatched, failed)
    };
    let (evaluations, dispatched, failed) = counters();
    follow("two more evaluations", limit, || counters().0 >= evaluations + 2.0);
    assert_eq!(counters().1, dispatched, "dispatches continued after every repair had run");

    // The worker's record is the truth: one task id per repair, however
    // often Celery redelivered it after a kill.
    let calls = recorded_calls(&redis);
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for call in &calls {
        let key = format!("{} {}", call["task"].as_str().unwrap_or_default(), call["args"]);
        ids.entry(key).or_default().insert(call["id"].as_str().unwrap_or_default().to_owned());
    }
    for (repair, ids) in &ids {
        assert_eq!(ids.len(), 1, "{repair} was dispatched {} times: {ids:?}", ids.len());
    }
    for run in &stuck {
        assert!(
            ids.contains_key(&format!("app.tasks.cspm.recover_stuck_scan [\"{run}\"]")),
            "{run} was never repaired"
        );
    }
    let distinct: usize = ids.values().map(BTreeSet::len).sum();
    eprintln!(
        "{} repairs ran once each ({} task runs recorded, {} redelivered); vigil counted {dispatched} dispatched, {failed} failed",
        distinct,
        calls.len(),
        calls.len() - distinct
    );
    assert!(
        distinct as f64 >= dispatched,
        "vigil counted {dispatched} dispatches, the worker ran {distinct}: a dispatch was lost"
    );

    let (fds_after, socks_after, rss_after) = (open_fds(vigil.pid()), sockets(vigil.pid()), rss_kib(vigil.pid()));
    eprintln!(
        "after 30 flaps: {fds_after} fds, {socks_after} sockets, RSS {rss_after} KiB; RSS by round {rss_series:?}"
    );
    assert!(fds_after <= fds + 6, "open fds grew from {fds} to {fds_after}");
    assert!(socks_after <= socks + 6, "sockets grew from {socks} to {socks_after}");
    assert!(rss_after <= rss + 48 * 1024, "RSS grew from {rss} KiB to {rss_after} KiB");
    let log = vigil.stop();
    assert!(!log.contains("panicked"), "the daemon panicked:\n{log}");
}
