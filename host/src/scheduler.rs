//! Runs every check on its own interval, with its own deadline and at most
//! one run in flight, and keeps a heartbeat for liveness.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::manifest::PluginKind;
use crate::results::{CheckResult, ResultsStore, Thresholds};
use crate::runtime::Plugin;

/// How often the scheduler's heartbeat beats.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// Proof of life of the scheduler, read by `/health/live`.
#[derive(Debug, Default)]
pub struct Heartbeat {
    last_unix_ms: AtomicU64,
}

impl Heartbeat {
    /// Record a beat now.
    pub fn beat(&self) {
        self.last_unix_ms.store(unix_ms(SystemTime::now()), Ordering::Relaxed);
    }

    /// Time since the last beat, or `None` before the first.
    pub fn age(&self) -> Option<Duration> {
        match self.last_unix_ms.load(Ordering::Relaxed) {
            0 => None,
            last => Some(Duration::from_millis(unix_ms(SystemTime::now()).saturating_sub(last))),
        }
    }
}

fn unix_ms(time: SystemTime) -> u64 {
    u64::try_from(time.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(u64::MAX)
}

tokio::task_local! {
    /// When the scheduler planned the run in progress. The run records how
    /// late it started once it holds a CPU slot, so the wait for one counts.
    pub static PLANNED: tokio::time::Instant;
}

/// Run a check once and record its result.
pub async fn run_once(plugin: &Plugin, results: &ResultsStore) -> CheckResult {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let outcome = plugin.run_check().await;
    let result = CheckResult::from_outcome(outcome, started_at, started.elapsed());
    match &result.fault {
        Some(fault) => tracing::warn!(plugin = plugin.name(), fault, reason = %result.detail, "check failed"),
        None => tracing::info!(
            plugin = plugin.name(),
            status = result.status.as_str(),
            mode = %result.mode,
            duration_seconds = result.duration.as_secs_f64(),
            "check ran"
        ),
    }
    plugin.services().metrics.check_ran(plugin.name(), &result);
    let thresholds = Thresholds { rise: plugin.manifest.rise, fall: plugin.manifest.fall };
    results.record(plugin.name(), result.clone(), thresholds);
    result
}

/// Beat the heartbeat every [`HEARTBEAT`] until `shutdown`.
pub async fn heartbeat(heartbeat: Arc<Heartbeat>, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            _ = ticker.tick() => heartbeat.beat(),
            _ = shutdown.cancelled() => break,
        }
    }
}

/// First runs are spread over this much time (or the interval, if shorter),
/// so a thousand checks do not all start at once and each has a result soon.
pub const START_SPREAD: Duration = Duration::from_secs(1);

/// When a check runs: first at a random point within [`START_SPREAD`], then
/// on a random phase of its interval (so checks with the same interval do
/// not fire together), every interval after that. No gap between runs is
/// longer than 1.1 intervals; a run that overruns its slot pushes the next
/// one to an interval after it ends.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    interval: Duration,
    /// The steady slots are `phase + k * interval` after the start.
    phase: Duration,
    next: Duration,
    first: bool,
}

impl Schedule {
    /// A schedule for `interval`, with `spread` and `phase` given as
    /// fractions in `[0, 1)` (random in the daemon; fixed in tests).
    pub fn new(interval: Duration, spread: f64, phase: f64) -> Self {
        let interval = interval.max(Duration::from_millis(1));
        let next = interval.min(START_SPREAD).mul_f64(spread.clamp(0.0, 1.0));
        Self { interval, phase: interval.mul_f64(phase.clamp(0.0, 1.0)), next, first: true }
    }

    /// The next planned start, as an offset from the loop's start.
    pub fn planned(&self) -> Duration {
        self.next
    }

    /// Move on after a run that ended at `ended` (offset from the start).
    pub fn advance(&mut self, ended: Duration) {
        if self.first {
            // The first steady slot at least a tenth of an interval after
            // the first run.
            self.first = false;
            let earliest = self.next + self.interval / 10;
            let periods = earliest.saturating_sub(self.phase).as_nanos().div_ceil(self.interval.as_nanos());
            self.next = self.phase + self.interval * u32::try_from(periods).unwrap_or(u32::MAX);
        } else {
            self.next += self.interval;
        }
        if self.next < ended {
            self.next = ended + self.interval;
        }
    }
}

