//! Where a value ends, by the syntax it is written in: quoted (with the
//! escapes of nested JSON), a list, a call (`SecretStr('x')`), an ODBC
//! `{braced}` value, a cookie list, or bare text that ends where its
//! context says (whitespace; `&` and `#` in URL queries; `;` in connection
//! strings; an unmatched closer).

use std::ops::Range;

use super::headers::after_scheme;

/// How the text around a key delimits bare values.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    /// A URL query, fragment or form parameter: `&` and `#` end the value.
    pub query: bool,
    /// A `;`-separated list (connection strings): `;` ends the value.
    pub semicolons: bool,
    /// The key opens a YAML line: the value may hold spaces.
    pub line_start: bool,
    /// Brackets left open before the key (`(`, `[`, `{`): only those can
    /// close around a bare value (`Settings(password=x)`).
    pub open: [bool; 3],
}

/// Which brackets (`(`, `[`, `{`) `before` (the text before a key) leaves
/// open. One SIMD search per kind of bracket: a byte-by-byte walk of every
/// prefix was a third of the detector's time.
pub fn open_brackets(before: &[u8]) -> [bool; 3] {
    [(b'(', b')'), (b'[', b']'), (b'{', b'}')].map(|(opener, closer)| {
        let mut depth = 0usize;
        for at in memchr::memchr2_iter(opener, closer, before) {
            depth = if before[at] == opener { depth + 1 } else { depth.saturating_sub(1) };
        }
        depth > 0
    })
}

impl Context {
    fn closes(&self, closer: u8) -> bool {
        match closer {
            b')' => self.open[0],
            b']' => self.open[1],
            _ => self.open[2],
        }
    }
}

/// A quote around a key or value: the quote byte and how many backslashes
/// escape it (0 in plain text, 1 inside a JSON string, 3 two levels deep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub byte: u8,
    pub escapes: usize,
}

/// A value found: its range, and whether an authorization scheme
/// (`Bearer`, `Basic`...) marks it as a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub range: Range<usize>,
    pub marked: bool,
}

pub fn skip_spaces(line: &[u8], mut at: usize) -> usize {
    while at < line.len() && matches!(line[at], b' ' | b'\t') {
        at += 1;
    }
    at
}

pub fn backslashes_before(line: &[u8], at: usize) -> usize {
    line[..at].iter().rev().take_while(|&&b| b == b'\\').count()
}

/// The length of an assignment operator at `at`: `=`, `:`, `:=`, `=>`.
pub fn operator(line: &[u8], at: usize) -> Option<usize> {
    let next = line.get(at + 1).copied();
    match line.get(at)? {
        b'=' => match next {
            Some(b'=') => None,
            Some(b'>') => Some(2),
            _ => Some(1),
        },
        b':' => match next {
            Some(b':') => None,
            Some(b'=') => Some(2),
            Some(b'/') if line.get(at + 2) == Some(&b'/') => None,
            _ => Some(1),
        },
        _ => None,
    }
}

/// The values of one assignment: usually one, several for a list. (Not a
/// `Vec`: one value must not cost an allocation on the hot path.)
pub enum Values {
    /// None or one.
    One(Option<Value>),
    /// A list's elements.
    Many(std::vec::IntoIter<Value>),
}

impl Iterator for Values {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        match self {
            Self::One(value) => value.take(),
            Self::Many(values) => values.next(),
        }
    }
}

/// The value (or values, for a list) starting at `at`.
pub fn values(line: &[u8], at: usize, context: Context) -> Values {
    let Some(&first) = line.get(at) else { return Values::One(None) };
    match first {
        b'{' => match braced(line, at, context) {
            Some(range) => Values::One(Some(Value { range, marked: false })),
            // An object is left to its own keys; anything else is bare text.
            // (An object closes; `{zPc66W=DAf0(o~fO` with no `}` after it is
            // a password that starts with a brace.)
            None if line[at..].contains(&b'}')
                && (line.get(at + 1).is_some_and(|b| matches!(b, b'"' | b'\'' | b'\\' | b' ' | b'}' | b'{'))
                    || opens_map(line, at + 1)) =>
            {
                Values::One(None)
            }
            None => Values::One(single(line, at, context)),
        },
        // `(sensitive value)`, `(known after apply)`: words in parentheses
        // are one value (a placeholder, most often), not a tuple.
        b'(' if words_in_parentheses(line, at).is_some() => {
            Values::One(words_in_parentheses(line, at).map(|range| Value { range, marked: false }))
        }
        b'[' | b'(' => Values::Many(list(line, at + 1, if first == b'[' { b']' } else { b')' }).into_iter()),
        _ => Values::One(single(line, at, context)),
    }
}

/// `(words without quotes or commas)` at `at`, parentheses included.
fn words_in_parentheses(line: &[u8], at: usize) -> Option<Range<usize>> {
    let close = line[at + 1..].iter().take(64).position(|&b| b == b')')? + at + 1;
    let inner = &line[at + 1..close];
    (inner.contains(&b' ') && inner.iter().all(|b| b.is_ascii_alphanumeric() || b" _-".contains(b)))
        .then(|| at..close + 1)
}

