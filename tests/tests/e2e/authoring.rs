//! `vigil plugin new` writes crates that build outside this workspace and
//! pass `vigil plugin test --expect` with their own golden file, for all
//! four kinds; a wrong expectation fails.

use std::path::Path;
use std::process::Command;

use vigil_tests::vigil_binary;

fn vigil(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(vigil_binary())
        .args(args)
        .current_dir(dir)
        .env("VIGIL_CACHE_DIR", vigil_tests::shared_cache_dir())
        .output()
        .expect("vigil runs")
}

#[test]
fn new_plugins_of_every_kind_build_and_meet_their_expectations() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, kind) in [
        ("demo-check", "check"),
        ("demo-rules", "scrubber"),
        ("demo-drift", "watchdog"),
        ("demo-indexes", "index-profile"),
    ] {
        let output = vigil(&["plugin", "new", name, "--kind", kind, "--dir", "."], dir.path());
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let crate_dir = dir.path().join(name);
        for file in ["Cargo.toml", "plugin.toml", "src/lib.rs", "expected.json", "README.md"] {
            assert!(crate_dir.join(file).is_file(), "{name}: no {file}");
        }
        vigil_tests::build_guest_crate(&crate_dir, &format!("{}.wasm", name.replace('-', "_")));
        let mut args = vec!["plugin", "test", ".", "--expect", "expected.json"];
        if kind == "watchdog" {
            args.extend(["--store", "snapshot:snapshot"]);
        }
        let output = vigil(&args, &crate_dir);
        assert!(
            output.status.success(),
            "{name}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // A wrong expectation fails and says where.
    let check = dir.path().join("demo-check");
    std::fs::write(check.join("wrong.json"), r#"{"result": {"mode": "fallback"}}"#).expect("write");
    let output = vigil(&["plugin", "test", ".", "--expect", "wrong.json"], &check);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("$.result.mode: wanted \"fallback\", found \"normal\""), "{stderr}");
    // An existing directory is not overwritten.
    let output = vigil(&["plugin", "new", "demo-check", "--kind", "check", "--dir", "."], dir.path());
    assert!(!output.status.success() && String::from_utf8_lossy(&output.stderr).contains("already exists"));
}
