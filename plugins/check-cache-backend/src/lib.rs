//! Cache backend: Redis (shared by every worker) is optimal; without it the
//! platform caches in process memory and workers stop sharing entries.

use vigil_sdk::{Check, CheckReport, Config, Description, redis};

struct CacheBackend;

/// A numeric field of `INFO` output (`used_memory:1234`).
fn info_field(info: &str, name: &str) -> Option<f64> {
    info.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok())
}

impl Check for CacheBackend {
    fn describe() -> Description {
        Description::new("cache", "Whether the cache is shared in Redis or local to each worker")
    }

    fn run(_config: &Config) -> Result<CheckReport, String> {
        match redis::ping() {
            Ok(latency_us) => {
                let mut report = CheckReport::ok("redis").detail("cache is shared through Redis").observe(
                    "redis_ping_latency",
                    latency_us as f64 / 1e6,
                    "seconds",
                );
                if let Ok(server) = redis::info("server")
                    && let Some(version) = server.lines().find_map(|l| l.strip_prefix("redis_version:"))
                {
                    report = report.observe_with("redis_version", 1.0, "info", &[("version", version.trim())]);
                }
                if let Ok(clients) = redis::info("clients")
                    && let Some(connected) = info_field(&clients, "connected_clients")
                {
                    report = report.observe("redis_connected_clients", connected, "count");
                }
                Ok(report)
            }
            Err(err) => Ok(CheckReport::degraded("in-memory")
                .optimal("redis")
                .impact("no cross-worker cache sharing")
                .detail(format!("Redis unavailable ({}); each worker caches in its own memory", err.message()))),
        }
    }
}

vigil_sdk::export!(check: CacheBackend);
