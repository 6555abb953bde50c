//! Lines that hold secrets: every class of credential, each in several
//! syntaxes (env, JSON, Python reprs, XML, YAML, CLI, URLs, headers, free
//! text), with random values.

use super::Msg;
use super::values::Values;

/// One way a class of secret shows up in a log.
pub type Template = fn(&mut Values) -> Msg;

/// Every class, with its templates.
pub const CLASSES: &[(&str, &[Template])] = &[
    (
        "aws-access-key",
        &[
            |v| {
                let k = v.aws_key_id();
                Msg::new(format!("botocore.credentials Found credentials: access_key={k}"), [&k])
            },
            |v| {
                let k = v.aws_key_id();
                Msg::new(format!("{{\"AccessKeyId\": \"{k}\", \"Expiration\": \"{}\"}}", v.timestamp()), [&k])
            },
            |v| {
                let k = v.aws_key_id();
                Msg::cmd(format!("export AWS_ACCESS_KEY_ID={k}"), [&k])
            },
            |v| {
                let k = v.aws_key_id();
                Msg::new(format!("Signing request with Credential={k}/20261128/us-east-1/s3/aws4_request"), [&k])
            },
            |v| {
                let k = v.aws_key_id();
                let a = v.account();
                Msg::new(format!("assumed role arn:aws:iam::{a}:role/Scanner with key {k}"), [&k])
                    .keep([format!("arn:aws:iam::{a}:role/Scanner")])
            },
        ],
    ),
    (
        "aws-secret-key",
        &[
            |v| {
                let s = v.aws_secret();
                Msg::cmd(format!("aws configure set aws_secret_access_key {s}"), [&s])
            },
            |v| {
                let s = v.aws_secret();
                Msg::new(
                    format!(
                        "{{\"Credentials\": {{\"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{s}\"}}}}",
                        v.aws_key_id()
                    ),
                    [&s],
                )
            },
            |v| {
                let s = v.aws_secret();
                Msg::new(format!("Credentials(access_key='{}', secret_key='{s}', token=None)", v.aws_key_id()), [&s])
            },
            |v| {
                let s = v.aws_secret();
                Msg::cmd(format!("AWS_SECRET_ACCESS_KEY={s} aws s3 ls"), [&s])
            },
            |v| {
                let s = v.aws_secret();
                Msg::new(format!("secret_key: {s}"), [&s])
            },
            |v| {
                let s = v.aws_secret();
                Msg::new(format!("<SecretAccessKey>{s}</SecretAccessKey>"), [&s])
            },
        ],
    ),
    (
        "aws-session-token",
        &[
            |v| {
                let t = v.aws_session_token();
                Msg::cmd(format!("export AWS_SESSION_TOKEN={t}"), [&t])
            },
            |v| {
                let t = v.aws_session_token();
                Msg::new(format!("{{\"SessionToken\": \"{t}\", \"Expiration\": \"{}\"}}", v.timestamp()), [&t])
            },
            |v| {
                let t = v.aws_session_token();
                let enc = t.replace('/', "%2F").replace('+', "%2B");
                Msg::new(
                    format!(
                        "GET https://bucket.s3.amazonaws.com/report.json?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Security-Token={enc}&X-Amz-Expires=3600"
                    ),
                    [&enc],
                )
            },
        ],
    ),
    (
        "gcp-credential",
        &[
            |v| {
                let k = v.gcp_credential();
                Msg::new(format!("GET https://maps.googleapis.com/maps/api/geocode/json?address=x&key={k}"), [&k])
            },
            |v| {
                let k = v.gcp_credential();
                Msg::new(format!("google.auth refreshed credentials: token={k}"), [&k])
            },
            |v| {
                let k = v.gcp_credential();
                Msg::new(
                    format!(
                        "{{\"client_secret\": \"{k}\", \"client_id\": \"{}.apps.googleusercontent.com\"}}",
                        v.digits(12)
                    ),
                    [&k],
                )
            },
            |v| {
                let (pem, body) = v.private_key_pem();
                let json = serde_json::to_string(&pem).unwrap_or_default();
                Msg::new(format!("{{\"type\": \"service_account\", \"private_key\": {json}, \"client_email\": \"scanner@proj.iam.gserviceaccount.com\"}}"), [&body]).keep(["scanner@proj.iam.gserviceaccount.com".to_owned()])
            },
        ],
    ),
    (
        "azure-credential",
        &[
            |v| {
                let k = v.azure_storage_key();
                Msg::new(
                    format!(
                        "DefaultEndpointsProtocol=https;AccountName=scans;AccountKey={k};EndpointSuffix=core.windows.net"
                    ),
                    [&k],
                )
            },
            |v| {
                let k = v.azure_storage_key();
                Msg::cmd(format!("export AZURE_STORAGE_KEY={k}"), [&k])
            },
            |v| {
                let k = v.azure_storage_key();
                Msg::new(format!("{{\"storage\": {{\"account\": \"scans\", \"key\": \"{k}\"}}}}"), [&k])
            },
            |v| {
                let s = v.sas_signature();
                Msg::new(
                    format!(
                        "GET https://scans.blob.core.windows.net/reports/r.json?sv=2022-11-02&se=2026-12-01T00%3A00%3A00Z&sr=b&sp=r&sig={s}"
                    ),
                    [&s],
                )
            },
            |v| {
                let s = v.azure_client_secret();
                Msg::new(format!("AZURE_CLIENT_SECRET={s}"), [&s])
            },
            |v| {
                let s = v.azure_client_secret();
                Msg::new(
                    format!(
                        "ClientSecretCredential(tenant_id='{}', client_id='{}', client_secret='{s}')",
                        v.uuid(),
                        v.uuid()
                    ),
                    [&s],
                )
            },
        ],
    ),
    (
        "fernet-key",
        &[
            |v| {
                let k = v.fernet_key();
                Msg::new(format!("cipher = Fernet(b'{k}')"), [&k])
            },
            |v| {
                let k = v.fernet_key();
                Msg::cmd(format!("FERNET_KEY={k}"), [&k])
            },
            |v| {
                let (a, b) = (v.fernet_key(), v.fernet_key());
                Msg::new(format!("MultiFernet([Fernet(b'{a}'), Fernet(b'{b}')]) loaded"), [&a, &b])
            },
            |v| {
                let k = v.fernet_key();
                Msg::new(format!("{{\"fernet_key\": \"{k}\", \"rotated\": false}}"), [&k])
            },
            |v| {
                let (a, b) = (v.fernet_key(), v.fernet_key());
                Msg::new(format!("settings fernet_keys=['{a}', '{b}']"), [&a, &b])
            },
            |v| {
                let k = v.fernet_key();
                Msg::new(format!("encryption_key: {k}"), [&k])
            },
        ],
    ),
    (
        "fernet-token",
        &[
            |v| {
                let t = v.fernet_token();
                Msg::new(format!("decrypting {t} failed: InvalidToken"), [&t])
            },
            |v| {
                let t = v.fernet_token();
                Msg::new(format!("{{\"encrypted_credentials\": \"{t}\"}}"), [&t])
            },
        ],
    ),
    (
        "password",
        &[
            |v| {
                let p = v.password();
                Msg::new(format!("{{\"password\": \"{}\", \"user\": \"{}\"}}", json_inner(&p), v.user()), [&p])
            },
            |v| {
                let p = v.password();
                Msg::new(format!("{{\"db_password\": \"{}\"}}", json_inner(&p)), [&p])
            },
            |v| {
                let p = v.url_password();
                Msg::cmd(format!("PGPASSWORD={p} psql -h {} -U {} app", v.host(), v.user()), [&p])
            },
            |v| {
                let p = v.url_password();
                Msg::cmd(format!("MYSQL_ROOT_PASSWORD={p}"), [&p])
            },
            |v| {
                let p = v.url_password();
                Msg::cmd(format!("export REDIS_PASSWORD={p}"), [&p])
            },
            |v| {
                let p = v.password().replace('\'', "");
                Msg::new(format!("Settings(db_host='{}', db_password='{p}', debug=False)", v.host()), [&p])
            },
            |v| {
                let p = v.password().replace(['<', '&'], "");
                Msg::new(format!("<datasource><user>{}</user><password>{p}</password></datasource>", v.user()), [&p])
            },
            |v| {
                let p = v.password().replace(['"', '<', '&'], "");
                Msg::new(format!("<connection host=\"{}\" password=\"{p}\"/>", v.host()), [&p])
            },
            |v| {
                let p = v.url_password();
                Msg::cmd(format!("mongodump --username {} --password {p} --db app", v.user()), [&p])
            },
            |v| {
                let p = v.password();
                Msg::new(format!("password: {p}"), [&p])
            },
            |v| {
                let p = v.url_password();
                Msg::new(
                    format!("Server={};Database=app;User Id={};Password={p};Encrypt=true", v.host(), v.user()),
                    [&p],
                )
            },
            |v| {
                let p = v.url_password();
                Msg::new(
                    format!("host={} port=5432 dbname=app user={} password={p} sslmode=require", v.host(), v.user()),
                    [&p],
                )
            },
            |v| {
                let p = v.password();
                Msg::new(format!("login attempt user={} pwd={p}", v.user()), [&p])
            },
        ],
    ),
    (
        "secret-assignment",
        &[
            |v| {
                let s = v.opaque();
                let key = v.pick(&["CLIENT_SECRET", "JWT_SECRET", "APP_SECRET", "WEBHOOK_SECRET", "SESSION_SECRET"]);
                Msg::cmd(format!("{key}={s}"), [&s])
            },
            |v| {
                let s = v.opaque();
                let key = v.pick(&["API_TOKEN", "SLACK_BOT_TOKEN", "AUTH_TOKEN", "GH_TOKEN", "CI_JOB_TOKEN"]);
                Msg::cmd(format!("export {key}={s}"), [&s])
            },
            |v| {
                let s = v.opaque();
                let key = v.pick(&["DD_API_KEY", "SENDGRID_API_KEY", "SECRET_KEY", "ENCRYPTION_KEY", "SIGNING_KEY"]);
                Msg::cmd(format!("{key}={s}"), [&s])
            },
            |v| {
                let s = v.opaque();
                let key = v.pick(&[
                    "secret_key",
                    "encryption_key",
                    "access_token",
                    "refresh_token",
                    "client_secret",
                    "signing_secret",
                    "api_key",
                ]);
                Msg::new(format!("{{\"{key}\": \"{s}\", \"user_id\": {}}}", v.int(1, 9999)), [&s])
            },
            |v| {
                let s = v.opaque();
                Msg::new(format!("Settings(api_secret='{s}', region='eu-west-1')"), [&s])
            },
            |v| {
                let s = v.opaque();
                let w = v.pick(&["deploy", "billing", "scans", "alerts"]);
                Msg::new(format!("signing secret for webhook {w}: {s}"), [&s])
            },
            |v| {
                let s = v.opaque();
                Msg::cmd(format!("vault write auth/approle/login role_id={} secret_id={s}", v.uuid()), [&s])
            },
            |v| {
                let s = v.opaque();
                Msg::new(format!("apiKey: \"{s}\""), [&s])
            },
            |v| {
                let s = v.opaque();
                Msg::cmd(format!("scanner --api-token {s} --target prod"), [&s])
            },
            |v| {
                let s = v.opaque();
                Msg::new(format!("'credentials': {{'client_secret': '{s}'}}"), [&s])
            },
        ],
    ),
    (
        "url-query-secret",
        &[
            |v| {
                let c = v.oauth_code();
                Msg::new(format!("\"GET /oauth/callback?code={c}&state={} HTTP/1.1\" 302", v.alnum(16)), [&c])
            },
            |v| {
                let t = v.opaque();
                let k = v.pick(&[
                    "access_token",
                    "refresh_token",
                    "id_token",
                    "client_secret",
                    "token",
                    "apikey",
                    "api_key",
                ]);
                Msg::new(format!("GET https://api.example.com/v1/assets?page=2&{k}={t}&limit=50"), [&t])
            },
            |v| {
                let s = v.hex(64);
                Msg::new(
                    format!(
                        "presigned url https://bucket.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261128T100000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature={s}"
                    ),
                    [&s],
                )
            },
            |v| {
                let s = v.hex(256);
                Msg::new(
                    format!(
                        "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=sa%40p.iam.gserviceaccount.com&X-Goog-Signature={s}"
                    ),
                    [&s],
                )
            },
            |v| {
                let k = v.alnum(39);
                Msg::new(format!("GET /maps?key={k}&q=x"), [&k])
            },
            |v| {
                let t = v.opaque();
                Msg::new(
                    format!("redirect to https://app.example.com/#access_token={t}&token_type=Bearer&expires_in=3600"),
                    [&t],
                )
            },
        ],
    ),
    (
        "uri-credential",
        &[
            |v| {
                let p = v.url_password();
                let u = v.user();
                Msg::new(format!("engine = create_engine('mysql+pymysql://{u}:{p}@{}:3306/app')", v.host()), [&p])
                    .keep([format!("mysql+pymysql://{u}:")])
            },
            |v| {
                let p = v.url_password();
                Msg::new(
                    format!("SQLALCHEMY_DATABASE_URI=postgresql+psycopg2://{}:{p}@{}:5432/app", v.user(), v.host()),
                    [&p],
                )
            },
            |v| {
                let p = v.url_password();
                Msg::new(format!("mail backend smtp+tls://{}:{p}@smtp.example.com:587", v.user()), [&p])
            },
            |v| {
                let p = v.url_password();
                Msg::new(
                    format!("connecting to mongodb+srv://{}:{p}@cluster0.example.net/app?retryWrites=true", v.user()),
                    [&p],
                )
            },
            |v| {
                let p = v.url_password();
                Msg::new(format!("CELERY_BROKER_URL=redis://:{p}@{}:6379/0", v.host()), [&p])
            },
            |v| {
                let p = v.url_password();
                Msg::new(format!("amqp://{}:{p}@rabbitmq:5672//", v.user()), [&p])
            },
            |v| {
                let t = v.github_token();
                Msg::cmd(format!("git clone https://x-access-token:{t}@github.com/org/repo.git"), [&t])
                    .keep(["x-access-token".to_owned(), "github.com/org/repo.git".to_owned()])
            },
            |v| {
                let t = v.gitlab_token();
                Msg::cmd(format!("git remote add origin https://oauth2:{t}@gitlab.example.com/group/project.git"), [&t])
                    .keep(["gitlab.example.com/group/project.git".to_owned()])
            },
            |v| {
                let k = v.hex(32);
                Msg::new(format!("SENTRY_DSN=https://{k}@o{}.ingest.sentry.io/{}", v.digits(6), v.digits(7)), [&k])
            },
        ],
    ),
    (
        "jwt",
        &[
            |v| {
                let t = v.jwt();
                Msg::new(format!("Authorization: Bearer {t}"), [&t])
            },
            |v| {
                let t = v.jwt();
                Msg::new(format!("{{\"id_token\": \"{t}\", \"expires_in\": 3600}}"), [&t])
            },
            |v| {
                let t = v.jwt();
                Msg::new(format!("Set-Cookie: session={t}; Path=/; HttpOnly"), [&t])
            },
            |v| {
                let t = v.jwt();
                Msg::new(format!("validated token {t} for user {}", v.user()), [&t])
            },
        ],
    ),
    (
        "auth-header",
        &[
            |v| {
                let t = v.opaque();
                Msg::new(format!("headers={{'Authorization': 'Bearer {t}', 'Accept': 'application/json'}}"), [&t])
            },
            |v| {
                let t = v.basic_credential();
                Msg::new(format!("{{\"auth\": \"Basic {t}\", \"url\": \"https://{}/api\"}}", v.host()), [&t])
            },
            |v| {
                let t = v.hex(40);
                Msg::new(format!("Authorization: Token {t}"), [&t])
            },
            |v| {
                let t = v.opaque();
                Msg::new(format!("X-Api-Key: {t}"), [&t])
            },
            |v| {
                let t = v.opaque();
                Msg::cmd(format!("curl -H \"Authorization: Bearer {t}\" https://api.example.com/v1/scans"), [&t])
            },
            |v| {
                let t = v.basic_credential();
                Msg::new(format!("send: b'GET /api HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Basic {t}\\r\\n'"), [&t])
            },
        ],
    ),
    (
        "private-key",
        &[
            |v| {
                let (pem, body) = v.private_key_pem();
                Msg::new(format!("loaded key {}", pem.replace('\n', "\\n")), [&body])
            },
            |v| {
                let (pem, body) = v.private_key_pem();
                let json = serde_json::to_string(&pem).unwrap_or_default();
                Msg::new(format!("{{\"ssh_private_key\": {json}}}"), [&body])
            },
            |v| {
                let (pem, body) = v.private_key_pem();
                Msg::new(format!("TLS_KEY='{}'", pem.replace('\n', "\\n")), [&body])
            },
            |v| {
                let (_, body) = v.private_key_pem();
                Msg::new(format!("key material: {}", &body[..body.len().min(200)]), [&body[..body.len().min(200)]])
            },
        ],
    ),
    (
        "encoded-private-key",
        &[
            |v| {
                let k = v.base64_pem();
                Msg::new(format!("data:\n  tls.key: {k}"), [&k])
            },
            |v| {
                let k = v.base64_pem();
                Msg::new(format!("{{\"data\": {{\"tls.key\": \"{k}\"}}, \"kind\": \"Secret\"}}"), [&k])
            },
            |v| {
                let k = v.base64_pem();
                Msg::new(format!("SSH_KEY_B64={k}"), [&k])
            },
        ],
    ),
    (
        "github-token",
        &[
            |v| {
                let t = v.github_token();
                Msg::new(format!("using token {t} for org scans"), [&t])
            },
            |v| {
                let t = v.github_token();
                Msg::cmd(format!("export GITHUB_TOKEN={t}"), [&t])
            },
            |v| {
                let t = v.github_token();
                Msg::new(format!("{{\"token\": \"{t}\", \"scopes\": [\"repo\"]}}"), [&t])
            },
        ],
    ),
    (
        "gitlab-token",
        &[
            |v| {
                let t = v.gitlab_token();
                Msg::new(format!("PRIVATE-TOKEN: {t}"), [&t])
            },
            |v| {
                let t = v.gitlab_token();
                Msg::cmd(format!("gitlab-runner register --token {t} --url https://gitlab.example.com"), [&t])
            },
            |v| {
                let t = v.gitlab_token();
                Msg::new(format!("request failed for {t}: 401"), [&t])
            },
        ],
    ),
    (
        "slack-token",
        &[
            |v| {
                let t = v.slack_token();
                Msg::new(format!("slack client init token={t}"), [&t])
            },
            |v| {
                let t = v.slack_token();
                Msg::new(format!("{{\"ok\": true, \"access_token\": \"{t}\"}}"), [&t])
            },
            |v| {
                let t = v.slack_token();
                Msg::new(format!("posting with {t}"), [&t])
            },
            |v| {
                let p = format!("T{}/B{}/{}", v.upper(8), v.upper(10), v.alnum(24));
                Msg::new(format!("POST https://hooks.slack.com/services/{p}"), [&p])
            },
        ],
    ),
    (
        "ai-api-key",
        &[
            |v| {
                let k = v.ai_key();
                Msg::cmd(format!("OPENAI_API_KEY={k}"), [&k])
            },
            |v| {
                let k = v.ai_key();
                Msg::new(format!("client = OpenAI(api_key=\"{k}\")"), [&k])
            },
            |v| {
                let k = v.ai_key();
                Msg::new(format!("model call failed with key {k}: 429 rate limited"), [&k])
            },
        ],
    ),
    (
        "registry-token",
        &[
            |v| {
                let t = v.registry_token();
                Msg::new(format!("//registry.npmjs.org/:_authToken={t}"), [&t])
            },
            |v| {
                let t = v.registry_token();
                Msg::cmd(format!("twine upload -u __token__ -p {t} dist/*"), [&t])
            },
            |v| {
                let t = v.registry_token();
                Msg::new(format!("publishing with {t}"), [&t])
            },
        ],
    ),
    (
        "vendor-token",
        &[
            |v| {
                let t = v.vendor_token();
                Msg::new(format!("integration configured with {t}"), [&t])
            },
            |v| {
                let t = v.vendor_token();
                Msg::new(
                    format!(
                        "{{\"integration\": \"{}\", \"credential\": \"{t}\"}}",
                        v.pick(&["sendgrid", "datadog", "vault", "stripe"])
                    ),
                    [&t],
                )
            },
            |v| {
                let t = v.vendor_token();
                Msg::new(format!("request to {} failed: 401 for {t}", v.host()), [&t])
            },
            |v| {
                let t = v.hex(32);
                Msg::cmd(format!("TWILIO_AUTH_TOKEN={t}"), [&t])
            },
            |v| {
                let t = v.hex(32);
                Msg::new(format!("datadog agent: dd-api-key: {t}"), [&t])
            },
        ],
    ),
    (
        "cli-password",
        &[
            |v| {
                let p = v.url_password();
                Msg::cmd(format!("mysql -h {} -u root -p{p} app", v.host()), [&p])
            },
            |v| {
                let p = v.url_password();
                Msg::cmd(format!("redis-cli -h {} -a {p} ping", v.host()), [&p])
            },
            |v| {
                let p = v.url_password();
                Msg::cmd(format!("curl -u {}:{p} https://{}/api", v.user(), v.host()), [&p])
            },
            |v| {
                let p = v.url_password();
                Msg::cmd(format!("docker login -u {} -p {p} registry.example.com", v.user()), [&p])
            },
        ],
    ),
];

/// A value as it appears inside a JSON string.
fn json_inner(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted[1..quoted.len() - 1].to_owned()
}
