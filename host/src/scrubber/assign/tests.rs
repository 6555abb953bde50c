//! The detector on each syntax it knows: the whole value goes, the key and
//! the syntax around it stay.

use super::*;

const WORDS: &[&str] = &[
    "cookie",
    "~session",
    "data key",
    "x api key",
    "api key",
    "passphrase",
    "password",
    "passwd",
    "pwd",
    "bindpw",
    "pass",
    "passphrase",
    "secret",
    "token",
    "api key",
    "access key",
    "private key",
    "secret key",
    "signing key",
    "encryption key",
    "credentials",
    "credential",
    "auth",
    "authorization",
    "fernet",
    "signature",
    "?code",
    "?key",
    "?sig",
    "!id",
    "!name",
    "!type",
    "!length",
    "!reset",
    "!expires",
    "!url",
    "!file",
    "!page token",
    "!next token",
];

fn words() -> KeyWords {
    let mut words = KeyWords::default();
    words.add_rule(0, &WORDS.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>()).expect("valid words");
    words
}

/// Every value the detector redacts in `line`, by running it at every
/// literal hit (as the engine's prefilter would).
fn redacted(line: &str) -> Vec<String> {
    let words = words();
    let lower = line.to_ascii_lowercase();
    let mut found: Vec<Range<usize>> = Vec::new();
    for literal in words.literals() {
        for (at, _) in lower.match_indices(&literal.text.to_ascii_lowercase()) {
            let at = at + literal.offset;
            detect(&words, line.as_bytes(), at..at + literal.key_len, literal.word, |_, range| found.push(range));
        }
    }
    found.sort_by_key(|r| (r.start, r.end));
    found.dedup();
    found.into_iter().map(|r| line[r].to_owned()).collect()
}

#[track_caller]
fn redacts(line: &str, secrets: &[&str]) {
    assert_eq!(redacted(line), secrets, "in {line:?}");
}

#[test]
fn env_and_logfmt() {
    redacts("PGPASSWORD=J!F9&cWG#SE*i$rz9 psql -h db", &["J!F9&cWG#SE*i$rz9"]);
    redacts("MYSQL_ROOT_PASSWORD=s3cr3t^%x", &["s3cr3t^%x"]);
    redacts("export API_TOKEN=tok_8f7a6b5c4d3e", &["tok_8f7a6b5c4d3e"]);
    redacts("level=info password=hunter22 user=bob", &["hunter22"]);
    redacts("password=abc123, user=bob", &["abc123"]);
    redacts("login user=bob pwd=vvZ2(7.JB>Can?@hr|k", &["vvZ2(7.JB>Can?@hr|k"]);
    redacts("pwd=r5SMb65o-&tPS5U=f/Nn-xQ", &["r5SMb65o-&tPS5U=f/Nn-xQ"]);
}

