//! `/metrics` against the Prometheus tools: `promtool check metrics` on a
//! live scrape, the shipped rules and configs through promtool and amtool,
//! the dashboard's queries against the real exposition, and a real
//! Prometheus scraping a daemon and sending an alert to a real Alertmanager.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use vigil_host::config::{PluginOverride, Secret};
use vigil_tests::daemon::{TestDaemon, only_bundled};
use vigil_tests::services::{Program, RedisServer, skip_unless_installed};
use vigil_tests::{PluginDir, free_port, try_http_get};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// A daemon with the bundled checks and fixtures that trap, get refused and degrade.
async fn busy_daemon(dir: &PluginDir) -> TestDaemon {
    dir.misbehaving("panicker", "panic", "2s", "");
    dir.misbehaving("sneaky", "ungranted", "2s", "");
    dir.misbehaving("slow-lane", "degraded", "2s", "");
    let mut config = vigil_host::config::DaemonConfig::default();
    config.plugin_dirs.push(dir.path().to_path_buf());
    let daemon = TestDaemon::start(config).await;
    for name in ["panicker", "sneaky", "slow-lane", "session-storage", "scf-baseline", "security-tools", "database"] {
        daemon.wait_for(name, Duration::from_secs(60), |e| e["runs"].as_u64() >= Some(1)).await;
    }
    daemon
}

async fn scrape(daemon: &TestDaemon) -> String {
    let (code, content_type, body) = daemon.request("/metrics", &[]).await;
    assert_eq!(code, 200);
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_exposition_passes_promtool_without_findings() {
    if skip_unless_installed(&["promtool"]) {
        return;
    }
    let dir = PluginDir::new();
    let daemon = busy_daemon(&dir).await;
    daemon.request("/health/ready?verbose", &[]).await;
    // Plain probes are answered before routing (`server::Probes`), and
    // counted under the same labels as routed requests.
    daemon.request("/health/ready", &[]).await;
    daemon.request("/health/live", &[]).await;
    daemon.request("/no/such/page", &[]).await;
    let exposition = scrape(&daemon).await;

    vigil_tests::services::promtool_check_metrics(&exposition);

    for expected in [
        "vigil_build_info{git_commit=",
        "vigil_check_status{check=\"panicker\",status=\"down\",subsystem=\"fixture\"} 1",
        "vigil_check_runs_total{check=\"panicker\",outcome=\"trap\"} 1",
        "vigil_plugin_traps_total{plugin=\"panicker\",reason=\"panic\"} 1",
        "vigil_capability_refusals_total{capability=\"exec\",plugin=\"sneaky\"} 1",
        "vigil_subsystem_mode{check=\"slow-lane\",mode=\"fallback\",optimal=\"normal\",subsystem=\"fixture\"} 1",
        "vigil_subsystem_degraded{check=\"slow-lane\",subsystem=\"fixture\"} 1",
        "vigil_subsystem_mode{check=\"session-storage\",mode=\"in-memory\",optimal=\"redis\",subsystem=\"session-storage\"} 1",
        "vigil_check_critical{check=\"database\"} 1",
        "vigil_ready 0",
        "vigil_observed_controls{check=\"scf-baseline\"} 80",
        "vigil_observed_tool_available{check=\"security-tools\",tool=\"trivy\"} 0",
        "vigil_plugins_loaded{kind=\"check\"} 10",
        "vigil_plugins_loaded{kind=\"watchdog\"} 3",
        "vigil_plugins_loaded{kind=\"index-profile\"} 1",
        "vigil_plugins_loaded{kind=\"scrubber\"} 4",
        "vigil_scrubber_redactions_total{rule=\"aws-access-key-id\"} ",
        "vigil_http_requests_total{method=\"GET\",route=\"/health/ready\",status=\"503\"} 2",
        "vigil_http_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"} 1",
        "vigil_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
        "vigil_check_duration_seconds_bucket{check=\"database\",le=",
        "vigil_process_resident_memory_bytes ",
        "vigil_process_open_fds ",
    ] {
        assert!(exposition.contains(expected), "missing {expected:?} in:\n{exposition}");
    }
    // Each scheduled run records how late it started, once it holds a CPU slot.
    let late = exposition
        .lines()
        .find_map(|l| l.strip_prefix("vigil_check_start_lateness_seconds_count "))
        .and_then(|v| v.trim().parse::<f64>().ok());
    assert!(late.is_some_and(|runs| runs >= 7.0), "lateness of the seven checks that ran: {late:?}");
    // Built from this work tree: the commit is the one checked out.
    let head = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output();
    if let Some(head) = head.ok().filter(|o| o.status.success()) {
        let commit = String::from_utf8_lossy(&head.stdout).trim().to_owned();
        assert!(
            exposition.contains(&format!("git_commit=\"{commit}\"")),
            "build_info without commit {commit}:\n{exposition}"
        );
    }
}

