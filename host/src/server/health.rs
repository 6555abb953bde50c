//! `/health/live`, `/health/ready[/{check}]`, `/health/status`, `/health/metrics`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use super::cache::{Body, Conditions, Key};
use super::query::{ReadyQuery, StatusQuery};
use super::{ApiError, health_json};
use crate::daemon::{Daemon, FailedPlugin};
use crate::manifest::PluginKind;
use crate::results::{CheckRecord, CheckResult, Status};
use crate::runtime::Plugin;
use crate::scheduler::HEARTBEAT;

/// A heartbeat older than this makes `/health/live` fail.
pub const LIVENESS_GRACE: Duration = Duration::from_secs(10 * HEARTBEAT.as_secs());

pub async fn live(State(daemon): State<Arc<Daemon>>) -> Response {
    live_answer(&daemon)
}

/// Liveness: the scheduler's heartbeat is recent.
pub fn live_answer(daemon: &Daemon) -> Response {
    match daemon.heartbeat.age() {
        Some(age) if age > LIVENESS_GRACE => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "fail", "detail": format!("scheduler stalled for {}s", age.as_secs()) })),
        )
            .into_response(),
        // What `Json(json!({ "status": "pass" }))` writes, without building it.
        Some(_) => ([(header::CONTENT_TYPE, HeaderValue::from_static(JSON))], r#"{"status":"pass"}"#).into_response(),
        None => Json(json!({ "status": "pass", "detail": "starting" })).into_response(),
    }
}

/// One check's verdict for readiness.
struct Verdict {
    name: String,
    passed: bool,
    status: Status,
    /// The mode the subsystem runs in (`in-memory`), when the check said.
    mode: String,
    detail: String,
}

fn verdict(daemon: &Daemon, plugin: &Plugin, record: Option<&CheckRecord>) -> Verdict {
    let status = record.map_or(Status::Unknown, |r| r.effective);
    let passed = status.passes(daemon.config.load().ready_on_degraded);
    let (detail, mode) = match record.and_then(|r| r.latest.as_ref()) {
        Some(result) => (result.detail.clone(), result.mode.clone()),
        None => ("has not run yet".to_owned(), String::new()),
    };
    Verdict { name: plugin.name().to_owned(), passed, status, mode, detail }
}

