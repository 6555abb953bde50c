//! The soak: `vigil run` with every bundled plugin on a live platform
//! ([`crate::platform`]) under steady load on every route, a plugin replaced
//! every few seconds, a platform log scrubbed by `vigil scrub --follow`, new
//! drift for the watchdog, and dependencies killed and restarted. It reports
//! per window (requests, p50/p99, statuses, RSS, fds) and in total (reloads,
//! dispatches, redactions), and lists everything that went wrong.
//!
//! `cargo run -p vigil-tests --bin soak -- --help`; a five-minute version
//! runs in the test suite (`tests/e2e/soak.rs`).

mod load;
mod logs;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::observe::{Rng, metric_sum, open_fds, percentile, rss_kib, sockets};
use crate::platform::{self, Dependency, Platform};
use crate::process::{ScrubFollower, VigilProcess};
use crate::services::recorded_calls;

/// How to soak.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long the load runs.
    pub duration: Duration,
    /// Report granularity.
    pub window: Duration,
    /// Concurrent keep-alive clients.
    pub clients: usize,
    /// Replace the swapped plugin this often.
    pub swap_every: Duration,
    /// Kill and restart a dependency this often.
    pub flap_every: Duration,
}

impl Options {
    /// Defaults for a run of `duration`: 10 s windows (5 s under two
    /// minutes), 8 clients, a plugin swap every 3 s, a flap every 20 s (10 s
    /// under two minutes).
    pub fn for_duration(duration: Duration) -> Self {
        let short = duration < Duration::from_secs(120);
        Self {
            duration,
            window: Duration::from_secs(if short { 5 } else { 10 }),
            clients: 8,
            swap_every: Duration::from_secs(3),
            flap_every: Duration::from_secs(if short { 10 } else { 20 }),
        }
    }
}

/// One report window.
#[derive(Debug, Clone)]
pub struct Window {
    /// Its start, from the start of the load.
    pub start: Duration,
    /// Requests answered in it.
    pub requests: usize,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Answers that were not expected.
    pub unexpected: usize,
    /// Daemon RSS at its end, KiB.
    pub rss_kib: u64,
    /// Daemon open fds at its end.
    pub fds: usize,
    /// Daemon sockets at its end.
    pub sockets: usize,
}

/// Everything the soak saw.
#[derive(Debug, Default)]
pub struct Report {
    /// Per window.
    pub windows: Vec<Window>,
    /// (method path, status) -> count, over the whole run.
    pub statuses: BTreeMap<(String, u16), usize>,
    /// Unexpected answers, described (first 20).
    pub unexpected: Vec<String>,
    /// Flaps: dependency, time to be seen down, time to be seen up again.
    pub flaps: Vec<(Dependency, Duration, Duration)>,
    /// Plugin replacements written.
    pub swaps: usize,
    /// `vigil_plugin_reloads_total` by outcome.
    pub reloads: BTreeMap<String, f64>,
    /// `vigil_watchdog_dispatches_total` by outcome.
    pub dispatches: BTreeMap<String, f64>,
    /// Stuck runs the worker repaired, and those repaired under two task ids.
    pub repairs: (usize, Vec<String>),
    /// Stuck runs planted that were never repaired.
    pub unrepaired: Vec<String>,
    /// Platform log: lines written, lines scrubbed out, rotations, redactions.
    pub log_lines: (usize, usize, usize, usize),
    /// Planted secrets that survived scrubbing.
    pub leaked: Vec<String>,
    /// The daemon's own redactions (`vigil_scrubber_redactions_total`).
    pub daemon_redactions: f64,
    /// Whether the daemon's log shows a panic.
    pub panicked: bool,
}

fn component_swap(dir: &std::path::Path, base: &[u8], n: u64) {
    // Mostly two alternating versions (warm cache), every fifth a new one (cold).
    let version = if n % 5 == 4 { 1_000 + n } else { n % 2 };
    let temporary = dir.join("plugin.wasm.tmp");
    std::fs::write(&temporary, crate::component_variant(base, version)).expect("write component");
    std::fs::rename(&temporary, dir.join("plugin.wasm")).expect("replace component");
}

