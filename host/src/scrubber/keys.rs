//! Key names that name a secret, compiled from the keywords of assignment
//! rules (scrubber rules with an empty pattern).
//!
//! A keyword is a word or a phrase (`password`, `api key`, `client secret`),
//! matched in a key in any case and with any separator or none
//! (`DB_PASSWORD`, `apiKey`, `x-api-key`, `PGPASSWORD`). A prefix changes
//! what an entry means:
//!
//! - `~word`: a weak word; it must be a whole word of the key, and a value
//!   counts only if it looks like a credential (`~session`: `session=abc`
//!   stays, `session=eyJ1c2Vy...` goes). Words of four letters or fewer
//!   (`pwd`, `pass`, `auth`) are always weak.
//! - `?word`: a weak word that names a secret only as a whole URL query or
//!   form parameter (`?code=`, `&sig=`, `?key=`).
//! - `*_WORD`: a weak word that names a secret only as the last word of an
//!   upper-case environment variable (`*_KEY`: `PAGERDUTY_INTEGRATION_KEY=`).
//! - `!word`: a qualifier; a secret word followed by it names something else
//!   (`!id` for `api_key_id`, `!length` for `password_length`). A phrase
//!   ending in a secret word cancels that phrase (`!page token` for
//!   `nextPageToken`). Qualifiers apply to every assignment rule.
//!
//! Other words may also end a longer word (`PGPASSWORD`, `clientsecret`).

use std::ops::Range;

use super::values::Strength;

/// Separators a phrase may be written with in a key.
const SEPARATORS: [&str; 5] = ["", "_", "-", ".", " "];

/// Where a word names a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// In any key, at the end of a word or as a whole word.
    Anywhere,
    /// As a whole word, with values that look like credentials.
    Weak,
    /// As a whole URL query or form parameter.
    Query,
    /// As the last word of an upper-case environment variable.
    EnvSuffix,
}

/// A word that names a secret.
#[derive(Debug)]
struct Word {
    /// Lowercase, separators removed.
    compact: Box<[u8]>,
    rule: usize,
    reach: Reach,
}

/// A literal for the prefilter, and what a hit on it means.
#[derive(Debug, Clone)]
pub struct Literal {
    /// The text to search for (ASCII case-insensitive).
    pub text: String,
    /// Index of the word in [`KeyWords`].
    pub word: usize,
    /// Where the key word starts in the literal (`?code=`: 1).
    pub offset: usize,
    /// Bytes of the literal, from `offset`, that belong to the key (`?code=`: 4).
    pub key_len: usize,
}

/// A key that names a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretKey {
    /// The assignment rule whose word matched.
    pub rule: usize,
    /// How the value must look to be redacted.
    pub strength: Strength,
}

/// Every assignment rule's words, qualifiers and exclusions.
#[derive(Debug, Default)]
pub struct KeyWords {
    words: Vec<Word>,
    /// Sorted, lowercase.
    qualifiers: Vec<Box<[u8]>>,
    /// (word, the words that, right before it, cancel it)
    exclusions: Vec<(usize, Vec<Box<[u8]>>)>,
    literals: Vec<Literal>,
}

fn compact(words: &[&str]) -> Box<[u8]> {
    words.concat().to_ascii_lowercase().into_bytes().into_boxed_slice()
}

