//! The anti-join behind `missing-keys`, in process (the snapshot backend):
//! the keys of the other collection are hashed into a set (64-bit hashes of
//! their canonical form, so a million keys cost a few tens of MiB), then the
//! collection's documents are streamed once: a distinct key whose hash is
//! not in the set is missing, and the smallest few are kept as a sample.
//!
//! Keys compare as MongoDB groups them (`order::group_key`: numbers by
//! value, whatever their BSON type); a document without the key field, or
//! with `null` there, has no key.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

use mongodb::bson::{Bson, Document};

use super::order::{compare, group_key};
use super::query::{Filter, resolve_in};
use super::{MissingKeysAnswer, StoreError};

/// Hashes of keys (already hashed: no second hashing).
pub type KeyHashes = HashSet<u64, BuildHasherDefault<IdentityHasher>>;

/// Key hashes by the value of a grouping field (its canonical form).
pub type GroupedKeys = HashMap<String, KeyHashes>;

/// A `Hasher` that passes a `u64` through.
#[derive(Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// A dotted path as its parts.
pub fn path(field: &str) -> Vec<String> {
    field.split('.').map(str::to_owned).collect()
}

/// The key of `doc` at `path`, if it has one.
pub fn key_of<'a>(doc: &'a Document, path: &[String]) -> Option<&'a Bson> {
    let mut values = Vec::new();
    resolve_in(doc, path, &mut values);
    values.into_iter().find(|v| !matches!(v, Bson::Null))
}

/// The 64-bit hash of a key's canonical form.
pub fn key_hash(key: &Bson) -> u64 {
    let mut hasher = DefaultHasher::new();
    match key {
        // The common case, without building the canonical text.
        Bson::String(text) => {
            0u8.hash(&mut hasher);
            text.hash(&mut hasher);
        }
        other => {
            1u8.hash(&mut hasher);
            group_key(other).hash(&mut hasher);
        }
    }
    hasher.finish()
}

/// The key hashes of the documents `filter` matches.
pub fn hash_keys<'a>(docs: &mut dyn Iterator<Item = Cow<'a, Document>>, filter: &Filter, key: &[String]) -> KeyHashes {
    let mut set = KeyHashes::default();
    for doc in docs.filter(|d| filter.matches(d)) {
        if let Some(value) = key_of(&doc, key) {
            set.insert(key_hash(value));
        }
    }
    set
}

/// The key hashes of every document, by the value of `group` (each element
/// of an array counts, as `{ group: v }` matches arrays holding `v`).
pub fn hash_keys_by<'a>(docs: &mut dyn Iterator<Item = Cow<'a, Document>>, group: &str, key: &[String]) -> GroupedKeys {
    let mut groups = GroupedKeys::new();
    for doc in docs {
        let (Some(value), Some(group_value)) = (key_of(&doc, key), doc.get(group)) else { continue };
        let hash = key_hash(value);
        let mut add = |g: &Bson| {
            groups.entry(group_key(g)).or_default().insert(hash);
        };
        add(group_value);
        if let Bson::Array(items) = group_value {
            items.iter().for_each(&mut add);
        }
    }
    groups
}

/// Stream the collection's matching documents against `present`: distinct
/// keys, missing ones, and the `limit` smallest missing keys.
pub fn missing<'a>(
    docs: &mut dyn Iterator<Item = Cow<'a, Document>>,
    filter: &Filter,
    key: &[String],
    present: &KeyHashes,
    limit: usize,
) -> Result<MissingKeysAnswer, StoreError> {
    let mut seen = KeyHashes::default();
    let mut missing = 0u64;
    let mut sample: Vec<Bson> = Vec::new();
    for doc in docs.filter(|d| filter.matches(d)) {
        let Some(value) = key_of(&doc, key) else { continue };
        let hash = key_hash(value);
        if !seen.insert(hash) || present.contains(&hash) {
            continue;
        }
        missing += 1;
        if limit > 0 {
            sample.push(value.clone());
            if sample.len() >= limit * 4 {
                sample.sort_by(compare);
                sample.truncate(limit);
            }
        }
    }
    sample.sort_by(compare);
    sample.truncate(limit);
    Ok(MissingKeysAnswer { keys: seen.len() as u64, missing, sample })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    fn docs(items: &[Document]) -> impl Iterator<Item = Cow<'_, Document>> {
        items.iter().map(Cow::Borrowed)
    }

    #[test]
    fn keys_without_a_match_are_missing_however_many() {
        let findings = [
            doc! { "k": "a" },
            doc! { "k": "b" },
            doc! { "k": "b" },
            doc! { "k": "c", "kind": "x" },
            doc! { "k": 5_i32 },
            doc! { "other": 1 },
            doc! { "k": null },
        ];
        let occurrences = [
            doc! { "key": "a", "module": "m" },
            doc! { "key": 5.0, "module": ["m", "n"] },
            doc! { "key": "c", "module": "n" },
        ];
        let grouped = hash_keys_by(&mut docs(&occurrences), "module", &path("key"));
        let present = &grouped[&group_key(&Bson::String("m".into()))];
        let all = Filter::compile(&doc! {}).expect("filter");
        let answer = missing(&mut docs(&findings), &all, &path("k"), present, 10).expect("answer");
        // a and 5 (as 5.0) are there; b and c are not (c only for module n).
        assert_eq!(answer.keys, 4);
        assert_eq!(answer.missing, 2);
        assert_eq!(answer.sample, [Bson::String("b".into()), Bson::String("c".into())]);
        let plain = Filter::compile(&doc! { "module": "n" }).expect("filter");
        let n = hash_keys(&mut docs(&occurrences), &plain, &path("key"));
        assert_eq!(n, grouped[&group_key(&Bson::String("n".into()))]);
        let one = missing(&mut docs(&findings), &all, &path("k"), &n, 1).expect("answer");
        assert_eq!((one.missing, one.sample.len()), (2, 1));
    }
}
