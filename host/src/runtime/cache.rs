//! The compiled-artifact cache: precompiled components on disk, so a restart
//! does not recompile unchanged plugins.
//!
//! An entry is keyed by the SHA-256 of the component and wasmtime's
//! compatibility hash of the engine configuration. Each file starts with the
//! SHA-256 of the artifact that follows; an entry whose digest does not match,
//! or that wasmtime refuses, is deleted and recompiled, never trusted. Entries
//! are written to a temporary file and renamed, so a reader never sees half
//! an artifact.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const DIGEST_LEN: usize = 32;

/// What the cache did for one component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded a precompiled artifact.
    Hit,
    /// Compiled and stored the artifact.
    Miss,
    /// Found a corrupt or incompatible entry, recompiled and replaced it.
    Replaced,
    /// No cache directory: compiled in memory only.
    Disabled,
    /// Another loaded plugin has the same component: its compiled code is
    /// shared, nothing was read or compiled.
    Shared,
}

/// A directory of precompiled components.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    /// Use (and create) `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file an artifact for `wasm` lives in under this engine.
    pub fn entry_path(&self, engine: &Engine, wasm: &[u8]) -> PathBuf {
        let mut config_hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut config_hasher);
        let key = format!("{}-{:016x}", hex::encode(Sha256::digest(wasm)), config_hasher.finish());
        self.dir.join(format!("{key}.cwasm"))
    }

    /// Load the artifact for `wasm`, compiling (and storing) it when absent or bad.
    pub fn load_or_compile(&self, engine: &Engine, wasm: &[u8]) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.entry_path(engine, wasm);
        let mut outcome = CacheOutcome::Miss;
        if let Ok(bytes) = fs::read(&path) {
            match verified_artifact(&bytes).and_then(|artifact| deserialize(engine, artifact).ok()) {
                Some(component) => return Ok((component, CacheOutcome::Hit)),
                None => {
                    tracing::warn!(path = %path.display(), "artifact cache entry is corrupt or stale; recompiling");
                    let _ = fs::remove_file(&path);
                    outcome = CacheOutcome::Replaced;
                }
            }
        }
        let artifact = engine.precompile_component(wasm)?;
        if let Err(err) = self.store(&path, &artifact) {
            tracing::warn!(path = %path.display(), error = %err, "cannot write artifact cache entry");
        }
        Ok((deserialize(engine, &artifact)?, outcome))
    }

    fn store(&self, path: &Path, artifact: &[u8]) -> std::io::Result<()> {
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir)?;
        temp.write_all(&Sha256::digest(artifact))?;
        temp.write_all(artifact)?;
        temp.as_file().sync_data()?;
        temp.persist(path).map_err(|err| err.error)?;
        Ok(())
    }
}

/// The artifact inside a cache file, if its digest matches.
fn verified_artifact(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.len() <= DIGEST_LEN {
        return None;
    }
    let (digest, artifact) = bytes.split_at(DIGEST_LEN);
    (Sha256::digest(artifact).as_slice() == digest).then_some(artifact)
}

/// Compile without a cache.
pub fn compile(engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Component> {
    Component::new(engine, wasm)
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `artifact` is either what `precompile_component` just returned
    // on this engine, or a cache file this daemon wrote whose SHA-256 matches
    // the digest stored in front of it, so the bytes are exactly what wasmtime
    // produced; wasmtime itself checks the engine compatibility header.
    unsafe { Component::deserialize(engine, artifact) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_guards_artifacts() {
        let artifact = b"pretend artifact".to_vec();
        let mut file = Sha256::digest(&artifact).to_vec();
        file.extend_from_slice(&artifact);
        assert_eq!(verified_artifact(&file), Some(artifact.as_slice()));
        let last = file.len() - 1;
        file[last] ^= 1;
        assert_eq!(verified_artifact(&file), None);
        assert_eq!(verified_artifact(b"short"), None);
    }
}
