//! Real services for tests, each started on its own loopback port or socket
//! and stopped by PID when dropped. A test whose service is not installed
//! says so ("skipped: ...") and returns; `.ci/run` installs them all.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::wait_until;

/// Whether `program` is on PATH.
pub fn installed(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// Print why a test is skipped; returns `true` when it must be. With
/// `VIGIL_REQUIRE_SERVICES` set (as `.ci/run` does), a missing program is a
/// failure instead.
pub fn skip_unless_installed(programs: &[&str]) -> bool {
    match programs.iter().find(|p| !installed(p)) {
        Some(missing) if std::env::var_os("VIGIL_REQUIRE_SERVICES").is_some() => {
            panic!("{missing} is not installed, and VIGIL_REQUIRE_SERVICES is set")
        }
        Some(missing) => {
            eprintln!("skipped: {missing} is not installed (.ci/run installs it)");
            true
        }
        None => false,
    }
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A `redis-server` on 127.0.0.1, in the foreground, without persistence.
pub struct RedisServer {
    /// Its port.
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Start on a free port.
    pub fn start() -> Self {
        let mut server = Self { port: crate::free_port(), child: None, dir: tempfile::tempdir().expect("temp dir") };
        server.restart();
        server
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Stop the server (SIGTERM by PID, then wait for it to exit).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child);
        }
    }

    /// Start it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let port = self.port;
        wait_until(Duration::from_secs(10), "redis-server", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Run a `redis-cli` command against it.
    pub fn cli(&self, args: &[&str]) -> String {
        let output =
            Command::new("redis-cli").args(["-p", &self.port.to_string()]).args(args).output().expect("redis-cli");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A Docker engine with its own socket, data and exec roots; no networking.
pub struct DockerEngine {
    child: Child,
    root: PathBuf,
    socket: PathBuf,
}

impl DockerEngine {
    /// Start `dockerd` (needs root). `None`, with a message, when it cannot run here.
    pub fn start() -> Option<Self> {
        if skip_unless_installed(&["dockerd", "docker"]) {
            return None;
        }
        let root = PathBuf::from(format!("/tmp/vd-{}-{}", std::process::id(), crate::free_port()));
        std::fs::create_dir_all(&root).expect("docker root");
        let socket = root.join("d.sock");
        let log = std::fs::File::create(root.join("dockerd.log")).expect("log file");
        let child = Command::new("dockerd")
            .args(["--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=vfs"])
            .arg("--data-root")
            .arg(root.join("data"))
            .arg("--exec-root")
            .arg(root.join("exec"))
            .arg("--pidfile")
            .arg(root.join("docker.pid"))
            .arg("--host")
            .arg(format!("unix://{}", socket.display()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("dockerd starts");
        let engine = Self { child, root, socket };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !engine.docker(&["version"]).status.success() {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(engine.root.join("dockerd.log")).unwrap_or_default();
                panic!("dockerd did not start:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(engine)
    }

    /// `unix:///...` address of the engine.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Run the docker client against this engine.
    pub fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker").arg("-H").arg(self.host()).args(args).output().expect("docker client runs")
    }

    /// Make an image offline: `docker import` of a tiny tarball.
    pub fn import(&self, reference: &str) {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("README"), reference).expect("write");
        let tar = Command::new("tar").arg("-C").arg(dir.path()).args(["-c", "."]).output().expect("tar");
        let mut import = Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .args(["import", "-", reference])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("docker import");
        use std::io::Write;
        import.stdin.take().expect("stdin").write_all(&tar.stdout).expect("send tarball");
        assert!(import.wait().expect("import finishes").success(), "docker import {reference} failed");
    }

    /// Remove an image.
    pub fn remove(&self, reference: &str) {
        let output = self.docker(&["rmi", reference]);
        assert!(output.status.success(), "docker rmi {reference}: {}", String::from_utf8_lossy(&output.stderr));
    }
}

impl Drop for DockerEngine {
    fn drop(&mut self) {
        stop(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Write an executable shell script `name` into `dir`.
pub fn script(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A long-running program started for a test, stopped by PID on drop, with
/// its output in a log file for failure messages.
pub struct Program {
    child: Child,
    log: PathBuf,
}

impl Program {
    /// Start `program` with `args`, logging to `log`.
    pub fn start(program: &str, args: &[String], log: PathBuf) -> Self {
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(program)
            .args(args)
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|err| panic!("{program} starts: {err}"));
        Self { child, log }
    }

    /// What it printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// A real Celery 5 worker (`-E`, solo pool) on a Redis broker, running the
/// stand-in platform tasks of `tests/celery/platform_tasks.py`.
pub struct CeleryWorker {
    program: Program,
    _dir: tempfile::TempDir,
}

impl CeleryWorker {
    /// Start a worker consuming `queue` from `broker` and wait until it is ready.
    pub fn start(broker: &str, queue: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let tasks = Path::new(env!("CARGO_MANIFEST_DIR")).join("celery");
        let hostname = format!("vigil-test-{}@localhost", crate::free_port());
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
            queue,
            "-n",
            &hostname,
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let log = dir.path().join("worker.log");
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new("celery")
            .args(&args)
            .current_dir(&tasks)
            .env("VIGIL_TEST_BROKER", broker)
            .env("PYTHONPATH", &tasks)
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("celery starts");
        let program = Program { child, log };
        wait_until(Duration::from_secs(60), "celery worker", || program.log().contains(" ready."));
        Self { program, _dir: dir }
    }

    /// What the worker logged.
    pub fn log(&self) -> String {
        self.program.log()
    }
}

/// The calls the stand-in tasks recorded, in order: (task, args, kwargs).
pub fn recorded_calls(redis: &RedisServer) -> Vec<serde_json::Value> {
    redis
        .cli(&["LRANGE", "vigil-test:calls", "0", "-1"])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|err| panic!("recorded call is not JSON ({err}): {l}")))
        .collect()
}

/// `promtool check metrics` on `exposition`: fails the test on any finding.
pub fn promtool_check_metrics(exposition: &str) {
    use std::io::Write;
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    promtool.stdin.take().expect("stdin").write_all(exposition.as_bytes()).expect("feed promtool");
    let output = promtool.wait_with_output().expect("promtool finishes");
    let findings = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && findings.trim().is_empty(), "promtool findings:\n{findings}");
}
