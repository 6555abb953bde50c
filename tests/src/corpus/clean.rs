//! The log formats a message is wrapped in, and ordinary lines without
//! secrets (the bulk of a real log) for the benchmark.

use super::values::Values;

/// Wrap a message (or a command line) in one of the platform's log formats.
pub fn wrap(v: &mut Values, text: &str, command: bool) -> String {
    let ts = v.timestamp();
    let date = ts.replace('T', " ").replace('Z', "").replacen('.', ",", 1);
    let quoted = serde_json::to_string(text).unwrap_or_default();
    if command {
        return match v.int(0, 3) {
            0 => format!("+ {text}"),
            1 => format!("{date} INFO app.jobs: running: {text}"),
            2 => format!("{{\"ts\": \"{ts}\", \"level\": \"debug\", \"logger\": \"runner\", \"cmd\": {quoted}}}"),
            _ => format!(
                "Normal   Started   pod/scan-{}  Started container with args: {text}",
                v.alnum(5).to_lowercase()
            ),
        };
    }
    let logger = v.pick(&[
        "app.api",
        "app.services.sync",
        "app.tasks.scan",
        "botocore.auth",
        "sqlalchemy.engine.Engine",
        "urllib3.connectionpool",
        "app.integrations",
    ]);
    match v.int(0, 7) {
        0 => format!("{date} INFO {logger}: {text}"),
        1 => format!("{date} DEBUG [{logger}] {text}"),
        2 => format!("[{date}: WARNING/ForkPoolWorker-{}] {text}", v.int(1, 8)),
        3 => {
            format!("{{\"timestamp\": \"{ts}\", \"level\": \"INFO\", \"logger\": \"{logger}\", \"message\": {quoted}}}")
        }
        4 => format!("time=\"{ts}\" level=info logger={logger} msg={quoted}"),
        5 => format!("INFO:     {}:{} - {text}", v.host(), v.int(30000, 60000)),
        6 => format!("Warning  Unhealthy  pod/api-{}  {text}", v.alnum(5).to_lowercase()),
        _ => text.to_owned(),
    }
}

/// An ordinary line: requests, task results, queries, scans, events.
pub fn line(v: &mut Values) -> String {
    let ts = v.timestamp();
    let date = ts.replace('T', " ").replace('Z', "").replacen('.', ",", 1);
    let id = v.uuid();
    match v.int(0, 23) {
        0 => format!(
            "INFO:     10.0.{}.{}:{} - \"GET /api/v1/scans/{}?page={}&limit=50 HTTP/1.1\" 200 OK",
            v.int(0, 9),
            v.int(1, 254),
            v.int(30000, 60000),
            v.object_id(),
            v.int(1, 40)
        ),
        1 => format!(
            "INFO:     10.0.{}.{}:{} - \"POST /api/v1/findings/sync HTTP/1.1\" 202 Accepted",
            v.int(0, 9),
            v.int(1, 254),
            v.int(30000, 60000)
        ),
        2 => format!(
            "[{date}: INFO/ForkPoolWorker-{}] Task app.tasks.scan.run_scan[{id}] succeeded in {}.{}s: {{'findings': {}}}",
            v.int(1, 8),
            v.int(0, 90),
            v.int(0, 999),
            v.int(0, 300)
        ),
        3 => format!("[{date}: INFO/MainProcess] Task app.services.vulnerability_sync.sync_all[{id}] received"),
        4 => format!(
            "{{\"timestamp\": \"{ts}\", \"level\": \"INFO\", \"logger\": \"app.sync\", \"message\": \"sync_all finished\", \"synced\": {}, \"skipped\": {}, \"request_id\": \"{id}\"}}",
            v.int(0, 5000),
            v.int(0, 50)
        ),
        5 => format!(
            "{date} INFO sqlalchemy.engine.Engine SELECT users.id, users.email FROM users WHERE users.team_id = %(team_id_1)s LIMIT %(param_1)s"
        ),
        6 => format!(
            "{date} INFO sqlalchemy.engine.Engine [cached since {}.{}s ago] {{'team_id_1': {}, 'param_1': 50}}",
            v.int(0, 900),
            v.int(0, 999),
            v.int(1, 400)
        ),
        7 => format!(
            "{date} DEBUG botocore.hooks Event before-parameter-build.s3.ListObjectsV2: calling handler <function validate_bucket_name at 0x7f{}>",
            v.hex(8)
        ),
        8 => format!(
            "{date} DEBUG botocore.endpoint Making request for OperationModel(name=ListObjectsV2) with params: {{'url_path': '', 'query_string': {{'list-type': 2, 'prefix': 'reports/'}}, 'method': 'GET'}}"
        ),
        9 => format!("{date} DEBUG botocore.auth Calculating signature using v4 auth."),
        10 => format!(
            "{date} DEBUG urllib3.connectionpool https://api.example.com:443 \"GET /v1/assets?page={} HTTP/1.1\" 200 {}",
            v.int(1, 30),
            v.int(100, 90000)
        ),
        11 => format!(
            "{ts} INFO cspm finding upserted dedup_key=aws:{}:s3:bucket-public arn=arn:aws:s3:::platform-logs-{} severity=HIGH",
            v.account(),
            v.int(1, 99)
        ),
        12 => format!(
            "Normal   Scheduled  pod/api-{}  Successfully assigned platform/api-{} to node-{}",
            v.alnum(5).to_lowercase(),
            v.alnum(5).to_lowercase(),
            v.int(1, 9)
        ),
        13 => format!(
            "Warning  BackOff    pod/worker-{}  Back-off restarting failed container worker",
            v.alnum(5).to_lowercase()
        ),
        14 => format!(
            "{ts} WARN trivy image aquasec/trivy:0.50.1 scan of sha256:{} found {} vulnerabilities",
            v.sha256(),
            v.int(0, 90)
        ),
        15 => format!(
            "{date} INFO app.auth user {}@example.com logged in from 10.0.0.{} (session created, expires in 3600s)",
            v.user(),
            v.int(1, 254)
        ),
        16 => format!("{date} WARNING app.auth token expired for user {}, refresh required", v.user()),
        17 => format!("{date} INFO app.cache cache key scan:summary:team:{} set ttl=300", v.int(1, 500)),
        18 => format!(
            "+ docker run --rm -v /var/run/docker.sock:/var/run/docker.sock aquasec/trivy:0.50.1 image --format json alpine:3.{}",
            v.int(10, 20)
        ),
        19 => format!(
            "{date} ERROR app.api GET https://api.example.com/v1/assets?page={} failed: 503 Service Unavailable (retry {}/5)",
            v.int(1, 30),
            v.int(1, 5)
        ),
        20 => format!(
            "time=\"{ts}\" level=info msg=\"finished streaming call with code OK\" grpc.method=Watch grpc.service=containerd.services.events.v1.Events"
        ),
        21 => format!(
            "{ts} INFO watchdog evaluated rule=stuck-scan findings={} dispatched={} duration_ms={}",
            v.int(0, 5),
            v.int(0, 5),
            v.int(1, 800)
        ),
        22 => format!(
            "{date} INFO app.integrations.github fetched {} repositories for org platform (rate limit remaining {})",
            v.int(1, 300),
            v.int(0, 5000)
        ),
        _ => format!(
            "{date} DEBUG app.services.compliance SCF control {}-{:02} evaluated: status=PASS evidence={}",
            v.pick(&["IAC", "CRY", "NET", "END"]),
            v.int(1, 30),
            v.object_id()
        ),
    }
}
