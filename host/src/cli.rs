//! The `vigil` command line.

mod check;
mod config_check;
mod deploy;
mod index;
mod new;
mod plugin;
mod run;
mod scf;
mod scrub;
mod validate;
mod watchdog;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{DaemonConfig, LogFormat};

/// Vigil: an observability daemon whose checks are WebAssembly plugins.
///
/// Vigil runs beside a platform and tells probes, Prometheus and operators
/// which subsystems run in their optimal mode and which fell back to a
/// degraded one. With no arguments beyond `run`, it uses embedded defaults
/// and the plugins compiled into the binary.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: load plugins, run checks on their schedules, serve
    /// /health/live and /health/status. Stops cleanly on SIGTERM or ctrl-c.
    Run(run::RunArgs),
    /// Run every check once, print the results and exit: 0 when every check
    /// ran and none is down, 1 otherwise.
    Check(check::CheckArgs),
    /// Work with single plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Read log lines on stdin and write them with credentials redacted on
    /// stdout, one line out per line in, using the scrubber plugins' rules.
    Scrub(scrub::ScrubArgs),
    /// Secure Controls Framework workbooks.
    #[command(subcommand)]
    Scf(scf::ScfCommand),
    /// Configuration files.
    #[command(subcommand)]
    Config(config_check::ConfigCommand),
    /// Indexes: compare what index-profile plugins want with what exists, and apply.
    #[command(subcommand)]
    Index(index::IndexCommand),
    /// Validate a deployment: `build` (plugins, configuration, SCF workbook,
    /// Python modules) or `runtime` (MongoDB, Redis, Docker). Exit 0 only when
    /// every required item passes.
    #[command(subcommand)]
    Validate(validate::ValidateCommand),
    /// The data-sync watchdog: evaluate drift rules and dispatch repairs.
    #[command(subcommand)]
    Watchdog(watchdog::WatchdogCommand),
}

/// Options shared by the commands that load the configured plugin set.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Configuration file (vigil.toml). Without it, embedded defaults apply.
    #[arg(long, short = 'c', value_name = "FILE", env = "VIGIL_CONFIG")]
    config: Option<PathBuf>,
    /// A plugin directory to load (repeatable); its plugins add to, or
    /// replace by name, the bundled ones.
    #[arg(long = "plugins", value_name = "DIR")]
    plugin_dirs: Vec<PathBuf>,
    /// Do not load the plugins compiled into the binary.
    #[arg(long)]
    no_bundled: bool,
    /// Directory of the compiled-plugin cache.
    #[arg(long, value_name = "DIR", env = "VIGIL_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile plugins in memory only.
    #[arg(long)]
    no_cache: bool,
    /// Log format (default: json for `run`, text otherwise).
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
    /// Log filter, e.g. `debug` or `info,vigil::plugin=debug`. It wins over
    /// `RUST_LOG`, which wins over `[log] level` in vigil.toml.
    #[arg(long, value_name = "FILTER")]
    log_level: Option<String>,
}

impl DaemonArgs {
    /// The configuration file (or defaults) with the command-line overrides applied.
    fn load_config(&self, listen: Option<SocketAddr>) -> anyhow::Result<DaemonConfig> {
        let mut config = match &self.config {
            Some(path) => DaemonConfig::load(path)?,
            None => DaemonConfig::default(),
        };
        let origin = crate::config::ConfigOrigin {
            path: self.config.clone(),
            extra_plugin_dirs: self.plugin_dirs.clone(),
            no_bundled: self.no_bundled,
        };
        origin.apply(&mut config);
        if let Some(dir) = &self.cache_dir {
            config.cache_dir = Some(dir.clone());
        }
        if self.no_cache {
            config.disable_cache = true;
        }
        if let Some(format) = self.log_format {
            config.log.format = format;
        }
        if let Some(level) = &self.log_level {
            config.log.level = level.clone();
            config.log.level_from_command_line = true;
        }
        if let Some(listen) = listen {
            config.listen = listen;
        }
        Ok(config)
    }
}

impl DaemonArgs {
    /// The configuration for a one-shot command: text logs at `level` on
    /// stderr unless the command line says otherwise, so stdout stays clean.
    fn load_one_shot_config(&self, level: &str) -> anyhow::Result<DaemonConfig> {
        let mut config = self.load_config(None)?;
        if self.log_format.is_none() {
            config.log.format = LogFormat::Text;
        }
        if self.log_level.is_none() {
            config.log.level = level.to_owned();
        }
        if config.log.console == crate::config::Console::Stdout {
            config.log.console = crate::config::Console::Stderr;
        }
        crate::telemetry::init(&config.log)?;
        Ok(config)
    }
}

/// Point `config` at the store a command line names: `--store snapshot:DIR`
/// (a directory of mongoexport files) or `--mongodb URI`.
fn override_store(config: &mut DaemonConfig, store: Option<&str>, mongodb: Option<&str>) -> anyhow::Result<()> {
    if let Some(store) = store {
        let Some(dir) = store.strip_prefix("snapshot:") else {
            anyhow::bail!("--store {store:?}: expected snapshot:DIR");
        };
        config.endpoints.snapshot_dir = Some(PathBuf::from(dir));
        config.endpoints.mongodb_uri = None;
    }
    if let Some(uri) = mongodb {
        config.endpoints.mongodb_uri = Some(crate::config::Secret::Literal(uri.to_owned()));
    }
    Ok(())
}

/// Output format of the one-shot commands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table for people.
    #[default]
    Text,
    /// JSON for programs.
    Json,
}

impl Cli {
    /// Run the chosen command.
    pub async fn execute(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Run(args) => run::execute(args).await,
            Command::Check(args) => check::execute(args).await,
            Command::Plugin(command) => plugin::execute(command).await,
            Command::Scf(command) => scf::execute(command).await,
            Command::Scrub(args) => scrub::execute(args).await,
            Command::Config(command) => config_check::execute(command).await,
            Command::Watchdog(command) => watchdog::execute(command).await,
            Command::Index(command) => index::execute(command).await,
            Command::Validate(command) => validate::execute(command).await,
        }
    }
}

/// Print JSON to stdout.
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
