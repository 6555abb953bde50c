//! Logs reach a shipper exactly once through hundreds of rotations: the
//! daemon's own log and `vigil scrub --follow --output`, both rotated by
//! size, tailed on their live paths by a real and independent tailer
//! (rsyslog's imfile, which follows a rename as Promtail does); every line
//! written must arrive once, none twice, none lost.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use vigil_tests::process::{ScrubFollower, VigilProcess};
use vigil_tests::services::{Rsyslog, skip_unless_installed};
use vigil_tests::{PluginDir, fixtures, wait_until};

/// Rotations each file goes through.
const ROTATIONS: usize = 150;

/// The live file and its numbered predecessors (`live`, `live.1`, ...).
fn generations(live: &Path) -> Vec<(usize, PathBuf)> {
    let (Some(dir), Some(name)) = (live.parent(), live.file_name().and_then(|n| n.to_str())) else { return vec![] };
    let mut files: Vec<(usize, PathBuf)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter_map(|path| {
                    let file = path.file_name()?.to_str()?.to_owned();
                    if file == name {
                        return Some((0, path));
                    }
                    let number = file.strip_prefix(name)?.strip_prefix('.')?.parse().ok()?;
                    Some((number, path))
                })
                .collect()
        })
        .unwrap_or_default();
    // Oldest (highest number) first.
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    files
}

