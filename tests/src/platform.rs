//! The platform a reliability test runs Vigil against: a persistent Redis
//! (broker, cache, coordination), a Docker engine holding the scanner
//! images, a Celery worker running the stand-in sync tasks, and a snapshot
//! of the platform's collections with drift planted. Each dependency can
//! be killed (SIGKILL) and restarted, and new drift planted while it runs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::services::{CeleryWorker, DockerEngine, RedisServer, skip_unless_installed};
use crate::snapshot::{Plan, Planted, generate};

/// Something the daemon depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dependency {
    /// The Redis server (cache, broker, coordination).
    Redis,
    /// The Docker engine (scanner images).
    Docker,
    /// The Celery worker.
    Worker,
}

impl Dependency {
    /// All of them.
    pub const ALL: [Self; 3] = [Self::Redis, Self::Docker, Self::Worker];
}

/// The running platform.
pub struct Platform {
    /// Redis, with an append-only file (what was acknowledged survives a kill).
    pub redis: RedisServer,
    /// The Docker engine.
    pub engine: DockerEngine,
    /// The Celery worker.
    pub worker: CeleryWorker,
    /// The snapshot directory.
    pub snapshot: PathBuf,
    /// What the snapshot was generated with.
    pub planted: Planted,
    dir: tempfile::TempDir,
}

impl Platform {
    /// Start everything; `None` (with the reason printed) when a service is
    /// not installed here.
    pub fn start() -> Option<Self> {
        if skip_unless_installed(&["redis-server", "redis-cli", "celery", "dockerd", "docker"]) {
            return None;
        }
        let engine = DockerEngine::start()?;
        for image in ["aquasec/trivy:0.50.1", "anchore/grype:v0.74.0", "anchore/syft:v1.0.0"] {
            engine.import(image);
        }
        let redis = RedisServer::start_persistent();
        let dir = tempfile::tempdir().expect("tempdir");
        let snapshot = dir.path().join("snapshot");
        let planted = generate(&snapshot, &Plan::example(SystemTime::now())).expect("snapshot");
        let snapshot_env = snapshot.to_string_lossy().into_owned();
        let worker = CeleryWorker::start_with(&redis.url(), "celery", &[("VIGIL_TEST_SNAPSHOT", &snapshot_env)]);
        std::fs::create_dir_all(dir.path().join("bin")).expect("bin dir");
        Some(Self { redis, engine, worker, snapshot, planted, dir })
    }

    /// A scratch directory that lives as long as the platform.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `vigil.toml` text for a daemon on this platform: endpoints, the
    /// watchdog and Celery events. The cooldown is 20 s: longer than a task
    /// waits while the worker restarts (so a repair is never sent twice
    /// while it is still coming), short enough that a task the broker lost
    /// in a kill (Redis lists deliver at most once) is sent again and the
    /// drift still gets repaired. No scanner binaries on
    /// PATH, so the security-tools check follows the engine alone.
    pub fn config(&self) -> String {
        format!(
            "[endpoints]\nredis_url = \"{}\"\ndocker_host = \"{}\"\nexec_path = \"{}\"\nsnapshot_dir = \"{}\"\n\
             call_timeout = \"300ms\"\n[watchdog]\ncooldown = \"20s\"\nlease = \"3s\"\n[celery]\nqueues = [\"celery\"]\n",
            self.redis.url(),
            self.engine.host(),
            self.dir.path().join("bin").display(),
            self.snapshot.display()
        )
    }

    /// SIGKILL `dependency`.
    pub fn kill(&mut self, dependency: Dependency) {
        match dependency {
            Dependency::Redis => self.redis.kill(),
            Dependency::Docker => self.engine.kill(),
            Dependency::Worker => self.worker.kill(),
        }
    }

    /// Start `dependency` again and wait until it serves.
    pub fn restart(&mut self, dependency: Dependency) {
        match dependency {
            Dependency::Redis => self.redis.restart(),
            Dependency::Docker => self.engine.restart(),
            Dependency::Worker => self.worker.restart(),
        }
    }

    /// Kill `dependency`, wait until `seen` reports it down, restart it and
    /// wait until `seen` reports it up; how long each report took. Fails
    /// after `limit` either way.
    pub fn flap(
        &mut self,
        dependency: Dependency,
        limit: Duration,
        seen: impl Fn(Dependency) -> Option<bool>,
    ) -> (Duration, Duration) {
        self.kill(dependency);
        let down = timed(&format!("{dependency:?} seen down"), limit, || seen(dependency) == Some(false));
        self.restart(dependency);
        let up = timed(&format!("{dependency:?} seen up again"), limit, || seen(dependency) == Some(true));
        (down, up)
    }

    /// Add a scan run stuck in RUNNING for five hours (the file is replaced
    /// whole, so the daemon never reads half a line, under the lock the
    /// worker's recovery task takes to mark runs FAILED).
    pub fn plant_stuck_run(&self, run_id: &str) {
        let path = self.snapshot.join("cspm_orchestration/scan_runs.json");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path.with_extension("json.lock"))
            .expect("lock file");
        lock.lock().expect("flock");
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
        drop(lock);
    }
}

/// Poll `probe` every 20 ms until it holds; how long that took. Fails
/// naming `what` after `limit`.
pub fn timed(what: &str, limit: Duration, mut probe: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !probe() {
        assert!(started.elapsed() < limit, "{what} did not happen within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}

/// What the daemon at `addr` currently says about `dependency`: `Some(true)`
/// up, `Some(false)` down, `None` neither (not yet run, or in between).
/// Redis through the cache check's mode, the engine through the
/// security-tools check's, the worker through `vigil_celery_workers_online`.
pub async fn seen(addr: SocketAddr, dependency: Dependency) -> Option<bool> {
    match dependency {
        Dependency::Redis => match mode(addr, "cache-backend").await?.as_str() {
            "redis" => Some(true),
            "in-memory" => Some(false),
            _ => None,
        },
        Dependency::Docker => match mode(addr, "security-tools").await?.as_str() {
            "complete" => Some(true),
            "none" => Some(false),
            _ => None,
        },
        Dependency::Worker => {
            let metrics = crate::http_request(addr, "GET", "/metrics", &[]).await?.body;
            Some(crate::observe::metric_sum(&metrics, "vigil_celery_workers_online", &[]) >= 1.0)
        }
    }
}

/// The current mode of `check` in `/health/status`.
pub async fn mode(addr: SocketAddr, check: &str) -> Option<String> {
    let body = crate::http_request(addr, "GET", "/health/status", &[]).await?.body;
    let status: Value = serde_json::from_str(&body).ok()?;
    status["plugins"].as_array()?.iter().find(|p| p["name"] == check)?["result"]["mode"].as_str().map(str::to_owned)
}

/// The worker's record grouped by repair (`task args`): the distinct task
/// ids each ran under. One id per repair is exactly once; a repeated id is
/// Celery redelivering after a kill (at-least-once), not a second dispatch.
pub fn repairs(calls: &[Value]) -> BTreeMap<String, BTreeSet<String>> {
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for call in calls {
        let key = format!("{} {}", call["task"].as_str().unwrap_or_default(), call["args"]);
        ids.entry(key).or_default().insert(call["id"].as_str().unwrap_or_default().to_owned());
    }
    ids
}

/// The [`repairs`] key of the recovery of stuck run `run_id`.
pub fn stuck_repair(run_id: &str) -> String {
    format!("app.tasks.cspm.recover_stuck_scan [\"{run_id}\"]")
}
