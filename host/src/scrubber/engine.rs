//! The compiled matcher. One pass of the prefilter ([`super::prefilter`])
//! over every rule's keywords and every assignment rule's key words finds
//! the few places a line can hold a secret; a clean line costs that pass and
//! nothing else (no allocation). Hits on a regex rule's keyword run that
//! rule's regex; hits on a key word run the structural assignment detector
//! at that spot ([`super::assign`]).

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use super::keys::KeyWords;
use super::prefilter::{Occurrence, Prefilter};
use super::verify::{LineBudget, Verifier};
use super::{assign, values};

use crate::runtime::bindings::types::ScrubRule;

mod required;
mod rule;

pub use self::rule::{Carry, CompiledRule, Follow, Matcher, RuleError};
use self::rule::{carried, compile};

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

/// What a prefilter hit on one literal means.
#[derive(Debug, Default, Clone)]
struct Hit {
    /// Regex rules to run on the line.
    rules: Vec<u32>,
    /// Key words it is: (word, where the key word starts in the literal,
    /// and how many bytes of it belong to the key).
    words: Vec<(usize, usize, usize)>,
}

/// All loaded rules, compiled together.
#[derive(Debug, Default)]
pub struct Engine {
    rules: Vec<CompiledRule>,
    prefilter: Option<Prefilter>,
    /// By prefilter literal.
    hits: Vec<Hit>,
    /// Regex rules that declared no keyword: they run on every line.
    always: Vec<u32>,
    keys: KeyWords,
    /// The rule whose keywords name `PRIVATE KEY-----`: it also redacts the
    /// body lines of a multi-line PEM block ([`super::lines`]).
    private_key: Option<usize>,
    /// Its keywords' prefilter literals.
    private_key_literals: Vec<u32>,
    /// Answers for rules that want their plugin's `verify` called.
    verifier: Option<Arc<Verifier>>,
}

/// Shannon entropy in bits per byte.
pub fn entropy(text: &[u8]) -> f64 {
    let mut counts = [0usize; 256];
    for &byte in text {
        counts[usize::from(byte)] += 1;
    }
    let len = text.len() as f64;
    counts.iter().filter(|&&n| n > 0).map(|&n| n as f64 / len).map(|p| -p * p.log2()).sum()
}

/// Regex rules a line's hits selected: a short list, deduplicated.
#[derive(Default)]
struct Selected {
    inline: [u32; 16],
    len: usize,
    spill: Vec<u32>,
}

impl Selected {
    fn insert(&mut self, rule: u32) {
        if self.inline[..self.len].contains(&rule) || self.spill.contains(&rule) {
            return;
        }
        if self.len < self.inline.len() {
            self.inline[self.len] = rule;
            self.len += 1;
        } else {
            self.spill.push(rule);
        }
    }

    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.inline[..self.len].iter().chain(&self.spill).map(|&r| r as usize)
    }
}

impl Engine {
    /// Compile the rules of several plugins. Bad rules are returned as
    /// errors naming plugin and rule; the others are kept.
    pub fn build<'a>(sets: impl IntoIterator<Item = (&'a str, &'a [ScrubRule])>) -> (Self, Vec<RuleError>) {
        let mut engine = Self::default();
        let mut errors = Vec::new();
        let mut literals: Vec<String> = Vec::new();
        let mut hits: Vec<Hit> = Vec::new();
        let slot = |literal: &str, literals: &mut Vec<String>, hits: &mut Vec<Hit>| -> usize {
            let lower = literal.to_ascii_lowercase();
            match literals.iter().position(|k| *k == lower) {
                Some(at) => at,
                None => {
                    literals.push(lower);
                    hits.push(Hit::default());
                    literals.len() - 1
                }
            }
        };
        for (plugin, rules) in sets {
            for rule in rules {
                let fail = |problem: String| RuleError { plugin: plugin.to_owned(), rule: rule.id.clone(), problem };
                let index = engine.rules.len();
                let matcher = match compile(rule, &engine.rules) {
                    Ok(matcher) => matcher,
                    Err(problem) => {
                        errors.push(fail(problem));
                        continue;
                    }
                };
                let keywords: Vec<String> = rule.keywords.iter().filter(|k| !k.is_empty()).cloned().collect();
                match &matcher {
                    Matcher::Assignment => {
                        let first_word = engine.keys.literals().len();
                        if let Err(problem) = engine.keys.add_rule(index, &keywords) {
                            errors.push(fail(problem));
                            continue;
                        }
                        for literal in &engine.keys.literals()[first_word..] {
                            let at = slot(&literal.text, &mut literals, &mut hits);
                            hits[at].words.push((literal.word, literal.offset, literal.key_len));
                        }
                    }
                    Matcher::Regex { .. } if keywords.is_empty() => engine.always.push(index as u32),
                    Matcher::Regex { .. } => {
                        let names_private_key = engine.private_key.is_none()
                            && keywords.iter().any(|k| k.to_ascii_uppercase().contains("PRIVATE KEY-----"));
                        for keyword in &keywords {
                            let at = slot(keyword, &mut literals, &mut hits);
                            if !hits[at].rules.contains(&(index as u32)) {
                                hits[at].rules.push(index as u32);
                            }
                            if names_private_key {
                                engine.private_key_literals.push(at as u32);
                            }
                        }
                    }
                }
                if engine.private_key.is_none()
                    && keywords.iter().any(|k| k.to_ascii_uppercase().contains("PRIVATE KEY-----"))
                {
                    engine.private_key = Some(index);
                }
                engine.rules.push(CompiledRule {
                    id: rule.id.clone(),
                    plugin: plugin.to_owned(),
                    matcher,
                    keywords,
                    replacement: rule.replacement.clone().unwrap_or_else(|| format!("[REDACTED:{}]", rule.id)),
                    min_entropy: rule.min_entropy,
                    verify: rule.verify,
                });
            }
        }
        if !literals.is_empty() {
            match Prefilter::new(&literals) {
                Ok(prefilter) => engine.prefilter = Some(prefilter),
                Err(problem) => {
                    errors.push(RuleError { plugin: "(all)".to_owned(), rule: "(keywords)".to_owned(), problem })
                }
            }
        }
        engine.hits = hits;
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

