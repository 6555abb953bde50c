//! The watchdog end to end with real services: a real Redis as broker and
//! coordination store, a real Celery 5 worker running stand-ins of the
//! platform's sync tasks. The worker's own record of its calls is the truth.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use vigil_host::dispatch::celery::{TaskMessage, envelope};
use vigil_tests::services::{CeleryWorker, RedisServer, recorded_calls, skip_unless_installed};
use vigil_tests::snapshot::{Plan, generate};
use vigil_tests::wait_until;

/// `vigil watchdog run` against `snapshot` with `config`; the JSON report.
fn run_once(config: &Path, snapshot: &Path, extra: &[&str]) -> Value {
    let (config, store) = (config.to_string_lossy().into_owned(), format!("snapshot:{}", snapshot.display()));
    let mut args = vec!["watchdog", "run", "--format", "json", "--config", config.as_str(), "--store", store.as_str()];
    args.extend_from_slice(extra);
    let (code, report) = vigil_tests::vigil_json(args);
    assert_eq!(code, 0, "vigil watchdog failed: {report:#}");
    report
}

/// Outcomes of every dispatch in a report, as (task, outcome).
fn outcomes(report: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .flat_map(|rule| rule["findings"].as_array().cloned().unwrap_or_default())
        .filter_map(|finding| {
            let dispatch = &finding["dispatch"];
            Some((dispatch["task"].as_str()?.to_owned(), dispatch["outcome"].as_str()?.to_owned()))
        })
        .collect();
    out.sort();
    out
}

fn count(outcomes: &[(String, String)], outcome: &str) -> usize {
    outcomes.iter().filter(|(_, o)| o == outcome).count()
}

/// Push a sentinel task and wait until the worker has run it: everything
/// queued before it has then been processed too (one worker, one queue, FIFO).
fn drain(redis: &RedisServer, worker: &CeleryWorker) {
    let id = format!("sentinel-{}", vigil_tests::free_port());
    let message = TaskMessage {
        id: id.clone(),
        task: "vigil-test.sentinel".into(),
        args: serde_json::json!([]),
        kwargs: serde_json::json!({}),
        queue: "celery".into(),
    };
    let body = envelope(&message, "vigil-test").expect("envelope").to_string();
    redis.cli(&["LPUSH", "celery", &body]);
    wait_until(Duration::from_secs(60), "the sentinel task", || {
        let done = recorded_calls(redis).iter().any(|c| c["id"] == id.as_str());
        assert!(!worker.log().contains("Traceback"), "worker failed:\n{}", worker.log());
        done
    });
    redis.cli(&["LREM", "vigil-test:calls", "0", &redis.cli(&["LINDEX", "vigil-test:calls", "-1"])]);
}

