//! Secrets with no key at all: positional arguments of task queues (Celery
//! `received args=('acct_1', 'TOKEN')`, Sidekiq `"args":[1,"TOKEN"]`, RQ and
//! Dramatiq reprs) and the values loguru prints under a traceback's
//! variables (`└ 'TOKEN'`). Each quoted string on such a line is a
//! candidate; `verify` keeps only those that look generated (long random
//! text, or a short one mixing letters, digits and punctuation), never
//! identifiers, timestamps, UUIDs, paths or names.

use vigil_sdk::ScrubRule;

/// Where positional arguments or variable values are printed.
const KEYWORDS: [&str; 6] = ["args=(", "args=[", "\"args\":[", "args: [", "└ '", "└ \""];

pub fn rules() -> Vec<ScrubRule> {
    vec![
        ScrubRule::new("positional-argument", r#"['"]([^'"\s,()\[\]{}]{8,256})['"]"#)
            .description(
                "Generated-looking strings among task arguments (Celery, Sidekiq, RQ) and loguru variable values",
            )
            .keywords(&KEYWORDS)
            .secret_group(1)
            .verified(),
    ]
}

/// Whether a quoted argument looks like a credential rather than data.
pub fn looks_secret(candidate: &str) -> bool {
    let bytes = candidate.as_bytes();
    let count = |f: fn(&u8) -> bool| bytes.iter().filter(|b| f(b)).count();
    let (digits, lower, upper) =
        (count(u8::is_ascii_digit), count(u8::is_ascii_lowercase), count(u8::is_ascii_uppercase));
    let punctuation = bytes.len() - digits - lower - upper;
    if is_data(candidate) {
        return false;
    }
    // A short password: letters, digits and punctuation together.
    let password = bytes.len() >= 8
        && digits > 0
        && lower + upper > 0
        && punctuation > 0
        && !bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b':'));
    // A long random token: 16 or more, digits and letters mixed, varied.
    let token = bytes.len() >= 16 && digits >= 2 && lower + upper >= 4 && entropy(bytes) >= 3.3;
    password || token
}

/// Identifiers, times, UUIDs, paths, URLs, dotted names, object ids.
fn is_data(text: &str) -> bool {
    let bytes = text.as_bytes();
    let hex = bytes.iter().all(u8::is_ascii_hexdigit);
    let uuid = bytes.len() == 36
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| if matches!(i, 8 | 13 | 18 | 23) { *b == b'-' } else { b.is_ascii_hexdigit() });
    let time = bytes.len() >= 10 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-';
    // Paths, URLs, ARNs, times, `host:port`.
    let path = text.starts_with('/') || text.starts_with("./") || text.contains(':');
    // `db-1.x4k2.eu-west-1.rds.amazonaws.com`: a host name.
    let parts: Vec<&str> = text.split('.').collect();
    let host = parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        && parts.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_alphabetic()));
    // `app.tasks.sync`, `search.client.Client`.
    let dotted = text.contains('.')
        && text.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_'));
    // `acct_2pNzKdbNSC`, `cus_9s6XKzkNRiz8i3`: a type prefix and an id.
    let prefixed_id = text.split_once('_').is_some_and(|(prefix, rest)| {
        (2..=6).contains(&prefix.len())
            && prefix.bytes().all(|b| b.is_ascii_lowercase())
            && !rest.contains('_')
            && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    // Sidekiq job ids and MongoDB object ids (24 hex).
    let object_id = hex && bytes.len() == 24;
    uuid || time || path || host || dotted || prefixed_id || object_id
}

/// Shannon entropy in bits per character.
fn entropy(bytes: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let len = bytes.len() as f64;
    counts.iter().filter(|&&n| n > 0).map(|&n| f64::from(n) / len).map(|p| -p * p.log2()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_arguments_are_secrets_and_data_is_not() {
        for secret in [
            "fmvvk47npljwd6wwk6xnyvzkbwwlhkvyy5trhytca7qeuhdr2ql3",
            "e10147d81b104c56348d20b61fe2c5fc",
            "6b313fafa286c3df7e2ea5df607fc146-e872b6d0-0d431912",
            "xOEWUXN6n831o-o7uwDNTGmcavtIhDUb8vsDn4wk",
            "6soLNvdI59F8rf0LgSWwLKxQu2h8GvEK",
            "q!Gl7ujN#w",
        ] {
            assert!(looks_secret(secret), "{secret}");
        }
        for data in [
            "acct_2pNzKdbNSC",
            "e0ce49ac29bf774be2b9354b",
            "2024-01-16T12:42:45.766Z",
            "91ff7bee-7427-4668-bdd4-813905f5286a",
            "search.client.Client",
            "https://api.example.com/v1",
            "PaymentsJob",
            "us-east-1",
            "arn:aws:secretsmanager:us-east-1:911751547859:secret:staging",
            "checkout-staging.1etbwm59sumd.us-west-2.rds.amazonaws.com",
        ] {
            assert!(!looks_secret(data), "{data}");
        }
    }
}
