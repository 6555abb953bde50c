//! Compile guest crates of the `plugins/` workspace to `wasm32-wasip2`
//! components with a nested cargo. Shared by `host/build.rs` (bundled
//! plugins) and `tests/build.rs` (fixtures).
//!
//! The nested cargo gets its own target directory (`<target>/wasm`): the
//! outer cargo holds the lock of its own. Flags meant for host code (and
//! clippy's wrapper) are removed from its environment.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The guest target.
pub const TARGET: &str = "wasm32-wasip2";

/// A built guest: its package name and its component file.
pub struct Guest {
    pub package: String,
    pub wasm: PathBuf,
}

/// The outer build's target directory (the one holding `CACHEDIR.TAG`).
pub fn target_root() -> PathBuf {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir.join("guest-target"))
}

/// Build `packages` of the guest workspace in `workspace_dir` (release profile).
pub fn build(workspace_dir: &Path, packages: &[String]) -> Vec<Guest> {
    ensure_target_installed();
    let target_dir = target_root().join("wasm");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--release")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(workspace_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for package in packages {
        command.arg("-p").arg(package);
    }
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        command.env_remove(var);
    }
    let output = command.output().unwrap_or_else(|err| panic!("cannot run cargo for the guest build: {err}"));
    if !output.status.success() {
        panic!("building plugins for {TARGET} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    }
    let artifacts = target_dir.join(TARGET).join("release");
    packages
        .iter()
        .map(|package| Guest {
            package: package.clone(),
            wasm: artifacts.join(format!("{}.wasm", package.replace('-', "_"))),
        })
        .collect()
}

/// Directories under `dir` that hold a `Cargo.toml`, sorted by name.
pub fn crate_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|entry| entry.path()).collect())
        .unwrap_or_default();
    dirs.retain(|path| path.join("Cargo.toml").is_file());
    dirs.sort();
    dirs
}

/// Rebuild when anything a guest is made of changes.
pub fn rerun_if_guest_sources_change(root: &Path) {
    for path in ["wit", "sdk/src", "sdk/Cargo.toml", "plugins", "tests/fixtures"] {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
}

/// rustup installs the targets `rust-toolchain.toml` lists only when it
/// installs the toolchain; where the toolchain was already there, add the
/// target here (once), and say what to run when that is not possible.
fn ensure_target_installed() {
    let installed = || {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        Command::new(rustc)
            .args(["--print", "sysroot"])
            .output()
            .ok()
            .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
            .is_none_or(|sysroot| sysroot.join("lib/rustlib").join(TARGET).is_dir())
    };
    if installed() {
        return;
    }
    println!("cargo:warning=installing the {TARGET} target (rustup target add {TARGET})");
    let added = Command::new("rustup").args(["target", "add", TARGET]).status().is_ok_and(|s| s.success());
    if !added || !installed() {
        panic!("the {TARGET} target is not installed for this toolchain: run `rustup target add {TARGET}`");
    }
}
