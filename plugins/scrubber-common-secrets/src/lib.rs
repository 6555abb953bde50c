//! Secrets that show up in any platform's logs: values assigned to keys that
//! name a secret (in every common syntax, through the host's assignment
//! detector), private keys (PEM, base64 PEM, bare DER, OpenSSH, age),
//! passwords in URIs and command lines, JWTs, bearer tokens, and Fernet keys
//! and tokens. Placeholders, hashes, UUIDs, public keys, certificates and
//! URLs without credentials are left alone.

use base64::Engine as _;
use vigil_sdk::{ScrubRule, Scrubber};

mod words;

use words::SECRET_WORDS;

struct CommonSecrets;

impl Scrubber for CommonSecrets {
    fn rules() -> Vec<ScrubRule> {
        vec![
            ScrubRule::assignment("secret-assignment", SECRET_WORDS).description(
                "Values of keys that name a secret, in env, logfmt, JSON, Python, XML, YAML, CLI, query, header \
                 and connection-string syntax",
            ),
            ScrubRule::new(
                "private-key",
                r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY(?: BLOCK)?-----(.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)",
            )
            .description("PEM private keys (RSA, EC, DSA, OpenSSH, PKCS#8, encrypted, PGP), raw or with escaped newlines")
            .keywords(&["PRIVATE KEY-----", "PRIVATE KEY BLOCK-----"])
            .secret_group(2)
            .replacement("[REDACTED:private-key]"),
            ScrubRule::new("private-key-base64", r"\b(LS0tLS1CRUdJTi[A-Za-z0-9+/=]{20,})")
                .description("Base64-encoded PEM private keys, as in Kubernetes Secret data (verified: decodes to a PRIVATE KEY header)")
                .keywords(&["LS0tLS1CRUdJTi"])
                .secret_group(1)
                .verified(),
            ScrubRule::new(
                "private-key-der",
                r"\b((?:MII[A-Za-z0-9+/]{2}[AQgw]IBAA[KJ]|MII[A-Za-z0-9+/]{2}[AQgw]IBADAN|MII[A-Za-z0-9+/]{2}[AQgw]IBAzAN|MHcCAQEE|MIGkAgEBBD|MIHcAgEBBE|MIGHAgEAMBMG|MC4CAQAwBQYDK2Vw|b3BlbnNzaC1rZXktdjE)[A-Za-z0-9+/]{16,}={0,2})",
            )
            .description("Private key bodies without their PEM header: DER RSA, PKCS#8, EC and Ed25519 keys, OpenSSH keys")
            .keywords(&["IBAAK", "IBAAJ", "IBADAN", "IBAzAN", "MHcCAQEE", "MIGkAgEBBD", "MIHcAgEBBE", "MIGHAgEAMBMG", "MC4CAQAwBQYDK2Vw", "b3BlbnNzaC1rZXktdjE"])
            .secret_group(1),
            ScrubRule::new(
                "private-key-base64-embedded",
                r"([A-Za-z0-9+/]*(?:UFJJVkFURSBL|SVZBVEUgS0VZ|UklWQVRFIEtF)[A-Za-z0-9+/]*={0,2})",
            )
            .description("Base64 text that encodes a private key anywhere inside it (a service-account key.json, a keystore dump)")
            .keywords(&["UFJJVkFURSBL", "SVZBVEUgS0VZ", "UklWQVRFIEtF"])
            .secret_group(1)
            .replacement("[REDACTED:private-key]"),
            ScrubRule::new(
                "base64-credentials",
                r"([A-Za-z0-9+/]*(?:InBhc3N3b3Jk|YXNzd29y|cGFzc3dvcmQi|eyJhdXRocyI6|ImF1dGhz|YXV0aHMi)[A-Za-z0-9+/]*={0,2})",
            )
            .description("Base64 text that encodes a \"password\" field or registry auths (.dockerconfigjson, encoded configs)")
            .keywords(&["InBhc3N3b3Jk", "YXNzd29y", "cGFzc3dvcmQi", "eyJhdXRocyI6", "ImF1dGhz", "YXV0aHMi"])
            .secret_group(1),
            ScrubRule::new("jwk-private-member", r#""(?:d|p|q|dp|dq|qi|k)"\s*:\s*"([A-Za-z0-9_-]{20,})""#)
                .description("Private members of JSON Web Keys (d, p, q, dp, dq, qi; k of symmetric keys)")
                .keywords(&["\"kty\""])
                .secret_group(1),
            ScrubRule::new(
                "url-path-token",
                r"(?i)/(?:verify|verification|confirm|confirmation|reset|reset-password|password-reset|invite|invitation|magic|magic-link|activate|activation|unsubscribe|login-link)/([A-Za-z0-9_\-]{20,})",
            )
            .description("One-time tokens in the path of verification, reset, invitation and magic-link URLs")
            .keywords(&["/verify/", "/verification/", "/confirm", "/reset", "/password-reset/", "/invit", "/magic", "/activat", "/unsubscribe/", "/login-link/"])
            .secret_group(1)
            .min_entropy(3.0),
            ScrubRule::new("login-user-password", r"(?i)\blogin\s+[\w.@-]+/([^\s/]+)\s+(?:to|on|at|for)\b")
                .description("Passwords in `login user/password to host` messages")
                .keywords(&["login "])
                .secret_group(1),
            ScrubRule::new("age-secret-key", r"\b(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})")
                .description("age encryption secret keys")
                .keywords(&["AGE-SECRET-KEY-1"])
                .secret_group(1),
            ScrubRule::new("jwt", r"\b(eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,})")
                .description("JSON Web Tokens (verified: the header decodes to JSON naming an `alg`)")
                .keywords(&["eyJ"])
                .secret_group(1)
                .verified(),
            ScrubRule::new("bearer-token", r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{16,}=*)")
                .description("Bearer tokens in free text")
                .keywords(&["bearer"])
                .secret_group(1)
                .min_entropy(3.0),
            ScrubRule::new("basic-auth", r"(?i)\bbasic\s+([A-Za-z0-9+/]{8,}={0,2})(?:[^A-Za-z0-9+/=]|$)")
                .description("HTTP Basic credentials (verified: decode to user:password)")
                .keywords(&["basic "])
                .secret_group(1)
                .verified(),
            ScrubRule::new("fernet-token", r"\b(gAAAAA[A-Za-z0-9_-]{80,}={0,2})")
                .description("Fernet tokens")
                .keywords(&["gAAAAA"])
                .secret_group(1),
            // Laravel's APP_KEY form, printed bare by config dumps and structs.
            ScrubRule::new("base64-app-key", r"\bbase64:([A-Za-z0-9+/]{32,}={0,2})")
                .description("Application keys written base64:KEY (Laravel APP_KEY and its imitators)")
                .keywords(&["base64:"])
                .secret_group(1),
            ScrubRule::new("fernet-key", r"(?:^|[^A-Za-z0-9_-])([A-Za-z0-9_-]{43}=)")
                .description("Fernet keys near the word Fernet (verified: URL-safe base64 of exactly 32 bytes)")
                .keywords(&["fernet"])
                .secret_group(1)
                .verified(),
            ScrubRule::new(
                "uri-password",
                r#"(?i)\b[a-z][a-z0-9+.\-]{1,30}://(?:[^\s:/?#@"'<>\\]*:([^\s/?#"<>\\]+)|([A-Za-z0-9_\-.~%]{20,}))@[^\s/?#@"'<>\\]"#,
            )
            .description(
                "Passwords in URIs (any scheme, `mysql+pymysql://` too; the user name stays), and tokens used as the \
                 whole user part (`https://TOKEN@host`)",
            )
            .keywords(&["://"])
            .secret_group(1),
            ScrubRule::new(
                "mysql-cli-password",
                r#"\bmysql\w*\b[^\n]*?\s['"]?-p(?:'([^']+)'|"([^"]+)"|([^\s'"\-][^\s'"]*))"#,
            )
            .description("Passwords given to the MySQL clients as -pPASSWORD")
            .keywords(&["mysql"])
            .secret_group(1),
            ScrubRule::new(
                "mongo-cli-password",
                r#"\bmongo(?:sh|dump|restore|export|import|stat|top)?\b[^\n]*?\s-p\s+(?:'([^']+)'|"([^"]+)"|([^\s'"\-][^\s'"]*))"#,
            )
            .description("Passwords given to the MongoDB tools as -p PASSWORD")
            .keywords(&["mongo"])
            .secret_group(1),
            ScrubRule::new("redis-cli-password", r#"\bredis-cli\b[^\n]*?\s-a\s+(?:'([^']+)'|"([^"]+)"|([^\s'"]+))"#)
                .description("Passwords given to redis-cli as -a PASSWORD")
                .keywords(&["redis-cli"])
                .secret_group(1),
            // Redis's AUTH typed at a prompt or in a script (`AUTH pass`,
            // `AUTH user pass`); MONITOR's quoted form is `redis-auth`.
            ScrubRule::new("redis-auth-typed", r#"(?:^|>\s?)AUTH\s+(?:[^\s"']+\s+)?([^\s"']+)\s*$"#)
                .description("Passwords in Redis AUTH commands typed at redis-cli's prompt or in a script")
                .keywords(&["auth "])
                .secret_group(1),
            ScrubRule::new("sshpass-password", r#"\bsshpass\b[^\n]*?\s-p\s*(?:'([^']+)'|"([^"]+)"|([^\s'"]+))"#)
                .description("Passwords given to sshpass as -p PASSWORD")
                .keywords(&["sshpass"])
                .secret_group(1),
            ScrubRule::new(
                "openssl-passphrase",
                r#"\s-pass(?:in|out|word|phrase)?\s+['"]?pass:([^\s'"]+)"#,
            )
            .description("Pass phrases given to openssl and similar tools as -passin/-passout pass:PHRASE")
            .keywords(&["pass:"])
            .secret_group(1),
            ScrubRule::new(
                "sql-password",
                r#"(?i)\bidentified\s+(?:with\s+\S+\s+)?by\s+(?:'((?:[^'\\]|\\.|'')*)'|"([^"]*)"|([^\s;'"]+))"#,
            )
            .description("Passwords in SQL: CREATE/ALTER USER ... IDENTIFIED BY 'x' (PASSWORD 'x' is the assignment rule's)")
            .keywords(&["identified"])
            .secret_group(1),
            ScrubRule::new(
                "oracle-connect-password",
                // The password runs to the `@` before the database (`//host`,
                // `host:port/`, an alias at the end): it may hold `@` itself.
                r#"\b(?:sqlplus|sqlldr|expdp|impdp|rman|sqlcl)\b[^\n]*?\s["']?[A-Za-z][\w$#-]*/([^\s/"']+?)@(?://|[\w.-]+(?::\d+)?(?:/|["')\s]|$))"#,
            )
            .description("Passwords in Oracle connect strings (sqlplus user/PASSWORD@db)")
            .keywords(&["sqlplus", "sqlldr", "expdp", "impdp", "rman", "sqlcl"])
            .secret_group(1),
            ScrubRule::new("curl-user-password", r#"\bcurl\b[^\n]*?\s(?:-u|--user)\s*["']?[^\s:"']*:([^\s"']+)"#)
                .description("Passwords given to curl as -u user:PASSWORD")
                .keywords(&["curl"])
                .secret_group(1),
            ScrubRule::new(
                "registry-login-password",
                r#"\b(?:docker|podman|helm|nerdctl|buildah|skopeo|oras|az)\b[^\n]*?\blogin\b[^\n]*?\s-p\s+(?:'([^']+)'|"([^"]+)"|([^\s'"]+))"#,
            )
            .description("Passwords given to registry and cloud logins as -p PASSWORD (docker, podman, helm, az)")
            .keywords(&["login"])
            .secret_group(1),
        ]
    }

    fn verify(rule_id: &str, candidate: &str) -> bool {
        match rule_id {
            "jwt" => is_jwt(candidate),
            "fernet-key" => is_fernet_key(candidate),
            "private-key-base64" => is_base64_private_key(candidate),
            "basic-auth" => is_basic_credential(candidate),
            _ => true,
        }
    }
}

/// A JWT's first segment is base64url JSON with an `alg` member; text that
/// only looks like one (three dotted `eyJ` runs) does not decode to that.
fn is_jwt(candidate: &str) -> bool {
    let header = candidate.split('.').next().unwrap_or_default();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    match engine.decode(header.trim_end_matches('=')) {
        Ok(bytes) => String::from_utf8(bytes).is_ok_and(|json| json.starts_with('{') && json.contains("\"alg\"")),
        Err(_) => false,
    }
}

/// A Fernet key is the URL-safe base64 of exactly 32 random bytes.
fn is_fernet_key(candidate: &str) -> bool {
    base64::engine::general_purpose::URL_SAFE.decode(candidate).is_ok_and(|key| key.len() == 32)
}

/// Base64 that decodes to a PEM `-----BEGIN ... PRIVATE KEY-----` header
/// (certificates and public keys decode to other headers and stay).
fn is_base64_private_key(candidate: &str) -> bool {
    // Enough of the text to hold the header line.
    let head: String = candidate.chars().take(80).collect();
    let head = &head[..head.len() - head.len() % 4];
    let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
    match engine.decode(head.trim_end_matches('=')) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            text.lines().next().is_some_and(|line| line.contains("PRIVATE KEY"))
        }
        Err(_) => true,
    }
}

/// Basic credentials are base64 of `user:password`.
fn is_basic_credential(candidate: &str) -> bool {
    let engine = base64::engine::general_purpose::STANDARD;
    match engine.decode(candidate) {
        Ok(bytes) => bytes.contains(&b':'),
        Err(_) => candidate.len() >= 16,
    }
}

vigil_sdk::export!(scrubber: CommonSecrets);
