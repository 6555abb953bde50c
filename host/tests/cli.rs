//! The `vigil` binary as a user runs it: help, one-shot commands, and the
//! daemon serving on a real socket until SIGTERM.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Daemon, free_port, get};

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

fn vigil() -> Command {
    let mut command = Command::new(VIGIL);
    // The artifact cache the end-to-end tests share: each component compiles once per run.
    command.env("VIGIL_CACHE_DIR", std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("vigil-artifacts"));
    command
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
        assert!(Instant::now() < deadline, "{path} did not become ready within {limit:?}");
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
    // No Redis is configured: the cache check reports the in-memory fallback.
    let status = wait_for(port, "/health/status", Duration::from_secs(30), |_, body| {
        body["plugins"]
            .as_array()
            .is_some_and(|plugins| plugins.iter().any(|p| p["name"] == "cache-backend" && p["status"] == "degraded"))
    });
    assert_eq!(status["failed_plugins"].as_array().map(Vec::len), Some(0));
    let plugins = status["plugins"].as_array().expect("plugins");
    let cache = plugins.iter().find(|p| p["name"] == "cache-backend").expect("cache-backend");
    assert_eq!(cache["result"]["mode"], "in-memory");
    assert_eq!(cache["result"]["optimal_mode"], "redis");
    assert_eq!(cache["result"]["impact"], "no cross-worker cache sharing");

    let pid = daemon.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs").success());
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
    daemon.0.stderr.take().expect("stderr").read_to_string(&mut logs).expect("logs");
    // The full Promtail contract is checked in tests/tests/e2e/logging.rs.
    for line in logs.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        for field in ["timestamp", "level", "logger", "message"] {
            assert!(record[field].is_string(), "{field} missing: {line}");
        }
    }
    assert!(logs.contains("shutdown requested") && logs.contains("vigil stopped"), "{logs}");
}

#[test]
fn check_prints_results_as_json_and_fails_when_a_subsystem_is_down() {
    // Nothing is configured: the database is down, so the exit code is 1.
    let output = vigil().args(["check", "--format", "json"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let checks = body["checks"].as_array().expect("checks");
    let check = |name: &str| checks.iter().find(|c| c["check"] == name).cloned().expect(name);
    assert_eq!(check("database")["status"], "down");
    assert_eq!(check("session-storage")["mode"], "in-memory");
    assert_eq!(check("scf-baseline")["mode"], "hard-coded");
}

#[test]
fn plugin_list_names_bundled_plugins() {
    let output = vigil().args(["plugin", "list"]).output().expect("runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for name in ["session-storage", "cache-backend", "security-tools", "database", "scf-baseline"] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
    assert!(text.contains("bundled plugin check-session-storage"), "{text}");
}

#[test]
fn plugin_test_runs_one_plugin_with_config_overrides() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/check-scf-baseline");
    let built = std::env::temp_dir().join(format!("vigil-plugin-test-{}", std::process::id()));
    std::fs::create_dir_all(&built).expect("dir");
    std::fs::copy(dir.join("plugin.toml"), built.join("plugin.toml")).expect("copy manifest");
    // The component comes from the bundled set, as `vigil run` would use it.
    let bundled = vigil_host::bundled::BUNDLED.iter().find(|b| b.package == "check-scf-baseline").expect("bundled");
    std::fs::write(built.join("check_scf_baseline.wasm"), bundled.component).expect("write component");

    // `--set` as documented, and `--config`, the name older scripts use.
    for flag in ["--set", "--config"] {
        let output =
            vigil().args(["plugin", "test"]).arg(&built).args([flag, "workbook=/etc/hostname"]).output().expect("runs");
        assert!(output.status.success(), "{flag}: {}", String::from_utf8_lossy(&output.stderr));
        let body: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(body["plugin"], "scf-baseline");
        assert_eq!(body["result"]["status"], "degraded");
        // The override reached the plugin, and the (empty) fs grant refused the file.
        let detail = body["result"]["detail"].as_str().expect("detail");
        assert!(detail.contains("cannot read /etc/hostname: fs: \"/etc/hostname\" is not granted"), "{flag}: {detail}");
    }
    let _ = std::fs::remove_dir_all(&built);
}

/// `--log-level` wins over `RUST_LOG`, which wins over the default (a
/// one-shot command's `warn`), as the README says.
#[test]
fn log_level_flag_wins_over_rust_log_which_wins_over_the_default() {
    let stderr = |rust_log: Option<&str>, flag: Option<&str>| {
        let mut command = vigil();
        command.env_remove("RUST_LOG").args(["check", "--format", "json"]);
        if let Some(filter) = rust_log {
            command.env("RUST_LOG", filter);
        }
        if let Some(level) = flag {
            command.args(["--log-level", level]);
        }
        String::from_utf8_lossy(&command.output().expect("runs").stderr).into_owned()
    };
    let info_lines = |text: &str| text.lines().filter(|l| l.contains(" INFO ")).count();
    assert_eq!(info_lines(&stderr(None, None)), 0, "one-shot default is warn");
    assert!(info_lines(&stderr(Some("info"), None)) > 0, "RUST_LOG=info shows info events");
    assert_eq!(info_lines(&stderr(Some("info"), Some("error"))), 0, "--log-level error wins over RUST_LOG");
}

#[test]
fn bad_config_file_is_named_with_its_field() {
    let path = std::env::temp_dir().join(format!("vigil-bad-{}.toml", std::process::id()));
    std::fs::write(&path, "listen = \"127.0.0.1:1\"\nplugin_dir = []\n").expect("write");
    let output = vigil().args(["check", "--config"]).arg(&path).output().expect("runs");
    let _ = std::fs::remove_file(&path);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&path.display().to_string()) && stderr.contains("unknown field `plugin_dir`"), "{stderr}");
}
