//! The snapshot backend: a directory of `mongoexport` files, one per
//! collection, at `DIR/<database>/<collection>.json` (or
//! `DIR/<database>.<collection>.json`). Each file holds one Extended JSON
//! document per line (`mongoexport`'s default) or one JSON array
//! (`--jsonArray`). A collection without a file is empty, as in MongoDB.
//!
//! Files up to [`CACHE_LIMIT`] are parsed once and kept in memory until they
//! change (size, modification time, inode). Larger exports are streamed,
//! parsing only the top-level fields a query reads ([`projected`]), and the
//! answers of `count`, `latest` and `missing-keys` are kept per file version
//! ([`memo`]): a rule evaluated again over an unchanged export costs a
//! lookup. Queries run on a blocking thread.

mod memo;
mod prefilter;
mod projected;
mod queries;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use mongodb::bson::{Bson, Document};

use super::{StoreError, StoreFuture, StoreResult, split_name};

/// A file version: size, modification time, inode.
pub type Stamp = (u64, Option<SystemTime>, u64);

/// A collection's file and its version, or `None` when it has no file.
pub type Version = Option<(PathBuf, Stamp)>;

/// Export files up to this size are parsed once and kept in memory.
pub const CACHE_LIMIT: u64 = 32 * 1024 * 1024;
/// Parsed collections by file, with the file version they were parsed from.
type Cache = HashMap<PathBuf, (Stamp, Arc<Vec<Document>>)>;

/// A snapshot directory.
pub struct Snapshot {
    dir: PathBuf,
    cache: Mutex<Cache>,
    memo: memo::Memo,
    /// Files larger than this are streamed ([`CACHE_LIMIT`]).
    stream_above: u64,
}

