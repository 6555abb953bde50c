//! The latest result of every check, with when it ran and how long it took.
//! Routes and metrics read from here; they never trigger a check.

use std::collections::BTreeMap;
use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::runtime::Fault;
use crate::runtime::bindings::types;

/// A subsystem's status, as the host reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Optimal mode.
    Ok,
    /// Fallback mode.
    Degraded,
    /// Not working (or the check itself failed).
    Down,
    /// No result yet.
    Unknown,
}

impl Status {
    /// Severity order: ok < degraded < unknown < down.
    pub fn rank(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Degraded => 1,
            Self::Unknown => 2,
            Self::Down => 3,
        }
    }

    /// Whether a check in this status counts as passing for readiness.
    pub fn passes(self, ready_on_degraded: bool) -> bool {
        match self {
            Self::Ok => true,
            Self::Degraded => ready_on_degraded,
            Self::Down | Self::Unknown => false,
        }
    }

    /// Lowercase name, also the metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Degraded => "degraded",
            Self::Down => "down",
            Self::Unknown => "unknown",
        }
    }
}

impl From<types::Status> for Status {
    fn from(status: types::Status) -> Self {
        match status {
            types::Status::Ok => Self::Ok,
            types::Status::Degraded => Self::Degraded,
            types::Status::Down => Self::Down,
            types::Status::Unknown => Self::Unknown,
        }
    }
}

/// One measured value, as reported by a check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    /// Value name.
    pub name: String,
    /// The number.
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// Extra dimensions.
    pub labels: BTreeMap<String, String>,
}

/// The outcome of one check run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// The verdict.
    pub status: Status,
    /// Current mode (empty when the check itself failed).
    pub mode: String,
    /// Optimal mode.
    pub optimal_mode: String,
    /// Cost of the current mode.
    pub impact: String,
    /// What was seen, or why the check failed.
    pub detail: String,
    /// Measured values.
    pub observations: Vec<Observation>,
    /// Set when the plugin failed rather than judged (`timeout`, `panic`...).
    pub fault: Option<&'static str>,
    /// When the run started.
    #[serde(with = "humantime_serde")]
    pub started_at: SystemTime,
    /// How long it took.
    #[serde(rename = "duration_seconds", serialize_with = "seconds")]
    pub duration: Duration,
}

fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

impl CheckResult {
    /// Build from a plugin's answer.
    pub fn from_outcome(
        outcome: Result<types::CheckReport, Fault>,
        started_at: SystemTime,
        duration: Duration,
    ) -> Self {
        match outcome {
            Ok(report) => Self {
                status: report.status.into(),
                mode: report.mode,
                optimal_mode: report.optimal_mode,
                impact: report.impact,
                detail: report.detail,
                observations: report
                    .observations
                    .into_iter()
                    .map(|o| Observation {
                        name: o.name,
                        value: o.value,
                        unit: o.unit,
                        labels: o.labels.into_iter().map(|l| (l.name, l.value)).collect(),
                    })
                    .collect(),
                fault: None,
                started_at,
                duration,
            },
            Err(fault) => Self {
                status: Status::Down,
                mode: String::new(),
                optimal_mode: String::new(),
                impact: String::new(),
                detail: fault.to_string(),
                observations: Vec::new(),
                fault: Some(fault.label()),
                started_at,
                duration,
            },
        }
    }
}

/// Per-check bookkeeping.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRecord {
    /// The status readiness and alerts use: the latest status once it has
    /// held for `rise` runs (when better) or `fall` runs (when worse).
    pub effective: Status,
    /// The latest result, if the check ran.
    pub latest: Option<CheckResult>,
    /// How many consecutive runs returned the latest status.
    pub streak: u32,
    /// Runs so far.
    pub runs: u64,
    /// Runs that ended in a fault.
    pub faults: u64,
    /// The latest changes of the effective status, oldest first (at most
    /// [`TRANSITIONS_KEPT`]).
    pub transitions: Vec<Transition>,
}

/// Transitions kept per check.
pub const TRANSITIONS_KEPT: usize = 5;

/// A change of a check's effective status.
#[derive(Debug, Clone, Serialize)]
pub struct Transition {
    /// The status before.
    pub from: Status,
    /// The status after.
    pub to: Status,
    /// When the run that made it started.
    #[serde(with = "humantime_serde")]
    pub at: SystemTime,
}

