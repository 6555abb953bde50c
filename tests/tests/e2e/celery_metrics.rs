//! The daemon with a real Redis broker and a real Celery worker: the
//! watchdog evaluates on start (as the lease holder), dispatches into
//! Celery, and the Celery event stream turns what the worker did into
//! metrics.

use std::time::{Duration, SystemTime};

use vigil_host::config::Secret;
use vigil_host::dispatch::celery::{TaskMessage, envelope};
use vigil_tests::daemon::{TestDaemon, only_bundled};
use vigil_tests::services::{CeleryWorker, RedisServer, skip_unless_installed};
use vigil_tests::snapshot::{Plan, generate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchdog_dispatches_and_celery_events_become_metrics() {
    if skip_unless_installed(&["redis-server", "redis-cli", "celery"]) {
        return;
    }
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let planted = generate(dir.path(), &Plan::example(SystemTime::now())).expect("snapshot");
    let mut config = only_bundled(&["stuck-scans", "vulnerability-sync", "compliance-freshness"]);
    config.endpoints.redis_url = Some(Secret::Literal(redis.url()));
    config.endpoints.snapshot_dir = Some(dir.path().to_path_buf());
    let daemon = TestDaemon::start(config).await;
    // The worker starts after the daemon subscribed, so its online event counts too.
    daemon.wait_for_metrics(&["vigil_celery_event_stream_up 1"], Duration::from_secs(30)).await;
    let worker = tokio::task::spawn_blocking({
        let url = redis.url();
        move || CeleryWorker::start(&url, "celery")
    })
    .await
    .expect("worker");

    // A task that fails, pushed directly, to see the failure counted by name.
    let failing = TaskMessage {
        id: "planned-failure".into(),
        task: "vigil-test.fail".into(),
        args: serde_json::json!([]),
        kwargs: serde_json::json!({}),
        queue: "celery".into(),
    };
    redis.cli(&["LPUSH", "celery", &envelope(&failing, "test").expect("envelope").to_string()]);

    let stuck = planted.stuck_runs.len();
    let metrics = daemon
        .wait_for_metrics(
            &[
                &format!("vigil_watchdog_dispatches_total{{outcome=\"dispatched\",rule=\"stuck-scan\",target=\"celery\"}} {stuck}"),
                "vigil_watchdog_dispatches_total{outcome=\"dispatched\",rule=\"stale-compliance\",target=\"celery\"} 1",
                "vigil_watchdog_dispatches_total{outcome=\"dispatched\",rule=\"unsynced-findings\",target=\"celery\"} 1",
                "vigil_watchdog_dispatches_total{outcome=\"deduplicated\",rule=\"unsynced-findings\",target=\"celery\"} 1",
                &format!("vigil_watchdog_findings{{plugin=\"stuck-scans\",rule=\"stuck-scan\"}} {stuck}"),
                "vigil_watchdog_leader 1",
                "vigil_watchdog_cross_replica_dedupe 1",
                &format!("vigil_celery_tasks_total{{state=\"succeeded\",task=\"app.tasks.cspm.recover_stuck_scan\"}} {stuck}"),
                "vigil_celery_tasks_total{state=\"succeeded\",task=\"app.services.vulnerability_sync.sync_all\"} 1",
                "vigil_celery_tasks_total{state=\"received\",task=\"app.tasks.compliance.refresh_compliance_data\"} 1",
                "vigil_celery_tasks_total{state=\"failed\",task=\"vigil-test.fail\"} 1",
                "vigil_celery_task_runtime_seconds_count{task=\"app.services.vulnerability_sync.sync_all\"} 1",
                // Vigil publishes task-sent for its own dispatches.
                &format!("vigil_celery_tasks_total{{state=\"sent\",task=\"app.tasks.cspm.recover_stuck_scan\"}} {stuck}"),
                "vigil_celery_workers_online 1",
                "vigil_celery_queue_length{queue=\"celery\"} 0",
            ],
            Duration::from_secs(60),
        )
        .await;
    assert!(metrics.contains("vigil_watchdog_last_evaluation_timestamp_seconds{plugin=\"stuck-scans\"}"));
    if !skip_unless_installed(&["promtool"]) {
        vigil_tests::services::promtool_check_metrics(&metrics);
    }

    let (_, status) = daemon.json("/health/status").await;
    let watchdog = &status["watchdog"];
    assert_eq!(watchdog["coordination"]["mode"], "redis", "{watchdog}");
    assert_eq!(watchdog["coordination"]["leader"], true);
    assert_eq!(watchdog["rules"].as_array().map(Vec::len), Some(3), "{watchdog}");
    let (_, counters) = daemon.json("/health/metrics").await;
    assert_eq!(counters["dispatches"], stuck + 2, "{counters}");
    drop(worker);
}
