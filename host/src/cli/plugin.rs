//! `vigil plugin test` and `vigil plugin list`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::json;

use super::check::one_line;
use super::{DaemonArgs, OutputFormat, print_json};
use crate::capabilities::Services;
use crate::daemon::{Daemon, FailedPlugin};
use crate::loader;
use crate::manifest::{MANIFEST_FILE, PluginKind};
use crate::results::CheckResult;
use crate::runtime::{Fault, Runtime, RuntimeOptions};
use crate::telemetry;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Load one plugin, call it once and print what it returned as JSON:
    /// a check's report, a scrubber's rules, a watchdog's findings or an
    /// index profile's indexes. Exits 1 when the call failed.
    Test(TestArgs),
    /// List the plugins the configuration loads, and those that fail to load
    /// with the reason. Exits 1 when any failed.
    List(ListArgs),
    /// Write a ready-to-build plugin crate: Cargo.toml, plugin.toml, a working
    /// src/lib.rs, a golden expected.json for `plugin test --expect`, a README.
    New(super::new::NewArgs),
    /// Install or upgrade a plugin in a directory the daemon watches,
    /// atomically: the copy is staged in a hidden directory and swapped with
    /// the old version in one rename, so the daemon never reads half of it.
    Deploy(super::deploy::DeployArgs),
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// A plugin directory (holding plugin.toml), or the plugin.toml itself.
    path: PathBuf,
    /// Override a `[config]` key: `key=value` (the value is read as TOML,
    /// falling back to a plain string). Repeatable. (`--config` is the old
    /// name, still accepted; elsewhere `--config` names a vigil.toml.)
    #[arg(long = "set", alias = "config", value_name = "KEY=VALUE")]
    config: Vec<String>,
    /// Compile in memory instead of using the artifact cache.
    #[arg(long)]
    no_cache: bool,
    /// Compare the output with this golden JSON: every key it has must be in
    /// the output with the same value (arrays element by element); exit 1 and
    /// show the differences otherwise.
    #[arg(long, value_name = "FILE")]
    expect: Option<PathBuf>,
    /// Give the plugin's `redis` capability this Redis.
    #[arg(long, value_name = "URL")]
    with_redis: Option<String>,
    /// Give the `mongo` and `store` capabilities this MongoDB.
    #[arg(long, value_name = "URI")]
    with_mongodb: Option<String>,
    /// Give the `store` capability this store: `snapshot:DIR`, a directory
    /// of mongoexport files (as `vigil watchdog run --store` and `vigil index
    /// plan --store` take it).
    #[arg(long, value_name = "snapshot:DIR", conflicts_with = "with_snapshot")]
    store: Option<String>,
    /// The old spelling of `--store snapshot:DIR`.
    #[arg(long, value_name = "DIR", hide = true)]
    with_snapshot: Option<PathBuf>,
    /// Give the `docker` capability this engine address.
    #[arg(long, value_name = "HOST")]
    with_docker: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    daemon: DaemonArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

pub async fn execute(command: PluginCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::Test(args) => test(args).await,
        PluginCommand::List(args) => list(args).await,
        PluginCommand::New(args) => super::new::execute(args),
        PluginCommand::Deploy(args) => super::deploy::execute(&args),
    }
}

