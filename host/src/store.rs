//! The document store behind the `store` capability and the watchdog:
//! read-only queries (count, find, latest, a small aggregate) in MongoDB's
//! query language, over two backends with one trait:
//!
//! - [`mongo::MongoStore`]: a MongoDB deployment through the official driver;
//! - [`snapshot::Snapshot`]: a directory of `mongoexport` files, read in
//!   process with the same operator semantics (see [`query`]).
//!
//! Collections are named `database.collection`.

pub mod aggregate;
pub mod antijoin;
pub mod mongo;
pub mod order;
pub mod pipeline;
pub mod query;
pub mod snapshot;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use mongodb::bson::Document;

pub use pipeline::FindQuery;

/// The store's answer.
pub type StoreResult<T> = Result<T, StoreError>;
/// A boxed future (the trait is used as `dyn`).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// Why a query failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// An operator or stage outside the supported subset.
    #[error(
        "unsupported operator {0} (supported: $eq $ne $gt $gte $lt $lte $in $nin $exists $not $and $or $nor; stages $match $group($sum $max $min) $sort $limit $count)"
    )]
    Unsupported(String),
    /// A malformed query.
    #[error("invalid query: {0}")]
    Invalid(String),
    /// The collection name is not `database.collection`.
    #[error("collection {0:?} must be named database.collection")]
    BadName(String),
    /// The backend failed (connection, file).
    #[error("{0}")]
    Backend(String),
    /// No answer in time.
    #[error("no answer within {}", humantime::format_duration(*.0))]
    Timeout(Duration),
}

/// A read-only document store.
pub trait DocumentStore: Send + Sync {
    /// What it is, for logs and status (never a credential).
    fn describe(&self) -> String;
    /// Count matching documents.
    fn count<'a>(&'a self, collection: &'a str, filter: Document) -> StoreFuture<'a, u64>;
    /// Find documents.
    fn find<'a>(&'a self, collection: &'a str, query: FindQuery) -> StoreFuture<'a, Vec<Document>>;
    /// The matching document with the greatest `field`.
    fn latest<'a>(
        &'a self,
        collection: &'a str,
        field: &'a str,
        filter: Document,
    ) -> StoreFuture<'a, Option<Document>> {
        Box::pin(async move {
            let mut sort = Document::new();
            sort.insert(field, -1);
            let mut exists = Document::new();
            exists.insert("$exists", true);
            let mut with_field = filter;
            if !with_field.contains_key(field) {
                with_field.insert(field, exists);
            }
            let query = FindQuery { filter: with_field, projection: None, sort: Some(sort), limit: 1 };
            Ok(self.find(collection, query).await?.into_iter().next())
        })
    }
    /// Run an aggregation pipeline of the supported stages.
    fn aggregate<'a>(&'a self, collection: &'a str, pipeline: Vec<Document>) -> StoreFuture<'a, Vec<Document>>;
    /// The distinct keys of one collection that no document of another has.
    fn missing_keys<'a>(&'a self, query: MissingKeys) -> StoreFuture<'a, MissingKeysAnswer>;
    /// The snapshot behind this store, if it is one (its indexes live in
    /// mongodump metadata files beside the data).
    fn snapshot(&self) -> Option<Arc<snapshot::Snapshot>> {
        None
    }
}

/// A shared store.
pub type Store = Arc<dyn DocumentStore>;

/// An anti-join: keys of `collection` (its documents matching `filter`)
/// that no document of `other` (matching `other_filter`) has.
#[derive(Debug, Clone)]
pub struct MissingKeys {
    /// The collection whose keys must each have a match.
    pub collection: String,
    /// Its key field.
    pub key_field: String,
    /// Which of its documents count.
    pub filter: Document,
    /// Where matches are looked for.
    pub other: String,
    /// Its key field.
    pub other_key_field: String,
    /// Which of its documents count as matches.
    pub other_filter: Document,
    /// Most missing keys to return.
    pub limit: usize,
}

/// What an anti-join found.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingKeysAnswer {
    /// Distinct keys of the collection.
    pub keys: u64,
    /// Of those, keys without a match.
    pub missing: u64,
    /// The first missing keys in key order, at most the query's limit.
    pub sample: Vec<mongodb::bson::Bson>,
}

/// Split `database.collection`.
pub fn split_name(name: &str) -> StoreResult<(&str, &str)> {
    match name.split_once('.') {
        Some((db, coll))
            if !db.is_empty() && !coll.is_empty() && !db.contains(['/', '\\']) && !coll.contains(['/', '\\']) =>
        {
            Ok((db, coll))
        }
        _ => Err(StoreError::BadName(name.to_owned())),
    }
}

/// Parse a filter, projection or stage given as (Extended) JSON text.
pub fn parse_document(json: &str, what: &str) -> StoreResult<Document> {
    if json.trim().is_empty() {
        return Ok(Document::new());
    }
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|err| StoreError::Invalid(format!("{what} is not JSON: {err}")))?;
    match mongodb::bson::Bson::try_from(value) {
        Ok(mongodb::bson::Bson::Document(doc)) => Ok(doc),
        Ok(_) => Err(StoreError::Invalid(format!("{what} must be a JSON object"))),
        Err(err) => Err(StoreError::Invalid(format!("{what}: {err}"))),
    }
}

/// Parse a pipeline given as a JSON array.
pub fn parse_pipeline(json: &str) -> StoreResult<Vec<Document>> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|err| StoreError::Invalid(format!("pipeline is not JSON: {err}")))?;
    let serde_json::Value::Array(stages) = value else {
        return Err(StoreError::Invalid("pipeline must be a JSON array".to_owned()));
    };
    stages.into_iter().map(|stage| parse_document(&stage.to_string(), "pipeline stage")).collect()
}

/// A document as relaxed Extended JSON text (what plugins receive).
pub fn to_json(doc: Document) -> String {
    mongodb::bson::Bson::Document(doc).into_relaxed_extjson().to_string()
}