/// A fraction in `[0, 1)` that differs per process and per `name`.
fn random_fraction(name: &str, salt: u8) -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write(name.as_bytes());
    hasher.write_u8(salt);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Run `plugin` on its [`Schedule`] until `stop` (a reload retired it: a
/// run in flight finishes first) or `shutdown` (the process stops: it does
/// not).
pub async fn check_loop(
    plugin: Arc<Plugin>,
    results: Arc<ResultsStore>,
    stop: CancellationToken,
    shutdown: CancellationToken,
) {
    let mut schedule =
        Schedule::new(plugin.manifest.interval, random_fraction(plugin.name(), 0), random_fraction(plugin.name(), 1));
    let start = tokio::time::Instant::now();
    loop {
        let planned = start + schedule.planned();
        tokio::select! {
            _ = tokio::time::sleep_until(planned) => {}
            _ = stop.cancelled() => break,
        }
        tokio::select! {
            _ = PLANNED.scope(planned, run_once(&plugin, &results)) => {}
            _ = shutdown.cancelled() => break,
        }
        schedule.advance(start.elapsed());
    }
}

/// Start one loop per check plugin plus the heartbeat, all stopping at
/// `shutdown` (for one-shot use; the daemon uses the [`crate::supervisor`]).
pub fn spawn(
    plugins: &[Arc<Plugin>],
    results: Arc<ResultsStore>,
    beat: Arc<Heartbeat>,
    shutdown: CancellationToken,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    tasks.spawn(heartbeat(beat, shutdown.clone()));
    for plugin in plugins.iter().filter(|p| p.kind() == PluginKind::Check) {
        tasks.spawn(check_loop(Arc::clone(plugin), Arc::clone(&results), shutdown.clone(), shutdown.clone()));
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(mut schedule: Schedule, runs: usize, run_time: Duration) -> Vec<Duration> {
        let mut out = Vec::new();
        for _ in 0..runs {
            out.push(schedule.planned());
            schedule.advance(schedule.planned() + run_time);
        }
        out
    }

    #[test]
    fn first_run_within_the_spread_then_every_interval_on_its_phase() {
        let ms = Duration::from_millis;
        let runs = starts(Schedule::new(ms(15_000), 0.5, 0.4), 4, ms(5));
        assert_eq!(runs, [ms(500), ms(6_000), ms(21_000), ms(36_000)]);
    }

    #[test]
    fn no_gap_is_longer_than_an_interval_and_a_tenth() {
        let interval = Duration::from_secs(10);
        for spread in [0.0, 0.3, 0.99] {
            for phase in [0.0, 0.01, 0.05, 0.5, 0.99] {
                let runs = starts(Schedule::new(interval, spread, phase), 6, Duration::from_millis(1));
                for pair in runs.windows(2) {
                    let gap = pair[1] - pair[0];
                    assert!(gap >= interval / 10 && gap <= interval + interval / 10, "{spread} {phase}: {runs:?}");
                }
            }
        }
    }

    #[test]
    fn phases_spread_checks_of_one_interval_over_it() {
        let interval = Duration::from_secs(1);
        let mut seconds: Vec<f64> = (0..100)
            .map(|i| {
                starts(Schedule::new(interval, 0.0, f64::from(i) / 100.0), 3, Duration::ZERO)[2].as_secs_f64() % 1.0
            })
            .collect();
        seconds.sort_by(f64::total_cmp);
        seconds.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        assert_eq!(seconds.len(), 100, "every phase its own slot");
    }

    #[test]
    fn an_overrun_pushes_the_next_run_an_interval_after_it_ends() {
        let ms = Duration::from_millis;
        let runs = starts(Schedule::new(ms(100), 0.0, 0.5), 3, ms(250));
        assert_eq!(runs, [ms(0), ms(350), ms(700)]);
    }

    #[test]
    fn random_fractions_stay_in_range_and_differ_by_salt() {
        let (a, b) = (random_fraction("check", 0), random_fraction("check", 1));
        assert!((0.0..1.0).contains(&a) && (0.0..1.0).contains(&b));
        assert_ne!(a, b);
    }
}
