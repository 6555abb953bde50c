//! Where indexes are read and created: a MongoDB deployment (`listIndexes`,
//! `createIndexes`, `dropIndexes` through the official driver) or a snapshot
//! directory, whose indexes are mongodump's `<collection>.metadata.json`
//! files and whose `createIndexes` fails on duplicate keys in the exported
//! documents exactly as MongoDB would (error 11000), so plans and duplicate
//! reports can be seen offline.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use mongodb::bson::{Bson, Document, doc};

use super::model::IndexModel;
use crate::store::snapshot::Snapshot;
use crate::store::split_name;

/// A boxed future (the trait is used as `dyn`).
pub type IndexFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, IndexError>> + Send + 'a>>;

/// MongoDB's duplicate key error.
pub const DUPLICATE_KEY: i32 = 11000;
/// MongoDB's IndexOptionsConflict.
pub const INDEX_OPTIONS_CONFLICT: i32 = 85;
/// MongoDB's IndexKeySpecsConflict.
pub const INDEX_KEY_SPECS_CONFLICT: i32 = 86;

/// An index operation that failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndexError {
    /// The server refused the command.
    #[error("{code_name} ({code}): {message}")]
    Command {
        /// MongoDB's error code.
        code: i32,
        /// Its name.
        code_name: String,
        /// The server's message.
        message: String,
    },
    /// The backend failed otherwise.
    #[error("{0}")]
    Backend(String),
}

/// Reads and changes indexes.
pub trait IndexBackend: Send + Sync {
    /// The indexes of `collection` (none when it does not exist).
    fn list<'a>(&'a self, collection: &'a str) -> IndexFuture<'a, Vec<IndexModel>>;
    /// Create one index.
    fn create<'a>(&'a self, index: &'a IndexModel) -> IndexFuture<'a, ()>;
    /// Drop one index by name.
    fn drop_index<'a>(&'a self, collection: &'a str, name: &'a str) -> IndexFuture<'a, ()>;
}

/// A MongoDB deployment.
pub struct MongoIndexes {
    client: mongodb::Client,
    timeout: Duration,
}

impl MongoIndexes {
    /// Use `client`, each command under `timeout`.
    pub fn new(client: mongodb::Client, timeout: Duration) -> Self {
        Self { client, timeout }
    }

    async fn command(&self, collection: &str, command: Document) -> Result<Document, IndexError> {
        let (db, _) = split_name(collection).map_err(|e| IndexError::Backend(e.to_string()))?;
        match tokio::time::timeout(self.timeout, self.client.database(db).run_command(command)).await {
            Err(_) => Err(IndexError::Backend(format!(
                "mongodb: no answer within {}",
                humantime::format_duration(self.timeout)
            ))),
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(err)) => Err(match err.kind.as_ref() {
                mongodb::error::ErrorKind::Command(command) => IndexError::Command {
                    code: command.code,
                    code_name: command.code_name.clone(),
                    message: command.message.clone(),
                },
                _ => IndexError::Backend(format!("mongodb: {}", crate::capabilities::mongo::kind(&err))),
            }),
        }
    }
}

impl IndexBackend for MongoIndexes {
    fn list<'a>(&'a self, collection: &'a str) -> IndexFuture<'a, Vec<IndexModel>> {
        Box::pin(async move {
            let (_, coll) = split_name(collection).map_err(|e| IndexError::Backend(e.to_string()))?;
            let reply = match self.command(collection, doc! { "listIndexes": coll }).await {
                Err(IndexError::Command { code: 26, .. }) => return Ok(Vec::new()), // NamespaceNotFound
                other => other?,
            };
            let batch = reply
                .get_document("cursor")
                .and_then(|c| c.get_array("firstBatch"))
                .map_err(|_| IndexError::Backend("mongodb: listIndexes reply without cursor.firstBatch".to_owned()))?;
            Ok(batch
                .iter()
                .filter_map(|entry| match entry {
                    Bson::Document(entry) => IndexModel::from_listing(collection, entry),
                    _ => None,
                })
                .collect())
        })
    }

    fn create<'a>(&'a self, index: &'a IndexModel) -> IndexFuture<'a, ()> {
        Box::pin(async move {
            let (_, coll) = split_name(&index.collection).map_err(|e| IndexError::Backend(e.to_string()))?;
            let command = doc! { "createIndexes": coll, "indexes": [index.to_command()] };
            self.command(&index.collection, command).await.map(drop)
        })
    }

    fn drop_index<'a>(&'a self, collection: &'a str, name: &'a str) -> IndexFuture<'a, ()> {
        Box::pin(async move {
            let (_, coll) = split_name(collection).map_err(|e| IndexError::Backend(e.to_string()))?;
            self.command(collection, doc! { "dropIndexes": coll, "index": name }).await.map(drop)
        })
    }
}

/// A snapshot directory's mongodump metadata.
pub struct SnapshotIndexes {
    snapshot: Arc<Snapshot>,
}

impl SnapshotIndexes {
    /// Indexes of the snapshot at `snapshot`.
    pub fn new(snapshot: Arc<Snapshot>) -> Self {
        Self { snapshot }
    }

