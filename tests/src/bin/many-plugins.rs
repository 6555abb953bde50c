//! A thousand plugins in one daemon: builds a directory of N copies of one
//! small check component, starts `vigil run` on it (cold artifact cache,
//! then warm) and prints what a plugin costs and how the scheduler keeps up:
//! RSS per plugin, time to `/health/live` and to every check's first result,
//! how late runs start (p50/p99 from `vigil_check_start_lateness_seconds`),
//! runs per check against the plan, and probe latency while it all runs.
//!
//!     cargo build --release -p vigil-host
//!     cargo run --release -p vigil-tests --bin many-plugins -- [N] [INTERVAL] [WINDOW]
//!
//! Defaults: 1000 plugins, `1s` interval, a `20s` measuring window.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vigil_tests::observe::{metric_sum, percentile, rss_kib};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: many-plugins [N] [INTERVAL] [WINDOW]   (defaults: 1000 1s 20s)");
        return;
    }
    let count: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let duration = |i: usize, default: u64| {
        args.get(i).and_then(|a| humantime::parse_duration(a).ok()).unwrap_or(Duration::from_secs(default))
    };
    let (interval, window) = (duration(1, 1), duration(2, 20));

    let empty = tempfile::tempdir().expect("temp dir");
    let many = tempfile::tempdir().expect("temp dir");
    let wasm = std::fs::read(vigil_tests::fixtures::CHECK_MISBEHAVE).expect("fixture component");
    for i in 0..count {
        write_plugin(many.path(), &format!("copy-{i:04}"), &wasm, interval);
    }
    println!("{count} copies of a {} KiB check component, interval {interval:?}", wasm.len() / 1024);

    let cache = tempfile::tempdir().expect("temp dir");
    let cold = Daemon::start(many.path(), cache.path());
    let cold_startup = cold.wait_for_results(count);
    cold.stop();
    let artifacts = std::fs::read_dir(cache.path()).map(|d| d.count()).unwrap_or(0);
    println!(
        "cold cache:  live after {:>7.1} ms, every check's first result after {:>7.1} ms; {artifacts} artifacts compiled (bundled set + 1)",
        ms(cold_startup.0),
        ms(cold_startup.1)
    );

    // The baseline with the same (now warm) cache: only the bundled set.
    let baseline = Daemon::start(empty.path(), cache.path());
    let baseline_rss = baseline.settled_rss();
    baseline.stop();

    let warm = Daemon::start(many.path(), cache.path());
    let (live, all) = warm.wait_for_results(count);
    println!("warm cache:  live after {:>7.1} ms, every check's first result after {:>7.1} ms", ms(live), ms(all));
    let rss = warm.settled_rss();
    let per_plugin = (rss.saturating_sub(baseline_rss)) as f64 / count as f64;
    println!(
        "RSS:         {:.1} MiB with the bundled set only, {:.1} MiB with {count} more: {per_plugin:.0} KiB per plugin",
        baseline_rss as f64 / 1024.0,
        rss as f64 / 1024.0
    );

    let before = warm.metrics();
    let cpu_before = cpu_seconds(warm.child.id());
    let probe = std::thread::spawn({
        let addr = warm.addr;
        move || probe_latencies(addr, window)
    });
    let latencies = probe.join().expect("probe thread");
    let after = warm.metrics();
    let cpu = (cpu_seconds(warm.child.id()) - cpu_before) / window.as_secs_f64();
    let lateness = histogram_delta(&before, &after, "vigil_check_start_lateness_seconds");
    let planned = window.as_secs_f64() / interval.as_secs_f64();
    let mut runs: Vec<f64> = (0..count)
        .map(|i| {
            let check = format!("copy-{i:04}");
            metric_sum(&after, "vigil_check_runs_total", &[("check", &check)])
                - metric_sum(&before, "vigil_check_runs_total", &[("check", &check)])
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    println!(
        "scheduling:  {} runs in {window:?} ({planned:.1} planned per check; fewest {}, most {}); lateness p50 <= {}, p99 <= {}, max <= {} (CPU-slot wait included; 10% of the interval is {:?})",
        runs.iter().sum::<f64>(),
        runs.first().copied().unwrap_or_default(),
        runs.last().copied().unwrap_or_default(),
        bucket_quantile(&lateness, 0.5),
        bucket_quantile(&lateness, 0.99),
        bucket_quantile(&lateness, 1.0),
        interval / 10,
    );
    println!("CPU:         {:.0} % of one core for the daemon meanwhile", cpu * 100.0);
    println!(
        "probes:      {} GET /health/ready meanwhile: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; RSS after {:.1} MiB",
        latencies.len(),
        ms(percentile(&latencies, 0.5).unwrap_or_default()),
        ms(percentile(&latencies, 0.99).unwrap_or_default()),
        ms(latencies.last().copied().unwrap_or_default()),
        rss_kib(warm.child.id()) as f64 / 1024.0
    );
    let sizes = ["/metrics", "/health/status"].map(|path| (path, warm.get(path).map_or(0, |body| body.len())));
    println!("answers:     {} is {} KiB, {} is {} KiB", sizes[0].0, sizes[0].1 / 1024, sizes[1].0, sizes[1].1 / 1024);
    warm.stop();
}

fn write_plugin(root: &Path, name: &str, wasm: &[u8], interval: Duration) {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("plugin dir");
    std::fs::write(dir.join("plugin.wasm"), wasm).expect("component");
    let manifest = format!(
        "name = \"{name}\"\nkind = \"check\"\nversion = \"0.0.1\"\ncomponent = \"plugin.wasm\"\ninterval = \"{}\"\n\
         timeout = \"5s\"\n[config]\nbehaviour = \"ok\"\n",
        humantime::format_duration(interval)
    );
    std::fs::write(dir.join("plugin.toml"), manifest).expect("manifest");
}

struct Daemon {
    child: Child,
    addr: SocketAddr,
    started: Instant,
}

impl Daemon {
    fn start(plugins: &Path, cache: &Path) -> Self {
        let addr: SocketAddr = ([127, 0, 0, 1], vigil_tests::free_port()).into();
        let child = Command::new(vigil_tests::vigil_binary())
            .args(["run", "--log-level", "warn", "--listen", &addr.to_string(), "--plugins"])
            .arg(plugins)
            .arg("--cache-dir")
            .arg(cache)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("vigil runs");
        Self { child, addr, started: Instant::now() }
    }

    fn get(&self, path: &str) -> Option<String> {
        let mut stream = TcpStream::connect(self.addr).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        write!(stream, "GET {path} HTTP/1.1\r\nHost: vigil\r\nConnection: close\r\n\r\n").ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
    }

    /// Time to `/health/live` 200, and to a result for `count` checks.
    fn wait_for_results(&self, count: usize) -> (Duration, Duration) {
        let deadline = self.started + Duration::from_secs(300);
        while self.get("/health/live").is_none() {
            assert!(Instant::now() < deadline, "never live");
            std::thread::sleep(Duration::from_millis(5));
        }
        let live = self.started.elapsed();
        loop {
            let ran = self.get("/metrics").map_or(0, |text| {
                text.lines().filter(|l| l.starts_with("vigil_check_runs_total{check=\"copy-")).count()
            });
            if ran >= count {
                return (live, self.started.elapsed());
            }
            assert!(Instant::now() < deadline, "only {ran} of {count} checks ran");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// RSS once it stops moving by more than 1 MiB a second (start-up done).
    fn settled_rss(&self) -> u64 {
        let _ = self.wait_for_results(0);
        let mut last = rss_kib(self.child.id());
        for _ in 0..30 {
            std::thread::sleep(Duration::from_secs(1));
            let now = rss_kib(self.child.id());
            if now.abs_diff(last) < 1024 {
                return now;
            }
            last = now;
        }
        last
    }

    fn metrics(&self) -> String {
        self.get("/metrics").unwrap_or_default()
    }

    fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// Sequential keep-alive GETs of `/health/ready` for `window`; sorted latencies.
fn probe_latencies(addr: SocketAddr, window: Duration) -> Vec<Duration> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut latencies = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let end = Instant::now() + window;
    while Instant::now() < end {
        let sent = Instant::now();
        stream.write_all(b"GET /health/ready HTTP/1.1\r\nHost: vigil\r\n\r\n").expect("send");
        let mut got = 0;
        loop {
            let n = stream.read(&mut buffer[got..]).expect("read");
            assert!(n > 0, "connection closed");
            got += n;
            if let Some(total) = response_length(&buffer[..got])
                && got >= total
            {
                break;
            }
        }
        latencies.push(sent.elapsed());
        std::thread::sleep(Duration::from_millis(2));
    }
    latencies.sort();
    latencies
}

/// Header length plus `Content-Length`, once the header is complete.
fn response_length(bytes: &[u8]) -> Option<usize> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&bytes[..end]).ok()?.to_ascii_lowercase();
    let length = head.lines().find_map(|l| l.strip_prefix("content-length:"))?.trim().parse::<usize>().ok()?;
    Some(end + length)
}

/// `(upper bound, count)` per bucket of a histogram, after minus before.
fn histogram_delta(before: &str, after: &str, name: &str) -> Vec<(String, f64)> {
    let buckets = |text: &str| -> Vec<(String, f64)> {
        let prefix = format!("{name}_bucket{{le=\"");
        text.lines()
            .filter_map(|line| {
                let rest = line.strip_prefix(&prefix)?;
                let (le, value) = rest.split_once("\"} ")?;
                Some((le.to_owned(), value.parse().ok()?))
            })
            .collect()
    };
    let (before, after) = (buckets(before), buckets(after));
    after
        .iter()
        .map(|(le, n)| (le.clone(), n - before.iter().find(|(b, _)| b == le).map_or(0.0, |(_, m)| *m)))
        .collect()
}

/// The smallest bucket bound under which `q` of the observations fall.
fn bucket_quantile(buckets: &[(String, f64)], q: f64) -> String {
    let total = buckets.last().map_or(0.0, |(_, n)| *n);
    buckets
        .iter()
        .find(|(_, n)| *n >= total * q && total > 0.0)
        .map_or_else(|| "n/a".to_owned(), |(le, _)| format!("{le} s"))
}

/// User plus system CPU time of process `pid` so far, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<f64> = after.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    // utime and stime are fields 14 and 15 of the line, 11 and 12 after the
    // name and state; in clock ticks (100 a second on Linux).
    (fields.get(10).copied().unwrap_or_default() + fields.get(11).copied().unwrap_or_default()) / 100.0
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
