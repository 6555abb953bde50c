//! Everything the daemon writes is one JSON object per line with the fields
//! Promtail reads, and no credential survives: not in a plugin's log line,
//! not in an error, not in the configuration it echoes.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vigil_tests::{PluginDir, free_port, promtail_records, vigil_binary};

#[test]
fn daemon_logs_are_json_and_free_of_planted_secrets() {
    let dir = PluginDir::new();
    let secret = "hunter2-Sup3rSecret";
    dir.misbehaving(
        "leaky",
        "log-secret",
        "2s",
        &format!("interval = \"200ms\"\n[config]\nsecret = \"password={secret} mongodb://app:{secret}@db/x\""),
    );
    // `misbehaving` writes its own [config]; replace the manifest with one config table.
    let manifest = dir.path().join("leaky/plugin.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let text = text
        .replacen("[config]\nbehaviour = \"log-secret\"\n", "", 1)
        .replace("[config]\nsecret", "[config]\nbehaviour = \"log-secret\"\nsecret");
    std::fs::write(&manifest, text).expect("rewrite manifest");

    let port = free_port();
    let mut child = Command::new(vigil_binary())
        .args(["run", "--listen", &format!("127.0.0.1:{port}"), "--plugins"])
        .arg(dir.path())
        .env("VIGIL_CACHE_DIR", vigil_tests::shared_cache_dir())
        .env("REDIS_URL", format!("redis://:{secret}@127.0.0.1:1/0"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vigil runs");
    // Start the daemon, let the leaky check log, then stop it.
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "daemon did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Wait (bounded) until the leaky check has run, and so logged, twice.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    loop {
        let runs = runtime.block_on(vigil_tests::try_http_get(addr, "/health/status", &[])).and_then(|(_, _, body)| {
            let status: serde_json::Value = serde_json::from_str(&body).ok()?;
            status["plugins"].as_array()?.iter().find(|p| p["name"] == "leaky")?["runs"].as_u64()
        });
        if runs >= Some(2) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the leaky check did not run twice");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let mut logs = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut logs).expect("read logs");
    let _ = child.wait();

    assert!(!logs.contains(secret), "the planted secret reached the log:\n{logs}");
    let mut leaky_lines = 0;
    for record in promtail_records(&logs) {
        if record["plugin"] == "leaky" && record["logger"] == "vigil::plugin" {
            leaky_lines += 1;
            let message = record["message"].as_str().unwrap_or_default();
            assert!(message.contains("[REDACTED:"), "plugin line not scrubbed: {record}");
        }
    }
    assert!(leaky_lines >= 1, "the leaky plugin's log lines are missing:\n{logs}");
}
