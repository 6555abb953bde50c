//! The data-sync watchdog: runs every `watchdog` plugin on its interval
//! (only on the replica holding the leader lease), keeps the last report of
//! each, and hands each finding's dispatch request to the [`Dispatcher`].

pub mod metrics;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::dispatch::coordination::LEASE_KEY;
use crate::dispatch::{self, Coordination, Dispatcher, Outcome};
use crate::manifest::PluginKind;
use crate::runtime::Plugin;
use crate::runtime::bindings::types::{self, Severity};
pub use metrics::WatchdogMetrics;

/// A finding as reported.
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    /// Rule id.
    pub rule: String,
    /// `info`, `warning` or `critical`.
    pub severity: &'static str,
    /// What drifted.
    pub subject: String,
    /// For operators.
    pub detail: String,
    /// The dispatch it asked for and what happened to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispatch: Option<DispatchView>,
}

/// A dispatch request and its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct DispatchView {
    /// What was asked.
    #[serde(flatten)]
    pub request: dispatch::Request,
    /// Where it went.
    pub target: &'static str,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// One evaluation of one watchdog plugin.
#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    /// The plugin.
    pub plugin: String,
    /// When it ran (Unix seconds).
    pub evaluated_at: f64,
    /// How long it took.
    pub duration_seconds: f64,
    /// What it found.
    pub findings: Vec<FindingView>,
    /// Why it failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Coordination as the integrity monitor shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CoordinationView {
    /// `ok` with Redis, `degraded` in memory.
    pub status: &'static str,
    /// `redis` or `in-memory`.
    pub mode: &'static str,
    /// Always `redis`.
    pub optimal_mode: &'static str,
    /// What the degraded mode costs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<&'static str>,
    /// Whether this replica holds the leader lease.
    pub leader: bool,
    /// Where dispatches go.
    pub target: &'static str,
}

/// What a watchdog plugin's dispatches may be.
#[derive(Debug, Clone)]
pub struct DispatchLimits {
    /// Largest `args-json`, `kwargs-json` or text field of a finding, in bytes.
    pub max_payload_bytes: usize,
    /// The queue requests that name none go to.
    pub default_queue: String,
}

/// The watchdog.
pub struct Watchdog {
    dispatcher: Dispatcher,
    limits: DispatchLimits,
    /// Where refused dispatches are counted as capability refusals.
    refusals: Arc<crate::metrics::Metrics>,
    coordination: Arc<Coordination>,
    replica: String,
    dry_run: bool,
    lease: Duration,
    leader: AtomicBool,
    reports: Mutex<BTreeMap<String, RuleReport>>,
    metrics: WatchdogMetrics,
}

fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

/// Cut `text` to at most `max` bytes, on a character boundary.
fn clip(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}

/// A replica name: `vigil@<host>:<pid>`.
pub fn replica_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
    let host = if host.is_empty() { "localhost".to_owned() } else { host };
    format!("vigil@{host}:{}", std::process::id())
}

