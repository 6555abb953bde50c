//! The store's filter language over arbitrary filters and documents (first
//! line the filter, each further line a document, all Extended JSON):
//! compiling never panics and names what it refuses; matching never panics;
//! `$nor: [f]` is exactly `not f`, `$and: [f]` and `$or: [f]` exactly `f`;
//! and the sort order is antisymmetric.

use std::cmp::Ordering;

use mongodb::bson::{Bson, Document, doc};
use vigil_host::store::order::compare;
use vigil_host::store::parse_document;
use vigil_host::store::query::Filter;

/// The property.
pub fn check(data: &[u8]) {
    let Some(text) = super::text(data) else { return };
    let mut lines = text.lines();
    let Some(filter) = lines.next() else { return };
    let docs: Vec<Document> = lines.filter_map(|line| parse_document(line, "document").ok()).take(16).collect();
    for a in &docs {
        for b in &docs {
            let (a, b) = (Bson::Document(a.clone()), Bson::Document(b.clone()));
            assert_eq!(compare(&a, &b), compare(&b, &a).reverse(), "order not antisymmetric: {a} vs {b}");
            if compare(&a, &b) == Ordering::Equal {
                assert_eq!(compare(&a, &a), Ordering::Equal);
            }
        }
    }
    let Ok(filter) = parse_document(filter, "filter") else { return };
    let Ok(compiled) = Filter::compile(&filter) else { return };
    let wrap = |op: &str| {
        Filter::compile(&doc! { op: [filter.clone()] })
            .unwrap_or_else(|err| panic!("{op} of an accepted filter refused: {err}: {filter}"))
    };
    let (nor, and, or) = (wrap("$nor"), wrap("$and"), wrap("$or"));
    for doc in &docs {
        let matched = compiled.matches(doc);
        assert_eq!(nor.matches(doc), !matched, "$nor disagrees with not: {filter} on {doc}");
        assert_eq!(and.matches(doc), matched, "$and of one disagrees: {filter} on {doc}");
        assert_eq!(or.matches(doc), matched, "$or of one disagrees: {filter} on {doc}");
    }
}
