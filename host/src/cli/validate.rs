//! `vigil validate build` and `vigil validate runtime`: the platform's build
//! validation script as a command, for a CI step or a Kubernetes init
//! container. Each item passes, fails or is skipped (not configured); the
//! exit code is 0 only when every required item passes.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{DaemonArgs, OutputFormat, print_json};
use crate::capabilities::Services;
use crate::daemon::Daemon;
use crate::results::{ResultsStore, Status};
use crate::runtime::bindings::CapabilityError;
use crate::scheduler;

#[derive(Debug, Subcommand)]
pub enum ValidateCommand {
    /// Plugins compile and describe themselves, the configuration is valid,
    /// the SCF workbook parses (control count, no duplicate IDs), and the
    /// platform's Python modules import (the bundled `python-deps` check).
    Build(ValidateArgs),
    /// Live connectivity to MongoDB, Redis and the Docker engine, with
    /// latency and version.
    Runtime(ValidateArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    daemon: DaemonArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

/// One line of the report.
#[derive(Debug, Serialize)]
struct Item {
    name: String,
    status: &'static str,
    required: bool,
    detail: String,
}

impl Item {
    fn new(name: impl Into<String>, passed: bool, required: bool, detail: impl Into<String>) -> Self {
        Self { name: name.into(), status: if passed { "pass" } else { "fail" }, required, detail: detail.into() }
    }

    fn skip(name: &str, detail: &str) -> Self {
        Self { name: name.to_owned(), status: "skip", required: false, detail: detail.to_owned() }
    }
}

fn message(err: &CapabilityError) -> String {
    match err {
        CapabilityError::NotGranted(m)
        | CapabilityError::NotAvailable(m)
        | CapabilityError::Timeout(m)
        | CapabilityError::Failed(m) => m.clone(),
    }
}

pub async fn execute(command: ValidateCommand) -> anyhow::Result<ExitCode> {
    let (args, build) = match command {
        ValidateCommand::Build(args) => (args, true),
        ValidateCommand::Runtime(args) => (args, false),
    };
    let config = args.daemon.load_one_shot_config("error")?;
    let source = config.origin.path.as_ref().map_or("embedded defaults".to_owned(), |p| p.display().to_string());
    let daemon = Daemon::start(config).await?;
    let items = if build { build_items(&daemon, &source).await } else { runtime_items(&daemon).await };
    let ok = items.iter().all(|i| !i.required || i.status == "pass");
    match args.format {
        OutputFormat::Json => print_json(&serde_json::json!({ "ok": ok, "items": items }))?,
        OutputFormat::Text => {
            println!("{:<28} {:<6} {:<9} DETAIL", "ITEM", "STATUS", "REQUIRED");
            for item in &items {
                println!(
                    "{:<28} {:<6} {:<9} {}",
                    item.name,
                    item.status,
                    if item.required { "yes" } else { "no" },
                    item.detail
                );
            }
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

async fn build_items(daemon: &Arc<Daemon>, source: &str) -> Vec<Item> {
    let mut items = vec![Item::new("configuration", true, true, format!("{source}: valid"))];
    let set = daemon.plugins.load();
    items.push(Item::new(
        "plugins",
        set.failed.is_empty(),
        true,
        format!("{} loaded and described, {} failed", set.plugins.len(), set.failed.len()),
    ));
    for failed in &set.failed {
        items.push(Item::new(
            format!("plugin {}", failed.name.as_deref().unwrap_or("?")),
            false,
            true,
            format!("{}: {}", failed.origin, failed.error),
        ));
    }
    let run = |name: &'static str| {
        let plugin = set.plugins.iter().find(|p| p.name() == name).cloned();
        async move {
            match plugin {
                Some(plugin) => Some(scheduler::run_once(&plugin, &ResultsStore::new()).await),
                None => None,
            }
        }
    };
    let config = daemon.config.load();
    match (&config.endpoints.scf_workbook, run("scf-baseline").await) {
        (None, _) => items.push(Item::skip("scf-workbook", "endpoints.scf_workbook is not set")),
        (Some(_), None) => items.push(Item::new("scf-workbook", false, true, "the scf-baseline plugin is not loaded")),
        (Some(path), Some(result)) => {
            let value = |name: &str| result.observations.iter().find(|o| o.name == name).map_or(0, |o| o.value as u64);
            let (controls, duplicates) = (value("controls"), value("duplicate_control_ids"));
            let parsed = result.mode == "excel";
            let detail = if parsed {
                format!("{}: {controls} controls, {duplicates} duplicate IDs", path.display())
            } else {
                format!("{}: {}", path.display(), result.detail)
            };
            items.push(Item::new("scf-workbook", parsed && duplicates == 0 && controls > 0, true, detail));
        }
    }
    match run("python-deps").await {
        None => items.push(Item::skip("python-modules", "the python-deps plugin is not loaded")),
        Some(result) => {
            let passed = result.status == Status::Ok;
            let detail = if passed || result.impact.is_empty() {
                result.detail.clone()
            } else {
                format!("{} ({})", result.impact, result.detail)
            };
            items.push(Item::new("python-modules", passed, true, detail));
            for observation in result.observations.iter().filter(|o| o.name == "python_module_available") {
                let module = observation.labels.get("module").cloned().unwrap_or_default();
                let present = observation.value >= 1.0;
                items.push(Item::new(
                    format!("python module {module}"),
                    present,
                    true,
                    if present { "importable" } else { "missing" },
                ));
            }
        }
    }
    items
}

async fn runtime_items(daemon: &Arc<Daemon>) -> Vec<Item> {
    let services: &Services = daemon.runtime.services();
    let config = daemon.config.load();
    let mut items = Vec::new();
    match &services.mongo.primary {
        None => items.push(Item::skip("mongodb", "endpoints.mongodb_uri is not set")),
        Some(mongo) => items.push(match mongo.hello().await {
            Ok(info) => Item::new(
                "mongodb",
                true,
                true,
                format!("version {}, hello in {:.1} ms", info.version, info.latency_us as f64 / 1e3),
            ),
            Err(err) => Item::new("mongodb", false, true, message(&err)),
        }),
    }
    match &services.redis {
        None => items.push(Item::skip("redis", "endpoints.redis_url is not set")),
        Some(redis) => items.push(match redis.ping().await {
            Ok(micros) => {
                let info = redis.info("server").await.unwrap_or_default();
                let version =
                    info.lines().find_map(|l| l.strip_prefix("redis_version:")).unwrap_or("unknown").trim().to_owned();
                Item::new("redis", true, true, format!("version {version}, PING in {:.1} ms", micros as f64 / 1e3))
            }
            Err(err) => Item::new("redis", false, true, message(&err)),
        }),
    }
    // The engine is required when configured explicitly; otherwise it is probed at the default address.
    let required = config.endpoints.docker_host.is_some();
    let started = Instant::now();
    let docker = match services.docker.ping().await {
        Ok(_) => match services.docker.version().await {
            Ok(version) => Ok(format!(
                "version {version}, ping in {:.1} ms ({})",
                started.elapsed().as_secs_f64() * 1e3,
                services.docker.host()
            )),
            Err(err) => Err(message(&err)),
        },
        Err(err) => Err(message(&err)),
    };
    items.push(match docker {
        Ok(detail) => Item::new("docker", true, required, detail),
        Err(detail) => Item::new("docker", false, required, detail),
    });
    items
}
