//! `vigil run` as a child process on a free loopback port, its log captured,
//! stopped with SIGTERM.

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `vigil run`.
pub struct VigilProcess {
    child: Child,
    /// Where it serves.
    pub addr: SocketAddr,
}

impl VigilProcess {
    /// Start `vigil run` with `args` and `envs` (plus the shared artifact
    /// cache) and wait until it accepts connections.
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
        let process = Self { child, addr };
        crate::wait_until(Duration::from_secs(60), "vigil run", || std::net::TcpStream::connect(addr).is_ok());
        process
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stop with SIGTERM; returns everything it logged. Fails the test if it
    /// does not exit cleanly or if any log line is not what Promtail reads
    /// (so every daemon a test runs checks the log contract).
    pub fn stop(mut self) -> String {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let mut logs = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut logs);
        }
        let status = self.child.wait().expect("wait for vigil");
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
