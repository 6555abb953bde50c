//! Session storage: Redis is optimal; when it is unreachable the platform
//! falls back to MongoDB (slower) or to process memory (sessions lost on
//! restart, not shared between workers).

use vigil_sdk::mongo::Endpoint;
use vigil_sdk::{Check, CheckReport, Config, Description, mongo, redis};

struct SessionStorage;

impl Check for SessionStorage {
    fn describe() -> Description {
        Description::new("session-storage", "Where user sessions live: Redis, MongoDB or process memory")
    }

    fn run(config: &Config) -> Result<CheckReport, String> {
        let redis_error = match redis::ping() {
            Ok(latency_us) => {
                let pattern = config.str_or("session_key_pattern", "session:*");
                let limit = config.u64_or("max_session_keys", 100_000);
                let report = CheckReport::ok("redis").detail("sessions are stored in Redis").observe(
                    "redis_ping_latency",
                    latency_us as f64 / 1e6,
                    "seconds",
                );
                return Ok(match redis::count_keys(pattern, limit) {
                    Ok(sessions) => report.observe("active_sessions", sessions as f64, "count"),
                    Err(err) => {
                        report.detail(format!("sessions are stored in Redis; counting them failed: {}", err.message()))
                    }
                });
            }
            Err(err) => err.message().to_owned(),
        };
        let report = match mongo::hello(Endpoint::Primary) {
            Ok(_) => CheckReport::degraded("mongodb")
                .impact("slower session lookups")
                .detail(format!("Redis unavailable ({redis_error}); sessions fall back to MongoDB")),
            Err(mongo_error) => CheckReport::degraded("in-memory")
                .impact("sessions lost on restart and not shared between workers")
                .detail(format!(
                    "Redis unavailable ({redis_error}) and MongoDB unavailable ({}); sessions fall back to process memory",
                    mongo_error.message()
                )),
        };
        Ok(report.optimal("redis"))
    }
}

vigil_sdk::export!(check: SessionStorage);
