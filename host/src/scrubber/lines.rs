//! Scrubbing a stream of lines: each line through the engine, plus secrets
//! that span lines.
//!
//! - A PEM private key written out whole: after a `-----BEGIN … PRIVATE
//!   KEY-----` line without its `-----END`, every line up to the `-----END`
//!   marker is redacted as a whole, attributed to the rule that declared the
//!   `PRIVATE KEY-----` keyword (no such rule loaded, no block redaction).
//! - A secret on the line after the one that announces it: a rule whose
//!   pattern names a `next_line` group (`$ gcloud auth print-access-token`,
//!   SMTP's `334 UGFzc3dvcmQ6`, PHP's `["password"]=>`) or a `next_lines`
//!   group holding a count (PuTTY's `Private-Lines: 14`). The value on each
//!   such line is redacted: its quoted string, or the line's only word after
//!   a protocol marker (`C:`, `~>`, `>`). Marker-only lines (`S: +`) and
//!   blank lines are passed over; a line of several words ends the carry.
//! - A YAML block scalar under a secret key (`password: |-`, then the value
//!   on the lines below it, more indented): see [`super::block`].
//! - A value shown under the line that names it, in a traceback
//!   ([`super::annotated`]): the last indented line is kept as the source
//!   line the annotations below it point into.

use std::borrow::Cow;
use std::ops::Range;

use super::engine::{Carry, Engine, Redaction};
use super::prefilter::Occurrence;
use super::{annotated, block};

/// Where a stream is: inside a private key block, or after a line that
/// announced secrets on the lines that follow.
#[derive(Debug, Default, Clone)]
pub struct Lines {
    in_private_key: bool,
    carry: Option<Carry>,
    /// Inside a YAML block scalar under a secret key ([`super::block`]).
    block: Option<Block>,
    /// The last indented line that was not an annotation (empty after a
    /// line that is not indented).
    source: String,
}

/// A YAML block scalar being redacted: the key's indentation, and the rule
/// that judged the key.
#[derive(Debug, Clone, Copy)]
struct Block {
    indent: usize,
    rule: usize,
}

/// What a line after an announcement holds.
#[derive(Debug, PartialEq, Eq)]
enum Carried {
    /// A value at this range.
    Value(Range<usize>),
    /// Nothing (blank, or a protocol marker): keep waiting.
    Nothing,
    /// Other text: the announced value never came.
    Other,
}

