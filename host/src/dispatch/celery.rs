//! Celery task messages (protocol version 2) pushed onto a Redis broker the
//! way Kombu's Redis transport does: one `LPUSH <queue>` of a JSON envelope
//! whose `body` is base64 of `[args, kwargs, embed]`. A malformed message
//! crashes or silently loses work in every worker that takes it, so each
//! envelope is validated before it is pushed. After the push, a `task-sent`
//! event is published on the broker's event channel, as Celery does with
//! `task_send_sent_event`, so event consumers see Vigil's dispatches.

use base64::Engine as _;
use serde_json::{Value, json};

/// A task to send.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskMessage {
    /// Task id (uuid4).
    pub id: String,
    /// Registered task name.
    pub task: String,
    /// Positional arguments (a JSON array).
    pub args: Value,
    /// Keyword arguments (a JSON object).
    pub kwargs: Value,
    /// Queue (the Redis list key).
    pub queue: String,
}

fn encode(value: &Value) -> String {
    base64::engine::general_purpose::STANDARD.encode(value.to_string())
}

/// The envelope Celery workers accept, or why it would not be accepted.
pub fn envelope(message: &TaskMessage, origin: &str) -> Result<Value, String> {
    if message.task.trim().is_empty() {
        return Err("task name is empty".to_owned());
    }
    if message.queue.trim().is_empty() {
        return Err("queue is empty".to_owned());
    }
    if !message.args.is_array() {
        return Err(format!("args of {} must be a JSON array", message.task));
    }
    if !message.kwargs.is_object() {
        return Err(format!("kwargs of {} must be a JSON object", message.task));
    }
    let embed = json!({ "callbacks": null, "errbacks": null, "chain": null, "chord": null });
    let body = json!([message.args, message.kwargs, embed]);
    Ok(json!({
        "body": encode(&body),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py",
            "task": message.task,
            "id": message.id,
            "shadow": null,
            "eta": null,
            "expires": null,
            "group": null,
            "group_index": null,
            "retries": 0,
            "timelimit": [null, null],
            "root_id": message.id,
            "parent_id": null,
            "argsrepr": message.args.to_string(),
            "kwargsrepr": message.kwargs.to_string(),
            "origin": origin,
            "ignore_result": false,
        },
        "properties": {
            "correlation_id": message.id,
            "reply_to": "",
            "delivery_mode": 2,
            "delivery_info": { "exchange": "", "routing_key": message.queue },
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": uuid::Uuid::new_v4().to_string(),
        },
    }))
}

/// The `task-sent` event for `message`, in the event envelope.
pub fn sent_event(message: &TaskMessage, hostname: &str, now_unix: f64) -> Value {
    let event = json!({
        "type": "task-sent",
        "uuid": message.id,
        "name": message.task,
        "args": message.args.to_string(),
        "kwargs": message.kwargs.to_string(),
        "queue": message.queue,
        "exchange": "",
        "routing_key": message.queue,
        "hostname": hostname,
        "timestamp": now_unix,
        "utcoffset": 0,
        "pid": std::process::id(),
        "clock": 0,
    });
    json!({
        "body": encode(&event),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": { "hostname": hostname },
        "properties": {
            "delivery_mode": 2,
            "delivery_info": { "exchange": "celeryev", "routing_key": "task.sent" },
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": uuid::Uuid::new_v4().to_string(),
        },
    })
}

/// The database number of a Redis URL (`redis://h:p/3` → 3; default 0):
/// Celery's event channels are named after it.
pub fn redis_db(url: &str) -> u32 {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = rest.split_once('/').map_or("", |(_, path)| path);
    path.split(['?', '#']).next().and_then(|db| db.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> TaskMessage {
        TaskMessage {
            id: "0a1b".into(),
            task: "app.tasks.sync".into(),
            args: json!(["run-1"]),
            kwargs: json!({ "force": true }),
            queue: "celery".into(),
        }
    }

    #[test]
    fn the_body_is_args_kwargs_and_embed() {
        let envelope = envelope(&message(), "vigil@host").unwrap();
        let body = base64::engine::general_purpose::STANDARD.decode(envelope["body"].as_str().unwrap()).unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body[0], json!(["run-1"]));
        assert_eq!(body[1], json!({ "force": true }));
        assert_eq!(body[2]["chord"], Value::Null);
        assert_eq!(envelope["content-type"], "application/json");
        assert_eq!(envelope["headers"]["id"], "0a1b");
        assert_eq!(envelope["properties"]["delivery_info"]["routing_key"], "celery");
    }

    #[test]
    fn malformed_messages_are_refused() {
        let mut bad = message();
        bad.args = json!({ "not": "a list" });
        assert!(envelope(&bad, "v").unwrap_err().contains("args"));
        let mut bad = message();
        bad.task = " ".into();
        assert!(envelope(&bad, "v").is_err());
    }

    #[test]
    fn database_numbers_come_from_the_url() {
        assert_eq!(redis_db("redis://127.0.0.1:6379/3"), 3);
        assert_eq!(redis_db("redis://:pw@h:1/0?x=1"), 0);
        assert_eq!(redis_db("redis://h"), 0);
    }
}