impl Watchdog {
    /// A watchdog dispatching through `dispatcher`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        dispatcher: Dispatcher,
        limits: DispatchLimits,
        coordination: Arc<Coordination>,
        replica: String,
        dry_run: bool,
        lease: Duration,
        metrics: WatchdogMetrics,
        refusals: Arc<crate::metrics::Metrics>,
    ) -> Self {
        let watchdog = Self {
            dispatcher,
            limits,
            refusals,
            coordination,
            replica,
            dry_run,
            lease,
            leader: AtomicBool::new(false),
            reports: Mutex::new(BTreeMap::new()),
            metrics,
        };
        watchdog.metrics.coordination(false, watchdog.cross_replica());
        watchdog
    }

    fn cross_replica(&self) -> bool {
        matches!(*self.coordination, Coordination::Redis(_))
    }

    /// Coordination state for `/health/status`.
    pub fn coordination(&self) -> CoordinationView {
        let shared = self.cross_replica();
        CoordinationView {
            status: if shared { "ok" } else { "degraded" },
            mode: self.coordination.mode(),
            optimal_mode: "redis",
            impact: (!shared).then_some("no cross-replica dedupe"),
            leader: self.leader.load(Ordering::Relaxed),
            target: if self.dry_run { "log" } else { self.dispatcher.target() },
        }
    }

    /// The latest report of every plugin evaluated so far.
    pub fn reports(&self) -> Vec<RuleReport> {
        self.reports.lock().unwrap_or_else(PoisonError::into_inner).values().cloned().collect()
    }

    /// Take or renew the leader lease. A lease error means "not leader".
    pub async fn lead(&self) -> bool {
        let leader = match self.coordination.lease(LEASE_KEY, &self.replica, self.lease).await {
            Ok(leader) => leader,
            Err(err) => {
                tracing::warn!(error = %err, "watchdog lease unavailable; not evaluating");
                false
            }
        };
        if leader != self.leader.swap(leader, Ordering::Relaxed) {
            crate::generation::bump();
            tracing::info!(replica = self.replica, leader, "watchdog leadership changed");
        }
        self.metrics.coordination(leader, self.cross_replica());
        leader
    }

    /// Evaluate one plugin and dispatch what it asks for.
    pub async fn evaluate(&self, plugin: &Plugin) -> RuleReport {
        self.evaluate_with(plugin, self.dry_run).await
    }

    /// [`Watchdog::evaluate`]; with `dry_run`, dispatches are only printed.
    async fn evaluate_with(&self, plugin: &Plugin, dry_run: bool) -> RuleReport {
        let started = Instant::now();
        let evaluated_at = unix_now();
        let outcome = plugin.evaluate().await;
        let (findings, error) = match outcome {
            Ok(findings) => (self.handle(plugin, findings, dry_run).await, None),
            Err(fault) => {
                tracing::warn!(plugin = plugin.name(), %fault, "watchdog evaluation failed");
                (Vec::new(), Some(fault.to_string()))
            }
        };
        let duration_seconds = started.elapsed().as_secs_f64();
        let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
        for finding in &findings {
            *by_rule.entry(finding.rule.clone()).or_default() += 1;
        }
        self.metrics.evaluated(plugin.name(), error.is_none(), evaluated_at, duration_seconds, &by_rule);
        let report = RuleReport { plugin: plugin.name().to_owned(), evaluated_at, duration_seconds, findings, error };
        self.reports.lock().unwrap_or_else(PoisonError::into_inner).insert(report.plugin.clone(), report.clone());
        crate::generation::bump();
        report
    }

    /// Evaluate every watchdog plugin once (what `vigil watchdog run` and
    /// `POST /admin/watchdog/run` do).
    pub async fn evaluate_all(&self, plugins: &[Arc<Plugin>]) -> Vec<RuleReport> {
        self.evaluate_all_with(plugins, false).await
    }

    /// [`Watchdog::evaluate_all`]; `dry_run` prints the dispatches instead
    /// of sending them, whatever the configuration says.
    pub async fn evaluate_all_with(&self, plugins: &[Arc<Plugin>], dry_run: bool) -> Vec<RuleReport> {
        let mut reports = Vec::new();
        for plugin in plugins.iter().filter(|p| p.kind() == PluginKind::Watchdog) {
            reports.push(self.evaluate_with(plugin, dry_run || self.dry_run).await);
        }
        reports
    }

    async fn handle(&self, plugin: &Plugin, findings: Vec<types::Finding>, dry_run: bool) -> Vec<FindingView> {
        let max = self.limits.max_payload_bytes;
        let mut views = Vec::with_capacity(findings.len());
        for mut finding in findings {
            // A field over the cap refuses the finding's dispatch; the
            // report keeps what fits.
            let oversized = finding.dispatch.as_ref().and_then(|d| dispatch::policy::oversized(&finding, d, max));
            let oversized = oversized.or_else(|| {
                [("rule", finding.rule.len()), ("subject", finding.subject.len()), ("detail", finding.detail.len())]
                    .into_iter()
                    .find(|(_, size)| *size > max)
            });
            for field in [&mut finding.rule, &mut finding.subject, &mut finding.detail] {
                clip(field, max);
            }
            tracing::info!(
                plugin = plugin.name(),
                rule = finding.rule,
                subject = finding.subject,
                detail = finding.detail,
                "watchdog finding"
            );
            let dispatch = match finding.dispatch {
                Some(wanted) => Some(self.dispatch(plugin, &finding.rule, wanted, oversized, dry_run).await),
                None => None,
            };
            views.push(FindingView {
                rule: finding.rule,
                severity: severity(finding.severity),
                subject: finding.subject,
                detail: finding.detail,
                dispatch,
            });
        }
        views
    }

    async fn dispatch(
        &self,
        plugin: &Plugin,
        rule: &str,
        wanted: types::DispatchRequest,
        oversized: Option<(&'static str, usize)>,
        dry_run: bool,
    ) -> DispatchView {
        let target = if dry_run { "log" } else { self.dispatcher.target() };
        let max = self.limits.max_payload_bytes;
        let refusal = match oversized {
            Some((field, size)) => Some(format!("{field} is {size} bytes, over the {max}-byte limit")),
            None => dispatch::policy::allowed(
                &plugin.manifest.grants,
                &wanted.task,
                wanted.queue.as_deref(),
                &self.limits.default_queue,
            )
            .err(),
        };
        if let Some(reason) = refusal {
            let mut task = wanted.task;
            clip(&mut task, 256);
            tracing::warn!(plugin = plugin.name(), rule, task, reason, "dispatch refused");
            self.refusals.capability_refused(plugin.name(), "dispatch");
            self.metrics.dispatched(rule, target, "refused");
            let mut dedupe_key = wanted.dedupe_key;
            clip(&mut dedupe_key, 256);
            let request = dispatch::Request {
                rule: rule.to_owned(),
                task,
                args: serde_json::Value::Null,
                kwargs: serde_json::Value::Null,
                queue: wanted.queue.map(|mut q| {
                    clip(&mut q, 256);
                    q
                }),
                dedupe_key,
            };
            return DispatchView { request, target, outcome: Outcome::Refused { reason } };
        }
        let parse = |text: &str, what: &str| {
            serde_json::from_str::<serde_json::Value>(text).map_err(|err| format!("{what} is not JSON: {err}"))
        };
        let parsed =
            parse(&wanted.args_json, "args-json").and_then(|a| Ok((a, parse(&wanted.kwargs_json, "kwargs-json")?)));
        let (args, kwargs) = parsed.clone().unwrap_or_default();
        let request = dispatch::Request {
            rule: rule.to_owned(),
            task: wanted.task,
            args,
            kwargs,
            queue: wanted.queue,
            dedupe_key: wanted.dedupe_key,
        };
        let outcome = match parsed {
            Err(error) => Outcome::Failed { error },
            Ok(_) => self.dispatcher.dispatch(&request, dry_run).await,
        };
        self.metrics.dispatched(rule, target, outcome.label());
        DispatchView { request, target, outcome }
    }

    /// Evaluate `plugin` on its interval while this replica leads, until
    /// `stop` (retired by a reload; an evaluation in flight finishes) or
    /// `shutdown`.
    pub async fn run_loop(self: Arc<Self>, plugin: Arc<Plugin>, stop: CancellationToken, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(plugin.manifest.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.cancelled() => break,
            }
            if !self.lead().await {
                continue;
            }
            tokio::select! {
                _ = self.evaluate(&plugin) => {}
                _ = shutdown.cancelled() => break,
            }
        }
    }
}

