//! `find` over documents in memory, for the snapshot backend: filter, sort
//! (keys computed once, a bounded top-k when there is a limit), projection.
//! The aggregation subset is in [`super::aggregate`].

use std::borrow::Cow;
use std::cmp::Ordering;

use mongodb::bson::{Bson, Document};

use super::StoreError;
use super::order::{compare, number};
use super::query::{Filter, resolve_in};

/// A sort specification: paths and directions (1 or -1).
#[derive(Debug, Clone, PartialEq)]
pub struct Sort(Vec<(Vec<String>, bool)>);

impl Sort {
    /// Compile `{ field: 1 | -1, ... }`.
    pub fn compile(spec: &Document) -> Result<Self, StoreError> {
        let mut keys = Vec::with_capacity(spec.len());
        for (path, direction) in spec {
            let ascending = match number(direction) {
                Some(1.0) => true,
                Some(-1.0) => false,
                _ => return Err(StoreError::Invalid(format!("sort direction of {path:?} must be 1 or -1"))),
            };
            keys.push((path.split('.').map(str::to_owned).collect(), ascending));
        }
        Ok(Self(keys))
    }

    /// The values a document sorts by. An array field sorts by its smallest
    /// element ascending and its largest descending; a missing field as null.
    pub fn keys(&self, doc: &Document) -> Vec<Bson> {
        self.0.iter().map(|(path, ascending)| sort_key(doc, path, *ascending)).collect()
    }

    /// Order two documents by their [`Sort::keys`].
    pub fn order_keys(&self, a: &[Bson], b: &[Bson]) -> Ordering {
        for ((x, y), (_, ascending)) in a.iter().zip(b).zip(&self.0) {
            let order = compare(x, y);
            let order = if *ascending { order } else { order.reverse() };
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    }

    /// Sort `docs` (stable), computing each document's keys once.
    pub fn sort(&self, docs: Vec<Document>) -> Vec<Document> {
        let mut keyed: Vec<(Vec<Bson>, Document)> = docs.into_iter().map(|d| (self.keys(&d), d)).collect();
        keyed.sort_by(|a, b| self.order_keys(&a.0, &b.0));
        keyed.into_iter().map(|(_, d)| d).collect()
    }
}

/// The first `limit` documents in `sort` order, kept while streaming: the
/// buffer is cut back to `limit` whenever it doubles, so memory stays
/// O(limit) and time O(n log limit).
struct TopK<'s> {
    sort: &'s Sort,
    limit: usize,
    kept: Vec<(Vec<Bson>, Document)>,
}

impl<'s> TopK<'s> {
    fn new(sort: &'s Sort, limit: usize) -> Self {
        Self { sort, limit, kept: Vec::new() }
    }

    fn push(&mut self, doc: Document) {
        self.kept.push((self.sort.keys(&doc), doc));
        if self.limit != usize::MAX && self.kept.len() >= (2 * self.limit).max(1024) {
            self.cut();
        }
    }

    fn cut(&mut self) {
        let sort = self.sort;
        self.kept.sort_by(|a, b| sort.order_keys(&a.0, &b.0));
        self.kept.truncate(self.limit);
    }

    fn finish(mut self) -> Vec<Document> {
        self.cut();
        self.kept.into_iter().map(|(_, d)| d).collect()
    }
}

fn sort_key(doc: &Document, path: &[String], ascending: bool) -> Bson {
    let mut values = Vec::new();
    resolve_in(doc, path, &mut values);
    let flat = values.into_iter().flat_map(|v| match v {
        Bson::Array(items) if !items.is_empty() => items.iter().collect::<Vec<_>>(),
        other => vec![other],
    });
    let pick = if ascending { flat.min_by(|a, b| compare(a, b)) } else { flat.max_by(|a, b| compare(a, b)) };
    pick.cloned().unwrap_or(Bson::Null)
}

/// A projection: which fields to keep (or drop).
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    include: bool,
    paths: Vec<Vec<String>>,
    keep_id: bool,
}