/// One value: quoted, a call wrapping a quoted value, or bare.
pub fn single(line: &[u8], at: usize, context: Context) -> Option<Value> {
    if let Some((open, quote)) = opening_quote(line, at) {
        let range = quoted(line, open, quote);
        return Some(after_scheme(line, range.clone(), context).unwrap_or(Value { range, marked: false }));
    }
    let ident_end = at + line[at..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
    // A call or a repr names its function or class (`y0VWHq6P(J=` is a
    // password with a parenthesis in it).
    if ident_end > at
        && line.get(ident_end) == Some(&b'(')
        && crate::scrubber::values::reads_like_name(&line[at..ident_end])
    {
        if let Some((open, quote)) = opening_quote(line, ident_end + 1) {
            return Some(Value { range: quoted(line, open, quote), marked: false });
        }
        // `ReadOnlyCredentials(access_key='x', ...)`: an object's repr, left
        // to its own keys.
        if opens_map(line, ident_end + 1) {
            return None;
        }
    }
    // `<set in vault>`: a bracketed placeholder, spaces and all.
    if line[at] == b'<'
        && let Some(close) = line[at..].iter().take(64).position(|&b| b == b'>')
        && line[at + 1..at + close].iter().all(|b| b.is_ascii_alphabetic() || b" _-".contains(b))
    {
        return Some(Value { range: at..at + close + 1, marked: false });
    }
    // `#{ENV["X"]}`, `{{ secret "x" }}`, `${file("x")}`: a template, to its
    // matching brace (and Octopus's closing `#`).
    if line[at..].starts_with(b"#{") || line[at..].starts_with(b"{{") || line[at..].starts_with(b"${") {
        let mut depth = 0usize;
        for (i, &b) in line[at..].iter().enumerate().take(256) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        let end = at + i + 1;
                        let end = if line.get(end) == Some(&b'#') { end + 1 } else { end };
                        return Some(Value { range: at..end, marked: false });
                    }
                }
                _ => {}
            }
        }
    }
    // `<%= ENV['DB_PASSWORD'] %>`: a template tag, spaces and all.
    if line[at..].starts_with(b"<%")
        && let Some(close) = line[at..].windows(2).position(|w| w == b"%>")
    {
        return Some(Value { range: at..at + close + 2, marked: false });
    }
    let end = bare_end(line, at, context);
    (end > at).then(|| after_scheme(line, at..end, context).unwrap_or(Value { range: at..end, marked: false }))
}

/// A quote opening a value at `at`, after an optional Python string prefix
/// (`b'`, `r"`, `u'`, `rb'`) and escapes: where the value starts, and the quote.
pub fn opening_quote(line: &[u8], at: usize) -> Option<(usize, Quote)> {
    let prefix = line[at..].iter().take(2).take_while(|b| matches!(b, b'b' | b'r' | b'u' | b'B' | b'R' | b'U')).count();
    let escapes = line[at + prefix..].iter().take_while(|&&b| b == b'\\').count();
    let byte = *line.get(at + prefix + escapes)?;
    (matches!(byte, b'"' | b'\'') && (prefix == 0 || escapes == 0))
        .then_some((at + prefix + escapes + 1, Quote { byte, escapes }))
}

/// The inside of a quoted value that starts at `start`: up to the quote
/// that closes it (a quote escaped at this nesting level does not), or the
/// end of the line.
pub fn quoted(line: &[u8], start: usize, quote: Quote) -> Range<usize> {
    let period = 2 * (quote.escapes + 1);
    let mut at = start;
    while let Some(offset) = line[at..].iter().position(|&b| b == quote.byte) {
        let q = at + offset;
        if backslashes_before(line, q) % period == quote.escapes {
            return start..q - quote.escapes;
        }
        at = q + 1;
    }
    // Never closed: a password that starts with a quote, perhaps in a JSON
    // string (`"... is 'Cz5Q=Qmu.", "next": ...`), which ends the value.
    let json_end = (quote.byte == b'\'')
        .then(|| (start..line.len()).find(|&i| line[i] == b'"' && backslashes_before(line, i).is_multiple_of(2)))
        .flatten();
    start..json_end.unwrap_or(line.len())
}

/// An ODBC-style `{braced}` value (`PWD={p@ss;w0rd}`), where `}}` is a
/// literal `}`; `None` when the brace opens an object (`{"k": ...}`).
fn braced(line: &[u8], at: usize, context: Context) -> Option<Range<usize>> {
    let start = at + 1;
    let first = *line.get(start)?;
    // In a connection string only `}` is doubled: `PWD={{x}` holds `{x`.
    let opens_object = matches!(first, b'"' | b'\'' | b'\\' | b' ') || (first == b'{' && !context.semicolons);
    if opens_object || first == b'}' || (!context.semicolons && opens_map(line, start)) {
        return None;
    }
    let mut i = start;
    while i < line.len() {
        if line[i] == b'}' {
            if line.get(i + 1) == Some(&b'}') {
                i += 2;
                continue;
            }
            return closes_around(line, i).then_some(start..i);
        }
        i += 1;
    }
    None
}

