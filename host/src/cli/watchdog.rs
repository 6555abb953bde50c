//! `vigil watchdog run`: evaluate every watchdog rule once against a store,
//! print the findings and the dispatches made (or, with `--dry-run`, the ones
//! that would be made). The daemon (`vigil run`) evaluates on each rule's
//! interval instead.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{DaemonArgs, OutputFormat, print_json};
use crate::daemon::Daemon;
use crate::dispatch::Outcome;
use crate::watchdog::RuleReport;

#[derive(Debug, Subcommand)]
pub enum WatchdogCommand {
    /// Evaluate every watchdog plugin once and exit: 0 when every rule ran
    /// and every dispatch went out (or was deduplicated, or only printed),
    /// 1 when a rule failed or a dispatch failed or was refused.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    daemon: DaemonArgs,
    /// Accepted for compatibility: `watchdog run` always evaluates once and
    /// exits (the daemon, `vigil run`, evaluates on each rule's interval).
    #[arg(long, hide = true)]
    once: bool,
    /// Evaluate as of this moment (RFC 3339, e.g. `2026-01-15T12:00:00Z`):
    /// the rules' clock reads it instead of the system time, so an export's
    /// ages are what they were when it was taken.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    now: Option<std::time::SystemTime>,
    /// The store to read: `snapshot:DIR` (a directory of mongoexport files).
    #[arg(long, value_name = "snapshot:DIR", conflicts_with = "mongodb")]
    store: Option<String>,
    /// Read from this MongoDB deployment instead of the configured one.
    #[arg(long, value_name = "URI", env = "VIGIL_WATCHDOG_MONGODB_URI", hide_env_values = true)]
    mongodb: Option<String>,
    /// Print the dispatches instead of sending them.
    #[arg(long)]
    dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

pub async fn execute(command: WatchdogCommand) -> anyhow::Result<ExitCode> {
    let WatchdogCommand::Run(args) = command;
    let mut config = args.daemon.load_one_shot_config("warn")?;
    super::override_store(&mut config, args.store.as_deref(), args.mongodb.as_deref())?;
    config.watchdog.dry_run |= args.dry_run;
    let daemon = Daemon::start(config).await?;
    if let Some(now) = args.now {
        daemon.runtime.services().pin_clock(now);
    }
    let set = daemon.plugins.load();
    let reports = daemon.watchdog.evaluate_all(&set.plugins).await;
    let healthy = reports.iter().all(|r| {
        r.error.is_none()
            && r.findings.iter().all(|f| {
                !matches!(
                    f.dispatch.as_ref().map(|d| &d.outcome),
                    Some(Outcome::Failed { .. } | Outcome::Refused { .. })
                )
            })
    });
    match args.format {
        OutputFormat::Json => print_json(&serde_json::json!({
            "coordination": daemon.watchdog.coordination(),
            "rules": reports,
            "failed_plugins": set.failed,
        }))?,
        OutputFormat::Text => print_text(&reports),
    }
    for failure in &set.failed {
        eprintln!("plugin failed to load: {}: {}", failure.origin, failure.error);
    }
    Ok(if healthy && set.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn parse_time(text: &str) -> Result<std::time::SystemTime, String> {
    humantime::parse_rfc3339_weak(text).map_err(|e| format!("{e} (expected RFC 3339, e.g. 2026-01-15T12:00:00Z)"))
}

fn print_text(reports: &[RuleReport]) {
    if reports.is_empty() {
        println!("no watchdog plugins loaded");
    }
    for report in reports {
        match &report.error {
            Some(error) => println!("{}: FAILED: {error}", report.plugin),
            None => println!(
                "{}: {} finding(s) in {:.0} ms",
                report.plugin,
                report.findings.len(),
                report.duration_seconds * 1e3
            ),
        }
        for finding in &report.findings {
            println!("  [{}] {} {}: {}", finding.severity, finding.rule, finding.subject, finding.detail);
            if let Some(dispatch) = &finding.dispatch {
                let outcome = match &dispatch.outcome {
                    Outcome::Dispatched { task_id: Some(id) } => format!("dispatched (task id {id})"),
                    Outcome::Dispatched { task_id: None } => "dispatched".to_owned(),
                    Outcome::Deduplicated => "deduplicated (already dispatched within the cooldown)".to_owned(),
                    Outcome::DryRun => "dry run: not sent".to_owned(),
                    Outcome::Failed { error } => format!("FAILED: {error}"),
                    Outcome::Refused { reason } => format!("REFUSED: {reason}"),
                };
                println!(
                    "      -> {} {}{} via {} [{}]: {outcome}",
                    dispatch.request.task,
                    dispatch.request.args,
                    if dispatch.request.kwargs.as_object().is_some_and(|k| !k.is_empty()) {
                        format!(" {}", dispatch.request.kwargs)
                    } else {
                        String::new()
                    },
                    dispatch.target,
                    dispatch.request.dedupe_key
                );
            }
        }
    }
}
