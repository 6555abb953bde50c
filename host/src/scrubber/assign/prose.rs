//! Secrets in sentences rather than assignments: a secret word, a few
//! words, then something that introduces the value (`signing secret for
//! webhook W: VALUE`, `Your API key for acme is VALUE`, `rotated master key
//! -> VALUE`, `admin password reset to VALUE`), or the value right after the
//! word (`ALTER USER x PASSWORD 'VALUE'`, `using client secret VALUE for`).
//! Values found here must look like credentials unless quoted right after
//! the word.

use super::value::skip_spaces;

/// Longest stretch of words between a secret word and its value.
const GAP: usize = 80;
/// Most words in that stretch.
const WORDS: usize = 6;

/// Words that, between a secret word and a colon, say the value is about
/// the secret rather than the secret (`token expired at: ...`).
const BLOCKERS: [&[u8]; 28] = [
    b"expired",
    b"expires",
    b"expiry",
    b"expiration",
    b"hash",
    b"hashed",
    b"length",
    b"policy",
    b"name",
    b"type",
    b"url",
    b"uri",
    b"path",
    b"file",
    b"count",
    b"format",
    b"version",
    b"endpoint",
    b"header",
    b"scheme",
    b"algorithm",
    b"ttl",
    b"size",
    b"rotation",
    b"missing",
    b"required",
    b"not",
    b"at",
];

/// Words that, ending in a colon, name what follows as something else.
const NAMING: [&[u8]; 4] = [b"role", b"profile", b"source", b"provider"];

/// Verbs that, followed by `to`, introduce a new value (`reset to X`).
const SETTERS: [&[u8]; 6] = [b"reset", b"set", b"changed", b"updated", b"rotated", b"generated"];

/// How a value found in a sentence must look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Introduced {
    /// Introduced by `:`, `is`, `->`...: it must look like a credential.
    Weak,
    /// Single-quoted right after the word (`PASSWORD 'x'`): any value.
    Quoted,
    /// Bare right after the word (`with password x`): it must look
    /// generated, not like a name (`secret argocd-initial-admin-secret`).
    Generated,
}

/// Where the value of a secret word ending at `at` starts, when a sentence
/// introduces it, and how sure that is.
pub fn value_after(line: &[u8], at: usize) -> Option<(usize, Introduced)> {
    if let Some(value) = introduced(line, at) {
        return Some((value, Introduced::Weak));
    }
    // Right after the word: `PASSWORD 'x'` is a value; `password x` may be.
    let next = skip_spaces(line, at);
    if next == at || next >= line.len() {
        return None;
    }
    match line[next] {
        b'\'' => Some((next, Introduced::Quoted)),
        // `with passphrase "x"` ending the sentence: a double-quoted word
        // (`secret "db-credentials" not found` names one).
        b'"' if line[next + 1..].iter().position(|&b| b == b'"').is_some_and(|close| {
            let after = next + 2 + close;
            close > 0
                && !line[next + 1..next + 1 + close].iter().any(u8::is_ascii_whitespace)
                && line[after..].iter().take_while(|b| !b.is_ascii_alphanumeric()).count() == line.len() - after
        }) =>
        {
            Some((next, Introduced::Quoted))
        }
        _ => Some((next, Introduced::Generated)),
    }
}

/// Whether a bare value right after a secret word looks generated: a
/// password's punctuation, or a long mix of cases and digits.
pub fn looks_generated(value: &[u8]) -> bool {
    let has = |f: fn(&u8) -> bool| value.iter().any(f);
    let punctuated = value.iter().any(|b| !b.is_ascii_alphanumeric() && !matches!(b, b'_' | b'-' | b'.' | b'/'));
    let mixed = has(u8::is_ascii_digit) && has(u8::is_ascii_lowercase) && has(u8::is_ascii_uppercase);
    let long_hex_or_b64 = value.len() >= 32 && has(u8::is_ascii_digit) && has(u8::is_ascii_alphabetic);
    !is_key_like(value)
        && value.first() != Some(&b'-')
        && ((punctuated && value.len() >= 8) || (mixed && value.len() >= 20) || long_hex_or_b64)
}

