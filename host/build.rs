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

fn dir_name(dir: &Path) -> String {
    dir.file_name().expect("crate dirs have names").to_string_lossy().into_owned()
}
