//! What a line must hold for a pattern to match, found in its syntax tree:
//! the literals every match contains (`scheme://user:pass@host` cannot
//! match a line without `://` and `@`), and for a pattern anchored at the
//! start of the line, how the line may begin (`^(?:C:\s*)?PASS\s`). The
//! engine checks them (SIMD substring search, a prefix compare) before it
//! asks the regex, which spares most regex runs on lines that hit a rule's
//! keyword for another reason (a URL without credentials, `status=PASS`).
//!
//! Only byte strings the pattern states literally count; letters under
//! `(?i)` are classes in the tree and are left out, so a required literal is
//! always matched byte for byte.

use memchr::memmem::Finder;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, HirKind, Look};

/// Most literals kept per rule (the longest: they are the rarest).
const KEPT: usize = 3;

/// What a line must hold for a rule's pattern to match.
#[derive(Debug, Default)]
pub struct Required {
    /// Literals every match contains.
    literals: Vec<Finder<'static>>,
    /// For a pattern anchored at the line's start: the line starts with
    /// one of these. Empty: no such constraint.
    starts: Vec<Vec<u8>>,
}

/// Most prefixes a pattern's start may be checked against.
const MAX_PREFIXES: usize = 64;

impl Required {
    /// Derive it from `pattern`, parsed as the engine compiles it. A
    /// pattern that does not parse here requires nothing.
    pub fn of(pattern: &str) -> Self {
        let Ok(hir) = regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(pattern) else {
            return Self::default();
        };
        let mut literals = literals(&hir);
        literals.sort_by_key(|l| std::cmp::Reverse(l.len()));
        literals.dedup();
        let literals = literals.into_iter().take(KEPT).map(|l| Finder::new(&l).into_owned()).collect();
        let mut starts = Vec::new();
        if hir.properties().look_set_prefix().contains(Look::Start) {
            let prefixes = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
            if let Some(found) = prefixes.literals()
                && found.len() <= MAX_PREFIXES
                && found.iter().all(|p| !p.as_bytes().is_empty())
            {
                starts = found.iter().map(|p| p.as_bytes().to_vec()).collect();
            }
        }
        Self { literals, starts }
    }

    /// Whether `line` could hold a match.
    pub fn admits(&self, line: &[u8]) -> bool {
        (self.starts.is_empty() || self.starts.iter().any(|p| line.starts_with(p)))
            && self.literals.iter().all(|finder| finder.find(line).is_some())
    }
}

fn literals(hir: &Hir) -> Vec<Vec<u8>> {
    match hir.kind() {
        HirKind::Literal(literal) => vec![literal.0.to_vec()],
        HirKind::Capture(capture) => literals(&capture.sub),
        HirKind::Repetition(repetition) if repetition.min > 0 => literals(&repetition.sub),
        HirKind::Concat(parts) => parts.iter().flat_map(literals).collect(),
        // A literal every branch requires.
        HirKind::Alternation(branches) => {
            let mut each = branches.iter().map(literals);
            let first = each.next().unwrap_or_default();
            each.fold(first, |common, other| common.into_iter().filter(|l| other.contains(l)).collect())
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(pattern: &str) -> Vec<String> {
        let mut found: Vec<String> = literals(
            &regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(pattern).expect("parses"),
        )
        .into_iter()
        .map(|l| String::from_utf8(l).expect("ascii"))
        .collect();
        found.sort();
        found
    }

    #[test]
    fn what_every_match_contains() {
        assert_eq!(texts(r"(?i)\b[a-z]+://(?:[^\s:@]*:([^\s@]+)|([\w.]{20,}))@[^\s]"), ["://", "@"]);
        assert_eq!(texts(r"\b(pat[A-Za-z0-9]{14}\.[a-f0-9]{64})\b"), [".", "pat"]);
        assert_eq!(texts(r"(?:x-token|y-token)=(\S+)"), ["="]);
        assert_eq!(texts(r"a(?:bc)?d"), ["a", "d"]);
        assert_eq!(texts(r"(?i)password=(\S+)"), ["="]);
        assert_eq!(texts(r"^PASS\s+(\S+)$"), ["PASS"]);
        assert!(texts(r"[a-f0-9]{32}|x").is_empty());
    }

    #[test]
    fn lines_without_them_are_settled_without_the_regex() {
        let uri = Required::of(r"(?i)\b[a-z]+://[^\s:@]*:([^\s@]+)@\S");
        assert!(uri.admits(b"mysql://app:s3cret@db/x"));
        assert!(!uri.admits(b"GET https://api.example.com/v1/assets?page=3"));
        let pass = Required::of(r"^(?:(?:>|C:|-->)\s*)?PASS\s+(\S+)\s*$");
        assert!(pass.admits(b"PASS hunter2"));
        assert!(pass.admits(b"C: PASS hunter2"));
        assert!(!pass.admits(b"2026-11-02 status=PASS evidence=x"));
        // Anchored, but any first character: only the literals count.
        let ntlm = Required::of(r"^[^:\s]+:\d+:[0-9a-f]{32}:([0-9a-f]{32}):::");
        assert!(ntlm.admits(b"2026-11-05 arn=arn:aws:s3:::logs"));
        // In multi-line mode `^` is any line's start: no prefix constraint.
        assert!(Required::of(r"(?m)^PASS (\S+)").admits(b"x\nPASS y"));
        assert!(Required::of("(unclosed").admits(b"anything"));
    }
}