#[test]
fn watchdog_dispatches_each_repair_once_and_celery_runs_it() {
    if skip_unless_installed(&["redis-server", "redis-cli", "celery"]) {
        return;
    }
    let redis = RedisServer::start();
    let worker = CeleryWorker::start(&redis.url(), "celery");
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("snapshot");
    let planted = generate(&snapshot, &Plan::example(SystemTime::now())).expect("snapshot");
    let config = dir.path().join("vigil.toml");
    std::fs::write(&config, format!("[endpoints]\nredis_url = \"{}\"\n[watchdog]\ncooldown = \"1h\"\n", redis.url()))
        .expect("config");

    // First run: every planted drift is found and its repair dispatched once.
    let first = run_once(&config, &snapshot, &[]);
    assert_eq!(first["coordination"]["mode"], "redis");
    let got = outcomes(&first);
    assert_eq!(got.len(), planted.stuck_runs.len() + planted.drifting_modules.len() + 1, "{first:#}");
    // Two drifting modules share the sync_all key: one is sent, one deduplicated.
    assert_eq!(count(&got, "dispatched"), planted.stuck_runs.len() + 2, "{got:?}");
    assert_eq!(count(&got, "deduplicated"), 1, "{got:?}");
    drain(&redis, &worker);
    let calls = recorded_calls(&redis);
    let mut recovered: Vec<String> = calls
        .iter()
        .filter(|c| c["task"] == "app.tasks.cspm.recover_stuck_scan")
        .map(|c| c["args"][0].as_str().expect("run id").to_owned())
        .collect();
    recovered.sort();
    assert_eq!(recovered, planted.stuck_runs, "{calls:?}");
    for task in ["app.services.vulnerability_sync.sync_all", "app.tasks.compliance.refresh_compliance_data"] {
        assert_eq!(calls.iter().filter(|c| c["task"] == task).count(), 1, "{task}: {calls:?}");
    }
    let dispatched_ids: Vec<String> = first["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .flat_map(|r| r["findings"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f["dispatch"]["task_id"].as_str().map(str::to_owned))
        .collect();
    for id in &dispatched_ids {
        assert_eq!(calls.iter().filter(|c| c["id"] == id.as_str()).count(), 1, "task {id} ran other than once");
    }

    // Within the cooldown: nothing is dispatched again.
    let second = run_once(&config, &snapshot, &[]);
    let got = outcomes(&second);
    assert_eq!(count(&got, "deduplicated"), got.len(), "{got:?}");
    drain(&redis, &worker);
    assert_eq!(recorded_calls(&redis).len(), calls.len(), "a second run dispatched again");

    // Three replicas sharing the Redis, at once: each repair is dispatched once between them.
    redis.cli(&["DEL", "vigil-test:calls"]);
    for key in redis.cli(&["KEYS", "vigil:dispatch:*"]).lines() {
        redis.cli(&["DEL", key]);
    }
    let replicas: Vec<_> = (0..3)
        .map(|_| {
            let (config, snapshot) = (config.clone(), snapshot.clone());
            std::thread::spawn(move || run_once(&config, &snapshot, &[]))
        })
        .collect();
    let reports: Vec<Value> = replicas.into_iter().map(|r| r.join().expect("replica")).collect();
    let dispatched: usize = reports.iter().map(|r| count(&outcomes(r), "dispatched")).sum();
    assert_eq!(dispatched, planted.stuck_runs.len() + 2, "replicas dispatched {dispatched} times");
    drain(&redis, &worker);
    assert_eq!(recorded_calls(&redis).len(), planted.stuck_runs.len() + 2);

    // A dry run sends nothing and claims no key.
    let dry = run_once(&config, &snapshot, &["--dry-run"]);
    assert!(outcomes(&dry).iter().all(|(_, o)| o == "dry_run"), "{dry:#}");
}

#[test]
fn without_redis_the_watchdog_logs_and_reports_degraded_coordination() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("snapshot");
    let planted = generate(&snapshot, &Plan::example(SystemTime::now())).expect("snapshot");
    let config = dir.path().join("vigil.toml");
    std::fs::write(&config, "").expect("config");
    let report = run_once(&config, &snapshot, &[]);
    assert_eq!(report["coordination"]["mode"], "in-memory");
    assert_eq!(report["coordination"]["status"], "degraded");
    assert_eq!(report["coordination"]["impact"], "no cross-replica dedupe");
    let got = outcomes(&report);
    assert_eq!(got.len(), planted.stuck_runs.len() + planted.drifting_modules.len() + 1);
    assert!(got.iter().all(|(_, o)| o == "dry_run"), "no broker: the target is log: {got:?}");
}

