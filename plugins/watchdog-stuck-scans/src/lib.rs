//! Scan runs stuck in `RUNNING`: each one older than `stuck_scan_hours` is a
//! finding with a dispatch of the recovery task for that run (deduplicated
//! by run id, so a run is recovered once per cooldown).

use serde_json::json;
use vigil_sdk::documents::{self, date, date_ms, field};
use vigil_sdk::{Config, Description, DispatchRequest, Finding, Severity, Watchdog};

struct StuckScans;

impl Watchdog for StuckScans {
    fn describe() -> Description {
        Description::new("scan-orchestration", "Scan runs stuck in RUNNING longer than STUCK_SCAN_HOURS")
    }

    fn evaluate(config: &Config) -> Result<Vec<Finding>, String> {
        let collection = config.str_or("collection", "cspm_orchestration.scan_runs");
        let id_field = config.str_or("id_field", "run_id");
        let status_field = config.str_or("status_field", "status");
        let started_field = config.str_or("started_field", "started_at");
        let hours = config.u64_or("stuck_scan_hours", 4);
        let task = config.str_or("recovery_task", "app.tasks.cspm.recover_stuck_scan");
        let limit = u32::try_from(config.u64_or("max_findings", 100)).unwrap_or(100);

        let now = documents::now_ms();
        let cutoff = now.saturating_sub(hours * 3_600_000);
        let mut filter = serde_json::Map::new();
        filter.insert(status_field.to_owned(), json!(config.str_or("running_status", "RUNNING")));
        filter.insert(started_field.to_owned(), json!({ "$lt": date(cutoff) }));
        let filter = serde_json::Value::Object(filter);
        let projection = json!({ id_field: 1, started_field: 1 });
        let sort = json!({ started_field: 1 });
        let stuck = documents::find(collection, &filter, Some(&projection), Some(&sort), limit)
            .map_err(|err| format!("{collection}: {}", err.message()))?;
        let total = documents::count(collection, &filter).map_err(|err| format!("{collection}: {}", err.message()))?;

        let mut findings = Vec::with_capacity(stuck.len());
        for run in &stuck {
            let Some(id) = field(run, id_field).and_then(|v| v.as_str()).map(str::to_owned) else { continue };
            let hours_running = field(run, started_field).and_then(date_ms).map(|t| now.saturating_sub(t) / 3_600_000);
            let detail = match hours_running {
                Some(h) => format!("scan run {id} has been RUNNING for {h} h (limit {hours} h)"),
                None => format!("scan run {id} has been RUNNING for more than {hours} h"),
            };
            let dispatch = DispatchRequest::task(task, format!("stuck-scan:{id}")).args_json(json!([id]).to_string());
            findings.push(Finding::new("stuck-scan", Severity::Warning, id, detail).dispatch(dispatch));
        }
        if total > stuck.len() as u64 {
            vigil_sdk::log!(warn, "{} stuck scan runs; reporting the {} oldest", total, stuck.len());
        }
        Ok(findings)
    }
}

vigil_sdk::export!(watchdog: StuckScans);
