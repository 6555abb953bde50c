//! `GET /health/events`: a Server-Sent Events stream of what changes, as
//! JSON events named `check` (a check's effective status moved), `plugin`
//! (a plugin loaded, updated or unloaded), `rejection` (a new version was
//! refused), `watchdog` (a rule was evaluated) and `readiness` (ready
//! flipped). A `hello` event opens each stream with the current readiness.
//!
//! One producer per daemon, started by the first subscriber: it waits for
//! the state counter ([`crate::generation`]) to move, compares what
//! `/health/status` and `/health/ready` say with what they said before, and
//! broadcasts the differences. A subscriber too slow to keep up loses the
//! oldest events and gets a `lagged` event saying how many.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt as _};
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};

use crate::daemon::Daemon;

/// Events buffered per subscriber before the oldest are dropped.
const BUFFER: usize = 256;

/// One event: its name and its JSON payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// `check`, `plugin`, `rejection`, `watchdog` or `readiness`.
    pub name: &'static str,
    /// The fields (see the README).
    pub data: Value,
}

/// Event streams open at once; one more is refused with 503. (A stream is an
/// answer in progress, which the connection watch never cuts, so without a
/// cap streams could hold every connection slot.)
pub const MAX_STREAMS: usize = 64;

/// The daemon's event channel.
pub struct Hub {
    sender: OnceLock<broadcast::Sender<Change>>,
    streams: Arc<Semaphore>,
}

impl Default for Hub {
    fn default() -> Self {
        Self { sender: OnceLock::new(), streams: Arc::new(Semaphore::new(MAX_STREAMS)) }
    }
}

impl Hub {
    /// A receiver, starting the producer on first use.
    fn subscribe(&self, daemon: &Arc<Daemon>) -> broadcast::Receiver<Change> {
        self.sender
            .get_or_init(|| {
                let (sender, _) = broadcast::channel(BUFFER);
                tokio::spawn(produce(Arc::downgrade(daemon), sender.clone()));
                sender
            })
            .subscribe()
    }
}

/// What the comparison looks at.
#[derive(Default)]
struct Seen {
    ready: Option<bool>,
    checks: BTreeMap<String, String>,
    plugins: BTreeMap<String, String>,
    rejections: BTreeMap<String, Value>,
    evaluations: BTreeMap<String, Value>,
}

