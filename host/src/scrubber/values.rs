//! What a value found beside a secret key is: a real credential, or text
//! that only stands where one would (a placeholder, a mask, a status word,
//! a path). Everything here works on bytes and never allocates.

/// How sure the syntax around a value is that it holds a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    /// A key that names a secret outright (`password=`, `"client_secret":`).
    Strong,
    /// A short or ambiguous key (`auth=`, `pwd=`, `?code=`), or free text
    /// (`secret for webhook W: ...`): the value must look like a credential.
    Weak,
}

/// Whether `value`, found where a secret of this strength would be, should
/// be redacted.
pub fn is_secret(value: &[u8], strength: Strength) -> bool {
    if value.len() < 2 || is_placeholder(value) || is_status_word(value) || is_reference(value) || is_path(value) {
        return false;
    }
    match strength {
        Strength::Strong => true,
        Strength::Weak => looks_like_credential(value),
    }
}

/// Text that stands for a secret without being one: `null`, `None`, `""`,
/// `${VAR}`, `$VAR`, `%(name)s`, `{{ var }}`, `<redacted>`, `[REDACTED]`,
/// `***`, `••••`, `xxxx`, and masks that show a few characters
/// (`****1234`, `sk-...abcd`).
pub fn is_placeholder(value: &[u8]) -> bool {
    let value = trim_quotes(value);
    if value.is_empty() {
        return true;
    }
    let first = value[0];
    let last = value[value.len() - 1];
    // Template and environment references.
    if first == b'$' && value.len() > 1 && (value[1] == b'{' || value[1] == b'(' || is_ident(&value[1..])) {
        return true;
    }
    if value.starts_with(b"%(") || value.starts_with(b"{{") || value == b"%s" || value == b"?" {
        return true;
    }
    // A whole bracketed word: <redacted>, [REDACTED], (hidden), {password},
    // and template references such as <path:secret/data/app#key>.
    let inner = value.get(1..value.len().saturating_sub(1)).unwrap_or_default();
    let bracketed = match (first, last) {
        (b'<', b'>') => !inner.iter().any(u8::is_ascii_whitespace),
        (b'[', b']') | (b'(', b')') | (b'{', b'}') => {
            inner.iter().all(|b| b.is_ascii_alphanumeric() || b" _-:.*".contains(b))
        }
        _ => false,
    };
    if value.len() >= 2 && bracketed {
        return true;
    }
    is_mask(value) || is_marker_word(value)
}

/// Masked text: all mask characters (`*`, `•`, `.`...), or a run of three
/// or more of the same one with at most eight characters in clear before
/// and after it (`****1234`, `sk-...abcd`), or `x`/`X` only.
fn is_mask(value: &[u8]) -> bool {
    let text = String::from_utf8_lossy(value);
    let is_mask_char = |c: char| matches!(c, '*' | '•' | '●' | '·' | '…' | '.');
    // Sentence punctuation after a mask (`sk-proj-****LaY9.`) is not part of it.
    let text = text.trim_end_matches(['.', ',', ';']);
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return true;
    }
    if chars.iter().all(|&c| is_mask_char(c)) {
        return true;
    }
    // The longest run of one mask character, and where it is.
    let (mut best, mut best_at, mut at) = (0usize, 0usize, 0usize);
    while at < chars.len() {
        let run = chars[at..].iter().take_while(|&&c| c == chars[at]).count();
        if is_mask_char(chars[at]) && run > best {
            (best, best_at) = (run, at);
        }
        at += run;
    }
    let clear_around = chars.len() - best;
    let clear_elsewhere = chars[..best_at].iter().chain(&chars[best_at + best..]).all(|&c| !is_mask_char(c));
    if best >= 3 && clear_around <= best.max(8) && clear_elsewhere {
        return true;
    }
    value.len() >= 3 && value.iter().all(|&b| b == b'x' || b == b'X')
}

fn is_marker_word(value: &[u8]) -> bool {
    const MARKERS: &[&[u8]] = &[
        b"redacted",
        b"filtered",
        b"hidden",
        b"masked",
        b"removed",
        b"sensitive",
        b"your_password",
        b"your-password",
        b"your_token",
        b"your-token",
        b"your_api_key",
        b"your-api-key",
        b"<your-token>",
        b"not-set",
        b"not_set",
        b"notset",
        b"unset",
        b"n/a",
    ];
    // **REDACTED**, **hidden**
    let starred = value.starts_with(b"**")
        && value.ends_with(b"**")
        && value.iter().all(|b| b.is_ascii_alphabetic() || matches!(b, b'*' | b'_' | b' '));
    MARKERS.iter().any(|m| value.eq_ignore_ascii_case(m)) || value.starts_with(b"[REDACTED") || starred
}

/// A file path (`/var/secrets/google/key.json`, `~/.pgpass`): where a
/// secret is kept, not the secret.
fn is_path(value: &[u8]) -> bool {
    let rooted = value[0] == b'/' || value.starts_with(b"./") || value.starts_with(b"~/") || value.starts_with(b"../");
    // A long segment mixing cases and digits is base64 (`/UTMOuFw0ZNC8Jawe...`), not a name.
    let random = |segment: &[u8]| {
        segment.len() >= 12
            && segment.iter().any(u8::is_ascii_uppercase)
            && segment.iter().any(u8::is_ascii_lowercase)
            && segment.iter().any(u8::is_ascii_digit)
    };
    rooted
        && value.iter().all(|b| b.is_ascii_alphanumeric() || b"/._-~".contains(b))
        && !value.split(|&b| b == b'/').any(random)
}

