//! The MongoDB backend: the same queries through the official driver, with
//! a deadline on every call and the configured read preference. Pipelines
//! and filters are compiled by the same code as the snapshot backend first,
//! so an operator outside the subset fails the same way on both.

use std::time::Duration;

use futures_util::TryStreamExt as _;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::{ReadPreference, SelectionCriteria};

use super::aggregate::Pipeline;
use super::order::compare;
use super::pipeline::{FindQuery, Projection, Sort};
use super::query::Filter;
use super::{DocumentStore, MissingKeys, MissingKeysAnswer, StoreError, StoreFuture, StoreResult, split_name};

/// A MongoDB deployment as a store.
pub struct MongoStore {
    client: mongodb::Client,
    timeout: Duration,
    read_preference: ReadPreference,
}

impl MongoStore {
    /// Use `client`; each call gets `timeout`.
    pub fn new(client: mongodb::Client, timeout: Duration, read_preference: ReadPreference) -> Self {
        Self { client, timeout, read_preference }
    }

    fn collection(&self, name: &str) -> StoreResult<mongodb::Collection<Document>> {
        let (db, coll) = split_name(name)?;
        Ok(self.client.database(db).collection(coll))
    }

    fn criteria(&self) -> SelectionCriteria {
        SelectionCriteria::ReadPreference(self.read_preference.clone())
    }

    async fn deadline<T>(&self, call: impl std::future::Future<Output = mongodb::error::Result<T>>) -> StoreResult<T> {
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(StoreError::Timeout(self.timeout)),
            Ok(Err(err)) => Err(StoreError::Backend(format!("mongodb: {}", crate::capabilities::mongo::kind(&err)))),
            Ok(Ok(value)) => Ok(value),
        }
    }
}

/// Parse `primary`, `primaryPreferred`, `secondary`, `secondaryPreferred`, `nearest`.
pub fn read_preference(name: &str) -> Result<ReadPreference, String> {
    let options = Default::default;
    Ok(match name {
        "primary" => ReadPreference::Primary,
        "primaryPreferred" => ReadPreference::PrimaryPreferred { options: options() },
        "secondary" => ReadPreference::Secondary { options: options() },
        "secondaryPreferred" => ReadPreference::SecondaryPreferred { options: options() },
        "nearest" => ReadPreference::Nearest { options: options() },
        other => {
            return Err(format!(
                "unknown read preference {other:?} (primary, primaryPreferred, secondary, secondaryPreferred, nearest)"
            ));
        }
    })
}

impl DocumentStore for MongoStore {
    fn describe(&self) -> String {
        "mongodb".to_owned()
    }

    fn count<'a>(&'a self, collection: &'a str, filter: Document) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            Filter::compile(&filter)?;
            let coll = self.collection(collection)?;
            let count = coll.count_documents(filter).selection_criteria(self.criteria()).max_time(self.timeout);
            self.deadline(async { count.await }).await
        })
    }

    fn find<'a>(&'a self, collection: &'a str, query: FindQuery) -> StoreFuture<'a, Vec<Document>> {
        Box::pin(async move {
            Filter::compile(&query.filter)?;
            query.sort.as_ref().map(Sort::compile).transpose()?;
            query.projection.as_ref().map(Projection::compile).transpose()?;
            let coll = self.collection(collection)?;
            let mut find = coll.find(query.filter).selection_criteria(self.criteria()).max_time(self.timeout);
            if let Some(sort) = query.sort {
                find = find.sort(sort);
            }
            if let Some(projection) = query.projection {
                find = find.projection(projection);
            }
            if query.limit > 0 {
                find = find.limit(i64::from(query.limit));
            }
            self.deadline(async {
                use futures_util::TryStreamExt;
                find.await?.try_collect::<Vec<Document>>().await
            })
            .await
        })
    }

    fn aggregate<'a>(&'a self, collection: &'a str, stages: Vec<Document>) -> StoreFuture<'a, Vec<Document>> {
        Box::pin(async move {
            Pipeline::compile(&stages)?;
            let coll = self.collection(collection)?;
            let aggregate = coll.aggregate(stages).selection_criteria(self.criteria()).max_time(self.timeout);
            self.deadline(async {
                use futures_util::TryStreamExt;
                aggregate.await?.try_collect::<Vec<Document>>().await
            })
            .await
        })
    }

    fn missing_keys<'a>(&'a self, query: MissingKeys) -> StoreFuture<'a, MissingKeysAnswer> {
        Box::pin(async move {
            Filter::compile(&query.filter)?;
            Filter::compile(&query.other_filter)?;
            let this = self.collection(&query.collection)?;
            let other = self.collection(&query.other)?;
            // The collections live in different databases, where `$lookup`
            // cannot reach: the distinct keys stream from a `$group` (by
            // `key_field`'s index when there is one), and each batch is looked
            // up with one `$in` on the other collection's key index.
            let pipeline = vec![
                doc! { "$match": query.filter.clone() },
                doc! { "$group": { "_id": format!("${}", query.key_field) } },
            ];
            let keys = this.aggregate(pipeline).allow_disk_use(true).selection_criteria(self.criteria());
            let mut cursor = self.deadline(async { keys.await }).await?;
            let mut answer = MissingKeysAnswer { keys: 0, missing: 0, sample: Vec::new() };
            let mut batch: Vec<Bson> = Vec::with_capacity(KEY_BATCH);
            loop {
                let next = self.deadline(async { cursor.try_next().await }).await?;
                let done = next.is_none();
                if let Some(group) = next
                    && let Some(key) = group.get("_id").filter(|k| !matches!(k, Bson::Null))
                {
                    batch.push(key.clone());
                }
                if batch.len() == KEY_BATCH || (done && !batch.is_empty()) {
                    self.look_up(&other, &query, std::mem::take(&mut batch), &mut answer).await?;
                }
                if done {
                    break;
                }
            }
            answer.sample.sort_by(compare);
            answer.sample.truncate(query.limit);
            Ok(answer)
        })
    }
}

/// Keys looked up per `$in`.
const KEY_BATCH: usize = 1000;

impl MongoStore {
    /// Which keys of `batch` have a match in `other`; count the others.
    async fn look_up(
        &self,
        other: &mongodb::Collection<Document>,
        query: &MissingKeys,
        batch: Vec<Bson>,
        answer: &mut MissingKeysAnswer,
    ) -> StoreResult<()> {
        // `$and`, so a condition `other_filter` has on the key field stays.
        let keys = doc! { query.other_key_field.clone(): { "$in": batch.clone() } };
        let filter = if query.other_filter.is_empty() {
            keys
        } else {
            doc! { "$and": [query.other_filter.clone(), keys] }
        };
        let pipeline =
            vec![doc! { "$match": filter }, doc! { "$group": { "_id": format!("${}", query.other_key_field) } }];
        let found = other.aggregate(pipeline).selection_criteria(self.criteria()).max_time(self.timeout);
        let present: Vec<Document> = self
            .deadline(async {
                use futures_util::TryStreamExt;
                found.await?.try_collect::<Vec<Document>>().await
            })
            .await?;
        let present: std::collections::HashSet<String> =
            present.iter().filter_map(|d| d.get("_id")).map(crate::store::order::group_key).collect();
        answer.keys += batch.len() as u64;
        for key in batch {
            if !present.contains(&crate::store::order::group_key(&key)) {
                answer.missing += 1;
                if answer.sample.len() < query.limit * 4 {
                    answer.sample.push(key);
                } else {
                    answer.sample.sort_by(compare);
                    answer.sample.truncate(query.limit);
                    answer.sample.push(key);
                }
            }
        }
        Ok(())
    }
}
