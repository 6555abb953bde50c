//! `vigil index plan` / `vigil index apply`: the indexes the index-profile
//! plugins want, against a MongoDB deployment or a snapshot directory.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{DaemonArgs, OutputFormat, print_json};
use crate::daemon::Daemon;
use crate::indexes::{self, Action, Plan, State};

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Show each wanted index's state (ok, missing, conflict) and unmanaged
    /// ones. Exit 0 when every wanted index is ok, 1 otherwise.
    Plan(IndexArgs),
    /// Create missing indexes. Never drops without --prune; recreates a
    /// conflicting index only with --replace. Exit 0 when all of it worked.
    Apply {
        #[command(flatten)]
        args: IndexArgs,
        /// Drop indexes no profile wants (never `_id_`).
        #[arg(long)]
        prune: bool,
        /// Drop and recreate indexes that conflict with their profile.
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(flatten)]
    daemon: DaemonArgs,
    /// Use a snapshot directory: `snapshot:DIR` (indexes from mongodump's metadata.json files).
    #[arg(long, value_name = "snapshot:DIR", conflicts_with = "mongodb")]
    store: Option<String>,
    /// Use this MongoDB deployment instead of the configured one.
    #[arg(long, value_name = "URI", env = "VIGIL_INDEX_MONGODB_URI", hide_env_values = true)]
    mongodb: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

async fn start(args: &IndexArgs) -> anyhow::Result<std::sync::Arc<Daemon>> {
    let mut config = args.daemon.load_one_shot_config("warn")?;
    super::override_store(&mut config, args.store.as_deref(), args.mongodb.as_deref())?;
    Daemon::start(config).await
}

pub async fn execute(command: IndexCommand) -> anyhow::Result<ExitCode> {
    match command {
        IndexCommand::Plan(args) => {
            let daemon = start(&args).await?;
            let plan = indexes::check(&daemon, false).await;
            match args.format {
                OutputFormat::Json => print_json(&plan)?,
                OutputFormat::Text => print_plan(&plan),
            }
            Ok(if plan.clean() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        IndexCommand::Apply { args, prune, replace } => {
            let daemon = start(&args).await?;
            let plan = indexes::check(&daemon, false).await;
            let config = daemon.config.load();
            let Some((backend, store)) = indexes::backend_for(daemon.runtime.services(), config.endpoints.call_timeout)
            else {
                anyhow::bail!("no document store configured: give --store snapshot:DIR or --mongodb URI");
            };
            let actions = indexes::apply(&plan, backend.as_ref(), Some(&store), prune, replace).await;
            let ok = plan.errors.is_empty()
                && plan.profile_conflicts.is_empty()
                && actions.iter().all(|a| a.action != "failed")
                && !actions.iter().any(|a| a.action == "skipped" && plan_state(&plan, a) == Some(State::Conflict));
            match args.format {
                OutputFormat::Json => print_json(&serde_json::json!({ "plan": plan, "actions": actions }))?,
                OutputFormat::Text => {
                    print_plan(&plan);
                    print_actions(&actions);
                }
            }
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

fn plan_state(plan: &Plan, action: &Action) -> Option<State> {
    plan.entries.iter().find(|e| e.collection == action.collection && e.name == action.name).map(|e| e.state)
}

fn print_plan(plan: &Plan) {
    println!("{:<10} {:<52} {:<24} DETAIL", "STATE", "COLLECTION", "INDEX");
    for entry in &plan.entries {
        println!(
            "{:<10} {:<52} {:<24} {}",
            entry.state.as_str(),
            entry.collection,
            entry.name,
            entry.detail.as_deref().unwrap_or("")
        );
    }
    for conflict in &plan.profile_conflicts {
        println!("profile conflict: {conflict}");
    }
    for error in &plan.errors {
        println!("error: {error}");
    }
}

fn print_actions(actions: &[Action]) {
    for action in actions {
        println!(
            "{:<9} {}.{}{}",
            action.action,
            action.collection,
            action.name,
            action.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
        );
        if let Some(duplicates) = &action.duplicates {
            println!("          {} duplicate key value(s); for example:", duplicates.keys);
            for sample in &duplicates.sample {
                println!("            {sample}");
            }
        }
    }
}
