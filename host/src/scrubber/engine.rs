//! The compiled matcher: one Aho-Corasick automaton over every rule's
//! keywords picks the few rules a line can match, then only those rules'
//! linear-time regexes run. A clean line costs one automaton pass.

use std::borrow::Cow;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;

use super::verify::Verifier;

use crate::runtime::bindings::types::ScrubRule;

/// Longest regex program accepted per rule (bytes of compiled size).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A rule ready to run.
#[derive(Debug)]
pub struct CompiledRule {
    /// Rule id (also the metric label).
    pub id: String,
    /// The plugin that declared it.
    pub plugin: String,
    regex: Regex,
    secret_group: usize,
    replacement: String,
    min_entropy: Option<f64>,
    /// Whether the plugin's `verify` export must confirm candidates.
    pub verify: bool,
}

/// A rule a plugin declared that could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("scrubber plugin {plugin}: rule {rule:?}: {problem}")]
pub struct RuleError {
    /// The plugin.
    pub plugin: String,
    /// The rule id.
    pub rule: String,
    /// What is wrong.
    pub problem: String,
}

/// One redaction made in a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redaction {
    /// Index of the rule in the engine.
    pub rule: usize,
    /// Byte range replaced.
    pub start: usize,
    /// End of the byte range.
    pub end: usize,
}

/// All loaded rules, compiled together.
#[derive(Debug, Default)]
pub struct Engine {
    rules: Vec<CompiledRule>,
    keywords: Option<AhoCorasick>,
    /// For each keyword pattern, the rules it enables.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules that declared no keyword: they run on every line.
    always: Vec<usize>,
    /// Answers for rules that want their plugin's `verify` called.
    verifier: Option<Arc<Verifier>>,
}

/// Shannon entropy in bits per character.
pub fn entropy(text: &str) -> f64 {
    let mut counts = [0usize; 256];
    for byte in text.bytes() {
        counts[usize::from(byte)] += 1;
    }
    let len = text.len() as f64;
    counts.iter().filter(|&&n| n > 0).map(|&n| n as f64 / len).map(|p| -p * p.log2()).sum()
}

/// Text that is already masked is left alone.
fn already_masked(secret: &str) -> bool {
    secret.starts_with("[REDACTED")
        || (secret.len() >= 3 && secret.bytes().all(|b| b == b'*' || b == b'x' || b == b'X'))
}

impl CompiledRule {
    /// The rule's regex (for comparisons and tools).
    pub fn regex(&self) -> &Regex {
        &self.regex
    }

    /// The capture group holding the secret.
    pub fn secret_group(&self) -> usize {
        self.secret_group
    }
}

