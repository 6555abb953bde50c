//! State gauges rebuilt from the results store at each scrape: check status,
//! subsystem mode, and the values checks observed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::text::{Family, Kind};
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

/// Render the state families of `checks`, written directly (no registry is
/// built per scrape): families by name, samples by label values.
pub fn render_state(checks: &[CheckView<'_>], ready_on_degraded: bool) -> String {
    let mut critical =
        Family::new("check_critical", "1 when /health/ready depends on the check.", Kind::Gauge, &["check"]);
    let mut last_run = Family::new(
        "check_last_run_timestamp_seconds",
        "Unix time of each check's latest run.",
        Kind::Gauge,
        &["check"],
    );
    let mut status = Family::new(
        "check_status",
        "Effective status of each check: 1 for the current state, 0 for the others.",
        Kind::Gauge,
        &["check", "subsystem", "status"],
    );
    let mut degraded = Family::new(
        "subsystem_degraded",
        "1 when a subsystem runs in a mode other than its optimal one.",
        Kind::Gauge,
        &["check", "subsystem"],
    );
    let mut mode = Family::new(
        "subsystem_mode",
        "The mode each subsystem runs in (label `mode`) and its optimal mode; always 1.",
        Kind::Gauge,
        &["check", "subsystem", "mode", "optimal"],
    );
    let mut all_ready = true;
    let mut observed: BTreeMap<(String, String), Vec<Sample>> = BTreeMap::new();
    for view in checks {
        let (check, subsystem, record) = (view.name, view.subsystem, view.record);
        let effective = record.map_or(Status::Unknown, |r| r.effective);
        critical.add(&[("check", check)], f64::from(u8::from(view.critical)));
        if view.critical && !effective.passes(ready_on_degraded) {
            all_ready = false;
        }
        for state in STATUSES {
            let labels = [("check", check), ("subsystem", subsystem), ("status", state.as_str())];
            status.add(&labels, f64::from(u8::from(state == effective)));
        }
        let Some(result) = record.and_then(|r| r.latest.as_ref()) else { continue };
        if let Ok(since) = result.started_at.duration_since(std::time::UNIX_EPOCH) {
            last_run.add(&[("check", check)], since.as_secs_f64());
        }
        if !result.mode.is_empty() {
            let labels =
                [("check", check), ("subsystem", subsystem), ("mode", &result.mode), ("optimal", &result.optimal_mode)];
            mode.add(&labels, 1.0);
        }
        let is_degraded = result.mode.is_empty() || result.mode != result.optimal_mode;
        degraded.add(&[("check", check), ("subsystem", subsystem)], f64::from(u8::from(is_degraded)));
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

    // Families in name order, as Prometheus' own encoders write them.
    let mut families: Vec<(String, String)> = Vec::new();
    let text_of = |family: Family<'_>| {
        let mut out = String::new();
        let name = family.name().to_owned();
        family.write(&mut out);
        (name, out)
    };
    for family in [critical, last_run, status, degraded, mode] {
        families.push(text_of(family));
    }
    let mut ready = Family::new(
        "ready",
        "1 when every critical check passes (what /health/ready answers with 200).",
        Kind::Gauge,
        &[],
    );
    ready.add(&[], f64::from(u8::from(all_ready)));
    families.push(text_of(ready));
    let mut seen = BTreeSet::new();
    for ((name, unit), samples) in observed {
        if !seen.insert(name.clone()) {
            // Two observation names that sanitise alike: keep the first.
            continue;
        }
        let keys: BTreeSet<&str> = samples.iter().flat_map(|s| s.labels.keys().map(String::as_str)).collect();
        let mut label_names = vec!["check"];
        label_names.extend(keys.iter().copied());
        let help = format!("A value checks observe ({unit}), as reported by the check plugin.");
        let mut family = Family::new(&name, &help, Kind::Gauge, &label_names);
        for sample in &samples {
            let labels: Vec<(&str, &str)> = std::iter::once(("check", sample.check.as_str()))
                .chain(keys.iter().map(|key| (*key, sample.labels.get(*key).map_or("", String::as_str))))
                .collect();
            family.add(&labels, sample.value);
        }
        families.push(text_of(family));
    }
    families.sort_by(|a, b| a.0.cmp(&b.0));
    families.into_iter().map(|(_, text)| text).collect()
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
