//! The first pass over every byte: where do any of the rules' literals
//! (keywords and key words) occur? One Aho-Corasick DFA (ASCII case
//! insensitive, overlapping semantics) answers it.
//!
//! Stepping a DFA is a chain of dependent table loads, so one cursor is
//! bound by load latency, not by the core's throughput (about 600 MB/s on
//! the 2-core development machines). A large text is therefore scanned by
//! four cursors at once, each over its own quarter (plus the longest
//! literal's length before it, so no occurrence across a boundary is
//! missed): four independent chains keep the core busy (about 1.1 GB/s).

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

/// The compiled literal set.
#[derive(Debug)]
pub struct Prefilter {
    dfa: DFA,
    start: StateID,
    /// Length of each literal.
    lengths: Vec<u32>,
    /// Bytes a cursor scans before its quarter (the longest literal, less one).
    overlap: usize,
}

/// Below this size a text is scanned by one cursor.
const INTERLEAVE_FROM: usize = 4096;

impl Prefilter {
    /// Compile `literals` (matched ASCII case-insensitively).
    pub fn new(literals: &[String]) -> Result<Self, String> {
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .start_kind(StartKind::Unanchored)
            .prefilter(false)
            .build(literals)
            .map_err(|err| format!("keywords do not compile: {err}"))?;
        let start = dfa.start_state(Anchored::No).map_err(|err| format!("keywords do not compile: {err}"))?;
        let lengths = literals.iter().map(|l| u32::try_from(l.len()).unwrap_or(u32::MAX)).collect();
        let overlap = literals.iter().map(String::len).max().unwrap_or(1).saturating_sub(1);
        Ok(Self { dfa, start, lengths, overlap })
    }

    /// Where the occurrence ending at `end` of `literal` starts.
    pub fn start_of(&self, occurrence: Occurrence) -> usize {
        (occurrence.end as usize + 1).saturating_sub(self.lengths[occurrence.literal as usize] as usize)
    }

    /// Call `found` with every occurrence in `text`, in order of their end.
    pub fn each(&self, text: &[u8], mut found: impl FnMut(Occurrence)) {
        let mut state = self.start;
        for (at, &byte) in text.iter().enumerate() {
            state = self.dfa.next_state(Anchored::No, state, byte);
            if self.dfa.is_special(state) {
                self.report(state, at, &mut found);
            }
        }
    }

    /// Append every occurrence in `text` to `out`, in order of their end,
    /// scanning with four interleaved cursors. Offsets must fit in `u32`.
    pub fn scan(&self, text: &[u8], out: &mut Vec<Occurrence>) {
        let quarter = text.len() / 4;
        if text.len() < INTERLEAVE_FROM || quarter <= self.overlap || u32::try_from(text.len()).is_err() {
            self.each(text, |o| out.push(o));
            return;
        }
        let steps = quarter + self.overlap;
        let begin = [0, quarter - self.overlap, 2 * quarter - self.overlap, 3 * quarter - self.overlap];
        let lanes = begin.map(|b| &text[b..b + steps]);
        let mut found: [Vec<Occurrence>; 4] = Default::default();
        let mut states = [self.start; 4];
        let lane_end = [quarter, 2 * quarter, 3 * quarter, 4 * quarter];
        for (step, (((&b0, &b1), &b2), &b3)) in lanes[0].iter().zip(lanes[1]).zip(lanes[2]).zip(lanes[3]).enumerate() {
            states[0] = self.dfa.next_state(Anchored::No, states[0], b0);
            states[1] = self.dfa.next_state(Anchored::No, states[1], b1);
            states[2] = self.dfa.next_state(Anchored::No, states[2], b2);
            states[3] = self.dfa.next_state(Anchored::No, states[3], b3);
            if states.iter().any(|&s| self.dfa.is_special(s)) {
                for lane in 0..4 {
                    let at = begin[lane] + step;
                    // A cursor reports only what ends in its own quarter.
                    let owned = at >= lane_end[lane].saturating_sub(quarter) && at < lane_end[lane];
                    if owned && self.dfa.is_special(states[lane]) {
                        self.report(states[lane], at, &mut |o| found[lane].push(o));
                    }
                }
            }
        }
        for lane in &found {
            out.extend_from_slice(lane);
        }
        // The last cursor goes on over what the quarters left.
        let mut state = states[3];
        for (at, &byte) in text.iter().enumerate().skip(4 * quarter) {
            state = self.dfa.next_state(Anchored::No, state, byte);
            if self.dfa.is_special(state) {
                self.report(state, at, &mut |o| out.push(o));
            }
        }
    }

    fn report(&self, state: StateID, at: usize, found: &mut impl FnMut(Occurrence)) {
        if !self.dfa.is_match(state) {
            return;
        }
        for index in 0..self.dfa.match_len(state) {
            let literal = self.dfa.match_pattern(state, index).as_u32();
            found(Occurrence { end: at as u32, literal });
        }
    }
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
