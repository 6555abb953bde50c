//! Loading a plugin directory: every plugin loads independently; a broken one
//! is reported with its reason and the rest load.

use vigil_host::loader::{self, PluginSources};
use vigil_host::runtime::Origin;
use vigil_tests::{PluginDir, fixtures, runtime};

/// The misbehave fixture with its stamped API version rewritten.
fn with_api_version(version: &[u8; 5]) -> Vec<u8> {
    let mut bytes = std::fs::read(fixtures::CHECK_MISBEHAVE).expect("fixture");
    let marker = b"vigil:api-version0.1.0";
    let at = bytes.windows(marker.len()).position(|w| w == marker).expect("SDK stamps the API version");
    let start = at + marker.len() - 5;
    bytes[start..start + 5].copy_from_slice(version);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_plugins_are_reported_and_the_rest_load() {
    let dir = PluginDir::new();
    dir.misbehaving("good", "ok", "2s", "");
    let good_bytes = std::fs::read(fixtures::CHECK_MISBEHAVE).expect("fixture");
    dir.add_bytes("not-wasm", "check", b"this is not a component", "");
    dir.add_bytes("truncated", "check", &good_bytes[..good_bytes.len() / 2], "");
    dir.add_bytes("core-module", "check", b"\0asm\x01\0\0\0", "");
    dir.add("wrong-world", "check", fixtures::SCRUBBER_TINY, "");
    dir.add_bytes("future-api", "check", &with_api_version(b"9.9.9"), "");
    dir.misbehaving("tiny-memory", "ok", "2s", "[limits]\nmemory_mib = 1\n");
    let bad_toml = dir.misbehaving("bad-toml", "ok", "2s", "");
    std::fs::write(bad_toml.join("plugin.toml"), "name = \"bad-toml\"\nkind = check\n").expect("write");
    let missing = dir.misbehaving("missing-file", "ok", "2s", "");
    std::fs::remove_file(missing.join("plugin.wasm")).expect("remove");

    let sources = PluginSources { bundled: false, dirs: vec![dir.path().to_path_buf()] };
    let report = loader::load_all(&runtime(), &sources, &Default::default()).await;
    let names: Vec<&str> = report.plugins.iter().map(|p| p.name()).collect();
    assert_eq!(names, ["good"]);

    let reason = |origin_part: &str| -> String {
        report
            .failures
            .iter()
            .find(|f| f.origin.contains(origin_part))
            .map(|f| f.error.to_string())
            .unwrap_or_else(|| panic!("no failure for {origin_part}: {:?}", report.failures))
    };
    assert!(reason("not-wasm").contains("not a WebAssembly component"), "{}", reason("not-wasm"));
    assert!(reason("truncated").contains("not a WebAssembly component"), "{}", reason("truncated"));
    assert!(reason("core-module").contains("core WebAssembly module, not a component"));
    assert!(
        reason("wrong-world").contains("manifest says kind = \"check\" but the component exports the scrubber world"),
        "{}",
        reason("wrong-world")
    );
    assert!(reason("future-api").contains("built for vigil plugin API 9.9.9; this host supports 0.1.0"));
    assert!(reason("tiny-memory").contains("first call failed"), "{}", reason("tiny-memory"));
    assert!(reason("bad-toml").contains("bad-toml/plugin.toml"), "{}", reason("bad-toml"));
    assert!(reason("bad-toml").contains("line 2"), "{}", reason("bad-toml"));
    assert!(reason("missing-file").contains("cannot read component"), "{}", reason("missing-file"));
    assert_eq!(report.failures.len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_plugin_replaces_the_bundled_one_of_the_same_name() {
    let dir = PluginDir::new();
    dir.misbehaving("cache-backend", "degraded", "2s", "");
    let sources = PluginSources { bundled: true, dirs: vec![dir.path().to_path_buf()] };
    let report = loader::load_all(&runtime(), &sources, &Default::default()).await;
    let example = report.plugins.iter().find(|p| p.name() == "cache-backend").expect("cache-backend loaded");
    assert!(matches!(example.origin, Origin::Directory(_)), "{:?}", example.origin);
    let results = vigil_host::results::ResultsStore::new();
    let result = vigil_host::scheduler::run_once(example, &results).await;
    assert_eq!(result.mode, "fallback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_plugins_load_without_any_directory() {
    let sources = PluginSources { bundled: true, dirs: vec![] };
    let report = loader::load_all(&runtime(), &sources, &Default::default()).await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let names: Vec<&str> = report.plugins.iter().map(|p| p.name()).collect();
    assert_eq!(
        names,
        [
            "api-health",
            "cache-backend",
            "cloud-credentials",
            "common-secrets",
            "compliance-freshness",
            "cspm-indexes",
            "database",
            "python-deps",
            "scf-baseline",
            "security-tools",
            "session-storage",
            "stuck-scans",
            "system-credentials",
            "vendor-tokens",
            "vulnerability-sync"
        ]
    );
    assert!(report.plugins.iter().all(|p| matches!(p.origin, Origin::Bundled(_))));
    for plugin in &report.plugins {
        assert_eq!(plugin.api_version, "0.1.0", "{}", plugin.name());
    }
}
