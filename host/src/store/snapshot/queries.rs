//! The snapshot as a store: `count`, `latest` and `missing-keys` answered
//! once per file version (their answers are small), and so are `find` and
//! `aggregate` when their answers are (up to [`KEEP_AT_MOST`] documents),
//! with large exports parsed for the fields the query reads only. A filter
//! that is one equality on one field (`{ source_module: "cspm" }`) is
//! answered for every value of that field in the same scan, so a rule
//! asking per module scans once, not per module.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use mongodb::bson::{Bson, Document};

use super::Snapshot;
use crate::store::aggregate::Pipeline;
use crate::store::antijoin::{self, GroupedKeys, KeyHashes};
use crate::store::order::{compare, group_key};
use crate::store::pipeline::{FindQuery, Finder};
use crate::store::query::Filter;
use crate::store::{DocumentStore, MissingKeys, MissingKeysAnswer, StoreError, StoreFuture, StoreResult};

/// The snapshot as a store.
pub struct SnapshotStore(pub Arc<Snapshot>);

/// `find` and `aggregate` answers up to this many documents are kept per
/// file version; larger ones are computed again when asked again.
const KEEP_AT_MOST: usize = 1000;

/// Canonical text of a filter or value, for memo keys.
fn text(doc: &Document) -> String {
    Bson::Document(doc.clone()).into_canonical_extjson().to_string()
}

fn fields_of(filter: &Filter, more: &[&str]) -> BTreeSet<String> {
    let mut fields = BTreeSet::new();
    filter.top_fields(&mut fields);
    fields.extend(more.iter().map(|f| f.split('.').next().unwrap_or(f).to_owned()));
    fields
}

/// The top-level fields a find reads and returns, when its projection names
/// them (`{ a: 1, b: 1 }`); `None` when it returns whole documents.
fn find_fields(query: &FindQuery) -> StoreResult<Option<BTreeSet<String>>> {
    let Some(projection) = &query.projection else { return Ok(None) };
    let included = |value: &Bson| match value {
        Bson::Int32(n) => *n != 0,
        Bson::Int64(n) => *n != 0,
        Bson::Double(n) => *n != 0.0,
        Bson::Boolean(b) => *b,
        _ => false,
    };
    let projected: Vec<&str> =
        projection.iter().filter(|(k, v)| k.as_str() != "_id" && included(v)).map(|(k, _)| k.as_str()).collect();
    if projected.is_empty() {
        return Ok(None);
    }
    let mut more: Vec<&str> = projected;
    more.push("_id");
    if let Some(sort) = &query.sort {
        more.extend(sort.keys().map(String::as_str));
    }
    Ok(Some(fields_of(&Filter::compile(&query.filter)?, &more)))
}

/// For each value of `group` (canonical), the greatest `field` and the
/// document that holds it.
type LatestBy = HashMap<String, (Bson, Document)>;

impl Snapshot {
    /// Key hashes of `collection`'s documents matching `filter`, once per file version.
    fn key_hashes(&self, collection: &str, key: &str, filter: &Document) -> StoreResult<Arc<KeyHashes>> {
        let compiled = Filter::compile(filter)?;
        if let Some((group, value)) = compiled.single_equality() {
            let grouped = self.key_hashes_by(collection, key, group)?;
            return Ok(Arc::new(grouped.get(&group_key(value)).cloned().unwrap_or_default()));
        }
        let query = format!("keys|{collection}|{key}|{}", text(filter));
        self.memo.get_or_compute(query, vec![self.version(collection)?], || {
            let fields = fields_of(&compiled, &[key]);
            self.scan_fields(collection, Some(&fields), |docs| {
                antijoin::hash_keys(docs, &compiled, &antijoin::path(key))
            })
        })
    }

    /// Key hashes by every value of `group`, in one scan per file version.
    fn key_hashes_by(&self, collection: &str, key: &str, group: &str) -> StoreResult<Arc<GroupedKeys>> {
        let query = format!("keys-by|{collection}|{key}|{group}");
        self.memo.get_or_compute(query, vec![self.version(collection)?], || {
            let fields = fields_of(&Filter::And(Vec::new()), &[key, group]);
            self.scan_fields(collection, Some(&fields), |docs| {
                antijoin::hash_keys_by(docs, group, &antijoin::path(key))
            })
        })
    }

    /// The answer to a `missing-keys` query, once per pair of file versions.
    fn missing_keys(&self, query: &MissingKeys) -> StoreResult<Arc<MissingKeysAnswer>> {
        let versions = vec![self.version(&query.collection)?, self.version(&query.other)?];
        let memo = format!(
            "missing|{}|{}|{}|{}|{}|{}|{}",
            query.collection,
            query.key_field,
            text(&query.filter),
            query.other,
            query.other_key_field,
            text(&query.other_filter),
            query.limit
        );
        self.memo.get_or_compute(memo, versions, || {
            let present = self.key_hashes(&query.other, &query.other_key_field, &query.other_filter)?;
            let filter = Filter::compile(&query.filter)?;
            let fields = fields_of(&filter, &[&query.key_field]);
            let key = antijoin::path(&query.key_field);
            self.scan_fields(&query.collection, Some(&fields), |docs| {
                antijoin::missing(docs, &filter, &key, &present, query.limit)
            })?
        })
    }

