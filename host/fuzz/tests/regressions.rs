//! Every seed and every input a fuzzer once broke Vigil with, replayed
//! through the same property the fuzz target checks. Crash inputs live in
//! `host/fuzz/regressions/<target>/`, named for what they found.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let mut inputs = vigil_fuzz::seeds::seeds(target);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions").join(target);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let bytes = std::fs::read(entry.path()).expect("readable regression input");
            inputs.push((entry.file_name().to_string_lossy().into_owned(), bytes));
        }
    }
    assert!(!inputs.is_empty() || target == "routes", "{target}: no seeds and no regression inputs");
    for (name, bytes) in inputs {
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(outcome.is_ok(), "{target}: input {name} breaks the property");
    }
}

#[test]
fn manifest() {
    replay("manifest", vigil_fuzz::manifest::check);
}

#[test]
fn config() {
    replay("config", vigil_fuzz::config::check);
}

#[test]
fn scrubber() {
    replay("scrubber", vigil_fuzz::scrubber::check);
}

#[test]
fn extjson() {
    replay("extjson", vigil_fuzz::extjson::check);
}

#[test]
fn store_filter() {
    replay("store_filter", vigil_fuzz::store_filter::check);
}

#[test]
fn celery_events() {
    replay("celery_events", vigil_fuzz::celery_events::check);
}

#[test]
fn routes() {
    replay("routes", vigil_fuzz::routes::check);
}
