//! The admin routes' gate, through the real binary: 401 without or with a
//! wrong bearer token, 200 with the right one, 429 over the per-source
//! budget, 403 while no token is configured; a security event with the
//! standard fields for each, and the token in no log line.

use vigil_tests::process::VigilProcess;
use vigil_tests::{http_request, promtail_records};

const TOKEN: &str = "adm1n-T0ken-4f9c2e7b";
const WRONG: &str = "guess-T0ken-0000";

fn post(runtime: &tokio::runtime::Runtime, vigil: &VigilProcess, auth: Option<&str>) -> vigil_tests::Response {
    let header = auth.map(|token| format!("Bearer {token}"));
    let headers: Vec<(&str, &str)> = header.iter().map(|h| ("Authorization", h.as_str())).collect();
    runtime.block_on(http_request(vigil.addr, "POST", "/admin/checks/run", &headers)).expect("vigil answers")
}

fn security_events(logs: &str) -> Vec<serde_json::Value> {
    promtail_records(logs)
        .into_iter()
        .filter(|r| r["logger"] == "vigil::security" && r["event.category"].is_string())
        .collect()
}

#[test]
fn admin_routes_authenticate_rate_limit_and_log_security_events() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("vigil.toml");
    std::fs::write(&config, "[admin]\nrate_limit = 5\nrate_window = \"1h\"\n").expect("config");
    let vigil = VigilProcess::start(&[], Some(&config), &[("VIGIL_ADMIN_TOKEN", TOKEN)]);

    let missing = post(&runtime, &vigil, None);
    assert_eq!(missing.status, 401, "{}", missing.body);
    assert_eq!(missing.header("www-authenticate"), Some("Bearer realm=\"vigil\""));
    assert_eq!(post(&runtime, &vigil, Some(WRONG)).status, 401);

    let ok = post(&runtime, &vigil, Some(TOKEN));
    assert_eq!(ok.status, 200, "{}", ok.body);
    let body: serde_json::Value = serde_json::from_str(&ok.body).expect("json");
    let ran: Vec<&str> = body["ran"].as_array().expect("ran").iter().filter_map(|r| r["name"].as_str()).collect();
    assert!(ran.contains(&"cache-backend") && ran.contains(&"database"), "{body}");

    // Five requests per window: two more pass, the sixth is refused, with or without a token.
    assert_eq!(post(&runtime, &vigil, Some(TOKEN)).status, 200);
    assert_eq!(post(&runtime, &vigil, Some(WRONG)).status, 401);
    let limited = post(&runtime, &vigil, Some(TOKEN));
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(limited.header("retry-after"), Some("3600"));
    // The rest of the server is not affected.
    let live = runtime.block_on(http_request(vigil.addr, "GET", "/health/live", &[])).expect("live");
    assert_eq!(live.status, 200);

    let metrics = runtime.block_on(http_request(vigil.addr, "GET", "/metrics", &[])).expect("metrics").body;
    for series in [
        "vigil_security_events_total{category=\"authentication\",outcome=\"failure\"} 3",
        "vigil_security_events_total{category=\"authentication\",outcome=\"success\"} 2",
        "vigil_security_events_total{category=\"rate_limit\",outcome=\"failure\"} 1",
    ] {
        assert!(metrics.contains(series), "missing {series}");
    }

    let logs = vigil.stop();
    assert!(!logs.contains(TOKEN) && !logs.contains(WRONG), "a token reached the log:\n{logs}");
    let events = security_events(&logs);
    let summary: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["event.category"].as_str().unwrap_or("").to_owned(),
                e["event.outcome"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("authentication", "failure"),
        ("authentication", "failure"),
        ("authentication", "success"),
        ("authentication", "success"),
        ("authentication", "failure"),
        ("rate_limit", "failure"),
    ];
    assert_eq!(summary, expected.map(|(c, o)| (c.to_owned(), o.to_owned())), "{logs}");
    for event in &events {
        assert_eq!(event["source.address"], "127.0.0.1", "{event}");
        assert_eq!(event["url.path"], "/admin/checks/run", "{event}");
        assert_eq!(event["event.action"], "admin.run_checks", "{event}");
    }
    assert_eq!(events[0]["event.reason"], "missing bearer token");
    assert_eq!(events[1]["event.reason"], "invalid bearer token");
    assert_eq!(events[2]["user.name"], "admin");
    assert_eq!(events[5]["rate_limit.limit"], 5);
    assert_eq!(events[5]["rate_limit.window_seconds"], 3600.0);
}

#[test]
fn admin_routes_are_forbidden_without_a_configured_token() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    let vigil = VigilProcess::start(&[], None, &[("VIGIL_ADMIN_TOKEN", "")]);
    let refused = post(&runtime, &vigil, Some("anything"));
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("VIGIL_ADMIN_TOKEN"), "{}", refused.body);
    let logs = vigil.stop();
    let events = security_events(&logs);
    assert_eq!(events.len(), 1, "{logs}");
    assert_eq!(events[0]["event.category"], "authorization");
    assert_eq!(events[0]["event.outcome"], "failure");
}

/// `POST /admin/watchdog/run?dry_run=true` evaluates every rule and only
/// prints the dispatches; without it they go to the configured target (a
/// webhook nothing listens on: they fail); an unknown option is a 400.
#[test]
fn the_watchdog_route_takes_dry_run() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    let dir = tempfile::tempdir().expect("tempdir");
    vigil_tests::snapshot::generate(
        &dir.path().join("snapshot"),
        &vigil_tests::snapshot::Plan::example(std::time::SystemTime::now()),
    )
    .expect("snapshot");
    let config = dir.path().join("vigil.toml");
    let text = format!(
        "[endpoints]\nsnapshot_dir = {:?}\n[watchdog]\ntarget = \"webhook\"\nwebhook_url = \"http://127.0.0.1:{}/hook\"\nwebhook_retries = 0\n",
        dir.path().join("snapshot").display().to_string(),
        vigil_tests::free_port()
    );
    std::fs::write(&config, text).expect("config");
    let vigil = VigilProcess::start(&[], Some(&config), &[("VIGIL_ADMIN_TOKEN", TOKEN)]);
    let auth = format!("Bearer {TOKEN}");
    let run = |query: &str| {
        let path = format!("/admin/watchdog/run{query}");
        runtime.block_on(http_request(vigil.addr, "POST", &path, &[("Authorization", auth.as_str())])).expect("answer")
    };
    let outcomes = |body: &str| -> Vec<String> {
        let report: serde_json::Value = serde_json::from_str(body).expect("json");
        let mut found: Vec<String> = report["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .flat_map(|r| r["findings"].as_array().cloned().unwrap_or_default())
            .filter_map(|f| f["dispatch"]["outcome"].as_str().map(str::to_owned))
            .collect();
        found.dedup();
        found
    };
    let dry = run("?dry_run=true");
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert_eq!(outcomes(&dry.body), ["dry_run"], "{}", dry.body);
    let real = run("");
    assert_eq!(real.status, 200, "{}", real.body);
    let real_outcomes = outcomes(&real.body);
    assert!(!real_outcomes.is_empty() && !real_outcomes.contains(&"dry_run".to_owned()), "{}", real.body);
    assert!(real.body.contains("\"target\":\"webhook\""), "{}", real.body);
    assert_eq!(run("?dryrun=1").status, 400);
    vigil.stop();
}