    /// The greatest `field` of the documents with each value of `group`:
    /// one pass over the two fields finds the winners' positions, and only
    /// their lines are parsed whole (`latest` answers with the document).
    fn latest_by(&self, collection: &str, field: &str, group: &str) -> StoreResult<Arc<LatestBy>> {
        let query = format!("latest-by|{collection}|{field}|{group}");
        self.memo.get_or_compute(query, vec![self.version(collection)?], || {
            let path = antijoin::path(field);
            let fields = fields_of(&Filter::And(Vec::new()), &[field, group]);
            let winners = self.scan_fields(collection, Some(&fields), |docs| {
                let mut best: HashMap<String, (Bson, usize)> = HashMap::new();
                for (position, doc) in docs.enumerate() {
                    let (Some(value), Some(group_value)) = (antijoin::key_of(&doc, &path), doc.get(group)) else {
                        continue;
                    };
                    let mut groups = vec![group_key(group_value)];
                    if let Bson::Array(items) = group_value {
                        groups.extend(items.iter().map(group_key));
                    }
                    for name in groups {
                        if best.get(&name).is_none_or(|(kept, _)| compare(value, kept).is_gt()) {
                            best.insert(name, (value.clone(), position));
                        }
                    }
                }
                best
            })?;
            let positions: BTreeSet<usize> = winners.values().map(|(_, p)| *p).collect();
            let documents = self.documents_at(collection, &positions)?;
            Ok(winners
                .into_iter()
                .filter_map(|(name, (value, position))| {
                    let doc = documents.get(&position).cloned()?;
                    Some((name, (value, doc)))
                })
                .collect())
        })
    }
}

impl DocumentStore for SnapshotStore {
    fn snapshot(&self) -> Option<Arc<Snapshot>> {
        Some(Arc::clone(&self.0))
    }

    fn describe(&self) -> String {
        format!("snapshot {}", self.0.dir.display())
    }

    fn count<'a>(&'a self, collection: &'a str, filter: Document) -> StoreFuture<'a, u64> {
        let collection = collection.to_owned();
        self.0.blocking(move |snapshot| {
            let compiled = Filter::compile(&filter)?;
            let query = format!("count|{collection}|{}", text(&filter));
            let counted = snapshot.memo.get_or_compute(query, vec![snapshot.version(&collection)?], || {
                let fields = fields_of(&compiled, &[]);
                snapshot.scan_matching(&collection, Some(&fields), Some(&filter), |docs| {
                    docs.filter(|d| compiled.matches(d)).count() as u64
                })
            })?;
            Ok(*counted)
        })
    }

    fn find<'a>(&'a self, collection: &'a str, query: FindQuery) -> StoreFuture<'a, Vec<Document>> {
        let collection = collection.to_owned();
        self.0.blocking(move |snapshot| {
            let fields = find_fields(&query)?;
            let finder = Finder::new(&query)?;
            let key = format!(
                "find|{collection}|{}|{}|{}|{}",
                text(&query.filter),
                query.projection.as_ref().map(text).unwrap_or_default(),
                query.sort.as_ref().map(text).unwrap_or_default(),
                query.limit
            );
            let found = snapshot.memo.get_or_compute_keeping(
                key,
                vec![snapshot.version(&collection)?],
                || snapshot.scan_matching(&collection, fields.as_ref(), Some(&query.filter), |docs| finder.run(docs)),
                |found| found.len() <= KEEP_AT_MOST,
            )?;
            Ok(found.as_ref().clone())
        })
    }

    fn latest<'a>(
        &'a self,
        collection: &'a str,
        field: &'a str,
        filter: Document,
    ) -> StoreFuture<'a, Option<Document>> {
        let (collection, field) = (collection.to_owned(), field.to_owned());
        self.0.blocking(move |snapshot| {
            let compiled = Filter::compile(&filter)?;
            if let Some((group, value)) = compiled.single_equality() {
                let best = snapshot.latest_by(&collection, &field, group)?;
                return Ok(best.get(&group_key(value)).map(|(_, doc)| doc.clone()));
            }
            let query = format!("latest|{collection}|{field}|{}", text(&filter));
            let found = snapshot.memo.get_or_compute(query, vec![snapshot.version(&collection)?], || {
                let mut sort = Document::new();
                sort.insert(field.as_str(), -1);
                let mut with_field = filter.clone();
                if !with_field.contains_key(&field) {
                    with_field.insert(field.as_str(), mongodb::bson::doc! { "$exists": true });
                }
                let finder =
                    Finder::new(&FindQuery { filter: with_field, projection: None, sort: Some(sort), limit: 1 })?;
                Ok::<_, StoreError>(snapshot.scan(&collection, |docs| finder.run(docs))?.into_iter().next())
            })?;
            Ok(found.as_ref().clone())
        })
    }

    fn aggregate<'a>(&'a self, collection: &'a str, stages: Vec<Document>) -> StoreFuture<'a, Vec<Document>> {
        let collection = collection.to_owned();
        self.0.blocking(move |snapshot| {
            let pipeline = Pipeline::compile(&stages)?;
            let key = format!("aggregate|{collection}|{}", stages.iter().map(text).collect::<Vec<_>>().join("|"));
            let found = snapshot.memo.get_or_compute_keeping(
                key,
                vec![snapshot.version(&collection)?],
                || snapshot.scan(&collection, |docs| pipeline.run(docs)),
                |found| found.len() <= KEEP_AT_MOST,
            )?;
            Ok(found.as_ref().clone())
        })
    }

    fn missing_keys<'a>(&'a self, query: MissingKeys) -> StoreFuture<'a, MissingKeysAnswer> {
        self.0.blocking(move |snapshot| Ok(snapshot.missing_keys(&query)?.as_ref().clone()))
    }
}