fn respond(verdicts: &[Verdict], verbose: bool) -> Body {
    let passed = verdicts.iter().all(|v| v.passed);
    let code = if passed { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    if verbose {
        let mut text = String::new();
        for v in verdicts {
            if v.passed && v.status == Status::Degraded {
                // Ready (ready_on_degraded), but not in its optimal mode.
                let mode = if v.mode.is_empty() { "fallback" } else { v.mode.as_str() };
                text.push_str(&format!("[+]{} ok (degraded: {})\n", v.name, one_line(mode)));
            } else if v.passed {
                text.push_str(&format!("[+]{} ok\n", v.name));
            } else {
                text.push_str(&format!("[-]{} failed: {}: {}\n", v.name, v.status.as_str(), one_line(&v.detail)));
            }
        }
        text.push_str(if passed { "readyz check passed\n" } else { "readyz check failed\n" });
        return Body::new(code, "text/plain; charset=utf-8", text.into());
    }
    let checks: BTreeMap<&str, serde_json::Value> = verdicts
        .iter()
        .map(|v| (v.name.as_str(), json!({ "passed": v.passed, "status": v.status, "detail": v.detail })))
        .collect();
    let body = json!({ "status": if passed { "pass" } else { "fail" }, "checks": checks });
    Body::new(code, JSON, body.to_string().into())
}

/// Not ready: the plugins are still loading.
fn starting(verbose: bool) -> Body {
    const DETAIL: &str = "starting: plugins are loading";
    if verbose {
        let text = format!("[-]plugins failed: {DETAIL}\nreadyz check failed\n");
        return Body::new(StatusCode::SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", text.into());
    }
    let body = json!({ "status": "fail", "detail": DETAIL, "checks": {} });
    Body::new(StatusCode::SERVICE_UNAVAILABLE, JSON, body.to_string().into())
}

/// The content type of JSON bodies.
const JSON: &str = "application/json";

fn one_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

fn checks(daemon: &Daemon) -> Vec<Arc<Plugin>> {
    daemon.plugins.load().plugins.iter().filter(|p| p.kind() == PluginKind::Check).cloned().collect()
}

pub async fn ready(
    State(daemon): State<Arc<Daemon>>,
    RawQuery(raw): RawQuery,
    conditions: Conditions,
) -> Result<Response, ApiError> {
    let query = ReadyQuery::parse(raw.as_deref())?;
    if query.exclude.is_empty() {
        return Ok(ready_answer(&daemon, query.verbose, &conditions));
    }
    let checks = checks(&daemon);
    if let Some(unknown) = query.exclude.iter().find(|name| !checks.iter().any(|p| p.name() == name.as_str())) {
        return Err(ApiError::bad_request(format!("exclude: no check named {unknown:?}")));
    }
    Ok(ready_body(&daemon, &query).respond(&conditions))
}

/// Readiness over every critical check. The body is built once per change
/// and shared until the next.
pub fn ready_answer(daemon: &Daemon, verbose: bool, conditions: &Conditions) -> Response {
    let query = ReadyQuery { verbose, exclude: Vec::new() };
    daemon.probes.respond(Key::Ready { verbose }, conditions, || ready_body(daemon, &query))
}

/// Readiness over the critical checks not excluded.
fn ready_body(daemon: &Daemon, query: &ReadyQuery) -> Body {
    if daemon.is_starting() {
        return starting(query.verbose);
    }
    let checks = checks(daemon);
    let verdicts: Vec<Verdict> = daemon.results.read(|records| {
        checks
            .iter()
            .filter(|p| p.manifest.critical && !query.exclude.iter().any(|name| name == p.name()))
            .map(|p| verdict(daemon, p, records.get(p.name())))
            .collect()
    });
    respond(&verdicts, query.verbose)
}

pub async fn ready_one(
    State(daemon): State<Arc<Daemon>>,
    Path(check): Path<String>,
    RawQuery(raw): RawQuery,
    conditions: Conditions,
) -> Result<Response, ApiError> {
    let query = ReadyQuery::parse(raw.as_deref())?;
    if daemon.is_starting() {
        return Ok(starting(query.verbose).respond(&conditions));
    }
    let plugin = checks(&daemon)
        .into_iter()
        .find(|p| p.name() == check)
        .ok_or_else(|| ApiError::not_found(format!("no check named {check:?}")))?;
    let key = Key::ReadyOne { check: check.clone(), verbose: query.verbose };
    Ok(daemon.probes.respond(key, &conditions, || {
        let record = daemon.results.get(&check);
        respond(&[verdict(&daemon, &plugin, record.as_ref())], query.verbose)
    }))
}

#[derive(Serialize)]
pub(super) struct PluginStatus {
    pub name: String,
    pub kind: PluginKind,
    pub version: String,
    pub origin: String,
    pub digest: String,
    pub api_version: String,
    pub subsystem: Option<String>,
    pub summary: Option<String>,
    pub critical: bool,
    pub interval_seconds: f64,
    pub timeout_seconds: f64,
    /// The effective status (after rise/fall); checks only.
    pub status: Option<Status>,
    pub runs: u64,
    pub faults: u64,
    pub result: Option<CheckResult>,
    /// The latest changes of `status`, oldest first; checks only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<crate::results::Transition>,
    /// What the manifest grants.
    pub grants: crate::manifest::Grants,
}

/// Security-tool availability, gathered from `tool_*` observations.
#[derive(Default, Serialize)]
struct ToolStatus {
    available: bool,
    image_present: bool,
    binary_present: bool,
    version: Option<String>,
}

/// What `/health/status` and `/health/ready` say now, as JSON: the status
/// document and the readiness document (`status` pass/fail, `checks` with
/// each critical check's verdict). The status page and the event stream
/// are built from these, so they never show what the probes would not.
pub(super) fn documents(daemon: &Daemon) -> (serde_json::Value, serde_json::Value) {
    let parse = |body: Body| serde_json::from_slice(&body.bytes).unwrap_or_default();
    (parse(status_body(daemon, false, &StatusQuery::default())), parse(ready_body(daemon, &ReadyQuery::default())))
}

pub(super) fn plugin_statuses(daemon: &Daemon) -> Vec<PluginStatus> {
    let records = daemon.results.snapshot();
    daemon
        .plugins
        .load()
        .plugins
        .iter()
        .map(|plugin| {
            let record = records.get(plugin.name()).cloned().unwrap_or_default();
            let description = plugin.description();
            PluginStatus {
                name: plugin.name().to_owned(),
                kind: plugin.kind(),
                version: plugin.manifest.version.clone(),
                origin: plugin.origin.to_string(),
                digest: plugin.digest.clone(),
                api_version: plugin.api_version.clone(),
                subsystem: description.map(|d| d.subsystem.clone()),
                summary: description.map(|d| d.summary.clone()),
                critical: plugin.manifest.critical,
                interval_seconds: plugin.manifest.interval.as_secs_f64(),
                timeout_seconds: plugin.manifest.timeout.as_secs_f64(),
                status: (plugin.kind() == PluginKind::Check).then_some(record.effective),
                runs: record.runs,
                faults: record.faults,
                result: record.latest,
                transitions: record.transitions,
                grants: plugin.manifest.grants.clone(),
            }
        })
        .collect()
}

fn security_tools(plugins: &[PluginStatus]) -> BTreeMap<String, ToolStatus> {
    let mut tools: BTreeMap<String, ToolStatus> = BTreeMap::new();
    let observations = plugins.iter().filter_map(|p| p.result.as_ref()).flat_map(|r| r.observations.iter());
    for observation in observations {
        let Some(tool) = observation.labels.get("tool") else { continue };
        let entry = tools.entry(tool.clone()).or_default();
        let on = observation.value > 0.0;
        match observation.name.as_str() {
            "tool_available" => entry.available = on,
            "tool_image_present" => entry.image_present = on,
            "tool_binary_present" => entry.binary_present = on,
            "tool_version" => entry.version = observation.labels.get("version").cloned(),
            _ => {}
        }
    }
    tools
}

/// The worst of several statuses; `unknown` ranks between degraded and down.
pub fn worst(statuses: impl Iterator<Item = Status>) -> Status {
    statuses.max_by_key(|status| status.rank()).unwrap_or(Status::Ok)
}

pub async fn status(
    State(daemon): State<Arc<Daemon>>,
    RawQuery(raw): RawQuery,
    conditions: Conditions,
) -> Result<Response, ApiError> {
    let query = StatusQuery::parse(raw.as_deref())?;
    let health_json = conditions.health_json;
    let mut response = if query.is_everything() {
        daemon.probes.respond(Key::Status { health_json }, &conditions, || status_body(&daemon, health_json, &query))
    } else {
        status_body(&daemon, health_json, &query).respond(&conditions)
    };
    // The format follows `Accept`: caches must key on it.
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept"));
    Ok(response)
}

fn status_body(daemon: &Daemon, health_json: bool, query: &StatusQuery) -> Body {
    let all = plugin_statuses(daemon);
    let overall = if daemon.is_starting() { Status::Unknown } else { worst(all.iter().filter_map(|p| p.status)) };
    let tools = security_tools(&all);
    let (plugins, selection) = query.select(all, |p| query.matches(&p.name, p.kind, p.status));
    if health_json {
        return health_json::render(overall, &plugins);
    }
    let failed: Vec<FailedPlugin> = daemon.plugins.load().failed.clone();
    let watchdog = watchdog_status(daemon);
    // Coordination matters once the watchdog can run at all (a store is configured).
    let watchdog_runs = daemon.runtime.services().store.is_some();
    let overall = match &watchdog {
        Some(w) if watchdog_runs && w.coordination.status == "degraded" => {
            worst([overall, Status::Degraded].into_iter())
        }
        _ => overall,
    };
    let mut body = json!({
        "status": overall,
        "watchdog": watchdog,
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": unix_seconds(daemon.started_at),
        "security_tools": tools,
        "plugins": plugins,
        "failed_plugins": failed,
        "rejected_plugins": daemon.reloads.rejected(),
        "indexes": index_summary(&daemon.index_plan.load()),
    });
    if !query.is_everything() {
        body["selection"] = json!(selection);
    }
    Body::new(StatusCode::OK, JSON, body.to_string().into())
}

/// Seconds since the Unix epoch.
fn unix_seconds(time: std::time::SystemTime) -> f64 {
    time.duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// The index plan in `/health/status`: counts by state and the entries that
/// need attention.
fn index_summary(plan: &crate::indexes::Plan) -> serde_json::Value {
    use crate::indexes::State;
    json!({
        "ok": plan.count(State::Ok),
        "missing": plan.count(State::Missing),
        "conflict": plan.count(State::Conflict),
        "unmanaged": plan.count(State::Unmanaged),
        "attention": plan.entries.iter().filter(|e| e.state != State::Ok).map(|e| json!({
            "collection": e.collection, "name": e.name, "state": e.state, "detail": e.detail,
        })).collect::<Vec<_>>(),
        "profile_conflicts": plan.profile_conflicts,
        "errors": plan.errors,
    })
}

/// The watchdog section of `/health/status`, when watchdog plugins are loaded.
#[derive(Debug, Serialize)]
struct WatchdogStatus {
    coordination: crate::watchdog::CoordinationView,
    rules: Vec<crate::watchdog::RuleReport>,
}

fn watchdog_status(daemon: &Daemon) -> Option<WatchdogStatus> {
    let set = daemon.plugins.load();
    if !set.plugins.iter().any(|p| p.kind() == crate::manifest::PluginKind::Watchdog) {
        return None;
    }
    Some(WatchdogStatus { coordination: daemon.watchdog.coordination(), rules: daemon.watchdog.reports() })
}

pub async fn counters(State(daemon): State<Arc<Daemon>>, conditions: Conditions) -> Response {
    daemon.probes.respond(Key::Counters, &conditions, || counters_body(&daemon))
}

fn counters_body(daemon: &Daemon) -> Body {
    let set = daemon.plugins.load();
    let records = daemon.results.snapshot();
    let reports = daemon.watchdog.reports();
    let active_sessions: Option<f64> = records
        .values()
        .filter_map(|r| r.latest.as_ref())
        .flat_map(|r| r.observations.iter())
        .filter(|o| o.name == "active_sessions")
        .map(|o| o.value)
        .reduce(|a, b| a + b);
    let body = json!({
        "active_sessions": active_sessions,
        "plugins_loaded": set.plugins.len(),
        "plugins_failed": set.failed.len(),
        "checks_run": records.values().map(|r| r.runs).sum::<u64>(),
        "check_faults": records.values().map(|r| r.faults).sum::<u64>(),
        "capability_refusals": daemon.runtime.services().refused_calls(),
        "watchdog_findings": reports.iter().map(|r| r.findings.len()).sum::<usize>(),
        "dispatches": reports
            .iter()
            .flat_map(|r| r.findings.iter())
            .filter(|f| f.dispatch.as_ref().is_some_and(|d| matches!(d.outcome, crate::dispatch::Outcome::Dispatched { .. })))
            .count(),
        "started_at": unix_seconds(daemon.started_at),
    });
    Body::new(StatusCode::OK, JSON, body.to_string().into())
}
