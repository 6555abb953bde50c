//! Secrets that show up in any platform's logs. "password reset", "token
//! expired", UUIDs, digests and URLs without credentials are left alone.

use vigil_sdk::{ScrubRule, Scrubber};

struct CommonSecrets;

/// Keys whose values are secrets in `key=value`, JSON and YAML forms.
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "access_key",
    "client_secret",
    "auth_token",
    "private_key",
];

impl Scrubber for CommonSecrets {
    fn rules() -> Vec<ScrubRule> {
        vec![
            ScrubRule::new(
                "private-key",
                r"(?s)-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(.+?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)",
            )
            .description("PEM private keys (RSA, EC, OpenSSH, PKCS#8), raw or with escaped newlines")
            .keywords(&["PRIVATE KEY-----"])
            .secret_group(2)
            .replacement("[REDACTED:private-key]"),
            ScrubRule::new("bearer-token", r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{16,}=*)")
                .description("Bearer tokens")
                .keywords(&["bearer"])
                .secret_group(1)
                .min_entropy(3.0),
            ScrubRule::new("basic-auth", r#"(?i)\bauthorization\\?["']?\s*[:=]\s*\\?["']?basic\s+([A-Za-z0-9+/]{8,}={0,2})"#)
                .description("HTTP Basic authorization headers")
                .keywords(&["basic"])
                .secret_group(1),
            ScrubRule::new("jwt", r"\b(eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,})")
                .description("JSON Web Tokens (verified: the header decodes to JSON naming an `alg`)")
                .keywords(&["eyJ"])
                .secret_group(1)
                .verified(),
            ScrubRule::new("fernet-token", r"\b(gAAAAA[A-Za-z0-9_-]{80,}={0,2})")
                .description("Fernet tokens")
                .keywords(&["gAAAAA"])
                .secret_group(1),
            ScrubRule::new("github-token", r"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b")
                .description("GitHub tokens")
                .keywords(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"])
                .secret_group(1),
            ScrubRule::new("gitlab-token", r"\b(glpat-[A-Za-z0-9_-]{20,})")
                .description("GitLab personal access tokens")
                .keywords(&["glpat-"])
                .secret_group(1),
            ScrubRule::new("slack-token", r"\b(xox[baprs]-[A-Za-z0-9-]{10,})")
                .description("Slack tokens")
                .keywords(&["xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"])
                .secret_group(1),
            ScrubRule::new("slack-webhook", r"hooks\.slack\.com/services/(T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,})")
                .description("Slack incoming-webhook URLs")
                .keywords(&["hooks.slack.com/services/"])
                .secret_group(1),
            ScrubRule::new("stripe-key", r"\b((?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,})")
                .description("Stripe secret and restricted keys")
                .keywords(&["sk_live_", "sk_test_", "rk_live_", "rk_test_"])
                .secret_group(1),
            ScrubRule::new(
                "uri-password",
                r#"(?i)\b(?:mongodb(?:\+srv)?|redis|rediss|postgres(?:ql)?|mysql|mariadb|amqps?|https?|ftp)://[^:/?#\s@"'\\]*:([^@/?#\s"'\\]+)@"#,
            )
            .description("Passwords in connection URIs")
            .keywords(&["://"])
            .secret_group(1),
            ScrubRule::new(
                "secret-assignment",
                r#"(?i)\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret|auth[_-]?token|private[_-]?key)\\?["']?\s*[:=]\s*\\?["']?([^\s"',;&}\\]{4,})"#,
            )
            .description("password/secret/token/api_key assignments in key=value, JSON and YAML")
            .keywords(SECRET_KEYS)
            .secret_group(1),
        ]
    }

    fn verify(rule_id: &str, candidate: &str) -> bool {
        match rule_id {
            "jwt" => is_jwt(candidate),
            _ => true,
        }
    }
}

/// A JWT's first segment is base64url JSON with an `alg` member; text that
/// only looks like one (three dotted `eyJ` runs) does not decode to that.
fn is_jwt(candidate: &str) -> bool {
    use base64::Engine as _;
    let header = candidate.split('.').next().unwrap_or_default();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    match engine.decode(header.trim_end_matches('=')) {
        Ok(bytes) => String::from_utf8(bytes).is_ok_and(|json| json.starts_with('{') && json.contains("\"alg\"")),
        Err(_) => false,
    }
}

vigil_sdk::export!(scrubber: CommonSecrets);
