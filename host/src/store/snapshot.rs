//! The snapshot backend: a directory of `mongoexport` files, one per
//! collection, at `DIR/<database>/<collection>.json` (or
//! `DIR/<database>.<collection>.json`). Each file holds one Extended JSON
//! document per line (`mongoexport`'s default) or one JSON array
//! (`--jsonArray`). A collection without a file is empty, as in MongoDB.
//!
//! Files are parsed once and kept in memory until they change (size or
//! modification time), so a daemon evaluating rules every few minutes pays
//! the parse once. Queries run on a blocking thread.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use mongodb::bson::{Bson, Document};

use super::pipeline::{self, FindQuery, Pipeline};
use super::query::Filter;
use super::{DocumentStore, StoreError, StoreFuture, StoreResult, split_name};

type Stamp = (u64, Option<SystemTime>);
/// Parsed collections by file, with the file version they were parsed from.
type Cache = HashMap<PathBuf, (Stamp, Arc<Vec<Document>>)>;

/// A snapshot directory.
pub struct Snapshot {
    dir: PathBuf,
    cache: Mutex<Cache>,
}

impl Snapshot {
    /// Open `dir` (it must exist).
    pub fn open(dir: &Path) -> StoreResult<Self> {
        if !dir.is_dir() {
            return Err(StoreError::Backend(format!("snapshot directory {} does not exist", dir.display())));
        }
        Ok(Self { dir: dir.to_path_buf(), cache: Mutex::new(HashMap::new()) })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `collection`, if there is one.
    pub fn file(&self, collection: &str) -> StoreResult<Option<PathBuf>> {
        let (db, coll) = split_name(collection)?;
        let nested = self.dir.join(db).join(format!("{coll}.json"));
        let flat = self.dir.join(format!("{db}.{coll}.json"));
        Ok([nested, flat].into_iter().find(|p| p.is_file()))
    }

    /// Every document of `collection` (parsed once per file version).
    pub fn documents(&self, collection: &str) -> StoreResult<Arc<Vec<Document>>> {
        let Some(path) = self.file(collection)? else { return Ok(Arc::new(Vec::new())) };
        let meta = std::fs::metadata(&path).map_err(|err| io_error(&path, &err))?;
        let stamp = (meta.len(), meta.modified().ok());
        if let Some((cached, docs)) = self.cache.lock().unwrap_or_else(PoisonError::into_inner).get(&path)
            && *cached == stamp
        {
            return Ok(Arc::clone(docs));
        }
        let docs = Arc::new(read_export(&path)?);
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).insert(path, (stamp, Arc::clone(&docs)));
        Ok(docs)
    }

    fn blocking<'a, T: Send + 'static>(
        self: &'a Arc<Self>,
        work: impl FnOnce(&Snapshot) -> StoreResult<T> + Send + 'static,
    ) -> StoreFuture<'a, T> {
        let this = Arc::clone(self);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || work(&this))
                .await
                .map_err(|err| StoreError::Backend(format!("snapshot query failed: {err}")))?
        })
    }
}

fn io_error(path: &Path, err: &std::io::Error) -> StoreError {
    StoreError::Backend(format!("{}: {err}", path.display()))
}

/// Read a `mongoexport` file: Extended JSON documents, one per line, or a JSON array.
pub fn read_export(path: &Path) -> StoreResult<Vec<Document>> {
    let file = std::fs::File::open(path).map_err(|err| io_error(path, &err))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let starts_with_array =
        reader.fill_buf().map_err(|err| io_error(path, &err))?.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if starts_with_array {
        let mut text = String::new();
        reader.read_to_string(&mut text).map_err(|err| io_error(path, &err))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|err| StoreError::Backend(format!("{}: not a JSON array: {err}", path.display())))?;
        let serde_json::Value::Array(items) = value else {
            return Err(StoreError::Backend(format!("{}: expected a JSON array", path.display())));
        };
        return items.into_iter().enumerate().map(|(i, item)| document(item, path, i + 1)).collect();
    }
    let mut docs = Vec::new();
    for (number, line) in reader.lines().enumerate() {
        let line = line.map_err(|err| io_error(path, &err))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line)
            .map_err(|err| StoreError::Backend(format!("{}:{}: not JSON: {err}", path.display(), number + 1)))?;
        docs.push(document(value, path, number + 1)?);
    }
    Ok(docs)
}

fn document(value: serde_json::Value, path: &Path, line: usize) -> StoreResult<Document> {
    match Bson::try_from(value) {
        Ok(Bson::Document(doc)) => Ok(doc),
        Ok(_) => Err(StoreError::Backend(format!("{}:{line}: not a JSON object", path.display()))),
        Err(err) => Err(StoreError::Backend(format!("{}:{line}: bad Extended JSON: {err}", path.display()))),
    }
}

/// The snapshot as a store.
pub struct SnapshotStore(pub Arc<Snapshot>);

impl DocumentStore for SnapshotStore {
    fn describe(&self) -> String {
        format!("snapshot {}", self.0.dir.display())
    }

    fn count<'a>(&'a self, collection: &'a str, filter: Document) -> StoreFuture<'a, u64> {
        let collection = collection.to_owned();
        self.0.blocking(move |snapshot| {
            let filter = Filter::compile(&filter)?;
            let docs = snapshot.documents(&collection)?;
            Ok(docs.iter().filter(|d| filter.matches(d)).count() as u64)
        })
    }

    fn find<'a>(&'a self, collection: &'a str, query: FindQuery) -> StoreFuture<'a, Vec<Document>> {
        let collection = collection.to_owned();
        self.0.blocking(move |snapshot| pipeline::find(snapshot.documents(&collection)?.iter(), &query))
    }

    fn aggregate<'a>(&'a self, collection: &'a str, stages: Vec<Document>) -> StoreFuture<'a, Vec<Document>> {
        let collection = collection.to_owned();
        self.0.blocking(move |snapshot| {
            let pipeline = Pipeline::compile(&stages)?;
            Ok(pipeline.run(snapshot.documents(&collection)?.iter()))
        })
    }
}
