//! `vigil plugin deploy SRC PLUGINS_DIR`: install or upgrade a plugin in a
//! directory the daemon watches, atomically. The copy is staged in a hidden
//! directory beside the target (the loader skips hidden and temporary
//! names), then swapped with the old version in one `rename(2)` with
//! `RENAME_EXCHANGE`: the daemon sees the old plugin or the new one, never
//! half of either, never neither.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use crate::loader;

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The plugin to deploy: a directory holding plugin.toml and its component.
    source: PathBuf,
    /// The directory the daemon watches (one of `plugin_dirs`).
    plugins_dir: PathBuf,
    /// Name of the plugin's directory there (default: the manifest's `name`).
    #[arg(long, value_name = "NAME")]
    dir_name: Option<String>,
}

pub fn execute(args: &DeployArgs) -> anyhow::Result<ExitCode> {
    let source = loader::read_source(&args.source)
        .map_err(|failed| anyhow::anyhow!("{}: {}", args.source.display(), failed.1))?;
    let name = args.dir_name.clone().unwrap_or_else(|| source.manifest.name.clone());
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
        anyhow::bail!("--dir-name {name:?}: a plain directory name is needed");
    }
    if !args.plugins_dir.is_dir() {
        anyhow::bail!("{}: not a directory", args.plugins_dir.display());
    }
    let target = args.plugins_dir.join(&name);
    let staging = args.plugins_dir.join(format!(".{name}.deploy-{}", std::process::id()));
    remove_dir_if_present(&staging)?;
    copy_dir(&args.source, &staging)
        .with_context(|| format!("copying {} to {}", args.source.display(), staging.display()))?;
    let previous = loader::read_source(&target).ok().map(|old| old.manifest.version.to_string());
    let replacing = target.exists();
    let swapped = if replacing { exchange(&staging, &target)? } else { false };
    if replacing && !swapped {
        eprintln!(
            "note: {} cannot exchange two names in one step; the old version was moved aside first, so for a moment there was no {name}",
            args.plugins_dir.display()
        );
    }
    if swapped {
        // The staging directory now holds the old version.
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("removing the old version in {}", staging.display()))?;
    } else if !target.exists() {
        std::fs::rename(&staging, &target).with_context(|| format!("renaming into {}", target.display()))?;
    }
    match previous {
        Some(old) => println!("deployed {name} {} to {} (replacing {old})", source.manifest.version, target.display()),
        None => println!("deployed {name} {} to {}", source.manifest.version, target.display()),
    }
    Ok(ExitCode::SUCCESS)
}

/// Swap `staging` and `target` in one step. Where the file system cannot
/// (no `RENAME_EXCHANGE`), move the old version aside first: the daemon may
/// then see the plugin missing for a moment.
fn exchange(staging: &Path, target: &Path) -> anyhow::Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, staging, CWD, target, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS | rustix::io::Errno::NOTSUP) => {
            let aside = staging.with_extension("old");
            std::fs::rename(target, &aside).with_context(|| format!("moving {} aside", target.display()))?;
            std::fs::rename(staging, target).with_context(|| format!("renaming into {}", target.display()))?;
            std::fs::remove_dir_all(&aside).with_context(|| format!("removing {}", aside.display()))?;
            Ok(false)
        }
        Err(errno) => Err(std::io::Error::from(errno))
            .with_context(|| format!("swapping {} with {}", staging.display(), target.display())),
    }
}

fn remove_dir_if_present(dir: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(error) if error.kind() != ErrorKind::NotFound => {
            Err(error).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// Copy a directory tree (files, directories, symbolic links as links).
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let dest: PathBuf = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path())?, &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}
