//! What a hostile plugin cannot do: flood the log, dispatch a task it was
//! not granted, push an oversized payload, or reach past its HTTP grant.

use std::time::{Duration, Instant};

use serde_json::Value;
use vigil_host::dispatch::celery::{TaskMessage, envelope};
use vigil_tests::process::VigilProcess;
use vigil_tests::services::{CeleryWorker, RedisServer, recorded_calls, skip_unless_installed};
use vigil_tests::{PluginDir, fixtures, promtail_records, wait_until};

/// A check floods its log with 200-byte lines. Its manifest's `[limits]`
/// (within the host's maxima) set the quota: 20 lines a second, a burst of
/// 40, 100 bytes a line. The daemon's own events (here: refused admin calls,
/// security events) are all written meanwhile.
#[test]
fn a_log_flood_is_held_to_the_plugins_quota() {
    let dir = PluginDir::new();
    let manifest = "interval = \"300ms\"\ntimeout = \"2s\"\n\
        [limits]\nlog_lines_per_second = 20\nlog_burst = 40\nlog_line_bytes = 100\n\
        [config]\nbehaviour = \"log-flood\"\nlines = 1000000\nbytes = 200";
    dir.add("flood", "check", fixtures::CHECK_MISBEHAVE, manifest);
    let started = Instant::now();
    let vigil = VigilProcess::start(
        &["--no-bundled", "--plugins", &dir.path().to_string_lossy()],
        None,
        &[("VIGIL_ADMIN_TOKEN", "")],
    );
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    let mut refused_admin_calls = 0;
    // Until the quota has dropped lines and one report of them is due.
    wait_until(Duration::from_secs(90), "dropped flood lines, reported", || {
        let post = vigil_tests::http_request(vigil.addr, "POST", "/admin/checks/run", &[]);
        // 403 (no token configured), then 429 once the rate limit trips:
        // each is a security event.
        if runtime.block_on(post).is_some_and(|answer| matches!(answer.status, 403 | 429)) {
            refused_admin_calls += 1;
        }
        let metrics = runtime.block_on(vigil_tests::try_http_get(vigil.addr, "/metrics", &[]));
        let dropped = metrics.is_some_and(|(_, _, body)| {
            body.lines()
                .any(|l| l.starts_with("vigil_plugin_log_lines_dropped_total{plugin=\"flood\"}") && !l.ends_with(" 0"))
        });
        dropped && started.elapsed() > Duration::from_secs(11)
    });
    let elapsed = started.elapsed().as_secs_f64();
    let logs = vigil.stop();
    let records = promtail_records(&logs);
    let flood: Vec<&Value> =
        records.iter().filter(|r| r["plugin"] == "flood" && r["logger"] == "vigil::plugin").collect();
    // The manifest's burst and rate, not the million asked for (nor the
    // default burst of 500).
    let allowed = 40.0 + 20.0 * (elapsed + 1.0);
    assert!(
        flood.len() >= 40 && (flood.len() as f64) <= allowed,
        "{} flood lines in {elapsed:.1}s (allowed {allowed:.0})",
        flood.len()
    );
    assert!(flood.iter().all(|r| r["message"].as_str().is_some_and(|m| m.len() <= 100)), "a line over 100 bytes");
    let reports: Vec<&Value> = records
        .iter()
        .filter(|r| r["message"].as_str().is_some_and(|m| m.contains("over the quota were dropped")))
        .collect();
    assert!(!reports.is_empty(), "no report of the dropped lines");
    assert!(reports.iter().all(|r| r["dropped"].as_u64() > Some(0) && r["plugin"] == "flood"), "{reports:?}");
    // One report per 10 s window at most.
    assert!(reports.len() as f64 <= elapsed / 10.0 + 1.0, "{} reports in {elapsed:.1}s", reports.len());
    // Every refused admin call is in the log: a noisy plugin never costs
    // the daemon its own events.
    let security = records.iter().filter(|r| r["logger"] == "vigil::security" && r["event.category"].is_string());
    assert!(refused_admin_calls > 0);
    assert_eq!(security.count(), refused_admin_calls, "security events written during the flood");
}

/// A vigil.toml for the watchdog tests: Redis as broker, and `extra`.
fn watchdog_config(dir: &std::path::Path, redis: &RedisServer, extra: &str) -> std::path::PathBuf {
    let config = dir.join("vigil.toml");
    std::fs::write(
        &config,
        format!("[endpoints]\nredis_url = \"{}\"\n[watchdog]\ncooldown = \"1h\"\n{extra}", redis.url()),
    )
    .expect("config");
    config
}

