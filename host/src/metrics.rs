//! Prometheus metrics. Every family Vigil exports is named, labelled and
//! documented here, once; the rest of the code calls the typed methods
//! (`check_ran`, `capability_refused`, ...) and never spells a metric name.
//!
//! Two kinds of families:
//! - event counters and histograms, updated when something happens;
//! - state gauges (check status, subsystem mode, observed values), rebuilt
//!   from the results store at scrape time, so they can never disagree with
//!   `/health/status`.

pub mod http;
mod state;
mod text;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

pub use state::{CheckView, check_views, render_state};

use self::text::{Family, Kind};
use crate::manifest::PluginKind;
use crate::results::CheckResult;

/// The metric name prefix.
pub const NAMESPACE: &str = "vigil";

/// Buckets for check durations: 1 ms to 60 s.
const CHECK_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// How a check run ended, as a bounded label.
pub fn outcome(result: &CheckResult) -> &'static str {
    match result.fault {
        None => result.status.as_str(),
        Some("timeout") => "timeout",
        Some("plugin_error") => "down",
        Some(_) => "trap",
    }
}

/// A collector registered while the daemon keeps a handle on it.
struct SharedCollector<C>(std::sync::Arc<C>);

impl<C: prometheus::core::Collector> prometheus::core::Collector for SharedCollector<C> {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        self.0.desc()
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.0.collect()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        // Registration only fails on a duplicate or malformed family, which
        // the unit tests rule out for this fixed set.
        Self::new().unwrap_or_else(|err| panic!("metric families are malformed: {err}"))
    }
}

/// Vigil's event metrics and their registry.
pub struct Metrics {
    registry: Registry,
    check_runs: IntCounterVec,
    check_duration: HistogramVec,
    plugin_traps: IntCounterVec,
    capability_refusals: IntCounterVec,
    plugin_log_dropped: IntCounterVec,
    plugins_loaded: IntGaugeVec,
    plugins_failed: IntGauge,
    plugin_reloads: IntCounterVec,
    http: std::sync::Arc<http::HttpStats>,
    http_connections_open: IntGauge,
    http_connections_refused: prometheus::IntCounter,
    http_connections_timed_out: prometheus::IntCounter,
    reload_duration: HistogramVec,
    config_reloads: IntCounterVec,
    check_lateness: prometheus::Histogram,
}

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help).namespace(NAMESPACE)
}

