//! The soak under load: `vigil run` with every bundled plugin on a live
//! platform (persistent Redis, dockerd, a Celery worker, a drifting
//! snapshot), steady load on every route, a plugin replaced every few
//! seconds, a platform log through `vigil scrub --follow`, and dependencies
//! killed and restarted at random moments. Prints a report per window and
//! in total; exits 1 when anything went wrong.
//!
//!     cargo build -p vigil-host && cargo run -p vigil-tests --bin soak -- [DURATION]
//!
//! DURATION is humantime (`30m`, the default; `90s`). Needs root for
//! dockerd, and redis-server, celery, dockerd and docker on PATH.
//! `VIGIL_TEST_SEED` replays the random flap moments of an earlier run.

use std::time::Duration;

fn main() {
    let arg = std::env::args().nth(1);
    if matches!(arg.as_deref(), Some("-h" | "--help")) {
        println!("usage: soak [DURATION]   (default 30m; e.g. 90s, 10m)");
        return;
    }
    let duration = match arg.as_deref().map(humantime::parse_duration) {
        None => Duration::from_secs(30 * 60),
        Some(Ok(duration)) => duration,
        Some(Err(err)) => {
            eprintln!("soak: DURATION: {err}");
            std::process::exit(2);
        }
    };
    let options = vigil_tests::soak::Options::for_duration(duration);
    eprintln!("soak: {options:?}");
    let Some(report) = vigil_tests::soak::run(&options) else {
        std::process::exit(2);
    };
    print!("{}", report.render());
    let problems = report.problems();
    for problem in &problems {
        println!("PROBLEM: {problem}");
    }
    std::process::exit(i32::from(!problems.is_empty()));
}
