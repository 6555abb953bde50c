//! Lines of a streamed export that cannot match a filter, skipped unparsed.
//!
//! A document matching `{ status: "RUNNING" }` holds the JSON string
//! `"RUNNING"` somewhere on its line, as a value or inside an array,
//! unless the export escaped a character of it (`\u0026` for `&`, as
//! `mongoexport` does), and then the line holds a backslash. So a line
//! with no backslash and none of a string equality's values is skipped
//! without being parsed: one substring search instead of a parse, which is
//! most of a scan when few documents match (scan runs still `RUNNING`
//! among a million). Only equalities that a missing field fails are used:
//! a string `$eq` (or a bare string) and an `$in` of strings only, at the
//! top level or under `$and`; anything else narrows nothing.
//!
//! A skipped line is not parsed, so a malformed one goes unnoticed by that
//! query unless its ends show it (a line not `{...}`, truncated, is parsed
//! and reported); any query without a string equality still reads it.

use memchr::memmem::Finder;
use mongodb::bson::{Bson, Document};

/// Substrings a line must hold to be worth parsing.
pub struct Prefilter {
    /// Every group needs one of its needles on the line.
    groups: Vec<Vec<Finder<'static>>>,
}

impl Prefilter {
    /// The prefilter of `filter`, or `None` when it narrows nothing.
    pub fn of(filter: &Document) -> Option<Self> {
        let mut groups = Vec::new();
        collect(filter, &mut groups);
        (!groups.is_empty()).then_some(Self { groups })
    }

    /// Whether a document on `line` may match (if not, it does not).
    pub fn may_match(&self, line: &[u8]) -> bool {
        memchr::memchr(b'\\', line).is_some()
            || self.groups.iter().all(|group| group.iter().any(|needle| needle.find(line).is_some()))
    }
}

fn collect(filter: &Document, groups: &mut Vec<Vec<Finder<'static>>>) {
    for (key, condition) in filter {
        if key == "$and" {
            if let Bson::Array(clauses) = condition {
                for clause in clauses {
                    if let Bson::Document(clause) = clause {
                        collect(clause, groups);
                    }
                }
            }
            continue;
        }
        if key.starts_with('$') {
            continue;
        }
        match condition {
            Bson::String(value) => groups.push(vec![needle(value)]),
            Bson::Document(operators) => {
                for (operator, operand) in operators {
                    match (operator.as_str(), operand) {
                        ("$eq", Bson::String(value)) => groups.push(vec![needle(value)]),
                        ("$in", Bson::Array(values))
                            if !values.is_empty() && values.iter().all(|v| matches!(v, Bson::String(_))) =>
                        {
                            groups.push(values.iter().filter_map(|v| v.as_str()).map(needle).collect());
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

/// `value` as a JSON string, quotes included.
fn needle(value: &str) -> Finder<'static> {
    let quoted = serde_json::to_string(value).unwrap_or_else(|_| format!("\"{value}\""));
    Finder::new(quoted.as_bytes()).into_owned()
}

#[cfg(test)]
mod tests {
    use mongodb::bson::doc;

    use super::*;

    fn may(filter: Document, line: &str) -> bool {
        Prefilter::of(&filter).expect("narrows").may_match(line.as_bytes())
    }

    #[test]
    fn a_line_without_the_value_is_skipped() {
        let filter = doc! { "status": "RUNNING", "started_at": { "$lt": 5 } };
        assert!(may(filter.clone(), r#"{"status":"RUNNING","started_at":1}"#));
        assert!(may(filter.clone(), r#"{"tags":["RUNNING"],"status":"x"}"#), "anywhere on the line");
        assert!(!may(filter.clone(), r#"{"status":"COMPLETED","started_at":1}"#));
        assert!(!may(filter, r#"{"status":"RUNNING_LATE"}"#), "the whole string, quotes included");
    }

    #[test]
    fn escapes_on_the_line_make_it_parsed() {
        let filter = doc! { "owner": "R&D" };
        assert!(may(filter.clone(), r#"{"owner":"R\u0026D"}"#));
        assert!(!may(filter, r#"{"owner":"Sales"}"#));
        assert!(may(doc! { "q": "say \"hi\"" }, r#"{"q":"say \"hi\""}"#));
    }

    #[test]
    fn in_and_and_need_one_value_of_each_group() {
        let filter = doc! { "$and": [ { "m": { "$in": ["cspm", "k8s"] } }, { "s": { "$eq": "open" } } ] };
        assert!(may(filter.clone(), r#"{"m":"k8s","s":"open"}"#));
        assert!(!may(filter.clone(), r#"{"m":"k8s","s":"closed"}"#));
        assert!(!may(filter, r#"{"m":"aws","s":"open"}"#));
    }

    #[test]
    fn conditions_a_missing_field_can_pass_narrow_nothing() {
        for filter in [
            doc! { "s": { "$ne": "open" } },
            doc! { "s": { "$in": ["open", null] } },
            doc! { "s": 3 },
            doc! { "$or": [ { "s": "a" }, { "t": "b" } ] },
            doc! { "s": { "$nin": ["a"] } },
            doc! { "s": { "$not": { "$eq": "a" } } },
        ] {
            assert!(Prefilter::of(&filter).is_none(), "{filter}");
        }
    }
}
