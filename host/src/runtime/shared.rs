//! Compiled components shared by digest: a thousand plugin directories that
//! hold the same component compile (or load from the artifact cache) once and
//! share one `Component` and one `InstancePre`, so their code, its metadata
//! and the link are in memory once.
//!
//! Entries are weak: a component no plugin uses any more (a replaced
//! version) is freed with its last plugin, and its slot is pruned on the next
//! lookup. Concurrent loads of the same digest wait for the first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use wasmtime::component::{Component, InstancePre};

use super::CacheOutcome;
use super::state::HostState;

/// A component compiled and linked once for every plugin with its digest.
pub struct Compiled {
    /// The compiled component.
    pub component: Component,
    /// Linked against the runtime's linker, or why it does not link (the
    /// same for every plugin with this component).
    pub pre: Result<InstancePre<HostState>, String>,
    /// What the artifact cache did when it was first compiled.
    pub cache_outcome: CacheOutcome,
}

type Slot = Arc<tokio::sync::Mutex<Weak<Compiled>>>;

/// Digest -> the component compiled for it, while a plugin uses it.
#[derive(Default)]
pub struct SharedComponents {
    slots: Mutex<HashMap<String, Slot>>,
}

/// Whether a lookup found the component already in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Another plugin already uses it.
    Shared,
    /// Compiled (or loaded) for this lookup.
    Loaded,
}

impl SharedComponents {
    /// The component for `digest`, built by `build` only when no plugin
    /// holds one. `build` runs at most once at a time per digest.
    pub async fn get_or_build<E, F, Fut>(&self, digest: &str, build: F) -> Result<(Arc<Compiled>, Sharing), E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Compiled, E>>,
    {
        let slot = self.slot(digest);
        let mut held = slot.lock().await;
        if let Some(compiled) = held.upgrade() {
            return Ok((compiled, Sharing::Shared));
        }
        let compiled = Arc::new(build().await?);
        *held = Arc::downgrade(&compiled);
        Ok((compiled, Sharing::Loaded))
    }

    /// How many distinct components are in memory.
    pub fn count(&self) -> usize {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.values().filter(|slot| slot.try_lock().map_or(true, |weak| weak.strong_count() > 0)).count()
    }

    /// The slot for `digest`, after pruning slots whose component is gone
    /// and that nobody is filling.
    fn slot(&self, digest: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.retain(|_, slot| {
            Arc::strong_count(slot) > 1 || slot.try_lock().map_or(true, |weak| weak.strong_count() > 0)
        });
        Arc::clone(slots.entry(digest.to_owned()).or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(engine: &wasmtime::Engine) -> Compiled {
        // An empty component: the magic number, version 0x0d, layer 1.
        let empty = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
        let component = Component::new(engine, empty).expect("an empty component compiles");
        Compiled { component, pre: Err("not linked".into()), cache_outcome: CacheOutcome::Disabled }
    }

    #[tokio::test]
    async fn one_digest_builds_once_while_used_and_again_after() {
        let engine = wasmtime::Engine::default();
        let shared = SharedComponents::default();
        let mut builds = 0;
        let (first, sharing) =
            shared.get_or_build::<(), _, _>("a", || async { Ok(compiled(&engine)) }).await.expect("built");
        assert_eq!(sharing, Sharing::Loaded);
        let (second, sharing) = shared
            .get_or_build::<(), _, _>("a", || {
                builds += 1;
                async { Ok(compiled(&engine)) }
            })
            .await
            .expect("shared");
        assert_eq!((sharing, builds), (Sharing::Shared, 0));
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(shared.count(), 1);

        drop((first, second));
        assert_eq!(shared.count(), 0, "a component no plugin holds is not kept");
        let (_third, sharing) =
            shared.get_or_build::<(), _, _>("a", || async { Ok(compiled(&engine)) }).await.expect("rebuilt");
        assert_eq!(sharing, Sharing::Loaded);
    }

    #[tokio::test]
    async fn a_failed_build_is_not_remembered() {
        let engine = wasmtime::Engine::default();
        let shared = SharedComponents::default();
        let failed = shared.get_or_build("b", || async { Err::<Compiled, _>("broken") }).await;
        assert!(failed.is_err());
        let (_, sharing) =
            shared.get_or_build::<(), _, _>("b", || async { Ok(compiled(&engine)) }).await.expect("built");
        assert_eq!(sharing, Sharing::Loaded);
    }
}
