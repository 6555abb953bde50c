//! Golden files for configuration errors: each `*.toml` under
//! `tests/golden/{manifest,config}/` sits beside the `*.err` it must produce.
//! `VIGIL_BLESS=1` rewrites the `.err` files from the current output.

use std::path::Path;

use vigil_host::config::DaemonConfig;
use vigil_host::manifest::Manifest;

fn check_dir(dir: &str, parse: impl Fn(&str, &str) -> Result<(), String>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden").join(dir);
    let mut cases = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir).expect("golden dir").filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "toml") {
            continue;
        }
        let name = path.file_name().expect("file name").to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("read case");
        let actual = match parse(&text, &name) {
            Ok(()) => "ok".to_owned(),
            Err(err) => err,
        };
        let expected_path = path.with_extension("err");
        if std::env::var_os("VIGIL_BLESS").is_some() {
            std::fs::write(&expected_path, format!("{actual}\n")).expect("bless");
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} has no .err file (run with VIGIL_BLESS=1)", name));
        assert_eq!(actual.trim_end(), expected.trim_end(), "golden mismatch for {name}");
        cases += 1;
    }
    assert!(cases >= 5, "expected golden cases in {}", dir.display());
}

#[test]
fn manifest_errors_match_golden_files() {
    check_dir("manifest", |text, name| Manifest::parse(text, name).map(drop).map_err(|e| e.to_string()));
}

#[test]
fn config_errors_match_golden_files() {
    check_dir("config", |text, name| DaemonConfig::parse(text, name).map(drop).map_err(|e| e.to_string()));
}
