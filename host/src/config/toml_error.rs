//! TOML errors without the quoted source line.
//!
//! `toml`'s `Display` prints the offending line with a caret under it. For
//! a configuration file that line can be `redis_url = "redis://:password@..."`,
//! and the error goes to a terminal, a log and `/health/status`. We report
//! the position and the parser's message, never the text around it.

/// Longest piece of the file a message may quote (serde quotes a value it
/// does not know, e.g. "unknown variant `...`").
const QUOTE_LIMIT: usize = 48;

/// `line L, column C: message`, or just the message when there is no span.
/// Always one line: quoted values are cut to a few dozen characters and
/// control characters escaped, so a multi-line string that swallowed the
/// lines below it cannot carry them into the error.
pub fn describe(err: &toml::de::Error, text: &str) -> String {
    let message = one_line(err.message().trim_end());
    let Some(span) = err.span() else {
        return message;
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |tail| tail.chars().count()) + 1;
    format!("line {line}, column {column}: {message}")
}

/// Cut every backtick-quoted part longer than [`QUOTE_LIMIT`] and escape
/// control characters.
fn one_line(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for (i, part) in message.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        let quoted = i % 2 == 1;
        let count = part.chars().count();
        let kept: String = if quoted && count > QUOTE_LIMIT {
            part.chars().take(QUOTE_LIMIT).chain("...".chars()).collect()
        } else {
            part.to_owned()
        };
        out.extend(kept.chars().flat_map(|c| if c.is_control() { c.escape_default().collect() } else { vec![c] }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        let err = toml::from_str::<toml::Table>(text).expect_err("invalid TOML");
        describe(&err, text)
    }

    #[test]
    fn names_the_position_without_quoting_the_line() {
        let text = "[endpoints]\nredis_url = \"redis://:hunter2@localhost:6379\" oops\n";
        let message = error(text);
        assert!(message.starts_with("line 2, column 47: "), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn a_quoted_multi_line_value_stays_one_short_line() {
        let text = "kind = \"\"\"check\nredis_url = \"redis://:hunter2@h\"\n\"\"\"\n";
        let err = toml::from_str::<Kind>(text).expect_err("unknown variant");
        let message = describe(&err, text);
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains("unknown variant `check\\nredis_url"), "{message}");
        let long = format!("kind = \"{}\"\n", "x".repeat(200));
        let message = describe(&toml::from_str::<Kind>(&long).expect_err("unknown variant"), &long);
        assert!(message.len() < 160, "{message}");
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Kind {
        kind: Variant,
    }

    #[derive(Debug, serde::Deserialize)]
    enum Variant {
        #[serde(rename = "check")]
        Check,
    }

    #[test]
    fn counts_columns_in_characters() {
        assert!(error("a = \"é\" x").starts_with("line 1, column 9: "), "{}", error("a = \"é\" x"));
    }
}
