//! `vigil.toml`: parsing and validation never panic; an error names the
//! file, is one line, and never contains the value of a secret-bearing
//! field (`redis_url`, `mongodb_uri`, `token`, `broker_url`, ...), wherever
//! in the file it was written.

use vigil_host::config::DaemonConfig;

/// Keys whose values are credentials or carry them (URLs with a password).
const SECRET_KEYS: &[&str] =
    &["redis_url", "mongodb_uri", "mongodb_fallback_uri", "token", "broker_url", "webhook_url"];

/// The property.
pub fn check(data: &[u8]) {
    let Some(text) = super::text(data) else { return };
    let Err(err) = DaemonConfig::parse(text, "fuzz/vigil.toml") else { return };
    let message = err.to_string();
    assert!(message.starts_with("fuzz/vigil.toml: "), "error does not name the file: {message}");
    super::assert_one_line_error(&message);
    if let Ok(table) = toml::from_str::<toml::Table>(text) {
        let mut secrets = Vec::new();
        collect_secrets(&table, &mut secrets);
        for secret in secrets.iter().filter(|s| s.len() >= 8) {
            // A secret that is also a key or a plain word elsewhere in the
            // file may be quoted as that; only a value unique to the secret
            // field counts.
            if occurrences(text, secret) == 1 {
                assert!(!message.contains(secret.as_str()), "error reveals a secret value: {message}");
            }
        }
    }
}

fn collect_secrets(table: &toml::Table, out: &mut Vec<String>) {
    for (key, value) in table {
        match value {
            toml::Value::String(s) if SECRET_KEYS.contains(&key.as_str()) => out.push(s.clone()),
            toml::Value::Table(inner) => collect_secrets(inner, out),
            toml::Value::Array(items) => {
                for item in items {
                    if let toml::Value::Table(inner) = item {
                        collect_secrets(inner, out);
                    }
                }
            }
            _ => {}
        }
    }
}

fn occurrences(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}
