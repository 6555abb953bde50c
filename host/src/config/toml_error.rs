//! TOML errors without the quoted source line.
//!
//! `toml`'s `Display` prints the offending line with a caret under it. For
//! a configuration file that line can be `redis_url = "redis://:password@..."`,
//! and the error goes to a terminal, a log and `/health/status`. We report
//! the position and the parser's message, never the text around it.

/// `line L, column C: message`, or just the message when there is no span.
pub fn describe(err: &toml::de::Error, text: &str) -> String {
    let message = err.message().trim_end();
    let Some(span) = err.span() else {
        return message.to_owned();
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |tail| tail.chars().count()) + 1;
    format!("line {line}, column {column}: {message}")
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
    fn counts_columns_in_characters() {
        assert!(error("a = \"é\" x").starts_with("line 1, column 9: "), "{}", error("a = \"é\" x"));
    }
}
