//! Everything the daemon writes is one JSON object per line with the fields
//! Promtail reads, and no credential survives: not in a plugin's log line,
//! not in an error, not in the configuration it echoes.

use std::time::Duration;

use vigil_tests::process::VigilProcess;
use vigil_tests::{PluginDir, promtail_records, wait_until};

#[test]
fn daemon_logs_are_json_and_free_of_planted_secrets() {
    let dir = PluginDir::new();
    let secret = "hunter2-Sup3rSecret";
    dir.misbehaving(
        "leaky",
        "log-secret",
        "2s",
        &format!("interval = \"200ms\"\n[config]\nsecret = \"password={secret} mongodb://app:{secret}@db/x\""),
    );
    // `misbehaving` writes its own [config]; replace the manifest with one config table.
    let manifest = dir.path().join("leaky/plugin.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let text = text
        .replacen("[config]\nbehaviour = \"log-secret\"\n", "", 1)
        .replace("[config]\nsecret", "[config]\nbehaviour = \"log-secret\"\nsecret");
    std::fs::write(&manifest, text).expect("rewrite manifest");

    let redis_url = format!("redis://:{secret}@127.0.0.1:1/0");
    let vigil =
        VigilProcess::start(&["--plugins", &dir.path().to_string_lossy()], None, &[("REDIS_URL", redis_url.as_str())]);
    // Wait (bounded) until the leaky check has run, and so logged, twice.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    wait_until(Duration::from_secs(60), "two runs of the leaky check", || {
        let runs =
            runtime.block_on(vigil_tests::try_http_get(vigil.addr, "/health/status", &[])).and_then(|(_, _, body)| {
                let status: serde_json::Value = serde_json::from_str(&body).ok()?;
                status["plugins"].as_array()?.iter().find(|p| p["name"] == "leaky")?["runs"].as_u64()
            });
        runs >= Some(2)
    });
    let logs = vigil.stop();

    assert!(!logs.contains(secret), "the planted secret reached the log:\n{logs}");
    let mut leaky_lines = 0;
    for record in promtail_records(&logs) {
        if record["plugin"] == "leaky" && record["logger"] == "vigil::plugin" {
            leaky_lines += 1;
            let message = record["message"].as_str().unwrap_or_default();
            assert!(message.contains("[REDACTED:"), "plugin line not scrubbed: {record}");
        }
    }
    assert!(leaky_lines >= 1, "the leaky plugin's log lines are missing:\n{logs}");
}