async fn test(args: TestArgs) -> anyhow::Result<ExitCode> {
    telemetry::init(&crate::config::LogConfig::one_shot("warn"))?;
    let dir = plugin_dir(&args.path);
    let mut source = loader::read_source(&dir).map_err(|failed| anyhow::anyhow!("{}", failed.1))?;
    for pair in &args.config {
        let (key, value) = pair.split_once('=').with_context(|| format!("--set {pair:?}: expected KEY=VALUE"))?;
        source.manifest.config.insert(key.trim().to_owned(), parse_value(value));
    }
    source.manifest.substitute(&crate::config::Endpoints::default().variables()).map_err(anyhow::Error::msg)?;
    let cache_dir = if args.no_cache { None } else { crate::config::DaemonConfig::default().effective_cache_dir() };
    let endpoints = crate::config::Endpoints {
        redis_url: args.with_redis.clone().map(crate::config::Secret::Literal),
        mongodb_uri: args.with_mongodb.clone().map(crate::config::Secret::Literal),
        snapshot_dir: match &args.store {
            Some(store) => Some(PathBuf::from(
                store.strip_prefix("snapshot:").with_context(|| format!("--store {store:?}: expected snapshot:DIR"))?,
            )),
            None => args.with_snapshot.clone(),
        },
        docker_host: args.with_docker.clone(),
        ..crate::config::Endpoints::default()
    };
    let services =
        Services::connect(&endpoints, Arc::new(crate::metrics::Metrics::new()?)).await.map_err(anyhow::Error::msg)?;
    let runtime = Runtime::new(RuntimeOptions { cache_dir }, Arc::new(services))?;
    let plugin = runtime.prepare(source).await?;

    let started_at = SystemTime::now();
    let started = Instant::now();
    let (output, fault): (serde_json::Value, Option<Fault>) = match plugin.kind() {
        PluginKind::Check => {
            let outcome = plugin.run_check().await;
            let fault = outcome.as_ref().err().cloned();
            let result = CheckResult::from_outcome(outcome, started_at, started.elapsed());
            (json!({ "description": plugin.description(), "result": result }), fault)
        }
        PluginKind::Scrubber => split(plugin.rules().await, |rules| json!({ "rules": rules })),
        PluginKind::Watchdog => split(
            plugin.evaluate().await,
            |findings| json!({ "description": plugin.description(), "findings": findings }),
        ),
        PluginKind::IndexProfile => split(plugin.indexes().await, |indexes| json!({ "indexes": indexes })),
    };
    let mut body = json!({
        "plugin": plugin.name(),
        "kind": plugin.kind(),
        "version": plugin.manifest.version,
        "api_version": plugin.api_version,
    });
    if let (Some(body), Some(output)) = (body.as_object_mut(), output.as_object()) {
        body.extend(output.clone());
        if let Some(fault) = &fault {
            body.insert("error".to_owned(), json!(fault.to_string()));
        }
    }
    print_json(&body)?;
    if let Some(path) = &args.expect {
        let text = std::fs::read_to_string(path).with_context(|| format!("--expect {}", path.display()))?;
        let wanted: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("--expect {}: not JSON", path.display()))?;
        let mut differences = Vec::new();
        compare(&wanted, &body, "$", &mut differences);
        if !differences.is_empty() {
            for difference in &differences {
                eprintln!("expectation not met: {difference}");
            }
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(if fault.is_none() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Every key of `wanted` must be in `actual` with the same value; arrays
/// must have the same length and match element by element.
fn compare(wanted: &serde_json::Value, actual: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    use serde_json::Value;
    match (wanted, actual) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, value) in want {
                match have.get(key) {
                    Some(found) => compare(value, found, &format!("{at}.{key}"), out),
                    None => out.push(format!("{at}.{key}: missing")),
                }
            }
        }
        (Value::Array(want), Value::Array(have)) if want.len() == have.len() => {
            for (i, (w, h)) in want.iter().zip(have).enumerate() {
                compare(w, h, &format!("{at}[{i}]"), out);
            }
        }
        (Value::Array(want), Value::Array(have)) => {
            out.push(format!("{at}: wanted {} elements, found {}", want.len(), have.len()));
        }
        (want, have) if want == have => {}
        (want, have) => out.push(format!("{at}: wanted {want}, found {have}")),
    }
}

fn split<T>(
    outcome: Result<T, Fault>,
    render: impl FnOnce(T) -> serde_json::Value,
) -> (serde_json::Value, Option<Fault>) {
    match outcome {
        Ok(value) => (render(value), None),
        Err(fault) => (json!({}), Some(fault)),
    }
}

fn plugin_dir(path: &Path) -> PathBuf {
    if path.file_name().is_some_and(|name| name == MANIFEST_FILE) {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        path.to_path_buf()
    }
}

fn parse_value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut table| table.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
}

#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    kind: PluginKind,
    version: &'a str,
    origin: String,
    api_version: &'a str,
    digest: &'a str,
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let config = args.daemon.load_one_shot_config("off")?;
    let daemon = Daemon::start(config).await?;
    let set = daemon.plugins.load();
    let listed: Vec<Listed<'_>> = set
        .plugins
        .iter()
        .map(|p| Listed {
            name: p.name(),
            kind: p.kind(),
            version: &p.manifest.version,
            origin: p.origin.to_string(),
            api_version: &p.api_version,
            digest: &p.digest,
        })
        .collect();
    match args.format {
        OutputFormat::Json => print_json(&json!({ "plugins": listed, "failed_plugins": set.failed }))?,
        OutputFormat::Text => print_list(&listed, &set.failed),
    }
    Ok(if set.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_list(listed: &[Listed<'_>], failed: &[FailedPlugin]) {
    println!("{:<24} {:<14} {:<10} ORIGIN", "NAME", "KIND", "VERSION");
    for plugin in listed {
        println!("{:<24} {:<14} {:<10} {}", plugin.name, plugin.kind.as_str(), plugin.version, plugin.origin);
    }
    for failure in failed {
        println!("FAILED {}: {}", failure.origin, one_line(&failure.error));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_are_subsets() {
        let actual = json!({ "a": 1, "b": { "c": [1, { "d": 2, "e": 3 }] }, "f": "x" });
        let mut out = Vec::new();
        compare(&json!({ "b": { "c": [1, { "d": 2 }] } }), &actual, "$", &mut out);
        assert!(out.is_empty(), "{out:?}");
        compare(&json!({ "b": { "c": [1] }, "g": 1, "f": "y" }), &actual, "$", &mut out);
        assert_eq!(out, ["$.b.c: wanted 1 elements, found 2", "$.g: missing", "$.f: wanted \"y\", found \"x\""]);
    }

    #[test]
    fn config_values_parse_as_toml_or_string() {
        assert_eq!(parse_value("3"), toml::Value::Integer(3));
        assert_eq!(parse_value("true"), toml::Value::Boolean(true));
        assert_eq!(parse_value("\"x\""), toml::Value::String("x".into()));
        assert_eq!(parse_value("loop"), toml::Value::String("loop".into()));
    }
}