impl Default for CheckRecord {
    fn default() -> Self {
        Self { effective: Status::Unknown, latest: None, streak: 0, runs: 0, faults: 0, transitions: Vec::new() }
    }
}

/// How many consecutive results it takes to change a check's effective status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Runs needed to move to a better status.
    pub rise: u32,
    /// Runs needed to move to a worse status.
    pub fall: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { rise: 1, fall: 1 }
    }
}

impl CheckRecord {
    fn apply(&mut self, result: CheckResult, thresholds: Thresholds) {
        let status = result.status;
        let same = self.latest.as_ref().is_some_and(|latest| latest.status == status);
        self.streak = if same { self.streak.saturating_add(1) } else { 1 };
        self.runs += 1;
        if result.fault.is_some() {
            self.faults += 1;
        }
        let needed = if self.effective == Status::Unknown {
            1
        } else if status.rank() < self.effective.rank() {
            thresholds.rise
        } else {
            thresholds.fall
        };
        if status != self.effective && self.streak >= needed.max(1) {
            if self.transitions.len() == TRANSITIONS_KEPT {
                self.transitions.remove(0);
            }
            self.transitions.push(Transition { from: self.effective, to: status, at: result.started_at });
            self.effective = status;
        }
        self.latest = Some(result);
    }
}

/// Latest results of all checks.
#[derive(Debug, Default)]
pub struct ResultsStore {
    records: RwLock<BTreeMap<String, CheckRecord>>,
}

impl ResultsStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a result; returns the check's effective status afterwards.
    pub fn record(&self, check: &str, result: CheckResult, thresholds: Thresholds) -> Status {
        let mut records = self.records.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let record = records.entry(check.to_owned()).or_default();
        record.apply(result, thresholds);
        crate::generation::bump();
        record.effective
    }

    /// A copy of one check's record.
    pub fn get(&self, check: &str) -> Option<CheckRecord> {
        self.records.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(check).cloned()
    }

    /// Copies of all records.
    /// Forget a check (its plugin was unloaded).
    pub fn remove(&self, check: &str) {
        self.records.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(check);
        crate::generation::bump();
    }

    /// Call `read` with every record, under the store's read lock (no copy:
    /// for renderers that finish quickly).
    pub fn read<R>(&self, read: impl FnOnce(&BTreeMap<String, CheckRecord>) -> R) -> R {
        read(&self.records.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Every record.
    pub fn snapshot(&self) -> BTreeMap<String, CheckRecord> {
        self.records.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Forget checks that are no longer loaded.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.records.write().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|name, _| keep(name));
        crate::generation::bump();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_down_with_reason() {
        let result = CheckResult::from_outcome(
            Err(Fault::Timeout(Duration::from_secs(2))),
            SystemTime::UNIX_EPOCH,
            Duration::from_secs(2),
        );
        assert_eq!(result.status, Status::Down);
        assert_eq!(result.detail, "timed out after 2s");
        assert_eq!(result.fault, Some("timeout"));
        let store = ResultsStore::new();
        store.record("x", result, Thresholds::default());
        let record = store.get("x").expect("recorded");
        assert_eq!((record.runs, record.faults), (1, 1));
        assert_eq!(record.effective, Status::Down);
    }

    fn with_status(status: Status) -> CheckResult {
        CheckResult {
            status,
            mode: String::new(),
            optimal_mode: String::new(),
            impact: String::new(),
            detail: String::new(),
            observations: Vec::new(),
            fault: None,
            started_at: SystemTime::UNIX_EPOCH,
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn fall_and_rise_need_consecutive_runs() {
        let store = ResultsStore::new();
        let thresholds = Thresholds { rise: 2, fall: 3 };
        let effective = |status| store.record("db", with_status(status), thresholds);
        assert_eq!(effective(Status::Ok), Status::Ok, "the first result counts at once");
        assert_eq!(effective(Status::Down), Status::Ok, "one blip does not flip");
        assert_eq!(effective(Status::Ok), Status::Ok);
        assert_eq!(effective(Status::Down), Status::Ok);
        assert_eq!(effective(Status::Down), Status::Ok);
        assert_eq!(effective(Status::Down), Status::Down, "third failure in a row");
        assert_eq!(effective(Status::Ok), Status::Down, "one success does not recover");
        assert_eq!(effective(Status::Ok), Status::Ok, "second success in a row recovers");
    }
}
