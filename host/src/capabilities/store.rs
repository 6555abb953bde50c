//! `store`: read-only queries over the collections a plugin's grant names
//! (`[grants] store = ["cspm_orchestration.scan_runs"]`), answered by the
//! configured document store (MongoDB or a snapshot directory).

use mongodb::bson::Document;

use crate::capabilities::grants;
use crate::runtime::HostState;
use crate::runtime::bindings::CapabilityError;
use crate::runtime::bindings::host::vigil::plugin::store::{FindQuery, Host, MissingKeysAnswer, MissingKeysQuery};
use crate::store::{self, Store, StoreError};

type Answer<T> = wasmtime::Result<Result<T, CapabilityError>>;

/// Most documents one `find` or `aggregate` returns to a plugin.
pub const MAX_DOCUMENTS: u32 = 10_000;

impl HostState {
    /// The store, if `collection` is granted and a store is configured.
    fn store_for(&self, collection: &str) -> Result<Store, CapabilityError> {
        if let Err(refusal) = grants::store(&self.plugin.grants, collection) {
            return Err(self.services.refuse(&self.plugin.name, refusal));
        }
        self.services.store.clone().ok_or_else(|| {
            CapabilityError::NotAvailable(
                "store: no document store configured (endpoints.mongodb_uri or endpoints.snapshot_dir)".to_owned(),
            )
        })
    }
}

fn failed(err: StoreError) -> CapabilityError {
    match err {
        StoreError::Timeout(_) => CapabilityError::Timeout(format!("store: {err}")),
        // Invalid and unsupported queries are the plugin's mistake, named in the message.
        other => CapabilityError::Failed(format!("store: {other}")),
    }
}

fn parse(json: &str, what: &str) -> Result<Document, CapabilityError> {
    store::parse_document(json, what).map_err(failed)
}

impl Host for HostState {
    async fn count(&mut self, collection: String, filter_json: String) -> Answer<u64> {
        let store = match self.store_for(&collection) {
            Ok(store) => store,
            Err(err) => return Ok(Err(err)),
        };
        Ok(self.off_cpu(count(store, collection, filter_json)).await)
    }

    async fn find(&mut self, collection: String, query: FindQuery) -> Answer<Vec<String>> {
        let store = match self.store_for(&collection) {
            Ok(store) => store,
            Err(err) => return Ok(Err(err)),
        };
        Ok(self.off_cpu(find(store, collection, query)).await)
    }

    async fn latest(&mut self, collection: String, field: String, filter_json: String) -> Answer<Option<String>> {
        let store = match self.store_for(&collection) {
            Ok(store) => store,
            Err(err) => return Ok(Err(err)),
        };
        Ok(self.off_cpu(latest(store, collection, field, filter_json)).await)
    }

    async fn aggregate(&mut self, collection: String, pipeline_json: String) -> Answer<Vec<String>> {
        let store = match self.store_for(&collection) {
            Ok(store) => store,
            Err(err) => return Ok(Err(err)),
        };
        Ok(self.off_cpu(aggregate(store, collection, pipeline_json)).await)
    }

    async fn missing_keys(&mut self, query: MissingKeysQuery) -> Answer<MissingKeysAnswer> {
        // Both collections must be granted.
        let store = match self.store_for(&query.collection).and_then(|_| self.store_for(&query.other_collection)) {
            Ok(store) => store,
            Err(err) => return Ok(Err(err)),
        };
        Ok(self.off_cpu(missing_keys(store, query)).await)
    }
}

/// Most missing keys one answer carries.
pub const MAX_SAMPLE: u32 = 1000;

async fn missing_keys(store: Store, query: MissingKeysQuery) -> Result<MissingKeysAnswer, CapabilityError> {
    let query = store::MissingKeys {
        filter: parse(&query.filter_json, "filter")?,
        other_filter: parse(&query.other_filter_json, "other filter")?,
        collection: query.collection,
        key_field: query.key_field,
        other: query.other_collection,
        other_key_field: query.other_key_field,
        limit: query.limit.min(MAX_SAMPLE) as usize,
    };
    let answer = store.missing_keys(query).await.map_err(failed)?;
    Ok(MissingKeysAnswer {
        keys: answer.keys,
        missing: answer.missing,
        sample: answer.sample.into_iter().map(|key| key.into_relaxed_extjson().to_string()).collect(),
    })
}

// The queries run on the store alone (not the plugin's state, which is not `Sync`).

async fn count(store: Store, collection: String, filter_json: String) -> Result<u64, CapabilityError> {
    let filter = parse(&filter_json, "filter")?;
    store.count(&collection, filter).await.map_err(failed)
}

async fn find(store: Store, collection: String, query: FindQuery) -> Result<Vec<String>, CapabilityError> {
    let query = store::FindQuery {
        filter: parse(&query.filter_json, "filter")?,
        projection: query.projection_json.as_deref().map(|p| parse(p, "projection")).transpose()?,
        sort: query.sort_json.as_deref().map(|s| parse(s, "sort")).transpose()?,
        limit: if query.limit == 0 { MAX_DOCUMENTS } else { query.limit.min(MAX_DOCUMENTS) },
    };
    let docs = store.find(&collection, query).await.map_err(failed)?;
    Ok(docs.into_iter().map(store::to_json).collect())
}

async fn latest(
    store: Store,
    collection: String,
    field: String,
    filter_json: String,
) -> Result<Option<String>, CapabilityError> {
    let filter = parse(&filter_json, "filter")?;
    Ok(store.latest(&collection, &field, filter).await.map_err(failed)?.map(store::to_json))
}

async fn aggregate(store: Store, collection: String, pipeline_json: String) -> Result<Vec<String>, CapabilityError> {
    let mut pipeline = store::parse_pipeline(&pipeline_json).map_err(failed)?;
    let mut limit = Document::new();
    limit.insert("$limit", i64::from(MAX_DOCUMENTS));
    pipeline.push(limit);
    let docs = store.aggregate(&collection, pipeline).await.map_err(failed)?;
    Ok(docs.into_iter().map(store::to_json).collect())
}
