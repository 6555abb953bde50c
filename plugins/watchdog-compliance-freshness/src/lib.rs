//! Compliance data gone stale: the newest assessment is older than
//! `stale_compliance_hours` (or there is none); dispatch the refresh task.

use vigil_sdk::documents::{self, date_ms, field};
use vigil_sdk::{Config, Description, DispatchRequest, Finding, Severity, Watchdog};

struct ComplianceFreshness;

impl Watchdog for ComplianceFreshness {
    fn describe() -> Description {
        Description::new("compliance", "Newest compliance data older than STALE_COMPLIANCE_HOURS")
    }

    fn evaluate(config: &Config) -> Result<Vec<Finding>, String> {
        let collection = config.str_or("collection", "compliance.control_assessments");
        let stamp = config.str_or("timestamp_field", "assessed_at");
        let hours = config.u64_or("stale_compliance_hours", 5);
        let task = config.str_or("refresh_task", "app.tasks.compliance.refresh_compliance_data");
        let newest = documents::latest(collection, stamp, &serde_json::json!({}))
            .map_err(|err| format!("{collection}: {}", err.message()))?;
        let now = documents::now_ms();
        let detail = match newest.as_ref().and_then(|doc| field(doc, stamp)).and_then(date_ms) {
            Some(at) if now.saturating_sub(at) <= hours * 3_600_000 => return Ok(Vec::new()),
            Some(at) => {
                format!("newest compliance data is {} h old (limit {hours} h)", now.saturating_sub(at) / 3_600_000)
            }
            None => format!("no compliance data with a {stamp} date in {collection}"),
        };
        let dispatch = DispatchRequest::task(task, "compliance-refresh");
        Ok(vec![Finding::new("stale-compliance", Severity::Warning, collection, detail).dispatch(dispatch)])
    }
}

vigil_sdk::export!(watchdog: ComplianceFreshness);
