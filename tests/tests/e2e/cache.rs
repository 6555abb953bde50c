//! The artifact cache: a warm entry is reused, a corrupt one is recompiled
//! and replaced, never trusted. Plugins with the same component share one
//! compiled copy; only hot plugins keep an instance between calls.

use vigil_host::manifest::Manifest;
use vigil_host::runtime::{self, CacheOutcome, Origin, Runtime, RuntimeOptions};
use vigil_tests::fixtures;

fn source() -> runtime::PluginSource {
    named("cached", "check", fixtures::CHECK_MISBEHAVE, "15s")
}

fn named(name: &str, kind: &str, wasm: &str, interval: &str) -> runtime::PluginSource {
    let manifest = Manifest::parse(
        &format!(
            "name = \"{name}\"\nkind = \"{kind}\"\nversion = \"1\"\ncomponent = \"x.wasm\"\ninterval = \"{interval}\"\n"
        ),
        "plugin.toml",
    )
    .expect("valid manifest");
    let wasm = std::fs::read(wasm).expect("fixture");
    runtime::source(manifest, Origin::Bundled(name.into()), wasm)
}

fn runtime_in(dir: &std::path::Path) -> Runtime {
    Runtime::new(RuntimeOptions { cache_dir: Some(dir.to_path_buf()) }, Default::default()).expect("runtime")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_hits_and_corrupt_entries_are_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = runtime_in(dir.path()).prepare(source()).await.expect("loads");
    assert_eq!(first.cache_outcome, CacheOutcome::Miss);

    let second = runtime_in(dir.path()).prepare(source()).await.expect("loads");
    assert_eq!(second.cache_outcome, CacheOutcome::Hit);

    let entry = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("one cache entry");
    let mut bytes = std::fs::read(&entry).expect("read entry");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&entry, &bytes).expect("corrupt entry");
    let third = runtime_in(dir.path()).prepare(source()).await.expect("recompiles");
    assert_eq!(third.cache_outcome, CacheOutcome::Replaced);
    let results = vigil_host::results::ResultsStore::new();
    assert_eq!(vigil_host::scheduler::run_once(&third, &results).await.fault, None);

    std::fs::write(&entry, b"garbage").expect("truncate entry");
    let fourth = runtime_in(dir.path()).prepare(source()).await.expect("recompiles");
    assert_eq!(fourth.cache_outcome, CacheOutcome::Replaced);
    let fifth = runtime_in(dir.path()).prepare(source()).await.expect("loads");
    assert_eq!(fifth.cache_outcome, CacheOutcome::Hit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_of_one_component_compile_once_and_share_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = runtime_in(dir.path());
    let mut loads = tokio::task::JoinSet::new();
    for i in 0..8 {
        let runtime = runtime.clone();
        loads.spawn(async move {
            runtime.prepare(named(&format!("copy-{i}"), "check", fixtures::CHECK_MISBEHAVE, "15s")).await
        });
    }
    let plugins: Vec<_> = loads.join_all().await.into_iter().map(|p| p.expect("loads")).collect();
    let mut outcomes: Vec<CacheOutcome> = plugins.iter().map(|p| p.cache_outcome).collect();
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(outcomes, [[CacheOutcome::Miss].as_slice(), &[CacheOutcome::Shared; 7]].concat());
    assert_eq!(runtime.components_in_memory(), 1);
    let entries = std::fs::read_dir(dir.path()).expect("list").filter_map(Result::ok).count();
    assert_eq!(entries, 1, "one artifact compiled");

    let results = vigil_host::results::ResultsStore::new();
    for plugin in &plugins {
        assert_eq!(vigil_host::scheduler::run_once(plugin, &results).await.fault, None);
    }
    drop(plugins);
    assert_eq!(runtime.components_in_memory(), 0, "a component no plugin uses is freed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_hot_plugins_keep_an_instance_between_calls() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = runtime_in(dir.path());
    let results = vigil_host::results::ResultsStore::new();
    for (interval, warm) in [("15s", false), ("500ms", true)] {
        let check = runtime.prepare(named("check", "check", fixtures::CHECK_MISBEHAVE, interval)).await.expect("loads");
        assert_eq!(vigil_host::scheduler::run_once(&check, &results).await.fault, None);
        assert_eq!(check.is_warm().await, warm, "a check every {interval}");
    }
    let scrubber = runtime.prepare(named("rules", "scrubber", fixtures::SCRUBBER_TINY, "15s")).await.expect("loads");
    assert!(scrubber.is_warm().await, "a scrubber keeps its instance for verify");
}