/// Every line in `live` and its predecessors, oldest first.
fn written(live: &Path) -> Vec<String> {
    generations(live)
        .iter()
        .flat_map(|(_, path)| {
            std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect()
}

fn lines_in(path: &Path) -> usize {
    std::fs::read(path).map_or(0, |bytes| bytes.iter().filter(|b| **b == b'\n').count())
}

/// `vigil run` with `plugins`, logging JSON only to `log`, rotated past
/// `max_file_bytes` and keeping every rotated file (the test's record of
/// what was written).
fn logging_daemon(dir: &Path, log: &Path, max_file_bytes: u64, plugins: &PluginDir) -> VigilProcess {
    let config = dir.join("vigil.toml");
    let text = format!(
        "[log]\nformat = \"json\"\nconsole = \"off\"\nfile = {:?}\nmax_file_bytes = {max_file_bytes}\nmax_files = 1000\n",
        log.display()
    );
    std::fs::write(&config, text).expect("config");
    VigilProcess::start(&["--plugins", &plugins.path().to_string_lossy()], Some(&config), &[])
}

/// A plugin (added to a running daemon's directory) logging `per_second`
/// lines a second, in ten runs of a tenth, within its log quota.
fn add_flood(plugins: &PluginDir, per_second: u32) {
    plugins.add(
        "flood",
        "check",
        fixtures::CHECK_MISBEHAVE,
        &format!(
            "timeout = \"2s\"\ninterval = \"100ms\"\n[limits]\nlog_lines_per_second = {per_second}\n\
             log_burst = {per_second}\n[config]\nbehaviour = \"log-flood\"\nlines = {}\nbytes = 20\n",
            per_second / 10
        ),
    );
}

/// Fail unless `copy` holds each line of `truth` exactly once (waiting for
/// the tailer to catch up first).
fn assert_copied_once(what: &str, truth: &[String], copy: &Path, tailer: &Rsyslog) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while lines_in(copy) < truth.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for line in truth {
        counts.entry(line).or_default().0 += 1;
    }
    let copied = std::fs::read_to_string(copy).unwrap_or_default();
    for line in copied.lines() {
        counts.entry(line).or_default().1 += 1;
    }
    let lost: Vec<&str> = counts.iter().filter(|(_, (w, c))| c < w).map(|(l, _)| *l).collect();
    let doubled: Vec<&str> = counts.iter().filter(|(_, (w, c))| c > w).map(|(l, _)| *l).collect();
    assert!(
        lost.is_empty() && doubled.is_empty(),
        "{what}: {} lines written, {} copied; {} lost (first: {:?}), {} copied more often than written (first: {:?})\n\
         rsyslogd ({}): {}",
        truth.len(),
        copied.lines().count(),
        lost.len(),
        lost.first(),
        doubled.len(),
        doubled.first(),
        tailer.config().display(),
        tailer.stderr()
    );
}

/// Append numbered platform log lines, each with a password, at about
/// 1,000 lines a second until `stop`; returns how many.
fn platform_writer(path: PathBuf, stop: Arc<AtomicBool>, count: Arc<AtomicUsize>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path).expect("platform log");
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let mut batch = String::new();
            for _ in 0..50 {
                batch.push_str(&format!(
                    "2026-11-30 12:00:00,000 INFO worker line={n:07} connecting to db password=Pw{n:07}xQ9 as svc\n"
                ));
                n += 1;
            }
            file.write_all(batch.as_bytes()).expect("append");
            count.store(n, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}

#[test]
fn every_line_reaches_a_real_tailer_once_through_hundreds_of_rotations() {
    if skip_unless_installed(&["rsyslogd"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (daemon_log, platform_log, scrubbed) =
        (dir.path().join("vigil.log"), dir.path().join("platform.log"), dir.path().join("platform.scrubbed.log"));
    let (daemon_copy, scrubbed_copy) = (dir.path().join("copy-vigil.log"), dir.path().join("copy-scrubbed.log"));
    let tailer = Rsyslog::tail(&[(&daemon_log, &daemon_copy), (&scrubbed, &scrubbed_copy)]);

    // The daemon, and the platform's log through `vigil scrub`; the flood
    // starts once the tailer copies both (a file that rotates away before a
    // tailer first looks is not its to find).
    let plugins = PluginDir::new();
    let vigil = logging_daemon(dir.path(), &daemon_log, 60_000, &plugins);
    let follower = ScrubFollower::start_with(
        &platform_log,
        scrubbed.clone(),
        &["--max-file-bytes", "40000", "--max-files", "1000"],
    );
    std::fs::write(&platform_log, "2026-11-30 12:00:00,000 INFO worker started\n").expect("platform log");
    wait_until(Duration::from_secs(60), "the tailer to copy both files", || {
        lines_in(&daemon_copy) > 0 && lines_in(&scrubbed_copy) > 0
    });

    // Then 1,000 lines a second into each (the daemon's from a plugin at its
    // log quota's maximum), about 400 lines per file: two to three rotations
    // a second, slower than a shipper polls (Promtail: every 250 ms), as the
    // README asks, yet hundreds of them.
    add_flood(&plugins, 1000);
    let (stop, count) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let writer = platform_writer(platform_log, Arc::clone(&stop), Arc::clone(&count));

    let rotated = |live: &Path| generations(live).len().saturating_sub(1);
    wait_until(Duration::from_secs(300), &format!("{ROTATIONS} rotations of both files"), || {
        rotated(&daemon_log) >= ROTATIONS && rotated(&scrubbed) >= ROTATIONS
    });
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    // The writer's lines and the one before them.
    let lines = count.load(Ordering::Relaxed) + 1;
    wait_until(Duration::from_secs(60), "vigil scrub to catch up", || written(&scrubbed).len() >= lines);
    assert!(follower.stop().success(), "vigil scrub did not exit cleanly");
    vigil.stop();

    let (daemon_lines, scrubbed_lines) = (written(&daemon_log), written(&scrubbed));
    assert_eq!(scrubbed_lines.len(), lines, "vigil scrub wrote one line per line in");
    assert!(
        !scrubbed_lines.iter().any(|l| l.contains("xQ9 ")),
        "a password survived scrubbing: {:?}",
        scrubbed_lines.iter().find(|l| l.contains("xQ9 "))
    );
    eprintln!(
        "daemon log: {} lines in {} files; scrubbed copy: {} lines in {} files",
        daemon_lines.len(),
        generations(&daemon_log).len(),
        scrubbed_lines.len(),
        generations(&scrubbed).len()
    );
    assert_copied_once("the daemon's log", &daemon_lines, &daemon_copy, &tailer);
    assert_copied_once("vigil scrub --output", &scrubbed_lines, &scrubbed_copy, &tailer);
}

/// A real Loki and Promtail, when `LOKI_BIN` and `PROMTAIL_BIN` name them
/// (both build from the public grafana/loki source with Go; never
/// committed). Skipped with a message otherwise, like `MONGODB_URI`.
fn loki_and_promtail() -> Option<(PathBuf, PathBuf)> {
    match (std::env::var_os("LOKI_BIN"), std::env::var_os("PROMTAIL_BIN")) {
        (Some(loki), Some(promtail)) => Some((loki.into(), promtail.into())),
        _ => {
            eprintln!("skipped: LOKI_BIN and PROMTAIL_BIN not set");
            None
        }
    }
}

/// Loki on a free loopback port, storing in `dir`; ready when it answers.
fn start_loki(bin: &Path, dir: &Path) -> (vigil_tests::ChildGuard, String) {
    let (http, grpc, gossip) = (vigil_tests::free_port(), vigil_tests::free_port(), vigil_tests::free_port());
    let config = dir.join("loki.yaml");
    let store = dir.join("loki");
    std::fs::write(
        &config,
        format!(
            "auth_enabled: false\nserver:\n  http_listen_address: 127.0.0.1\n  http_listen_port: {http}\n  \
             grpc_listen_address: 127.0.0.1\n  grpc_listen_port: {grpc}\ncommon:\n  path_prefix: {p}\n  \
             instance_addr: 127.0.0.1\n  replication_factor: 1\n  ring:\n    kvstore:\n      store: inmemory\n  \
             storage:\n    filesystem:\n      chunks_directory: {p}/chunks\n      rules_directory: {p}/rules\n\
             memberlist:\n  bind_addr: [127.0.0.1]\n  bind_port: {gossip}\nschema_config:\n  configs:\n    \
             - from: 2020-10-24\n      store: boltdb-shipper\n      object_store: filesystem\n      schema: v11\n      \
             index:\n        prefix: index_\n        period: 24h\nanalytics:\n  reporting_enabled: false\n",
            p = store.display()
        ),
    )
    .expect("loki.yaml");
    let child = std::process::Command::new(bin)
        .arg(format!("-config.file={}", config.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("loki.stderr")).expect("stderr"))
        .spawn()
        .expect("loki runs");
    let url = format!("http://127.0.0.1:{http}");
    let guard = vigil_tests::ChildGuard(child);
    wait_until(Duration::from_secs(120), "Loki ready", || {
        http_get(&format!("{url}/ready")).is_some_and(|(s, _)| s == 200)
    });
    (guard, url)
}

/// GET over loopback: status and body.
fn http_get(url: &str) -> Option<(u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    // Loki's first query after start waits for its ingester (about 10 s).
    stream.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").ok()?;
    let mut answer = Vec::new();
    std::io::Read::read_to_end(&mut stream, &mut answer).ok()?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    // Loki answers small queries in one piece; a chunked body is de-chunked crudely.
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body.split("\r\n").skip(1).step_by(2).collect::<String>()
    } else {
        body.to_owned()
    };
    Some((status, body))
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of an instant LogQL metric query (0 when it has no sample).
fn loki_value(url: &str, query: &str) -> f64 {
    let Some((200, body)) = http_get(&format!("{url}/loki/api/v1/query?query={}", urlencode(query))) else {
        return -1.0;
    };
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    answer["data"]["result"][0]["value"][1].as_str().and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

#[test]
fn the_shipped_promtail_config_delivers_each_line_to_loki_once() {
    let Some((loki_bin, promtail_bin)) = loki_and_promtail() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let (_loki, url) = start_loki(&loki_bin, dir.path());

    // examples/promtail/promtail.yml unchanged but for paths, ports and the client URL.
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("platform")).expect("log dirs");
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/promtail/promtail.yml"))
        .expect("promtail.yml");
    let promtail_yaml = shipped
        .replace("/var/log/vigil/", &format!("{}/", logs.display()))
        .replace("/var/log/platform/", &format!("{}/platform/", logs.display()))
        .replace("/var/lib/promtail/positions.yaml", &dir.path().join("positions.yaml").display().to_string())
        .replace("http://loki:3100", &url)
        .replace(
            "http_listen_port: 9080",
            &format!(
                "http_listen_address: 127.0.0.1\n  http_listen_port: {}\n  grpc_listen_address: 127.0.0.1",
                vigil_tests::free_port()
            ),
        );
    let promtail_config = dir.path().join("promtail.yml");
    std::fs::write(&promtail_config, promtail_yaml).expect("promtail.yml");
    let _promtail = vigil_tests::ChildGuard(
        std::process::Command::new(&promtail_bin)
            .arg(format!("-config.file={}", promtail_config.display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("promtail.stderr")).expect("stderr"))
            .spawn()
            .expect("promtail runs"),
    );

    // The daemon first, so Promtail finds its log; the flood only once
    // Promtail ships it (a file that rotates away before Promtail's first
    // look is not its to find). About one rotation a second: slower than
    // Promtail polls (every 250 ms), as the README asks.
    let daemon_log = logs.join("vigil.log");
    let plugins = PluginDir::new();
    let vigil = logging_daemon(dir.path(), &daemon_log, 150_000, &plugins);
    let count = "sum(count_over_time({job=\"vigil\"}[1h]))";
    wait_until(Duration::from_secs(60), "Promtail to ship the first lines", || loki_value(&url, count) > 0.0);
    add_flood(&plugins, 500);
    wait_until(Duration::from_secs(180), "30 rotations", || generations(&daemon_log).len() > 30);
    vigil.stop();
    let lines = written(&daemon_log).len() as f64;
    let deadline = Instant::now() + Duration::from_secs(60);
    while loki_value(&url, count) < lines && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
    }
    let (stored, streams) = (loki_value(&url, count), loki_value(&url, "count(count_over_time({job=\"vigil\"}[1h]))"));
    let promtail_said = std::fs::read_to_string(dir.path().join("promtail.stderr")).unwrap_or_default();
    assert_eq!(stored, lines, "Loki holds {stored} entries for {lines} lines written; promtail:\n{promtail_said}");
    // One stream per set of label values the lines carry, never one per file name.
    let label_sets: std::collections::BTreeSet<String> = written(&daemon_log)
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|r| format!("{}|{}|{}|{}", r["level"], r["logger"], r["plugin"], r["event.category"]))
        .collect();
    assert_eq!(
        streams,
        label_sets.len() as f64,
        "streams in Loki vs label sets in the log: a label changes with rotation"
    );
    let series = http_get(&format!("{url}/loki/api/v1/series?match[]={}", urlencode("{job=\"vigil\"}")));
    assert!(
        series.is_some_and(|(status, body)| status == 200 && !body.contains("\"filename\"")),
        "a stream keeps the filename label"
    );
}

#[test]
fn every_logql_query_of_the_dashboards_parses_in_a_real_loki() {
    let Some((loki_bin, _)) = loki_and_promtail() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let (_loki, url) = start_loki(&loki_bin, dir.path());
    let grafana = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/grafana");
    let mut checked = 0;
    for entry in std::fs::read_dir(&grafana).expect("examples/grafana") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let dashboard: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("dashboard")).expect("dashboard JSON");
        for panel in dashboard["panels"].as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let source = if target["datasource"].is_null() { &panel["datasource"] } else { &target["datasource"] };
                let Some(expr) = target["expr"].as_str().filter(|_| source["type"] == "loki") else { continue };
                // Grafana's own variables are not LogQL; give them a value.
                let query = expr.replace("$__interval", "1m").replace("$__range", "1h").replace("$__auto", "1m");
                let answer = http_get(&format!("{url}/loki/api/v1/query?query={}", urlencode(&query)));
                let (status, body) = answer.unwrap_or((0, "no answer".into()));
                assert_eq!(status, 200, "{}: {expr:?} does not parse: {body}", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 1, "no LogQL query found in examples/grafana");
}