impl Engine {
    /// Compile the rules of several plugins. Bad rules are returned as
    /// errors naming plugin and rule; the others are kept.
    pub fn build<'a>(sets: impl IntoIterator<Item = (&'a str, &'a [ScrubRule])>) -> (Self, Vec<RuleError>) {
        let mut engine = Self::default();
        let mut errors = Vec::new();
        let mut keyword_list: Vec<String> = Vec::new();
        for (plugin, rules) in sets {
            for rule in rules {
                let fail = |problem: String| RuleError { plugin: plugin.to_owned(), rule: rule.id.clone(), problem };
                if rule.id.is_empty() || !rule.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                    errors.push(fail("id must be letters, digits, '-' or '_'".to_owned()));
                    continue;
                }
                if engine.rules.iter().any(|r| r.id == rule.id) {
                    errors.push(fail("another loaded rule has the same id".to_owned()));
                    continue;
                }
                let regex = match regex::RegexBuilder::new(&rule.pattern).size_limit(REGEX_SIZE_LIMIT).build() {
                    Ok(regex) => regex,
                    Err(err) => {
                        errors.push(fail(format!(
                            "invalid pattern: {}",
                            err.to_string().lines().last().unwrap_or("error")
                        )));
                        continue;
                    }
                };
                let secret_group = rule.secret_group as usize;
                if secret_group >= regex.captures_len() {
                    errors.push(fail(format!(
                        "secret-group {secret_group} does not exist (the pattern has {} groups)",
                        regex.captures_len() - 1
                    )));
                    continue;
                }
                if rule.min_entropy.is_some_and(|e| !(0.0..=8.0).contains(&e)) {
                    errors.push(fail("min-entropy must be between 0 and 8 bits per character".to_owned()));
                    continue;
                }
                if rule.replacement.as_deref().is_some_and(|r| r.chars().any(char::is_control)) {
                    // A newline here would split one log line into two (log injection).
                    errors.push(fail("replacement must not contain control characters".to_owned()));
                    continue;
                }
                let index = engine.rules.len();
                let keywords: Vec<&String> = rule.keywords.iter().filter(|k| !k.is_empty()).collect();
                if keywords.is_empty() {
                    engine.always.push(index);
                }
                for keyword in keywords {
                    let lower = keyword.to_ascii_lowercase();
                    match keyword_list.iter().position(|k| *k == lower) {
                        Some(at) => engine.keyword_rules[at].push(index),
                        None => {
                            keyword_list.push(lower);
                            engine.keyword_rules.push(vec![index]);
                        }
                    }
                }
                engine.rules.push(CompiledRule {
                    id: rule.id.clone(),
                    plugin: plugin.to_owned(),
                    regex,
                    secret_group,
                    replacement: rule.replacement.clone().unwrap_or_else(|| format!("[REDACTED:{}]", rule.id)),
                    min_entropy: rule.min_entropy,
                    verify: rule.verify,
                });
            }
        }
        if !keyword_list.is_empty() {
            engine.keywords = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&keyword_list)
                .ok();
        }
        (engine, errors)
    }

    /// Have `verifier` confirm the candidates of rules that ask for it.
    /// Without one, those rules redact every candidate (fail closed).
    pub fn set_verifier(&mut self, verifier: Arc<Verifier>) {
        self.verifier = Some(verifier);
    }

    /// The compiled rules.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// Which rules could match `line`.
    fn candidates(&self, line: &str) -> Vec<usize> {
        // Most lines hold no keyword at all: one unanchored scan, which can
        // use the automaton's prefilter, settles them without allocating.
        if self.always.is_empty() && !self.keywords.as_ref().is_some_and(|k| k.is_match(line)) {
            return Vec::new();
        }
        let mut chosen = vec![false; self.rules.len()];
        for &rule in &self.always {
            chosen[rule] = true;
        }
        if let Some(keywords) = &self.keywords {
            for found in keywords.find_overlapping_iter(line) {
                for &rule in &self.keyword_rules[found.pattern().as_usize()] {
                    chosen[rule] = true;
                }
            }
        }
        chosen.iter().enumerate().filter(|(_, on)| **on).map(|(i, _)| i).collect()
    }

    /// Find what to redact in `line`. `verify` answers for rules that ask for
    /// it (rule, candidate) -> is it a secret.
    pub fn find(&self, line: &str, mut verify: impl FnMut(&CompiledRule, &str) -> bool) -> Vec<Redaction> {
        let mut found: Vec<Redaction> = Vec::new();
        for index in self.candidates(line) {
            let rule = &self.rules[index];
            for captures in rule.regex.captures_iter(line) {
                let Some(secret) = captures.get(rule.secret_group) else { continue };
                let text = secret.as_str();
                if text.is_empty() || already_masked(text) {
                    continue;
                }
                if rule.min_entropy.is_some_and(|min| entropy(text) < min) {
                    continue;
                }
                if rule.verify && !verify(rule, text) {
                    continue;
                }
                found.push(Redaction { rule: index, start: secret.start(), end: secret.end() });
            }
        }
        found.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
        let mut merged: Vec<Redaction> = Vec::with_capacity(found.len());
        for redaction in found {
            match merged.last_mut() {
                Some(last) if redaction.start < last.end => last.end = last.end.max(redaction.end),
                _ => merged.push(redaction),
            }
        }
        merged
    }

    /// Apply redactions found by [`Engine::find`].
    pub fn apply<'a>(&self, line: &'a str, redactions: &[Redaction]) -> Cow<'a, str> {
        if redactions.is_empty() {
            return Cow::Borrowed(line);
        }
        let mut out = String::with_capacity(line.len());
        let mut at = 0;
        for redaction in redactions {
            out.push_str(&line[at..redaction.start]);
            out.push_str(&self.rules[redaction.rule].replacement);
            at = redaction.end;
        }
        out.push_str(&line[at..]);
        Cow::Owned(out)
    }

    /// Scrub a line. Candidates of rules that want `verify` go to the
    /// plugin through the verifier; any failure there redacts.
    pub fn scrub<'a>(&self, line: &'a str) -> (Cow<'a, str>, Vec<Redaction>) {
        let redactions = self.find(line, |rule, candidate| match &self.verifier {
            Some(verifier) => verifier.verify(&rule.plugin, &rule.id, candidate),
            None => true,
        });
        (self.apply(line, &redactions), redactions)
    }
}
