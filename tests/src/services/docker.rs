//! A real Docker engine on its own socket, for tests.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{kill, skip_unless_installed, stop};

/// A Docker engine with its own socket, data and exec roots; no networking.
/// [`DockerEngine::kill`] takes its containerd (a session of its own) down
/// with it, as a crashed host would.
pub struct DockerEngine {
    child: Option<Child>,
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
        let mut engine = Self { child: None, root, socket };
        engine.restart();
        Some(engine)
    }

    /// Start it again on the same socket and data (images survive).
    pub fn restart(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.socket);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("dockerd.log"))
            .expect("log file");
        let child = Command::new("dockerd")
            .args(["--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=vfs"])
            .arg("--data-root")
            .arg(self.root.join("data"))
            .arg("--exec-root")
            .arg(self.root.join("exec"))
            .arg("--pidfile")
            .arg(self.root.join("docker.pid"))
            .arg("--host")
            .arg(format!("unix://{}", self.socket.display()))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("dockerd starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.docker(&["version"]).status.success() {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.root.join("dockerd.log")).unwrap_or_default();
                panic!("dockerd did not start:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL the engine and its containerd. Their pid files stay behind
    /// and are removed, as an init system would after a crash: dockerd
    /// refuses to start over its own, and waits forever on a containerd
    /// whose (unreaped) pid still exists.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(&mut child, true);
        }
        let containerd_pid = self.root.join("exec/containerd/containerd.pid");
        if let Ok(pid) = std::fs::read_to_string(&containerd_pid) {
            let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
        }
        let _ = std::fs::remove_file(containerd_pid);
        let _ = std::fs::remove_file(self.root.join("docker.pid"));
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
        if let Some(mut child) = self.child.take() {
            stop(&mut child);
        }
        self.kill();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
