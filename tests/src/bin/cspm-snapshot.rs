//! Write a snapshot of the platform's collections with planted drift:
//! `cspm-snapshot [DIR] [--scans N] [--findings N] [--now TIME|now]`
//! (default: the example plan into `examples/cspm-snapshot/`, as of
//! `EXAMPLE_NOW`; dates are relative to that moment).

use std::path::PathBuf;
use std::time::SystemTime;

use vigil_tests::snapshot::{EXAMPLE_NOW, Plan, example_now, generate};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/cspm-snapshot"));
    let mut plan = Plan::example(example_now());
    while let Some(arg) = args.next() {
        let mut number = |what: &str| -> anyhow::Result<usize> {
            args.next().and_then(|v| v.parse().ok()).ok_or_else(|| anyhow::anyhow!("{what} needs a number"))
        };
        match arg.as_str() {
            "--scans" => plan.scans = number("--scans")?,
            "--findings" => plan.findings = [number("--findings")?; 3].map(|n| n / 3),
            "--now" => {
                let text = args.next().ok_or_else(|| anyhow::anyhow!("--now needs a time (RFC 3339) or `now`"))?;
                plan.now = if text == "now" { SystemTime::now() } else { humantime::parse_rfc3339_weak(&text)? };
            }
            "--help" | "-h" => {
                println!(
                    "cspm-snapshot [DIR] [--scans N] [--findings N] [--now TIME|now] (default --now {EXAMPLE_NOW})"
                );
                return Ok(());
            }
            other => dir = PathBuf::from(other),
        }
    }
    let planted = generate(&dir, &plan)?;
    println!(
        "wrote {}: {} stuck scans, drifting modules {:?}, stale compliance {}, {} duplicate dedup keys",
        dir.display(),
        planted.stuck_runs.len(),
        planted.drifting_modules,
        planted.stale_compliance,
        planted.duplicate_keys.len()
    );
    Ok(())
}