impl Lines {
    /// A stream outside any block.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scrub the next line of the stream.
    pub fn scrub<'a>(&mut self, engine: &Engine, line: &'a str) -> (Cow<'a, str>, Vec<Redaction>) {
        self.scrub_line(engine, line, None)
    }

    /// One line, from a scan of the text it is in when `scanned` is set.
    fn scrub_line<'a>(
        &mut self,
        engine: &Engine,
        line: &'a str,
        scanned: Option<(&[Occurrence], usize)>,
    ) -> (Cow<'a, str>, Vec<Redaction>) {
        if let Some(answer) = self.in_block(engine, line) {
            return answer;
        }
        if let Some(carry) = self.carry
            && !self.in_private_key
        {
            match carried_value(line) {
                Carried::Value(range) => {
                    self.carry = (carry.lines > 1).then_some(Carry { lines: carry.lines - 1, ..carry });
                    let redaction = Redaction { rule: carry.rule, start: range.start, end: range.end };
                    return (engine.apply(line, &[redaction]), vec![redaction]);
                }
                Carried::Nothing => return (Cow::Borrowed(line), Vec::new()),
                Carried::Other => self.carry = None,
            }
        }
        if let Some(annotated) = self.annotated(engine, line) {
            return annotated;
        }
        let Some(rule) = engine.private_key_rule() else { return self.scrub_noting_carry(engine, line, scanned) };
        if self.in_private_key {
            let end = line.find("-----END");
            self.in_private_key = end.is_none();
            let body_end = end.unwrap_or(line.len());
            let start = line.len() - line.trim_start().len();
            if line[start..body_end].trim().is_empty() {
                return engine.scrub(line);
            }
            let redaction = Redaction { rule, start, end: body_end };
            let (rest, mut more) = engine.scrub(&line[body_end..]);
            let mut out = String::with_capacity(line.len());
            out.push_str(&line[..start]);
            out.push_str(engine.rules()[rule].replacement());
            out.push_str(&rest);
            for r in &mut more {
                r.start += body_end;
                r.end += body_end;
            }
            more.insert(0, redaction);
            return (Cow::Owned(out), more);
        }
        self.note_begin(line);
        self.scrub_noting_carry(engine, line, scanned)
    }

    fn scrub_noting_carry<'a>(
        &mut self,
        engine: &Engine,
        line: &'a str,
        scanned: Option<(&[Occurrence], usize)>,
    ) -> (Cow<'a, str>, Vec<Redaction>) {
        let (out, redactions, carry) = engine.scrub_carry(line, scanned);
        if carry.is_some() {
            self.carry = carry;
        }
        self.note_block(engine, line);
        (out, redactions)
    }

    /// `key: |` under a key the engine would redact a credential of opens a
    /// block.
    ///
    /// A line that is only a secret key and an operator (`"password":`,
    /// `<password>`) carries the redaction to the next line's value.
    fn note_block(&mut self, engine: &Engine, line: &str) {
        let judge = |key: &str| {
            let probe = format!("{key}: \"{}\"", block::CANARY);
            engine.scrub(&probe).1.first().map(|redaction| redaction.rule)
        };
        if let Some((indent, key)) = block::opener(line) {
            if let Some(rule) = judge(key) {
                self.block = Some(Block { indent, rule });
            }
        } else if let Some(key) = block::dangling(line)
            && let Some(rule) = judge(key)
        {
            self.carry = Some(Carry { rule, lines: 1 });
        }
    }

    /// A line of an open block: redacted whole when more indented than its
    /// key, passed over when blank; any other line ends the block (`None`).
    fn in_block<'a>(&mut self, engine: &Engine, line: &'a str) -> Option<(Cow<'a, str>, Vec<Redaction>)> {
        let block = self.block?;
        let content = line.trim();
        if content.is_empty() {
            return Some((Cow::Borrowed(line), Vec::new()));
        }
        let indent = line.len() - line.trim_start().len();
        if indent <= block.indent {
            self.block = None;
            return None;
        }
        let redaction = Redaction { rule: block.rule, start: indent, end: indent + content.len() };
        Some((engine.apply(line, &[redaction]), vec![redaction]))
    }

    /// Scrub a text of whole lines (a chunk of a log) with one interleaved
    /// scan of it, calling `emit` with each scrubbed line (without its
    /// newline) and its redactions. This is `vigil scrub`'s path: a clean
    /// line costs its share of the scan and a copy.
    pub fn scrub_text(&mut self, engine: &Engine, text: &str, mut emit: impl FnMut(&str, &[Redaction])) {
        let occurrences = engine.scan(text);
        let mut next = 0;
        let mut offset = 0;
        for line in split_lines(text) {
            let end = offset + line.len();
            let first = next;
            while next < occurrences.len() && (occurrences[next].end as usize) < end {
                next += 1;
            }
            let mine: &[Occurrence] = &occurrences[first..next];
            if let Some((out, redactions)) = self.in_block(engine, line).or_else(|| self.annotated(engine, line)) {
                emit(&out, &redactions);
            } else if self.in_private_key || self.carry.is_some() {
                let (out, redactions) = self.scrub_line(engine, line, Some((mine, offset)));
                emit(&out, &redactions);
            } else if mine.is_empty() {
                emit(line, &[]);
            } else {
                if mine.iter().any(|o| engine.names_private_key(o)) {
                    self.note_begin(line);
                }
                let (out, redactions) = self.scrub_noting_carry(engine, line, Some((mine, offset)));
                emit(&out, &redactions);
            }
            offset = end + 1;
        }
    }

    /// An annotation line of a traceback, scrubbed with its value read as
    /// assigned to the name it points at; `None` for any other line (an
    /// indented one is kept as the source line).
    fn annotated<'a>(&mut self, engine: &Engine, line: &'a str) -> Option<(Cow<'a, str>, Vec<Redaction>)> {
        if !line.starts_with([' ', '\t']) {
            if !self.source.is_empty() {
                self.source.clear();
            }
            return None;
        }
        let Some((column, value)) = annotated::annotation(line) else {
            self.source.clear();
            self.source.push_str(line);
            return None;
        };
        let name = annotated::name_at(&self.source, column)?;
        let (out, found) = engine.scrub(line);
        if !found.is_empty() {
            return Some((out, found));
        }
        let shown = format!("{name} = {}", &line[value.clone()]);
        let offset = name.len() + 3;
        let (_, read) = engine.scrub(&shown);
        let mapped: Vec<Redaction> = read
            .into_iter()
            .filter(|r| r.start >= offset)
            .map(|r| Redaction {
                rule: r.rule,
                start: r.start - offset + value.start,
                end: r.end - offset + value.start,
            })
            .collect();
        if mapped.is_empty() {
            return Some((out, found));
        }
        Some((engine.apply(line, &mapped), mapped))
    }

    /// A `-----BEGIN … PRIVATE KEY-----` without its end opens a block.
    fn note_begin(&mut self, line: &str) {
        if let Some(begin) = line.rfind("-----BEGIN ")
            && line[begin..].contains("PRIVATE KEY")
            && !line[begin..].contains("-----END")
        {
            self.in_private_key = true;
        }
    }
}

