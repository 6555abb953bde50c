//! Watchdog evaluation over a large snapshot: 1 million scan runs and
//! 1 million CSPM findings (plus their vulnerability occurrences), all three
//! bundled watchdog rules, dry run, twice. Export files this large are
//! streamed, parsed for the fields a query reads; the answers of `count`,
//! `latest` and `missing-keys` are kept per file version, so the second
//! evaluation of an unchanged export reuses them (`stuck-scans` asks about
//! "now", which moves, so it reads again). Reports both times and the
//! process's RSS.
//!
//! `cargo bench -p vigil-tests --bench watchdog` (`VIGIL_BENCH_SCANS`,
//! `VIGIL_BENCH_FINDINGS` change the sizes).

use std::time::{Instant, SystemTime};

use vigil_host::config::DaemonConfig;
use vigil_host::daemon::Daemon;
use vigil_tests::snapshot::{Plan, generate};

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

fn size(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let (scans, findings) = (size("VIGIL_BENCH_SCANS", 1_000_000), size("VIGIL_BENCH_FINDINGS", 1_000_000));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut plan = Plan::example(SystemTime::now());
    plan.scans = scans;
    plan.stuck = 25;
    plan.findings = [findings, 10_000, 10_000];
    plan.unsynced_cspm = 200;
    let started = Instant::now();
    generate(dir.path(), &plan).expect("snapshot");
    let bytes: u64 = walk(dir.path());
    println!(
        "snapshot: {scans} scan runs, {findings} CSPM findings (+20,000 other findings, their occurrences): {:.0} MB, generated in {:.1} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let baseline = rss_kib("VmRSS:");

    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    tokio.block_on(async {
        let mut config = DaemonConfig::default();
        config.endpoints.snapshot_dir = Some(dir.path().to_path_buf());
        config.watchdog.dry_run = true;
        config.cache_dir = Some(dir.path().join("artifacts"));
        // At this size a rule needs more than its default deadline.
        for name in ["stuck-scans", "vulnerability-sync", "compliance-freshness"] {
            let over = vigil_host::config::PluginOverride {
                timeout: Some(std::time::Duration::from_secs(300)),
                ..Default::default()
            };
            config.plugins.insert(name.to_owned(), over);
        }
        let daemon = Daemon::start(config).await.expect("daemon");
        let plugins = daemon.plugins.load().plugins.clone();
        for round in ["first", "second"] {
            let started = Instant::now();
            let reports = daemon.watchdog.evaluate_all(&plugins).await;
            let elapsed = started.elapsed();
            let findings: usize = reports.iter().map(|r| r.findings.len()).sum();
            let errors: Vec<_> = reports.iter().filter_map(|r| r.error.as_ref()).collect();
            assert!(errors.is_empty(), "{errors:?}");
            let per_rule: Vec<String> =
                reports.iter().map(|r| format!("{} {:.2} s", r.plugin, r.duration_seconds)).collect();
            println!("{round}: {:.2} s, {findings} findings [{}]", elapsed.as_secs_f64(), per_rule.join(", "));
        }
    });
    println!(
        "RSS: {:.0} MiB before loading, {:.0} MiB peak, {:.0} MiB after",
        baseline as f64 / 1024.0,
        rss_kib("VmHWM:") as f64 / 1024.0,
        rss_kib("VmRSS:") as f64 / 1024.0
    );
}

fn walk(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() { walk(&path) } else { e.metadata().map(|m| m.len()).unwrap_or(0) }
        })
        .sum()
}
