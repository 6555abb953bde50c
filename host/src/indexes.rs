//! The index manager: what index-profile plugins want against what exists.
//!
//! A plan gives each wanted index a state: `ok`, `missing`, or `conflict`
//! (same name with other keys or options, or the same keys under another
//! name); indexes on managed collections that no profile wants are
//! `unmanaged` (reported, dropped only with `--prune`). Apply creates what is
//! missing, recreates conflicts only with `--replace`, never drops without
//! `--prune`, and when a unique index cannot be built because of duplicate
//! keys, reports how many and a sample (found with an aggregate) and carries
//! on with the rest.

pub mod backend;
pub mod model;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use mongodb::bson::{Bson, Document, doc};
use serde::Serialize;

pub use backend::{IndexBackend, IndexError};
pub use model::IndexModel;

use crate::manifest::PluginKind;
use crate::runtime::Plugin;
use crate::store::Store;

/// Duplicate keys shown in a report.
const DUPLICATE_SAMPLE: usize = 5;

/// The state of one index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Exists as wanted.
    Ok,
    /// Wanted, absent.
    Missing,
    /// Wanted, but differs from what exists.
    Conflict,
    /// Exists, wanted by no profile.
    Unmanaged,
}

impl State {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Missing => "missing",
            Self::Conflict => "conflict",
            Self::Unmanaged => "unmanaged",
        }
    }
}

/// One line of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// `database.collection`.
    pub collection: String,
    /// Index name.
    pub name: String,
    /// Its state.
    pub state: State,
    /// The profile that wants it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// What differs, for conflicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The wanted index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wanted: Option<IndexModel>,
    /// The existing one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<IndexModel>,
}

/// A plan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// Every wanted and unmanaged index.
    pub entries: Vec<Entry>,
    /// Profiles that want different indexes under one name.
    pub profile_conflicts: Vec<String>,
    /// Collections that could not be read, profiles that failed.
    pub errors: Vec<String>,
}

impl Plan {
    /// Every wanted index exists as wanted, and nothing failed.
    pub fn clean(&self) -> bool {
        self.errors.is_empty()
            && self.profile_conflicts.is_empty()
            && self.entries.iter().all(|e| matches!(e.state, State::Ok | State::Unmanaged))
    }

    /// Entries by state.
    pub fn count(&self, state: State) -> usize {
        self.entries.iter().filter(|e| e.state == state).count()
    }
}

/// The values of `fields` in `doc`, as one document (the index key).
pub fn key_values(doc: &Document, fields: &[String]) -> Document {
    let mut key = Document::new();
    for field in fields {
        let path: Vec<String> = field.split('.').map(str::to_owned).collect();
        let mut values = Vec::new();
        crate::store::query::resolve_in(doc, &path, &mut values);
        key.insert(field.clone(), values.first().map_or(Bson::Null, |v| (*v).clone()));
    }
    key
}

/// Ask every index-profile plugin for its indexes.
pub async fn wanted(plugins: &[Arc<Plugin>], default_db: &str) -> (Vec<(String, IndexModel)>, Vec<String>) {
    let mut wanted = Vec::new();
    let mut errors = Vec::new();
    for plugin in plugins.iter().filter(|p| p.kind() == PluginKind::IndexProfile) {
        match plugin.indexes().await {
            Ok(specs) => {
                for spec in specs {
                    match IndexModel::from_spec(&spec, default_db) {
                        Ok(model) => wanted.push((plugin.name().to_owned(), model)),
                        Err(err) => errors.push(format!("index profile {}: {err}", plugin.name())),
                    }
                }
            }
            Err(fault) => errors.push(format!("index profile {}: indexes() failed: {fault}", plugin.name())),
        }
    }
    (wanted, errors)
}

