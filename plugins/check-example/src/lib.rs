//! A check that always works: the smallest useful plugin.
use vigil_sdk::{Check, CheckReport, Config, Description};

struct Example;

impl Check for Example {
    fn describe() -> Description {
        Description::new("example", "Reports ok with the configured mode")
    }

    fn run(config: &Config) -> Result<CheckReport, String> {
        let mode = config.str_or("mode", "normal");
        vigil_sdk::log!(debug, "example check running in {mode}");
        Ok(CheckReport::ok(mode).detail("example check ran"))
    }
}

vigil_sdk::export!(check: Example);