/// `text.split('\n')`, with the newlines found by SIMD (`str::split`
/// looks for them a word at a time: 7% of a chunk's scrubbing).
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut newlines = memchr::memchr_iter(b'\n', text.as_bytes());
    let mut start = Some(0);
    std::iter::from_fn(move || {
        let from = start?;
        match newlines.next() {
            Some(at) => {
                start = Some(at + 1);
                Some(&text[from..at])
            }
            None => {
                start = None;
                Some(&text[from..])
            }
        }
    })
}

/// Protocol and prompt markers a value line may start with.
const MARKERS: [&str; 10] = ["C:", "S:", "~>", "<~", "-->", "<--", "->", "<-", ">", "<"];

/// The value on a line after an announcement.
fn carried_value(line: &str) -> Carried {
    let indent = line.len() - line.trim_start().len();
    let mut rest = &line[indent..];
    for marker in MARKERS {
        if let Some(after) = rest.strip_prefix(marker) {
            rest = after;
            break;
        }
    }
    // A plan's or a manifest's next field: `+ value = "x"`, `value: x`.
    let trimmed = rest.trim_start();
    let field = trimmed.strip_prefix(['+', '~']).unwrap_or(trimmed).trim_start();
    if let Some(after) = field.strip_prefix("value") {
        let after = after.trim_start();
        if let Some(value) = after.strip_prefix(['=', ':']) {
            rest = value;
        }
    }
    let start = line.len() - rest.trim_start().len();
    let text = line[start..].trim_end();
    if text.is_empty() || text == "+" || text.starts_with("+ ") {
        return Carried::Nothing;
    }
    // A list's or an object's separator after the value (`"x",`).
    let text = text.strip_suffix([',', ';']).unwrap_or(text);
    // Structure, not a value: a nested key (`secretKeyRef:`), an element
    // (`</password>`), an object or a list.
    if text.ends_with(':') || text.starts_with(['<', '{', '[']) || text.is_empty() {
        return Carried::Other;
    }
    // One quoted string after at most one word (`string(32) "x"`, `"x"`).
    if let Some(open) = text.find('"')
        && let Some(close) = text[open + 1..].find('"')
        && open + 1 + close == text.len() - 1
        && !text[..open].trim_end().contains(char::is_whitespace)
        && !text[..open].contains([':', '=', '{'])
    {
        return Carried::Value(start + open + 1..start + open + 1 + close);
    }
    if text.contains(char::is_whitespace) || text.starts_with('$') || text.starts_with('#') {
        return Carried::Other;
    }
    Carried::Value(start..start + text.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bindings::types::ScrubRule;

    fn engine() -> Engine {
        let rule = ScrubRule {
            id: "private-key".to_owned(),
            description: String::new(),
            pattern: r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----(.*?)(?:-----END|$)".to_owned(),
            keywords: vec!["PRIVATE KEY-----".to_owned()],
            secret_group: 1,
            replacement: None,
            min_entropy: None,
            verify: false,
        };
        Engine::build([("p", &[rule][..])]).0
    }

    #[test]
    fn a_multi_line_key_loses_every_body_line() {
        let engine = engine();
        let mut lines = Lines::new();
        let text = "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1\n  Zm9vYmFy\n-----END RSA PRIVATE KEY-----\nafter";
        let out: Vec<String> = text.lines().map(|l| lines.scrub(&engine, l).0.into_owned()).collect();
        assert_eq!(
            out,
            [
                "before",
                "-----BEGIN RSA PRIVATE KEY-----",
                "[REDACTED:private-key]",
                "  [REDACTED:private-key]",
                "-----END RSA PRIVATE KEY-----",
                "after"
            ]
        );
    }

    #[test]
    fn a_scanned_text_gives_what_line_by_line_gives() {
        let engine = engine();
        let mut text = String::new();
        for n in 0..500 {
            text.push_str(&format!(
                "line {n}\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI{n:04}\n-----END EC PRIVATE KEY-----\n"
            ));
        }
        text.pop();
        let mut by_line = Lines::new();
        let expected: Vec<String> = text.split('\n').map(|l| by_line.scrub(&engine, l).0.into_owned()).collect();
        let mut scanned = Vec::new();
        Lines::new().scrub_text(&engine, &text, |line, _| scanned.push(line.to_owned()));
        assert_eq!(scanned, expected);
        assert!(!scanned.iter().any(|l| l.contains("MHcCAQEEI")));
    }

    fn follow_engine() -> Engine {
        let rule = |id: &str, pattern: &str, keyword: &str| ScrubRule {
            id: id.to_owned(),
            description: String::new(),
            pattern: pattern.to_owned(),
            keywords: vec![keyword.to_owned()],
            secret_group: 0,
            replacement: None,
            min_entropy: None,
            verify: false,
        };
        let rules = [
            rule("printed", r"^\$ acme token print\s*$(?P<next_line>)", "acme token"),
            rule("ppk", r"Private-Lines:\s*(?P<next_lines>\d+)\s*$", "Private-Lines:"),
        ];
        let (engine, errors) = Engine::build([("p", &rules[..])]);
        assert!(errors.is_empty(), "{errors:?}");
        engine
    }

    #[test]
    fn a_value_on_the_next_line_is_redacted_and_markers_are_passed_over() {
        let engine = follow_engine();
        let mut lines = Lines::new();
        let text = "$ acme token print\nS: +\n  ~> tok3nV4lue\nafter tok3nV4lue\nPrivate-Lines: 2\nAAAAone\nAAAAtwo\nPrivate-MAC: ab";
        let out: Vec<String> = text.lines().map(|l| lines.scrub(&engine, l).0.into_owned()).collect();
        assert_eq!(
            out,
            [
                "$ acme token print",
                "S: +",
                "  ~> [REDACTED:printed]",
                "after tok3nV4lue",
                "Private-Lines: 2",
                "[REDACTED:ppk]",
                "[REDACTED:ppk]",
                "Private-MAC: ab"
            ]
        );
    }

    #[test]
    fn a_line_of_words_ends_the_wait() {
        let engine = follow_engine();
        let mut lines = Lines::new();
        let _ = lines.scrub(&engine, "$ acme token print");
        assert_eq!(lines.scrub(&engine, "Error: not logged in").0, "Error: not logged in");
        assert_eq!(lines.scrub(&engine, "plainword").0, "plainword");
    }

    #[test]
    fn a_quoted_value_keeps_its_quotes_and_a_json_line_is_no_value() {
        let engine = follow_engine();
        let mut lines = Lines::new();
        let _ = lines.scrub(&engine, "$ acme token print");
        assert_eq!(lines.scrub(&engine, r#"  string(8) "s3cr3tXY""#).0, r#"  string(8) "[REDACTED:printed]""#);
        let _ = lines.scrub(&engine, "$ acme token print");
        let json = r#"{"message": "chaos monkey", "time": "now"}"#;
        assert_eq!(lines.scrub(&engine, json).0, json);
    }

    #[test]
    fn a_scanned_text_carries_like_line_by_line() {
        let engine = follow_engine();
        let text = "x\n$ acme token print\n\nT0kenValue1\ny\nPrivate-Lines: 1\nBODY\nz";
        let mut by_line = Lines::new();
        let expected: Vec<String> = text.split('\n').map(|l| by_line.scrub(&engine, l).0.into_owned()).collect();
        let mut scanned = Vec::new();
        Lines::new().scrub_text(&engine, text, |line, _| scanned.push(line.to_owned()));
        assert_eq!(scanned, expected);
        assert!(!scanned.iter().any(|l| l.contains("T0kenValue1") || l.contains("BODY")));
    }

    #[test]
    fn a_one_line_key_does_not_open_a_block() {
        let engine = engine();
        let mut lines = Lines::new();
        let (out, _) = lines.scrub(&engine, "k=-----BEGIN PRIVATE KEY-----\\nMIIabc\\n-----END PRIVATE KEY-----");
        assert!(!out.contains("MIIabc"));
        assert_eq!(lines.scrub(&engine, "next line").0, "next line");
    }
}