    fn metadata_path(&self, collection: &str) -> Result<PathBuf, IndexError> {
        let (db, coll) = split_name(collection).map_err(|e| IndexError::Backend(e.to_string()))?;
        Ok(self.snapshot.dir().join(db).join(format!("{coll}.metadata.json")))
    }

    fn read(&self, collection: &str) -> Result<(Document, Vec<Document>), IndexError> {
        let path = self.metadata_path(collection)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let exists = self.snapshot.file(collection).map_err(|e| IndexError::Backend(e.to_string()))?.is_some();
                // A collection without metadata has only its _id index, like any MongoDB collection.
                let id = doc! { "v": 2, "key": { "_id": 1 }, "name": "_id_" };
                return Ok((Document::new(), if exists { vec![id] } else { Vec::new() }));
            }
            Err(err) => return Err(IndexError::Backend(format!("{}: {err}", path.display()))),
        };
        let metadata = crate::store::parse_document(&text, &path.display().to_string())
            .map_err(|e| IndexError::Backend(format!("{}: {e}", path.display())))?;
        let indexes = metadata
            .get_array("indexes")
            .map(|list| list.iter().filter_map(|i| i.as_document().cloned()).collect())
            .unwrap_or_default();
        Ok((metadata, indexes))
    }

    fn write(&self, collection: &str, mut metadata: Document, indexes: Vec<Document>) -> Result<(), IndexError> {
        let path = self.metadata_path(collection)?;
        metadata.insert("indexes", indexes.into_iter().map(Bson::Document).collect::<Vec<_>>());
        let text = Bson::Document(metadata).into_relaxed_extjson().to_string();
        let temp = path.with_extension("json.tmp");
        std::fs::write(&temp, text)
            .and_then(|()| std::fs::rename(&temp, &path))
            .map_err(|err| IndexError::Backend(format!("{}: {err}", path.display())))
    }

    fn conflict(code: i32, code_name: &str, message: String) -> IndexError {
        IndexError::Command { code, code_name: code_name.to_owned(), message }
    }

    fn create_blocking(&self, index: &IndexModel) -> Result<(), IndexError> {
        let (metadata, mut indexes) = self.read(&index.collection)?;
        for existing in indexes.iter().filter_map(|e| IndexModel::from_listing(&index.collection, e)) {
            let same_keys = existing.same_keys(index);
            if existing.name == index.name {
                if !same_keys {
                    let message = format!(
                        "An existing index has the same name as the requested index but different keys: {}",
                        index.name
                    );
                    return Err(Self::conflict(INDEX_KEY_SPECS_CONFLICT, "IndexKeySpecsConflict", message));
                }
                if index.option_differences(&existing).is_empty() {
                    return Ok(());
                }
                let message = format!("Index with name: {} already exists with different options", index.name);
                return Err(Self::conflict(INDEX_OPTIONS_CONFLICT, "IndexOptionsConflict", message));
            }
            if same_keys && index.option_differences(&existing).is_empty() {
                let message = format!("Index already exists with a different name: {}", existing.name);
                return Err(Self::conflict(INDEX_OPTIONS_CONFLICT, "IndexOptionsConflict", message));
            }
        }
        if index.unique {
            let fields: Vec<String> = index.key.keys().cloned().collect();
            let mut seen = std::collections::HashSet::new();
            let duplicate = self
                .snapshot
                .scan(&index.collection, |docs| {
                    docs.map(|d| super::key_values(&d, &fields)).find(|key| !seen.insert(key.to_string()))
                })
                .map_err(|e| IndexError::Backend(e.to_string()))?;
            if let Some(key) = duplicate {
                let message = format!(
                    "E11000 duplicate key error collection: {} index: {} dup key: {key}",
                    index.collection, index.name
                );
                return Err(Self::conflict(DUPLICATE_KEY, "DuplicateKey", message));
            }
        }
        let mut entry = index.to_command();
        entry.insert("v", 2);
        indexes.push(entry);
        self.write(&index.collection, metadata, indexes)
    }
}

impl IndexBackend for SnapshotIndexes {
    fn list<'a>(&'a self, collection: &'a str) -> IndexFuture<'a, Vec<IndexModel>> {
        Box::pin(async move {
            let (_, indexes) = self.read(collection)?;
            Ok(indexes.iter().filter_map(|e| IndexModel::from_listing(collection, e)).collect())
        })
    }

    fn create<'a>(&'a self, index: &'a IndexModel) -> IndexFuture<'a, ()> {
        Box::pin(async move { self.create_blocking(index) })
    }

    fn drop_index<'a>(&'a self, collection: &'a str, name: &'a str) -> IndexFuture<'a, ()> {
        Box::pin(async move {
            let (metadata, indexes) = self.read(collection)?;
            let before = indexes.len();
            let kept: Vec<Document> = indexes.into_iter().filter(|e| e.get_str("name").ok() != Some(name)).collect();
            if kept.len() == before {
                return Err(Self::conflict(27, "IndexNotFound", format!("index not found with name [{name}]")));
            }
            self.write(collection, metadata, kept)
        })
    }
}