impl KeyWords {
    /// Add the keywords of one assignment rule. Returns a problem for an
    /// entry that cannot be used.
    pub fn add_rule(&mut self, rule: usize, keywords: &[String]) -> Result<(), String> {
        let mut exclusions = Vec::new();
        for keyword in keywords {
            let trimmed = keyword.trim();
            let (marker, body) = if let Some(rest) = trimmed.strip_prefix("*_") {
                (Some('*'), rest)
            } else {
                match trimmed.split_at_checked(1) {
                    Some((m @ ("!" | "?" | "~"), rest)) => (m.chars().next(), rest),
                    _ => (None, trimmed),
                }
            };
            let parts: Vec<&str> = body.split(|c: char| SEPARATORS.iter().any(|s| s.contains(c))).collect();
            let parts: Vec<String> = parts.into_iter().filter(|p| !p.is_empty()).map(str::to_ascii_lowercase).collect();
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            if parts.is_empty() || parts.iter().any(|p| !p.bytes().all(|b| b.is_ascii_alphanumeric())) {
                return Err(format!(
                    "keyword {keyword:?}: a key word is letters and digits, with spaces between words"
                ));
            }
            let reach = match marker {
                Some('!') if parts.len() == 1 => {
                    self.qualifiers.push(compact(&parts));
                    continue;
                }
                Some('!') => {
                    exclusions.push(parts.iter().map(|p| p.to_ascii_lowercase()).collect::<Vec<_>>());
                    continue;
                }
                Some('?' | '*') if parts.len() > 1 => {
                    return Err(format!("keyword {keyword:?}: a query parameter or variable suffix is one word"));
                }
                Some('?') => Reach::Query,
                Some('*') => Reach::EnvSuffix,
                Some(_) => Reach::Weak,
                None if compact(&parts).len() <= 4 => Reach::Weak,
                None => Reach::Anywhere,
            };
            let index = self.words.len();
            match reach {
                // The separator before the key (`?code=`, `&code=`...) and
                // the operator make the literal, so `country_code=` is no hit.
                Reach::Query => {
                    // A space or tab: an access log's query field (`GET /x sig=...`).
                    for before in ["?", "&", "#", ";", "=", " ", "\t"] {
                        let text = format!("{before}{}=", parts[0]);
                        self.literals.push(Literal { key_len: text.len() - 2, text, word: index, offset: 1 });
                    }
                }
                Reach::EnvSuffix => {
                    let text = format!("_{}", parts[0]);
                    self.literals.push(Literal { key_len: text.len() - 1, text, word: index, offset: 1 });
                }
                _ => {
                    for separator in if parts.len() > 1 { &SEPARATORS[..] } else { &SEPARATORS[..1] } {
                        let text = parts.join(separator);
                        self.literals.push(Literal { key_len: text.len(), text, word: index, offset: 0 });
                    }
                }
            }
            self.words.push(Word { compact: compact(&parts), rule, reach });
        }
        for phrase in exclusions {
            let (last, prefix) = phrase.split_last().expect("a phrase has words");
            let targets: Vec<usize> = (0..self.words.len())
                .filter(|&w| self.words[w].rule == rule && *self.words[w].compact == *last.as_bytes())
                .collect();
            if targets.is_empty() {
                return Err(format!("keyword \"!{}\": its last word is none of this rule's words", phrase.join(" ")));
            }
            let prefix: Vec<Box<[u8]>> = prefix.iter().map(|w| w.as_bytes().into()).collect();
            self.exclusions.extend(targets.into_iter().map(|w| (w, prefix.clone())));
        }
        self.qualifiers.sort();
        self.qualifiers.dedup();
        Ok(())
    }

    /// The prefilter literals.
    pub fn literals(&self) -> &[Literal] {
        &self.literals
    }

    /// Whether `key` (a range of `line`) names a secret, given a prefilter
    /// hit of `word` at `hit` inside it. `in_query` says the key is a URL
    /// query parameter.
    pub fn judge(
        &self,
        line: &[u8],
        key: Range<usize>,
        hit: Range<usize>,
        word: usize,
        in_query: bool,
    ) -> Option<SecretKey> {
        let entry = &self.words[word];
        match entry.reach {
            Reach::Query if !(in_query && hit == key) => return None,
            Reach::EnvSuffix => {
                let upper =
                    line[key.clone()].iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_');
                if !upper || hit.end != key.end || hit.start <= key.start {
                    return None;
                }
            }
            _ => {}
        }
        let weak = entry.reach != Reach::Anywhere;
        if !boundary(line, &key, hit.end) || (weak && !boundary(line, &key, hit.start)) {
            return None;
        }
        // A qualifier anywhere after the word: `api_key_id`, `password_reset_token`
        // is judged on its own hit for `token`.
        let mut qualified = false;
        for_each_word(line, hit.end..key.end, |w| qualified |= self.is_qualifier(w));
        if qualified {
            return None;
        }
        if self.is_excluded(line, &key, &hit, word) {
            return None;
        }
        let strength = if weak { Strength::Weak } else { Strength::Strong };
        Some(SecretKey { rule: entry.rule, strength })
    }

    fn is_qualifier(&self, word: &[u8]) -> bool {
        let mut lower = [0u8; 32];
        if word.len() > lower.len() {
            return false;
        }
        for (to, from) in lower.iter_mut().zip(word) {
            *to = from.to_ascii_lowercase();
        }
        self.qualifiers.binary_search_by(|q| (**q).cmp(&lower[..word.len()])).is_ok()
    }

