//! `[watchdog]`, `[celery]` and `[indexes]`: drift rules, where their
//! dispatches go, the Celery event stream, and the index manager.

use std::time::Duration;

use serde::Deserialize;

use super::secret::Secret;

/// Where watchdog dispatches go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DispatchTarget {
    /// Celery when a broker is configured, otherwise `log`.
    #[default]
    Auto,
    /// A Celery task through the Redis broker.
    Celery,
    /// `POST` to `webhook_url`.
    Webhook,
    /// Log only (dry run).
    Log,
}

/// The data-sync watchdog.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchdogConfig {
    /// Evaluate watchdog plugins in the daemon, each on its interval.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Log the dispatches instead of sending them.
    #[serde(default)]
    pub dry_run: bool,
    /// A dedupe key is dispatched at most once per cooldown.
    #[serde(default = "default_cooldown", with = "humantime_serde")]
    pub cooldown: Duration,
    /// Leader lease: only the replica holding it evaluates rules.
    #[serde(default = "default_lease", with = "humantime_serde")]
    pub lease: Duration,
    /// `auto`, `celery`, `webhook` or `log`.
    #[serde(default)]
    pub target: DispatchTarget,
    /// The Celery broker (Redis). Default: `endpoints.redis_url`.
    #[serde(default)]
    pub broker_url: Option<Secret>,
    /// Queue for dispatches that name none.
    #[serde(default = "default_queue")]
    pub default_queue: String,
    /// Webhook URL for `target = "webhook"`; may carry a token, so it may come from the environment.
    #[serde(default)]
    pub webhook_url: Option<Secret>,
    /// Deadline of one webhook attempt.
    #[serde(default = "default_webhook_timeout", with = "humantime_serde")]
    pub webhook_timeout: Duration,
    /// Webhook retries after the first attempt (connection errors and 5xx).
    #[serde(default = "default_webhook_retries")]
    pub webhook_retries: u32,
    /// Largest `args-json`, `kwargs-json` or text field of a finding, in
    /// bytes; a dispatch with a larger one is refused (the finding is kept).
    #[serde(default = "default_max_payload_bytes")]
    pub max_payload_bytes: usize,
}

fn default_max_payload_bytes() -> usize {
    64 * 1024
}

fn default_true() -> bool {
    true
}

fn default_cooldown() -> Duration {
    Duration::from_secs(30 * 60)
}

fn default_lease() -> Duration {
    Duration::from_secs(60)
}

fn default_queue() -> String {
    "celery".to_owned()
}

fn default_webhook_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_webhook_retries() -> u32 {
    3
}

impl Default for WatchdogConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dry_run: false,
            cooldown: default_cooldown(),
            lease: default_lease(),
            target: DispatchTarget::default(),
            broker_url: None,
            default_queue: default_queue(),
            webhook_url: None,
            webhook_timeout: default_webhook_timeout(),
            webhook_retries: default_webhook_retries(),
            max_payload_bytes: default_max_payload_bytes(),
        }
    }
}

/// Celery task metrics from the broker's event stream.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeleryConfig {
    /// Consume task and worker events (workers must run with `-E`).
    #[serde(default = "default_true")]
    pub events: bool,
    /// The broker. Default: `watchdog.broker_url`, then `endpoints.redis_url`.
    #[serde(default)]
    pub broker_url: Option<Secret>,
    /// Queues whose length is exported.
    #[serde(default = "default_queues")]
    pub queues: Vec<String>,
}

fn default_queues() -> Vec<String> {
    vec![default_queue()]
}

impl Default for CeleryConfig {
    fn default() -> Self {
        Self { events: true, broker_url: None, queues: default_queues() }
    }
}

/// The index manager.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexesConfig {
    /// Create missing indexes when the daemon starts (never drops or replaces).
    #[serde(default)]
    pub apply_on_start: bool,
    /// Database of index specs that name a bare collection.
    #[serde(default = "default_database")]
    pub default_database: String,
}

fn default_database() -> String {
    "cspm".to_owned()
}

impl Default for IndexesConfig {
    fn default() -> Self {
        Self { apply_on_start: false, default_database: default_database() }
    }
}
