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
    assert!(!inputs.is_empty(), "{target}: no seeds and no regression inputs");
    for (name, bytes) in inputs {
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(outcome.is_ok(), "{target}: input {name} breaks the property");
    }
}

/// One test per target, named after it.
macro_rules! targets {
    ($($target:ident),* $(,)?) => {
        $(
            #[test]
            fn $target() {
                replay(stringify!($target), vigil_fuzz::$target::check);
            }
        )*
    };
}

targets!(manifest, config, scrubber, extjson, store_filter, celery_events, routes);