impl Seen {
    fn of(status: &Value, ready: &Value) -> Self {
        let plugins = status["plugins"].as_array().map(Vec::as_slice).unwrap_or_default();
        let named = |p: &Value| p["name"].as_str().unwrap_or_default().to_owned();
        Self {
            ready: ready["status"].as_str().map(|s| s == "pass"),
            checks: plugins
                .iter()
                .filter_map(|p| p["status"].as_str().map(|status| (named(p), status.to_owned())))
                .collect(),
            plugins: plugins.iter().map(|p| (named(p), p["version"].as_str().unwrap_or_default().to_owned())).collect(),
            rejections: status["rejected_plugins"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| (format!("{}@{}", r["name"].as_str().unwrap_or("?"), r["version"]), r.clone()))
                .collect(),
            evaluations: status["watchdog"]["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| (r["plugin"].as_str().unwrap_or_default().to_owned(), r.clone()))
                .collect(),
        }
    }
}

/// The events that lead from `before` to `now`.
fn differences(before: &Seen, now: &Seen, status: &Value, ready: &Value) -> Vec<Change> {
    let mut changes = Vec::new();
    let plugin = |name: &str| {
        status["plugins"].as_array().into_iter().flatten().find(|p| p["name"] == name).cloned().unwrap_or_default()
    };
    for (name, to) in &now.checks {
        let from = before.checks.get(name);
        if from.is_some_and(|from| from != to) {
            let p = plugin(name);
            let result = &p["result"];
            changes.push(Change {
                name: "check",
                data: json!({
                    "check": name, "from": from, "to": to, "critical": p["critical"],
                    "mode": result["mode"], "optimal_mode": result["optimal_mode"],
                    "impact": result["impact"], "detail": result["detail"], "at": result["started_at"],
                }),
            });
        }
    }
    for (name, version) in &now.plugins {
        match before.plugins.get(name) {
            Some(old) if old == version => {}
            old => {
                let p = plugin(name);
                let change = if old.is_some() { "updated" } else { "loaded" };
                changes.push(Change {
                    name: "plugin",
                    data: json!({ "plugin": name, "kind": p["kind"], "change": change, "version": version, "previous_version": old }),
                });
            }
        }
    }
    for (name, version) in &before.plugins {
        if !now.plugins.contains_key(name) {
            changes.push(Change {
                name: "plugin",
                data: json!({ "plugin": name, "change": "unloaded", "version": Value::Null, "previous_version": version }),
            });
        }
    }
    for (key, rejection) in &now.rejections {
        if before.rejections.get(key) != Some(rejection) {
            changes.push(Change { name: "rejection", data: rejection.clone() });
        }
    }
    for (rule, report) in &now.evaluations {
        if before.evaluations.get(rule).map(|r| &r["evaluated_at"]) != Some(&report["evaluated_at"]) {
            changes.push(Change { name: "watchdog", data: report.clone() });
        }
    }
    if before.ready.is_some() && before.ready != now.ready {
        changes.push(Change { name: "readiness", data: readiness(ready) });
    }
    changes
}

/// `ready` and the critical checks that fail.
fn readiness(ready: &Value) -> Value {
    let failing: Vec<Value> = ready["checks"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| v["passed"] == false)
        .map(|(name, v)| json!({ "check": name, "status": v["status"], "detail": v["detail"] }))
        .collect();
    json!({ "ready": ready["status"] == "pass", "failing": failing })
}

async fn produce(daemon: Weak<Daemon>, sender: broadcast::Sender<Change>) {
    let mut generation = crate::generation::current();
    let mut seen = match daemon.upgrade() {
        Some(daemon) => {
            let (status, ready) = super::health::documents(&daemon);
            Seen::of(&status, &ready)
        }
        None => return,
    };
    loop {
        crate::generation::changed(generation).await;
        // Let a burst of changes (a reload, a round of checks) settle.
        tokio::time::sleep(Duration::from_millis(50)).await;
        generation = crate::generation::current();
        let Some(daemon) = daemon.upgrade() else { return };
        let (status, ready) = super::health::documents(&daemon);
        drop(daemon);
        let now = Seen::of(&status, &ready);
        for change in differences(&seen, &now, &status, &ready) {
            // No subscriber left is fine: the next one gets later events.
            let _ = sender.send(change);
        }
        seen = now;
    }
}

/// The stream.
pub async fn stream(State(daemon): State<Arc<Daemon>>) -> Response {
    let Ok(slot) = Arc::clone(&daemon.events.streams).try_acquire_owned() else {
        let message = format!("{MAX_STREAMS} event streams are open; try again later");
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": message }))).into_response();
    };
    let receiver = daemon.events.subscribe(&daemon);
    let (_, ready) = super::health::documents(&daemon);
    let mut hello = readiness(&ready);
    super::page::scrub(&mut hello);
    let hello = Event::default().event("hello").data(hello.to_string());
    let events = futures_util::stream::once(async move { Ok::<_, Infallible>(hello) }).chain(changes(receiver, slot));
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

/// The stream's events; it holds its `slot` among [`MAX_STREAMS`] until dropped.
fn changes(
    receiver: broadcast::Receiver<Change>,
    slot: OwnedSemaphorePermit,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold((receiver, slot), |(mut receiver, slot)| async move {
        let event = match receiver.recv().await {
            Ok(mut change) => {
                // Each text passes the scrubber (not the JSON as a whole,
                // whose quotes a redaction must not eat).
                super::page::scrub(&mut change.data);
                Event::default().event(change.name).data(change.data.to_string())
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                Event::default().event("lagged").data(json!({ "missed": missed }).to_string())
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(event), (receiver, slot)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(checks: &[(&str, &str, &str)], rejected: Value, evaluated: f64) -> Value {
        json!({
            "plugins": checks.iter().map(|(n, s, v)| json!({"name": n, "kind": "check", "status": s, "version": v,
                "critical": true, "result": {"mode": "m", "detail": "d"}})).collect::<Vec<_>>(),
            "rejected_plugins": rejected,
            "watchdog": {"rules": [{"plugin": "stuck-scans", "evaluated_at": evaluated, "findings": []}]},
        })
    }

    #[test]
    fn each_kind_of_change_is_one_event() {
        let ready = json!({"status": "pass", "checks": {"cache": {"passed": true}}});
        let before = status(&[("cache", "ok", "1.0"), ("old", "ok", "1.0")], json!([]), 1.0);
        let after = status(
            &[("cache", "degraded", "1.1"), ("new", "unknown", "0.1")],
            json!([{"name": "cache", "version": "2.0", "reason": "not wasm"}]),
            2.0,
        );
        let not_ready =
            json!({"status": "fail", "checks": {"cache": {"passed": false, "status": "degraded", "detail": "x"}}});
        let changes = differences(&Seen::of(&before, &ready), &Seen::of(&after, &not_ready), &after, &not_ready);
        let names: Vec<&str> = changes.iter().map(|c| c.name).collect();
        assert_eq!(names, ["check", "plugin", "plugin", "plugin", "rejection", "watchdog", "readiness"]);
        assert_eq!(changes[0].data["from"], "ok");
        assert_eq!(changes[0].data["to"], "degraded");
        assert_eq!(changes[1].data["change"], "updated");
        assert_eq!(changes[2].data["change"], "loaded");
        assert_eq!(changes[3].data["change"], "unloaded");
        assert_eq!(
            changes[6].data,
            json!({"ready": false, "failing": [{"check": "cache", "status": "degraded", "detail": "x"}]})
        );
        // Nothing changed, nothing sent.
        let same = Seen::of(&after, &not_ready);
        assert!(differences(&same, &Seen::of(&after, &not_ready), &after, &not_ready).is_empty());
    }
}
