//! Latency of calls into a plugin (the bundled cache-backend check, with no
//! Redis configured, so the call is the plugin plus one host import): on a
//! kept instance (a check on a sub-second interval), and instantiate plus
//! call from the shared `InstancePre` (every other check, each run).

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use vigil_host::bundled::BUNDLED;
use vigil_host::capabilities::Services;
use vigil_host::manifest::Manifest;
use vigil_host::runtime::{self, Origin, Plugin, Runtime, RuntimeOptions};

fn example_plugin(tokio: &tokio::runtime::Runtime, cache: &std::path::Path, interval: &str) -> Plugin {
    let bundled = BUNDLED.iter().find(|b| b.package == "check-cache-backend").expect("bundled cache-backend check");
    let mut manifest = Manifest::parse(bundled.manifest, "bundled").expect("manifest");
    manifest.interval = humantime::parse_duration(interval).expect("interval");
    let runtime = Runtime::new(RuntimeOptions { cache_dir: Some(cache.to_path_buf()) }, Arc::new(Services::new()))
        .expect("runtime");
    let source = runtime::source(manifest, Origin::Bundled(bundled.package.into()), bundled.component);
    tokio.block_on(runtime.prepare(source)).expect("plugin loads")
}

fn calls(c: &mut Criterion) {
    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    let cache = tempfile::tempdir().expect("temp dir");
    let hot = example_plugin(&tokio, cache.path(), "500ms");
    let idle = example_plugin(&tokio, cache.path(), "15s");

    c.bench_function("check call, kept instance", |b| {
        b.to_async(&tokio).iter(|| async { hot.run_check().await.expect("ok") })
    });
    c.bench_function("check call, fresh instance from InstancePre", |b| {
        b.to_async(&tokio).iter(|| async { idle.run_check().await.expect("ok") })
    });
}

criterion_group!(benches, calls);
criterion_main!(benches);
