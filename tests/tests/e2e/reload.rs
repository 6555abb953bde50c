//! Hot reload, driven explicitly (`Daemon::reload`, no timing): add,
//! replace, remove, rename, broken replacements that never replace a
//! working version, configuration changes, and an invalid configuration.

use std::sync::Arc;
use std::time::Instant;

use vigil_host::config::DaemonConfig;
use vigil_host::daemon::Daemon;
use vigil_host::reload::ReloadReport;
use vigil_tests::daemon::TestDaemon;
use vigil_tests::{PluginDir, fixtures};

fn config(dir: &PluginDir) -> DaemonConfig {
    let mut config =
        DaemonConfig { bundled_plugins: false, plugin_dirs: vec![dir.path().to_path_buf()], ..DaemonConfig::default() };
    config.origin.extra_plugin_dirs.clear();
    config
}

async fn reload(daemon: &Arc<Daemon>) -> ReloadReport {
    daemon.reload("test", Instant::now()).await
}

fn names(daemon: &Daemon) -> Vec<String> {
    daemon.plugins.load().plugins.iter().map(|p| p.name().to_owned()).collect()
}

fn version(daemon: &Daemon, name: &str) -> String {
    daemon
        .plugins
        .load()
        .plugins
        .iter()
        .find(|p| p.name() == name)
        .map(|p| p.manifest.version.to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_are_added_replaced_renamed_and_removed() {
    let dir = PluginDir::new();
    dir.misbehaving("alpha", "ok", "2s", "");
    let test = TestDaemon::start(config(&dir)).await;
    let daemon = &test.daemon;
    assert_eq!(names(daemon), ["alpha"]);
    // What the watcher's start compares (a plugin that landed before it).
    assert!(!daemon.plugins_drifted(), "the loaded set is the directory's");

    // Nothing changed: nothing reloads, the running instance is kept.
    let before = Arc::clone(&daemon.plugins.load().plugins[0]);
    let report = reload(daemon).await;
    assert_eq!((report.unchanged, report.added.len(), report.replaced.len()), (1, 0, 0), "{report:?}");
    assert!(Arc::ptr_eq(&before, &daemon.plugins.load().plugins[0]));

    // Add.
    dir.misbehaving("beta", "degraded", "2s", "");
    assert!(daemon.plugins_drifted(), "a plugin added after the load");
    let report = reload(daemon).await;
    assert_eq!(report.added, ["beta"]);
    assert!(!daemon.plugins_drifted());
    assert_eq!(names(daemon), ["alpha", "beta"]);
    let (entry, _) = test.wait_for("beta", std::time::Duration::from_secs(30), |p| p["status"] == "degraded").await;
    assert_eq!(entry["name"], "beta");

    // Replace: a new manifest version.
    let manifest = dir.path().join("alpha/plugin.toml");
    let text =
        std::fs::read_to_string(&manifest).expect("manifest").replace("version = \"0.0.1\"", "version = \"0.0.2\"");
    std::fs::write(&manifest, text).expect("manifest");
    let report = reload(daemon).await;
    assert_eq!(report.replaced, ["alpha"]);
    assert_eq!(version(daemon, "alpha"), "0.0.2");

    // Rename the directory: same plugin, new place.
    std::fs::rename(dir.path().join("beta"), dir.path().join("beta-moved")).expect("rename");
    let report = reload(daemon).await;
    assert_eq!(report.replaced, ["beta"], "{report:?}");
    assert_eq!(names(daemon), ["alpha", "beta"]);

    // Remove: the check leaves the plugin set, readiness and the results.
    std::fs::remove_dir_all(dir.path().join("beta-moved")).expect("remove");
    let report = reload(daemon).await;
    assert_eq!(report.removed, ["beta"]);
    assert_eq!(names(daemon), ["alpha"]);
    assert!(!daemon.results.snapshot().contains_key("beta"));
    let (_, status) = test.json("/health/status").await;
    assert!(status["plugins"].as_array().expect("plugins").iter().all(|p| p["name"] != "beta"));
    let metrics = test
        .wait_for_metrics(
            &["vigil_plugin_info{kind=\"check\",plugin=\"alpha\",version=\"0.0.2\"} 1"],
            std::time::Duration::from_secs(5),
        )
        .await;
    assert!(metrics.contains("vigil_plugin_reloads_total{outcome=\"success\"} 4"), "{metrics}");
}

/// A way to break a plugin: what it is, how, and what the rejection must say.
type Case<'a> = (&'a str, Box<dyn Fn() + 'a>, &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_replacement_never_replaces_a_working_plugin() {
    let dir = PluginDir::new();
    dir.misbehaving("steady", "ok", "2s", "");
    let test = TestDaemon::start(config(&dir)).await;
    let daemon = &test.daemon;
    let working = Arc::clone(&daemon.plugins.load().plugins[0]);
    let plugin_dir = dir.path().join("steady");
    let manifest = std::fs::read_to_string(plugin_dir.join("plugin.toml")).expect("manifest");

    let cases: [Case; 4] = [
        (
            "not wasm",
            Box::new(|| std::fs::write(plugin_dir.join("plugin.wasm"), b"not a component").expect("write")),
            "not a WebAssembly component",
        ),
        (
            "wrong world",
            Box::new(|| {
                std::fs::copy(fixtures::SCRUBBER_TINY, plugin_dir.join("plugin.wasm")).map(drop).expect("copy")
            }),
            "scrubber",
        ),
        (
            "traps on its canary run",
            Box::new(|| {
                std::fs::copy(fixtures::CHECK_MISBEHAVE, plugin_dir.join("plugin.wasm")).expect("copy");
                let text = manifest.replace("behaviour = \"ok\"", "behaviour = \"panic\"");
                std::fs::write(plugin_dir.join("plugin.toml"), text).expect("write");
            }),
            "canary check failed",
        ),
        (
            "broken manifest",
            Box::new(|| std::fs::write(plugin_dir.join("plugin.toml"), "name = \"steady\"\nkind = [").expect("write")),
            "plugin.toml",
        ),
    ];
    for (what, break_it, reason) in cases {
        break_it();
        let report = reload(daemon).await;
        assert!(report.replaced.is_empty() && report.removed.is_empty(), "{what}: {report:?}");
        let rejected = report
            .rejected
            .iter()
            .find(|r| r.name == "steady")
            .unwrap_or_else(|| panic!("{what}: not rejected: {report:?}"));
        assert!(rejected.kept_previous, "{what}");
        assert!(rejected.reason.contains(reason), "{what}: reason {:?} lacks {reason:?}", rejected.reason);
        assert!(Arc::ptr_eq(&working, &daemon.plugins.load().plugins[0]), "{what}: the working version was replaced");
        let (_, status) = test.json("/health/status").await;
        assert_eq!(status["rejected_plugins"][0]["name"], "steady", "{what}: {status}");
        // Restore the working files for the next case.
        std::fs::copy(fixtures::CHECK_MISBEHAVE, plugin_dir.join("plugin.wasm")).expect("restore component");
        std::fs::write(plugin_dir.join("plugin.toml"), &manifest).expect("restore manifest");
    }
    // A rejected upgrade is reported by the version its manifest names.
    std::fs::write(plugin_dir.join("plugin.wasm"), b"not a component").expect("write");
    std::fs::write(plugin_dir.join("plugin.toml"), manifest.replace("version = \"0.0.1\"", "version = \"0.0.9\""))
        .expect("write");
    let report = reload(daemon).await;
    assert_eq!(report.rejected.first().map(|r| r.version.as_str()), Some("0.0.9"), "{report:?}");
    let (_, status) = test.json("/health/status").await;
    assert_eq!(status["rejected_plugins"][0]["version"], "0.0.9", "{status}");
    std::fs::copy(fixtures::CHECK_MISBEHAVE, plugin_dir.join("plugin.wasm")).expect("restore component");
    std::fs::write(plugin_dir.join("plugin.toml"), &manifest).expect("restore manifest");
    // The files are the working version again: unchanged, and the rejection is cleared.
    let report = reload(daemon).await;
    assert_eq!(report.unchanged, 1, "{report:?}");
    assert!(report.rejected.is_empty(), "{report:?}");
    assert!(Arc::ptr_eq(&working, &daemon.plugins.load().plugins[0]));
    let metrics = test
        .wait_for_metrics(&["vigil_plugin_reloads_total{outcome=\"failure\"} 5"], std::time::Duration::from_secs(5))
        .await;
    assert!(metrics.contains("vigil_check_status{check=\"steady\""), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_changes_apply_or_are_rejected_whole() {
    let dir = PluginDir::new();
    dir.misbehaving("tuned", "ok", "2s", "interval = \"30s\"");
    let files = tempfile::tempdir().expect("tempdir");
    let path = files.path().join("vigil.toml");
    let cache = vigil_tests::shared_cache_dir();
    let write = |text: &str| {
        let head = format!("bundled_plugins = false\nplugin_dirs = [{:?}]\ncache_dir = {cache:?}\n", dir.path());
        std::fs::write(&path, format!("{head}{text}")).expect("config")
    };
    write("");
    let mut config = DaemonConfig::load(&path).expect("config");
    config.origin.path = Some(path.clone());
    let test = TestDaemon::start(config).await;
    let daemon = &test.daemon;
    let interval = |daemon: &Daemon| daemon.plugins.load().plugins[0].manifest.interval;
    assert_eq!(interval(daemon), std::time::Duration::from_secs(30));

    // Intervals and criticality apply: the plugin is reloaded with its new settings.
    write("[plugins.tuned]\ninterval = \"5s\"\ncritical = true\n");
    let report = reload(daemon).await;
    assert_eq!(report.config.outcome, "applied");
    assert_eq!(report.replaced, ["tuned"]);
    assert_eq!(interval(daemon), std::time::Duration::from_secs(5));
    assert!(daemon.plugins.load().plugins[0].manifest.critical);

    // An invalid file is rejected whole, the field named; nothing changes.
    write("[plugins.tuned]\ninterval = \"1s\"\nintervall = \"2s\"\n");
    let report = reload(daemon).await;
    assert_eq!(report.config.outcome, "rejected");
    assert!(report.config.error.as_deref().is_some_and(|e| e.contains("intervall")), "{report:?}");
    assert_eq!(interval(daemon), std::time::Duration::from_secs(5));

    // A new listen address needs a restart: reported, not applied; the rest applies.
    write("listen = \"127.0.0.1:1\"\n[plugins.tuned]\ninterval = \"7s\"\n");
    let report = reload(daemon).await;
    assert_eq!(report.config.restart_required, ["listen"]);
    assert_eq!(daemon.config.load().listen, vigil_host::config::DaemonConfig::default().listen);
    assert_eq!(interval(daemon), std::time::Duration::from_secs(7));
}

/// The real thing: `vigil run` watching a plugin directory. A plugin moved
/// in (atomic rename) goes live, SIGHUP and `POST /admin/reload` reload, and
/// a removed plugin leaves.
#[test]
fn the_daemon_watches_its_plugin_directory() {
    use std::time::Duration;
    use vigil_tests::process::VigilProcess;
    use vigil_tests::{http_request, wait_until};

    let live = PluginDir::new();
    let staging = PluginDir::new();
    let token = "reload-T0ken-5d1e";
    let vigil = VigilProcess::start(
        &["--no-bundled", "--plugins", &live.path().to_string_lossy()],
        None,
        &[("VIGIL_ADMIN_TOKEN", token)],
    );
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    let plugin_names = || -> Vec<String> {
        runtime
            .block_on(http_request(vigil.addr, "GET", "/health/status", &[]))
            .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok())
            .and_then(|s| {
                s["plugins"]
                    .as_array()
                    .map(|p| p.iter().filter_map(|p| p["name"].as_str().map(str::to_owned)).collect())
            })
            .unwrap_or_default()
    };

    staging.misbehaving("dropped-in", "ok", "2s", "");
    std::fs::rename(staging.path().join("dropped-in"), live.path().join("dropped-in")).expect("move in");
    // Bounded, generous (the whole suite compiles components in parallel on two cores).
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while plugin_names() != ["dropped-in"] {
        if std::time::Instant::now() > deadline {
            panic!("the dropped-in plugin did not load within 90 s:\n{}", vigil.stop());
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    // SIGHUP reloads (nothing changed: the plugin stays).
    assert!(
        std::process::Command::new("kill").args(["-HUP", &vigil.pid().to_string()]).status().expect("kill").success()
    );
    // The admin route reloads and reports.
    let auth = format!("Bearer {token}");
    let answer = runtime
        .block_on(http_request(vigil.addr, "POST", "/admin/reload", &[("Authorization", &auth)]))
        .expect("reload");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let report: serde_json::Value = serde_json::from_str(&answer.body).expect("report");
    assert_eq!(report["unchanged"], 1, "{report}");

    std::fs::remove_dir_all(live.path().join("dropped-in")).expect("remove");
    wait_until(Duration::from_secs(90), "the removed plugin to leave", || plugin_names().is_empty());
    let logs = vigil.stop();
    assert!(logs.contains("\"trigger\":\"SIGHUP\""), "SIGHUP did not reload:\n{logs}");
    assert!(logs.contains("\"trigger\":\"files changed\""), "{logs}");
}

/// Watchdogs are canaried too: a new version that traps when it evaluates
/// is rejected and the running one kept; a good one evaluates once and
/// dispatches nothing (here to a webhook that counts what it receives; the
/// rule loops are off, so only the canary evaluates).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchdogs_are_canaried_and_the_canary_dispatches_nothing() {
    let received = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&received);
    let hook = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { "ok" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, hook).await });

    let dir = PluginDir::new();
    let plugin_dir = dir.add(
        "guard",
        "watchdog",
        fixtures::WATCHDOG_MISBEHAVE,
        "interval = \"1h\"\n[grants]\ndispatch = [\"app.tasks.fixture.*\"]\n[config]\ntask = \"app.tasks.fixture.noop\"\n",
    );
    let text = format!(
        "[watchdog]\nenabled = false\ntarget = \"webhook\"\nwebhook_url = \"http://{addr}/hook\"\nwebhook_retries = 0\n"
    );
    let mut daemon_config = DaemonConfig::parse(&text, "vigil.toml").expect("config");
    daemon_config.bundled_plugins = false;
    daemon_config.plugin_dirs = vec![dir.path().to_path_buf()];
    daemon_config.origin.extra_plugin_dirs.clear();
    let test = TestDaemon::start(daemon_config).await;
    let daemon = &test.daemon;
    let manifest = std::fs::read_to_string(plugin_dir.join("plugin.toml")).expect("manifest");

    let upgrade = |version: &str, config: &str| {
        let text = manifest.replace("version = \"0.0.1\"", &format!("version = \"{version}\"")) + config;
        std::fs::write(plugin_dir.join("plugin.toml"), text).expect("write");
    };
    upgrade("0.0.2", "panic = true\n");
    let report = reload(daemon).await;
    let rejected = report.rejected.iter().find(|r| r.name == "guard").expect("rejected");
    assert!(rejected.reason.contains("canary watchdog failed"), "{}", rejected.reason);
    assert!(rejected.kept_previous && rejected.version == "0.0.2", "{rejected:?}");
    assert_eq!(version(daemon, "guard"), "0.0.1");

    upgrade("0.0.3", "");
    let report = reload(daemon).await;
    assert_eq!(report.replaced, ["guard"], "{report:?}");
    assert_eq!(version(daemon, "guard"), "0.0.3");
    assert_eq!(received.load(std::sync::atomic::Ordering::SeqCst), 0, "the canary dispatched");
}
