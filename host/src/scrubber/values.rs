//! What a value found beside a secret key is: a real credential, or text
//! that only stands where one would (a placeholder, a mask, a status word,
//! a path). Everything here works on bytes and never allocates.

mod placeholders;

pub use self::placeholders::{is_placeholder, reads_like_name};

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
    if value.len() < 2
        || is_placeholder(value)
        || is_status_word(value)
        || is_reference(value)
        || is_path(value)
        || is_public(value)
        || is_service_list(value)
    {
        return false;
    }
    match strength {
        Strength::Strong => true,
        Strength::Weak => looks_like_credential(value) && !is_file_name(value),
    }
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
    /// Secret stores, encrypted-value formats and code that reads a
    /// secret: where the value comes from, not the value.
    const PREFIXES: [&[u8]; 30] = [
        b"env:",
        b"env\\:",
        b"aqaaabaaaa",
        b"arn:",
        b"op://",
        b"k8s://",
        b"ref+",
        b"vault:",
        b"vault://",
        b"awssm://",
        b"ssm://",
        b"sm://",
        b"gcpsm://",
        b"azkv://",
        b"secretkeyref:",
        b"@microsoft.keyvault(",
        b"{{resolve:",
        b"enc[",
        b"$ansible_vault;",
        b"{aqaaabaaaa",
        b"hmac-sha256:",
        b"hmac-sha1:",
        b"system.getenv(",
        b"process.env.",
        b"os.environ",
        b"os.getenv(",
        b"env[",
        b"var.",
        b"local.",
        b"secrets.",
    ];
    let lower_prefix = |p: &[u8]| value.len() >= p.len() && value[..p.len()].eq_ignore_ascii_case(p);
    if PREFIXES.iter().any(|p| lower_prefix(p)) {
        return true;
    }
    // Google Secret Manager names: `projects/P/secrets/S/versions/V`.
    if value.starts_with(b"projects/") && value.windows(9).any(|w| w == b"/secrets/") {
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
        // The name of a key in a secret store, not its value
        // (`--set auth.passwordSecretKey=password`).
        b"password",
        b"passwd",
        b"secret",
        b"token",
        b"passphrase",
        b"credentials",
        b"apikey",
        b"api_key",
    ];
    WORDS.iter().any(|w| value.eq_ignore_ascii_case(w))
}

/// Public values with a secret-like shape: Mapbox public tokens (`pk.eyJ`)
/// and Stripe publishable keys (`pk_live_`).
fn is_public(value: &[u8]) -> bool {
    value.starts_with(b"pk.eyJ") || value.starts_with(b"pk_live_") || value.starts_with(b"pk_test_")
}

/// An nsswitch.conf source list (`passwd: files systemd`).
fn is_service_list(value: &[u8]) -> bool {
    const SOURCES: [&[u8]; 16] = [
        b"files",
        b"systemd",
        b"sss",
        b"ldap",
        b"nis",
        b"nisplus",
        b"compat",
        b"db",
        b"winbind",
        b"dns",
        b"myhostname",
        b"mymachines",
        b"resolve",
        b"hesiod",
        b"cache",
        b"altfiles",
    ];
    value.contains(&b' ')
        && value
            .split(|&b| b == b' ')
            .filter(|w| !w.is_empty())
            .all(|w| SOURCES.contains(&w) || (w.starts_with(b"[") && w.ends_with(b"]")))
}

/// A file or object name (`reports%2Fq3.csv`, `backup.tar.gz`): what a
/// short key such as `?key=` names in a storage API.
fn is_file_name(value: &[u8]) -> bool {
    const EXTENSIONS: [&[u8]; 16] = [
        b"csv", b"json", b"txt", b"pdf", b"png", b"jpg", b"jpeg", b"gz", b"zip", b"xml", b"yaml", b"yml", b"log",
        b"tar", b"parquet", b"html",
    ];
    let Some(dot) = value.iter().rposition(|&b| b == b'.') else { return false };
    let extension = &value[dot + 1..];
    EXTENSIONS.iter().any(|e| extension.eq_ignore_ascii_case(e))
        && value[..dot].iter().all(|b| b.is_ascii_alphanumeric() || b"%_-./".contains(b))
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
            "$__file{/etc/secrets/grafana/db}",
            "$__env{GF_DB_PASSWORD}",
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
            "$__0*0A",
            "$__file",
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
