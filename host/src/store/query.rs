//! MongoDB's query language, the subset the `store` capability supports:
//! `$eq $ne $gt $gte $lt $lte $in $nin $exists $not` on fields (dotted paths
//! through sub-documents and arrays), and `$and $or $nor` on top. A filter is
//! compiled once; any other operator is an error that names it.
//!
//! Semantics follow MongoDB's: a condition on a field holding an array
//! matches when the array itself or any element matches; comparisons only
//! match values of the same type bracket (numbers with numbers, strings with
//! strings, dates with dates); `{ f: null }` matches a missing `f`, and
//! `$ne`/`$nin` match documents without the field.

use std::cmp::Ordering;

use mongodb::bson::{Bson, Document};

use super::StoreError;
use super::order::{compare, equal, rank};

/// A compiled filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// All must match.
    And(Vec<Filter>),
    /// One must match.
    Or(Vec<Filter>),
    /// None may match.
    Nor(Vec<Filter>),
    /// A condition on the values at a path.
    Field(Vec<String>, Condition),
}

/// A condition on one field.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `$eq` (and the implicit form `{ f: v }`).
    Eq(Bson),
    /// `$ne`.
    Ne(Bson),
    /// `$gt`, `$gte`, `$lt`, `$lte`: the orderings that satisfy it, and the operand.
    Cmp(&'static str, Bson),
    /// `$in`.
    In(InSet),
    /// `$nin`.
    Nin(InSet),
    /// `$exists`.
    Exists(bool),
    /// `$not`.
    Not(Box<Condition>),
    /// Several operators on one field: all must hold.
    All(Vec<Condition>),
}

impl Filter {
    /// Compile a filter document.
    pub fn compile(filter: &Document) -> Result<Self, StoreError> {
        let mut parts = Vec::with_capacity(filter.len());
        for (key, value) in filter {
            parts.push(match key.as_str() {
                "$and" | "$or" | "$nor" => {
                    let Bson::Array(items) = value else {
                        return Err(StoreError::Invalid(format!("{key} needs an array of filters")));
                    };
                    if items.is_empty() {
                        return Err(StoreError::Invalid(format!("{key} needs a non-empty array")));
                    }
                    let branches = items
                        .iter()
                        .map(|item| match item {
                            Bson::Document(doc) => Self::compile(doc),
                            _ => Err(StoreError::Invalid(format!("{key} entries must be filter documents"))),
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    match key.as_str() {
                        "$and" => Self::And(branches),
                        "$or" => Self::Or(branches),
                        _ => Self::Nor(branches),
                    }
                }
                operator if operator.starts_with('$') => return Err(StoreError::Unsupported(operator.to_owned())),
                path => Self::Field(path.split('.').map(str::to_owned).collect(), condition(value)?),
            });
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Self::And(parts) })
    }

    /// The top-level fields the filter reads (`a` for `a.b`), into `out`.
    pub fn top_fields(&self, out: &mut std::collections::BTreeSet<String>) {
        match self {
            Self::And(parts) | Self::Or(parts) | Self::Nor(parts) => parts.iter().for_each(|p| p.top_fields(out)),
            Self::Field(path, _) => {
                if let Some(first) = path.first() {
                    out.insert(first.clone());
                }
            }
        }
    }

    /// `{ field: value }` on one top-level field with a scalar value: the
    /// field and the value (a scan can then answer every value at once).
    pub fn single_equality(&self) -> Option<(&str, &Bson)> {
        match self {
            Self::Field(path, Condition::Eq(value))
                if path.len() == 1 && !matches!(value, Bson::Array(_) | Bson::Document(_) | Bson::Null) =>
            {
                Some((path[0].as_str(), value))
            }
            _ => None,
        }
    }

    /// Whether `doc` matches.
    pub fn matches(&self, doc: &Document) -> bool {
        match self {
            Self::And(parts) => parts.iter().all(|p| p.matches(doc)),
            Self::Or(parts) => parts.iter().any(|p| p.matches(doc)),
            Self::Nor(parts) => !parts.iter().any(|p| p.matches(doc)),
            Self::Field(path, condition) => {
                let mut values = Vec::new();
                resolve_in(doc, path, &mut values);
                condition.holds(&values)
            }
        }
    }
}

fn condition(value: &Bson) -> Result<Condition, StoreError> {
    let Bson::Document(doc) = value else {
        reject_regex(value)?;
        return Ok(Condition::Eq(value.clone()));
    };
    let operators = doc.keys().filter(|k| k.starts_with('$')).count();
    if operators == 0 {
        return Ok(Condition::Eq(value.clone()));
    }
    if operators != doc.len() {
        return Err(StoreError::Invalid("a field condition mixes operators and plain fields".to_owned()));
    }
    let mut all = Vec::with_capacity(doc.len());
    for (operator, operand) in doc {
        reject_regex(operand)?;
        all.push(match operator.as_str() {
            "$eq" => Condition::Eq(operand.clone()),
            "$ne" => Condition::Ne(operand.clone()),
            "$gt" => Condition::Cmp("$gt", operand.clone()),
            "$gte" => Condition::Cmp("$gte", operand.clone()),
            "$lt" => Condition::Cmp("$lt", operand.clone()),
            "$lte" => Condition::Cmp("$lte", operand.clone()),
            "$in" | "$nin" => {
                let Bson::Array(items) = operand else {
                    return Err(StoreError::Invalid(format!("{operator} needs an array")));
                };
                for item in items {
                    reject_regex(item)?;
                }
                let set = InSet::new(items);
                if operator == "$in" { Condition::In(set) } else { Condition::Nin(set) }
            }
            "$exists" => Condition::Exists(truthy(operand)),
            "$not" => match operand {
                Bson::Document(inner) if inner.keys().all(|k| k.starts_with('$')) && !inner.is_empty() => {
                    Condition::Not(Box::new(condition(operand)?))
                }
                _ => return Err(StoreError::Invalid("$not needs an operator document".to_owned())),
            },
            other => return Err(StoreError::Unsupported(other.to_owned())),
        });
    }
    Ok(if all.len() == 1 { all.remove(0) } else { Condition::All(all) })
}

fn reject_regex(value: &Bson) -> Result<(), StoreError> {
    match value {
        Bson::RegularExpression(_) => Err(StoreError::Unsupported("$regex".to_owned())),
        _ => Ok(()),
    }
}

fn truthy(value: &Bson) -> bool {
    match value {
        Bson::Boolean(b) => *b,
        Bson::Null | Bson::Undefined => false,
        other => super::order::number(other).is_none_or(|n| n != 0.0),
    }
}

/// Collect the values at `path` below `value`, walking into arrays of
/// sub-documents as MongoDB does (`a.b` over `a: [{b: 1}, {b: 2}]` gives 1
/// and 2; a numeric component also indexes an array).
pub fn resolve<'a>(value: &'a Bson, path: &[String], out: &mut Vec<&'a Bson>) {
    let Some((head, rest)) = path.split_first() else {
        out.push(value);
        return;
    };
    match value {
        Bson::Document(doc) => {
            if let Some(next) = doc.get(head) {
                resolve(next, rest, out);
            }
        }
        Bson::Array(items) => {
            if let Ok(index) = head.parse::<usize>()
                && let Some(item) = items.get(index)
            {
                resolve(item, rest, out);
            }
            for item in items {
                if let Bson::Document(_) = item {
                    resolve(item, path, out);
                }
            }
        }
        _ => {}
    }
}