    fn is_excluded(&self, line: &[u8], key: &Range<usize>, hit: &Range<usize>, word: usize) -> bool {
        const KEPT: usize = 4;
        let mut exclusions = self.exclusions.iter().filter(|(w, _)| *w == word).peekable();
        if exclusions.peek().is_none() {
            return false;
        }
        // The last few words before the hit, newest last.
        let mut before: [&[u8]; KEPT] = [&[]; KEPT];
        let mut seen = 0usize;
        // Words written before the key with single spaces belong to the
        // phrase too (`paginator resume token: x`).
        let mut from = key.start;
        for _ in 0..KEPT - 1 {
            let word = line[..from.saturating_sub(1)].iter().rev().take_while(|b| b.is_ascii_alphanumeric()).count();
            if from < 2 || line[from - 1] != b' ' || word == 0 {
                break;
            }
            from -= word + 1;
        }
        for_each_word(line, from..hit.start, |w| {
            before.rotate_left(1);
            before[KEPT - 1] = w;
            seen += 1;
        });
        exclusions.any(|(_, prefix)| {
            prefix.len() <= seen.min(KEPT)
                && before[KEPT - prefix.len()..].iter().zip(prefix).all(|(a, b)| a.eq_ignore_ascii_case(b))
        })
    }
}

/// Whether `at` is a word boundary inside `key`: an end of the key, a
/// separator, or a case change (`apiKey`, `APIKey`).
pub fn boundary(line: &[u8], key: &Range<usize>, at: usize) -> bool {
    if at <= key.start || at >= key.end {
        return true;
    }
    let (before, here) = (line[at - 1], line[at]);
    if !before.is_ascii_alphanumeric() || !here.is_ascii_alphanumeric() {
        return true;
    }
    if (before.is_ascii_lowercase() || before.is_ascii_digit()) && here.is_ascii_uppercase() {
        return true;
    }
    before.is_ascii_uppercase() && here.is_ascii_uppercase() && line.get(at + 1).is_some_and(u8::is_ascii_lowercase)
}

/// Call `f` with each word (letters and digits between boundaries) of `range`.
fn for_each_word<'a>(line: &'a [u8], range: Range<usize>, mut f: impl FnMut(&'a [u8])) {
    let mut start = None;
    for at in range.clone() {
        let alnum = line[at].is_ascii_alphanumeric();
        match start {
            Some(s) if !alnum || boundary(line, &range, at) => {
                f(&line[s..at]);
                start = alnum.then_some(at);
            }
            None if alnum => start = Some(at),
            _ => {}
        }
    }
    if let Some(s) = start {
        f(&line[s..range.end]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> KeyWords {
        let mut words = KeyWords::default();
        let list = [
            "password",
            "pass",
            "secret",
            "token",
            "api key",
            "?code",
            "*_KEY",
            "~session",
            "!id",
            "!name",
            "!reset",
            "!page token",
        ];
        words.add_rule(0, &list.map(str::to_owned)).expect("valid");
        words
    }

    fn judge(key: &str, word: &str, in_query: bool) -> bool {
        let words = words();
        let lower = key.to_ascii_lowercase();
        let literal = words.literals().iter().find(|l| l.text == word).expect("literal");
        let key_word = &literal.text[literal.offset..literal.offset + literal.key_len];
        let Some(at) = lower.find(key_word) else { return false };
        let hit = at..at + literal.key_len;
        words.judge(key.as_bytes(), 0..key.len(), hit, literal.word, in_query).is_some()
    }

    #[test]
    fn keys_that_name_secrets() {
        assert!(judge("PGPASSWORD", "password", false));
        assert!(judge("MYSQL_ROOT_PASSWORD", "password", false));
        assert!(judge("db_pass", "pass", false));
        assert!(judge("apiKey", "apikey", false));
        assert!(judge("x-api-key", "api-key", false));
        assert!(judge("clientSecret", "secret", false));
        assert!(judge("password_reset_token", "token", false));
        assert!(judge("code", "?code=", true));
        assert!(judge("PAGERDUTY_INTEGRATION_KEY", "_key", false));
        assert!(judge("session", "session", false));
    }

    #[test]
    fn keys_that_do_not() {
        assert!(!judge("passwordless", "password", false));
        assert!(!judge("password_reset", "password", false));
        assert!(!judge("api_key_id", "api_key", false));
        assert!(!judge("compass", "pass", false));
        assert!(!judge("passed", "pass", false));
        assert!(!judge("tokens", "token", false));
        assert!(!judge("nextPageToken", "token", false));
        assert!(!judge("code", "?code=", false));
        assert!(!judge("dedup_key", "_key", false));
        assert!(!judge("KEY", "_key", false));
        assert!(!judge("RoleSessionName", "session", false));
        assert!(!judge("secretary", "secret", false));
    }

    #[test]
    fn bad_keywords_are_named() {
        let mut words = KeyWords::default();
        assert!(words.add_rule(0, &["pass/word".to_owned()]).is_err());
        assert!(words.add_rule(0, &["!page cursor".to_owned()]).is_err());
        assert!(words.add_rule(0, &["?two words".to_owned()]).is_err());
    }
}