/// Text that names a secret rather than holding one: an ARN
/// (`arn:aws:secretsmanager:...`) or a dotted code name
/// (`django.contrib.auth.hashers.Argon2PasswordHasher`).
fn is_reference(value: &[u8]) -> bool {
    if value.starts_with(b"arn:") {
        return true;
    }
    // Python-style dotted paths: lowercase modules, then any identifier.
    let segments: Vec<&[u8]> = value.split(|&b| b == b'.').collect();
    let Some((last, modules)) = segments.split_last() else { return false };
    segments.len() >= 3
        && modules.iter().all(|s| !s.is_empty() && s.iter().all(|b| b.is_ascii_lowercase() || *b == b'_'))
        && !last.is_empty()
        && last[0].is_ascii_alphabetic()
        && last.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// Words that say something about a secret rather than being one
/// (`token: expired`, `password: required`, `"secret": true`).
pub fn is_status_word(value: &[u8]) -> bool {
    const WORDS: &[&[u8]] = &[
        b"true",
        b"false",
        b"yes",
        b"no",
        b"on",
        b"off",
        b"null",
        b"none",
        b"nil",
        b"undefined",
        b"nan",
        b"empty",
        b"enabled",
        b"disabled",
        b"required",
        b"optional",
        b"set",
        b"present",
        b"missing",
        b"absent",
        b"invalid",
        b"valid",
        b"expired",
        b"ok",
        b"changed",
        b"updated",
        b"rotated",
        b"revoked",
        b"provided",
        b"supplied",
        b"generated",
        b"refreshed",
        b"accepted",
        b"rejected",
        b"denied",
        b"failed",
        b"success",
        b"successful",
        b"unknown",
        b"bearer",
        b"basic",
        b"string",
        b"str",
        b"bytes",
        b"object",
        b"int",
        b"secretstr",
        b"optional[str]",
        b"***",
    ];
    WORDS.iter().any(|w| value.eq_ignore_ascii_case(w))
}

/// A value that looks generated rather than written: at least eight
/// characters without spaces, mixing character classes, not a path and not
/// a plain word.
pub fn looks_like_credential(value: &[u8]) -> bool {
    if value.len() < 8 || value.iter().any(u8::is_ascii_whitespace) {
        return false;
    }
    let (mut lower, mut upper, mut digit, mut other) = (false, false, false, false);
    for &b in value {
        match b {
            b'a'..=b'z' => lower = true,
            b'A'..=b'Z' => upper = true,
            b'0'..=b'9' => digit = true,
            _ => other = true,
        }
    }
    let classes = [lower, upper, digit, other].iter().filter(|&&c| c).count();
    classes >= 2 && (digit || classes >= 3 || crate::scrubber::engine::entropy(value) >= 3.5)
}

/// `"x"` or `'x'` without its quotes.
fn trim_quotes(value: &[u8]) -> &[u8] {
    match value {
        [b'"', inner @ .., b'"'] | [b'\'', inner @ .., b'\''] => inner,
        _ => value,
    }
}

fn is_ident(text: &[u8]) -> bool {
    !text.is_empty()
        && (text[0].is_ascii_alphabetic() || text[0] == b'_')
        && text.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_masks_are_not_secrets() {
        for value in [
            "null",
            "None",
            "\"\"",
            "${DB_PASSWORD}",
            "$DB_PASSWORD",
            "%(password)s",
            "{{ vault_password }}",
            "<redacted>",
            "[REDACTED]",
            "[REDACTED:secret-assignment]",
            "REDACTED",
            "***",
            "********",
            "••••",
            "**",
            "xxxx",
            "XXXXXXXXXXXX",
            "****1234",
            "sk-...abcd",
            "<password>",
            "(hidden)",
            "**REDACTED**",
            "<path:secret/data/cspm#clientSecret>",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
            "django.contrib.auth.hashers.Argon2PasswordHasher",
            "/var/secrets/google/key.json",
        ] {
            assert!(!is_secret(value.as_bytes(), Strength::Strong), "{value} taken for a secret");
        }
    }

    #[test]
    fn real_values_are_secrets() {
        for value in [
            "J!F9&cWG#SE*i$rz9",
            "**#a~Aa",
            "-.**aAa",
            "/UTMOuFw0ZNC8JaweKOfb5iNbYuftIk9xiFYCnwA",
            "hunter22",
            "s3cr3tval",
            "abc$def",
            "p@ss~w*rd.!",
        ] {
            assert!(is_secret(value.as_bytes(), Strength::Strong), "{value} missed");
        }
        assert!(is_secret(b"4/0AX4XfWh7Tq9kLm2", Strength::Weak));
        assert!(!is_secret(b"expired", Strength::Strong));
        assert!(!is_secret(b"bob", Strength::Weak));
        assert!(!is_secret(b"/home/app", Strength::Weak));
        assert!(!is_secret(b"correct", Strength::Weak));
    }
}
