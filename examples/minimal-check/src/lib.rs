//! A minimal Vigil check: reads a threshold from its config, measures
//! something (here: the host clock), and reports ok or degraded.

use vigil_sdk::{Check, CheckReport, Config, Description, clock};

struct MinimalCheck;

impl Check for MinimalCheck {
    fn describe() -> Description {
        Description::new("example", "Compares the host clock against a configured threshold")
    }

    fn run(config: &Config) -> Result<CheckReport, String> {
        let threshold = config.u64_or("threshold_seconds", 60);
        let now_seconds = clock::now_unix_ms() / 1000;
        vigil_sdk::log!(debug, "threshold is {threshold}s");
        let report = if now_seconds % threshold.max(1) == 0 {
            CheckReport::degraded("fallback").optimal("normal").impact("nothing, this is an example")
        } else {
            CheckReport::ok("normal")
        };
        Ok(report
            .detail(format!("clock reads {now_seconds}s"))
            .observe("threshold", threshold as f64, "seconds"))
    }
}

vigil_sdk::export!(check: MinimalCheck);
