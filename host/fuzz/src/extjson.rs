//! `mongoexport` files (MongoDB Extended JSON, one document per line or a
//! `--jsonArray`): reading never panics; the line reader and the array
//! reader accept and reject the same documents and read them to equal
//! values (numbers by value: the line reader takes `-5` as a long, the
//! array reader as an int, and the store compares, groups and hands both to
//! plugins alike); and a document read back from its canonical Extended JSON
//! is the same, type for type.

use std::io::Write;

use mongodb::bson::{Bson, Document};
use vigil_host::store::order::group_key;
use vigil_host::store::snapshot::read_export;

fn read(text: &str) -> Result<Vec<Document>, String> {
    let mut file = tempfile::NamedTempFile::new().map_err(|err| err.to_string())?;
    file.write_all(text.as_bytes()).map_err(|err| err.to_string())?;
    read_export(file.path()).map_err(|err| err.to_string())
}

fn canonical(doc: &Document) -> String {
    Bson::Document(doc.clone()).into_canonical_extjson().to_string()
}

/// The property.
pub fn check(data: &[u8]) {
    let Some(text) = super::text(data) else { return };
    // One document per line; a file that starts with `[` is an array export.
    let as_lines = read(text);
    let Ok(docs) = as_lines else { return };
    if text.trim_start().starts_with('[') {
        return;
    }
    assert_eq!(docs.len(), text.lines().filter(|l| !l.trim().is_empty()).count(), "a document was lost: {text:?}");
    let array = format!("[{}]", text.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join(","));
    match read(&array) {
        Ok(again) => {
            let by_value = |docs: &[Document]| -> Vec<String> {
                docs.iter().map(|d| group_key(&Bson::Document(d.clone()))).collect()
            };
            let (a, b) = (by_value(&docs), by_value(&again));
            assert_eq!(a, b, "line and array readers disagree on {text:?}");
        }
        Err(err) => panic!("the line reader accepted {text:?}, the array reader refused it: {err}"),
    }
    let round_trip: String = docs.iter().map(|d| canonical(d) + "\n").collect();
    let again = read(&round_trip).unwrap_or_else(|err| panic!("canonical form unreadable: {err}: {round_trip:?}"));
    assert_eq!(
        round_trip,
        again.iter().map(|d| canonical(d) + "\n").collect::<String>(),
        "round trip changed a document"
    );
}
