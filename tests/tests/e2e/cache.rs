//! The artifact cache: a warm entry is reused, a corrupt one is recompiled
//! and replaced, never trusted.

use vigil_host::manifest::Manifest;
use vigil_host::runtime::{self, CacheOutcome, Origin, Runtime, RuntimeOptions};
use vigil_tests::fixtures;

fn source() -> runtime::PluginSource {
    let manifest = Manifest::parse(
        "name = \"cached\"\nkind = \"check\"\nversion = \"1\"\ncomponent = \"x.wasm\"\n",
        "plugin.toml",
    )
    .expect("valid manifest");
    let wasm = std::fs::read(fixtures::CHECK_MISBEHAVE).expect("fixture");
    runtime::source(manifest, Origin::Bundled("cached".into()), wasm)
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
