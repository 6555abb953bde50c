//! Calling a scrubber plugin's `verify` export from the (synchronous) log
//! path, without ever letting it stall that path.
//!
//! One thread per scrubber plugin owns a small tokio runtime and runs its
//! WASM calls (a plugin that hangs holds up only its own rules); callers
//! hand it one question at a time and wait for the answer within a per-line
//! budget of a few milliseconds. Every failure (a fault, a
//! timeout, a busy verifier, the caller being the verifier thread itself)
//! counts as "it is a secret": verify can only ever let text through, never
//! leak it by failing.
//!
//! Each rule has a circuit breaker: after [`TRIP_AFTER`] consecutive
//! failures or slow answers the rule redacts without asking for a back-off
//! period (doubling up to [`MAX_BACKOFF`]), with a warning and a metric;
//! then one question is let through to see whether the plugin recovered.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::runtime::Plugin;

/// Longest one log line waits for verdicts, all its candidates together.
pub const LINE_BUDGET: Duration = Duration::from_millis(10);
/// An answer slower than this counts against the rule's breaker.
pub const SLOW_ANSWER: Duration = Duration::from_millis(2);
/// Consecutive failures or slow answers that open a rule's breaker.
pub const TRIP_AFTER: u32 = 3;
/// First back-off once a breaker opens.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(5);
/// Longest back-off.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Verdicts remembered (by a hash of rule and candidate, never the text).
const CACHE_ENTRIES: usize = 4096;

thread_local! {
    static ON_VERIFIER_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// The time one line may still spend waiting for verdicts.
#[derive(Debug)]
pub struct LineBudget {
    started: Option<Instant>,
}

impl LineBudget {
    /// A fresh budget; the clock starts at the first question.
    pub fn new() -> Self {
        Self { started: None }
    }

    fn remaining(&mut self, budget: Duration) -> Duration {
        let started = *self.started.get_or_insert_with(Instant::now);
        budget.saturating_sub(started.elapsed())
    }
}

impl Default for LineBudget {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a candidate was redacted without the plugin's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Skip {
    /// The rule's breaker is open.
    CircuitOpen,
    /// The line's budget was spent.
    Budget,
    /// The plugin did not answer in time (or was busy with an earlier question).
    Timeout,
    /// The plugin trapped or its thread is gone.
    Fault,
}

impl Skip {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::CircuitOpen => "circuit-open",
            Self::Budget => "budget",
            Self::Timeout => "timeout",
            Self::Fault => "fault",
        }
    }
}

/// Counters by key, each shared so a hot path bumps it without the map lock held long.
type Counters<K> = Mutex<BTreeMap<K, Arc<AtomicU64>>>;

/// Verifier events by (rule, reason), and how often a breaker opened.
static SKIPPED: LazyLock<Counters<(String, Skip)>> = LazyLock::new(Default::default);
static TRIPS: LazyLock<Counters<String>> = LazyLock::new(Default::default);

fn bump<K: Ord + Clone>(map: &Counters<K>, key: K) {
    let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
    map.entry(key).or_default().fetch_add(1, Ordering::Relaxed);
}

/// Candidates redacted without a verdict, by (rule, reason).
pub fn skipped_counts() -> Vec<(String, &'static str, u64)> {
    let map = SKIPPED.lock().unwrap_or_else(PoisonError::into_inner);
    map.iter().map(|((rule, skip), n)| (rule.clone(), skip.label(), n.load(Ordering::Relaxed))).collect()
}

/// How often each rule's breaker opened.
pub fn trip_counts() -> Vec<(String, u64)> {
    let map = TRIPS.lock().unwrap_or_else(PoisonError::into_inner);
    map.iter().map(|(rule, n)| (rule.clone(), n.load(Ordering::Relaxed))).collect()
}

/// One rule's circuit breaker.
#[derive(Debug)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
    backoff: Duration,
}

impl Default for Breaker {
    fn default() -> Self {
        Self { failures: 0, open_until: None, backoff: FIRST_BACKOFF }
    }
}

struct Request {
    plugin: Arc<Plugin>,
    rule: String,
    candidate: String,
    /// The verdict, or `None` when the call faulted.
    reply: SyncSender<Option<bool>>,
}

/// One plugin's verifier thread.
struct Worker {
    plugin: Arc<Plugin>,
    /// Room for one waiting question: a verifier still busy with an earlier
    /// one answers the next "busy" at once instead of queueing it.
    requests: SyncSender<Request>,
}

/// How long verdicts may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest one log line waits for verdicts ([`LINE_BUDGET`]).
    pub line_budget: Duration,
    /// An answer slower than this counts against the rule's breaker ([`SLOW_ANSWER`]).
    pub slow_answer: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { line_budget: LINE_BUDGET, slow_answer: SLOW_ANSWER }
    }
}

