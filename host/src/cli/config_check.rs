//! `vigil config check`: validate a `vigil.toml` without starting anything.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::capabilities::Services;
use crate::config::DaemonConfig;
use crate::loader::{self, PluginSources};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file: syntax, every field, secrets from the
    /// environment, endpoint URIs, plugin directories and manifests. Prints
    /// the first problem with the file and field named; exits 1 on any.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The configuration file.
    file: PathBuf,
}

pub async fn execute(command: ConfigCommand) -> anyhow::Result<ExitCode> {
    let ConfigCommand::Check(args) = command;
    let config = DaemonConfig::load(&args.file)?;
    Services::connect(&config.endpoints, std::sync::Arc::new(crate::metrics::Metrics::default()))
        .await
        .map_err(|problem| anyhow::anyhow!("{}: {problem}", args.file.display()))?;
    let sources = PluginSources { bundled: config.bundled_plugins, dirs: config.plugin_dirs.clone() };
    let (found, mut failures) = loader::discover(&sources);
    let plugins = found.len();
    let (_, mut invalid) = loader::apply_config(found, &config);
    failures.append(&mut invalid);
    for name in config.plugins.keys() {
        if !loader::discover(&sources).0.iter().any(|s| &s.manifest.name == name) {
            println!("warning: [plugins.{name}] names no plugin that is loaded");
        }
    }
    if failures.is_empty() {
        println!("{}: ok ({plugins} plugins)", args.file.display());
        Ok(ExitCode::SUCCESS)
    } else {
        for failure in &failures {
            println!("{}", failure.error);
        }
        Ok(ExitCode::FAILURE)
    }
}