/// Build the watchdog `config` describes over the daemon's services.
pub fn from_config(
    config: &crate::config::DaemonConfig,
    services: &crate::capabilities::Services,
    metrics: &crate::metrics::Metrics,
) -> anyhow::Result<Watchdog> {
    use crate::capabilities::redis::RedisBackend;
    use crate::config::DispatchTarget;

    let settings = &config.watchdog;
    let timeout = config.endpoints.call_timeout;
    let (broker, broker_url) = match &settings.broker_url {
        Some(url) => {
            let url = url.resolve("watchdog.broker_url").map_err(anyhow::Error::msg)?;
            let backend =
                RedisBackend::new(&url, timeout).map_err(|e| anyhow::anyhow!("field `watchdog.broker_url`: {e}"))?;
            (Some(Arc::new(backend)), Some(url))
        }
        None => {
            let url = config.endpoints.redis_url.as_ref().and_then(|u| u.resolve("endpoints.redis_url").ok());
            (services.redis.clone(), url)
        }
    };
    let coordination = Arc::new(match &broker {
        Some(redis) => Coordination::Redis(Arc::clone(redis)),
        None => Coordination::memory(),
    });
    let celery = |broker: Arc<RedisBackend>| dispatch::Target::Celery {
        broker,
        db: broker_url.as_deref().map_or(0, dispatch::celery::redis_db),
        default_queue: settings.default_queue.clone(),
    };
    let target = match (settings.target, broker) {
        (DispatchTarget::Auto | DispatchTarget::Celery, Some(broker)) => celery(broker),
        (DispatchTarget::Auto | DispatchTarget::Log, _) => dispatch::Target::Log,
        (DispatchTarget::Celery, None) => {
            anyhow::bail!(
                "field `watchdog.target`: \"celery\" needs a broker (watchdog.broker_url or endpoints.redis_url)"
            )
        }
        (DispatchTarget::Webhook, _) => {
            let Some(url) = &settings.webhook_url else {
                anyhow::bail!("field `watchdog.target`: \"webhook\" needs watchdog.webhook_url");
            };
            let url = url.resolve("watchdog.webhook_url").map_err(anyhow::Error::msg)?;
            let backoff = Duration::from_millis(200);
            let webhook =
                dispatch::webhook::Webhook::new(url, settings.webhook_timeout, settings.webhook_retries, backoff)
                    .map_err(|e| anyhow::anyhow!("field `watchdog.webhook_url`: {e}"))?;
            dispatch::Target::Webhook(webhook)
        }
    };
    let replica = replica_name();
    let dispatcher = Dispatcher::new(target, Arc::clone(&coordination), settings.cooldown, replica.clone());
    let limits =
        DispatchLimits { max_payload_bytes: settings.max_payload_bytes, default_queue: settings.default_queue.clone() };
    let watchdog_metrics = WatchdogMetrics::new(metrics)?;
    Ok(Watchdog::new(
        dispatcher,
        limits,
        coordination,
        replica,
        settings.dry_run,
        settings.lease,
        watchdog_metrics,
        Arc::clone(&services.metrics),
    ))
}
