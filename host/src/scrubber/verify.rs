//! Calling a scrubber plugin's `verify` export from the (synchronous) log
//! path. One thread per engine owns a small tokio runtime and runs the WASM
//! calls; callers wait for its answer under a deadline. Every failure (the
//! plugin faults, the deadline passes, the thread is gone, or the caller is
//! the verifier thread itself, logging) counts as "it is a secret": verify
//! can only ever let text through, never leak it by failing.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::runtime::Plugin;

/// Longest a log line waits for one verdict.
const DEADLINE: Duration = Duration::from_millis(250);
/// Verdicts remembered (by a hash of rule and candidate, never the text).
const CACHE_ENTRIES: usize = 4096;

thread_local! {
    static ON_VERIFIER_THREAD: Cell<bool> = const { Cell::new(false) };
}

struct Request {
    plugin: Arc<Plugin>,
    rule: String,
    candidate: String,
    reply: SyncSender<bool>,
}

/// Answers `verify` questions for the rules of loaded scrubber plugins.
pub struct Verifier {
    plugins: BTreeMap<String, Arc<Plugin>>,
    requests: Mutex<Sender<Request>>,
    verdicts: Mutex<HashMap<[u8; 32], bool>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("plugins", &self.plugins.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl Verifier {
    /// Start the verifier thread for these scrubber plugins.
    pub fn start(plugins: impl IntoIterator<Item = Arc<Plugin>>) -> std::io::Result<Self> {
        let (requests, inbox) = mpsc::channel();
        std::thread::Builder::new().name("vigil-verify".to_owned()).spawn(move || serve(inbox))?;
        Ok(Self {
            plugins: plugins.into_iter().map(|p| (p.name().to_owned(), p)).collect(),
            requests: Mutex::new(requests),
            verdicts: Mutex::new(HashMap::new()),
        })
    }

    /// Whether `candidate`, found by `rule` of `plugin`, is a secret.
    pub fn verify(&self, plugin: &str, rule: &str, candidate: &str) -> bool {
        if ON_VERIFIER_THREAD.with(Cell::get) {
            return true;
        }
        let Some(owner) = self.plugins.get(plugin) else { return true };
        let key = digest(plugin, rule, candidate);
        if let Some(&verdict) = self.verdicts.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return verdict;
        }
        let (reply, answer) = mpsc::sync_channel(1);
        let request =
            Request { plugin: Arc::clone(owner), rule: rule.to_owned(), candidate: candidate.to_owned(), reply };
        if self.requests.lock().unwrap_or_else(PoisonError::into_inner).send(request).is_err() {
            return true;
        }
        let Ok(verdict) = answer.recv_timeout(DEADLINE) else { return true };
        let mut verdicts = self.verdicts.lock().unwrap_or_else(PoisonError::into_inner);
        if verdicts.len() >= CACHE_ENTRIES {
            verdicts.clear();
        }
        verdicts.insert(key, verdict);
        verdict
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
        let verdict = verdict.unwrap_or_else(|fault| {
            tracing::warn!(plugin = request.plugin.name(), rule = request.rule, %fault, "verify failed; redacting");
            true
        });
        let _ = request.reply.send(verdict);
    }
}
