//! The dispatcher: turns a watchdog finding's dispatch request into a
//! Celery task on the platform's Redis broker, a webhook call, or a log line
//! (dry run), at most once per dedupe key and cooldown across replicas.

pub mod celery;
pub mod coordination;
pub mod webhook;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};

use crate::capabilities::redis::RedisBackend;
pub use coordination::Coordination;

/// Where dispatches go.
pub enum Target {
    /// A Celery task on this Redis broker.
    Celery {
        /// The broker connection.
        broker: Arc<RedisBackend>,
        /// Its database number (for event channel names).
        db: u32,
        /// Queue for requests that name none.
        default_queue: String,
    },
    /// POST to a webhook.
    Webhook(webhook::Webhook),
    /// Log only.
    Log,
}

impl Target {
    /// `celery`, `webhook` or `log`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Celery { .. } => "celery",
            Self::Webhook(_) => "webhook",
            Self::Log => "log",
        }
    }
}

/// A request to dispatch (from a finding).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    /// The rule that asked.
    pub rule: String,
    /// Task name.
    pub task: String,
    /// Positional arguments.
    pub args: Value,
    /// Keyword arguments.
    pub kwargs: Value,
    /// Queue, if the rule chose one.
    pub queue: Option<String>,
    /// Dedupe key.
    pub dedupe_key: String,
}

/// What happened to a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Sent; the Celery task id when there is one.
    Dispatched {
        /// Task id.
        task_id: Option<String>,
    },
    /// The key was dispatched within the cooldown (here or by another replica).
    Deduplicated,
    /// Dry run: only logged.
    DryRun,
    /// Not sent.
    Failed {
        /// Why.
        error: String,
    },
}

impl Outcome {
    /// The metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Dispatched { .. } => "dispatched",
            Self::Deduplicated => "deduplicated",
            Self::DryRun => "dry_run",
            Self::Failed { .. } => "failed",
        }
    }
}

/// Sends dispatches.
pub struct Dispatcher {
    target: Target,
    coordination: Arc<Coordination>,
    cooldown: Duration,
    replica: String,
}

impl Dispatcher {
    /// A dispatcher to `target`, deduplicating through `coordination`.
    pub fn new(target: Target, coordination: Arc<Coordination>, cooldown: Duration, replica: String) -> Self {
        Self { target, coordination, cooldown, replica }
    }

    /// The target's name.
    pub fn target(&self) -> &'static str {
        self.target.name()
    }

    /// Dispatch `request` unless its key was dispatched within the cooldown.
    /// `dry_run` logs what would be sent and claims nothing.
    pub async fn dispatch(&self, request: &Request, dry_run: bool) -> Outcome {
        if dry_run || matches!(self.target, Target::Log) {
            tracing::info!(
                rule = request.rule,
                task = request.task,
                dedupe_key = request.dedupe_key,
                "dry run: would dispatch"
            );
            return Outcome::DryRun;
        }
        let key = format!("{}{}", coordination::DEDUPE_PREFIX, request.dedupe_key);
        match self.coordination.claim(&key, &self.replica, self.cooldown).await {
            Ok(true) => {}
            Ok(false) => return Outcome::Deduplicated,
            Err(err) => {
                return Outcome::Failed { error: format!("dedupe unavailable, not dispatching: {err}") };
            }
        }
        let outcome = self.send(request).await;
        match &outcome {
            Outcome::Failed { error } => {
                self.coordination.release(&key).await;
                tracing::warn!(rule = request.rule, task = request.task, error, "dispatch failed");
            }
            Outcome::Dispatched { task_id } => {
                tracing::info!(rule = request.rule, task = request.task, task_id, target = self.target(), "dispatched");
            }
            _ => {}
        }
        outcome
    }

    async fn send(&self, request: &Request) -> Outcome {
        match &self.target {
            Target::Log => Outcome::DryRun,
            Target::Webhook(webhook) => {
                let payload = json!({ "source": "vigil", "replica": self.replica, "request": request });
                match webhook.post(&payload).await {
                    Ok(_) => Outcome::Dispatched { task_id: None },
                    Err(error) => Outcome::Failed { error },
                }
            }
            Target::Celery { broker, db, default_queue } => {
                let message = celery::TaskMessage {
                    id: uuid::Uuid::new_v4().to_string(),
                    task: request.task.clone(),
                    args: request.args.clone(),
                    kwargs: request.kwargs.clone(),
                    queue: request.queue.clone().unwrap_or_else(|| default_queue.clone()),
                };
                let envelope = match celery::envelope(&message, &self.replica) {
                    Ok(envelope) => envelope,
                    Err(error) => return Outcome::Failed { error: format!("not a valid Celery message: {error}") },
                };
                let mut push = redis::cmd("LPUSH");
                push.arg(&message.queue).arg(envelope.to_string());
                if let Err(err) = broker.query::<i64>(push).await {
                    return Outcome::Failed { error: format!("broker: {err:?}") };
                }
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
                let mut publish = redis::cmd("PUBLISH");
                publish
                    .arg(format!("/{db}.celeryev/task.sent"))
                    .arg(celery::sent_event(&message, &self.replica, now).to_string());
                let _: Result<i64, _> = broker.query(publish).await;
                Outcome::Dispatched { task_id: Some(message.id) }
            }
        }
    }
}
