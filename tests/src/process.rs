//! `vigil run` as a child process on a free loopback port, its log captured,
//! stopped with SIGTERM.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// A running `vigil run`. Its stderr is read as it is written (a long run
/// would otherwise fill the pipe and block the daemon's logging).
pub struct VigilProcess {
    child: Child,
    /// Where it serves.
    pub addr: SocketAddr,
    logs: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

/// Whether `vigil run` at `addr` answers and has loaded its plugins (it
/// listens first; readiness says "starting" until the load is done).
fn loaded(addr: SocketAddr) -> bool {
    use std::io::Write;
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream.write_all(b"GET /health/ready HTTP/1.1\r\nHost: vigil\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    stream.read_to_string(&mut answer).is_ok() && answer.starts_with("HTTP/1.1") && !answer.contains("starting:")
}

impl VigilProcess {
    /// Start `vigil run` with `args` and `envs` (plus the shared artifact
    /// cache) and wait until it has loaded its plugins.
    pub fn start(args: &[&str], config: Option<&Path>, envs: &[(&str, &str)]) -> Self {
        let port = crate::free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut command = Command::new(crate::vigil_binary());
        command.args(["run", "--listen", &addr.to_string()]).args(args);
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let child = command
            .env("VIGIL_CACHE_DIR", crate::shared_cache_dir())
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("vigil runs");
        let mut child = child;
        let logs = Arc::new(Mutex::new(Vec::new()));
        let reader = child.stderr.take().map(|mut stderr| {
            let logs = Arc::clone(&logs);
            std::thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                while let Ok(n @ 1..) = stderr.read(&mut chunk) {
                    logs.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(&chunk[..n]);
                }
            })
        });
        let process = Self { child, addr, logs, reader };
        crate::wait_until(Duration::from_secs(60), "vigil run to load its plugins", || loaded(addr));
        process
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&self.logs.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }

    /// Stop with SIGTERM; returns everything it logged. Fails the test if it
    /// does not exit cleanly or if any log line is not what Promtail reads
    /// (so every daemon a test runs checks the log contract).
    pub fn stop(mut self) -> String {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let status = self.child.wait().expect("wait for vigil");
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let logs = self.log();
        assert!(status.success(), "vigil exited with {status}:\n{logs}");
        crate::promtail_records(&logs);
        logs
    }
}

impl Drop for VigilProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `vigil scrub --follow INPUT --output OUTPUT` as a child process.
pub struct ScrubFollower {
    child: Child,
    /// The scrubbed copy.
    pub output: PathBuf,
}

impl ScrubFollower {
    /// Start following `input` (which need not exist yet) into `output`.
    pub fn start(input: &Path, output: PathBuf) -> Self {
        Self::start_with(input, output, &[])
    }

    /// The same, with more arguments (`--max-file-bytes`, ...).
    pub fn start_with(input: &Path, output: PathBuf, args: &[&str]) -> Self {
        let child = Command::new(crate::vigil_binary())
            .arg("scrub")
            .arg("--follow")
            .arg(input)
            .arg("--output")
            .arg(&output)
            .args(args)
            .env("VIGIL_CACHE_DIR", crate::shared_cache_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("vigil scrub runs");
        Self { child, output }
    }

    /// Lines written to the output so far.
    pub fn lines(&self) -> usize {
        std::fs::read(&self.output).map_or(0, |bytes| bytes.iter().filter(|b| **b == b'\n').count())
    }

    /// Stop it with SIGTERM; how it exited.
    pub fn stop(mut self) -> ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        self.child.wait().expect("wait for vigil scrub")
    }
}

impl Drop for ScrubFollower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
