//! Decoding Celery's event stream. Each pub/sub message on
//! `/{db}.celeryev/{routing_key}` is a Kombu envelope whose base64 `body`
//! holds one event object, or (routing key `task.multi`) a list of them.
//! Only `task-received` and `task-sent` name the task; other task events are
//! matched to it by uuid.

use std::collections::{HashMap, VecDeque};

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
}
