//! A rule as the engine runs it: compiled, checked, and what a match means
//! for the lines after it.

use regex::bytes::{Regex, RegexBuilder};

use crate::runtime::bindings::types::ScrubRule;

/// Longest regex program accepted per rule (bytes of compiled size).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// What a rule matches with.
#[derive(Debug)]
pub enum Matcher {
    /// A regular expression and the group that holds the secret.
    Regex {
        /// Compiled with ASCII semantics (`\b`, `\w`, `(?i)`); `(?u)` opts in to Unicode.
        regex: Regex,
        /// Capture group holding the secret (0: the whole match).
        secret_group: usize,
        /// For a rule whose pattern names a `next_line` or `next_lines`
        /// group: the secret is on the lines after a match, not in it.
        follow: Option<Follow>,
        /// Literals every match contains, looked for before the regex runs.
        required: super::required::Required,
    },
    /// The assignment detector, with this rule's key words.
    Assignment,
}

/// How a rule points at the lines after its match ([`super::lines`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// `(?P<next_line>)` took part: the next line with a value holds the secret.
    Line(usize),
    /// `(?P<next_lines>\d+)`: that many lines hold it (a key's body).
    Lines(usize),
}

/// Lines after the current one that hold a secret, and the rule that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Carry {
    /// Index of the rule in the engine.
    pub rule: usize,
    /// How many lines with a value are still to redact.
    pub lines: u16,
}

/// Most lines one match may carry a redaction over.
const MAX_CARRIED_LINES: u16 = 64;

/// A rule ready to run.
#[derive(Debug)]
pub struct CompiledRule {
    /// Rule id (also the metric label).
    pub id: String,
    /// The plugin that declared it.
    pub plugin: String,
    /// How it finds candidates.
    pub matcher: Matcher,
    /// The keywords the plugin declared.
    pub keywords: Vec<String>,
    pub(super) replacement: String,
    pub(super) min_entropy: Option<f64>,
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

impl CompiledRule {
    /// The rule's regex, for regex rules.
    pub fn regex(&self) -> Option<&Regex> {
        match &self.matcher {
            Matcher::Regex { regex, .. } => Some(regex),
            Matcher::Assignment => None,
        }
    }

    /// What replaces a secret this rule finds.
    pub fn replacement(&self) -> &str {
        &self.replacement
    }
}

/// Check a rule and build its matcher. An empty pattern makes an
/// assignment rule.
pub(super) fn compile(rule: &ScrubRule, existing: &[CompiledRule]) -> Result<Matcher, String> {
    if rule.id.is_empty() || !rule.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err("id must be letters, digits, '-' or '_'".to_owned());
    }
    if existing.iter().any(|r| r.id == rule.id) {
        return Err("another loaded rule has the same id".to_owned());
    }
    if rule.min_entropy.is_some_and(|e| !(0.0..=8.0).contains(&e)) {
        return Err("min-entropy must be between 0 and 8 bits per character".to_owned());
    }
    if rule.replacement.as_deref().is_some_and(|r| r.chars().any(char::is_control)) {
        // A newline here would split one log line into two (log injection).
        return Err("replacement must not contain control characters".to_owned());
    }
    if rule.pattern.is_empty() {
        if rule.secret_group != 0 {
            return Err("an assignment rule (empty pattern) has no capture groups; set secret-group to 0".to_owned());
        }
        if rule.keywords.iter().all(|k| k.is_empty() || k.starts_with('!')) {
            return Err("an assignment rule (empty pattern) needs key words in `keywords`".to_owned());
        }
        return Ok(Matcher::Assignment);
    }
    let regex = RegexBuilder::new(&rule.pattern)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|err| format!("invalid pattern: {}", err.to_string().lines().last().unwrap_or("error").trim()))?;
    let secret_group = rule.secret_group as usize;
    if secret_group >= regex.captures_len() {
        return Err(format!(
            "secret-group {secret_group} does not exist (the pattern has {} groups)",
            regex.captures_len() - 1
        ));
    }
    let group = |name: &str| regex.capture_names().position(|n| n == Some(name));
    let follow = match (group("next_line"), group("next_lines")) {
        (Some(at), None) => Some(Follow::Line(at)),
        (None, Some(at)) => Some(Follow::Lines(at)),
        (Some(_), Some(_)) => return Err("a pattern names next_line or next_lines, not both".to_owned()),
        (None, None) => None,
    };
    let required = super::required::Required::of(&rule.pattern);
    Ok(Matcher::Regex { regex, secret_group, follow, required })
}

/// The carry a follow rule's first match sets, if its group took part.
pub(super) fn carried(regex: &Regex, follow: Follow, line: &[u8], rule: usize) -> Option<Carry> {
    let captures = regex.captures_iter(line).find(|c| match follow {
        Follow::Line(group) | Follow::Lines(group) => c.get(group).is_some(),
    })?;
    let lines = match follow {
        Follow::Line(_) => 1,
        Follow::Lines(group) => {
            let text = captures.get(group)?.as_bytes();
            std::str::from_utf8(text).ok()?.trim().parse::<u16>().ok()?.min(MAX_CARRIED_LINES)
        }
    };
    (lines > 0).then_some(Carry { rule, lines })
}
