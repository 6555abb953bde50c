//! Coordination between Vigil replicas: dispatch dedupe keys and the
//! watchdog leader lease. With Redis both are keys with a TTL (`SET NX PX`),
//! so replicas sharing the Redis dispatch each key once between them. Without
//! Redis they live in this process only, and the watchdog reports its
//! coordination as degraded ("no cross-replica dedupe").

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::capabilities::redis::RedisBackend;

/// Key prefix of dedupe keys in Redis.
pub const DEDUPE_PREFIX: &str = "vigil:dispatch:";
/// Key of the watchdog leader lease in Redis.
pub const LEASE_KEY: &str = "vigil:watchdog:leader";

/// Extend the lease only if we still hold it.
const RENEW: &str =
    r"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";

/// Where dedupe keys and the lease live.
pub enum Coordination {
    /// Shared by every replica using this Redis.
    Redis(Arc<RedisBackend>),
    /// This process only.
    Memory(Mutex<HashMap<String, (String, Instant)>>),
}

impl Coordination {
    /// In-process coordination.
    pub fn memory() -> Self {
        Self::Memory(Mutex::new(HashMap::new()))
    }

    /// `redis` or `in-memory`.
    pub fn mode(&self) -> &'static str {
        match self {
            Self::Redis(_) => "redis",
            Self::Memory(_) => "in-memory",
        }
    }

    /// Take `key` for `owner` for `ttl` unless someone holds it. `Ok(true)`: taken.
    pub async fn claim(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool, String> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        match self {
            Self::Redis(redis) => {
                let mut command = redis::cmd("SET");
                command.arg(key).arg(owner).arg("NX").arg("PX").arg(ttl_ms);
                let reply: Option<String> = redis.query(command).await.map_err(|err| format!("redis: {err:?}"))?;
                Ok(reply.is_some())
            }
            Self::Memory(keys) => {
                let mut keys = keys.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                keys.retain(|_, (_, until)| *until > now);
                if keys.contains_key(key) {
                    return Ok(false);
                }
                keys.insert(key.to_owned(), (owner.to_owned(), now + ttl));
                Ok(true)
            }
        }
    }

    /// Give `key` back (after a failed dispatch, so the next evaluation retries).
    pub async fn release(&self, key: &str) {
        match self {
            Self::Redis(redis) => {
                let mut command = redis::cmd("DEL");
                command.arg(key);
                let _: Result<u64, _> = redis.query(command).await;
            }
            Self::Memory(keys) => {
                keys.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
            }
        }
    }

    /// Hold (take or renew) the lease `key` for `ttl`. `Ok(true)`: we lead.
    pub async fn lease(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool, String> {
        if self.claim(key, owner, ttl).await? {
            return Ok(true);
        }
        match self {
            Self::Redis(redis) => {
                let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
                let mut command = redis::cmd("EVAL");
                command.arg(RENEW).arg(1).arg(key).arg(owner).arg(ttl_ms);
                let renewed: i64 = redis.query(command).await.map_err(|err| format!("redis: {err:?}"))?;
                Ok(renewed == 1)
            }
            Self::Memory(keys) => {
                let mut keys = keys.lock().unwrap_or_else(PoisonError::into_inner);
                match keys.get_mut(key) {
                    Some((holder, until)) if holder == owner => {
                        *until = Instant::now() + ttl;
                        Ok(true)
                    }
                    _ => Ok(false),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_is_claimed_once_until_it_expires_or_is_released() {
        let coordination = Coordination::memory();
        let hour = Duration::from_secs(3600);
        assert!(coordination.claim("k", "a", hour).await.unwrap());
        assert!(!coordination.claim("k", "b", hour).await.unwrap());
        coordination.release("k").await;
        assert!(coordination.claim("k", "b", hour).await.unwrap());
        assert!(coordination.claim("short", "a", Duration::ZERO).await.unwrap());
        assert!(coordination.claim("short", "b", hour).await.unwrap(), "a zero-length claim expires at once");
    }

    #[tokio::test]
    async fn the_lease_is_renewed_by_its_holder_only() {
        let coordination = Coordination::memory();
        let ttl = Duration::from_secs(30);
        assert!(coordination.lease(LEASE_KEY, "a", ttl).await.unwrap());
        assert!(coordination.lease(LEASE_KEY, "a", ttl).await.unwrap());
        assert!(!coordination.lease(LEASE_KEY, "b", ttl).await.unwrap());
    }
}
