//! `vigil plugin new`: a ready-to-build plugin crate for one of the four
//! kinds, with a manifest, a working example, a golden `expected.json` for
//! `vigil plugin test --expect`, and a README saying how to build, test and
//! deploy it. The crate is its own workspace, so it builds anywhere.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;

use crate::manifest::PluginKind;

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Plugin name (lowercase letters, digits and '-'): the manifest name and the crate name.
    name: String,
    /// Which kind of plugin.
    #[arg(long, value_parser = ["check", "scrubber", "watchdog", "index-profile"])]
    kind: String,
    /// Parent directory of the new crate (default: the current directory).
    #[arg(long, value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// Path of Vigil's `sdk/` directory (default: the one this binary was built from, when it exists).
    #[arg(long, value_name = "PATH")]
    sdk: Option<PathBuf>,
}

fn template(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Check => include_str!("templates/check.rs.txt"),
        PluginKind::Scrubber => include_str!("templates/scrubber.rs.txt"),
        PluginKind::Watchdog => include_str!("templates/watchdog.rs.txt"),
        PluginKind::IndexProfile => include_str!("templates/index_profile.rs.txt"),
    }
}

fn manifest(name: &str, kind: PluginKind, component: &str) -> String {
    let mut text = format!(
        "# {name}: see README.md. Every key is checked; unknown keys are errors.\n\
         name = \"{name}\"\nkind = \"{}\"\nversion = \"0.1.0\"\ndescription = \"TODO: one line about {name}\"\n\
         component = \"{component}\"\n",
        kind.as_str()
    );
    match kind {
        PluginKind::Check => text.push_str(
            "interval = \"30s\"\ntimeout = \"2s\"\n\n[grants]\n# redis = true\n# exec = [\"trivy\"]\n\n[config]\nthreshold = 10\n",
        ),
        PluginKind::Watchdog => text.push_str(
            "interval = \"5m\"\ntimeout = \"30s\"\n\n[grants]\nstore = [\"app.jobs\"]\n\n[config]\ncollection = \"app.jobs\"\nstale_hours = 2\ntask = \"app.tasks.requeue_pending\"\n",
        ),
        PluginKind::Scrubber | PluginKind::IndexProfile => {}
    }
    text
}

fn expected(name: &str, kind: PluginKind) -> serde_json::Value {
    use serde_json::json;
    match kind {
        PluginKind::Check => json!({ "kind": "check", "result": { "status": "ok", "mode": "normal" } }),
        PluginKind::Scrubber => {
            json!({ "kind": "scrubber", "rules": [{ "id": format!("{name}-token"), "verify": false }] })
        }
        PluginKind::Watchdog => json!({ "kind": "watchdog", "findings": [] }),
        PluginKind::IndexProfile => {
            json!({ "kind": "index-profile", "indexes": [{ "name": "idx_job_id_unique" }, { "name": "idx_status_created" }] })
        }
    }
}

fn cargo_toml(name: &str, sdk: &Path, kind: PluginKind) -> String {
    let extra = if kind == PluginKind::Watchdog { "serde_json = \"1\"\n" } else { "" };
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n\
         [dependencies]\nvigil-sdk = {{ path = {:?} }}\n{extra}\n\
         # Its own workspace, so it builds wherever it is.\n[workspace]\n\n\
         # Small components; the host still reports a panic's message.\n\
         [profile.release]\nopt-level = \"s\"\nlto = true\ncodegen-units = 1\nstrip = true\npanic = \"abort\"\n",
        sdk.display()
    )
}

fn readme(name: &str, kind: PluginKind, component: &str) -> String {
    let test_flags = if kind == PluginKind::Watchdog { " --with-snapshot ./snapshot" } else { "" };
    format!(
        "# {name}\n\nA Vigil `{kind}` plugin.\n\n\
         ```sh\n\
         cargo build --release --target wasm32-wasip2\n\
         cp target/wasm32-wasip2/release/{component} .\n\
         vigil plugin test .{test_flags}                          # run it once, print the result\n\
         vigil plugin test .{test_flags} --expect expected.json   # compare with the golden file (CI)\n\
         ```\n\n\
         Deploy: copy this directory (plugin.toml and {component}) into a directory the daemon\n\
         watches (`plugin_dirs`), with an atomic rename: `cp -r . /plugins/.{name} && mv /plugins/.{name} /plugins/{name}`.\n\
         The daemon compiles it, canaries it and swaps it in; a broken version never replaces a working one.\n",
        kind = kind.as_str()
    )
}

/// Write the crate; returns its directory.
pub fn scaffold(args: &NewArgs) -> anyhow::Result<PathBuf> {
    let name = args.name.as_str();
    if name.is_empty()
        || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || name.starts_with('-')
    {
        bail!("plugin name {name:?}: use lowercase letters, digits and '-'");
    }
    let kind = PluginKind::ALL
        .into_iter()
        .find(|k| k.as_str() == args.kind)
        .with_context(|| format!("--kind {:?}: expected check, scrubber, watchdog or index-profile", args.kind))?;
    let sdk = match &args.sdk {
        Some(sdk) => sdk.clone(),
        None => {
            let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
            if !built_from.join("Cargo.toml").is_file() {
                bail!("cannot find Vigil's sdk/ directory; pass --sdk PATH");
            }
            built_from
        }
    };
    let sdk = std::fs::canonicalize(&sdk).with_context(|| format!("--sdk {}", sdk.display()))?;
    let dir = args.dir.join(name);
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    let component = format!("{}.wasm", name.replace('-', "_"));
    std::fs::create_dir_all(dir.join("src")).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |file: &str, text: String| {
        std::fs::write(dir.join(file), text).with_context(|| format!("cannot write {}", dir.join(file).display()))
    };
    write("Cargo.toml", cargo_toml(name, &sdk, kind))?;
    write("plugin.toml", manifest(name, kind, &component))?;
    write("src/lib.rs", template(kind).replace("{{name}}", name))?;
    write("expected.json", format!("{:#}\n", expected(name, kind)))?;
    write("README.md", readme(name, kind, &component))?;
    write(".gitignore", "/target\n*.wasm\n".to_owned())?;
    if kind == PluginKind::Watchdog {
        std::fs::create_dir_all(dir.join("snapshot/app")).context("cannot create the example snapshot")?;
        write("snapshot/app/jobs.json", String::new())?;
    }
    Ok(dir)
}

pub fn execute(args: NewArgs) -> anyhow::Result<ExitCode> {
    let dir = scaffold(&args)?;
    println!("created {} ({} plugin); see its README.md", dir.display(), args.kind);
    Ok(ExitCode::SUCCESS)
}