/// `valueFrom:` and `alg=sha256` are keys and assignments, not values.
pub fn is_key_like(value: &[u8]) -> bool {
    let name = value.iter().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')).count();
    // A name, then `:` at the end or before a space, or `=` and a value
    // (base64 padding is no assignment; `Saffron242:!PAp` is a password).
    let assigns = match value.get(name) {
        Some(b':') => value.get(name + 1).is_none_or(u8::is_ascii_whitespace),
        // `alg=sha256`, `key="x"`; not `Quartz9063=:)5T9l` (punctuation
        // right after `=` is a password's).
        Some(b'=') => value.get(name + 1).is_some_and(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b'"' | b'\'' | b'$' | b'{' | b'/' | b'-' | b'_')
        }),
        _ => false,
    };
    // In a sentence any capitalised name glued to a value is a field
    // (`Database:payments_staging`).
    let capitalised_field = value[0].is_ascii_uppercase()
        && name > 2
        && value[..name].iter().all(u8::is_ascii_alphabetic)
        && value.get(name) == Some(&b':')
        && value.get(name + 1).is_some_and(|b| !b.is_ascii_whitespace());
    // `Cz5QrWtupYfzM=Qmu` is no `name=value`: its "name" is random.
    let assigns = assigns && crate::scrubber::values::reads_like_name(&value[..name]);
    name > 1 && value[0].is_ascii_alphabetic() && (assigns || is_glued_field(value) || capitalised_field)
}

/// `ClientId:86cd...`, `SSLMode:require`: a capitalised field name glued
/// to its value, as Go's `%+v` prints structs.
pub fn is_glued_field(value: &[u8]) -> bool {
    let name = value.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    name > 1
        && value[0].is_ascii_uppercase()
        && value[..name].iter().any(u8::is_ascii_lowercase)
        && value.get(name) == Some(&b':')
        && value.get(name + 1).is_some_and(|b| !b.is_ascii_whitespace())
        && value[..name].iter().filter(|b| b.is_ascii_uppercase()).count() >= 2
}

/// A value introduced within a few words: by a word ending in `:`, by `=`,
/// `->`, `=>`, `is`, or a setter followed by `to`.
fn introduced(line: &[u8], at: usize) -> Option<usize> {
    // The rest of the word the secret word is in, when it closes what
    // holds it (`{.data.password}'`); `auth-svc[42]:` is a log prefix.
    let rest = line[at..].iter().take_while(|b| !b.is_ascii_whitespace()).count();
    if !line[at..at + rest].iter().all(|b| matches!(b, b'}' | b')' | b']' | b'\'' | b'"')) {
        return None;
    }
    let mut i = at + rest;
    let mut previous: &[u8] = b"";
    for n in 0..WORDS {
        let start = skip_spaces(line, i);
        if start == i || start >= line.len() || start - at > GAP {
            return None;
        }
        let end = start + line[start..].iter().take_while(|b| !b.is_ascii_whitespace()).count();
        let word = &line[start..end];
        let after = skip_spaces(line, end);
        // `rotated, new value X`: even after a comma.
        if word.eq_ignore_ascii_case(b"new") && past_new_value(line, start) != start && line[after..].len() > 5 {
            let value = &line[after..after + 5];
            if value.eq_ignore_ascii_case(b"value") {
                return Some(past_new_value(line, start));
            }
        }
        match word {
            // `pass = "var.db_password" host = "x"`: the word was inside a
            // value, and `host =` is the next assignment.
            b"=" | b":" if n == 1 && rest > 0 && previous.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') => {
                return None;
            }
            b"->" | b"=>" | b"=" | b":" => return Some(after),
            _ if word.eq_ignore_ascii_case(b"is") || word.eq_ignore_ascii_case(b"was") => {
                // `KEY is set (VALUE)`: the value in the parentheses.
                if line[after..].starts_with(b"set (") {
                    return Some(after + 4);
                }
                return Some(if line.get(after) == Some(&b':') { skip_spaces(line, after + 1) } else { after });
            }
            _ if word.eq_ignore_ascii_case(b"to") && SETTERS.iter().any(|s| previous.eq_ignore_ascii_case(s)) => {
                return Some(after);
            }
            _ => {}
        }
        // A struct or object opens (`Credentials { client_id: "x" }`): its
        // fields are keys of their own, judged by their own names.
        if word.starts_with(b"{") {
            return None;
        }
        // A sentence ends at a quote or a separator (`'token x', 'Next': ...`).
        let new_value_next = line.len() >= after + 9 && line[after..after + 9].eq_ignore_ascii_case(b"new value");
        if word.iter().any(|b| matches!(b, b'"' | b'\'' | b'\\'))
            || (word.ends_with(b",") && !new_value_next)
            || word.ends_with(b";")
        {
            return None;
        }
        let bare = word.strip_suffix(b":").unwrap_or(word);
        if BLOCKERS.iter().any(|b| bare.eq_ignore_ascii_case(b)) {
            return None;
        }
        // `reset to X` sets the secret; `reset requested` is about it.
        let next = &line[after..];
        let next = &next[..next.iter().take_while(|b| !b.is_ascii_whitespace()).count()];
        if bare.eq_ignore_ascii_case(b"reset") && !next.eq_ignore_ascii_case(b"to") {
            return None;
        }
        // `W: value`: a word ending in a colon, then a space; but after
        // `credentials from IAM Role:` the value is the role's.
        if word.ends_with(b":") && NAMING.iter().any(|n| bare.eq_ignore_ascii_case(n)) && !new_value_next {
            return None;
        }
        if word.len() > 1 && word.ends_with(b":") && after > end {
            return Some(past_new_value(line, after));
        }
        previous = bare;
        i = end;
    }
    None
}

