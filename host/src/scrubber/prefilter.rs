//! The first pass over every byte: where do any of the rules' literals
//! (keywords and key words) occur? An Aho-Corasick automaton (ASCII case
//! insensitive, overlapping semantics) answers it.
//!
//! The automaton is built by the `aho-corasick` crate, then copied into a
//! table laid out for this one job: byte classes, rows premultiplied by the
//! class count, and a match flag in each entry, so a step is two loads and
//! a mask. Stepping a DFA is a chain of dependent loads, bound by their
//! latency rather than the core's throughput; a large text is therefore
//! scanned by four cursors at once, each over its own quarter (plus the
//! longest literal's length before it, so no occurrence across a boundary
//! is missed). On the 2-core development machines, with the bundled rules'
//! 576 literals (2,859 states, 64 byte classes): about 600 MB/s for one
//! cursor over a line, 1.4 GB/s for four over a chunk of a log. Measured
//! and slower: six or eight cursors (no gain past four), a 256-column
//! table of `u16` states without byte classes (1.5 MB, half the speed:
//! cache misses), and loading eight bytes of each lane at once.

use std::collections::HashMap;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, StartKind};

/// An occurrence of a literal: where it ends (inclusive) and which it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// Byte offset of its last byte.
    pub end: u32,
    /// The literal's index.
    pub literal: u32,
}

/// Set in a transition whose target state completes a literal.
const MATCH: u32 = 1 << 31;
/// Cursors that scan a large text at once, each over its own part.
const LANES: usize = 4;
/// Below this size a text is scanned by one cursor.
const INTERLEAVE_FROM: usize = 4096;

/// The compiled literal set.
#[derive(Debug)]
pub struct Prefilter {
    /// Byte to class.
    classes: [u8; 256],
    /// Classes per state.
    stride: u32,
    /// By `row + class`: the next state's row, with [`MATCH`].
    table: Vec<u32>,
    /// By state (row / stride): the literals it completes.
    matches: Vec<Box<[u32]>>,
    /// Length of each literal.
    lengths: Vec<u32>,
    /// Bytes a cursor scans before its quarter (the longest literal, less one).
    overlap: usize,
}

impl Prefilter {
    /// Compile `literals` (matched ASCII case-insensitively).
    pub fn new(literals: &[String]) -> Result<Self, String> {
        let fail = |err: &dyn std::fmt::Display| format!("keywords do not compile: {err}");
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .prefilter(false)
            .build(literals)
            .map_err(|err| fail(&err))?;
        let start = dfa.start_state(Anchored::No).map_err(|err| fail(&err))?;
        let (states, next) = reachable(&dfa, start);
        if states.len() >= (MATCH as usize) / 256 {
            return Err("keywords do not compile: too many automaton states".to_owned());
        }
        let (classes, stride) = byte_classes(&next);
        let mut table = vec![0u32; states.len() * stride as usize];
        for (state, row) in next.iter().enumerate() {
            for byte in 0..256 {
                let target = row[byte];
                let flag = if dfa.is_match(states[target as usize]) { MATCH } else { 0 };
                table[state * stride as usize + usize::from(classes[byte])] = (target * stride) | flag;
            }
        }
        let matches = states
            .iter()
            .map(|&sid| {
                let count = if dfa.is_match(sid) { dfa.match_len(sid) } else { 0 };
                (0..count).map(|i| dfa.match_pattern(sid, i).as_u32()).collect()
            })
            .collect();
        let lengths = literals.iter().map(|l| u32::try_from(l.len()).unwrap_or(u32::MAX)).collect();
        let overlap = literals.iter().map(String::len).max().unwrap_or(1).saturating_sub(1);
        Ok(Self { classes, stride, table, matches, lengths, overlap })
    }

    /// Where the occurrence ending at `end` of `literal` starts.
    pub fn start_of(&self, occurrence: Occurrence) -> usize {
        (occurrence.end as usize + 1).saturating_sub(self.lengths[occurrence.literal as usize] as usize)
    }

    fn step(&self, row: u32, byte: u8) -> u32 {
        self.table[(row + u32::from(self.classes[usize::from(byte)])) as usize]
    }

    /// Call `found` with every occurrence in `text`, in order of their end.
    pub fn each(&self, text: &[u8], mut found: impl FnMut(Occurrence)) {
        let mut row = 0;
        for (at, &byte) in text.iter().enumerate() {
            let entry = self.step(row, byte);
            row = entry & !MATCH;
            if entry & MATCH != 0 {
                self.report(row, at, &mut found);
            }
        }
    }

