//! State gauges rebuilt from the results store at each scrape: check status,
//! subsystem mode, and the values checks observed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use prometheus::{Encoder, GaugeVec, IntGaugeVec, Opts, Registry, TextEncoder};

use super::NAMESPACE;
use crate::manifest::PluginKind;
use crate::results::{CheckRecord, Status};
use crate::runtime::Plugin;

const STATUSES: [Status; 4] = [Status::Ok, Status::Degraded, Status::Down, Status::Unknown];

/// A Prometheus-safe name: `[a-z0-9_]`, not starting with a digit.
pub fn sanitize(name: &str) -> String {
    let mut out: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn unit_suffix(unit: &str) -> &'static str {
    match unit {
        "seconds" => "_seconds",
        "bytes" => "_bytes",
        "ratio" => "_ratio",
        "info" => "_info",
        _ => "",
    }
}

/// One observed sample: its check and its labels.
struct Sample {
    check: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// What the state families need to know about one check.
#[derive(Debug, Clone, Copy)]
pub struct CheckView<'a> {
    /// Check (plugin) name.
    pub name: &'a str,
    /// The subsystem it watches.
    pub subsystem: &'a str,
    /// Whether readiness depends on it.
    pub critical: bool,
    /// Its results so far.
    pub record: Option<&'a CheckRecord>,
}

/// The check views of a plugin set.
pub fn check_views<'a>(plugins: &'a [Arc<Plugin>], records: &'a BTreeMap<String, CheckRecord>) -> Vec<CheckView<'a>> {
    plugins
        .iter()
        .filter(|p| p.kind() == PluginKind::Check)
        .map(|plugin| CheckView {
            name: plugin.name(),
            subsystem: plugin.description().map_or(plugin.name(), |d| d.subsystem.as_str()),
            critical: plugin.manifest.critical,
            record: records.get(plugin.name()),
        })
        .collect()
}

/// Render the state families of `checks`.
pub fn render_state(checks: &[CheckView<'_>], ready_on_degraded: bool) -> String {
    let registry = Registry::new();
    if let Err(err) = fill(&registry, checks, ready_on_degraded) {
        tracing::warn!(error = %err, "cannot build state metrics");
    }
    let mut buffer = Vec::new();
    if let Err(err) = TextEncoder::new().encode(&registry.gather(), &mut buffer) {
        tracing::warn!(error = %err, "cannot encode state metrics");
    }
    String::from_utf8(buffer).unwrap_or_default()
}

fn fill(registry: &Registry, checks: &[CheckView<'_>], ready_on_degraded: bool) -> Result<(), prometheus::Error> {
    let opts = |name: &str, help: &str| Opts::new(name, help).namespace(NAMESPACE);
    let status = IntGaugeVec::new(
        opts("check_status", "Effective status of each check: 1 for the current state, 0 for the others."),
        &["check", "subsystem", "status"],
    )?;
    let mode = IntGaugeVec::new(
        opts("subsystem_mode", "The mode each subsystem runs in (label `mode`) and its optimal mode; always 1."),
        &["check", "subsystem", "mode", "optimal"],
    )?;
    let degraded = IntGaugeVec::new(
        opts("subsystem_degraded", "1 when a subsystem runs in a mode other than its optimal one."),
        &["check", "subsystem"],
    )?;
    let last_run =
        GaugeVec::new(opts("check_last_run_timestamp_seconds", "Unix time of each check's latest run."), &["check"])?;
    let critical = IntGaugeVec::new(opts("check_critical", "1 when /health/ready depends on the check."), &["check"])?;
    let ready = prometheus::IntGauge::with_opts(opts(
        "ready",
        "1 when every critical check passes (what /health/ready answers with 200).",
    ))?;
    for family in [&status, &mode, &degraded, &critical] {
        registry.register(Box::new(family.clone()))?;
    }
    registry.register(Box::new(last_run.clone()))?;
    registry.register(Box::new(ready.clone()))?;
    let mut all_ready = true;

    let mut observed: BTreeMap<(String, String), Vec<Sample>> = BTreeMap::new();
    for view in checks {
        let (check, subsystem, record) = (view.name, view.subsystem, view.record);
        let effective = record.map_or(Status::Unknown, |r| r.effective);
        critical.with_label_values(&[check]).set(i64::from(view.critical));
        if view.critical && !effective.passes(ready_on_degraded) {
            all_ready = false;
        }
        for state in STATUSES {
            status.with_label_values(&[check, subsystem, state.as_str()]).set(i64::from(state == effective));
        }
        let Some(result) = record.and_then(|r| r.latest.as_ref()) else { continue };
        if let Ok(since) = result.started_at.duration_since(std::time::UNIX_EPOCH) {
            last_run.with_label_values(&[check]).set(since.as_secs_f64());
        }
        if !result.mode.is_empty() {
            mode.with_label_values(&[check, subsystem, &result.mode, &result.optimal_mode]).set(1);
        }
        let is_degraded = result.mode.is_empty() || result.mode != result.optimal_mode;
        degraded.with_label_values(&[check, subsystem]).set(i64::from(is_degraded));
        for observation in &result.observations {
            let name = format!("observed_{}{}", sanitize(&observation.name), unit_suffix(&observation.unit));
            let labels = observation
                .labels
                .iter()
                .map(|(key, value)| {
                    let key = sanitize(key);
                    let key = if key == "check" || key.starts_with("__") { format!("label_{key}") } else { key };
                    (key, value.clone())
                })
                .collect();
            let sample = Sample { check: check.to_owned(), labels, value: observation.value };
            observed.entry((name, observation.unit.clone())).or_default().push(sample);
        }
    }
    ready.set(i64::from(all_ready));
    for ((name, unit), samples) in observed {
        let keys: BTreeSet<&str> = samples.iter().flat_map(|s| s.labels.keys().map(String::as_str)).collect();
        let mut label_names = vec!["check"];
        label_names.extend(keys.iter().copied());
        let help = format!("A value checks observe ({unit}), as reported by the check plugin.");
        let family = GaugeVec::new(opts(&name, &help), &label_names)?;
        if registry.register(Box::new(family.clone())).is_err() {
            // Two observation names that sanitise alike: keep the first.
            continue;
        }
        for sample in &samples {
            let values: Vec<&str> = std::iter::once(sample.check.as_str())
                .chain(keys.iter().map(|key| sample.labels.get(*key).map_or("", String::as_str)))
                .collect();
            family.with_label_values(&values).set(sample.value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prometheus_safe() {
        assert_eq!(sanitize("redis-ping.latency"), "redis_ping_latency");
        assert_eq!(sanitize("9lives"), "_9lives");
        assert_eq!(sanitize("Tool"), "tool");
    }
}