    /// The rule that redacts the body of multi-line PEM private keys.
    pub fn private_key_rule(&self) -> Option<usize> {
        self.private_key
    }

    /// Whether an occurrence is of that rule's keywords (a PEM header may
    /// be on the line).
    pub fn names_private_key(&self, occurrence: &Occurrence) -> bool {
        self.private_key_literals.contains(&occurrence.literal)
    }

    /// Find what to redact in `line`. `verify` answers for rules that ask
    /// for it: (rule, candidate) -> is it a secret.
    pub fn find(&self, line: &str, verify: impl FnMut(&CompiledRule, &str) -> bool) -> Vec<Redaction> {
        self.find_carry(line, verify).0
    }

    /// [`Engine::find`], and the lines after this one that a rule says
    /// hold a secret.
    pub fn find_carry(
        &self,
        line: &str,
        mut verify: impl FnMut(&CompiledRule, &str) -> bool,
    ) -> (Vec<Redaction>, Option<Carry>) {
        let mut found: Vec<Redaction> = Vec::new();
        let mut selected = Selected::default();
        if let Some(prefilter) = &self.prefilter {
            prefilter.each(line.as_bytes(), |occurrence| {
                let start = prefilter.start_of(occurrence);
                self.on_hit(line, start, occurrence.literal, &mut selected, &mut verify, &mut found);
            });
        }
        let carry = self.run_regexes(line, selected, &mut verify, &mut found);
        (merge(found), carry)
    }

    /// Every keyword occurrence in a text of many lines (offsets from its
    /// start), from one interleaved scan; hand each line its share with
    /// [`Engine::scrub_scanned`].
    pub fn scan(&self, text: &str) -> Vec<Occurrence> {
        let mut occurrences = Vec::new();
        if let Some(prefilter) = &self.prefilter {
            prefilter.scan(text.as_bytes(), &mut occurrences);
        }
        occurrences
    }

    /// [`Engine::find`] with the occurrences already known: those of `line`,
    /// which starts at `offset` of the scanned text.
    fn find_at(
        &self,
        line: &str,
        occurrences: &[Occurrence],
        offset: usize,
        mut verify: impl FnMut(&CompiledRule, &str) -> bool,
    ) -> (Vec<Redaction>, Option<Carry>) {
        let mut found: Vec<Redaction> = Vec::new();
        let mut selected = Selected::default();
        if let Some(prefilter) = &self.prefilter {
            for &occurrence in occurrences {
                let Some(start) = prefilter.start_of(occurrence).checked_sub(offset) else { continue };
                self.on_hit(line, start, occurrence.literal, &mut selected, &mut verify, &mut found);
            }
        }
        let carry = self.run_regexes(line, selected, &mut verify, &mut found);
        (merge(found), carry)
    }

    /// A literal found at `start`: note the regex rules it selects and run
    /// the assignment detector for the key words it is.
    fn on_hit(
        &self,
        line: &str,
        start: usize,
        literal: u32,
        selected: &mut Selected,
        verify: &mut impl FnMut(&CompiledRule, &str) -> bool,
        found: &mut Vec<Redaction>,
    ) {
        let action = &self.hits[literal as usize];
        for &rule in &action.rules {
            selected.insert(rule);
        }
        for &(word, from, key_len) in &action.words {
            let at = start + from;
            assign::detect(&self.keys, line.as_bytes(), at..at + key_len, word, |rule, range| {
                self.accept(line, rule, range, verify, found)
            });
        }
    }

