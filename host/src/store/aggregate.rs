//! The aggregation subset (`$match`, `$group` with `$sum`/`$max`/`$min`,
//! `$sort`, `$limit`, `$count`) over documents in memory. Stages are
//! compiled (and so validated) first; the MongoDB backend validates with the
//! same code before sending, so both backends accept the same pipelines.

use std::borrow::Cow;

use mongodb::bson::{Bson, Document};

use super::StoreError;
use super::order::{compare, number};
use super::pipeline::Sort;
use super::query::{Filter, resolve_in};

/// An accumulator of `$group`.
#[derive(Debug, Clone, PartialEq)]
enum Accumulator {
    Sum(Expr),
    Max(Expr),
    Min(Expr),
}

/// A `$group` expression: a field path (`"$a.b"`), a literal, or a document of them.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Path(Vec<String>),
    Literal(Bson),
    Object(Vec<(String, Expr)>),
}

impl Expr {
    fn compile(value: &Bson) -> Result<Self, StoreError> {
        Ok(match value {
            Bson::String(s) if s.starts_with("$$") => return Err(StoreError::Unsupported(s.clone())),
            Bson::String(s) if s.starts_with('$') => Self::Path(s[1..].split('.').map(str::to_owned).collect()),
            Bson::Document(doc) => {
                if let Some(op) = doc.keys().find(|k| k.starts_with('$')) {
                    return Err(StoreError::Unsupported(op.clone()));
                }
                Self::Object(doc.iter().map(|(k, v)| Ok((k.clone(), Self::compile(v)?))).collect::<Result<_, _>>()?)
            }
            other => Self::Literal(other.clone()),
        })
    }

    fn eval(&self, doc: &Document) -> Option<Bson> {
        match self {
            Self::Literal(value) => Some(value.clone()),
            Self::Path(path) => {
                let mut values = Vec::new();
                resolve_in(doc, path, &mut values);
                match values.len() {
                    0 => None,
                    1 => Some(values[0].clone()),
                    _ => Some(Bson::Array(values.into_iter().cloned().collect())),
                }
            }
            Self::Object(fields) => {
                let mut out = Document::new();
                for (key, expr) in fields {
                    if let Some(value) = expr.eval(doc) {
                        out.insert(key.clone(), value);
                    }
                }
                Some(Bson::Document(out))
            }
        }
    }
}

/// One compiled stage.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    Match(Filter),
    Group(Expr, Vec<(String, Accumulator)>),
    Sort(Sort),
    Limit(usize),
    Count(String),
}

/// A compiled, validated pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline(Vec<Stage>);

impl Pipeline {
    /// Compile; any stage, operator or accumulator outside the subset is an error naming it.
    pub fn compile(stages: &[Document]) -> Result<Self, StoreError> {
        let mut out = Vec::with_capacity(stages.len());
        for stage in stages {
            let mut entries = stage.iter();
            let (Some((name, spec)), None) = (entries.next(), entries.next()) else {
                return Err(StoreError::Invalid("each pipeline stage has exactly one key".to_owned()));
            };
            out.push(match (name.as_str(), spec) {
                ("$match", Bson::Document(filter)) => Stage::Match(Filter::compile(filter)?),
                ("$sort", Bson::Document(spec)) => Stage::Sort(Sort::compile(spec)?),
                ("$limit", n) => match number(n) {
                    Some(n) if n >= 1.0 && n.fract() == 0.0 => Stage::Limit(n as usize),
                    _ => return Err(StoreError::Invalid("$limit needs a positive integer".to_owned())),
                },
                ("$count", Bson::String(field)) if !field.is_empty() && !field.starts_with('$') => {
                    Stage::Count(field.clone())
                }
                ("$group", Bson::Document(spec)) => group(spec)?,
                ("$match" | "$sort" | "$count" | "$group", _) => {
                    return Err(StoreError::Invalid(format!("{name} has the wrong form")));
                }
                (other, _) => return Err(StoreError::Unsupported(other.to_owned())),
            });
        }
        Ok(Self(out))
    }

