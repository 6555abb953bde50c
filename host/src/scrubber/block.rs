//! Values below their key: YAML block scalars under a secret key (the
//! value on the lines below, more indented), and keys left dangling at a
//! line's end by pretty-printers (`"password":`, `password =`, `<password>`;
//! the value on the next line).
//!
//! ```text
//! db:
//!   password: |-
//!     Xk9mQ2vL8pZ4aB7cD
//!   host: db.internal
//! ```
//!
//! A line ending in a block indicator (`|`, `>`, with a chomping or
//! indentation indicator: `|-`, `>+`, `|2`) after `key:` opens a block
//! when the engine would redact a credential assigned to that key; every
//! non-blank line more indented than the key is then redacted whole, and
//! the first line that is not ends the block.

/// A value a credential would have, for asking whether a key names a secret.
pub const CANARY: &str = "Zq7Xw2Lm9Pv4Rt6Yb3Nc";

/// The key's indentation and the key, when `line` is `key: |` (or another
/// block indicator) as YAML writes it.
pub fn opener(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_end();
    let last = *trimmed.as_bytes().last()?;
    if !matches!(last, b'|' | b'>' | b'-' | b'+' | b'0'..=b'9') {
        return None;
    }
    // `|`, `>`, then at most a chomping and an indentation indicator.
    let modifiers = trimmed.bytes().rev().take_while(|b| matches!(b, b'-' | b'+' | b'0'..=b'9')).count();
    if modifiers > 2 {
        return None;
    }
    let before = &trimmed[..trimmed.len() - modifiers];
    let before = before.strip_suffix(['|', '>'])?;
    let before = before.trim_end().strip_suffix(':')?;
    let indent = line.len() - line.trim_start().len();
    let key = before.trim_start();
    let key = key.strip_prefix("- ").unwrap_or(key).trim();
    let key = key.trim_matches(|c| c == '"' || c == '\'');
    plain(key).then_some((indent, key))
}

/// The key of a line that is only a key and an operator, its value to
/// come on the next line: `password:`, `"password":`, `password =`,
/// `password =>`, `<password>`.
pub fn dangling(line: &str) -> Option<&str> {
    let line = line.trim();
    if let Some(element) = line.strip_prefix('<').and_then(|rest| rest.strip_suffix('>')) {
        return plain(element).then_some(element);
    }
    let key = [":=", "=>", ":", "="].iter().find_map(|op| line.strip_suffix(op))?.trim_end();
    let key = key.strip_prefix("- ").unwrap_or(key);
    let key = key.trim_matches(|c| c == '"' || c == '\'');
    plain(key).then_some(key)
}

/// A key name: letters, digits, `_`, `-`, `.`.
fn plain(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Whether `value` is a block indicator (`|`, `>-`, `|2+`): the value is
/// below, not here.
pub fn is_indicator(value: &[u8]) -> bool {
    match value.split_first() {
        Some((b'|' | b'>', rest)) => rest.len() <= 2 && rest.iter().all(|b| matches!(b, b'-' | b'+' | b'0'..=b'9')),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openers_give_the_indent_and_the_key() {
        assert_eq!(opener("password: |"), Some((0, "password")));
        assert_eq!(opener("  db_password: >-  "), Some((2, "db_password")));
        assert_eq!(opener("  - \"api.key\": |2+"), Some((2, "api.key")));
        for other in ["password: x", "a | b", "note: a -> b", "password: |-x", "password:|||", "key with space: |"] {
            assert_eq!(opener(other), None, "{other:?}");
        }
    }

    #[test]
    fn dangling_keys_are_the_whole_line() {
        for (line, key) in [
            ("password:", "password"),
            ("  \"db_password\":", "db_password"),
            ("password =", "password"),
            ("'token' =>", "token"),
            ("  <password>", "password"),
            ("- secret:", "secret"),
        ] {
            assert_eq!(dangling(line), Some(key), "{line:?}");
        }
        for other in ["2024-01-01 INFO Password:", "password: x", "</password>", "<entry key=\"x\">", ":", "a b:"] {
            assert_eq!(dangling(other), None, "{other:?}");
        }
    }

    #[test]
    fn indicators_are_recognised() {
        for indicator in ["|", ">", "|-", ">+", "|2", ">2-"] {
            assert!(is_indicator(indicator.as_bytes()), "{indicator}");
        }
        for other in ["|x", "||", "-", ">>>", "|123"] {
            assert!(!is_indicator(other.as_bytes()), "{other}");
        }
    }
}
