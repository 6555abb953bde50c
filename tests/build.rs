//! Compiles the fixture plugins (`tests/fixtures/*`) and emits their paths
//! as constants in `fixtures.rs`.

#[path = "../host/build/guest.rs"]
mod guest;

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir.parent().expect("tests/ sits in the workspace root").to_path_buf();
    guest::rerun_if_guest_sources_change(&root);

    let packages: Vec<String> = guest::crate_dirs(&root.join("tests/fixtures"))
        .iter()
        .filter_map(|dir| dir.file_name().map(|name| name.to_string_lossy().into_owned()))
        .collect();
    let guests = guest::build(&root.join("plugins"), &packages);

    let mut source = String::new();
    for guest in &guests {
        let constant = guest.package.to_uppercase().replace('-', "_");
        writeln!(source, "/// The `{}` fixture component.", guest.package).expect("String write");
        writeln!(source, "pub const {constant}: &str = {:?};", guest.wasm).expect("String write");
    }
    let target = guest::target_root();
    println!("cargo:rustc-env=VIGIL_TARGET_DIR={}", target.display());
    // The same directory the host's CLI tests use (`CARGO_TARGET_TMPDIR`).
    println!("cargo:rustc-env=VIGIL_TEST_CACHE={}", target.join("tmp").join("vigil-artifacts").display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("fixtures.rs");
    std::fs::write(out, source).expect("write fixtures.rs");
}