#[test]
fn json_and_nested_json() {
    redacts(r#"{"password": "J!F&cWG#SE*i$rz9", "user": "bob"}"#, &["J!F&cWG#SE*i$rz9"]);
    redacts(r#"{"db_password":"a\"b&c"}"#, &[r#"a\"b&c"#]);
    redacts(r#"{"message":"payload {\"client_secret\": \"x9&y#z*w\"} sent"}"#, &["x9&y#z*w"]);
    redacts(r#"{"fernet_keys": ["k1abc", "k2def"]}"#, &["k1abc", "k2def"]);
    redacts(r#"{"password": null, "token": "", "secret": "${SECRET}"}"#, &[]);
}

#[test]
fn python_reprs_and_xml() {
    redacts("Settings(db_password='p&ss#1', api_secret='s3cret!')", &["p&ss#1", "s3cret!"]);
    redacts("{'Authorization': 'Bearer abc.def-ghi'}", &["abc.def-ghi"]);
    redacts("<password>x&amp;y#z</password>", &["x&amp;y#z"]);
    redacts(r#"<user name="bob" password="p4ss w0rd"/>"#, &["p4ss w0rd"]);
    redacts("Fernet key: SecretStr('**********')", &[]);
}

#[test]
fn cli_queries_and_connection_strings() {
    redacts("mysqldump --password s3cr3t! --user root", &["s3cr3t!"]);
    redacts("aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG", &["wJalrXUtnFEMI/K7MDENG"]);
    redacts("GET /cb?code=4/0AX4XfWh7Tq9kLm2&state=xyz", &["4/0AX4XfWh7Tq9kLm2"]);
    redacts("GET /x?access_token=ya29.a0Af&expires_in=3600", &["ya29.a0Af"]);
    redacts("redirect to /#access_token=aBcD1234eFgH5678&token_type=Bearer", &["aBcD1234eFgH5678"]);
    redacts("Server=db;User Id=sa;Password=p@ss;w0rd;Encrypt=true", &["p@ss"]);
    redacts("GET /page?country_code=US&key=AIzaSyA123456789", &["AIzaSyA123456789"]);
    // A password whose `&` is followed by random text and `=` keeps it (a
    // query without its `?` ends at `&name=`: the corpus has those).
    redacts("login attempt user=carol pwd=r5SMb65o-&tPS5U=f/Nn-xQ", &["r5SMb65o-&tPS5U=f/Nn-xQ"]);
    redacts("auth user=bob password=Qw3&X9k=zz!", &["Qw3&X9k=zz!"]);
    // Access logs print the query without its `?` (IIS, CloudFront).
    redacts("GET /cb code=4/0AX4XfWh7Tq9kLm2&state=xyz 200", &["4/0AX4XfWh7Tq9kLm2"]);
    redacts("GET\t/dl\t302\tsig=6wHHeiPSqgaAOd%2FM%3D\t-", &["6wHHeiPSqgaAOd%2FM%3D"]);
    redacts("GET /webhook sig=%2BUVphAnDwhmJ8NTyoQ6Xn9q%3D 443", &["%2BUVphAnDwhmJ8NTyoQ6Xn9q%3D"]);
    redacts("process exited with code=1 after 3s", &[]);
    redacts(
        "nslcd.conf: binddn cn=svc,dc=example,dc=com bindpw anchor-lagoon-indigo-granite",
        &["anchor-lagoon-indigo-granite"],
    );
    redacts("##vso[task.setvariable variable=dbPassword;issecret=true]***", &[]);
    redacts("python -m app.cli sync '--token=;oE8=3DdC1m8LYdWQB4P.Z4g'", &[";oE8=3DdC1m8LYdWQB4P.Z4g"]);
    redacts("java '-Dspring.datasource.password=y0VWHqoZSshyD3mTqZC6P(J=' -jar x", &["y0VWHqoZSshyD3mTqZC6P(J="]);
    redacts(r#"{"message": "password for orion is 'Cz5QrWtupYfzM=Qmu.", "id": "77"}"#, &["Cz5QrWtupYfzM=Qmu."]);
    // Values that start with a brace: no object, no template.
    redacts("sync '--auth-token={zPc66W=DAf0cdU7.u5(o~fO'", &["{zPc66W=DAf0cdU7.u5(o~fO"]);
    redacts("DRIVER={ODBC 18};UID=rw;PWD={{rR(TcvWV&MmckgY&tyw%0}'", &["{rR(TcvWV&MmckgY&tyw%0"]);
}

#[test]
fn names_read_like_names() {
    use crate::scrubber::values::reads_like_name;
    for name in ["state", "client_id", "X_TOKEN", "redirectUri", "DbPassword", "v2", "password2", "expires_in"] {
        assert!(reads_like_name(name.as_bytes()), "{name}");
    }
    for name in ["tPS5U", "Xk9a", "aB9c", "QQx", "9ab", "IncY7Xr_v6QCU", ""] {
        assert!(!reads_like_name(name.as_bytes()), "{name}");
    }
}

#[test]
fn headers_and_free_text() {
    redacts("Authorization: Bearer eyJabc.def", &["eyJabc.def"]);
    redacts(r#"{"auth": "Basic dXNlcjpwYXNzd29yZA=="}"#, &["dXNlcjpwYXNzd29yZA=="]);
    redacts("signing secret for webhook W: whsec_9f8e7d6c5b4a", &["whsec_9f8e7d6c5b4a"]);
    redacts("password: correct horse battery", &["correct horse battery"]);
}

#[test]
fn innocent_lines() {
    for line in [
        "password reset requested for user: bob",
        "token expired at 2026-11-28T10:00:00Z",
        "token_type=Bearer expires_in=3600",
        "password_length=12 max_tokens=4096",
        "nextPageToken=CAESIgohCgdteXRva2Vu",
        "GET /api/v1/tokens/abc 200",
        "auth=ok method=oauth",
        "PWD=/home/app",
        "secret_name=prod/db",
        "api_key_id=key-1234",
        "2026-11-07 18:22:36,547 INFO botocore.auth: max_tokens=4535 prompt_tokens=878",
        "Basic authentication is required",
        "the token: expired",
        "WWW-Authenticate: Basic realm=\"api\"",
    ] {
        redacts(line, &[]);
    }
}

#[test]
fn sentences_and_cookies() {
    redacts(
        "INFO:app.auth.oidc:derived data key p86Cvy/YpgEyBHt932klHGOLJLXNGI0K+jI1NZF0/cw= for tenant 2177ce30",
        &["p86Cvy/YpgEyBHt932klHGOLJLXNGI0K+jI1NZF0/cw="],
    );
    redacts(
        "{'Content-Type': 'text/html; charset=utf-8', 'Set-Cookie': 'session=eyJ1c2VyX2lkIjo1NTc1fQ.Pn8wCA.PK2N0QrKCPc6BAqvvW0N5NPeRSc; Path=/; HttpOnly'}",
        &["eyJ1c2VyX2lkIjo1NTc1fQ.Pn8wCA.PK2N0QrKCPc6BAqvvW0N5NPeRSc"],
    );
    redacts(
        "Cookie: sessionid=6VLtk7ZAOfSUwBy-qbZHATMElMOl_07pVvFPzyRkOCE; theme=dark; lang=en-US",
        &["6VLtk7ZAOfSUwBy-qbZHATMElMOl_07pVvFPzyRkOCE"],
    );
    redacts("connecting as postgres using password 'pHbmp9wG.t99.n4'", &["pHbmp9wG.t99.n4"]);
    redacts("verifying webhook signature alg=sha256 secret=b'c2VjcmV0MTIz'", &["c2VjcmV0MTIz"]);
    redacts("env: - name: DB_PASSWORD valueFrom: secretKeyRef: {name: db, key: password}", &[]);
    redacts("admin credentials: grafana-admin / Winter8653,.{Nsg", &["Winter8653,.{Nsg"]);
    redacts(
        "+ kubectl create secret generic db '--from-literal=password=&SSnhzv+yihk+japT7YL5!'",
        &["&SSnhzv+yihk+japT7YL5!"],
    );
    redacts("+ docker login -u app '--password==QXhz*CGzAB#' ecr", &["=QXhz*CGzAB#"]);
    redacts(
        "INFO:app.webhooks.slack:X-API-Key: 6654c39d1389c0f7fb8a30abef8737358f5bc645",
        &["6654c39d1389c0f7fb8a30abef8737358f5bc645"],
    );
    redacts("(initial password Saffron242:!PAp)", &["Saffron242:!PAp"]);
    redacts(
        "+ kubectl create secret generic db '--from-literal=password=7})DZT=F0XY{kL6BDcsk9'",
        &["7})DZT=F0XY{kL6BDcsk9"],
    );
    redacts("MINIO_ROOT_PASSWORD==f=$i+msxLo6gQ#L98Al", &["=f=$i+msxLo6gQ#L98Al"]);
    redacts("key passphrase for /home/deploy/.ssh/id_ed25519: {d6:sUGcIX)Ijs]YDa8.tT", &["{d6:sUGcIX)Ijs]YDa8.tT"]);
    redacts("MountVolume.SetUp failed for volume \"db-credentials\" : secret \"db-credentials\" not found", &[]);
}

#[test]
fn calls_structs_plans_and_directives() {
    redacts("define( 'DB_PASSWORD', 'x8Sd%wWZ-V~cl' );", &["x8Sd%wWZ-V~cl"]);
    redacts(
        "opts: &{SslMode:verify-full AppSecret:c536490f58e00c1a BrokerPassword:Hazel145#}",
        &["c536490f58e00c1a", "Hazel145#"],
    );
    redacts("config: &{Host:db Port:5432 User:app Password: SSLMode:require}", &[]);
    redacts(r#"~ jwt_secret = "ZKxA6Lj0h7WfQp" -> "ZKxA8afb3NnGNn""#, &["ZKxA6Lj0h7WfQp", "ZKxA8afb3NnGNn"]);
    redacts("+ api_key    = (known after apply)", &[]);
    redacts("masterPassword=(sensitive value)", &[]);
    redacts(r#"{"db_password":{"sensitive":true,"type":"string","value":"tLuKISkU03tyx#"}}"#, &["tLuKISkU03tyx#"]);
    redacts("##vso[task.setvariable variable=kafka_api_secret]0lxbb2RyfqIUJN/RsU", &["0lxbb2RyfqIUJN/RsU"]);
    redacts("machine gitlab.com login ci-bot password thunder-olive-lynx-raven", &["thunder-olive-lynx-raven"]);
    redacts("password    Sprucebanjo7697.", &["Sprucebanjo7697."]);
    redacts("password reset", &[]);
    redacts("Array ( [timeout] => 30s [pwd] => z/LShIgl+9tSI7hrp9 )", &["z/LShIgl+9tSI7hrp9"]);
    redacts(r#"{"createUser":"alice","pwd":"granite-forest-reef"}"#, &["granite-forest-reef"]);
}

#[test]
fn references_templates_and_masks_stay() {
    redacts("DtApiToken:<set in vault> User:svc", &[]);
    redacts("cf_api_token='<your-api-key>', client_id='57fba70e-aa25'", &[]);
    redacts("--from-literal=api_token='#{DbPassword}#' --dry-run=client", &[]);
    redacts("databasePassword=<%= ENV['DB_PASSWORD'] %>, user=olivia", &[]);
    redacts("VAULT_TOKEN=hvs.************************", &[]);
    redacts("SENDGRID_API_KEY=SG.**********.**********", &[]);
    redacts("smtp_password=op://Production/Checkout/password", &[]);
    redacts(r#"{"client_token":"hmac-sha256:db516fc1e0447ccb"}"#, &[]);
    redacts("redis://:<password>@cache:6379/0", &[]);
    redacts("passwd:         files systemd", &[]);
    redacts("password:  16 bytes", &[]);
    redacts(r#"$ export VAULT_TOKEN="$(vault write -field=token auth/jwt/login role=ci)""#, &[]);
    redacts("Found credentials from IAM Role: inventory-ec2-role", &[]);
    redacts("> set-cookie: AWSALB=FPJFtADai1KishITJefd5Jrq2JFNrvgO6V72; Path=/", &[]);
    redacts("gcloud secrets versions access latest --secret=api-token --project=acme", &[]);
    // BuildKit secret and mount specs name a source.
    redacts("+ docker build --secret id=gh_token,env=GH_TOKEN -t app:latest .", &[]);
    redacts("RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci", &[]);
    // A struct after a secret word: its fields are judged by their names.
    redacts(r#"Credentials { client_id: "scheduler-staging", pool_size: "50" }"#, &[]);
    redacts(r#"Credentials { user: "bob", password: "Xk9#mQ2$vL8pZ4" }"#, &["Xk9#mQ2$vL8pZ4"]);
}
