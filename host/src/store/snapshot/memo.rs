//! Answers kept per file version: a query over an export that has not
//! changed since it was last answered is a lookup. An entry records the
//! versions (size, modification time, inode) of the files it was computed
//! from and is used only while they are all still current.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::Version;
use crate::store::StoreResult;

/// Entries kept at most; beyond, the table starts over.
const MAX_ENTRIES: usize = 512;

type Entry = (Vec<Version>, Arc<dyn Any + Send + Sync>);

/// The kept answers, by query.
#[derive(Default)]
pub struct Memo {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Memo {
    /// The answer to `query` over files at `versions`, computed by
    /// `compute` unless kept from an earlier call over the same versions.
    pub fn get_or_compute<T: Any + Send + Sync>(
        &self,
        query: String,
        versions: Vec<Version>,
        compute: impl FnOnce() -> StoreResult<T>,
    ) -> StoreResult<Arc<T>> {
        self.get_or_compute_keeping(query, versions, compute, |_| true)
    }

    /// [`Memo::get_or_compute`], keeping a new answer only when `keep`
    /// says so (a large one is recomputed rather than held).
    pub fn get_or_compute_keeping<T: Any + Send + Sync>(
        &self,
        query: String,
        versions: Vec<Version>,
        compute: impl FnOnce() -> StoreResult<T>,
        keep: impl FnOnce(&T) -> bool,
    ) -> StoreResult<Arc<T>> {
        if let Some((kept_versions, answer)) = self.entries.lock().unwrap_or_else(PoisonError::into_inner).get(&query)
            && *kept_versions == versions
            && let Ok(answer) = Arc::clone(answer).downcast::<T>()
        {
            return Ok(answer);
        }
        let answer = Arc::new(compute()?);
        if !keep(&answer) {
            return Ok(answer);
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(query, (versions, Arc::clone(&answer) as Arc<dyn Any + Send + Sync>));
        Ok(answer)
    }
}