fn run_tool(dir: &Path, program: &str, args: &[&str]) {
    let output = Command::new(program).current_dir(dir).args(args).output().expect("tool runs");
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn shipped_prometheus_and_alertmanager_files_pass_their_tools() {
    if skip_unless_installed(&["promtool", "amtool"]) {
        return;
    }
    let prometheus = examples().join("prometheus");
    run_tool(&prometheus, "promtool", &["check", "config", "prometheus.yml"]);
    run_tool(&prometheus, "promtool", &["check", "rules", "alerts.yml"]);
    run_tool(&prometheus, "promtool", &["test", "rules", "alerts_test.yml"]);
    run_tool(&examples().join("alertmanager"), "amtool", &["check-config", "alertmanager.yml"]);
}

/// Metric families the dashboard shows that have no samples in a daemon
/// without watchdog plugins (labelled families appear with their first
/// sample), or whose capability does not exist yet (index state).
const FUTURE_FAMILIES: &[&str] = &["vigil_watchdog_findings", "vigil_watchdog_dispatches_total", "vigil_index_state"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_queries_name_metrics_the_daemon_exports() {
    let text = std::fs::read_to_string(examples().join("grafana/offload-operations.json")).expect("dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let variables: Vec<(&str, &str)> = dashboard["templating"]["list"]
        .as_array()
        .expect("templating")
        .iter()
        .filter(|v| v["type"] == "datasource")
        .map(|v| (v["name"].as_str().unwrap_or_default(), v["query"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(variables, [("DS_PROMETHEUS", "prometheus"), ("DS_LOKI", "loki")]);

    let dir = PluginDir::new();
    let daemon = busy_daemon(&dir).await;
    daemon.request("/health/live", &[]).await;
    let exposition = scrape(&daemon).await;
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut queried = 0;
    for panel in panels.iter().filter(|p| p["type"] != "row") {
        for target in panel["targets"].as_array().expect("targets") {
            let uid = target["datasource"]["uid"].as_str().expect("datasource uid");
            assert!(uid == "${DS_PROMETHEUS}" || uid == "${DS_LOKI}", "panel {} uses {uid}", panel["title"]);
            let expr = target["expr"].as_str().expect("expr");
            for family in
                expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| w.starts_with("vigil_"))
            {
                let base = family.trim_end_matches("_bucket");
                if FUTURE_FAMILIES.contains(&base) {
                    continue;
                }
                assert!(
                    exposition.contains(&format!("\n{base}")),
                    "panel {} queries {base}, not exported",
                    panel["title"]
                );
                queried += 1;
            }
        }
    }
    assert!(queried >= 10, "the dashboard should query Vigil's metrics");
}

/// A Prometheus API answer; `Null` while Prometheus is not answering yet.
async fn prometheus_query(addr: std::net::SocketAddr, path: &str) -> serde_json::Value {
    match try_http_get(addr, path, &[]).await {
        Some((200, _, body)) => serde_json::from_str(&body).unwrap_or_default(),
        _ => serde_json::Value::Null,
    }
}

async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F, logs: &[&Program])
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        if started.elapsed() > limit {
            let logs: Vec<String> = logs.iter().map(|p| p.log()).collect();
            panic!("{what} within {limit:?}; logs:\n{}", logs.join("\n----\n"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_vigil_and_alertmanager_receives_the_alert() {
    if skip_unless_installed(&["prometheus", "prometheus-alertmanager", "redis-server"]) {
        return;
    }
    let mut redis = RedisServer::start();
    let mut config = only_bundled(&["session-storage"]);
    config.endpoints.redis_url = Some(Secret::Literal(redis.url()));
    config.endpoints.call_timeout = Duration::from_millis(500);
    config.plugins.insert(
        "session-storage".into(),
        PluginOverride { interval: Some(Duration::from_millis(500)), ..Default::default() },
    );
    let daemon = TestDaemon::start(config).await;
    daemon.wait_for("session-storage", Duration::from_secs(20), |e| e["status"] == "ok").await;

    // The shipped files, pointed at this test's ports, with the intervals and
    // `for:` durations shortened so the test takes seconds, not minutes.
    let work = tempfile::tempdir().expect("temp dir");
    let (prometheus_port, alertmanager_port) = (free_port(), free_port());
    let shipped = std::fs::read_to_string(examples().join("prometheus/prometheus.yml")).expect("prometheus.yml");
    let prometheus_yml = shipped
        .replace("127.0.0.1:8787", &daemon.addr.to_string())
        .replace("127.0.0.1:9093", &format!("127.0.0.1:{alertmanager_port}"))
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("evaluation_interval: 15s", "evaluation_interval: 1s");
    std::fs::write(work.path().join("prometheus.yml"), prometheus_yml).expect("write config");
    let alerts = std::fs::read_to_string(examples().join("prometheus/alerts.yml")).expect("alerts.yml");
    let alerts = zero_for_durations(&alerts);
    std::fs::write(work.path().join("alerts.yml"), alerts).expect("write rules");
    let alertmanager = Program::start(
        "prometheus-alertmanager",
        &[
            format!("--config.file={}", examples().join("alertmanager/alertmanager.yml").display()),
            format!("--storage.path={}", work.path().join("am").display()),
            format!("--web.listen-address=127.0.0.1:{alertmanager_port}"),
            "--cluster.listen-address=".to_owned(),
        ],
        work.path().join("alertmanager.log"),
    );
    let prometheus = Program::start(
        "prometheus",
        &[
            format!("--config.file={}", work.path().join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", work.path().join("tsdb").display()),
            format!("--web.listen-address=127.0.0.1:{prometheus_port}"),
        ],
        work.path().join("prometheus.log"),
    );
    let prometheus_addr: std::net::SocketAddr = format!("127.0.0.1:{prometheus_port}").parse().expect("addr");
    let alertmanager_addr: std::net::SocketAddr = format!("127.0.0.1:{alertmanager_port}").parse().expect("addr");
    let logs = [&prometheus, &alertmanager];

    let query = |q: &'static str| async move {
        let body = prometheus_query(prometheus_addr, &format!("/api/v1/query?query={q}")).await;
        body["data"]["result"].as_array().cloned().unwrap_or_default()
    };
    wait_until(
        "Prometheus scrapes Vigil (up == 1)",
        Duration::from_secs(60),
        || async { query("up").await.iter().any(|r| r["value"][1] == "1") },
        &logs,
    )
    .await;
    let modes = query("vigil_subsystem_mode").await;
    assert!(modes.iter().any(|r| r["metric"]["mode"] == "redis"), "{modes:?}");

    // Redis goes away: the subsystem degrades, the shipped alert fires, and
    // Alertmanager receives it.
    redis.stop();
    daemon.wait_for("session-storage", Duration::from_secs(20), |e| e["status"] == "degraded").await;
    wait_until(
        "VigilSubsystemDegraded fires in Prometheus",
        Duration::from_secs(60),
        || async {
            let body = prometheus_query(prometheus_addr, "/api/v1/alerts").await;
            body["data"]["alerts"].as_array().is_some_and(|alerts| {
                alerts.iter().any(|a| a["labels"]["alertname"] == "VigilSubsystemDegraded" && a["state"] == "firing")
            })
        },
        &logs,
    )
    .await;
    wait_until(
        "Alertmanager receives VigilSubsystemDegraded",
        Duration::from_secs(60),
        || async {
            let Some((code, _, body)) = try_http_get(alertmanager_addr, "/api/v2/alerts", &[]).await else {
                return false;
            };
            code == 200
                && serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.as_array().cloned())
                    .is_some_and(|alerts| {
                        alerts.iter().any(|a| {
                            a["labels"]["alertname"] == "VigilSubsystemDegraded"
                                && a["labels"]["subsystem"] == "session-storage"
                                && a["labels"]["severity"] == "warning"
                        })
                    })
        },
        &logs,
    )
    .await;
}

/// `for: 10m` and friends become `for: 0s`.
fn zero_for_durations(rules: &str) -> String {
    rules
        .lines()
        .map(|line| match line.trim_start().strip_prefix("for: ") {
            Some(_) => format!("{}for: 0s", &line[..line.len() - line.trim_start().len()]),
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
