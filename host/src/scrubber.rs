//! The credential scrubber: rules from every loaded `scrubber` plugin,
//! compiled into one [`Engine`], installed process-wide so that every log
//! line passes through it (see [`crate::telemetry`]), and swapped whole when
//! the plugin set changes.

mod annotated;
mod assign;
mod block;
pub mod engine;
pub mod follow;
mod keys;
pub mod lines;
pub mod prefilter;
mod values;
pub mod verify;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use arc_swap::ArcSwap;

pub use engine::{Engine, Redaction, RuleError};

use crate::manifest::PluginKind;
use crate::runtime::Plugin;
use crate::runtime::bindings::types::ScrubRule;

static CURRENT: LazyLock<ArcSwap<Engine>> = LazyLock::new(|| ArcSwap::from_pointee(Engine::default()));
static REDACTIONS: LazyLock<Mutex<BTreeMap<String, Arc<AtomicU64>>>> = LazyLock::new(Default::default);

/// The engine the log writer uses now.
pub fn current() -> Arc<Engine> {
    CURRENT.load_full()
}

/// Make `engine` the one every log line goes through.
pub fn install(engine: Arc<Engine>) {
    CURRENT.store(engine);
}

/// Count redactions by rule. Counts survive engine swaps, so the metric stays monotonic.
pub fn count(engine: &Engine, redactions: &[Redaction]) {
    if redactions.is_empty() {
        return;
    }
    let mut counters = REDACTIONS.lock().unwrap_or_else(PoisonError::into_inner);
    for redaction in redactions {
        let id = &engine.rules()[redaction.rule].id;
        counters.entry(id.clone()).or_default().fetch_add(1, Ordering::Relaxed);
    }
}

/// Redactions so far, by rule id.
pub fn redaction_counts() -> BTreeMap<String, u64> {
    let counters = REDACTIONS.lock().unwrap_or_else(PoisonError::into_inner);
    counters.iter().map(|(id, n)| (id.clone(), n.load(Ordering::Relaxed))).collect()
}

/// Scrub one line with the installed engine, counting redactions.
pub fn scrub_line(line: &str) -> std::borrow::Cow<'_, str> {
    let engine = current();
    let (scrubbed, redactions) = engine.scrub(line);
    count(&engine, &redactions);
    scrubbed
}

/// Scrub the next line of a stream (a multi-line record, a followed file)
/// with the installed engine, counting redactions; `state` carries what
/// spans lines (a PEM private key written out whole).
pub fn scrub_stream_line<'a>(state: &mut lines::Lines, line: &'a str) -> std::borrow::Cow<'a, str> {
    let engine = current();
    let (scrubbed, redactions) = state.scrub(&engine, line);
    count(&engine, &redactions);
    scrubbed
}

/// Scrub a run of whole lines (a chunk of a log, without its final
/// newline) with the installed engine and one interleaved scan, counting
/// redactions; a `\r` before a newline is dropped. `state` carries what
/// spans lines and chunks.
pub fn scrub_run(state: &mut lines::Lines, text: &str) -> String {
    let engine = current();
    let mut out = String::with_capacity(text.len() + 64);
    state.scrub_text(&engine, text, |line, redactions| {
        count(&engine, redactions);
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push('\n');
    });
    out.pop();
    out
}

/// Ask every scrubber plugin for its rules and compile them. A plugin whose
/// `rules()` fails, and every bad rule, is reported; the rest are used.
pub async fn build(plugins: &[Arc<Plugin>]) -> (Engine, Vec<String>) {
    build_with(plugins, verify::Limits::default()).await
}

/// [`build`] with other verify time limits (a test measuring the rules'
/// quality on a loaded machine gives verify all the time it needs).
pub async fn build_with(plugins: &[Arc<Plugin>], limits: verify::Limits) -> (Engine, Vec<String>) {
    let mut sets: Vec<(String, Vec<ScrubRule>)> = Vec::new();
    let mut problems = Vec::new();
    for plugin in plugins.iter().filter(|p| p.kind() == PluginKind::Scrubber) {
        match plugin.rules().await {
            Ok(rules) => sets.push((plugin.name().to_owned(), rules)),
            Err(fault) => problems.push(format!("scrubber plugin {}: rules() failed: {fault}", plugin.name())),
        }
    }
    let (mut engine, errors) = Engine::build(sets.iter().map(|(name, rules)| (name.as_str(), rules.as_slice())));
    problems.extend(errors.iter().map(ToString::to_string));
    if engine.rules().iter().any(|rule| rule.verify) {
        let scrubbers = plugins.iter().filter(|p| p.kind() == PluginKind::Scrubber).cloned();
        match verify::Verifier::start(scrubbers, limits) {
            Ok(verifier) => engine.set_verifier(Arc::new(verifier)),
            Err(err) => {
                problems.push(format!("verify thread did not start ({err}); verify rules redact every candidate"))
            }
        }
    }
    (engine, problems)
}
