//! A counter of state changes the probes answer from: a check result, the
//! plugin set, the configuration, a rejected version, a watchdog report, the
//! leadership, the index plan, a capability refusal. The HTTP server builds
//! each probe body once per value of this counter and serves the bytes
//! until it moves ([`crate::server`]).
//!
//! One counter per process: several daemons in one process (tests) only
//! rebuild more often, never serve a stale body.

use std::sync::atomic::{AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(1);

/// Something the probes show changed.
pub fn bump() {
    GENERATION.fetch_add(1, Ordering::Release);
}

/// The current value.
pub fn current() -> u64 {
    GENERATION.load(Ordering::Acquire)
}
