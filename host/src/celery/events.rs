//! Decoding Celery's event stream. Each pub/sub message on
//! `/{db}.celeryev/{routing_key}` is a Kombu envelope whose base64 `body`
//! holds one event object, or (routing key `task.multi`) a list of them.
//! Only `task-received` and `task-sent` name the task; other task events are
//! matched to it by uuid.

use std::collections::{HashMap, HashSet, VecDeque};

use base64::Engine as _;
use serde_json::Value;

/// Task uuids remembered for naming later events.
const NAMES_KEPT: usize = 100_000;

/// One decoded event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A task state change.
    Task {
        /// `sent`, `received`, `started`, `succeeded`, `failed`, `retried`, `rejected`, `revoked`.
        state: String,
        /// The task's name, when known.
        name: Option<String>,
        /// Its uuid.
        uuid: String,
        /// Run time in seconds (`succeeded` only).
        runtime: Option<f64>,
    },
    /// A worker said it is alive (`online`, `heartbeat`) or leaving (`offline`).
    Worker {
        /// `online`, `heartbeat` or `offline`.
        state: String,
        /// Its hostname.
        hostname: String,
        /// When (Unix seconds, the worker's clock).
        timestamp: f64,
        /// Heartbeat interval in seconds.
        freq: f64,
    },
}

/// Decode one pub/sub payload into its events. Malformed payloads give an
/// error naming what is wrong; they never panic.
pub fn decode(payload: &[u8]) -> Result<Vec<Event>, String> {
    let envelope: Value = serde_json::from_slice(payload).map_err(|err| format!("not JSON: {err}"))?;
    let body = envelope.get("body").ok_or("no body")?;
    let body: Value = match (body, envelope.pointer("/properties/body_encoding").and_then(Value::as_str)) {
        (Value::String(text), Some("base64")) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|err| format!("bad base64 body: {err}"))?;
            serde_json::from_slice(&bytes).map_err(|err| format!("body is not JSON: {err}"))?
        }
        (Value::String(text), _) => serde_json::from_str(text).map_err(|err| format!("body is not JSON: {err}"))?,
        (other, _) => other.clone(),
    };
    let events = match body {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => return Err("body is neither an event nor a list of events".to_owned()),
    };
    Ok(events.iter().filter_map(event).collect())
}

fn event(value: &Value) -> Option<Event> {
    let kind = value.get("type")?.as_str()?;
    if let Some(state) = kind.strip_prefix("task-") {
        return Some(Event::Task {
            state: state.to_owned(),
            name: value.get("name").and_then(Value::as_str).map(str::to_owned),
            uuid: value.get("uuid")?.as_str()?.to_owned(),
            runtime: value.get("runtime").and_then(Value::as_f64),
        });
    }
    let state = kind.strip_prefix("worker-")?;
    Some(Event::Worker {
        state: state.to_owned(),
        hostname: value.get("hostname")?.as_str()?.to_owned(),
        timestamp: value.get("timestamp").and_then(Value::as_f64).unwrap_or(0.0),
        freq: value.get("freq").and_then(Value::as_f64).unwrap_or(2.0),
    })
}

/// Distinct task names kept as metric labels; later ones count as `other`,
/// so a hostile or buggy publisher cannot grow the exposition without end.
pub const TASK_LABELS_KEPT: usize = 1_000;
/// Workers remembered at once (expired ones are forgotten first).
pub const WORKERS_KEPT: usize = 10_000;
/// The task states Celery publishes; anything else counts as `other`.
const TASK_STATES: &[&str] = &["sent", "received", "started", "succeeded", "failed", "retried", "rejected", "revoked"];

/// What the consumer has learned from the stream: task names by uuid, the
/// task labels in use, and each worker's last heartbeat.
#[derive(Debug, Default)]
pub struct StreamState {
    names: TaskNames,
    labels: HashSet<String>,
    /// hostname -> (timestamp, heartbeat interval), both in seconds.
    workers: HashMap<String, (f64, f64)>,
}

/// What one event does to the metrics, in bounded label values.
#[derive(Debug, PartialEq)]
pub enum Update {
    /// Count a task event; observe its run time when there is one.
    Task {
        /// Task name label (`unknown`, `other` or a name).
        task: String,
        /// State label (one of Celery's states or `other`).
        state: &'static str,
        /// A finite, non-negative run time of a succeeded task.
        runtime: Option<f64>,
    },
    /// Worker liveness changed; recount with [`StreamState::workers_online`].
    Workers,
}

impl StreamState {
    /// Learn from `event` and say what to record.
    pub fn apply(&mut self, event: Event) -> Update {
        match event {
            Event::Task { state, name, uuid, runtime } => {
                if let Some(name) = &name {
                    self.names.learn(&uuid, name);
                }
                let name = name.as_deref().or_else(|| self.names.name(&uuid));
                let task = match name {
                    None => "unknown".to_owned(),
                    Some(name) if self.labels.contains(name) => name.to_owned(),
                    Some(name) if self.labels.len() < TASK_LABELS_KEPT => {
                        self.labels.insert(name.to_owned());
                        name.to_owned()
                    }
                    Some(_) => "other".to_owned(),
                };
                let state = TASK_STATES.iter().copied().find(|s| *s == state).unwrap_or("other");
                let runtime = runtime.filter(|r| state == "succeeded" && r.is_finite() && *r >= 0.0);
                Update::Task { task, state, runtime }
            }
            Event::Worker { state, hostname, timestamp, freq } => {
                if state == "offline" {
                    self.workers.remove(&hostname);
                } else if timestamp.is_finite() && freq.is_finite() && freq > 0.0 {
                    if self.workers.len() >= WORKERS_KEPT && !self.workers.contains_key(&hostname) {
                        self.forget_expired(now());
                    }
                    if self.workers.len() < WORKERS_KEPT || self.workers.contains_key(&hostname) {
                        self.workers.insert(hostname, (timestamp, freq.min(3600.0)));
                    }
                }
                Update::Workers
            }
        }
    }

