//! The watchdog's metric families.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use prometheus::{GaugeVec, HistogramVec, IntCounterVec};

use crate::metrics::Metrics;

/// Buckets for evaluation durations: 1 ms to 5 min.
const BUCKETS: &[f64] = &[0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// Registered families.
pub struct WatchdogMetrics {
    findings: GaugeVec,
    dispatches: IntCounterVec,
    evaluations: IntCounterVec,
    last_evaluation: GaugeVec,
    duration: HistogramVec,
    leader: GaugeVec,
    cross_replica: GaugeVec,
    /// Rule labels each plugin reported last time (zeroed when they vanish).
    seen: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

impl WatchdogMetrics {
    /// Register on `metrics`.
    pub fn new(metrics: &Metrics) -> Result<Self, prometheus::Error> {
        Ok(Self {
            findings: metrics.gauge("watchdog_findings", "Findings of the last evaluation, by watchdog plugin and rule.", &["plugin", "rule"])?,
            dispatches: metrics.counter(
                "watchdog_dispatches_total",
                "Dispatch requests by rule, target (celery, webhook, log) and outcome (dispatched, deduplicated, dry_run, failed, refused).",
                &["rule", "target", "outcome"],
            )?,
            evaluations: metrics.counter("watchdog_evaluations_total", "Watchdog evaluations by plugin and outcome (ok, error).", &["plugin", "outcome"])?,
            last_evaluation: metrics.gauge(
                "watchdog_last_evaluation_timestamp_seconds",
                "When each watchdog plugin last evaluated (Unix time).",
                &["plugin"],
            )?,
            duration: metrics.histogram("watchdog_evaluation_duration_seconds", "Duration of watchdog evaluations.", &["plugin"], BUCKETS)?,
            leader: metrics.gauge("watchdog_leader", "1 while this replica holds the watchdog leader lease.", &[])?,
            cross_replica: metrics.gauge(
                "watchdog_cross_replica_dedupe",
                "1 when dispatch dedupe and the leader lease are shared through Redis, 0 when in memory only.",
                &[],
            )?,
            seen: Mutex::new(BTreeMap::new()),
        })
    }

    /// An evaluation of `plugin` finished.
    pub fn evaluated(&self, plugin: &str, ok: bool, at_unix: f64, seconds: f64, by_rule: &BTreeMap<String, usize>) {
        self.evaluations.with_label_values(&[plugin, if ok { "ok" } else { "error" }]).inc();
        self.last_evaluation.with_label_values(&[plugin]).set(at_unix);
        self.duration.with_label_values(&[plugin]).observe(seconds);
        if !ok {
            return;
        }
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = seen.entry(plugin.to_owned()).or_default();
        for rule in previous.iter() {
            if !by_rule.contains_key(rule) {
                self.findings.with_label_values(&[plugin, rule]).set(0.0);
            }
        }
        for (rule, count) in by_rule {
            self.findings.with_label_values(&[plugin, rule]).set(*count as f64);
            previous.insert(rule.clone());
        }
    }

    /// A dispatch request was handled.
    pub fn dispatched(&self, rule: &str, target: &str, outcome: &str) {
        self.dispatches.with_label_values(&[rule, target, outcome]).inc();
    }

    /// Leadership and coordination state.
    pub fn coordination(&self, leader: bool, cross_replica: bool) {
        self.leader.with_label_values::<&str>(&[]).set(if leader { 1.0 } else { 0.0 });
        self.cross_replica.with_label_values::<&str>(&[]).set(if cross_replica { 1.0 } else { 0.0 });
    }
}