    /// Run over `docs` (a leading `$match` filters while they stream in).
    pub fn run<'a>(&self, docs: impl Iterator<Item = Cow<'a, Document>>) -> Vec<Document> {
        let mut stages = self.0.as_slice();
        let mut current: Vec<Document> = match stages.first() {
            Some(Stage::Match(filter)) => {
                stages = &stages[1..];
                docs.filter(|d| filter.matches(d)).map(Cow::into_owned).collect()
            }
            _ => docs.map(Cow::into_owned).collect(),
        };
        for stage in stages {
            current = match stage {
                Stage::Match(filter) => current.into_iter().filter(|d| filter.matches(d)).collect(),
                Stage::Sort(sort) => sort.sort(current),
                Stage::Limit(n) => current.into_iter().take(*n).collect(),
                Stage::Count(_) if current.is_empty() => Vec::new(),
                Stage::Count(field) => {
                    let mut out = Document::new();
                    out.insert(field.clone(), count_value(current.len()));
                    vec![out]
                }
                Stage::Group(id, accumulators) => run_group(&current, id, accumulators),
            };
        }
        current
    }
}

fn count_value(n: usize) -> Bson {
    i32::try_from(n).map_or_else(|_| Bson::Int64(n as i64), Bson::Int32)
}

fn group(spec: &Document) -> Result<Stage, StoreError> {
    let id = spec.get("_id").ok_or_else(|| StoreError::Invalid("$group needs an _id".to_owned()))?;
    let id = Expr::compile(id)?;
    let mut accumulators = Vec::new();
    for (field, acc) in spec.iter().filter(|(k, _)| *k != "_id") {
        let Bson::Document(acc) = acc else {
            return Err(StoreError::Invalid(format!("$group field {field:?} needs an accumulator")));
        };
        let mut entries = acc.iter();
        let (Some((op, arg)), None) = (entries.next(), entries.next()) else {
            return Err(StoreError::Invalid(format!("$group field {field:?} needs exactly one accumulator")));
        };
        let arg = Expr::compile(arg)?;
        accumulators.push((
            field.clone(),
            match op.as_str() {
                "$sum" => Accumulator::Sum(arg),
                "$max" => Accumulator::Max(arg),
                "$min" => Accumulator::Min(arg),
                other => return Err(StoreError::Unsupported(other.to_owned())),
            },
        ));
    }
    Ok(Stage::Group(id, accumulators))
}

fn run_group(docs: &[Document], id: &Expr, accumulators: &[(String, Accumulator)]) -> Vec<Document> {
    // Groups in first-seen order (MongoDB leaves the order unspecified).
    let mut keys: Vec<Bson> = Vec::new();
    let mut members: Vec<Vec<&Document>> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for doc in docs {
        let key = id.eval(doc).unwrap_or(Bson::Null);
        let fingerprint = super::order::group_key(&key);
        let slot = *index.entry(fingerprint).or_insert_with(|| {
            keys.push(key);
            members.push(Vec::new());
            keys.len() - 1
        });
        members[slot].push(doc);
    }
    keys.into_iter()
        .zip(members)
        .map(|(key, docs)| {
            let mut out = Document::new();
            out.insert("_id", key);
            for (field, acc) in accumulators {
                out.insert(field.clone(), accumulate(acc, &docs));
            }
            out
        })
        .collect()
}

fn accumulate(acc: &Accumulator, docs: &[&Document]) -> Bson {
    match acc {
        Accumulator::Sum(expr) => {
            let (mut int, mut float, mut is_float) = (0i64, 0f64, false);
            for value in docs.iter().filter_map(|d| expr.eval(d)) {
                match value {
                    Bson::Int32(n) => int = int.saturating_add(i64::from(n)),
                    Bson::Int64(n) => int = int.saturating_add(n),
                    Bson::Double(n) => {
                        float += n;
                        is_float = true;
                    }
                    _ => {}
                }
            }
            if is_float {
                Bson::Double(float + int as f64)
            } else {
                i32::try_from(int).map_or(Bson::Int64(int), Bson::Int32)
            }
        }
        Accumulator::Max(expr) | Accumulator::Min(expr) => {
            let values =
                docs.iter().filter_map(|d| expr.eval(d)).filter(|v| !matches!(v, Bson::Null | Bson::Undefined));
            let pick = if matches!(acc, Accumulator::Max(_)) { values.max_by(compare) } else { values.min_by(compare) };
            pick.unwrap_or(Bson::Null)
        }
    }
}