impl Metrics {
    /// Register every family (and the process collector on Linux).
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, prometheus::Error> {
            let family = IntCounterVec::new(opts(name, help), labels)?;
            registry.register(Box::new(family.clone()))?;
            Ok(family)
        };
        let check_runs = counter(
            "check_runs_total",
            "Check runs by outcome (ok, degraded, down, unknown, timeout, trap).",
            &["check", "outcome"],
        )?;
        let plugin_traps = counter(
            "plugin_traps_total",
            "Calls into a plugin that ended in a fault, by reason (timeout, memory_limit, panic, stack_overflow, trap, oversized, host_error).",
            &["plugin", "reason"],
        )?;
        let capability_refusals = counter(
            "capability_refusals_total",
            "Capability calls refused because the plugin's manifest does not grant the target.",
            &["plugin", "capability"],
        )?;
        let plugin_reloads = counter(
            "plugin_reloads_total",
            "Plugin versions swapped in (success) or rejected (failure) by a reload.",
            &["outcome"],
        )?;
        let plugin_log_dropped = counter(
            "plugin_log_lines_dropped_total",
            "Plugin log lines dropped because the plugin wrote over its log quota.",
            &["plugin"],
        )?;
        let config_reloads = counter(
            "config_reloads_total",
            "Reloads by what happened to vigil.toml (none, unchanged, applied, rejected).",
            &["outcome"],
        )?;
        let histogram =
            |name: &str, help: &str, labels: &[&str], buckets: &[f64]| -> Result<HistogramVec, prometheus::Error> {
                let family = HistogramVec::new(
                    HistogramOpts::new(name, help).namespace(NAMESPACE).buckets(buckets.to_vec()),
                    labels,
                )?;
                registry.register(Box::new(family.clone()))?;
                Ok(family)
            };
        let check_duration = histogram("check_duration_seconds", "Duration of check runs.", &["check"], CHECK_BUCKETS)?;
        let http = std::sync::Arc::new(http::HttpStats::new(NAMESPACE)?);
        registry.register(Box::new(SharedCollector(std::sync::Arc::clone(&http))))?;
        let http_connections_open =
            IntGauge::with_opts(opts("http_connections_open", "HTTP connections open now (probes, scrapes, admin)."))?;
        registry.register(Box::new(http_connections_open.clone()))?;
        let http_connections_refused = prometheus::IntCounter::with_opts(opts(
            "http_connections_refused_total",
            "HTTP connections closed on accept because [http] max_connections were open.",
        ))?;
        registry.register(Box::new(http_connections_refused.clone()))?;
        let http_connections_timed_out = prometheus::IntCounter::with_opts(opts(
            "http_connections_timed_out_total",
            "HTTP connections closed because no request head came within [http] header_read_timeout.",
        ))?;
        registry.register(Box::new(http_connections_timed_out.clone()))?;
        let reload_duration = histogram(
            "reload_duration_seconds",
            "Time from a plugin or configuration change to the swap.",
            &[],
            &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0],
        )?;
        let check_lateness = prometheus::Histogram::with_opts(
            HistogramOpts::new(
                "check_start_lateness_seconds",
                "How much later than planned check runs started (waiting for a CPU slot included).",
            )
            .namespace(NAMESPACE)
            .buckets(vec![0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        )?;
        registry.register(Box::new(check_lateness.clone()))?;
        let plugins_loaded = IntGaugeVec::new(opts("plugins_loaded", "Plugins loaded, by kind."), &["kind"])?;
        registry.register(Box::new(plugins_loaded.clone()))?;
        let plugins_failed = IntGauge::with_opts(opts("plugins_failed", "Plugins that failed to load."))?;
        registry.register(Box::new(plugins_failed.clone()))?;
        let build_info = IntGaugeVec::new(
            opts("build_info", "Build information; always 1."),
            &["version", "git_commit", "wasmtime_version"],
        )?;
        registry.register(Box::new(build_info.clone()))?;
        build_info
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                option_env!("VIGIL_GIT_COMMIT").unwrap_or("unknown"),
                "48.0.8",
            ])
            .set(1);
        for outcome in ["success", "failure"] {
            plugin_reloads.with_label_values(&[outcome]);
        }
        #[cfg(target_os = "linux")]
        registry.register(Box::new(prometheus::process_collector::ProcessCollector::new(
            std::process::id() as i32,
            NAMESPACE,
        )))?;
        Ok(Self {
            registry,
            check_runs,
            check_duration,
            plugin_traps,
            capability_refusals,
            plugin_log_dropped,
            plugins_loaded,
            plugins_failed,
            plugin_reloads,
            http,
            http_connections_open,
            http_connections_refused,
            http_connections_timed_out,
            reload_duration,
            config_reloads,
            check_lateness,
        })
    }

    /// Register a counter family for a subsystem that keeps its own
    /// (security events, watchdog, dispatcher, Celery). Names get the
    /// `vigil_` prefix.
    pub fn counter(&self, name: &str, help: &str, labels: &[&str]) -> Result<IntCounterVec, prometheus::Error> {
        let family = IntCounterVec::new(opts(name, help), labels)?;
        self.registry.register(Box::new(family.clone()))?;
        Ok(family)
    }

    /// Register a gauge family for a subsystem (see [`Metrics::counter`]).
    pub fn gauge(&self, name: &str, help: &str, labels: &[&str]) -> Result<prometheus::GaugeVec, prometheus::Error> {
        let family = prometheus::GaugeVec::new(opts(name, help), labels)?;
        self.registry.register(Box::new(family.clone()))?;
        Ok(family)
    }

    /// Register a histogram family for a subsystem (see [`Metrics::counter`]).
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> Result<HistogramVec, prometheus::Error> {
        let family =
            HistogramVec::new(HistogramOpts::new(name, help).namespace(NAMESPACE).buckets(buckets.to_vec()), labels)?;
        self.registry.register(Box::new(family.clone()))?;
        Ok(family)
    }

    /// A check ran.
    pub fn check_ran(&self, check: &str, result: &CheckResult) {
        self.check_runs.with_label_values(&[check, outcome(result)]).inc();
        self.check_duration.with_label_values(&[check]).observe(result.duration.as_secs_f64());
        if let Some(reason) = result.fault.filter(|fault| *fault != "plugin_error") {
            self.plugin_traps.with_label_values(&[check, reason]).inc();
        }
    }

    /// A check run started `late` after its planned time.
    pub fn check_started_late(&self, late: std::time::Duration) {
        self.check_lateness.observe(late.as_secs_f64());
    }

    /// A call into a plugin other than a check run faulted.
    pub fn plugin_faulted(&self, plugin: &str, reason: &str) {
        self.plugin_traps.with_label_values(&[plugin, reason]).inc();
    }

    /// A capability call was refused.
    pub fn capability_refused(&self, plugin: &str, capability: &str) {
        self.capability_refusals.with_label_values(&[plugin, capability]).inc();
    }

    /// A plugin log line was dropped by its quota.
    pub fn plugin_log_dropped(&self, plugin: &str) {
        self.plugin_log_dropped.with_label_values(&[plugin]).inc();
    }

    /// A plugin set was loaded: the kinds of its plugins, and how many
    /// failed to load.
    pub fn plugins_changed(&self, kinds: impl Iterator<Item = PluginKind>, failed: usize) {
        let mut counts = [0i64; PluginKind::ALL.len()];
        for kind in kinds {
            if let Some(i) = PluginKind::ALL.iter().position(|k| *k == kind) {
                counts[i] += 1;
            }
        }
        for (kind, count) in PluginKind::ALL.iter().zip(counts) {
            self.plugins_loaded.with_label_values(&[kind.as_str()]).set(count);
        }
        self.plugins_failed.set(i64::try_from(failed).unwrap_or(i64::MAX));
    }

    /// A reload finished: `seconds` from the change to the swap; `config`
    /// is what happened to `vigil.toml`.
    pub fn reload_finished(&self, seconds: f64, config: &str) {
        self.reload_duration.with_label_values::<&str>(&[]).observe(seconds);
        self.config_reloads.with_label_values(&[config]).inc();
    }

    /// A plugin version was swapped in (`true`) or rejected.
    pub fn reloaded(&self, success: bool) {
        self.plugin_reloads.with_label_values(&[if success { "success" } else { "failure" }]).inc();
    }

    /// A connection was refused: `[http] max_connections` were open.
    pub fn http_connection_refused(&self) {
        self.http_connections_refused.inc();
    }

    /// `count` connections were closed: idle or half-sent for longer than
    /// `[http] header_read_timeout`.
    pub fn http_connections_timed_out(&self, count: u64) {
        self.http_connections_timed_out.inc_by(count);
    }

    /// A connection was accepted.
    pub fn http_connection_opened(&self) {
        self.http_connections_open.inc();
    }

    /// A connection ended.
    pub fn http_connection_closed(&self) {
        self.http_connections_open.dec();
    }

    /// Where answered HTTP requests are counted (see [`http`]).
    pub fn http(&self) -> &std::sync::Arc<http::HttpStats> {
        &self.http
    }

    /// The whole exposition: event families, then the state families
    /// written from `snapshot`.
    pub fn render(&self, snapshot: &Snapshot<'_>) -> String {
        let mut text = self.render_events();
        text.push_str(&render_state(&snapshot.checks, snapshot.ready_on_degraded));
        render_redactions(&snapshot.scrubber_rules, &mut text);
        text.push_str(&render_verifier());
        render_plugin_info(&snapshot.plugins, &mut text);
        render_index_state(snapshot.index_plan, &mut text);
        text
    }

    /// The event families in the text exposition format.
    pub fn render_events(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::warn!(error = %err, "cannot encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// What the state families are written from: a plain view of the daemon's
/// state at scrape time (the renderer never sees the daemon itself).
pub struct Snapshot<'a> {
    /// Every check and its record.
    pub checks: Vec<CheckView<'a>>,
    /// Whether a degraded critical check counts as ready.
    pub ready_on_degraded: bool,
    /// Loaded plugins: name, kind, version.
    pub plugins: Vec<(&'a str, &'a str, String)>,
    /// The latest index plan.
    pub index_plan: &'a crate::indexes::Plan,
    /// Ids of the scrubber rules loaded (each has a redaction series, 0 or more).
    pub scrubber_rules: Vec<&'a str>,
}

/// `vigil_plugin_info{plugin,kind,version}`: the version of each loaded plugin.
fn render_plugin_info(plugins: &[(&str, &str, String)], out: &mut String) {
    let help = "Loaded plugins and their versions; always 1.";
    let mut family = Family::new("plugin_info", help, Kind::Gauge, &["plugin", "kind", "version"]);
    for (name, kind, version) in plugins {
        family.add(&[("plugin", name), ("kind", kind), ("version", version)], 1.0);
    }
    family.write(out);
}

/// `vigil_index_state{collection,index,state}`: 1 for each index's state in the latest plan.
fn render_index_state(plan: &crate::indexes::Plan, out: &mut String) {
    let help =
        "State of each wanted or unmanaged index in the latest plan (ok, missing, conflict, unmanaged); always 1.";
    let mut family = Family::new("index_state", help, Kind::Gauge, &["collection", "index", "state"]);
    for entry in &plan.entries {
        family.add(&[("collection", &entry.collection), ("index", &entry.name), ("state", entry.state.as_str())], 1.0);
    }
    family.write(out);
}

/// `vigil_scrubber_redactions_total` from the scrubber's counters: every
/// loaded rule at 0 or more, and rules unloaded since with their counts.
fn render_redactions(rules: &[&str], out: &mut String) {
    let help = "Credentials redacted from log lines, by rule.";
    let mut family = Family::new("scrubber_redactions_total", help, Kind::Counter, &["rule"]);
    let counts = crate::scrubber::redaction_counts();
    for rule in rules {
        if !counts.contains_key(*rule) {
            family.add(&[("rule", rule)], 0.0);
        }
    }
    for (rule, count) in &counts {
        family.add(&[("rule", rule)], *count as f64);
    }
    family.write(out);
}

/// The scrubber verifiers' breaker families, written as text: rule ids are
/// plugin-chosen but validated (letters, digits, `-`, `_`), so they need no
/// escaping.
fn render_verifier() -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    let skipped = crate::scrubber::verify::skipped_counts();
    text.push_str("# HELP vigil_scrubber_verify_skipped_total Candidates redacted without their plugin's verify verdict, by rule and reason (circuit-open, budget, timeout, fault).\n");
    text.push_str("# TYPE vigil_scrubber_verify_skipped_total counter\n");
    for (rule, reason, count) in &skipped {
        let _ = writeln!(text, "vigil_scrubber_verify_skipped_total{{reason=\"{reason}\",rule=\"{rule}\"}} {count}");
    }
    text.push_str("# HELP vigil_scrubber_verify_circuit_trips_total Times a rule's verify breaker opened after repeated failures or slow answers.\n");
    text.push_str("# TYPE vigil_scrubber_verify_circuit_trips_total counter\n");
    for (rule, count) in crate::scrubber::verify::trip_counts() {
        let _ = writeln!(text, "vigil_scrubber_verify_circuit_trips_total{{rule=\"{rule}\"}} {count}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_register_and_render() {
        let metrics = Metrics::new().expect("families are well formed");
        metrics.capability_refused("sneaky", "exec");
        let text = metrics.render_events();
        assert!(text.contains("vigil_capability_refusals_total{capability=\"exec\",plugin=\"sneaky\"} 1"), "{text}");
        assert!(text.contains("vigil_plugin_reloads_total{outcome=\"failure\"} 0"), "{text}");
        assert!(text.contains("# HELP vigil_build_info"), "{text}");
    }
}