/// A watchdog fixture granted `granted`, asking for `config` (TOML lines).
fn watchdog_plugin(dir: &PluginDir, name: &str, granted: &str, config: &str) {
    let manifest = format!("[limits]\nmemory_mib = 256\n[grants]\n{granted}\n[config]\n{config}");
    dir.add(name, "watchdog", fixtures::WATCHDOG_MISBEHAVE, &manifest);
}

/// `vigil watchdog run --once` (the flag older scripts pass is still
/// accepted) over `plugins` with `config`: the dispatch
/// of the one finding each plugin reports, by plugin.
fn dispatches(plugins: &std::path::Path, config: &std::path::Path) -> Vec<(String, Value)> {
    let args = [
        "watchdog",
        "run",
        "--once",
        "--format",
        "json",
        "--no-bundled",
        "--plugins",
        &plugins.to_string_lossy(),
        "--config",
        &config.to_string_lossy(),
    ];
    // 1: some dispatches are refused, as the tests intend.
    let (code, report) = vigil_tests::vigil_json(args);
    assert!(code == 0 || code == 1, "vigil watchdog failed: {report:#}");
    report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|rule| (rule["plugin"].as_str().unwrap_or_default().to_owned(), rule["findings"][0]["dispatch"].clone()))
        .collect()
}

/// Push a sentinel and wait until the worker has run it: everything queued
/// before it has been processed too.
fn drain(redis: &RedisServer) -> Vec<Value> {
    let id = format!("sentinel-{}", vigil_tests::free_port());
    let message = TaskMessage {
        id: id.clone(),
        task: "vigil-test.sentinel".into(),
        args: serde_json::json!([]),
        kwargs: serde_json::json!({}),
        queue: "celery".into(),
    };
    redis.cli(&["LPUSH", "celery", &envelope(&message, "vigil-test").expect("envelope").to_string()]);
    wait_until(Duration::from_secs(60), "the sentinel task", || {
        recorded_calls(redis).iter().any(|c| c["id"] == id.as_str())
    });
    recorded_calls(redis)
}

#[test]
fn only_granted_tasks_and_payloads_within_the_cap_reach_the_worker() {
    if skip_unless_installed(&["redis-server", "redis-cli", "celery"]) {
        return;
    }
    let redis = RedisServer::start();
    let worker = CeleryWorker::start(&redis.url(), "celery");
    let work = tempfile::tempdir().expect("tempdir");
    let config = watchdog_config(work.path(), &redis, "max_payload_bytes = 4096\n");
    let dir = PluginDir::new();
    let granted = "dispatch = [\"app.tasks.compliance.refresh_compliance_data\"]";
    watchdog_plugin(
        &dir,
        "allowed",
        granted,
        "task = \"app.tasks.compliance.refresh_compliance_data\"\ndedupe_key = \"a\"",
    );
    watchdog_plugin(&dir, "purge", granted, "task = \"app.tasks.admin.purge_all_tenants\"\ndedupe_key = \"b\"");
    watchdog_plugin(
        &dir,
        "queue",
        granted,
        "task = \"app.tasks.compliance.refresh_compliance_data\"\nqueue = \"admin\"\ndedupe_key = \"c\"",
    );
    watchdog_plugin(
        &dir,
        "huge",
        granted,
        "task = \"app.tasks.compliance.refresh_compliance_data\"\nargs_bytes = 20000000\ndedupe_key = \"d\"",
    );
    watchdog_plugin(
        &dir,
        "wordy",
        granted,
        "task = \"app.tasks.compliance.refresh_compliance_data\"\ndetail_bytes = 100000\ndedupe_key = \"e\"",
    );
    let outcomes = dispatches(dir.path(), &config);
    let outcome = |plugin: &str| outcomes.iter().find(|(p, _)| p == plugin).map(|(_, d)| d.clone()).expect(plugin);
    assert_eq!(outcome("allowed")["outcome"], "dispatched", "{outcomes:?}");
    for (plugin, reason) in [
        ("purge", "task \"app.tasks.admin.purge_all_tenants\" is not in grants.dispatch"),
        ("queue", "queue \"admin\" is not in grants.queues"),
        ("huge", "args-json is 20000004 bytes, over the 4096-byte limit"),
        ("wordy", "detail is 100000 bytes, over the 4096-byte limit"),
    ] {
        let dispatch = outcome(plugin);
        assert_eq!(dispatch["outcome"], "refused", "{plugin}: {dispatch}");
        assert_eq!(dispatch["reason"], reason, "{plugin}: {dispatch}");
    }
    // The worker ran the granted task once and nothing else.
    let calls = drain(&redis);
    let tasks: Vec<&str> =
        calls.iter().filter_map(|c| c["task"].as_str()).filter(|t| *t != "vigil-test.sentinel").collect();
    assert_eq!(tasks, ["app.tasks.compliance.refresh_compliance_data"], "{calls:?}");
    assert!(!worker.log().contains("purge_all_tenants"), "{}", worker.log());
}

