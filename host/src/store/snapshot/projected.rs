//! Parsing an export line for a few top-level fields: the others are
//! skipped by the JSON reader without being built, which is what makes a
//! query over a large export cost its reading rather than its documents.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use mongodb::bson::{Bson, Document};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::store::{StoreError, StoreResult};

/// One Extended JSON document with only `fields` kept.
pub fn parse_line(line: &str, fields: &BTreeSet<String>, path: &Path, number: usize) -> StoreResult<Document> {
    let mut reader = serde_json::Deserializer::from_str(line);
    Only(fields)
        .deserialize(&mut reader)
        .and_then(|doc| reader.end().map(|()| doc))
        .map_err(|err| StoreError::Backend(format!("{}:{number}: not Extended JSON: {err}", path.display())))
}

/// A document of the named fields.
struct Only<'a>(&'a BTreeSet<String>);

impl<'de> DeserializeSeed<'de> for Only<'_> {
    type Value = Document;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Document, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Only<'_> {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut doc = Document::new();
        while let Some(key) = map.next_key_seed(Key)? {
            if self.0.contains(key.as_ref()) {
                doc.insert(key.into_owned(), map.next_value::<Bson>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(doc)
    }
}

/// A key, borrowed from the line when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_named_fields_are_kept_and_typed_as_a_full_parse_would() {
        let line = r#"{"_id":{"$oid":"650200000000000000000001"},"k":"a\"b","big":{"nested":[1,2,{"x":"y"}]},"d":{"$date":"2026-11-28T06:00:00.000Z"},"n":{"$numberLong":"20"}}"#;
        let fields: BTreeSet<String> = ["k", "d", "n"].into_iter().map(str::to_owned).collect();
        let doc = parse_line(line, &fields, Path::new("x.json"), 1).expect("parses");
        let full: Bson = serde_json::from_str(line).expect("full parse");
        let Bson::Document(full) = full else { panic!("a document") };
        assert_eq!(doc.keys().collect::<Vec<_>>(), ["k", "d", "n"]);
        for key in ["k", "d", "n"] {
            assert_eq!(doc.get(key), full.get(key), "{key}");
        }
        assert!(parse_line("{\"k\": 1} trailing", &fields, Path::new("x.json"), 7).is_err());
    }
}
