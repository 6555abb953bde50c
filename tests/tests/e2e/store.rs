//! The snapshot backend against a table of MongoDB's documented query
//! behaviour (`tests/store/semantics.json`), read through real
//! `mongoexport`-style files; and the anti-join behind the propagation check.

use mongodb::bson::{Bson, Document};
use serde_json::Value;
use vigil_host::store::snapshot::{self, Snapshot, SnapshotStore};
use vigil_host::store::{DocumentStore, FindQuery, order};

const COLLECTION: &str = "inventory.items";

fn table() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("store/semantics.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("semantics table")).expect("JSON")
}

fn document(value: &Value) -> Document {
    match Bson::try_from(value.clone()).expect("Extended JSON") {
        Bson::Document(doc) => doc,
        other => panic!("not a document: {other}"),
    }
}

/// The table's documents as a mongoexport file (one document per line).
fn store(table: &Value) -> (tempfile::TempDir, SnapshotStore) {
    store_streaming_above(table, snapshot::CACHE_LIMIT)
}

/// [`store`], streaming files larger than `bytes` (0: every file, the path
/// large exports take: fields parsed on demand, lines that cannot match
/// skipped unparsed).
fn store_streaming_above(table: &Value, bytes: u64) -> (tempfile::TempDir, SnapshotStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("inventory")).expect("db dir");
    let lines: Vec<String> = table["documents"].as_array().expect("documents").iter().map(Value::to_string).collect();
    std::fs::write(dir.path().join("inventory/items.json"), lines.join("\n") + "\n").expect("export");
    let snapshot = Snapshot::open_streaming_above(dir.path(), bytes).expect("snapshot");
    (dir, SnapshotStore(std::sync::Arc::new(snapshot)))
}

fn ids(docs: &[Document]) -> Vec<i64> {
    docs.iter().map(|d| order::number(d.get("_id").expect("_id")).expect("numeric _id") as i64).collect()
}

fn expected_ids(value: &Value) -> Vec<i64> {
    value.as_array().expect("ids").iter().map(|v| v.as_i64().expect("id")).collect()
}

#[tokio::test]
async fn filters_match_what_mongodb_documents() {
    let table = table();
    for limit in [snapshot::CACHE_LIMIT, 0] {
        filters_match(&table, limit).await;
    }
}

async fn filters_match(table: &Value, stream_above: u64) {
    let (_dir, store) = store_streaming_above(table, stream_above);
    for case in table["cases"].as_array().expect("cases") {
        let name = &format!("{} (files over {stream_above} bytes streamed)", case["name"].as_str().expect("name"));
        let query = FindQuery { filter: document(&case["filter"]), ..FindQuery::default() };
        let found = store.find(COLLECTION, query).await;
        if let Some(operator) = case["error"].as_str() {
            let err = found.expect_err(name).to_string();
            assert!(err.contains(operator), "{name}: error does not name {operator}: {err}");
            continue;
        }
        let found = found.unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(ids(&found), expected_ids(&case["match"]), "{name}");
        let count = store.count(COLLECTION, document(&case["filter"])).await.expect("count");
        assert_eq!(count as usize, found.len(), "{name}: count disagrees with find");
    }
}

#[tokio::test]
async fn sorts_and_limits_follow_the_bson_order() {
    let table = table();
    let (_dir, store) = store(&table);
    for case in table["finds"].as_array().expect("finds") {
        let name = case["name"].as_str().expect("name");
        let query = FindQuery {
            filter: document(&case["filter"]),
            sort: Some(document(&case["sort"])),
            projection: None,
            limit: case["limit"].as_u64().unwrap_or(0) as u32,
        };
        let found = store.find(COLLECTION, query).await.unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(ids(&found), expected_ids(&case["order"]), "{name}");
    }
}

#[tokio::test]
async fn aggregates_compute_what_mongodb_documents() {
    let table = table();
    let (_dir, store) = store(&table);
    for case in table["aggregates"].as_array().expect("aggregates") {
        let name = case["name"].as_str().expect("name");
        let pipeline: Vec<Document> = case["pipeline"].as_array().expect("pipeline").iter().map(document).collect();
        let result = store.aggregate(COLLECTION, pipeline).await;
        if let Some(operator) = case["error"].as_str() {
            let err = result.expect_err(name).to_string();
            assert!(err.contains(operator), "{name}: error does not name {operator}: {err}");
            continue;
        }
        let result = result.unwrap_or_else(|err| panic!("{name}: {err}"));
        let expected: Vec<Document> = case["result"].as_array().expect("result").iter().map(document).collect();
        assert_eq!(result.len(), expected.len(), "{name}: {result:?}");
        for (got, want) in result.iter().zip(&expected) {
            assert!(
                order::equal(&Bson::Document(got.clone()), &Bson::Document(want.clone())),
                "{name}: got {got}, want {want}"
            );
        }
    }
}

