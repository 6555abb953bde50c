//! One index as Vigil compares it: collection, name, ordered key pattern and
//! the options that change behaviour (unique, sparse, partial filter, TTL,
//! collation). Built from a profile's spec or from a `listIndexes` entry.

use mongodb::bson::{Bson, Document};
use serde::Serialize;

use crate::runtime::bindings::types::{IndexKeyKind, IndexSpec};
use crate::store::order::equal;

/// An index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexModel {
    /// `database.collection`.
    pub collection: String,
    /// Index name.
    pub name: String,
    /// Key pattern, in order (`{ "team_id": 1, "risk_score": -1 }`).
    #[serde(serialize_with = "as_json")]
    pub key: Document,
    /// Unique.
    pub unique: bool,
    /// Sparse.
    pub sparse: bool,
    /// Partial filter expression.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_as_json")]
    pub partial_filter: Option<Document>,
    /// TTL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_after_seconds: Option<i64>,
    /// Collation.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_as_json")]
    pub collation: Option<Document>,
}

fn as_json<S: serde::Serializer>(doc: &Document, serializer: S) -> Result<S::Ok, S::Error> {
    Bson::Document(doc.clone()).into_relaxed_extjson().serialize(serializer)
}

fn opt_as_json<S: serde::Serializer>(doc: &Option<Document>, serializer: S) -> Result<S::Ok, S::Error> {
    match doc {
        Some(doc) => as_json(doc, serializer),
        None => serializer.serialize_none(),
    }
}

fn parse_json(text: &str, what: &str) -> Result<Document, String> {
    crate::store::parse_document(text, what).map_err(|err| err.to_string())
}

fn flag(doc: &Document, key: &str) -> bool {
    match doc.get(key) {
        Some(Bson::Boolean(b)) => *b,
        Some(other) => crate::store::order::number(other).is_some_and(|n| n != 0.0),
        None => false,
    }
}

impl IndexModel {
    /// From a profile plugin's spec. `default_db` completes a bare collection name.
    pub fn from_spec(spec: &IndexSpec, default_db: &str) -> Result<Self, String> {
        if spec.name.is_empty() || spec.keys.is_empty() {
            return Err(format!("index {:?} on {}: needs a name and at least one key", spec.name, spec.collection));
        }
        let collection = if spec.collection.contains('.') {
            spec.collection.clone()
        } else {
            format!("{default_db}.{}", spec.collection)
        };
        let mut key = Document::new();
        for k in &spec.keys {
            let direction = match k.kind {
                IndexKeyKind::Ascending => Bson::Int32(1),
                IndexKeyKind::Descending => Bson::Int32(-1),
                IndexKeyKind::Text => Bson::String("text".to_owned()),
                IndexKeyKind::Hashed => Bson::String("hashed".to_owned()),
            };
            key.insert(k.field.clone(), direction);
        }
        let options = &spec.options;
        Ok(Self {
            collection,
            name: spec.name.clone(),
            key,
            unique: options.unique,
            sparse: options.sparse,
            partial_filter: options
                .partial_filter_json
                .as_deref()
                .map(|j| parse_json(j, "partial filter"))
                .transpose()?,
            expire_after_seconds: options.expire_after_seconds.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
            collation: options.collation_json.as_deref().map(|j| parse_json(j, "collation")).transpose()?,
        })
    }

    /// From one `listIndexes` entry (or a mongodump metadata entry).
    pub fn from_listing(collection: &str, entry: &Document) -> Option<Self> {
        Some(Self {
            collection: collection.to_owned(),
            name: entry.get_str("name").ok()?.to_owned(),
            key: entry.get_document("key").ok()?.clone(),
            unique: flag(entry, "unique"),
            sparse: flag(entry, "sparse"),
            partial_filter: entry.get_document("partialFilterExpression").ok().cloned(),
            expire_after_seconds: entry
                .get("expireAfterSeconds")
                .and_then(crate::store::order::number)
                .map(|n| n as i64),
            collation: entry.get_document("collation").ok().cloned(),
        })
    }

    /// The entry of a `createIndexes` command.
    pub fn to_command(&self) -> Document {
        let mut out = Document::new();
        out.insert("key", self.key.clone());
        out.insert("name", self.name.clone());
        if self.unique {
            out.insert("unique", true);
        }
        if self.sparse {
            out.insert("sparse", true);
        }
        if let Some(filter) = &self.partial_filter {
            out.insert("partialFilterExpression", filter.clone());
        }
        if let Some(ttl) = self.expire_after_seconds {
            out.insert("expireAfterSeconds", ttl);
        }
        if let Some(collation) = &self.collation {
            out.insert("collation", collation.clone());
        }
        out
    }

    /// Same fields in the same order with the same directions (1 equals 1.0).
    pub fn same_keys(&self, other: &Self) -> bool {
        self.key.len() == other.key.len()
            && self.key.iter().zip(other.key.iter()).all(|((a, x), (b, y))| a == b && equal(x, y))
    }

    /// Options that differ, named.
    pub fn option_differences(&self, actual: &Self) -> Vec<String> {
        let mut out = Vec::new();
        let mut differ = |name: &str, want: String, have: String| {
            if want != have {
                out.push(format!("{name}: wanted {want}, found {have}"));
            }
        };
        differ("unique", self.unique.to_string(), actual.unique.to_string());
        differ("sparse", self.sparse.to_string(), actual.sparse.to_string());
        let text = |d: &Option<Document>| d.as_ref().map_or("none".to_owned(), ToString::to_string);
        differ("partialFilterExpression", text(&self.partial_filter), text(&actual.partial_filter));
        let ttl = |t: Option<i64>| t.map_or("none".to_owned(), |t| t.to_string());
        differ("expireAfterSeconds", ttl(self.expire_after_seconds), ttl(actual.expire_after_seconds));
        // MongoDB fills in collation defaults; compare only what the profile sets.
        if let Some(want) = &self.collation {
            let have = actual.collation.clone().unwrap_or_default();
            let matches = want.iter().all(|(k, v)| have.get(k).is_some_and(|h| equal(h, v)));
            if !matches {
                out.push(format!("collation: wanted {want}, found {}", text(&actual.collation)));
            }
        }
        out
    }
}
