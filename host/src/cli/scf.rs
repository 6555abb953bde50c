//! `vigil scf count`: count the controls of an SCF workbook with the same
//! parser the `scf-baseline` check uses (it runs that bundled plugin).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde_json::json;

use super::{OutputFormat, print_json};
use crate::capabilities::Services;
use crate::config::DaemonConfig;
use crate::loader::{self, PluginSources};
use crate::results::ResultsStore;
use crate::runtime::{Runtime, RuntimeOptions};
use crate::{scheduler, telemetry};

/// The bundled plugin that parses SCF workbooks.
const SCF_PLUGIN: &str = "scf-baseline";

#[derive(Debug, Subcommand)]
pub enum ScfCommand {
    /// Count the controls (rows with a valid SCF #) of a workbook. Exits 1
    /// when the workbook cannot be parsed.
    Count(CountArgs),
}

#[derive(Debug, Args)]
pub struct CountArgs {
    /// The SCF workbook (.xlsx).
    file: PathBuf,
    /// `text` prints the count; `json` adds the sheet, duplicates and per-domain counts.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

pub async fn execute(command: ScfCommand) -> anyhow::Result<ExitCode> {
    let ScfCommand::Count(args) = command;
    telemetry::init(&crate::config::LogConfig::one_shot("warn"))?;
    let file = std::fs::canonicalize(&args.file).with_context(|| format!("{}", args.file.display()))?;
    let mut config = DaemonConfig::default();
    config.endpoints.scf_workbook = Some(file.clone());
    let runtime = Runtime::new(RuntimeOptions { cache_dir: config.effective_cache_dir() }, Arc::new(Services::new()))?;
    let (sources, _) = loader::discover(&PluginSources { bundled: true, dirs: vec![] });
    let sources = sources.into_iter().filter(|s| s.manifest.name == SCF_PLUGIN).collect();
    let (sources, failures) = loader::apply_config(sources, &config);
    if let Some(failure) = failures.first() {
        bail!("{}", failure.error);
    }
    let report = loader::load(&runtime, sources).await;
    if let Some(failure) = report.failures.first() {
        bail!("{}", failure.error);
    }
    let plugin = report.plugins.first().context("the scf-baseline plugin is not bundled in this binary")?;
    let result = scheduler::run_once(plugin, &ResultsStore::new()).await;
    if result.mode != "excel" {
        bail!("{}: {}", file.display(), result.detail);
    }
    let value = |name: &str| result.observations.iter().find(|o| o.name == name).map(|o| o.value as u64);
    let controls = value("controls").unwrap_or(0);
    match args.format {
        OutputFormat::Text => println!("{controls}"),
        OutputFormat::Json => {
            let domains: serde_json::Map<String, serde_json::Value> = result
                .observations
                .iter()
                .filter(|o| o.name == "domain_controls")
                .filter_map(|o| Some((o.labels.get("domain")?.clone(), json!(o.value as u64))))
                .collect();
            let sheet =
                result.observations.iter().find(|o| o.name == "workbook_sheet").and_then(|o| o.labels.get("sheet"));
            print_json(&json!({
                "file": file,
                "sheet": sheet,
                "controls": controls,
                "duplicate_ids": value("duplicate_control_ids").unwrap_or(0),
                "domains": domains,
            }))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