/// The keys the Promtail example's `json` stage extracts, and the label and
/// timestamp stages that use them.
fn promtail_pipeline() -> (Vec<(String, String)>, Vec<String>, String, String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/promtail/promtail.yml");
    let text = std::fs::read_to_string(&path).expect("examples/promtail/promtail.yml");
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("promtail.yml is YAML");
    let vigil = docs[0]["scrape_configs"]
        .as_vec()
        .expect("scrape_configs")
        .iter()
        .find(|job| job["job_name"].as_str() == Some("vigil"))
        .expect("vigil job")
        .clone();
    let stages = vigil["pipeline_stages"].as_vec().expect("pipeline_stages");
    let stage = |name: &str| {
        stages
            .iter()
            .find(|s| !s[name].is_badvalue())
            .map(|s| s[name].clone())
            .unwrap_or_else(|| panic!("no {name} stage"))
    };
    let expressions = stage("json")["expressions"]
        .as_hash()
        .expect("expressions")
        .iter()
        .map(|(k, v)| {
            (k.as_str().unwrap_or_default().to_owned(), v.as_str().unwrap_or_default().trim_matches('"').to_owned())
        })
        .collect();
    let labels =
        stage("labels").as_hash().expect("labels").keys().filter_map(|k| k.as_str().map(str::to_owned)).collect();
    let timestamp = stage("timestamp");
    (
        expressions,
        labels,
        timestamp["source"].as_str().unwrap_or_default().to_owned(),
        timestamp["format"].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn log_file_rotates_by_size_and_every_line_fits_the_promtail_pipeline() {
    let (expressions, labels, timestamp_source, timestamp_format) = promtail_pipeline();
    assert_eq!((timestamp_source.as_str(), timestamp_format.as_str()), ("timestamp", "RFC3339Nano"));
    for label in ["level", "logger", "plugin"] {
        assert!(labels.iter().any(|l| l == label), "promtail.yml does not label {label}");
    }

    let dir = PluginDir::new();
    dir.misbehaving("chatty", "log-secret", "2s", "interval = \"100ms\"");
    let logs = tempfile::tempdir().expect("tempdir");
    let file = logs.path().join("vigil.log");
    let config = logs.path().join("vigil.toml");
    std::fs::write(
        &config,
        format!("[log]\nconsole = \"off\"\nfile = {:?}\nmax_file_bytes = 4000\nmax_files = 2\n", file.display()),
    )
    .expect("config");
    let vigil = VigilProcess::start(&["--plugins", &dir.path().to_string_lossy()], Some(&config), &[]);
    let second = logs.path().join("vigil.log.2");
    wait_until(Duration::from_secs(60), "two rotations of vigil.log", || second.exists());
    let console = vigil.stop();
    assert!(console.is_empty(), "console = \"off\" still wrote:\n{console}");

    assert!(!logs.path().join("vigil.log.3").exists(), "max_files = 2 keeps two rotated files");
    let mut plugin_lines = 0;
    for name in ["vigil.log.2", "vigil.log.1", "vigil.log"] {
        let text = std::fs::read_to_string(logs.path().join(name)).expect("log file");
        assert!(text.len() < 4000 + 4096, "{name} is {} bytes, past the rotation size", text.len());
        for record in promtail_records(&text) {
            for (label, key) in &expressions {
                if ["timestamp", "level", "logger"].contains(&label.as_str()) {
                    assert!(record[key].is_string(), "{name}: {key} missing for label {label}: {record}");
                }
            }
            if record["logger"] == "vigil::plugin" {
                assert_eq!(record["plugin"], "chatty", "{record}");
                plugin_lines += 1;
            }
        }
    }
    assert!(plugin_lines > 0, "no plugin lines in the rotated files");
}

/// Whether `name` matches the glob `pattern` (`*` within a path segment).
fn glob_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            let Some(rest) = name.strip_prefix(head) else { return false };
            (0..=rest.len())
                .take_while(|&i| !rest[..i].contains('/'))
                .any(|i| rest.is_char_boundary(i) && glob_matches(tail, &rest[i..]))
        }
    }
}

#[test]
fn the_promtail_example_tails_live_files_only_and_drops_the_file_name() {
    assert!(glob_matches("/l/vigil.log*", "/l/vigil.log.1"), "the glob check itself");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/promtail/promtail.yml");
    let text = std::fs::read_to_string(&path).expect("examples/promtail/promtail.yml");
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("promtail.yml is YAML");
    let jobs = docs[0]["scrape_configs"].as_vec().expect("scrape_configs");
    for job in jobs {
        let name = job["job_name"].as_str().unwrap_or("?");
        for target in job["static_configs"].as_vec().expect("static_configs") {
            let pattern = target["labels"]["__path__"].as_str().expect("__path__");
            // A live file it matches, made concrete, and that file once rotated.
            let live = pattern.replace('*', "api");
            assert!(glob_matches(pattern, &live), "{name}: {pattern} does not match {live}");
            for rotated in [format!("{live}.1"), format!("{live}.12")] {
                assert!(!glob_matches(pattern, &rotated), "{name}: {pattern} also matches the rotated {rotated}");
            }
        }
        let drops_filename = job["pipeline_stages"].as_vec().into_iter().flatten().any(|stage| {
            stage["labeldrop"].as_vec().into_iter().flatten().any(|label| label.as_str() == Some("filename"))
        });
        assert!(drops_filename, "{name}: the filename label (new stream per file name) is not dropped");
    }
}