/// Resolve a path from a document (the usual entry point).
pub fn resolve_in<'a>(doc: &'a Document, path: &[String], out: &mut Vec<&'a Bson>) {
    let Some((head, rest)) = path.split_first() else { return };
    if let Some(value) = doc.get(head) {
        resolve(value, rest, out);
    }
}

impl Condition {
    fn holds(&self, values: &[&Bson]) -> bool {
        match self {
            Self::Eq(operand) => eq(values, operand),
            Self::Ne(operand) => !eq(values, operand),
            // `$gte`/`$lte` null mean "null or missing", like `$eq` null.
            Self::Cmp("$gte" | "$lte", Bson::Null) => eq(values, &Bson::Null),
            Self::Cmp(_, Bson::Null) => false,
            Self::Cmp(operator, operand) => values.iter().any(|v| candidates(v).any(|c| cmp(operator, c, operand))),
            Self::In(set) => set.holds(values),
            Self::Nin(set) => !set.holds(values),
            Self::Exists(wanted) => values.is_empty() != *wanted,
            Self::Not(inner) => !inner.holds(values),
            Self::All(all) => all.iter().all(|c| c.holds(values)),
        }
    }
}

/// The operand of `$in`/`$nin`: strings in a hash set (a watchdog asks for
/// hundreds of keys at once), everything else compared one by one.
#[derive(Debug, Clone, PartialEq)]
pub struct InSet {
    strings: std::collections::HashSet<String>,
    others: Vec<Bson>,
}

impl InSet {
    fn new(items: &[Bson]) -> Self {
        let mut set = Self { strings: std::collections::HashSet::new(), others: Vec::new() };
        for item in items {
            match item {
                Bson::String(text) => {
                    set.strings.insert(text.clone());
                }
                other => set.others.push(other.clone()),
            }
        }
        set
    }

    fn holds(&self, values: &[&Bson]) -> bool {
        let strings = !self.strings.is_empty()
            && values.iter().any(|v| {
                candidates(v)
                    .any(|c| matches!(c, Bson::String(text) | Bson::Symbol(text) if self.strings.contains(text)))
            });
        strings || self.others.iter().any(|item| eq(values, item))
    }
}

/// A value and, for an array, each of its elements.
fn candidates<'a>(value: &'a Bson) -> Box<dyn Iterator<Item = &'a Bson> + 'a> {
    match value {
        Bson::Array(items) => Box::new(std::iter::once(value).chain(items.iter())),
        _ => Box::new(std::iter::once(value)),
    }
}

fn eq(values: &[&Bson], operand: &Bson) -> bool {
    if matches!(operand, Bson::Null) {
        return values.is_empty()
            || values.iter().any(|v| candidates(v).any(|c| matches!(c, Bson::Null | Bson::Undefined)));
    }
    values.iter().any(|v| candidates(v).any(|c| equal(c, operand)))
}

fn cmp(operator: &str, value: &Bson, operand: &Bson) -> bool {
    if rank(value) != rank(operand) {
        return false;
    }
    let order = compare(value, operand);
    match operator {
        "$gt" => order == Ordering::Greater,
        "$gte" => order != Ordering::Less,
        "$lt" => order == Ordering::Less,
        _ => order != Ordering::Greater,
    }
}
