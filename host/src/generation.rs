//! A counter of state changes the probes answer from: a check result, the
//! plugin set, the configuration, a rejected version, a watchdog report, the
//! leadership, the index plan, a capability refusal. The HTTP server builds
//! each probe body once per value of this counter and serves the bytes
//! until it moves ([`crate::server`]).
//!
//! One counter per process: several daemons in one process (tests) only
//! rebuild more often, never serve a stale body.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

static GENERATION: AtomicU64 = AtomicU64::new(1);

/// Wakes whoever waits in [`changed`] (the live event stream).
static CHANGED: Notify = Notify::const_new();

/// Something the probes show changed.
pub fn bump() {
    GENERATION.fetch_add(1, Ordering::Release);
    CHANGED.notify_waiters();
}

/// Wait until the counter is no longer `since`.
pub async fn changed(since: u64) {
    loop {
        let notified = CHANGED.notified();
        tokio::pin!(notified);
        // Registered before the check, so a bump in between is not missed.
        notified.as_mut().enable();
        if current() != since {
            return;
        }
        notified.await;
    }
}

/// The current value.
pub fn current() -> u64 {
    GENERATION.load(Ordering::Acquire)
}
