//! Scrubber throughput on one core, side by side in one run: the engine
//! with every bundled rule, against Python's `re` applying the same
//! patterns one after another (the platform's original approach), on a
//! generated log where about one line in 100 holds a secret.
//!
//! `cargo bench -p vigil-tests --bench scrubber` (`VIGIL_BENCH_MB`, default
//! 40; `VIGIL_BENCH_PYTHON_MB`, the slice Python scrubs, default 4: its rate
//! does not depend on the size, and the whole log would take minutes;
//! `VIGIL_BENCH_DUMP=FILE` writes the generated log there and stops, to see
//! which keywords a log hits).
//!
//! The assignment rule has no single regex: Python gets one built from its
//! key words (`(?i)[\w.-]*(?:password|secret|...)[\w.-]*["']?\s*[:=]\s*["']?([^\s"',;&]+)`),
//! which is cheaper than what the engine does for it and finds less.

use std::io::Write;
use std::time::Instant;

use vigil_host::loader::{self, PluginSources};
use vigil_host::scrubber::lines::Lines;
use vigil_host::scrubber::{self, Engine};
use vigil_tests::corpus;

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let megabytes: usize = env_number("VIGIL_BENCH_MB", 40);
    let python_megabytes: usize = env_number("VIGIL_BENCH_PYTHON_MB", 4);
    let engine = load_engine();
    let lines = corpus::log(42, megabytes << 20, 100);
    if let Ok(path) = std::env::var("VIGIL_BENCH_DUMP") {
        std::fs::write(path, lines.join("\n")).expect("dump");
        return;
    }
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mb = bytes as f64 / f64::from(1 << 20);
    let regex_rules = engine.rules().iter().filter(|r| r.regex().is_some()).count();
    println!(
        "log: {mb:.1} MB, {} lines, 1 in 100 with a secret; {} rules ({regex_rules} regex, {} assignment)",
        lines.len(),
        engine.rules().len(),
        engine.rules().len() - regex_rules
    );

    // Line by line, as the daemon's own log calls it: best of three.
    let mut best = f64::INFINITY;
    let mut changed = 0usize;
    for _ in 0..3 {
        let started = Instant::now();
        changed = 0;
        for line in &lines {
            let (out, _) = engine.scrub(line);
            changed += usize::from(matches!(out, std::borrow::Cow::Owned(_)));
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!("engine, line by line:        {:>9.1} MB/s  ({changed} lines changed, best of 3)", mb / best);

    // In chunks of whole lines, as `vigil scrub` reads a stream: one
    // interleaved scan per chunk, then only the lines with hits.
    let text = lines.join("\n") + "\n";
    let chunks = chunks_of_lines(&text, 256 << 10);
    let mut best = f64::INFINITY;
    let mut out = String::with_capacity(text.len() + (1 << 20));
    for _ in 0..3 {
        let started = Instant::now();
        out.clear();
        changed = 0;
        let mut stream = Lines::new();
        for chunk in &chunks {
            stream.scrub_text(&engine, chunk, |line, redactions| {
                changed += usize::from(!redactions.is_empty());
                out.push_str(line);
                out.push('\n');
            });
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    let engine_rate = mb / best;
    println!("engine, 256 KB chunks:       {engine_rate:>9.1} MB/s  ({changed} lines changed, best of 3)");

    match python_rate(&engine, &lines, python_megabytes) {
        Ok(rate) => {
            println!("Python re, one after another: {rate:>9.2} MB/s  (on a {python_megabytes} MB slice)");
            println!("engine / Python:             {:>9.0}x", engine_rate / rate);
        }
        Err(err) => println!("Python re: skipped ({err})"),
    }
}

/// `text` cut after a newline about every `size` bytes (without the newline).
fn chunks_of_lines(text: &str, size: usize) -> Vec<&str> {
    let mut chunks = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let cut = rest[..size.min(rest.len())].rfind('\n').map_or(rest.len(), |at| at + 1);
        let cut = if cut == 0 { rest.len() } else { cut };
        chunks.push(rest[..cut].strip_suffix('\n').unwrap_or(&rest[..cut]));
        rest = &rest[cut..];
    }
    chunks
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn load_engine() -> Engine {
    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    tokio.block_on(async {
        let runtime = vigil_tests::runtime();
        let report =
            loader::load_all(&runtime, &PluginSources { bundled: true, dirs: vec![] }, &Default::default()).await;
        let (engine, problems) = scrubber::build(&report.plugins).await;
        assert!(problems.is_empty(), "{problems:?}");
        engine
    })
}

/// Python's `re` with the same patterns, one after another, on a slice.
fn python_rate(engine: &Engine, lines: &[String], megabytes: usize) -> anyhow::Result<f64> {
    let mut rules: Vec<serde_json::Value> = Vec::new();
    for rule in engine.rules() {
        let pattern = match rule.regex() {
            Some(regex) => regex.as_str().to_owned(),
            None => assignment_regex(&rule.keywords),
        };
        rules.push(serde_json::json!({ "id": rule.id, "pattern": pattern }));
    }
    let work = tempfile::tempdir()?;
    let mut slice = String::new();
    for line in lines {
        if slice.len() >= megabytes << 20 {
            break;
        }
        slice.push_str(line);
        slice.push('\n');
    }
    std::fs::write(work.path().join("log.txt"), slice)?;
    std::fs::write(work.path().join("rules.json"), serde_json::to_string(&rules)?)?;
    let script = r#"
import json, re, sys, time
rules = []
for r in json.load(open(sys.argv[1])):
    try:
        rules.append((r["id"], re.compile(r["pattern"])))
    except re.error as e:
        print("skip", r["id"], e, file=sys.stderr)
data = open(sys.argv[2]).read().splitlines()
size = sum(len(l) + 1 for l in data) / (1024 * 1024)
start = time.perf_counter()
for line in data:
    for rule_id, pattern in rules:
        line = pattern.sub("[REDACTED:" + rule_id + "]", line)
print(f"{size / (time.perf_counter() - start):.3f}")
"#;
    let script_path = work.path().join("scrub.py");
    std::fs::File::create(&script_path)?.write_all(script.as_bytes())?;
    let out = std::process::Command::new("python3")
        .arg(&script_path)
        .arg(work.path().join("rules.json"))
        .arg(work.path().join("log.txt"))
        .output()?;
    anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
}

/// A regex standing in for an assignment rule: a key holding one of its
/// words, `=` or `:`, and a value up to a delimiter.
fn assignment_regex(keywords: &[String]) -> String {
    let words: Vec<String> = keywords
        .iter()
        .filter(|k| !k.starts_with('!'))
        .map(|k| k.trim_start_matches('?').split(' ').map(regex_escape).collect::<Vec<_>>().join(r"[_\-. ]?"))
        .collect();
    format!(r#"(?i)[\w.-]*(?:{})[\w.-]*["']?\s*[:=]\s*["']?([^\s"',;&]+)"#, words.join("|"))
}

fn regex_escape(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("\\{c}") }).collect()
}
