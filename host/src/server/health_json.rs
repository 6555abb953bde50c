//! `/health/status` in the health check response format
//! (`application/health+json`, draft-inadarei-api-health-check): `status`
//! pass/warn/fail and `checks` keyed `component:measurement`.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::cache::Body;

use super::health::PluginStatus;
use crate::results::Status;

/// pass / warn / fail.
pub fn health_status(status: Status) -> &'static str {
    match status {
        Status::Ok => "pass",
        Status::Degraded | Status::Unknown => "warn",
        Status::Down => "fail",
    }
}

fn unit(unit: &str) -> &str {
    match unit {
        "seconds" => "s",
        "bytes" => "By",
        other => other,
    }
}

pub fn render(overall: Status, plugins: &[PluginStatus]) -> Body {
    let mut checks: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for plugin in plugins.iter().filter(|p| p.status.is_some()) {
        let status = plugin.status.map_or("warn", health_status);
        let component = plugin.subsystem.clone().unwrap_or_else(|| plugin.name.clone());
        let Some(result) = &plugin.result else {
            checks.entry(format!("{component}:status")).or_default().push(json!({
                "componentId": plugin.name,
                "status": status,
                "output": "has not run yet",
            }));
            continue;
        };
        let time = humantime::format_rfc3339_millis(result.started_at).to_string();
        checks.entry(format!("{component}:status")).or_default().push(json!({
            "componentId": plugin.name,
            "status": status,
            "observedValue": result.mode,
            "affectedEndpoints": [],
            "time": time,
            "output": if result.status == Status::Ok { String::new() } else { result.detail.clone() },
        }));
        checks.entry(format!("{component}:duration")).or_default().push(json!({
            "componentId": plugin.name,
            "observedValue": result.duration.as_secs_f64(),
            "observedUnit": "s",
            "status": status,
            "time": time,
        }));
        for observation in &result.observations {
            let mut entry = json!({
                "componentId": plugin.name,
                "observedValue": observation.value,
                "observedUnit": unit(&observation.unit),
                "status": status,
                "time": time,
            });
            if !observation.labels.is_empty() {
                entry["labels"] = json!(observation.labels);
            }
            checks.entry(format!("{component}:{}", observation.name)).or_default().push(entry);
        }
    }
    let body = json!({
        "status": health_status(overall),
        "version": "1",
        "releaseId": env!("CARGO_PKG_VERSION"),
        "serviceId": "vigil",
        "description": "Vigil: platform subsystem health",
        "checks": checks,
    });
    Body::new(StatusCode::OK, "application/health+json", body.to_string().into())
}