impl Projection {
    /// Compile `{ a: 1, b.c: 1 }` or `{ a: 0 }` (`_id` may be excluded from an inclusion).
    pub fn compile(spec: &Document) -> Result<Self, StoreError> {
        let mut include = None;
        let mut keep_id = true;
        let mut paths = Vec::new();
        for (path, flag) in spec {
            let on = match flag {
                Bson::Boolean(b) => *b,
                other => number(other).map(|n| n != 0.0).ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "projection of {path:?} must be 0 or 1 (expressions are not supported)"
                    ))
                })?,
            };
            if path == "_id" {
                keep_id = on;
                continue;
            }
            if include.is_some_and(|mode| mode != on) {
                return Err(StoreError::Invalid("a projection cannot both include and exclude fields".to_owned()));
            }
            include = Some(on);
            paths.push(path.split('.').map(str::to_owned).collect());
        }
        Ok(Self { include: include.unwrap_or(false), paths, keep_id })
    }

    /// Apply to one document.
    pub fn apply(&self, doc: &Document) -> Document {
        let mut out = if self.include { Document::new() } else { doc.clone() };
        if self.include {
            if self.keep_id
                && let Some(id) = doc.get("_id")
            {
                out.insert("_id", id.clone());
            }
            for path in &self.paths {
                copy_path(doc, &mut out, path);
            }
        } else {
            for path in &self.paths {
                remove_path(&mut out, path);
            }
            if !self.keep_id {
                out.remove("_id");
            }
        }
        out
    }
}

fn copy_path(from: &Document, to: &mut Document, path: &[String]) {
    let Some((head, rest)) = path.split_first() else { return };
    let Some(value) = from.get(head) else { return };
    match (value, rest.is_empty()) {
        (_, true) => {
            to.insert(head.clone(), value.clone());
        }
        (Bson::Document(inner), false) => {
            let mut child = match to.get(head) {
                Some(Bson::Document(existing)) => existing.clone(),
                _ => Document::new(),
            };
            copy_path(inner, &mut child, rest);
            to.insert(head.clone(), child);
        }
        _ => {}
    }
}

fn remove_path(doc: &mut Document, path: &[String]) {
    match path {
        [] => {}
        [last] => {
            doc.remove(last);
        }
        [head, rest @ ..] => {
            if let Some(Bson::Document(inner)) = doc.get_mut(head) {
                remove_path(inner, rest);
            }
        }
    }
}

/// A `find`.
#[derive(Debug, Clone, Default)]
pub struct FindQuery {
    /// The filter.
    pub filter: Document,
    /// Fields to keep or drop.
    pub projection: Option<Document>,
    /// Order.
    pub sort: Option<Document>,
    /// At most this many documents (0: no limit; the capability caps it).
    pub limit: u32,
}

/// A find compiled once, fed documents one at a time (so a collection can
/// be streamed from its file), and finished into its answer.
pub struct Finder {
    filter: Filter,
    sort: Option<Sort>,
    projection: Option<Projection>,
    limit: usize,
}

impl Finder {
    /// Compile `query`.
    pub fn new(query: &FindQuery) -> Result<Self, StoreError> {
        Ok(Self {
            filter: Filter::compile(&query.filter)?,
            sort: query.sort.as_ref().map(Sort::compile).transpose()?,
            projection: query.projection.as_ref().map(Projection::compile).transpose()?,
            limit: if query.limit == 0 { usize::MAX } else { query.limit as usize },
        })
    }

    /// Consider every document of `docs` (borrowed from a cache or owned
    /// from a stream; only matches are copied).
    pub fn run<'a>(self, docs: impl Iterator<Item = Cow<'a, Document>>) -> Vec<Document> {
        let matching = docs.filter(|d| self.filter.matches(d)).map(Cow::into_owned);
        let hits: Vec<Document> = match &self.sort {
            None => matching.take(self.limit).collect(),
            Some(sort) => {
                let mut top = TopK::new(sort, self.limit);
                for doc in matching {
                    top.push(doc);
                }
                top.finish()
            }
        };
        match &self.projection {
            Some(projection) => hits.iter().map(|d| projection.apply(d)).collect(),
            None => hits,
        }
    }
}

/// Run a find over `docs`.
pub fn find<'a>(docs: impl Iterator<Item = &'a Document>, query: &FindQuery) -> Result<Vec<Document>, StoreError> {
    Ok(Finder::new(query)?.run(docs.map(Cow::Borrowed)))
}
