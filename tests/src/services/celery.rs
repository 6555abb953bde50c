//! A real Celery worker running the stand-in platform tasks, for tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{Program, kill};
use crate::wait_until;

/// A real Celery 5 worker (`-E`, solo pool) on a Redis broker, running the
/// stand-in platform tasks of `tests/celery/platform_tasks.py`. It sends a
/// heartbeat event every second, so a monitor notices a dead worker soon.
pub struct CeleryWorker {
    program: Option<Program>,
    broker: String,
    queue: String,
    hostname: String,
    dir: tempfile::TempDir,
    starts: u32,
    envs: Vec<(String, String)>,
}

impl CeleryWorker {
    /// Start a worker consuming `queue` from `broker` and wait until it is ready.
    pub fn start(broker: &str, queue: &str) -> Self {
        Self::start_with(broker, queue, &[])
    }

    /// [`CeleryWorker::start`] with extra environment for the tasks
    /// (`VIGIL_TEST_SNAPSHOT`: the recovery task repairs that snapshot).
    pub fn start_with(broker: &str, queue: &str, envs: &[(&str, &str)]) -> Self {
        let mut worker = Self {
            envs: envs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            program: None,
            broker: broker.to_owned(),
            queue: queue.to_owned(),
            hostname: format!("vigil-test-{}@localhost", crate::free_port()),
            dir: tempfile::tempdir().expect("temp dir"),
            starts: 0,
        };
        worker.restart();
        worker
    }

    /// Start it again (same name, queue and broker) and wait until it is ready.
    pub fn restart(&mut self) {
        self.kill();
        self.starts += 1;
        let tasks = Path::new(env!("CARGO_MANIFEST_DIR")).join("celery");
        let args: Vec<String> = [
            "-A",
            "platform_tasks",
            "worker",
            "-E",
            "-P",
            "solo",
            "-c",
            "1",
            "-Q",
            &self.queue,
            "-n",
            &self.hostname,
            "--heartbeat-interval",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let log = self.log_path();
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new("celery")
            .args(&args)
            .current_dir(&tasks)
            .env("VIGIL_TEST_BROKER", &self.broker)
            .env("PYTHONPATH", &tasks)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("celery starts");
        let program = Program { child, log };
        wait_until(Duration::from_secs(60), "celery worker", || program.log().contains(" ready."));
        self.program = Some(program);
    }

    /// SIGKILL the worker, whatever it is doing.
    pub fn kill(&mut self) {
        if let Some(mut program) = self.program.take() {
            kill(&mut program.child, false);
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("worker-{}.log", self.starts))
    }

    /// What the running worker logged.
    pub fn log(&self) -> String {
        self.program.as_ref().map(Program::log).unwrap_or_default()
    }
}