/// Compare `wanted` with what `backend` has.
pub async fn plan(wanted: Vec<(String, IndexModel)>, backend: &dyn IndexBackend) -> Plan {
    let mut plan = Plan::default();
    // One spec per (collection, name); different specs under one name conflict.
    let mut chosen: BTreeMap<(String, String), (String, IndexModel)> = BTreeMap::new();
    for (profile, model) in wanted {
        let key = (model.collection.clone(), model.name.clone());
        match chosen.get(&key) {
            Some((other, existing)) if existing != &model => plan.profile_conflicts.push(format!(
                "profiles {other} and {profile} want different indexes named {} on {}",
                model.name, model.collection
            )),
            Some(_) => {}
            None => {
                chosen.insert(key, (profile, model));
            }
        }
    }
    let collections: BTreeSet<String> = chosen.keys().map(|(c, _)| c.clone()).collect();
    for collection in collections {
        let actual = match backend.list(&collection).await {
            Ok(actual) => actual,
            Err(err) => {
                plan.errors.push(format!("{collection}: cannot list indexes: {err}"));
                continue;
            }
        };
        let mut claimed = BTreeSet::new();
        for ((_, name), (profile, want)) in chosen.iter().filter(|((c, _), _)| *c == collection) {
            let by_name = actual.iter().find(|a| a.name == *name);
            let by_keys = actual.iter().find(|a| a.name != *name && a.same_keys(want));
            let (state, detail, found) = match (by_name, by_keys) {
                (Some(found), _) if !found.same_keys(want) => (
                    State::Conflict,
                    Some(format!("keys differ: wanted {}, found {}", want.key, found.key)),
                    Some(found),
                ),
                (Some(found), _) => match want.option_differences(found) {
                    differences if differences.is_empty() => (State::Ok, None, Some(found)),
                    differences => (State::Conflict, Some(differences.join("; ")), Some(found)),
                },
                (None, Some(found)) => {
                    (State::Conflict, Some(format!("the same keys exist as index {}", found.name)), Some(found))
                }
                (None, None) => (State::Missing, None, None),
            };
            if let Some(found) = found {
                claimed.insert(found.name.clone());
            }
            plan.entries.push(Entry {
                collection: collection.clone(),
                name: name.clone(),
                state,
                profile: Some(profile.clone()),
                detail,
                wanted: Some(want.clone()),
                actual: found.cloned(),
            });
        }
        for extra in actual.iter().filter(|a| a.name != "_id_" && !claimed.contains(&a.name)) {
            plan.entries.push(Entry {
                collection: collection.clone(),
                name: extra.name.clone(),
                state: State::Unmanaged,
                profile: None,
                detail: None,
                wanted: None,
                actual: Some(extra.clone()),
            });
        }
    }
    plan
}

/// Duplicate keys that stop a unique index.
#[derive(Debug, Clone, Serialize)]
pub struct Duplicates {
    /// Key values that occur more than once.
    pub keys: u64,
    /// Some of them, with how often each occurs.
    #[serde(serialize_with = "docs_as_json")]
    pub sample: Vec<Document>,
}

fn docs_as_json<S: serde::Serializer>(docs: &[Document], serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = serializer.serialize_seq(Some(docs.len()))?;
    for doc in docs {
        seq.serialize_element(&Bson::Document(doc.clone()).into_relaxed_extjson())?;
    }
    seq.end()
}

/// What apply did with one index.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    /// `database.collection`.
    pub collection: String,
    /// Index name.
    pub name: String,
    /// `created`, `replaced`, `dropped`, `failed`, or `skipped` (a conflict without `--replace`, unmanaged without `--prune`).
    pub action: &'static str,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For a unique index blocked by duplicate keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicates: Option<Duplicates>,
}

/// Find duplicate values of `index`'s keys (an aggregate, on either backend).
pub async fn duplicates(store: &Store, index: &IndexModel) -> Result<Duplicates, String> {
    let mut id = Document::new();
    for field in index.key.keys() {
        id.insert(field.replace('.', "_"), format!("${field}"));
    }
    let pipeline = vec![
        doc! { "$group": { "_id": id, "count": { "$sum": 1 } } },
        doc! { "$match": { "count": { "$gt": 1 } } },
        doc! { "$sort": { "count": -1 } },
    ];
    let groups = store.aggregate(&index.collection, pipeline).await.map_err(|e| e.to_string())?;
    Ok(Duplicates { keys: groups.len() as u64, sample: groups.into_iter().take(DUPLICATE_SAMPLE).collect() })
}