#[tokio::test]
async fn latest_projection_and_bad_files() {
    let table = table();
    let (dir, store) = store(&table);
    let latest = store.latest(COLLECTION, "ts", Document::new()).await.expect("latest").expect("a document");
    // Dates rank above strings in the BSON order, so the newest date wins over doc 3's string.
    assert_eq!(latest.get("_id"), Some(&Bson::Int32(2)));
    let mut projection = Document::new();
    projection.insert("size.uom", 1);
    projection.insert("_id", 0);
    let query = FindQuery {
        filter: document(&serde_json::json!({ "_id": 1 })),
        projection: Some(projection),
        ..FindQuery::default()
    };
    let found = store.find(COLLECTION, query).await.expect("find");
    assert_eq!(found[0].to_string(), r#"{ "size": { "uom": "cm" } }"#);
    assert_eq!(store.count("inventory.nothing_here", Document::new()).await.expect("count"), 0);
    assert!(
        store.count("no-dot", Document::new()).await.expect_err("bad name").to_string().contains("database.collection")
    );

    std::fs::write(dir.path().join("inventory/broken.json"), "{\"_id\": 1}\n{not json\n").expect("write");
    let err = store.count("inventory.broken", Document::new()).await.expect_err("broken file").to_string();
    assert!(err.contains("broken.json:2"), "{err}");
}

/// The propagation check is complete: a finding that was never propagated
/// is found however old it is (the old rule only sampled the newest 500),
/// and the finding names how many of how many, with a missing key.
#[test]
fn an_old_unpropagated_finding_is_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("snapshot");
    let mut plan = vigil_tests::snapshot::Plan::example(std::time::SystemTime::now());
    plan.findings = [800, 10, 10];
    plan.unsynced_cspm = 0;
    plan.lagging_container = false;
    plan.duplicate_keys = 0;
    vigil_tests::snapshot::generate(&snapshot, &plan).expect("snapshot");
    // Drop the occurrence of the oldest CSPM finding (index 799).
    let occurrences = snapshot.join("vulnerability_management/vulnerability_occurrences.json");
    let text = std::fs::read_to_string(&occurrences).expect("occurrences");
    let kept: Vec<&str> = text.lines().filter(|l| !l.contains(":00799\"")).collect();
    assert_eq!(kept.len() + 1, text.lines().count(), "one occurrence dropped");
    std::fs::write(&occurrences, kept.join("\n") + "\n").expect("write");

    let store = format!("snapshot:{}", snapshot.display());
    let (code, report) =
        vigil_tests::vigil_json(["watchdog", "run", "--format", "json", "--dry-run", "--store", store.as_str()]);
    assert_eq!(code, 0, "{report:#}");
    let details: Vec<String> = report["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter(|r| r["plugin"] == "vulnerability-sync")
        .flat_map(|r| r["findings"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f["detail"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(details.len(), 1, "{report:#}");
    assert!(
        details[0].starts_with("1 of 800 cspm findings have no vulnerability occurrence (799 synced; e.g. cspm:"),
        "{}",
        details[0]
    );
    assert!(details[0].contains(":00799"), "{}", details[0]);
    // The size of the drift: the module's findings and occurrences.
    assert!(details[0].ends_with("; 800 findings, 799 occurrences"), "{}", details[0]);
}

/// On the streamed path a line that cannot match is skipped unparsed, but a
/// truncated line is still reported, naming its file and line.
#[tokio::test]
async fn a_truncated_line_is_reported_even_when_it_could_be_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("db")).expect("db dir");
    let export = "{\"status\":\"RUNNING\"}\n{\"status\":\"DONE\"}\n{\"status\":\"DONE\", \"n\": 4\n";
    std::fs::write(dir.path().join("db/runs.json"), export).expect("export");
    let snapshot = Snapshot::open_streaming_above(dir.path(), 0).expect("snapshot");
    let store = SnapshotStore(std::sync::Arc::new(snapshot));
    let filter = document(&serde_json::json!({ "status": "RUNNING" }));
    let err = store.count("db.runs", filter).await.expect_err("the truncated line is an error");
    assert!(err.to_string().contains("runs.json:3"), "{err}");
}

/// `find` and `aggregate` answers are kept per file version: asked again
/// they are the same, and a changed export is read again.
#[tokio::test]
async fn kept_answers_follow_the_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("db")).expect("db dir");
    let path = dir.path().join("db/runs.json");
    std::fs::write(&path, "{\"_id\":1,\"status\":\"RUNNING\"}\n{\"_id\":2,\"status\":\"DONE\"}\n").expect("export");
    let store = SnapshotStore(std::sync::Arc::new(Snapshot::open_streaming_above(dir.path(), 0).expect("snapshot")));
    let running =
        || FindQuery { filter: document(&serde_json::json!({ "status": "RUNNING" })), ..FindQuery::default() };
    let grouped = || vec![document(&serde_json::json!({ "$group": { "_id": "$status", "n": { "$sum": 1 } } }))];
    let first = store.find("db.runs", running()).await.expect("find");
    assert_eq!(ids(&first), [1]);
    assert_eq!(store.find("db.runs", running()).await.expect("find"), first);
    assert_eq!(store.aggregate("db.runs", grouped()).await.expect("aggregate").len(), 2);
    let mut export = std::fs::read_to_string(&path).expect("read");
    export.push_str("{\"_id\":3,\"status\":\"RUNNING\"}\n{\"_id\":4,\"status\":\"QUEUED\"}\n");
    std::fs::write(&path, export).expect("export");
    assert_eq!(ids(&store.find("db.runs", running()).await.expect("find")), [1, 3]);
    assert_eq!(store.aggregate("db.runs", grouped()).await.expect("aggregate").len(), 3);
}
