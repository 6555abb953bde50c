//! The index manager on the snapshot backend: every state in a plan, apply
//! with and without --replace/--prune, the duplicate-key report, and
//! profiles that disagree.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;
use vigil_host::indexes::backend::SnapshotIndexes;
use vigil_host::indexes::{self, IndexModel, State};
use vigil_host::store::snapshot::Snapshot;
use vigil_tests::snapshot::{Plan, generate};

fn vigil(args: &[&str], snapshot: &Path) -> (i32, Value) {
    let store = format!("snapshot:{}", snapshot.display());
    let mut all = vec!["index"];
    all.extend_from_slice(args);
    all.extend(["--format", "json", "--store", store.as_str()]);
    vigil_tests::vigil_json(all)
}

fn states(plan: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = plan["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| (e["name"].as_str().unwrap_or("").to_owned(), e["state"].as_str().unwrap_or("").to_owned()))
        .collect();
    out.sort();
    out
}

#[test]
fn plan_apply_and_duplicate_report_on_a_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let planted = generate(dir.path(), &Plan::example(SystemTime::now())).expect("snapshot");

    let (code, plan) = vigil(&["plan"], dir.path());
    assert_eq!(code, 1, "a plan with drift exits 1");
    let expected = [
        ("idx_account_id", "unmanaged"),
        ("idx_dedup_key_unique", "missing"),
        ("idx_provider", "missing"),
        ("idx_risk_score", "ok"),
        ("idx_run_id_unique", "ok"),
        ("idx_source_module_key", "missing"),
        ("idx_status", "conflict"),
        ("idx_team_id", "conflict"),
        ("idx_team_status_risk", "ok"),
        ("idx_user_id", "missing"),
        ("legacy_created_at", "unmanaged"),
    ];
    assert_eq!(states(&plan), expected.map(|(n, s)| (n.to_owned(), s.to_owned())));
    let detail = |name: &str| {
        plan["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["detail"].clone())
            .unwrap_or_default()
    };
    assert_eq!(detail("idx_status"), "sparse: wanted false, found true");
    assert_eq!(detail("idx_team_id"), "the same keys exist as index team_id_1");

    // Apply without flags: creates what it can, reports the duplicates, drops nothing, exits 1.
    let (code, applied) = vigil(&["apply"], dir.path());
    assert_eq!(code, 1);
    let actions = applied["actions"].as_array().expect("actions");
    let action = |name: &str| actions.iter().find(|a| a["name"] == name).cloned().unwrap_or_default();
    assert_eq!(action("idx_user_id")["action"], "created");
    assert_eq!(action("idx_status")["action"], "skipped");
    assert_eq!(action("legacy_created_at")["action"], "skipped");
    let dedup = action("idx_dedup_key_unique");
    assert_eq!(dedup["action"], "failed");
    assert!(dedup["detail"].as_str().unwrap_or("").contains("11000"), "{dedup}");
    assert_eq!(dedup["duplicates"]["keys"], planted.duplicate_keys.len());
    let sampled: Vec<&str> = dedup["duplicates"]["sample"]
        .as_array()
        .expect("sample")
        .iter()
        .filter_map(|s| s["_id"]["dedup_key"].as_str())
        .collect();
    for key in &planted.duplicate_keys {
        assert!(sampled.contains(&key.as_str()), "{key} not in the sample {sampled:?}");
    }

    // --replace --prune: conflicts recreated, unmanaged dropped; only the blocked unique index remains.
    let (code, _) = vigil(&["apply", "--replace", "--prune"], dir.path());
    assert_eq!(code, 1);
    let (_, plan) = vigil(&["plan"], dir.path());
    let left: Vec<(String, String)> = states(&plan).into_iter().filter(|(_, s)| s != "ok").collect();
    assert_eq!(left, [("idx_dedup_key_unique".to_owned(), "missing".to_owned())]);
    let metadata =
        std::fs::read_to_string(dir.path().join("vulnerability_management/vulnerability_occurrences.metadata.json"))
            .expect("metadata");
    assert!(!metadata.contains("legacy_created_at") && !metadata.contains("team_id_1"), "{metadata}");
}

#[tokio::test]
async fn profiles_that_disagree_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate(dir.path(), &Plan::example(SystemTime::now())).expect("snapshot");
    let backend = SnapshotIndexes::new(Arc::new(Snapshot::open(dir.path()).expect("snapshot")));
    let model = |unique: bool| {
        let listing = mongodb::bson::doc! { "name": "idx_dedup", "key": { "dedup_key": 1 }, "unique": unique };
        IndexModel::from_listing("cspm_cloud_security.findings", &listing).expect("model")
    };
    let wanted = vec![("a".to_owned(), model(true)), ("b".to_owned(), model(false)), ("c".to_owned(), model(true))];
    let plan = indexes::plan(wanted, &backend).await;
    assert_eq!(plan.profile_conflicts.len(), 1, "{:?}", plan.profile_conflicts);
    assert!(plan.profile_conflicts[0].contains("profiles a and b"), "{:?}", plan.profile_conflicts);
    assert_eq!(plan.count(State::Missing), 1);
    assert!(!plan.clean());
}
