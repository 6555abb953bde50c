//! Per-source fixed-window rate limiting: at most `limit` requests from one
//! address in each `window`. Fixed windows are what the security events
//! report (`limit` per `window`), and they are cheap to reason about. The
//! clock is a parameter, so tests are exact.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Sources tracked before expired windows are swept.
const SWEEP_AT: usize = 4096;

/// The rate limiter.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl RateLimiter {
    /// `limit` requests per `window` per source.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window, windows: Mutex::new(HashMap::new()) }
    }

    /// The budget.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Count a request from `source` at `now`; `false` when it is over budget.
    pub fn allow(&self, source: IpAddr, now: Instant) -> bool {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = windows.entry(source).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            return false;
        }
        entry.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_source_gets_its_own_budget_per_window() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        assert!(limiter.allow(a, t0));
        assert!(limiter.allow(a, t0 + Duration::from_secs(1)));
        assert!(!limiter.allow(a, t0 + Duration::from_secs(2)), "third request in the window");
        assert!(limiter.allow(b, t0 + Duration::from_secs(2)), "another source is not affected");
        assert!(!limiter.allow(a, t0 + Duration::from_secs(59)));
        assert!(limiter.allow(a, t0 + Duration::from_secs(60)), "a new window starts");
    }

    #[test]
    fn a_zero_limit_refuses_everything() {
        let limiter = RateLimiter::new(0, Duration::from_secs(1));
        assert!(!limiter.allow("::1".parse().unwrap(), Instant::now()));
    }
}