    /// Run the selected regex rules (and those without keywords) over `line`.
    fn run_regexes(
        &self,
        line: &str,
        mut selected: Selected,
        verify: &mut impl FnMut(&CompiledRule, &str) -> bool,
        found: &mut Vec<Redaction>,
    ) -> Option<Carry> {
        let bytes = line.as_bytes();
        let mut carry = None;
        for &rule in &self.always {
            selected.insert(rule);
        }
        for index in selected.iter() {
            let Matcher::Regex { regex, secret_group, follow, required } = &self.rules[index].matcher else { continue };
            if !required.admits(bytes) {
                continue;
            }
            // Most keyword hits do not match; asking first spares building
            // capture slots for them.
            if !regex.is_match(bytes) {
                continue;
            }
            if let Some(follow) = follow {
                carry = carry.or_else(|| carried(regex, *follow, bytes, index));
                continue;
            }
            for captures in regex.captures_iter(bytes) {
                // Alternatives may each capture their own secret: the group
                // named, or the first later one that took part.
                let Some(secret) = (*secret_group..captures.len()).find_map(|group| captures.get(group)) else {
                    continue;
                };
                if !already_masked(secret.as_bytes()) {
                    self.accept(line, index, secret.range(), verify, found);
                }
            }
        }
        carry
    }

    /// Keep a candidate if the rule's entropy floor and verifier agree.
    fn accept(
        &self,
        line: &str,
        index: usize,
        range: Range<usize>,
        verify: &mut impl FnMut(&CompiledRule, &str) -> bool,
        found: &mut Vec<Redaction>,
    ) {
        let range = char_aligned(line, range);
        let rule = &self.rules[index];
        let text = &line[range.clone()];
        if text.is_empty() || rule.min_entropy.is_some_and(|min| entropy(text.as_bytes()) < min) {
            return;
        }
        if rule.verify && !verify(rule, text) {
            return;
        }
        found.push(Redaction { rule: index, start: range.start, end: range.end });
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
    /// plugin through the verifier, within a per-line time budget; any
    /// failure there redacts.
    pub fn scrub<'a>(&self, line: &'a str) -> (Cow<'a, str>, Vec<Redaction>) {
        let mut budget = LineBudget::new();
        let redactions = self.find(line, |rule, candidate| self.ask(rule, candidate, &mut budget));
        (self.apply(line, &redactions), redactions)
    }

    /// [`Engine::scrub`] for one line of a text [`Engine::scan`]ned as a
    /// whole: `occurrences` are the scan's (a superset is fine) and `line`
    /// starts at `offset` of that text.
    pub fn scrub_scanned<'a>(
        &self,
        line: &'a str,
        occurrences: &[Occurrence],
        offset: usize,
    ) -> (Cow<'a, str>, Vec<Redaction>) {
        let mut budget = LineBudget::new();
        let (redactions, _) =
            self.find_at(line, occurrences, offset, |rule, candidate| self.ask(rule, candidate, &mut budget));
        (self.apply(line, &redactions), redactions)
    }

    /// [`Engine::scrub`], and the lines after this one a rule says hold a
    /// secret. `occurrences` and `offset` as for [`Engine::scrub_scanned`];
    /// `None` scans the line itself.
    pub fn scrub_carry<'a>(
        &self,
        line: &'a str,
        scanned: Option<(&[Occurrence], usize)>,
    ) -> (Cow<'a, str>, Vec<Redaction>, Option<Carry>) {
        let mut budget = LineBudget::new();
        let verify = |rule: &CompiledRule, candidate: &str| self.ask(rule, candidate, &mut budget);
        let (redactions, carry) = match scanned {
            Some((occurrences, offset)) => self.find_at(line, occurrences, offset, verify),
            None => self.find_carry(line, verify),
        };
        (self.apply(line, &redactions), redactions, carry)
    }

    fn ask(&self, rule: &CompiledRule, candidate: &str, budget: &mut LineBudget) -> bool {
        match &self.verifier {
            Some(verifier) => verifier.verify(&rule.plugin, &rule.id, candidate, budget),
            None => true,
        }
    }
}

/// Text that is already masked is left alone.
fn already_masked(secret: &[u8]) -> bool {
    secret.starts_with(b"[REDACTED") || values::is_placeholder(secret)
}

/// Widen `range` to whole characters (a byte-level regex may end inside one).
fn char_aligned(line: &str, range: Range<usize>) -> Range<usize> {
    let mut start = range.start.min(line.len());
    let mut end = range.end.min(line.len());
    while !line.is_char_boundary(start) {
        start -= 1;
    }
    while !line.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// Sort and join overlapping redactions.
fn merge(mut found: Vec<Redaction>) -> Vec<Redaction> {
    if found.len() < 2 {
        return found;
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
