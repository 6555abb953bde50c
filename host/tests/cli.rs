//! The `vigil` binary as a user runs it: help, one-shot commands, and the
//! daemon serving on a real socket until SIGTERM.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

fn vigil() -> Command {
    let mut command = Command::new(VIGIL);
    // Keep tests from writing into the user's cache.
    command.env("VIGIL_CACHE_DIR", std::env::temp_dir().join("vigil-cli-test-cache"));
    command
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// GET `path`; `None` while nothing listens yet.
fn get(port: u16, path: &str) -> Option<(u16, serde_json::Value)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, serde_json::from_str(body).ok()?))
}

/// Poll until `ready` accepts an answer, at most `limit`.
fn wait_for(
    port: u16,
    path: &str,
    limit: Duration,
    ready: impl Fn(u16, &serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        if let Some((code, body)) = get(port, path)
            && ready(code, &body)
        {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{path} did not become ready within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn help_explains_every_command() {
    let output = vigil().arg("--help").output().expect("runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for command in ["run", "check", "plugin"] {
        assert!(help.contains(command), "--help lacks {command}: {help}");
    }
    let output = vigil().args(["plugin", "test", "--help"]).output().expect("runs");
    assert!(String::from_utf8_lossy(&output.stdout).contains("KEY=VALUE"));
}

#[test]
fn run_serves_health_routes_and_stops_on_sigterm() {
    let port = free_port();
    let child = vigil()
        .args(["run", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut daemon = Daemon(child);

    let live = wait_for(port, "/health/live", Duration::from_secs(60), |code, _| code == 200);
    assert_eq!(live["status"], "pass");
    let status = wait_for(port, "/health/status", Duration::from_secs(30), |_, body| {
        body["plugins"]
            .as_array()
            .is_some_and(|plugins| plugins.iter().any(|p| p["name"] == "example" && p["status"] == "ok"))
    });
    assert_eq!(status["failed_plugins"].as_array().map(Vec::len), Some(0));

    let pid = daemon.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs")
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = daemon.0.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "daemon did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(25));
    };
    assert!(exit.success(), "exit status {exit}");
    let mut logs = String::new();
    daemon
        .0
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logs)
        .expect("logs");
    for line in logs.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(record["timestamp"].is_string() && record["level"].is_string(), "{line}");
    }
    assert!(
        logs.contains("shutdown requested") && logs.contains("vigil stopped"),
        "{logs}"
    );
}

#[test]
fn check_prints_results_as_json() {
    let output = vigil().args(["check", "--format", "json"]).output().expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let example = body["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["check"] == "example")
        .expect("example");
    assert_eq!(example["status"], "ok");
    assert_eq!(example["mode"], "normal");
}

#[test]
fn plugin_list_names_bundled_plugins() {
    let output = vigil().args(["plugin", "list"]).output().expect("runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("example") && text.contains("bundled plugin check-example"),
        "{text}"
    );
}

#[test]
fn plugin_test_runs_one_plugin_with_config_overrides() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/check-example");
    let built = std::env::temp_dir().join(format!("vigil-plugin-test-{}", std::process::id()));
    std::fs::create_dir_all(&built).expect("dir");
    std::fs::copy(dir.join("plugin.toml"), built.join("plugin.toml")).expect("copy manifest");
    // The component comes from the bundled set, as `vigil run` would use it.
    let wasm = vigil_host::bundled::BUNDLED
        .iter()
        .find(|b| b.package == "check-example")
        .expect("bundled")
        .component;
    std::fs::write(built.join("check_example.wasm"), wasm).expect("write component");

    let output = vigil()
        .args(["plugin", "test"])
        .arg(&built)
        .args(["--config", "mode=turbo"])
        .output()
        .expect("runs");
    let _ = std::fs::remove_dir_all(&built);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(body["plugin"], "example");
    assert_eq!(body["result"]["status"], "ok");
    assert_eq!(body["result"]["mode"], "turbo");
}

#[test]
fn bad_config_file_is_named_with_its_field() {
    let path = std::env::temp_dir().join(format!("vigil-bad-{}.toml", std::process::id()));
    std::fs::write(&path, "listen = \"127.0.0.1:1\"\nplugin_dir = []\n").expect("write");
    let output = vigil().args(["check", "--config"]).arg(&path).output().expect("runs");
    let _ = std::fs::remove_file(&path);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&path.display().to_string()) && stderr.contains("unknown field `plugin_dir`"),
        "{stderr}"
    );
}
