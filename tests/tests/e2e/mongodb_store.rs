//! The MongoDB store backend against a real server, when `MONGODB_URI` is
//! set: the semantics table's documents are written to a scratch database
//! and every case must give the same answer as the snapshot backend does.

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