/// Carry out `plan`.
pub async fn apply(
    plan: &Plan,
    backend: &dyn IndexBackend,
    store: Option<&Store>,
    prune: bool,
    replace: bool,
) -> Vec<Action> {
    let mut actions = Vec::new();
    for entry in &plan.entries {
        let action = |action: &'static str, detail: Option<String>| Action {
            collection: entry.collection.clone(),
            name: entry.name.clone(),
            action,
            detail,
            duplicates: None,
        };
        match (entry.state, &entry.wanted) {
            (State::Ok, _) => {}
            (State::Missing, Some(want)) => actions.push(create(backend, store, want, "created").await),
            (State::Conflict, Some(want)) if replace => {
                let existing = entry.actual.as_ref().map_or(entry.name.as_str(), |a| a.name.as_str());
                match backend.drop_index(&entry.collection, existing).await {
                    Ok(()) => actions.push(create(backend, store, want, "replaced").await),
                    Err(err) => actions.push(action("failed", Some(format!("cannot drop {existing}: {err}")))),
                }
            }
            (State::Conflict, _) => {
                actions.push(action("skipped", Some("conflict: use --replace to recreate it".to_owned())))
            }
            (State::Unmanaged, _) if prune => match backend.drop_index(&entry.collection, &entry.name).await {
                Ok(()) => actions.push(action("dropped", None)),
                Err(err) => actions.push(action("failed", Some(err.to_string()))),
            },
            (State::Unmanaged, _) => {
                actions.push(action("skipped", Some("unmanaged: use --prune to drop it".to_owned())))
            }
            (State::Missing, None) => {}
        }
    }
    actions
}

async fn create(backend: &dyn IndexBackend, store: Option<&Store>, want: &IndexModel, done: &'static str) -> Action {
    let mut action = Action {
        collection: want.collection.clone(),
        name: want.name.clone(),
        action: done,
        detail: None,
        duplicates: None,
    };
    match backend.create(want).await {
        Ok(()) => {}
        Err(err) => {
            action.action = "failed";
            action.detail = Some(err.to_string());
            if matches!(err, IndexError::Command { code: backend::DUPLICATE_KEY, .. })
                && let Some(store) = store
            {
                match duplicates(store, want).await {
                    Ok(found) => action.duplicates = Some(found),
                    Err(problem) => action.detail = Some(format!("{err}; counting duplicates failed: {problem}")),
                }
            }
        }
    }
    action
}

/// The index backend and document store the configuration points at:
/// MongoDB when `mongodb_uri` is set, else the snapshot directory.
pub fn backend_for(
    services: &crate::capabilities::Services,
    timeout: std::time::Duration,
) -> Option<(Arc<dyn IndexBackend>, Store)> {
    let store = services.store.clone()?;
    if let Some(primary) = &services.mongo.primary {
        return Some((Arc::new(backend::MongoIndexes::new(primary.client().clone(), timeout)), store));
    }
    let snapshot = store.snapshot()?;
    Some((Arc::new(backend::SnapshotIndexes::new(snapshot)), store))
}

/// Plan (and, when asked, apply what is missing) for the daemon's plugins.
pub async fn check(daemon: &crate::daemon::Daemon, apply_missing: bool) -> Plan {
    let config = daemon.config.load();
    let plugins = daemon.plugins.load().plugins.clone();
    if !plugins.iter().any(|p| p.kind() == PluginKind::IndexProfile) {
        return Plan::default();
    }
    let Some((backend, store)) = backend_for(daemon.runtime.services(), config.endpoints.call_timeout) else {
        let mut plan = Plan::default();
        plan.errors.push("no document store configured (endpoints.mongodb_uri or endpoints.snapshot_dir)".to_owned());
        return plan;
    };
    let (wanted_now, errors) = wanted(&plugins, &config.indexes.default_database).await;
    let mut result = plan(wanted_now.clone(), backend.as_ref()).await;
    if apply_missing && result.count(State::Missing) > 0 {
        for action in apply(&result, backend.as_ref(), Some(&store), false, false).await {
            if action.action == "failed" {
                tracing::error!(collection = action.collection, index = action.name, detail = ?action.detail, "index not created");
            } else if action.action == "created" {
                tracing::info!(collection = action.collection, index = action.name, "index created");
            }
        }
        result = plan(wanted_now, backend.as_ref()).await;
    }
    result.errors.extend(errors);
    result
}
