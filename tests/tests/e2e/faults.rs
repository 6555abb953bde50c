//! A plugin that misbehaves is contained: the call reports `down` with a
//! reason an operator understands, the next call gets a fresh instance, and
//! the plugins beside it keep reporting ok.

use std::sync::Arc;

use vigil_host::loader::{self, PluginSources};
use vigil_host::results::{ResultsStore, Status};
use vigil_host::runtime::Plugin;
use vigil_host::scheduler;
use vigil_tests::{PluginDir, runtime};

async fn load(dir: &PluginDir) -> Vec<Arc<Plugin>> {
    let sources = PluginSources { bundled: false, dirs: vec![dir.path().to_path_buf()] };
    let report = loader::load_all(&runtime(), &sources, &Default::default()).await;
    assert!(report.failures.is_empty(), "unexpected load failures: {:?}", report.failures);
    report.plugins
}

fn find<'a>(plugins: &'a [Arc<Plugin>], name: &str) -> &'a Arc<Plugin> {
    plugins.iter().find(|p| p.name() == name).unwrap_or_else(|| panic!("plugin {name} loaded"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_is_contained_and_explained() {
    let dir = PluginDir::new();
    dir.misbehaving("good", "ok", "2s", "");
    dir.misbehaving("degraded", "degraded", "2s", "");
    dir.misbehaving("looper", "loop", "300ms", "");
    dir.misbehaving("hog", "alloc", "5s", "");
    dir.misbehaving("panicker", "panic", "2s", "");
    dir.misbehaving("recurser", "recurse", "5s", "");
    dir.misbehaving("chatty", "big-string", "10s", "[limits]\nmemory_mib = 256\n");
    dir.misbehaving("sneaky", "ungranted", "2s", "");
    dir.misbehaving("failing", "error", "2s", "");
    let plugins = load(&dir).await;
    let results = Arc::new(ResultsStore::new());

    // Run all of them at once: the faults must not disturb the good one.
    let mut tasks = tokio::task::JoinSet::new();
    for plugin in &plugins {
        let (plugin, results) = (Arc::clone(plugin), Arc::clone(&results));
        tasks.spawn(async move { (plugin.name().to_owned(), scheduler::run_once(&plugin, &results).await) });
    }
    let mut outcomes = std::collections::BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (name, result) = joined.expect("task did not panic");
        outcomes.insert(name, result);
    }

    let expect = |name: &str, status: Status, fault: Option<&str>, detail: &str| {
        let result = &outcomes[name];
        assert_eq!(result.status, status, "{name}: {result:?}");
        assert_eq!(result.fault, fault, "{name}: {result:?}");
        assert!(result.detail.contains(detail), "{name}: detail {:?} lacks {detail:?}", result.detail);
    };
    expect("good", Status::Ok, None, "fine");
    expect("degraded", Status::Degraded, None, "fallback");
    expect("looper", Status::Down, Some("timeout"), "timed out after 300ms");
    expect("hog", Status::Down, Some("memory_limit"), "exceeded memory limit of 64 MiB");
    expect("panicker", Status::Down, Some("panic"), "panicked: fixture panicked on purpose");
    expect("recurser", Status::Down, Some("stack_overflow"), "stack overflow");
    expect("chatty", Status::Down, Some("oversized"), "oversized detail: 100000000 bytes");
    expect("sneaky", Status::Down, None, "NotGranted");
    expect("failing", Status::Down, Some("plugin_error"), "the fixture failed on purpose");
    assert_eq!(outcomes["degraded"].optimal_mode, "normal");

    // The next call of a faulted plugin runs in a fresh instance and fails
    // the same way (not with a poisoned-store error); the good one is still ok.
    let panicker = find(&plugins, "panicker");
    let again = scheduler::run_once(panicker, &results).await;
    assert_eq!(again.fault, Some("panic"), "{again:?}");
    let good = find(&plugins, "good");
    for _ in 0..3 {
        assert_eq!(scheduler::run_once(good, &results).await.status, Status::Ok);
    }
    let record = results.get("panicker").expect("recorded");
    assert_eq!((record.runs, record.faults), (2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_plugin_does_not_block_other_calls() {
    let dir = PluginDir::new();
    dir.misbehaving("good", "ok", "2s", "");
    dir.misbehaving("looper", "loop", "3s", "");
    let plugins = load(&dir).await;
    let results = Arc::new(ResultsStore::new());
    let looper = Arc::clone(find(&plugins, "looper"));
    let loop_results = Arc::clone(&results);
    let looping = tokio::spawn(async move { scheduler::run_once(&looper, &loop_results).await });

    // While the loop burns its 3 s budget, the good plugin answers repeatedly.
    let good = find(&plugins, "good");
    for _ in 0..20 {
        assert_eq!(scheduler::run_once(good, &results).await.status, Status::Ok);
    }
    assert!(!looping.is_finished(), "the looping call ended before 20 good calls finished");
    let timed_out = looping.await.expect("no panic");
    assert_eq!(timed_out.fault, Some("timeout"));
}