impl Snapshot {
    /// Open `dir` (it must exist).
    pub fn open(dir: &Path) -> StoreResult<Self> {
        if !dir.is_dir() {
            return Err(StoreError::Backend(format!("snapshot directory {} does not exist", dir.display())));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            cache: Mutex::new(HashMap::new()),
            memo: memo::Memo::default(),
            stream_above: CACHE_LIMIT,
        })
    }

    /// Open `dir`, streaming files larger than `bytes` rather than the
    /// default [`CACHE_LIMIT`] (tests run the streamed path on small files).
    pub fn open_streaming_above(dir: &Path, bytes: u64) -> StoreResult<Self> {
        Ok(Self { stream_above: bytes, ..Self::open(dir)? })
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

    /// The current version of `collection`'s file.
    pub fn version(&self, collection: &str) -> StoreResult<Version> {
        let Some(path) = self.file(collection)? else { return Ok(None) };
        let meta = std::fs::metadata(&path).map_err(|err| io_error(&path, &err))?;
        Ok(Some((path, stamp_of(&meta))))
    }

    /// Run `consume` over every document of `collection`. Files up to
    /// [`CACHE_LIMIT`] bytes are parsed once (per file version) and kept;
    /// larger ones are streamed, parsed line by line, on every query, so
    /// memory stays bounded by the answer, not the export.
    pub fn scan<T>(
        &self,
        collection: &str,
        consume: impl FnOnce(&mut dyn Iterator<Item = Cow<'_, Document>>) -> T,
    ) -> StoreResult<T> {
        self.scan_fields(collection, None, consume)
    }

    /// [`Snapshot::scan`], where a streamed (large) export is parsed for the
    /// top-level `fields` only (`None`: whole documents).
    pub fn scan_fields<T>(
        &self,
        collection: &str,
        fields: Option<&std::collections::BTreeSet<String>>,
        consume: impl FnOnce(&mut dyn Iterator<Item = Cow<'_, Document>>) -> T,
    ) -> StoreResult<T> {
        self.scan_matching(collection, fields, None, consume)
    }

    /// [`Snapshot::scan_fields`] for a consumer that keeps only documents
    /// matching `filter`: a streamed line that cannot match it is not parsed,
    /// and stands as an empty document (which does not match it either), so
    /// positions stay those of the file.
    pub fn scan_matching<T>(
        &self,
        collection: &str,
        fields: Option<&std::collections::BTreeSet<String>>,
        filter: Option<&Document>,
        consume: impl FnOnce(&mut dyn Iterator<Item = Cow<'_, Document>>) -> T,
    ) -> StoreResult<T> {
        let Some(path) = self.file(collection)? else { return Ok(consume(&mut std::iter::empty())) };
        let meta = std::fs::metadata(&path).map_err(|err| io_error(&path, &err))?;
        if meta.len() > self.stream_above {
            let mut lines = Lines::open(&path)?;
            lines.fields = fields.cloned();
            lines.prefilter = filter.and_then(prefilter::Prefilter::of);
            let answer = consume(&mut lines.by_ref().map(Cow::Owned));
            return match lines.error {
                Some(err) => Err(err),
                None => Ok(answer),
            };
        }
        let stamp = stamp_of(&meta);
        let cached = self.cache.lock().unwrap_or_else(PoisonError::into_inner).get(&path).cloned();
        let docs = match cached {
            Some((cached, docs)) if cached == stamp => docs,
            _ => {
                let docs = Arc::new(read_export(&path)?);
                self.cache.lock().unwrap_or_else(PoisonError::into_inner).insert(path, (stamp, Arc::clone(&docs)));
                docs
            }
        };
        Ok(consume(&mut docs.iter().map(Cow::Borrowed)))
    }

    /// Whole documents of `collection` at the given positions (in file
    /// order, as [`Snapshot::scan`] yields them): a large export is read
    /// again and only those lines are parsed.
    pub fn documents_at(
        &self,
        collection: &str,
        positions: &std::collections::BTreeSet<usize>,
    ) -> StoreResult<HashMap<usize, Document>> {
        let Some(path) = self.file(collection)? else { return Ok(HashMap::new()) };
        let meta = std::fs::metadata(&path).map_err(|err| io_error(&path, &err))?;
        if meta.len() <= self.stream_above {
            return self.scan(collection, |docs| {
                docs.enumerate().filter(|(i, _)| positions.contains(i)).map(|(i, d)| (i, d.into_owned())).collect()
            });
        }
        let mut lines = Lines::open(&path)?;
        let mut found = HashMap::new();
        let mut position = 0usize;
        let Some(&last) = positions.last() else { return Ok(found) };
        while position <= last {
            lines.line.clear();
            lines.number += 1;
            match lines.reader.read_line(&mut lines.line) {
                Ok(0) => break,
                Err(err) => return Err(io_error(&path, &err)),
                Ok(_) if lines.line.trim().is_empty() => continue,
                Ok(_) => {
                    if positions.contains(&position) {
                        found.insert(position, parse_line(&lines.line, &path, lines.number)?);
                    }
                    position += 1;
                }
            }
        }
        Ok(found)
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

fn stamp_of(meta: &std::fs::Metadata) -> Stamp {
    use std::os::unix::fs::MetadataExt as _;
    (meta.len(), meta.modified().ok(), meta.ino())
}

fn io_error(path: &Path, err: &std::io::Error) -> StoreError {
    StoreError::Backend(format!("{}: {err}", path.display()))
}

/// Line-delimited export documents, parsed as they are read. The first
/// error ends the stream and is kept in `error`.
struct Lines {
    reader: BufReader<std::fs::File>,
    path: PathBuf,
    line: String,
    number: usize,
    error: Option<StoreError>,
    /// Parse these top-level fields only (`None`: all).
    fields: Option<std::collections::BTreeSet<String>>,
    /// Lines it rules out are not parsed: each stands as an empty document.
    prefilter: Option<prefilter::Prefilter>,
}

impl Lines {
    fn open(path: &Path) -> StoreResult<Self> {
        let file = std::fs::File::open(path).map_err(|err| io_error(path, &err))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let first =
            reader.fill_buf().map_err(|err| io_error(path, &err))?.iter().find(|b| !b.is_ascii_whitespace()).copied();
        let error = (first == Some(b'[')).then(|| {
            StoreError::Backend(format!(
                "{}: a --jsonArray export larger than {} MiB; export one document per line",
                path.display(),
                CACHE_LIMIT >> 20
            ))
        });
        Ok(Self {
            reader,
            path: path.to_path_buf(),
            line: String::new(),
            number: 0,
            error,
            fields: None,
            prefilter: None,
        })
    }
}

impl Iterator for Lines {
    type Item = Document;

    fn next(&mut self) -> Option<Document> {
        while self.error.is_none() {
            self.line.clear();
            self.number += 1;
            match self.reader.read_line(&mut self.line) {
                Ok(0) => return None,
                Err(err) => self.error = Some(io_error(&self.path, &err)),
                Ok(_) if self.line.trim().is_empty() => {}
                // A line that cannot match is skipped unparsed, if it at
                // least looks whole (a truncated line is parsed, and fails).
                Ok(_)
                    if self.prefilter.as_ref().is_some_and(|p| !p.may_match(self.line.as_bytes()))
                        && looks_whole(&self.line) =>
                {
                    return Some(Document::new());
                }
                Ok(_) => match match &self.fields {
                    Some(fields) => projected::parse_line(&self.line, fields, &self.path, self.number),
                    None => parse_line(&self.line, &self.path, self.number),
                } {
                    Ok(doc) => return Some(doc),
                    Err(err) => self.error = Some(err),
                },
            }
        }
        None
    }
}

/// Whether an export line is one object as far as its ends show.
fn looks_whole(line: &str) -> bool {
    let line = line.trim();
    line.starts_with('{') && line.ends_with('}')
}

/// One Extended JSON document, deserialized straight into BSON (bson's
/// visitor reads `$oid`, `$date`, `$numberLong`...; no `serde_json::Value`
/// in between, which halves the parse time of large exports).
fn parse_line(line: &str, path: &Path, number: usize) -> StoreResult<Document> {
    match serde_json::from_str::<Bson>(line) {
        Ok(Bson::Document(doc)) => Ok(doc),
        Ok(_) => Err(StoreError::Backend(format!("{}:{number}: not a JSON object", path.display()))),
        Err(err) => Err(StoreError::Backend(format!("{}:{number}: not Extended JSON: {err}", path.display()))),
    }
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
    drop(reader);
    let mut lines = Lines::open(path)?;
    let docs: Vec<Document> = lines.by_ref().collect();
    lines.error.map_or(Ok(docs), Err)
}

fn document(value: serde_json::Value, path: &Path, line: usize) -> StoreResult<Document> {
    match Bson::try_from(value) {
        Ok(Bson::Document(doc)) => Ok(doc),
        Ok(_) => Err(StoreError::Backend(format!("{}:{line}: not a JSON object", path.display()))),
        Err(err) => Err(StoreError::Backend(format!("{}:{line}: bad Extended JSON: {err}", path.display()))),
    }
}

pub use queries::SnapshotStore;

#[cfg(test)]
mod tests {
    #[test]
    fn direct_parsing_reads_extended_json_like_the_value_route() {
        let line = r#"{"_id":{"$oid":"650200000000000000000001"},"n":{"$numberLong":"20"},"d":{"$date":"2026-11-28T06:00:00.000Z"},"d2":{"$date":{"$numberLong":"1000"}},"x":2.5,"i":3,"s":"a","a":[1,{"b":null}]}"#;
        let direct: mongodb::bson::Bson = serde_json::from_str(line).unwrap();
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let via = mongodb::bson::Bson::try_from(value).unwrap();
        assert_eq!(direct, via, "{direct:?}");
    }
}