    /// Append every occurrence in `text` to `out`, in order of their end,
    /// scanning with [`LANES`] interleaved cursors. Offsets must fit in `u32`.
    #[expect(clippy::needless_range_loop, reason = "one step indexes every lane")]
    pub fn scan(&self, text: &[u8], out: &mut Vec<Occurrence>) {
        let part = text.len() / LANES;
        if text.len() < INTERLEAVE_FROM || part <= self.overlap || u32::try_from(text.len()).is_err() {
            self.each(text, |o| out.push(o));
            return;
        }
        let steps = part + self.overlap;
        let begin: [usize; LANES] = std::array::from_fn(|lane| (lane * part).saturating_sub(self.overlap));
        let lanes: [&[u8]; LANES] = begin.map(|b| &text[b..b + steps]);
        let mut found: [Vec<Occurrence>; LANES] = Default::default();
        let mut rows = [0u32; LANES];
        // (Slices of exactly `steps` bytes: no bounds check in the loop.)
        let lanes: [&[u8]; LANES] = lanes.map(|lane| &lane[..steps]);
        for step in 0..steps {
            let entries: [u32; LANES] = std::array::from_fn(|lane| self.step(rows[lane], lanes[lane][step]));
            rows = entries.map(|entry| entry & !MATCH);
            if entries.iter().fold(0, |any, entry| any | entry) & MATCH != 0 {
                for (lane, entry) in entries.into_iter().enumerate() {
                    let at = begin[lane] + step;
                    // A cursor reports only what ends in its own part.
                    if entry & MATCH != 0 && at >= lane * part && at < (lane + 1) * part {
                        self.report(entry & !MATCH, at, &mut |o| found[lane].push(o));
                    }
                }
            }
        }
        for lane in &found {
            out.extend_from_slice(lane);
        }
        // The last cursor goes on over what the parts left.
        let mut row = rows[LANES - 1];
        for (at, &byte) in text.iter().enumerate().skip(LANES * part) {
            let entry = self.step(row, byte);
            row = entry & !MATCH;
            if entry & MATCH != 0 {
                self.report(row, at, &mut |o| out.push(o));
            }
        }
    }

    fn report(&self, row: u32, at: usize, found: &mut impl FnMut(Occurrence)) {
        for &literal in self.matches[(row / self.stride) as usize].iter() {
            found(Occurrence { end: at as u32, literal });
        }
    }
}

/// Every state reachable from `start`, in order of discovery, and for each
/// its next state (as an index into that order) on every byte.
fn reachable(dfa: &DFA, start: StateID) -> (Vec<StateID>, Vec<[u32; 256]>) {
    let mut index: HashMap<StateID, u32> = HashMap::from([(start, 0)]);
    let mut states = vec![start];
    let mut next = Vec::new();
    let mut at = 0;
    while at < states.len() {
        let sid = states[at];
        let mut row = [0u32; 256];
        for byte in 0..=255u8 {
            let target = dfa.next_state(Anchored::No, sid, byte);
            row[usize::from(byte)] = *index.entry(target).or_insert_with(|| {
                states.push(target);
                (states.len() - 1) as u32
            });
        }
        next.push(row);
        at += 1;
    }
    (states, next)
}

/// Bytes that every state treats alike share a class.
fn byte_classes(next: &[[u32; 256]]) -> ([u8; 256], u32) {
    let mut seen: HashMap<Vec<u32>, u8> = HashMap::new();
    let mut classes = [0u8; 256];
    for (byte, class) in classes.iter_mut().enumerate() {
        let column: Vec<u32> = next.iter().map(|row| row[byte]).collect();
        let fresh = u8::try_from(seen.len()).unwrap_or(u8::MAX);
        *class = *seen.entry(column).or_insert(fresh);
    }
    (classes, u32::try_from(seen.len()).unwrap_or(256))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_scan_finds_what_one_cursor_finds() {
        let literals: Vec<String> = ["password", "token", "ghp_", "sk-ant-", "sk-", "://"].map(str::to_owned).into();
        let prefilter = Prefilter::new(&literals).expect("compiles");
        let mut text = String::new();
        for n in 0..3000 {
            text.push_str(&format!("line {n} PASSWORD=x token ghp_abc sk-ant-x https://h\n"));
        }
        let mut one = Vec::new();
        prefilter.each(text.as_bytes(), |o| one.push(o));
        let mut four = Vec::new();
        prefilter.scan(text.as_bytes(), &mut four);
        assert_eq!(one.len(), 3000 * 6);
        assert_eq!(one, four);
        assert_eq!(&text[prefilter.start_of(one[0])..=one[0].end as usize], "PASSWORD");
    }
}