/// Whether a map's first entry starts at `at`: `k=`, `k: ` (a colon and a
/// space, as YAML flow maps write it), not `d6:sUGc` (a password).
fn opens_map(line: &[u8], at: usize) -> bool {
    let name = line[at..].iter().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')).count();
    let after = skip_spaces(line, at + name);
    name > 0
        && match line.get(after) {
            Some(b'=') => true,
            Some(b':') => line.get(after + 1).is_none_or(u8::is_ascii_whitespace),
            _ => false,
        }
}

/// Elements of a list or tuple: each quoted string, or each bare item;
/// objects inside are skipped (their own keys are found on their own).
fn list(line: &[u8], mut at: usize, close: u8) -> Vec<Value> {
    let mut found = Vec::new();
    while at < line.len() && found.len() < 64 {
        at = skip_spaces(line, at);
        match line.get(at) {
            None => break,
            Some(&b) if b == close => break,
            Some(b',') => at += 1,
            Some(b'{' | b'[' | b'(') => return found,
            Some(_) => {
                if let Some((open, quote)) = opening_quote(line, at) {
                    let range = quoted(line, open, quote);
                    at = (range.end + quote.escapes + 1).min(line.len());
                    found.push(Value { range, marked: false });
                } else {
                    let end = line[at..]
                        .iter()
                        .position(|&b| b == close || b == b',' || b.is_ascii_whitespace())
                        .map_or(line.len(), |p| at + p);
                    found.push(Value { range: at..end, marked: false });
                    at = end;
                }
            }
        }
    }
    found
}

/// Where a bare value starting at `at` ends, by the syntax around it.
pub fn bare_end(line: &[u8], at: usize, context: Context) -> usize {
    let mut depth = 0usize;
    let mut i = at;
    while i < line.len() {
        match line[i] {
            b' ' | b'\t' if context.line_start && continues_line_value(line, i) => {}
            b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'`' => break,
            b'\\' => match line.get(i + 1) {
                Some(b'"' | b'n' | b'r' | b't') | None => break,
                Some(_) => i += 1,
            },
            // A query value never starts with its own separator.
            b'&' if context.query => break,
            b'#' | b'>' if context.query && i > at => break,
            // Outside a query a `&` may be part of the value (a password);
            // `;` and `, ` separate the assignments of connection strings,
            // reprs and `toString()`s.
            // A value never starts with its separator (`--token=;oE8=3D`).
            b';' if i > at && (context.semicolons || followed_by_assignment(line, i + 1, b"=")) => break,
            b',' if matches!(line.get(i + 1), Some(b' ' | b'"' | b'\'' | b'\\'))
                && followed_by_assignment(line, i + 1, b"=:") =>
            {
                break;
            }
            b'(' | b'[' | b'{' => depth += 1,
            // A closer with no opener ends the value only where it closes
            // a bracket opened before the key (`Settings(k=v)`, `{k=v}`),
            // not inside a password (`ab}c`, `7})D`).
            b')' | b']' | b'}' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None if context.closes(line[i]) && closes_around(line, i) => break,
                None => {}
            },
            b'\'' if i > at && !line.get(i + 1).is_some_and(u8::is_ascii_alphanumeric) => break,
            b'<' if line.get(i + 1) == Some(&b'/') => break,
            _ => {}
        }
        i += 1;
    }
    // A trailing `,` or `;` is the syntax around the value.
    while i > at && matches!(line[i - 1], b',' | b';') {
        i -= 1;
    }
    i
}

/// Whether the closer at `at` is followed by the end, a space, a separator
/// or another closer.
pub fn closes_around(line: &[u8], at: usize) -> bool {
    line.get(at + 1).is_none_or(|&b| {
        // `]***`: Azure Pipelines prints its mask right after the command.
        b.is_ascii_whitespace() || matches!(b, b',' | b';' | b'"' | b'\'' | b')' | b']' | b'}' | b'\\' | b'*')
    })
}

/// In a YAML line, whether the space at `at` is inside the value: not
/// before a comment, another assignment, or the end of the line.
fn continues_line_value(line: &[u8], at: usize) -> bool {
    let next = skip_spaces(line, at);
    next < line.len()
        && line[next] != b'#'
        && !line[next..].starts_with(b"\\n")
        && !followed_by_assignment(line, next, b"=:")
}

/// Whether a key (quoted or not) and one of the `operators` (`=`, `:`)
/// start at `at`, after spaces.
pub fn followed_by_assignment(line: &[u8], at: usize, operators: &[u8]) -> bool {
    let mut i = skip_spaces(line, at);
    while i < line.len() && matches!(line[i], b'"' | b'\'' | b'\\') {
        i += 1;
    }
    let start = i;
    while i < line.len() && (line[i].is_ascii_alphanumeric() || matches!(line[i], b'_' | b'-' | b'.')) {
        i += 1;
    }
    if i == start || !line[start].is_ascii_alphabetic() && line[start] != b'_' {
        return false;
    }
    while i < line.len() && matches!(line[i], b'"' | b'\'' | b'\\') {
        i += 1;
    }
    let at = skip_spaces(line, i);
    operator(line, at).is_some() && operators.contains(&line[at])
}
