//! Grant checks, done at the call site before any target is contacted.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::manifest::Grants;

/// A call outside a plugin's grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The capability (`exec`, `redis`...).
    pub capability: &'static str,
    /// What the plugin asked for.
    pub target: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?} is not granted to this plugin", self.capability, self.target)
    }
}

fn refuse(capability: &'static str, target: impl Into<String>) -> Refusal {
    Refusal { capability, target: target.into() }
}

/// Redis is all or nothing.
pub fn redis(grants: &Grants) -> Result<(), Refusal> {
    if grants.redis { Ok(()) } else { Err(refuse("redis", "redis")) }
}

/// Docker is all or nothing.
pub fn docker(grants: &Grants) -> Result<(), Refusal> {
    if grants.docker { Ok(()) } else { Err(refuse("docker", "docker")) }
}

/// `hello` on the configured endpoints needs any mongo grant; databases are
/// filtered by name elsewhere.
pub fn mongo(grants: &Grants) -> Result<(), Refusal> {
    if grants.mongo.is_empty() { Err(refuse("mongo", "mongo")) } else { Ok(()) }
}

/// A program must be listed exactly as the plugin names it.
pub fn exec(grants: &Grants, program: &str) -> Result<(), Refusal> {
    if grants.exec.iter().any(|granted| granted == program) { Ok(()) } else { Err(refuse("exec", program)) }
}

/// A collection must be listed as `database.collection`.
pub fn store(grants: &Grants, collection: &str) -> Result<(), Refusal> {
    if grants.store.iter().any(|granted| granted == collection) { Ok(()) } else { Err(refuse("store", collection)) }
}

/// A path must lie under a granted directory, without `..` tricks. Returns
/// the path to open. Symlinks are resolved by the caller before reading.
pub fn fs(grants: &Grants, path: &str) -> Result<PathBuf, Refusal> {
    let requested = Path::new(path);
    let plain = requested.is_absolute()
        && requested.components().all(|part| matches!(part, Component::RootDir | Component::Normal(_)));
    if plain && grants.fs.iter().any(|dir| requested.starts_with(dir)) {
        Ok(requested.to_path_buf())
    } else {
        Err(refuse("fs", path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants() -> Grants {
        Grants {
            exec: vec!["trivy".into()],
            store: vec!["cspm.scan_runs".into()],
            fs: vec![PathBuf::from("/data/scf")],
            ..Grants::default()
        }
    }

    #[test]
    fn exec_needs_exact_program() {
        assert!(exec(&grants(), "trivy").is_ok());
        assert_eq!(exec(&grants(), "sh").unwrap_err().to_string(), "exec: \"sh\" is not granted to this plugin");
        assert!(exec(&grants(), "/usr/bin/trivy").is_err());
    }

    #[test]
    fn fs_refuses_escapes() {
        assert!(fs(&grants(), "/data/scf/scf.xlsx").is_ok());
        assert!(fs(&grants(), "/data/scf/../../etc/passwd").is_err());
        assert!(fs(&grants(), "/data/scfx/file").is_err());
        assert!(fs(&grants(), "relative/path").is_err());
    }

    #[test]
    fn all_or_nothing_grants() {
        assert!(redis(&Grants::default()).is_err());
        assert!(docker(&Grants { docker: true, ..Grants::default() }).is_ok());
        assert!(mongo(&Grants::default()).is_err());
        assert!(store(&grants(), "cspm.findings").is_err());
    }
}
