//! Scrubber throughput over a realistic log (mostly clean lines, about 2 %
//! with secrets), single-threaded: the engine (keyword prefilter, then only
//! candidate regexes), the same rules applied one regex after another, and
//! the same rules in Python's `re` (the platform's original approach).
//!
//! `cargo bench -p vigil-host --bench scrubber` (`VIGIL_BENCH_MB`, default 32).

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use vigil_host::capabilities::Services;
use vigil_host::loader::{self, PluginSources};
use vigil_host::runtime::{Runtime, RuntimeOptions};
use vigil_host::scrubber;

const CLEAN: &[&str] = &[
    "2026-11-28T10:00:00.123Z INFO api request method=GET path=/api/v1/scans/{id} status=200 duration_ms=12 request_id=550e8400-e29b-41d4-a716-446655440000",
    "2026-11-28T10:00:00.456Z INFO worker task succeeded name=app.tasks.scan.run_scan id=9fceb02d-0ae5-98e9-5dc9-70b74767f193 runtime=1.25s",
    "2026-11-28T10:00:01.001Z WARN trivy image aquasec/trivy:0.50.1 scan of sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 found 12 vulnerabilities",
    "2026-11-28T10:00:01.200Z INFO cspm finding upserted dedup_key=aws:123456789012:s3:bucket-public arn=arn:aws:s3:::platform-logs severity=HIGH",
    "2026-11-28T10:00:02.000Z DEBUG mongo query collection=vulnerability_occurrences filter={team_id: 42} took 3ms documents=118",
    "2026-11-28T10:00:02.500Z INFO user bob requested a password reset; token expired at 2026-11-28T09:00:00Z",
    "2026-11-28T10:00:03.000Z ERROR GET https://api.example.com/v1/assets?page=2 failed: 503 Service Unavailable (retry 2/5)",
    "{\"timestamp\":\"2026-11-28T10:00:03.100Z\",\"level\":\"INFO\",\"logger\":\"app.sync\",\"message\":\"sync_all finished\",\"synced\":1200,\"skipped\":3}",
];

const SECRET: &[&str] = &[
    "2026-11-28T10:00:04.000Z ERROR connecting to mongodb://admin:S3cretPass@db:27017/app failed",
    "2026-11-28T10:00:04.100Z DEBUG boto3 credentials AKIAIOSFODNN7EXAMPLE / aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "2026-11-28T10:00:04.200Z DEBUG headers {'Authorization': 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'}",
    "2026-11-28T10:00:04.300Z INFO config loaded {\"password\": \"hunter22\", \"redis_url\": \"redis://:rp4ss@cache:6379/0\"}",
];

fn log(megabytes: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut size = 0;
    let mut i = 0usize;
    while size < megabytes * 1024 * 1024 {
        let line = if i % 50 == 49 { SECRET[(i / 50) % SECRET.len()] } else { CLEAN[i % CLEAN.len()] };
        size += line.len() + 1;
        lines.push(line.to_owned());
        i += 1;
    }
    lines
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let megabytes: usize = std::env::var("VIGIL_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(32);
    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    let cache = tempfile::tempdir().expect("temp dir");
    let engine = tokio.block_on(async {
        let runtime =
            Runtime::new(RuntimeOptions { cache_dir: Some(cache.path().to_path_buf()) }, Arc::new(Services::new()))
                .expect("runtime");
        let report =
            loader::load_all(&runtime, &PluginSources { bundled: true, dirs: vec![] }, &Default::default()).await;
        scrubber::build(&report.plugins).await.0
    });
    let lines = log(megabytes);
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mb = bytes as f64 / (1024.0 * 1024.0);

    let started = Instant::now();
    let mut redacted = 0usize;
    for line in &lines {
        redacted += engine.scrub(line).1.len();
    }
    let engine_rate = mb / started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut naive_redacted = 0usize;
    for line in &lines {
        let mut text = std::borrow::Cow::Borrowed(line.as_str());
        for rule in engine.rules() {
            let replaced = rule.regex().replace_all(&text, format!("[REDACTED:{}]", rule.id).as_str()).into_owned();
            if replaced != *text {
                naive_redacted += 1;
            }
            text = std::borrow::Cow::Owned(replaced);
        }
    }
    let naive_rate = mb / started.elapsed().as_secs_f64();

    println!("log: {mb:.1} MB, {} lines, {} rules", lines.len(), engine.rules().len());
    println!("engine (prefilter + candidate regexes): {engine_rate:>8.1} MB/s  ({redacted} redactions)");
    println!(
        "same rules one regex after another:     {naive_rate:>8.1} MB/s  ({naive_redacted} lines changed by a rule)"
    );

    // The same rules in Python's `re`, one after another, as the platform did.
    let work = tempfile::tempdir().expect("temp dir");
    let log_path = work.path().join("log.txt");
    std::fs::write(&log_path, lines.join("\n") + "\n").expect("write log");
    let rules: Vec<serde_json::Value> =
        engine.rules().iter().map(|r| serde_json::json!({ "id": r.id, "pattern": r.regex().as_str() })).collect();
    let rules_path = work.path().join("rules.json");
    std::fs::write(&rules_path, serde_json::to_string(&rules).expect("json")).expect("write rules");
    let script = r#"
import json, re, sys, time
rules = [(r["id"], re.compile(r["pattern"])) for r in json.load(open(sys.argv[1]))]
data = open(sys.argv[2]).read().splitlines()
size = sum(len(l) + 1 for l in data) / (1024 * 1024)
start = time.perf_counter()
for line in data:
    for rule_id, pattern in rules:
        line = pattern.sub("[REDACTED:" + rule_id + "]", line)
print(f"{size / (time.perf_counter() - start):.1f}")
"#;
    let script_path = work.path().join("scrub.py");
    std::fs::File::create(&script_path).and_then(|mut f| f.write_all(script.as_bytes())).expect("write script");
    match std::process::Command::new("python3").arg(&script_path).arg(&rules_path).arg(&log_path).output() {
        Ok(out) if out.status.success() => {
            println!("same rules in Python re:                {:>8} MB/s", String::from_utf8_lossy(&out.stdout).trim())
        }
        Ok(out) => println!("Python re: failed: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")),
        Err(err) => println!("Python re: skipped ({err})"),
    }
}
