//! `vigil check`: run every check once and print the results.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use serde::Serialize;

use super::{DaemonArgs, OutputFormat, print_json};
use crate::daemon::{Daemon, FailedPlugin};
use crate::manifest::PluginKind;
use crate::results::{CheckResult, Status};
use crate::scheduler;

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    daemon: DaemonArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Serialize)]
struct Row {
    check: String,
    subsystem: Option<String>,
    #[serde(flatten)]
    result: CheckResult,
}

#[derive(Serialize)]
struct Output<'a> {
    checks: &'a [Row],
    failed_plugins: &'a [FailedPlugin],
}

pub async fn execute(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let config = args.daemon.load_one_shot_config("warn")?;
    let daemon = Daemon::start(config).await?;
    let set = daemon.plugins.load();
    let checks: Vec<_> = set.plugins.iter().filter(|p| p.kind() == PluginKind::Check).cloned().collect();

    let mut tasks = tokio::task::JoinSet::new();
    for plugin in checks {
        let results = Arc::clone(&daemon.results);
        tasks.spawn(async move {
            let result = scheduler::run_once(&plugin, &results).await;
            Row {
                check: plugin.name().to_owned(),
                subsystem: plugin.description().map(|d| d.subsystem.clone()),
                result,
            }
        });
    }
    let mut rows = Vec::new();
    while let Some(row) = tasks.join_next().await {
        rows.push(row?);
    }
    rows.sort_by(|a, b| a.check.cmp(&b.check));

    match args.format {
        OutputFormat::Json => print_json(&Output { checks: &rows, failed_plugins: &set.failed })?,
        OutputFormat::Text => print_table(&rows, &set.failed),
    }
    let healthy =
        set.failed.is_empty() && rows.iter().all(|row| row.result.fault.is_none() && row.result.status != Status::Down);
    Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_table(rows: &[Row], failed: &[FailedPlugin]) {
    println!("{:<24} {:<9} {:<14} {:<14} {:>10}  DETAIL", "CHECK", "STATUS", "MODE", "OPTIMAL", "DURATION");
    for row in rows {
        let result = &row.result;
        println!(
            "{:<24} {:<9} {:<14} {:<14} {:>8.1}ms  {}",
            row.check,
            result.status.as_str(),
            result.mode,
            result.optimal_mode,
            result.duration.as_secs_f64() * 1000.0,
            one_line(&result.detail),
        );
    }
    for failure in failed {
        println!("not loaded: {}: {}", failure.name.as_deref().unwrap_or("?"), one_line(&failure.error));
    }
}

/// The first line of a text, at most 100 characters.
pub(super) fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(100) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}