/// Run the soak; `None` when a service it needs is not installed.
pub fn run(options: &Options) -> Option<Report> {
    let mut platform = Platform::start()?;
    let plugins = crate::PluginDir::new();
    let swapped = plugins.misbehaving("swapped", "ok", "2s", "interval = \"1s\"");
    let base = std::fs::read(crate::fixtures::CHECK_MISBEHAVE).expect("fixture");
    let config = platform.dir().join("vigil.toml");
    let mut text = platform.config();
    for check in ["cache-backend", "security-tools", "session-storage", "database"] {
        text.push_str(&format!("[plugins.{check}]\ninterval = \"1s\"\ntimeout = \"3s\"\n"));
    }
    for rule in ["stuck-scans", "vulnerability-sync", "compliance-freshness"] {
        text.push_str(&format!("[plugins.{rule}]\ninterval = \"1s\"\ntimeout = \"10s\"\n"));
    }
    std::fs::write(&config, text).expect("config");
    let token = "soak-admin-token-7c41";
    let plugin_dir = plugins.path().to_string_lossy().into_owned();
    let vigil = VigilProcess::start(&["--plugins", &plugin_dir], Some(&config), &[("VIGIL_ADMIN_TOKEN", token)]);
    let runtime = tokio::runtime::Runtime::new().expect("tokio");
    let seen = |dependency| runtime.block_on(platform::seen(vigil.addr, dependency));
    for dependency in Dependency::ALL {
        crate::wait_until(Duration::from_secs(90), &format!("{dependency:?} seen up"), || {
            seen(dependency) == Some(true)
        });
    }

    let app_log = platform.dir().join("app.log");
    let follower = ScrubFollower::start(&app_log, platform.dir().join("app.scrubbed.log"));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = logs::spawn_writer(app_log, Duration::from_millis(2), Arc::clone(&stop));
    let load = runtime.spawn(load::run(vigil.addr, options.clients, token.to_owned(), Arc::clone(&stop)));

    let mut report = Report::default();
    let mut rng = Rng::from_env("soak");
    let mut stuck: Vec<String> = platform.planted.stuck_runs.clone();
    let started = Instant::now();
    let (mut next_swap, mut next_flap, mut next_window, mut next_drift) =
        (options.swap_every, options.flap_every, options.window, Duration::from_secs(2));
    let mut samples_at: Vec<(u64, usize, usize)> = Vec::new();
    while started.elapsed() < options.duration {
        let now = started.elapsed();
        if now >= next_swap {
            component_swap(&swapped, &base, report.swaps as u64);
            report.swaps += 1;
            next_swap += options.swap_every;
        }
        if now >= next_drift {
            let run_id = format!("soak-run-{:04}", stuck.len());
            platform.plant_stuck_run(&run_id);
            stuck.push(run_id);
            next_drift += Duration::from_secs(2);
        }
        if now >= next_window {
            samples_at.push((rss_kib(vigil.pid()), open_fds(vigil.pid()), sockets(vigil.pid())));
            next_window += options.window;
        }
        if now >= next_flap {
            let dependency = Dependency::ALL[rng.below(3) as usize];
            std::thread::sleep(Duration::from_millis(rng.below(500)));
            let (to_down, to_up) = platform.flap(dependency, Duration::from_secs(60), seen);
            report.flaps.push((dependency, to_down, to_up));
            next_flap = started.elapsed() + options.flap_every;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // The last window's sample while the load still runs (its connections open).
    samples_at.push((rss_kib(vigil.pid()), open_fds(vigil.pid()), sockets(vigil.pid())));
    stop.store(true, Ordering::Relaxed);
    let samples = runtime.block_on(load).expect("load");
    let written = writer.join().expect("log writer");

    summarize(&mut report, &samples, &samples_at, options.window);
    finish_accounting(&mut report, &platform, &vigil, &runtime, &stuck);
    let scrubbed = logs::finish(follower, written.lines);
    let out_lines = scrubbed.lines().count();
    report.log_lines = (written.lines, out_lines, written.rotations, scrubbed.matches("[REDACTED:").count());
    report.leaked = written.secrets.iter().filter(|s| scrubbed.contains(s.as_str())).cloned().collect();
    let log = vigil.stop();
    report.panicked = log.contains("panicked");
    Some(report)
}

fn summarize(report: &mut Report, samples: &[load::Sample], at: &[(u64, usize, usize)], window: Duration) {
    for sample in samples {
        let route = sample.route();
        *report.statuses.entry((format!("{} {}", route.method, route.path), sample.status)).or_default() += 1;
        if !sample.expected() && report.unexpected.len() < 20 {
            report.unexpected.push(format!("{:?}: {} {} -> {}", sample.at, route.method, route.path, sample.status));
        }
    }
    let windows = at.len();
    for (i, (rss, fds, socks)) in at.iter().enumerate() {
        let (start, end) = (window * i as u32, window * (i as u32 + 1));
        let last = i + 1 == windows;
        let mut latencies: Vec<Duration> =
            samples.iter().filter(|s| s.at >= start && (last || s.at < end) && !s.admin).map(|s| s.latency).collect();
        latencies.sort();
        let unexpected = samples.iter().filter(|s| s.at >= start && (last || s.at < end) && !s.expected()).count();
        report.windows.push(Window {
            start,
            requests: latencies.len(),
            p50: percentile(&latencies, 0.5).unwrap_or_default(),
            p99: percentile(&latencies, 0.99).unwrap_or_default(),
            unexpected,
            rss_kib: *rss,
            fds: *fds,
            sockets: *socks,
        });
    }
}

/// Wait (bounded) for every planted stuck run to be repaired, then read
/// the daemon's counters and the worker's record.
fn finish_accounting(
    report: &mut Report,
    platform: &Platform,
    vigil: &VigilProcess,
    runtime: &tokio::runtime::Runtime,
    stuck: &[String],
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let repairs = platform::repairs(&recorded_calls(&platform.redis));
        report.unrepaired =
            stuck.iter().filter(|run| !repairs.contains_key(&platform::stuck_repair(run))).cloned().collect();
        if report.unrepaired.is_empty() || Instant::now() > deadline {
            // Only stuck runs are repaired by their task; the other rules'
            // drift stays, so they are sent again each cooldown by design.
            let twice = stuck
                .iter()
                .map(|run| platform::stuck_repair(run))
                .filter(|repair| repairs.get(repair).is_some_and(|ids| ids.len() > 1))
                .collect();
            report.repairs = (stuck.len() - report.unrepaired.len(), twice);
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let metrics =
        runtime.block_on(crate::http_request(vigil.addr, "GET", "/metrics", &[])).map(|r| r.body).unwrap_or_default();
    for outcome in ["success", "failure"] {
        report
            .reloads
            .insert(outcome.into(), metric_sum(&metrics, "vigil_plugin_reloads_total", &[("outcome", outcome)]));
    }
    for outcome in ["dispatched", "deduplicated", "failed"] {
        report
            .dispatches
            .insert(outcome.into(), metric_sum(&metrics, "vigil_watchdog_dispatches_total", &[("outcome", outcome)]));
    }
    report.daemon_redactions = metric_sum(&metrics, "vigil_scrubber_redactions_total", &[]);
}

impl Report {
    /// Everything that must not happen, described; empty when the soak passed.
    pub fn problems(&self) -> Vec<String> {
        let mut problems: Vec<String> = self.unexpected.iter().map(|u| format!("unexpected answer {u}")).collect();
        if self.panicked {
            problems.push("the daemon panicked".into());
        }
        problems.extend(self.repairs.1.iter().map(|r| format!("dispatched more than once: {r}")));
        problems.extend(self.unrepaired.iter().map(|r| format!("never repaired: {r}")));
        problems.extend(self.leaked.iter().map(|s| format!("secret survived scrubbing: {}...", &s[..s.len().min(4)])));
        let (written, scrubbed, _, _) = self.log_lines;
        if written != scrubbed {
            problems.push(format!("{written} log lines written, {scrubbed} scrubbed lines out"));
        }
        if self.reloads.get("success").copied().unwrap_or(0.0) < 1.0 {
            problems.push("no plugin reload succeeded".into());
        }
        if let (Some(first), Some(last)) = (self.windows.get(1).or(self.windows.first()), self.windows.last())
            && last.fds > first.fds + 8
        {
            problems.push(format!("open fds grew from {} to {}", first.fds, last.fds));
        }
        if let Some((from, allowed)) = self.memory_baseline() {
            // Floors (the least of three windows): a leak raises the floor,
            // while a sample taken during a compile or a burst does not.
            let floor = |windows: &[Window]| windows.iter().map(|w| w.rss_kib).min().unwrap_or_default();
            let (before, after) = (
                floor(&self.windows[from..(from + 3).min(self.windows.len())]),
                floor(&self.windows[self.windows.len().saturating_sub(3)..]),
            );
            if after > before + allowed {
                problems.push(format!(
                    "RSS floor grew from {before} KiB (from {:.0} s) to {after} KiB at the end (allowed: +{allowed} KiB)",
                    self.windows[from].start.as_secs_f64(),
                ));
            }
        }
        problems
    }

    /// Which window memory growth is measured from, and how much is
    /// allowed:
    ///
    /// - ten minutes or more: from minute 5 (warm-up done), 8 MiB;
    /// - four minutes or more (the suite's run): from minute 1, 2 MiB. With
    ///   glibc's malloc (the cause of the growth issue 17 found) the suite's
    ///   debug build grew 2.2 MiB from minute 1 to minute 5, steadily; with
    ///   jemalloc its floor moved 0.4 MiB (1.3 MiB at most over any four
    ///   minutes of a 30-minute soak). So a steady leak of about 0.5 MiB a
    ///   minute or more is caught (the growth found was about 1 MiB a minute);
    /// - shorter runs: from 15 s, 4 MiB: fast leaks only (a minute cannot
    ///   tell a slow leak from warm-up).
    fn memory_baseline(&self) -> Option<(usize, u64)> {
        let end = self.windows.last()?.start;
        let (from, allowed) = if end >= Duration::from_secs(600) {
            (Duration::from_secs(300), 8 * 1024)
        } else if end >= Duration::from_secs(240) {
            (Duration::from_secs(60), 2 * 1024)
        } else {
            (Duration::from_secs(15), 4 * 1024)
        };
        let warm = self.windows.iter().position(|w| w.start >= from).unwrap_or(0);
        Some((warm, allowed))
    }

    /// The report as text.
    pub fn render(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let mut out = String::from("window   requests  req/s   p50 ms   p99 ms  unexpected  RSS MiB   fds  sockets\n");
        for w in &self.windows {
            out.push_str(&format!(
                "{:>5.0}s {:>10} {:>6.0} {:>8.2} {:>8.2} {:>11} {:>8.1} {:>5} {:>8}\n",
                w.start.as_secs_f64(),
                w.requests,
                w.requests as f64 / 1.0f64.max(self.window_seconds()),
                ms(w.p50),
                ms(w.p99),
                w.unexpected,
                w.rss_kib as f64 / 1024.0,
                w.fds,
                w.sockets
            ));
        }
        out.push_str("\nanswers by route and status:\n");
        for ((route, status), count) in &self.statuses {
            out.push_str(&format!("  {route:<32} {status:>3} {count:>9}\n"));
        }
        for (dependency, down, up) in &self.flaps {
            out.push_str(&format!(
                "flap {dependency:?}: seen down after {:.0} ms, up again after {:.0} ms\n",
                ms(*down),
                ms(*up)
            ));
        }
        let (written, scrubbed, rotations, redactions) = self.log_lines;
        out.push_str(&format!(
            "plugin swaps written {}, reloads {:?}\ndispatches {:?}; stuck runs repaired {}, twice {}, never {}\n\
             platform log: {written} lines written, {scrubbed} scrubbed out, {rotations} rotations, {redactions} redactions, {} secrets leaked\n\
             daemon's own redactions {}; panicked: {}\n",
            self.swaps,
            self.reloads,
            self.dispatches,
            self.repairs.0,
            self.repairs.1.len(),
            self.unrepaired.len(),
            self.leaked.len(),
            self.daemon_redactions,
            self.panicked
        ));
        out
    }

    fn window_seconds(&self) -> f64 {
        match self.windows.as_slice() {
            [first, second, ..] => (second.start - first.start).as_secs_f64(),
            _ => 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(every: u64, rss_mib: &[f64]) -> Report {
        let windows = rss_mib
            .iter()
            .enumerate()
            .map(|(i, mib)| Window {
                start: Duration::from_secs(i as u64 * every),
                requests: 1,
                p50: Duration::ZERO,
                p99: Duration::ZERO,
                unexpected: 0,
                rss_kib: (mib * 1024.0) as u64,
                fds: 10,
                sockets: 1,
            })
            .collect();
        Report { windows, reloads: [("success".to_string(), 1.0)].into(), ..Report::default() }
    }

    fn memory_problems(r: &Report) -> Vec<String> {
        r.problems().into_iter().filter(|p| p.starts_with("RSS")).collect()
    }

    #[test]
    fn the_short_run_ignores_warm_up_and_catches_a_fast_leak() {
        // The CI run that grew 3.9 MiB from its first window, 0.5 MiB from 15 s.
        let warm_up = [88.4, 93.6, 92.0, 91.9, 92.0, 91.7, 92.7, 94.6, 92.6, 93.0, 95.0, 92.2];
        assert_eq!(memory_problems(&report(5, &warm_up)), Vec::<String>::new());
        let leak: Vec<f64> = (0..12).map(|i| 90.0 + i as f64 * 0.8).collect();
        assert_eq!(memory_problems(&report(5, &leak)).len(), 1, "+0.8 MiB per 5 s is a leak");
    }

    #[test]
    fn the_long_run_measures_from_minute_five() {
        // Warm-up growth in the first five minutes is not counted, then +1 MiB a minute is.
        let flat: Vec<f64> = (0..180).map(|i| if i < 30 { 40.0 + i as f64 } else { 70.0 }).collect();
        assert_eq!(memory_problems(&report(10, &flat)), Vec::<String>::new());
        let leak: Vec<f64> = (0..180).map(|i| 50.0 + i as f64 / 6.0).collect();
        assert_eq!(memory_problems(&report(10, &leak)).len(), 1);
    }
}
