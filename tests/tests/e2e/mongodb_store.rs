//! The MongoDB store backend against a real server, when `MONGODB_URI` is
//! set: the semantics table's documents are written to a scratch database
//! and every case must give the same answer as the snapshot backend does;
//! so must the `missing-keys` anti-join.

use std::time::Duration;

use mongodb::bson::{Bson, Document};
use mongodb::options::ReadPreference;
use serde_json::Value;
use vigil_host::store::mongo::MongoStore;
use vigil_host::store::{DocumentStore, FindQuery};

fn document(value: &Value) -> Document {
    match Bson::try_from(value.clone()).expect("Extended JSON") {
        Bson::Document(doc) => doc,
        other => panic!("not a document: {other}"),
    }
}

#[tokio::test]
async fn mongodb_backend_agrees_with_the_semantics_table() {
    let Ok(uri) = std::env::var("MONGODB_URI") else {
        eprintln!("skipped: MONGODB_URI not set");
        return;
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("store/semantics.json");
    let table: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("table")).expect("JSON");
    let client = mongodb::Client::with_uri_str(&uri).await.expect("client");
    let database = format!("vigil_test_{}", std::process::id());
    let collection = client.database(&database).collection::<Document>("items");
    let docs: Vec<Document> = table["documents"].as_array().expect("documents").iter().map(document).collect();
    collection.insert_many(docs).await.expect("insert");

    let store = MongoStore::new(client.clone(), Duration::from_secs(10), ReadPreference::Primary);
    let name = format!("{database}.items");
    for case in table["cases"].as_array().expect("cases") {
        let label = case["name"].as_str().expect("name");
        let query = FindQuery {
            filter: document(&case["filter"]),
            sort: Some(document(&serde_json::json!({ "_id": 1 }))),
            ..FindQuery::default()
        };
        let found = store.find(&name, query).await;
        match case["error"].as_str() {
            Some(operator) => assert!(found.expect_err(label).to_string().contains(operator), "{label}"),
            None => {
                let ids: Vec<i64> = found
                    .unwrap_or_else(|err| panic!("{label}: {err}"))
                    .iter()
                    .map(|d| vigil_host::store::order::number(d.get("_id").expect("_id")).expect("id") as i64)
                    .collect();
                let want: Vec<i64> =
                    case["match"].as_array().expect("match").iter().filter_map(Value::as_i64).collect();
                assert_eq!(ids, want, "{label}");
            }
        }
    }
    client.database(&database).drop().await.expect("drop scratch database");
}

/// The index manager against a real server: a unique index over duplicate
/// keys fails with the duplicates counted, the rest is created.
#[test]
fn index_apply_against_a_real_server() {
    let Ok(uri) = std::env::var("MONGODB_URI") else {
        eprintln!("skipped: MONGODB_URI not set");
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio");
    let client = runtime.block_on(mongodb::Client::with_uri_str(&uri)).expect("client");
    let findings = client.database("cspm_cloud_security").collection::<Document>("findings");
    let marker = format!("vigil-test-{}", std::process::id());
    let docs = vec![
        mongodb::bson::doc! { "dedup_key": format!("{marker}-a"), "marker": &marker },
        mongodb::bson::doc! { "dedup_key": format!("{marker}-a"), "marker": &marker },
    ];
    if runtime.block_on(async { findings.insert_many(docs).await }).is_err() {
        eprintln!("skipped: the server already refuses duplicate dedup keys (the index exists)");
        return;
    }
    let output = std::process::Command::new(vigil_tests::vigil_binary())
        .args(["index", "apply", "--format", "json", "--mongodb", &uri])
        .env("VIGIL_CACHE_DIR", vigil_tests::shared_cache_dir())
        .output()
        .expect("vigil runs");
    runtime
        .block_on(async { findings.delete_many(mongodb::bson::doc! { "marker": &marker }).await })
        .expect("clean up");
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let dedup = report["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["name"] == "idx_dedup_key_unique")
        .cloned()
        .unwrap_or_default();
    if dedup.is_null() {
        // The server already has the index: nothing to create, and so nothing to report.
        return;
    }
    assert_eq!(dedup["action"], "failed", "{dedup}");
    assert!(dedup["duplicates"]["keys"].as_u64().unwrap_or(0) >= 1, "{dedup}");
}

/// `missing-keys` on a real server gives the snapshot backend's answer:
/// 2,500 findings (three `$in` batches), occurrences of two modules, and a
/// condition the other side's filter puts on the key field itself. (The
/// snapshot half runs always.)
#[tokio::test]
async fn mongodb_missing_keys_agree_with_the_snapshot() {
    use mongodb::bson::doc;
    use vigil_host::store::MissingKeys;
    let key = |i: usize| format!("k{i:04}");
    let findings: Vec<Document> = (0..2500).map(|i| doc! { "dedup_key": key(i), "n": i as i64 }).collect();
    let occurrences: Vec<Document> = (0..2500)
        .filter(|i| ![7, 1500, 2499].contains(i))
        .map(|i| doc! { "source_key": key(i), "source_module": "cspm" })
        .chain([doc! { "source_key": key(7), "source_module": "k8s" }])
        .collect();
    let query = MissingKeys {
        collection: "db.findings".into(),
        key_field: "dedup_key".into(),
        filter: Document::new(),
        other: "db.occurrences".into(),
        other_key_field: "source_key".into(),
        other_filter: doc! { "source_module": "cspm", "source_key": { "$ne": key(100) } },
        limit: 10,
    };

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("db")).expect("db dir");
    for (name, docs) in [("findings", &findings), ("occurrences", &occurrences)] {
        let lines: Vec<String> =
            docs.iter().map(|d| Bson::Document(d.clone()).into_relaxed_extjson().to_string()).collect();
        std::fs::write(dir.path().join(format!("db/{name}.json")), lines.join("\n")).expect("export");
    }
    let snapshot = vigil_host::store::snapshot::Snapshot::open(dir.path()).expect("snapshot");
    let snapshot = vigil_host::store::snapshot::SnapshotStore(std::sync::Arc::new(snapshot));
    let from_snapshot = snapshot.missing_keys(query.clone()).await.expect("missing keys");
    assert_eq!((from_snapshot.keys, from_snapshot.missing), (2500, 4), "k0007, k0100, k1500 and k2499");

    let Ok(uri) = std::env::var("MONGODB_URI") else {
        eprintln!("skipped (the MongoDB half): MONGODB_URI not set");
        return;
    };
    let client = mongodb::Client::with_uri_str(&uri).await.expect("client");
    let database = format!("vigil_test_keys_{}", std::process::id());
    let db = client.database(&database);
    db.collection::<Document>("findings").insert_many(findings).await.expect("insert");
    db.collection::<Document>("occurrences").insert_many(occurrences).await.expect("insert");
    let store = MongoStore::new(client.clone(), Duration::from_secs(10), ReadPreference::Primary);
    let named =
        MissingKeys { collection: format!("{database}.findings"), other: format!("{database}.occurrences"), ..query };
    let from_mongodb = store.missing_keys(named).await;
    db.drop().await.expect("drop scratch database");
    assert_eq!(from_mongodb.expect("missing keys"), from_snapshot);
}
