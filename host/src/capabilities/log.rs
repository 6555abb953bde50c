//! `log`: plugin log lines, tagged with the plugin, bounded in size and
//! rate.
//!
//! Each plugin has a token bucket (`limits.log_lines_per_second`, refilled
//! continuously, holding at most `limits.log_burst`): a line over it is
//! dropped and counted in `vigil_plugin_log_lines_dropped_total{plugin}`,
//! and one warning per [`WINDOW`] says how many were dropped. Only plugin
//! lines pass this bucket: the daemon's own events never wait for or lose
//! to a noisy plugin.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::manifest::Limits;
use crate::runtime::HostState;
use crate::runtime::bindings::host::vigil::plugin::log::{Host, Level};

/// How often a plugin's dropped lines are reported.
pub const WINDOW: Duration = Duration::from_secs(10);

/// A plugin's log quota, shared by all its stores.
#[derive(Debug)]
pub struct LogQuota {
    rate: f64,
    burst: f64,
    max_bytes: usize,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
    /// Lines dropped since the last report, and when that was.
    dropped: u64,
    reported: Instant,
}

/// What to do with a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Write it; `dropped` lines (since the last report) are to be reported first.
    Write {
        /// Lines dropped in the window that just ended.
        dropped: u64,
    },
    /// Drop it.
    Drop,
}

impl LogQuota {
    /// The quota a manifest's limits set.
    pub fn new(limits: &Limits) -> Self {
        let now = Instant::now();
        Self {
            rate: f64::from(limits.log_lines_per_second),
            burst: f64::from(limits.log_burst),
            max_bytes: limits.log_line_bytes as usize,
            state: Mutex::new(Bucket { tokens: f64::from(limits.log_burst), refilled: now, dropped: 0, reported: now }),
        }
    }

    /// Take a token for one line at `now`.
    pub fn take(&self, now: Instant) -> Verdict {
        let mut bucket = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.refilled = now;
        if bucket.tokens < 1.0 {
            bucket.dropped += 1;
            return Verdict::Drop;
        }
        bucket.tokens -= 1.0;
        Verdict::Write { dropped: Self::due(&mut bucket, now) }
    }

    /// Lines dropped in a window that has ended, to report now (and reset).
    pub fn flush(&self, now: Instant) -> u64 {
        let mut bucket = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        Self::due(&mut bucket, now)
    }

    fn due(bucket: &mut Bucket, now: Instant) -> u64 {
        if bucket.dropped == 0 || now.saturating_duration_since(bucket.reported) < WINDOW {
            return 0;
        }
        bucket.reported = now;
        std::mem::take(&mut bucket.dropped)
    }

    /// Longest message kept.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }
}

/// Report lines a plugin lost to its quota: the daemon's own event, never
/// subject to the quota.
pub fn report_dropped(plugin: &str, dropped: u64, limits: (u32, u32)) {
    if dropped > 0 {
        tracing::warn!(
            plugin,
            dropped,
            lines_per_second = limits.0,
            burst = limits.1,
            "plugin log lines over the quota were dropped"
        );
    }
}

impl Host for HostState {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let plugin = self.plugin.name.as_str();
        let quota = &self.plugin.log_quota;
        match quota.take(Instant::now()) {
            Verdict::Drop => {
                self.services.metrics.plugin_log_dropped(plugin);
                return Ok(());
            }
            Verdict::Write { dropped } => report_dropped(plugin, dropped, self.plugin.log_limits),
        }
        let message = clip(&message, quota.max_bytes());
        match level {
            Level::Trace => tracing::trace!(target: "vigil::plugin", plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "vigil::plugin", plugin, "{message}"),
            Level::Info => tracing::info!(target: "vigil::plugin", plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "vigil::plugin", plugin, "{message}"),
            Level::Error => tracing::error!(target: "vigil::plugin", plugin, "{message}"),
        }
        Ok(())
    }
}

fn clip(message: &str, max: usize) -> &str {
    if message.len() <= max {
        return message;
    }
    let mut end = max;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_long_messages_on_char_boundaries() {
        let long = "ü".repeat(4096);
        let clipped = clip(&long, 4096);
        assert!(clipped.len() <= 4096);
        assert!(clip("short", 4096) == "short");
    }

    #[test]
    fn a_burst_then_the_rate_then_one_report_per_window() {
        let limits = Limits { log_lines_per_second: 10, log_burst: 5, ..Limits::default() };
        let quota = LogQuota::new(&limits);
        let start = Instant::now();
        let written = (0..100).filter(|_| quota.take(start) != Verdict::Drop).count();
        assert_eq!(written, 5, "the burst, then nothing at the same instant");
        // Half a second later: five more tokens.
        let later = start + Duration::from_millis(500);
        let written = (0..100).filter(|_| quota.take(later) != Verdict::Drop).count();
        assert_eq!(written, 5);
        // After the window, the next line written carries the count.
        assert_eq!(quota.take(start + WINDOW + Duration::from_millis(100)), Verdict::Write { dropped: 190 });
        assert_eq!(quota.flush(start + WINDOW * 3), 0);
    }
}
