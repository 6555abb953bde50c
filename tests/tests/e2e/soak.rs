//! The soak's short version: five minutes (`VIGIL_SOAK_SECONDS` to change)
//! of everything at once (load on every route, plugin swaps, a scrubbed
//! log stream, drift, dependency kills), long enough for its memory check
//! to catch a leak of half a MiB a minute. The long run is
//! `cargo run -p vigil-tests --bin soak -- 30m`.

use std::time::Duration;

use vigil_tests::soak::{Options, run};

#[test]
fn five_minutes_of_everything_at_once() {
    let seconds = std::env::var("VIGIL_SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let Some(report) = run(&Options::for_duration(Duration::from_secs(seconds))) else { return };
    eprint!("{}", report.render());
    let problems = report.problems();
    assert!(problems.is_empty(), "the soak found problems:\n{}", problems.join("\n"));
    assert!(report.flaps.len() >= 3, "only {} flaps in {seconds} s", report.flaps.len());
    assert!(report.swaps >= 10, "only {} plugin swaps", report.swaps);
    assert!(report.log_lines.3 > 0, "nothing was redacted from the platform log");
    assert!(report.dispatches.get("dispatched").copied().unwrap_or(0.0) >= 1.0, "nothing was dispatched");
}
