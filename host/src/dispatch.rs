//! The dispatcher: turns a watchdog finding's dispatch request into a
//! Celery task on the platform's Redis broker, a webhook call, or a log line
//! (dry run), at most once per dedupe key and cooldown across replicas.

pub mod celery;
pub mod coordination;
pub mod policy;
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
    /// Not allowed: outside the plugin's `grants.dispatch`, or too large.
    Refused {
        /// Why.
        reason: String,
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
            Self::Refused { .. } => "refused",
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
        if let Target::Celery { broker, db, default_queue } = &self.target
            && let Coordination::Redis(shared) = &*self.coordination
            && Arc::ptr_eq(broker, shared)
        {
            let outcome = self.claim_and_push(request, &key, broker, *db, default_queue).await;
            self.log(request, &outcome);
            return outcome;
        }
        match self.coordination.claim(&key, &self.replica, self.cooldown).await {
            Ok(true) => {}
            Ok(false) => return Outcome::Deduplicated,
            Err(err) => {
                return Outcome::Failed { error: format!("dedupe unavailable, not dispatching: {err}") };
            }
        }
        let outcome = self.send(request).await;
        if let Outcome::Failed { .. } = &outcome {
            self.coordination.release(&key).await;
        }
        self.log(request, &outcome);
        outcome
    }

    fn log(&self, request: &Request, outcome: &Outcome) {
        match outcome {
            Outcome::Failed { error } => {
                tracing::warn!(rule = request.rule, task = request.task, error, "dispatch failed");
            }
            Outcome::Dispatched { task_id } => {
                tracing::info!(rule = request.rule, task = request.task, task_id, target = self.target(), "dispatched");
            }
            _ => {}
        }
    }

    /// Dedupe key and task message in one script on the broker: both are
    /// written or neither is, so a broker that dies mid-dispatch can neither
    /// lose the task (key taken, message never pushed) nor, once back,
    /// have it sent twice. When the reply is lost the outcome is unknown
    /// here, and the key (present only if the message went out) decides
    /// whether the next evaluation sends it.
    async fn claim_and_push(
        &self,
        request: &Request,
        key: &str,
        broker: &RedisBackend,
        db: u32,
        default_queue: &str,
    ) -> Outcome {
        let (message, envelope) = match celery_message(request, default_queue, &self.replica) {
            Ok(built) => built,
            Err(outcome) => return outcome,
        };
        let ttl_ms = u64::try_from(self.cooldown.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut script = redis::cmd("EVAL");
        script.arg(CLAIM_AND_PUSH).arg(2).arg(key).arg(&message.queue).arg(&self.replica).arg(ttl_ms).arg(envelope);
        match broker.query::<i64>(script).await {
            Ok(1) => {
                publish_sent(broker, db, &message, &self.replica).await;
                Outcome::Dispatched { task_id: Some(message.id) }
            }
            Ok(_) => Outcome::Deduplicated,
            Err(err) => Outcome::Failed {
                error: format!("broker: {err:?} (if the task went out, its dedupe key keeps it from a second send)"),
            },
        }
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
                let (message, envelope) = match celery_message(request, default_queue, &self.replica) {
                    Ok(built) => built,
                    Err(outcome) => return outcome,
                };
                let mut push = redis::cmd("LPUSH");
                push.arg(&message.queue).arg(envelope);
                if let Err(err) = broker.query::<i64>(push).await {
                    return Outcome::Failed { error: format!("broker: {err:?}") };
                }
                publish_sent(broker, *db, &message, &self.replica).await;
                Outcome::Dispatched { task_id: Some(message.id) }
            }
        }
    }
}

/// Take the dedupe key and push the message, atomically: 1 when sent, 0
/// when the key was taken within the cooldown. A push the broker refuses
/// (a full or mistyped queue) gives the key back and fails the script.
const CLAIM_AND_PUSH: &str = r"if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
local pushed = redis.pcall('LPUSH', KEYS[2], ARGV[3])
if type(pushed) == 'table' and pushed.err then
  redis.call('DEL', KEYS[1])
  return pushed
end
return 1";

/// The Celery message for `request` and its envelope text.
fn celery_message(
    request: &Request,
    default_queue: &str,
    replica: &str,
) -> Result<(celery::TaskMessage, String), Outcome> {
    let message = celery::TaskMessage {
        id: uuid::Uuid::new_v4().to_string(),
        task: request.task.clone(),
        args: request.args.clone(),
        kwargs: request.kwargs.clone(),
        queue: request.queue.clone().unwrap_or_else(|| default_queue.to_owned()),
    };
    match celery::envelope(&message, replica) {
        Ok(envelope) => Ok((message, envelope.to_string())),
        Err(error) => Err(Outcome::Failed { error: format!("not a valid Celery message: {error}") }),
    }
}

/// Announce the task the way Celery clients do (`task-sent`); best effort.
async fn publish_sent(broker: &RedisBackend, db: u32, message: &celery::TaskMessage, replica: &str) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
    let mut publish = redis::cmd("PUBLISH");
    publish.arg(format!("/{db}.celeryev/task.sent")).arg(celery::sent_event(message, replica, now).to_string());
    let _: Result<i64, _> = broker.query(publish).await;
}
