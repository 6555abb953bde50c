//! `redis`: PING, INFO and bounded key counts over one shared, reconnecting
//! connection.

use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::capabilities::grants;
use crate::runtime::HostState;
use crate::runtime::bindings::CapabilityError;
use crate::runtime::bindings::host::vigil::plugin::redis::Host;

type Answer<T> = wasmtime::Result<Result<T, CapabilityError>>;

/// SCAN batch size.
const SCAN_COUNT: usize = 1000;

/// The host's Redis connection.
pub struct RedisBackend {
    manager: ConnectionManager,
    timeout: Duration,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl RedisBackend {
    /// A lazily connecting backend for `url`. Must run inside a tokio runtime.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, String> {
        // The URL may hold a password: errors describe the problem, never the URL.
        let client = redis::Client::open(url).map_err(|err| format!("invalid Redis URL ({:?})", err.kind()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|err| format!("cannot set up the Redis connection ({:?})", err.kind()))?;
        Ok(Self { manager, timeout })
    }

    /// Run `command` under the deadline.
    pub async fn query<T: redis::FromRedisValue>(&self, command: redis::Cmd) -> Result<T, CapabilityError> {
        let mut connection = self.manager.clone();
        match tokio::time::timeout(self.timeout, command.query_async::<T>(&mut connection)).await {
            Err(_) => Err(CapabilityError::Timeout(format!(
                "redis: no answer within {}",
                humantime::format_duration(self.timeout)
            ))),
            Ok(Err(err)) => Err(CapabilityError::Failed(format!("redis: {}", describe(&err)))),
            Ok(Ok(value)) => Ok(value),
        }
    }

    /// PING; the round trip in microseconds.
    pub async fn ping(&self) -> Result<u64, CapabilityError> {
        let started = Instant::now();
        let _: String = self.query(redis::cmd("PING")).await?;
        Ok(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    /// `INFO section`.
    pub async fn info(&self, section: &str) -> Result<String, CapabilityError> {
        let mut command = redis::cmd("INFO");
        command.arg(section);
        self.query(command).await
    }

    /// Count keys matching `pattern`, stopping once `max_keys` are seen.
    pub async fn count_keys(&self, pattern: &str, max_keys: u64) -> Result<u64, CapabilityError> {
        let mut cursor: u64 = 0;
        let mut count: u64 = 0;
        loop {
            let mut command = redis::cmd("SCAN");
            command.arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(SCAN_COUNT);
            let (next, keys): (u64, Vec<String>) = self.query(command).await?;
            count += keys.len() as u64;
            cursor = next;
            if cursor == 0 || count >= max_keys {
                return Ok(count.min(max_keys));
            }
        }
    }
}

/// A Redis error without anything from the URL.
fn describe(err: &redis::RedisError) -> String {
    if err.is_connection_refusal() {
        "connection refused".to_owned()
    } else if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_io_error() || err.is_connection_dropped() {
        "connection lost".to_owned()
    } else if let Some(code) = err.code() {
        // The server's error code (WRONGTYPE, OOM, READONLY...); never its text.
        format!("{code} error")
    } else {
        format!("{:?} error", err.kind())
    }
}

impl Host for HostState {
    async fn ping(&mut self) -> Answer<u64> {
        let redis = self.redis();
        Ok(self.off_cpu(async move { redis?.ping().await }).await)
    }

    async fn info(&mut self, section: String) -> Answer<String> {
        let redis = self.redis();
        Ok(self.off_cpu(async move { redis?.info(&section).await }).await)
    }

    async fn count_keys(&mut self, pattern: String, max_keys: u64) -> Answer<u64> {
        let redis = self.redis();
        Ok(self.off_cpu(async move { redis?.count_keys(&pattern, max_keys).await }).await)
    }
}

impl HostState {
    /// The Redis backend, if granted and configured.
    fn redis(&self) -> Result<std::sync::Arc<RedisBackend>, CapabilityError> {
        if let Err(refusal) = grants::redis(&self.plugin.grants) {
            return Err(self.services.refuse(&self.plugin.name, refusal));
        }
        self.services.redis.clone().ok_or_else(|| {
            CapabilityError::NotAvailable("redis: no endpoint configured (endpoints.redis_url)".to_owned())
        })
    }
}