/// `new value X`, `new=X`, `new: X` after a colon: where X starts.
fn past_new_value(line: &[u8], at: usize) -> usize {
    for lead in [&b"new value "[..], b"new value: ", b"new=", b"new: ", b"new "] {
        if line.len() > at + lead.len() && line[at..at + lead.len()].eq_ignore_ascii_case(lead) {
            return skip_spaces(line, at + lead.len());
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(line: &str, word: &str) -> Option<(String, Introduced)> {
        let at = line.find(word).expect("word") + word.len();
        value_after(line.as_bytes(), at).map(|(v, s)| (line[v..].split(' ').next().unwrap_or_default().to_owned(), s))
    }

    #[test]
    fn sentences_that_introduce_a_value() {
        assert_eq!(after("signing secret for webhook W: abc123", "secret"), Some(("abc123".into(), Introduced::Weak)));
        assert_eq!(after("Your API key for acme is k3y", "key"), Some(("k3y".into(), Introduced::Weak)));
        assert_eq!(after("rotated master key -> XRf=", "key"), Some(("XRf=".into(), Introduced::Weak)));
        assert_eq!(after("admin password reset to d$w for user x", "password"), Some(("d$w".into(), Introduced::Weak)));
        assert_eq!(after("ALTER USER x PASSWORD 'p'", "PASSWORD"), Some(("'p'".into(), Introduced::Quoted)));
        assert_eq!(after("unseal key 1: 77b0", "key"), Some(("77b0".into(), Introduced::Weak)));
        assert_eq!(
            after("VERCEL_TOKEN rotated for profile: new value tlh7Vs1lcI2NQa93", "TOKEN"),
            Some(("tlh7Vs1lcI2NQa93".into(), Introduced::Weak))
        );
        assert_eq!(
            after("client secret for app 22 rotated, new value 8Z1qvLR71V_ns9xS0", "secret"),
            Some(("8Z1qvLR71V_ns9xS0".into(), Introduced::Weak))
        );
        assert_eq!(
            after("jsonpath='{.data.password}' | base64 -d -> cm1M", "password"),
            Some(("cm1M".into(), Introduced::Weak))
        );
    }

    #[test]
    fn sentences_that_do_not() {
        assert_eq!(after("token expired at 2026-11-28T10:00:00Z", "token").map(|v| v.0), Some("expired".into()));
        assert!(after("auth-svc[35912]: tokenizer loaded: cl100k_base", "auth").is_none());
        assert_eq!(after("'token ghp_x', 'X-Api-Version': '2022-11-28'", "token").map(|v| v.0), Some("ghp_x',".into()));
        assert!(!looks_generated(b"argocd-initial-admin-secret"));
        assert!(!looks_generated(b"cg_key_bli8xo"));
        assert!(!looks_generated(b"valueFrom:"));
        assert!(looks_generated(b"Cobalt4980#{H1"));
        assert!(!looks_generated(b"alg=sha256"));
        assert!(!is_key_like(b"dkUxTTdWRFJwNEJ6fTckaUx7RlhXSEI="));
        assert!(!is_key_like(b"UXVhcnR6ODE2OCUkS3poTA=="));
        assert!(!is_key_like(b"Saffron242:!PAp"));
        assert!(!is_key_like(b"Quartz9063=:)5T9l"));
        assert!(!is_key_like(b"Cz5QrWtupYfzM=Qmu"));
        assert!(is_key_like(b"alg=sha256"));
        assert!(looks_generated(b"p86Cvy/YpgEyBHt932klHGOLJLXNGI0K+jI1NZF0/cw="));
        assert!(looks_generated(b"kfLBbfXioRNwmiRI20ymtuQ2hsaG40CCJdA46fUQcgM"));
        assert_eq!(after("password reset requested for user: bob", "password").map(|v| v.0), Some("reset".into()));
        assert!(after("the secret", "secret").is_none());
        assert!(after(r#"db_pass = "var.db_password" host = "gw-1.x4k2.rds.amazonaws.com""#, "password").is_none());
    }
}
