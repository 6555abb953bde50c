//! Celery task metrics from the broker's event stream (workers run with
//! `-E`): tasks by name and state, task run time, workers online (from
//! heartbeats; a worker is gone after two missed intervals) and queue
//! lengths. The consumer reconnects on its own; while it is disconnected the
//! stream gauge says so.

pub mod events;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use prometheus::{GaugeVec, HistogramVec, IntCounterVec};
use tokio_util::sync::CancellationToken;

use crate::capabilities::redis::RedisBackend;
use crate::metrics::Metrics;
use events::{StreamState, Update};

/// Buckets for task run times: 10 ms to 1 h.
const RUNTIME_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];
/// How often queue lengths and worker liveness are refreshed.
const REFRESH: Duration = Duration::from_secs(2);
/// Kombu's priority steps: a queue's backlog is spread over these keys.
const PRIORITY_SUFFIXES: &[&str] = &["", "\x06\x163", "\x06\x166", "\x06\x169"];

/// The families.
pub struct CeleryMetrics {
    tasks: IntCounterVec,
    runtime: HistogramVec,
    workers: GaugeVec,
    queue_length: GaugeVec,
    stream_up: GaugeVec,
}

impl CeleryMetrics {
    /// Register on `metrics`.
    pub fn new(metrics: &Metrics) -> Result<Self, prometheus::Error> {
        Ok(Self {
            tasks: metrics.counter(
                "celery_tasks_total",
                "Celery task events by task name and state (sent, received, started, succeeded, failed, retried, rejected, revoked).",
                &["task", "state"],
            )?,
            runtime: metrics.histogram("celery_task_runtime_seconds", "Run time of succeeded Celery tasks.", &["task"], RUNTIME_BUCKETS)?,
            workers: metrics.gauge("celery_workers_online", "Celery workers whose heartbeat is current.", &[])?,
            queue_length: metrics.gauge("celery_queue_length", "Messages waiting in each configured Celery queue.", &["queue"])?,
            stream_up: metrics.gauge("celery_event_stream_up", "1 while subscribed to the broker's Celery event stream.", &[])?,
        })
    }

    /// Apply one decoded event to `state` and record what it says.
    pub fn record(&self, state: &mut StreamState, event: events::Event) {
        match state.apply(event) {
            Update::Task { task, state: task_state, runtime } => {
                self.tasks.with_label_values(&[task.as_str(), task_state]).inc();
                if let Some(runtime) = runtime {
                    self.runtime.with_label_values(&[task.as_str()]).observe(runtime);
                }
            }
            Update::Workers => self.workers.with_label_values::<&str>(&[]).set(state.workers_online() as f64),
        }
    }

    /// Label sets of `vigil_celery_tasks_total` so far (kept bounded).
    pub fn task_series(&self) -> usize {
        prometheus::core::Collector::collect(&self.tasks).iter().map(|family| family.get_metric().len()).sum()
    }
}

/// Consumes the event stream and keeps the metrics current.
pub struct CeleryMonitor {
    client: redis::Client,
    broker: Arc<RedisBackend>,
    db: u32,
    queues: Vec<String>,
    metrics: CeleryMetrics,
}

impl CeleryMonitor {
    /// A monitor of the broker at `url` (the URL is never logged).
    pub fn new(url: &str, timeout: Duration, queues: Vec<String>, metrics: CeleryMetrics) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|err| format!("invalid broker URL ({:?})", err.kind()))?;
        let broker = Arc::new(RedisBackend::new(url, timeout)?);
        Ok(Self { client, broker, db: crate::dispatch::celery::redis_db(url), queues, metrics })
    }

    /// Run until `shutdown`: the event consumer and the queue/worker refresher.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let state: Arc<Mutex<StreamState>> = Arc::default();
        let refresher = {
            let (this, state, shutdown) = (Arc::clone(&self), Arc::clone(&state), shutdown.clone());
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(REFRESH);
                loop {
                    tokio::select! {
                        _ = ticker.tick() => this.refresh(&state).await,
                        _ = shutdown.cancelled() => break,
                    }
                }
            })
        };
        let mut backoff = Duration::from_millis(250);
        while !shutdown.is_cancelled() {
            match self.consume(&state, &shutdown).await {
                Ok(()) => break,
                Err(err) => {
                    self.metrics.stream_up.with_label_values::<&str>(&[]).set(0.0);
                    tracing::warn!(error = %err, retry_in = ?backoff, "celery event stream lost");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.cancelled() => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        refresher.abort();
    }

    async fn consume(&self, state: &Mutex<StreamState>, shutdown: &CancellationToken) -> Result<(), String> {
        let mut pubsub = self.client.get_async_pubsub().await.map_err(|err| format!("connect: {:?}", err.kind()))?;
        pubsub
            .psubscribe(format!("/{}.celeryev/*", self.db))
            .await
            .map_err(|err| format!("psubscribe: {:?}", err.kind()))?;
        self.metrics.stream_up.with_label_values::<&str>(&[]).set(1.0);
        tracing::info!(db = self.db, "consuming celery events");
        let mut stream = pubsub.into_on_message();
        loop {
            let message = tokio::select! {
                message = stream.next() => message,
                _ = shutdown.cancelled() => return Ok(()),
            };
            let Some(message) = message else { return Err("stream closed".to_owned()) };
            match events::decode(message.get_payload_bytes()) {
                Ok(events) => {
                    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
                    for event in events {
                        self.metrics.record(&mut state, event);
                    }
                }
                Err(err) => tracing::debug!(error = %err, "undecodable celery event"),
            }
        }
    }

    async fn refresh(&self, state: &Mutex<StreamState>) {
        let online = state.lock().unwrap_or_else(PoisonError::into_inner).workers_online();
        self.metrics.workers.with_label_values::<&str>(&[]).set(online as f64);
        for queue in &self.queues {
            let mut total = 0i64;
            for suffix in PRIORITY_SUFFIXES {
                let mut command = redis::cmd("LLEN");
                command.arg(format!("{queue}{suffix}"));
                match self.broker.query::<i64>(command).await {
                    Ok(length) => total += length,
                    Err(_) => return,
                }
            }
            self.metrics.queue_length.with_label_values(&[queue.as_str()]).set(total as f64);
        }
    }
}

/// The monitor `config` asks for, if any (events on and a broker known).
pub fn from_config(config: &crate::config::DaemonConfig, metrics: &Metrics) -> anyhow::Result<Option<CeleryMonitor>> {
    if !config.celery.events {
        return Ok(None);
    }
    let candidates = [
        (config.celery.broker_url.as_ref(), "celery.broker_url"),
        (config.watchdog.broker_url.as_ref(), "watchdog.broker_url"),
        (config.endpoints.redis_url.as_ref(), "endpoints.redis_url"),
    ];
    let Some((url, field)) = candidates.into_iter().find_map(|(url, field)| url.map(|u| (u, field))) else {
        return Ok(None);
    };
    let url = url.resolve(field).map_err(anyhow::Error::msg)?;
    let metrics = CeleryMetrics::new(metrics)?;
    let monitor = CeleryMonitor::new(&url, config.endpoints.call_timeout, config.celery.queues.clone(), metrics)
        .map_err(|err| anyhow::anyhow!("field `{field}`: {err}"))?;
    Ok(Some(monitor))
}