    /// Workers whose heartbeat is current (two intervals), forgetting the rest.
    pub fn workers_online(&mut self) -> usize {
        self.forget_expired(now());
        self.workers.len()
    }

    fn forget_expired(&mut self, now: f64) {
        self.workers.retain(|_, (at, freq)| now < *at + 2.0 * *freq);
    }
}

fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}

/// Remembers which task a uuid belongs to (bounded, oldest forgotten first).
#[derive(Debug, Default)]
pub struct TaskNames {
    names: HashMap<String, String>,
    order: VecDeque<String>,
}

impl TaskNames {
    /// Learn `uuid` → `name`.
    pub fn learn(&mut self, uuid: &str, name: &str) {
        if self.names.insert(uuid.to_owned(), name.to_owned()).is_none() {
            self.order.push_back(uuid.to_owned());
            if self.order.len() > NAMES_KEPT
                && let Some(old) = self.order.pop_front()
            {
                self.names.remove(&old);
            }
        }
    }

    /// The name of `uuid`, if seen.
    pub fn name(&self, uuid: &str) -> Option<&str> {
        self.names.get(uuid).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(body: &Value) -> Vec<u8> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(body.to_string());
        serde_json::json!({ "body": encoded, "properties": { "body_encoding": "base64" } }).to_string().into_bytes()
    }

    #[test]
    fn single_and_batched_events_decode() {
        let one = serde_json::json!({ "type": "task-received", "uuid": "u1", "name": "app.sync", "hostname": "w" });
        assert_eq!(
            decode(&wrap(&one)).unwrap(),
            [Event::Task { state: "received".into(), name: Some("app.sync".into()), uuid: "u1".into(), runtime: None }]
        );
        let batch = serde_json::json!([
            { "type": "task-started", "uuid": "u1" },
            { "type": "task-succeeded", "uuid": "u1", "runtime": 0.25 },
            { "type": "worker-heartbeat", "hostname": "w@h", "timestamp": 10.0, "freq": 2.0 },
        ]);
        let events = decode(&wrap(&batch)).unwrap();
        assert_eq!(events.len(), 3);
        assert!(matches!(&events[1], Event::Task { runtime: Some(r), .. } if *r == 0.25));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(b"not json").is_err());
        assert!(decode(br#"{"body": "%%%", "properties": {"body_encoding": "base64"}}"#).is_err());
        assert!(decode(br#"{"body": 5}"#).is_err());
        assert_eq!(decode(br#"{"body": {"type": "task-started"}}"#).unwrap(), []);
    }

    #[test]
    fn names_are_bounded() {
        let mut names = TaskNames::default();
        for i in 0..NAMES_KEPT + 10 {
            names.learn(&i.to_string(), "t");
        }
        assert_eq!(names.name("0"), None);
        assert_eq!(names.name(&(NAMES_KEPT + 9).to_string()), Some("t"));
    }

    fn task(state: &str, name: &str, runtime: f64) -> Event {
        Event::Task {
            state: state.to_owned(),
            name: Some(name.to_owned()),
            uuid: name.to_owned(),
            runtime: Some(runtime),
        }
    }

    #[test]
    fn hostile_events_stay_within_bounded_labels() {
        let mut state = StreamState::default();
        for i in 0..TASK_LABELS_KEPT + 5 {
            state.apply(task("sent", &format!("t{i}"), 0.0));
        }
        let Update::Task { task: label, .. } = state.apply(task("sent", "one-more", 0.0)) else { panic!("task") };
        assert_eq!(label, "other");
        let Update::Task { task: label, .. } = state.apply(task("sent", "t0", 0.0)) else { panic!("task") };
        assert_eq!(label, "t0", "names seen before the cap keep their label");
        assert_eq!(
            state.apply(task("made-up", "t1", 1.0)),
            Update::Task { task: "t1".to_owned(), state: "other", runtime: None }
        );
        for bad in [f64::NAN, f64::INFINITY, -1.0] {
            assert_eq!(
                state.apply(task("succeeded", "t2", bad)),
                Update::Task { task: "t2".to_owned(), state: "succeeded", runtime: None }
            );
        }
        let worker = |timestamp: f64, freq: f64| Event::Worker {
            state: "heartbeat".to_owned(),
            hostname: format!("w{timestamp}{freq}"),
            timestamp,
            freq,
        };
        state.apply(worker(f64::NAN, 2.0));
        state.apply(worker(now(), f64::INFINITY));
        state.apply(worker(now() - 100.0, 2.0));
        state.apply(worker(now(), 2.0));
        assert_eq!(state.workers_online(), 1);
    }
}
