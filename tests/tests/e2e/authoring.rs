//! `vigil plugin new` writes crates that build outside this workspace and
//! pass `vigil plugin test --expect` with their own golden file, for all
//! four kinds; a wrong expectation fails.

use std::path::{Path, PathBuf};
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

fn build(crate_dir: &Path, component: &str) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // The same dependency versions as the bundled plugins: no registry access needed.
    std::fs::copy(repo.join("plugins/Cargo.lock"), crate_dir.join("Cargo.lock")).expect("copy lock");
    let cargo = PathBuf::from(env!("CARGO"));
    let target_dir = PathBuf::from(env!("VIGIL_TARGET_DIR")).join("wasm");
    let mut command = Command::new(&cargo);
    command
        .current_dir(crate_dir)
        .args(["build", "--release", "--offline", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR");
    let rustc = cargo.with_file_name("rustc");
    if rustc.is_file() {
        command.env("RUSTC", rustc);
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "{} failed to build:\n{}",
        crate_dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::copy(target_dir.join("wasm32-wasip2/release").join(component), crate_dir.join(component))
        .expect("component");
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
        build(&crate_dir, &format!("{}.wasm", name.replace('-', "_")));
        let mut args = vec!["plugin", "test", ".", "--expect", "expected.json"];
        if kind == "watchdog" {
            args.extend(["--with-snapshot", "snapshot"]);
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
