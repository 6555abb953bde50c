//! Database: the primary MongoDB endpoint through the pooled client is
//! optimal; only the fallback endpoint answering is degraded; neither is down.

use vigil_sdk::mongo::{Endpoint, ServerInfo};
use vigil_sdk::{Check, CheckReport, Config, Description, mongo};

struct Database;

fn observed(report: CheckReport, info: &ServerInfo) -> CheckReport {
    report
        .observe("mongodb_hello_latency", info.latency_us as f64 / 1e6, "seconds")
        .observe_with("mongodb_version", 1.0, "info", &[("version", &info.version)])
        .observe("mongodb_writable", if info.writable { 1.0 } else { 0.0 }, "count")
}

impl Check for Database {
    fn describe() -> Description {
        Description::new("database", "Whether MongoDB answers through the primary manager or only the fallback client")
    }

    fn run(_config: &Config) -> Result<CheckReport, String> {
        let primary_error = match mongo::hello(Endpoint::Primary) {
            Ok(info) => {
                let report = CheckReport::ok("primary").detail(format!("primary MongoDB {} answers", info.version));
                return Ok(observed(report, &info));
            }
            Err(err) => err.message().to_owned(),
        };
        let report = match mongo::hello(Endpoint::Fallback) {
            Ok(info) => observed(
                CheckReport::degraded("fallback")
                    .impact("possible connection instability")
                    .detail(format!("primary MongoDB unavailable ({primary_error}); the fallback client answers")),
                &info,
            ),
            Err(fallback_error) => {
                CheckReport::down("none").impact("the platform cannot read or write data").detail(format!(
                    "primary MongoDB unavailable ({primary_error}); fallback unavailable ({})",
                    fallback_error.message()
                ))
            }
        };
        Ok(report.optimal("primary"))
    }
}

vigil_sdk::export!(check: Database);
