//! Seed inputs for each target, taken from the project's own files (the
//! bundled and example manifests, the example configuration, the scrubber
//! corpora, the example snapshot, the store semantics table) plus a few
//! Celery event envelopes written the way Kombu publishes them.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Value, json};

/// The fuzz targets, in the order the fuzz script runs them.
pub const TARGETS: &[&str] = &["manifest", "config", "scrubber", "extjson", "store_filter", "celery_events", "routes"];

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Named seed inputs for `target`: from the project's files, and the kept
/// corpus entries under `host/fuzz/seeds/<target>/` (for targets whose
/// input is structured bytes, like `routes`).
pub fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut seeds = from_project(target);
    seeds.extend(files(&repo_root(), &[&format!("host/fuzz/seeds/{target}")], ""));
    seeds
}

fn from_project(target: &str) -> Vec<(String, Vec<u8>)> {
    let root = repo_root();
    match target {
        "manifest" => {
            let mut seeds = files(&root, &["plugins", "examples", "tests/fixtures"], "plugin.toml");
            seeds.extend(files(&root, &["tests/golden/manifest"], ".toml"));
            seeds
        }
        "config" => {
            let mut seeds = files(&root, &["examples"], "vigil.toml");
            seeds.extend(files(&root, &["tests/golden/config"], ".toml"));
            seeds.push(("secrets.toml".to_owned(), SECRET_CONFIG.as_bytes().to_vec()));
            seeds
        }
        "scrubber" => files(&root, &["tests/corpus"], ""),
        "extjson" => files(&root, &["examples/cspm-snapshot"], ".json")
            .into_iter()
            .map(|(name, bytes)| {
                let head: Vec<&str> = std::str::from_utf8(&bytes).unwrap_or_default().lines().take(8).collect();
                (name, head.join("\n").into_bytes())
            })
            .collect(),
        "store_filter" => store_cases(&root),
        "celery_events" => celery_events(),
        _ => Vec::new(),
    }
}

const SECRET_CONFIG: &str = r#"[endpoints]
redis_url = "redis://:hunter2-seed@127.0.0.1:6379/0"
mongodb_uri = "mongodb://vigil:hunter2-seed@127.0.0.1:27017/cspm"

[admin]
token = { env = "VIGIL_ADMIN_TOKEN" }

[watchdog]
broker_url = "redis://:hunter2-seed@127.0.0.1:6379/1"
"#;

/// Files under `dirs` whose name ends with `suffix`, two levels deep.
fn files(root: &Path, dirs: &[&str], suffix: &str) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack: Vec<(PathBuf, u8)> = dirs.iter().map(|d| (root.join(d), 0)).collect();
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() && depth < 2 && !path.ends_with("target") {
                stack.push((path, depth + 1));
            } else if path.is_file()
                && path.to_string_lossy().ends_with(suffix)
                && let Ok(bytes) = std::fs::read(&path)
            {
                let name = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('/', "_");
                found.push((name, bytes));
            }
        }
    }
    found.sort();
    found
}

/// Each filter case of `tests/store/semantics.json` with the table's documents.
fn store_cases(root: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(text) = std::fs::read_to_string(root.join("tests/store/semantics.json")) else { return Vec::new() };
    let Ok(table) = serde_json::from_str::<Value>(&text) else { return Vec::new() };
    let documents: Vec<String> = table["documents"].as_array().into_iter().flatten().map(Value::to_string).collect();
    table["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, case)| {
            let mut lines = vec![case["filter"].to_string()];
            lines.extend(documents.iter().cloned());
            (format!("semantics-{i}"), lines.join("\n").into_bytes())
        })
        .collect()
}

fn envelope(body: &Value) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(body.to_string());
    json!({ "body": encoded, "content-encoding": "utf-8", "content-type": "application/json",
            "headers": {}, "properties": { "body_encoding": "base64", "delivery_info": { "exchange": "celeryev" } } })
    .to_string()
    .into_bytes()
}

fn celery_events() -> Vec<(String, Vec<u8>)> {
    let uuid = "2b6e1a4e-0000-4000-8000-000000000001";
    vec![
        ("task-sent".to_owned(), envelope(&json!({"type": "task-sent", "uuid": uuid, "name": "tasks.sync_findings"}))),
        (
            "task-multi".to_owned(),
            envelope(&json!([
                {"type": "task-received", "uuid": uuid, "name": "tasks.sync_findings", "hostname": "w1"},
                {"type": "task-started", "uuid": uuid},
                {"type": "task-succeeded", "uuid": uuid, "runtime": 0.25}
            ])),
        ),
        (
            "worker-heartbeat".to_owned(),
            envelope(&json!({"type": "worker-heartbeat", "hostname": "celery@w1", "timestamp": 1.8e9, "freq": 2.0})),
        ),
        ("plain-body".to_owned(), json!({"body": {"type": "task-failed", "uuid": uuid}}).to_string().into_bytes()),
    ]
}