/// Without `max_payload_bytes`, the cap is 64 KiB, for `args-json`,
/// `kwargs-json` and each text field alike; a finding over it is still
/// reported, its dispatch refused with the reason.
#[test]
fn payloads_are_capped_at_64_kib_by_default() {
    let dir = PluginDir::new();
    let granted = "dispatch = [\"app.tasks.fixture.*\"]";
    for (name, config) in [
        ("args-under", "args_bytes = 60000\ndedupe_key = \"a\""),
        ("args-over", "args_bytes = 70000\ndedupe_key = \"b\""),
        ("kwargs-over", "kwargs_bytes = 70000\ndedupe_key = \"c\""),
        ("detail-over", "detail_bytes = 70000\ndedupe_key = \"d\""),
    ] {
        watchdog_plugin(&dir, name, granted, config);
    }
    let work = tempfile::tempdir().expect("tempdir");
    let config = work.path().join("vigil.toml");
    std::fs::write(&config, "[watchdog]\ndry_run = true\n").expect("config");
    let outcomes = dispatches(dir.path(), &config);
    let outcome = |plugin: &str| &outcomes.iter().find(|(p, _)| p == plugin).expect("reported").1;
    // (Messages name outcomes only: the payloads are 70 KB.)
    assert_eq!(outcome("args-under")["outcome"], "dry_run", "args-under");
    for plugin in ["args-over", "kwargs-over", "detail-over"] {
        assert_eq!(outcome(plugin)["outcome"], "refused", "{plugin}: {}", outcome(plugin)["reason"]);
        let reason = outcome(plugin)["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("65536"), "{plugin}: {reason}");
    }
}

#[test]
fn a_refused_dispatch_is_refused_in_a_dry_run_too_and_counted() {
    let dir = PluginDir::new();
    watchdog_plugin(&dir, "purge", "dispatch = [\"app.tasks.cspm.*\"]", "task = \"app.tasks.admin.purge_all_tenants\"");
    let work = tempfile::tempdir().expect("tempdir");
    let config = work.path().join("vigil.toml");
    std::fs::write(&config, "[watchdog]\ndry_run = true\n").expect("config");
    let outcomes = dispatches(dir.path(), &config);
    assert_eq!(outcomes[0].1["outcome"], "refused", "{outcomes:?}");
    // In the daemon the refusal is a capability refusal in the metrics.
    let config = work.path().join("daemon.toml");
    std::fs::write(&config, "[watchdog]\ndry_run = true\n").expect("config");
    let vigil = VigilProcess::start(
        &["--no-bundled", "--plugins", &dir.path().to_string_lossy(), "--config", &config.to_string_lossy()],
        None,
        &[],
    );
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    wait_until(Duration::from_secs(60), "a refused dispatch in the metrics", || {
        let metrics = runtime.block_on(vigil_tests::try_http_get(vigil.addr, "/metrics", &[]));
        metrics.is_some_and(|(_, _, body)| {
            body.contains("vigil_capability_refusals_total{capability=\"dispatch\",plugin=\"purge\"} 1")
                && body
                    .contains("vigil_watchdog_dispatches_total{outcome=\"refused\",rule=\"fixture\",target=\"log\"} 1")
        })
    });
    let logs = vigil.stop();
    assert!(
        promtail_records(&logs).iter().any(|r| r["message"] == "dispatch refused"
            && r["plugin"] == "purge"
            && r["task"] == "app.tasks.admin.purge_all_tenants"),
        "no warning naming plugin and task:\n{logs}"
    );
}
