//! Compiles the bundled plugins (`plugins/*`) to components and embeds them
//! in the `vigil` binary, so `vigil run` works with no plugin directory.

#[path = "build/guest.rs"]
mod guest;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir.parent().expect("host/ sits in the workspace root").to_path_buf();
    guest::rerun_if_guest_sources_change(&root);
    git_commit(&root);

    let plugin_dirs: Vec<PathBuf> =
        guest::crate_dirs(&root.join("plugins")).into_iter().filter(|dir| dir.join("plugin.toml").is_file()).collect();
    let packages: Vec<String> = plugin_dirs.iter().map(|dir| dir_name(dir)).collect();
    let guests = guest::build(&root.join("plugins"), &packages);

    let mut source =
        String::from("/// Plugins compiled into this binary.\npub static BUNDLED: &[BundledPlugin] = &[\n");
    for (dir, guest) in plugin_dirs.iter().zip(&guests) {
        writeln!(
            source,
            "    BundledPlugin {{ package: {:?}, manifest: include_str!({:?}), component: include_bytes!({:?}) }},",
            guest.package,
            dir.join("plugin.toml"),
            guest.wasm,
        )
        .expect("writing to a String");
    }
    source.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("bundled.rs");
    std::fs::write(&out, source).expect("write bundled.rs");
}

/// `VIGIL_GIT_COMMIT` for `vigil_build_info{git_commit}`: the checked-out
/// commit, when building from a git work tree (otherwise it stays unset and
/// the label reads `unknown`). Rebuilt when HEAD moves.
fn git_commit(root: &Path) {
    let git = |args: &[&str]| -> Option<String> {
        let output = std::process::Command::new("git").arg("-C").arg(root).args(args).output().ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let Some(commit) = git(&["rev-parse", "--short=12", "HEAD"]) else { return };
    println!("cargo:rustc-env=VIGIL_GIT_COMMIT={commit}");
    for path in ["HEAD", "packed-refs"] {
        if let Some(file) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={}", root.join(file).display());
        }
    }
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(file) = git(&["rev-parse", "--git-path", &reference])
    {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
}

fn dir_name(dir: &Path) -> String {
    dir.file_name().expect("crate dirs have names").to_string_lossy().into_owned()
}