/// Answers `verify` questions for the rules of loaded scrubber plugins.
pub struct Verifier {
    limits: Limits,
    workers: BTreeMap<String, Worker>,
    verdicts: Mutex<HashMap<[u8; 32], bool>>,
    breakers: Mutex<HashMap<String, Breaker>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("plugins", &self.workers.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl Verifier {
    /// Start a verifier thread for each of these scrubber plugins.
    pub fn start(plugins: impl IntoIterator<Item = Arc<Plugin>>, limits: Limits) -> std::io::Result<Self> {
        let mut workers = BTreeMap::new();
        for plugin in plugins {
            let (requests, inbox) = mpsc::sync_channel(1);
            std::thread::Builder::new().name(format!("vigil-verify-{}", plugin.name())).spawn(move || serve(inbox))?;
            workers.insert(plugin.name().to_owned(), Worker { plugin, requests });
        }
        Ok(Self { limits, workers, verdicts: Mutex::new(HashMap::new()), breakers: Mutex::new(HashMap::new()) })
    }

    /// Whether `candidate`, found by `rule` of `plugin`, is a secret.
    pub fn verify(&self, plugin: &str, rule: &str, candidate: &str, budget: &mut LineBudget) -> bool {
        if ON_VERIFIER_THREAD.with(Cell::get) {
            return true;
        }
        let Some(worker) = self.workers.get(plugin) else { return true };
        let key = digest(plugin, rule, candidate);
        if let Some(&verdict) = self.verdicts.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return verdict;
        }
        if self.is_open(rule) {
            bump(&SKIPPED, (rule.to_owned(), Skip::CircuitOpen));
            return true;
        }
        let remaining = budget.remaining(self.limits.line_budget);
        if remaining.is_zero() {
            bump(&SKIPPED, (rule.to_owned(), Skip::Budget));
            return true;
        }
        let asked = Instant::now();
        let (reply, answer) = mpsc::sync_channel(1);
        let request = Request {
            plugin: Arc::clone(&worker.plugin),
            rule: rule.to_owned(),
            candidate: candidate.to_owned(),
            reply,
        };
        let outcome = match worker.requests.try_send(request) {
            Ok(()) => match answer.recv_timeout(remaining) {
                Ok(Some(verdict)) => Ok(verdict),
                Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => Err(Skip::Fault),
                Err(mpsc::RecvTimeoutError::Timeout) => Err(Skip::Timeout),
            },
            Err(TrySendError::Full(_)) => Err(Skip::Timeout),
            Err(TrySendError::Disconnected(_)) => Err(Skip::Fault),
        };
        let slow = asked.elapsed() > self.limits.slow_answer;
        self.record(rule, outcome.is_ok() && !slow);
        match outcome {
            Ok(verdict) => {
                let mut verdicts = self.verdicts.lock().unwrap_or_else(PoisonError::into_inner);
                if verdicts.len() >= CACHE_ENTRIES {
                    verdicts.clear();
                }
                verdicts.insert(key, verdict);
                verdict
            }
            Err(skip) => {
                bump(&SKIPPED, (rule.to_owned(), skip));
                true
            }
        }
    }

    /// Whether `rule`'s breaker is open now. Once its back-off has passed
    /// it lets one question through (half-open).
    fn is_open(&self, rule: &str) -> bool {
        let mut breakers = self.breakers.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(breaker) = breakers.get_mut(rule) else { return false };
        match breaker.open_until {
            Some(until) if Instant::now() < until => true,
            Some(_) => {
                // Half-open: this question decides; until it is answered the
                // others keep redacting.
                breaker.open_until = Some(Instant::now() + self.limits.line_budget);
                breaker.failures = TRIP_AFTER - 1;
                false
            }
            None => false,
        }
    }

    fn record(&self, rule: &str, healthy: bool) {
        let mut breakers = self.breakers.lock().unwrap_or_else(PoisonError::into_inner);
        let breaker = breakers.entry(rule.to_owned()).or_default();
        if healthy {
            *breaker = Breaker::default();
            return;
        }
        breaker.failures += 1;
        if breaker.failures >= TRIP_AFTER {
            let backoff = breaker.backoff;
            breaker.open_until = Some(Instant::now() + backoff);
            breaker.backoff = (backoff * 2).min(MAX_BACKOFF);
            breaker.failures = 0;
            drop(breakers);
            bump(&TRIPS, rule.to_owned());
            tracing::warn!(
                rule,
                backoff_seconds = backoff.as_secs(),
                "scrubber verify keeps failing or answering slowly; the rule redacts without asking for a while"
            );
        }
    }
}

fn digest(plugin: &str, rule: &str, candidate: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in [plugin, rule, candidate] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

fn serve(inbox: Receiver<Request>) {
    ON_VERIFIER_THREAD.with(|flag| flag.set(true));
    let Ok(tokio) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
    while let Ok(request) = inbox.recv() {
        let verdict = tokio.block_on(request.plugin.verify(&request.rule, &request.candidate));
        // A fault is logged by name only; the candidate never is.
        let verdict = verdict
            .inspect_err(|fault| {
                tracing::warn!(plugin = request.plugin.name(), rule = request.rule, %fault, "verify failed; redacting")
            })
            .ok();
        let _ = request.reply.send(verdict);
    }
}
