//! Lines that look like they hold secrets and do not: placeholders where a
//! secret would be, identifiers (ARNs, UUIDs, ObjectIds, request ids, CVE
//! ids), hashes and digests, public keys and certificates, and sentences
//! about passwords and tokens. Each names the strings that must survive.

use super::Msg;
use super::values::Values;

/// One kind of look-alike.
pub type Template = fn(&mut Values) -> Msg;

const PLACEHOLDERS: &[&str] = &[
    "null",
    "None",
    "\"\"",
    "${DB_PASSWORD}",
    "$DB_PASSWORD",
    "<redacted>",
    "REDACTED",
    "***",
    "••••",
    "**",
    "********",
    "[REDACTED]",
    "<password>",
    "%(password)s",
    "{{ vault_token }}",
    "xxxxxxxx",
];

/// Every innocent template.
pub const TEMPLATES: &[Template] = &[
    |v| {
        let p = v.pick(PLACEHOLDERS);
        Msg::innocent(format!("password={p}"), [p])
    },
    |v| {
        let p = v.pick(PLACEHOLDERS);
        let value = if p.starts_with('"') || p == "null" { p.to_owned() } else { format!("\"{p}\"") };
        Msg::innocent(format!("{{\"password\": {value}}}"), [p])
    },
    |v| {
        let p = v.pick(PLACEHOLDERS);
        Msg::innocent(format!("DB_PASSWORD={p}"), [p])
    },
    |v| {
        let p = v.pick(PLACEHOLDERS);
        Msg::innocent(format!("Settings(api_token={p}, debug=False)"), [p])
    },
    |v| {
        let p = v.pick(PLACEHOLDERS);
        Msg::innocent(format!("client_secret: {p}"), [p])
    },
    |v| {
        let p = v.pick(PLACEHOLDERS);
        Msg::innocent(format!("Authorization: Bearer {p}"), [p])
    },
    |v| {
        let a = v.account();
        let s = format!("arn:aws:secretsmanager:us-east-1:{a}:secret:prod/db-{}", v.alnum(6));
        Msg::innocent(format!("fetching secret {s}"), [&s])
    },
    |v| {
        let a = v.account();
        let s = format!("arn:aws:iam::{a}:role/ScannerRole");
        Msg::innocent(format!("AssumeRole {s} session=scan-{}", v.int(1, 999)), [&s])
    },
    |v| {
        let a = v.account();
        let s = format!("arn:aws:kms:eu-west-1:{a}:key/{}", v.uuid());
        Msg::innocent(format!("\"KeyId\": \"{s}\""), [&s])
    },
    |v| {
        let u = v.uuid();
        Msg::innocent(format!("request {u} finished in {}ms", v.int(1, 900)), [&u])
    },
    |v| {
        let u = v.uuid();
        Msg::innocent(format!("{{\"request_id\": \"{u}\", \"status\": 200}}"), [&u])
    },
    |v| {
        let o = v.object_id();
        Msg::innocent(format!("document {o} updated in cspm_cloud_security.findings"), [&o])
    },
    |v| {
        let h = v.sha256();
        Msg::innocent(format!("image sha256:{h} pulled"), [&h])
    },
    |v| {
        let h = v.hex(40);
        Msg::innocent(format!("commit {h} deployed to prod"), [&h])
    },
    |v| {
        let h = v.sha256();
        Msg::innocent(format!("dedup_key={h} upserted"), [&h])
    },
    |v| {
        let h = v.hex(32);
        Msg::innocent(format!("etag=\"{h}\" size={}", v.int(100, 99999)), [&h])
    },
    |v| {
        let c = format!("CVE-{}-{}", v.int(2015, 2026), v.int(1000, 49999));
        Msg::innocent(format!("{c} found in openssl 3.0.2 (severity HIGH)"), [&c])
    },
    |v| {
        let k = format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{} {}@host", v.b64(43), v.user());
        Msg::innocent(format!("authorized key added: {k}"), [&k])
    },
    |v| {
        let k = format!("AAAAB3NzaC1yc2EAAAADAQABAAABAQ{}", v.b64(300));
        Msg::innocent(format!("public_key=ssh-rsa {k}"), [&k])
    },
    |v| {
        let b = v.b64(200);
        Msg::innocent(format!("-----BEGIN CERTIFICATE-----\\nMIID{b}\\n-----END CERTIFICATE-----"), [&b])
    },
    |v| {
        let b = v.b64(200);
        Msg::innocent(
            format!(
                "-----BEGIN PUBLIC KEY-----\\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA{b}\\n-----END PUBLIC KEY-----"
            ),
            [&b],
        )
    },
    |v| {
        let c = v.base64_certificate();
        Msg::innocent(format!("tls.crt: {c}"), [&c])
    },
    |v| {
        let u = v.user();
        Msg::innocent(format!("password reset requested for user: {u}"), [u.as_str(), "password reset"])
    },
    |v| {
        let t = v.timestamp();
        Msg::innocent(format!("token expired at {t}, please log in again"), [t.as_str(), "token expired"])
    },
    |v| {
        let n = v.int(100, 8000).to_string();
        Msg::innocent(format!("max_tokens={n} prompt_tokens={}", v.int(1, 900)), [n.as_str()])
    },
    |v| {
        let n = v.int(8, 64).to_string();
        Msg::innocent(format!("password_length={n} password_policy=strict"), ["strict"])
    },
    |_| Msg::innocent("token_type=Bearer expires_in=3600 scope=read".to_owned(), ["Bearer", "3600"]),
    |v| {
        let t = v.b64url(40);
        Msg::innocent(format!("nextPageToken={t}"), [&t])
    },
    |v| {
        let t = v.b64(60);
        Msg::innocent(format!("{{\"NextToken\": \"{t}\", \"Items\": []}}"), [&t])
    },
    |v| {
        let s = format!("task-{}", v.digits(6));
        Msg::innocent(
            format!("celery {s} disk-usage=71% key-rotation scheduled"),
            [s.as_str(), "disk-usage=71%", "key-rotation"],
        )
    },
    |v| {
        let k = format!("scan:summary:team:{}", v.int(1, 500));
        Msg::innocent(format!("cache key {k} set ttl=300"), [&k])
    },
    |v| {
        let u = v.uuid();
        Msg::innocent(format!("secret_name=prod/db secret_arn_suffix={}", &u[..6]), ["prod/db"])
    },
    |v| {
        let u = v.uuid();
        Msg::innocent(format!("api_key_id={u} rotated"), [&u])
    },
    |_| Msg::innocent("Basic authentication is required for /admin".to_owned(), ["Basic authentication is required"]),
    |_| Msg::innocent("WWW-Authenticate: Basic realm=\"vigil\"".to_owned(), ["realm=\"vigil\""]),
    |_| Msg::innocent("auth=ok method=oauth2 provider=github".to_owned(), ["auth=ok"]),
    |_| Msg::innocent("PWD=/home/app OLDPWD=/".to_owned(), ["/home/app"]),
    |v| {
        let d = format!("sha256:{}", v.sha256());
        Msg::innocent(format!("aquasec/trivy:0.50.1@{d}"), [&d])
    },
    |v| {
        let r = format!("req-{}", v.alnum(12));
        Msg::innocent(format!("X-Request-Id: {r}"), [&r])
    },
    |v| {
        let r = v.hex(16);
        Msg::innocent(format!("traceparent: 00-{r}{r}-{}-01", v.hex(16)), [&r])
    },
    |_| Msg::innocent("GET /api/v1/tokens/revoke 204".to_owned(), ["/api/v1/tokens/revoke"]),
    |_| Msg::innocent("the token: expired; the secret: missing".to_owned(), ["expired", "missing"]),
    |v| {
        let n = v.int(1, 40).to_string();
        Msg::innocent(format!("{{\"secrets\": {n}, \"passwords_rotated\": true}}"), [n.as_str()])
    },
    |_| {
        Msg::innocent(
            "password_hash_algorithm=argon2id token_endpoint=https://auth.example.com/oauth/token".to_owned(),
            ["argon2id", "https://auth.example.com/oauth/token"],
        )
    },
    |v| {
        let h = v.host();
        Msg::innocent(format!("connecting to mongodb://{h}:27017/app"), [format!("mongodb://{h}:27017/app").as_str()])
    },
    |v| {
        let h = v.host();
        Msg::innocent(format!("redis://{h}:6379/0 reachable"), [format!("redis://{h}:6379/0").as_str()])
    },
    |v| {
        let u = v.user();
        Msg::innocent(
            format!("git clone https://github.com/{u}/repo.git"),
            [format!("https://github.com/{u}/repo.git").as_str()],
        )
    },
    |v| {
        let i = v.digits(12);
        Msg::innocent(format!("\"principalId\": \"AROA{}:session-{i}\"", v.upper(17)), [i.as_str()])
    },
    |v| {
        let k = format!("{}.apps.googleusercontent.com", v.digits(12));
        Msg::innocent(format!("client_id={k}"), [&k])
    },
    |v| {
        let k = format!("sha512-{}==", v.b64(86));
        Msg::innocent(format!("\"integrity\": \"{k}\""), [&k])
    },
    |_| Msg::innocent("Invalid password for user bob (attempt 3/5)".to_owned(), ["Invalid password for user bob"]),
    |_| Msg::innocent("secret rotation for db completed".to_owned(), ["secret rotation for db completed"]),
    |v| {
        let s = format!("SecretStr('{}')", "*".repeat(10));
        let _ = v;
        Msg::innocent(format!("db_password={s}"), [&s])
    },
    |v| {
        let k = format!("sk-...{}", v.alnum(4));
        Msg::innocent(format!("using OpenAI key {k}"), [&k])
    },
];
