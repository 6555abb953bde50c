//! Rendering `/metrics` from a snapshot: the event families plus the state
//! of 5 (the bundled set) and 1,000 synthetic checks, each with a result and
//! three observations, a plugin-info series each, and the scrubber families.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use vigil_host::metrics::{CheckView, Metrics, Snapshot, render_state};
use vigil_host::results::{CheckRecord, CheckResult, Observation, Status};

fn record(i: usize) -> CheckRecord {
    let status = [Status::Ok, Status::Degraded, Status::Down][i % 3];
    let observation = |name: &str, value: f64, labels: &[(&str, &str)]| Observation {
        name: name.into(),
        value,
        unit: "seconds".into(),
        labels: labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    };
    CheckRecord {
        effective: status,
        latest: Some(CheckResult {
            status,
            mode: if i.is_multiple_of(3) { "redis".into() } else { "in-memory".into() },
            optimal_mode: "redis".into(),
            impact: String::new(),
            detail: "synthetic".into(),
            observations: vec![
                observation("ping_latency", 0.001, &[]),
                observation("query_latency", 0.002, &[("collection", "findings")]),
                observation("tool_latency", 0.003, &[("tool", "trivy")]),
            ],
            fault: None,
            started_at: SystemTime::now(),
            duration: Duration::from_millis(3),
        }),
        streak: 1,
        runs: 10,
        faults: 0,
        transitions: Vec::new(),
    }
}

fn render(c: &mut Criterion) {
    let metrics = Metrics::new().expect("metrics");
    for size in [5usize, 1000] {
        let names: Vec<String> = (0..size).map(|i| format!("check-{i}")).collect();
        let records: BTreeMap<String, CheckRecord> =
            names.iter().enumerate().map(|(i, n)| (n.clone(), record(i))).collect();
        for (i, name) in names.iter().enumerate() {
            if let Some(result) = &records[name].latest {
                metrics.check_ran(name, result);
                let route = vigil_host::metrics::http::route_id(["/health/ready", "/health/status", "/metrics"][i % 3]);
                metrics.http().record(route, 0, 200, Duration::from_micros(80));
            }
        }
        let views: Vec<CheckView<'_>> = names
            .iter()
            .enumerate()
            .map(|(i, name)| CheckView {
                name,
                subsystem: name,
                critical: i.is_multiple_of(10),
                record: records.get(name),
            })
            .collect();
        let plan = vigil_host::indexes::Plan::default();
        let snapshot = Snapshot {
            checks: views.clone(),
            ready_on_degraded: true,
            plugins: names.iter().map(|n| (n.as_str(), "check", "0.1.0".to_owned())).collect(),
            index_plan: &plan,
            scrubber_rules: vec!["secret-assignment", "jwt", "aws-access-key-id"],
        };
        let exposition = metrics.render(&snapshot);
        println!("exposition with {size} checks: {} bytes, {} lines", exposition.len(), exposition.lines().count());
        c.bench_function(&format!("event families, {size} checks"), |b| b.iter(|| metrics.render_events().len()));
        c.bench_function(&format!("state families, {size} checks"), |b| b.iter(|| render_state(&views, true).len()));
        c.bench_function(&format!("render /metrics, {size} checks"), |b| b.iter(|| metrics.render(&snapshot).len()));
    }
}

criterion_group!(benches, render);
criterion_main!(benches);
