//! `[endpoints]`: the services Vigil's capabilities talk to.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::secret::Secret;

/// Where the platform's services are. Every field is optional: an absent
/// endpoint makes its capability answer `not-available`, and the checks that
/// need it report their subsystem degraded or down.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    /// Redis URL (`redis://host:6379/0`); may carry a password, so it may
    /// come from the environment: `{ env = "REDIS_URL" }`.
    #[serde(default)]
    pub redis_url: Option<Secret>,
    /// Primary MongoDB URI.
    #[serde(default)]
    pub mongodb_uri: Option<Secret>,
    /// Fallback MongoDB URI, used when the primary is unreachable.
    #[serde(default)]
    pub mongodb_fallback_uri: Option<Secret>,
    /// Docker Engine API address (`unix:///var/run/docker.sock`,
    /// `tcp://127.0.0.1:2375`). Default: `DOCKER_HOST`, then the local socket.
    #[serde(default)]
    pub docker_host: Option<String>,
    /// `PATH` used to find the programs plugins may run (`grants.exec`).
    /// Default: the daemon's own `PATH`.
    #[serde(default)]
    pub exec_path: Option<String>,
    /// The Secure Controls Framework workbook (`.xlsx`).
    #[serde(default)]
    pub scf_workbook: Option<PathBuf>,
    /// A directory of `mongoexport` files (`<database>/<collection>.json`):
    /// the document store for plugins and the watchdog when no
    /// `mongodb_uri` is set, or to run rules offline against an export.
    #[serde(default)]
    pub snapshot_dir: Option<PathBuf>,
    /// Read preference of store queries on MongoDB: `primary`,
    /// `primaryPreferred`, `secondary`, `secondaryPreferred` or `nearest`.
    #[serde(default = "default_read_preference")]
    pub read_preference: String,
    /// Deadline of one backend call (a ping, a command, a query).
    #[serde(default = "default_call_timeout", with = "humantime_serde")]
    pub call_timeout: Duration,
    /// The platform API's health endpoint (`http://api:8000/health`), without
    /// credentials: the bundled `api-health` check is granted this URL (and
    /// nothing while it is unset).
    #[serde(default)]
    pub api_health_url: Option<String>,
}

fn default_read_preference() -> String {
    "primary".to_owned()
}

fn default_call_timeout() -> Duration {
    Duration::from_secs(2)
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            redis_url: None,
            mongodb_uri: None,
            mongodb_fallback_uri: None,
            docker_host: None,
            exec_path: None,
            scf_workbook: None,
            snapshot_dir: None,
            read_preference: default_read_preference(),
            call_timeout: default_call_timeout(),
            api_health_url: None,
        }
    }
}

impl Endpoints {
    /// Values plugin manifests may reference as `${name}` in `[config]` and
    /// `[grants]`. Secrets are never among them: plugins reach secret-bearing
    /// endpoints only through capabilities.
    pub fn variables(&self) -> BTreeMap<&'static str, String> {
        let mut vars = BTreeMap::new();
        // Resolved (`..`, symlinks), so the fs grant sees the plain path it checks.
        let workbook = self
            .scf_workbook
            .as_ref()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()).display().to_string())
            .unwrap_or_default();
        vars.insert("scf_workbook", workbook);
        vars.insert("docker_host", self.docker_host.clone().unwrap_or_default());
        vars.insert("api_health_url", self.api_health_url.clone().unwrap_or_default());
        vars
    }
}
