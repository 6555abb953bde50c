//! Scrubbing a stream of lines: each line through the engine, plus the one
//! secret that spans lines, a PEM private key written out whole. After a
//! `-----BEGIN … PRIVATE KEY-----` line without its `-----END`, every line
//! up to the `-----END` marker is redacted as a whole, attributed to the
//! rule that declared the `PRIVATE KEY-----` keyword (no such rule loaded,
//! no block redaction).

use std::borrow::Cow;

use super::engine::{Engine, Redaction};
use super::prefilter::Occurrence;

/// Where a stream is: inside a private key block or not.
#[derive(Debug, Default, Clone)]
pub struct Lines {
    in_private_key: bool,
}

impl Lines {
    /// A stream outside any block.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scrub the next line of the stream.
    pub fn scrub<'a>(&mut self, engine: &Engine, line: &'a str) -> (Cow<'a, str>, Vec<Redaction>) {
        let Some(rule) = engine.private_key_rule() else { return engine.scrub(line) };
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
        engine.scrub(line)
    }

    /// Scrub a text of whole lines (a chunk of a log) with one interleaved
    /// scan of it, calling `emit` with each scrubbed line (without its
    /// newline) and its redactions. This is `vigil scrub`'s path: a clean
    /// line costs its share of the scan and a copy.
    pub fn scrub_text(&mut self, engine: &Engine, text: &str, mut emit: impl FnMut(&str, &[Redaction])) {
        let occurrences = engine.scan(text);
        let mut next = 0;
        let mut offset = 0;
        for line in text.split('\n') {
            let end = offset + line.len();
            let first = next;
            while next < occurrences.len() && (occurrences[next].end as usize) < end {
                next += 1;
            }
            let mine: &[Occurrence] = &occurrences[first..next];
            if self.in_private_key {
                let (out, redactions) = self.scrub(engine, line);
                emit(&out, &redactions);
            } else if mine.is_empty() {
                emit(line, &[]);
            } else {
                if mine.iter().any(|o| engine.names_private_key(o)) {
                    self.note_begin(line);
                }
                let (out, redactions) = engine.scrub_scanned(line, mine, offset);
                emit(&out, &redactions);
            }
            offset = end + 1;
        }
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

    #[test]
    fn a_one_line_key_does_not_open_a_block() {
        let engine = engine();
        let mut lines = Lines::new();
        let (out, _) = lines.scrub(&engine, "k=-----BEGIN PRIVATE KEY-----\\nMIIabc\\n-----END PRIVATE KEY-----");
        assert!(!out.contains("MIIabc"));
        assert_eq!(lines.scrub(&engine, "next line").0, "next line");
    }
}