/// The webhook target: each dispatch is POSTed as JSON; a 503 is retried
/// with backoff until the endpoint accepts, and deduplication still holds.
#[test]
fn webhook_dispatches_are_retried_until_accepted() {
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::post;

    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let attempts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let runtime = tokio::runtime::Runtime::new().expect("tokio");
    let addr = runtime.block_on(async {
        let (received, attempts) = (Arc::clone(&received), Arc::clone(&attempts));
        let app = Router::new().route(
            "/hooks/vigil",
            post(move |axum::Json(body): axum::Json<Value>| {
                let (received, attempts) = (Arc::clone(&received), Arc::clone(&attempts));
                async move {
                    // Every other attempt fails: each dispatch needs one retry.
                    if attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % 2 == 0 {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    received.lock().expect("lock").push(body);
                    StatusCode::ACCEPTED
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("snapshot");
    let planted = generate(&snapshot, &Plan::example(SystemTime::now())).expect("snapshot");
    let config = dir.path().join("vigil.toml");
    std::fs::write(&config, format!("[watchdog]\ntarget = \"webhook\"\nwebhook_url = \"http://{addr}/hooks/vigil\"\n"))
        .expect("config");
    let report = run_once(&config, &snapshot, &[]);
    let got = outcomes(&report);
    let unique = planted.stuck_runs.len() + 2;
    assert_eq!(count(&got, "dispatched"), unique, "{got:?}");
    assert_eq!(count(&got, "deduplicated"), 1, "{got:?}");
    let received = received.lock().expect("lock").clone();
    assert_eq!(received.len(), unique);
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 2 * unique, "one retry each");
    let tasks: Vec<&str> = received.iter().filter_map(|b| b["request"]["task"].as_str()).collect();
    assert_eq!(tasks.iter().filter(|t| **t == "app.tasks.cspm.recover_stuck_scan").count(), planted.stuck_runs.len());
    assert!(received.iter().all(|b| b["source"] == "vigil"), "{received:?}");
}

/// Dedupe key and task message are written together or not at all: a push
/// the broker refuses leaves no key behind (so the next evaluation retries),
/// and a sent task holds its key for the cooldown.
#[tokio::test]
async fn a_refused_push_leaves_no_dedupe_key_behind() {
    use std::sync::Arc;
    use vigil_host::capabilities::redis::RedisBackend;
    use vigil_host::dispatch::{Coordination, Dispatcher, Outcome, Request, Target};

    if skip_unless_installed(&["redis-server", "redis-cli"]) {
        return;
    }
    let redis = RedisServer::start();
    let broker = Arc::new(RedisBackend::new(&redis.url(), Duration::from_secs(2)).expect("broker"));
    let target = Target::Celery { broker: Arc::clone(&broker), db: 0, default_queue: "celery".into() };
    let coordination = Arc::new(Coordination::Redis(broker));
    let dispatcher = Dispatcher::new(target, coordination, Duration::from_secs(3600), "test-replica".into());
    let request = Request {
        rule: "stuck-scans".into(),
        task: "app.tasks.cspm.recover_stuck_scan".into(),
        args: serde_json::json!(["run-1"]),
        kwargs: serde_json::json!({}),
        queue: None,
        dedupe_key: "stuck-scan:run-1".into(),
    };
    // The queue is a string: LPUSH fails with WRONGTYPE inside the script.
    redis.cli(&["SET", "celery", "not a list"]);
    let outcome = dispatcher.dispatch(&request, false).await;
    assert!(matches!(&outcome, Outcome::Failed { error } if error.contains("WRONGTYPE")), "{outcome:?}");
    assert_eq!(redis.cli(&["EXISTS", "vigil:dispatch:stuck-scan:run-1"]).trim(), "0", "the key was left behind");

    redis.cli(&["DEL", "celery"]);
    let outcome = dispatcher.dispatch(&request, false).await;
    assert!(matches!(outcome, Outcome::Dispatched { task_id: Some(_) }), "{outcome:?}");
    assert_eq!(redis.cli(&["LLEN", "celery"]).trim(), "1");
    assert_eq!(dispatcher.dispatch(&request, false).await, Outcome::Deduplicated);
    assert_eq!(redis.cli(&["LLEN", "celery"]).trim(), "1", "a deduplicated request was pushed");
}
