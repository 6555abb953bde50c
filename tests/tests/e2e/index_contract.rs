//! Contract test (not an integration test): the index manager against a
//! wire-level MongoDB stand-in (PyPI `mockupdb`, `tests/mongo/contract_server.py`)
//! that records the exact commands it receives and answers with MongoDB's
//! real reply and error shapes (11000, 85, 86). Real-server tests run when
//! `MONGODB_URI` is set (`mongodb_store.rs`).

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use vigil_tests::services::{Program, skip_unless_installed};
use vigil_tests::{vigil_binary, wait_until};

fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn index_apply_sends_the_exact_commands_and_handles_mongodb_errors() {
    if skip_unless_installed(&["python3"]) {
        return;
    }
    if !python_has("mockupdb") {
        assert!(
            std::env::var_os("VIGIL_REQUIRE_SERVICES").is_none(),
            "mockupdb is not installed, and VIGIL_REQUIRE_SERVICES is set"
        );
        eprintln!("skipped: python mockupdb is not installed (.ci/run installs it)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let commands = dir.path().join("commands.jsonl");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mongo/contract_server.py");
    let server = Program::start(
        "python3",
        &["-u".into(), script.display().to_string(), commands.display().to_string()],
        dir.path().join("server.log"),
    );
    let mut port = None;
    wait_until(Duration::from_secs(30), "the mockupdb server", || {
        port = server.log().lines().find_map(|l| l.strip_prefix("PORT ").map(str::to_owned));
        port.is_some()
    });
    let uri =
        format!("mongodb://127.0.0.1:{}/?directConnection=true&serverSelectionTimeoutMS=5000", port.expect("port"));

    let output = Command::new(vigil_binary())
        .args(["index", "apply", "--format", "json", "--mongodb", &uri])
        .env("VIGIL_CACHE_DIR", vigil_tests::shared_cache_dir())
        .output()
        .expect("vigil runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "failures must exit 1:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));

    let sent: Vec<Value> = std::fs::read_to_string(&commands)
        .expect("commands")
        .lines()
        .map(|l| serde_json::from_str(l).expect("recorded command"))
        .collect();
    // listIndexes: once per managed collection, in its database.
    let mut listed: Vec<(String, String)> = sent
        .iter()
        .filter(|c| c.get("listIndexes").is_some())
        .map(|c| (c["$db"].as_str().unwrap_or("").to_owned(), c["listIndexes"].as_str().unwrap_or("").to_owned()))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            ("cspm_cloud_security", "findings"),
            ("cspm_orchestration", "cloud_accounts"),
            ("cspm_orchestration", "scan_runs"),
            ("vulnerability_management", "vulnerability_occurrences"),
        ]
        .map(|(d, c)| (d.to_owned(), c.to_owned()))
    );
    // createIndexes: one index per command, with exactly the profile's keys and options.
    let created: Vec<(String, Value)> = sent
        .iter()
        .filter(|c| c.get("createIndexes").is_some())
        .map(|c| (c["createIndexes"].as_str().unwrap_or("").to_owned(), c["indexes"].clone()))
        .collect();
    let expect = |collection: &str, index: Value| {
        assert!(
            created.contains(&(collection.to_owned(), json!([index]))),
            "no createIndexes {collection} {index}; sent {created:#?}"
        );
    };
    expect("findings", json!({ "key": { "dedup_key": 1 }, "name": "idx_dedup_key_unique", "unique": true }));
    expect(
        "vulnerability_occurrences",
        json!({ "key": { "team_id": 1, "status": 1, "risk_score": -1 }, "name": "idx_team_status_risk" }),
    );
    expect("vulnerability_occurrences", json!({ "key": { "risk_score": -1 }, "name": "idx_risk_score" }));
    expect("cloud_accounts", json!({ "key": { "user_id": 1 }, "name": "idx_user_id" }));
    expect(
        "vulnerability_occurrences",
        json!({ "key": { "source_module": 1, "source_key": 1 }, "name": "idx_source_module_key" }),
    );
    assert_eq!(created.len(), 8, "idx_run_id_unique exists already; the rest are created: {created:#?}");
    assert!(sent.iter().all(|c| c.get("dropIndexes").is_none()), "nothing is dropped without --prune");
    // After 11000, the duplicates are counted with an aggregate on the collection.
    let aggregate = sent.iter().find(|c| c.get("aggregate").is_some()).expect("an aggregate for the duplicates");
    assert_eq!(aggregate["aggregate"], "findings");
    assert_eq!(
        aggregate["pipeline"],
        json!([
            { "$group": { "_id": { "dedup_key": "$dedup_key" }, "count": { "$sum": 1 } } },
            { "$match": { "count": { "$gt": 1 } } },
            { "$sort": { "count": -1 } },
        ])
    );

    // The report: errors by code, duplicates counted, the rest created; the unmanaged index kept.
    let actions = report["actions"].as_array().expect("actions");
    let action = |name: &str| actions.iter().find(|a| a["name"] == name).cloned().unwrap_or_default();
    let dedup = action("idx_dedup_key_unique");
    assert_eq!(dedup["action"], "failed");
    assert!(dedup["detail"].as_str().unwrap_or("").starts_with("DuplicateKey (11000)"), "{dedup}");
    assert_eq!(dedup["duplicates"]["keys"], 2, "{dedup}");
    assert!(action("idx_status")["detail"].as_str().unwrap_or("").starts_with("IndexOptionsConflict (85)"));
    assert!(action("idx_team_id")["detail"].as_str().unwrap_or("").starts_with("IndexKeySpecsConflict (86)"));
    assert_eq!(action("idx_provider")["action"], "created");
    assert_eq!(action("legacy_1")["action"], "skipped");
    drop(server);
}
