//! Real services for tests, each started on its own loopback port or socket
//! and stopped by PID when dropped. A test whose service is not installed
//! says so ("skipped: ...") and returns; `.ci/run` installs them all.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::wait_until;

mod celery;
mod docker;
mod rsyslog;

pub use celery::CeleryWorker;
pub use docker::DockerEngine;
pub use rsyslog::Rsyslog;

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

/// Stop `child` with SIGTERM, SIGKILL after 10 s.
fn stop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
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

/// Send SIGKILL to `child` (or its whole process group) and reap it.
fn kill(child: &mut Child, group: bool) {
    let target = if group { format!("-{}", child.id()) } else { child.id().to_string() };
    let _ = Command::new("kill").args(["-KILL", "--", &target]).status();
    let _ = child.wait();
}

/// A `redis-server` on 127.0.0.1, in the foreground; without persistence
/// unless started with [`RedisServer::start_persistent`].
pub struct RedisServer {
    /// Its port.
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
    persistent: bool,
}

impl RedisServer {
    /// Start on a free port.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// Start on a free port with an append-only file synced on every write,
    /// as a production broker runs: what was acknowledged survives SIGKILL.
    pub fn start_persistent() -> Self {
        Self::start_with(true)
    }

    fn start_with(persistent: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Self { port: crate::free_port(), child: None, dir, persistent };
        server.restart();
        server
    }

    /// SIGKILL, at whatever moment: no shutdown, no final save.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(&mut child, false);
        }
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
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(if self.persistent {
                ["--appendonly", "yes", "--appendfsync", "always"]
            } else {
                ["--appendonly", "no", "--appendfsync", "everysec"]
            })
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
