//! `fs`: read-only access to files and directories the grant names.
//!
//! The grant is checked on the path as given and again on the path with
//! symlinks resolved, so a link inside a granted directory cannot point
//! outside it.

use std::path::{Path, PathBuf};

use crate::capabilities::grants;
use crate::runtime::HostState;
use crate::runtime::bindings::CapabilityError;
use crate::runtime::bindings::host::vigil::plugin::fs::Host;

type Answer<T> = wasmtime::Result<Result<T, CapabilityError>>;

/// Largest file a plugin may read.
pub const MAX_FILE: u64 = 64 * 1024 * 1024;
/// Most directory entries returned.
const MAX_ENTRIES: usize = 10_000;

impl HostState {
    /// Check the grant on `path` and on its resolved form.
    async fn granted_path(&mut self, path: &str) -> Result<PathBuf, CapabilityError> {
        let requested =
            grants::fs(&self.plugin.grants, path).map_err(|r| self.services.refuse(&self.plugin.name, r))?;
        let resolved = tokio::fs::canonicalize(&requested)
            .await
            .map_err(|err| CapabilityError::Failed(format!("fs: {path}: {}", io_kind(&err))))?;
        let mut roots = Vec::new();
        for root in &self.plugin.grants.fs {
            roots.push(tokio::fs::canonicalize(root).await.unwrap_or_else(|_| root.clone()));
        }
        if roots.iter().any(|root| resolved.starts_with(root)) {
            Ok(resolved)
        } else {
            Err(self.services.refuse(
                &self.plugin.name,
                grants::Refusal { capability: "fs", target: format!("{path} (resolves to {})", resolved.display()) },
            ))
        }
    }
}

fn io_kind(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "not found".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        other => other.to_string(),
    }
}

async fn read_capped(path: &Path) -> Result<Vec<u8>, CapabilityError> {
    let metadata = tokio::fs::metadata(path)
        .await
        .map_err(|err| CapabilityError::Failed(format!("fs: {}: {}", path.display(), io_kind(&err))))?;
    if !metadata.is_file() {
        return Err(CapabilityError::Failed(format!("fs: {} is not a file", path.display())));
    }
    if metadata.len() > MAX_FILE {
        return Err(CapabilityError::Failed(format!(
            "fs: {} is {} bytes, more than the {MAX_FILE}-byte limit",
            path.display(),
            metadata.len()
        )));
    }
    tokio::fs::read(path)
        .await
        .map_err(|err| CapabilityError::Failed(format!("fs: {}: {}", path.display(), io_kind(&err))))
}

impl Host for HostState {
    async fn read_file(&mut self, path: String) -> Answer<Vec<u8>> {
        Ok(match self.granted_path(&path).await {
            Ok(resolved) => read_capped(&resolved).await,
            Err(err) => Err(err),
        })
    }

    async fn list_dir(&mut self, path: String) -> Answer<Vec<String>> {
        let resolved = match self.granted_path(&path).await {
            Ok(resolved) => resolved,
            Err(err) => return Ok(Err(err)),
        };
        let mut entries = match tokio::fs::read_dir(&resolved).await {
            Ok(entries) => entries,
            Err(err) => return Ok(Err(CapabilityError::Failed(format!("fs: {path}: {}", io_kind(&err))))),
        };
        let mut names = Vec::new();
        while let Ok(Some(entry)) = entries.next_entry().await {
            names.push(entry.file_name().to_string_lossy().into_owned());
            if names.len() >= MAX_ENTRIES {
                break;
            }
        }
        names.sort();
        Ok(Ok(names))
    }
}
