//! Tracebacks that show each variable's value under the line that uses it
//! (loguru's `diagnose`, `better_exceptions`):
//!
//! ```text
//!     self._login(user, password)
//!                 │     └ 'hunter2-but-longer'
//!                 └ 'deploy'
//! ```
//!
//! The name and its value are on different lines, so neither line alone is
//! an assignment. An annotation line (bars, then `└` and a value; ASCII
//! `|` and `->` too) is read as the assignment it displays, `password =
//! 'hunter2-but-longer'`, with the name found in the source line above at
//! the marker's column; the engine judges that as any other assignment.

use std::ops::Range;

/// The marker's column (in characters) and the value's range on an
/// annotation line, or `None` when `line` is not one.
pub fn annotation(line: &str) -> Option<(usize, Range<usize>)> {
    let mut column = 0;
    for (at, c) in line.char_indices() {
        match c {
            ' ' | '\t' | '│' | '|' => column += 1,
            '└' => return value_after(line, at + c.len_utf8(), column),
            '-' if line[at..].starts_with("->") => return value_after(line, at + 2, column),
            _ => return None,
        }
    }
    None
}

fn value_after(line: &str, at: usize, column: usize) -> Option<(usize, Range<usize>)> {
    let rest = line[at..].strip_prefix(' ')?;
    let start = line.len() - rest.len();
    let end = line.trim_end().len();
    (end > start).then_some((column, start..end))
}

/// The dotted name (`password`, `self._token`) that starts at character
/// `column` of `source`.
pub fn name_at(source: &str, column: usize) -> Option<&str> {
    let (start, first) = source.char_indices().nth(column)?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let len = source[start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(source.len() - start);
    Some(source[start..start + len].trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_lines_give_the_marker_column_and_the_value() {
        let line = "                │     └ 'ZusPGuEnQlWiaZuSqCrNfTgIIxQhtJ3v'";
        let (column, value) = annotation(line).expect("an annotation");
        assert_eq!((column, &line[value]), (22, "'ZusPGuEnQlWiaZuSqCrNfTgIIxQhtJ3v'"));
        let line = "    |     -> 'abc'  ";
        let (column, value) = annotation(line).expect("ASCII");
        assert_eq!((column, &line[value]), (10, "'abc'"));
        for other in ["    client = Client(base_url)", "  └", "plain └ 'x'", "", "    │     │"] {
            assert!(annotation(other).is_none(), "{other:?}");
        }
    }

    #[test]
    fn the_name_at_the_column_is_read_whole() {
        let source = "    self._login(user, self._password)";
        assert_eq!(name_at(source, 16), Some("user"));
        assert_eq!(name_at(source, 22), Some("self._password"));
        assert_eq!(name_at(source, 4), Some("self._login"));
        assert_eq!(name_at(source, 15), None, "a parenthesis");
        assert_eq!(name_at(source, 99), None, "past the end");
    }
}
