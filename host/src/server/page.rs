//! The operator's status page at `/`: what `/health/status` and
//! `/health/ready` say, as HTML that reads at a glance, in light and dark
//! mode and on a phone. Server-rendered (maud); one small stylesheet and
//! script served from the binary, no external asset, a strict
//! `Content-Security-Policy`. The script subscribes to `/health/events` and
//! swaps the page's `<main>` for a fresh render on each event; without
//! JavaScript the page refreshes itself every few seconds.
//!
//! Everything shown comes from the two probe documents (nothing the
//! probes would not show), and every text passes the credential scrubber.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use crate::daemon::Daemon;

/// Without JavaScript, reload after this many seconds.
const REFRESH_SECONDS: u32 = 5;

const STYLE: &str = include_str!("page/vigil.css");
const SCRIPT: &str = include_str!("page/vigil.js");

/// Only this origin's script, style and event stream; nothing framed,
/// posted or based elsewhere.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                      connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `GET /`.
pub async fn page(State(daemon): State<Arc<Daemon>>) -> Response {
    let (mut status, mut ready) = super::health::documents(&daemon);
    scrub(&mut status);
    scrub(&mut ready);
    let markup = render(&status, &ready, daemon.is_starting());
    let mut response = (StatusCode::OK, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /ui/vigil.css` and `/ui/vigil.js`.
pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// The page's script.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    let mut response = text.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    response
}

/// Every string in `value`, scrubbed (the page and the event stream).
pub(super) fn scrub(value: &mut Value) {
    match value {
        Value::String(text) => {
            if let std::borrow::Cow::Owned(clean) = crate::scrubber::scrub_line(text) {
                *text = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        Value::Object(fields) => fields.values_mut().for_each(scrub),
        _ => {}
    }
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn items(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// A Unix time or an RFC 3339 text, as `YYYY-MM-DD HH:MM:SS UTC`.
fn when(value: &Value) -> String {
    let time = match value {
        Value::Number(n) => n.as_f64().map(|s| UNIX_EPOCH + Duration::from_secs_f64(s.max(0.0))),
        Value::String(s) => humantime::parse_rfc3339_weak(s).ok(),
        _ => None,
    };
    time.map(|t| humantime::format_rfc3339_seconds(t).to_string().replace('T', " ").replace('Z', " UTC"))
        .unwrap_or_else(|| "never".to_owned())
}

fn milliseconds(value: &Value) -> String {
    value.as_f64().map_or_else(String::new, |s| format!("{:.1} ms", s * 1e3))
}

fn badge(status: &str) -> Markup {
    let status = if status.is_empty() { "unknown" } else { status };
    html! { span class={ "badge " (status) } { (status) } }
}

fn render(status: &Value, ready: &Value, starting: bool) -> Markup {
    let overall = text(&status["status"]);
    let is_ready = ready["status"] == "pass";
    let title = if is_ready { "ready" } else { "not ready" };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { "Vigil: " (title) ", " (overall) }
                link rel="stylesheet" href="/ui/vigil.css";
                script src="/ui/vigil.js" defer {}
                noscript { meta http-equiv="refresh" content=(REFRESH_SECONDS); }
            }
            body {
                main id="status" data-overall=(overall) data-ready=(is_ready) {
                    (header(status, ready, starting))
                    (checks(status))
                    (tools(status))
                    (watchdog(status))
                    (indexes(status))
                    (plugins(status))
                    footer {
                        "Vigil " (text(&status["version"])) ", started " (when(&status["started_at"])) ". "
                        span id="live" { "Updates: every " (REFRESH_SECONDS) " s (no script)" }
                    }
                }
            }
        }
    }
}

fn header(status: &Value, ready: &Value, starting: bool) -> Markup {
    let failing: Vec<(&String, &Value)> =
        ready["checks"].as_object().into_iter().flatten().filter(|(_, v)| v["passed"] == false).collect();
    html! {
        header {
            h1 { "Vigil " (badge(text(&status["status"]))) }
            p id="readiness" class=(if ready["status"] == "pass" { "ready" } else { "not-ready" }) {
                @if starting {
                    "Not ready: starting, plugins are loading."
                } @else if ready["status"] == "pass" {
                    "Ready: every critical check passes."
                } @else {
                    "Not ready: "
                    @for (i, (name, verdict)) in failing.iter().enumerate() {
                        @if i > 0 { "; " }
                        strong { (name) } " is " (text(&verdict["status"])) ": " (text(&verdict["detail"]))
                    }
                }
            }
            nav {
                a href="/health/status" { "/health/status" } " · "
                a href="/health/ready?verbose" { "/health/ready?verbose" } " · "
                a href="/metrics" { "/metrics" } " · "
                a href="/health/events" { "/health/events" }
            }
        }
    }
}

fn checks(status: &Value) -> Markup {
    let checks: Vec<&Value> = items(&status["plugins"]).iter().filter(|p| p["kind"] == "check").collect();
    html! {
        section id="checks" {
            h2 { "Subsystems" }
            div class="scroll" { table {
                thead { tr { th { "Check" } th { "Status" } th { "Mode" } th { "Impact and detail" } th { "Last run" } th { "Transitions" } } }
                tbody {
                    @for p in &checks {
                        @let result = &p["result"];
                        @let state = p["status"].as_str().unwrap_or("unknown");
                        tr id={ "check-" (text(&p["name"])) } data-status=(state) {
                            td { strong { (text(&p["name"])) } @if p["critical"] == true { " " span class="critical" { "critical" } }
                                 br; small { (text(&p["subsystem"])) } }
                            td { (badge(state)) }
                            td { (text(&result["mode"]))
                                 @if !text(&result["optimal_mode"]).is_empty() && result["mode"] != result["optimal_mode"] {
                                     br; small { "optimal: " (text(&result["optimal_mode"])) } } }
                            td { @if state != "ok" && !text(&result["impact"]).is_empty() { strong { (text(&result["impact"])) } br; }
                                 (text(&result["detail"]))
                                 @if let Some(fault) = result["fault"].as_str() { br; small { "fault: " (fault) } } }
                            td class="when" { (when(&result["started_at"])) br; small { (milliseconds(&result["duration_seconds"])) } }
                            td { @for t in items(&p["transitions"]).iter().rev() {
                                     small { (text(&t["from"])) " → " (text(&t["to"])) ", " (when(&t["at"])) } br; } }
                        }
                    }
                }
            } }
        }
    }
}

fn tools(status: &Value) -> Markup {
    let tools = status["security_tools"].as_object();
    html! {
        section id="tools" {
            h2 { "Security tools" }
            @if tools.is_none_or(|t| t.is_empty()) { p { "No tool observed yet." } } @else {
                div class="scroll" { table {
                    thead { tr { th { "Tool" } th { "Available" } th { "Image" } th { "Binary" } th { "Version" } } }
                    tbody { @for (name, t) in tools.into_iter().flatten() {
                        tr { td { (name) } td { (badge(if t["available"] == true { "ok" } else { "down" })) }
                             td { (yes(&t["image_present"])) } td { (yes(&t["binary_present"])) } td { (text(&t["version"])) } }
                    } }
                } }
            }
        }
    }
}

fn yes(value: &Value) -> &'static str {
    if value == true { "yes" } else { "no" }
}

fn watchdog(status: &Value) -> Markup {
    let watchdog = &status["watchdog"];
    html! {
        @if !watchdog.is_null() {
            section id="watchdog" {
                h2 { "Watchdog" }
                @let c = &watchdog["coordination"];
                p { "Coordination " (badge(text(&c["status"]))) " " (text(&c["mode"]))
                    @if c["mode"] != c["optimal_mode"] { " (optimal: " (text(&c["optimal_mode"])) ")" }
                    @if let Some(impact) = c["impact"].as_str() { ": " (impact) }
                    "; " @if c["leader"] == true { "leader" } @else { "standby" } ", dispatching to " (text(&c["target"])) "." }
                div class="scroll" { table {
                    thead { tr { th { "Rule" } th { "Evaluated" } th { "Findings" } th { "Dispatches" } } }
                    tbody { @for rule in items(&watchdog["rules"]) {
                        @let findings = items(&rule["findings"]);
                        tr { td { (text(&rule["plugin"])) }
                             td { (when(&rule["evaluated_at"])) br; small { (milliseconds(&rule["duration_seconds"])) } }
                             td { @if let Some(error) = rule["error"].as_str() { span class="badge down" { "error" } " " (error) }
                                  @else if findings.is_empty() { "none" }
                                  @else { @for f in findings { (text(&f["severity"])) ": " (text(&f["subject"])) " " small { (text(&f["detail"])) } br; } } }
                             td { @for f in findings { @if let Some(d) = f["dispatch"].as_object() {
                                     (text(&d["request"]["task"])) ": " (outcome(&d["outcome"])) br; } } }
                        }
                    } }
                } }
            }
        }
    }
}

/// A dispatch outcome, tagged (`{"outcome": "dispatched", ...}`) or plain.
fn outcome(value: &Value) -> String {
    value["outcome"].as_str().or(value.as_str()).unwrap_or("unknown").to_owned()
}

fn indexes(status: &Value) -> Markup {
    let plan = &status["indexes"];
    html! {
        section id="indexes" {
            h2 { "Index plan" }
            p { (plan["ok"]) " ok, " (plan["missing"]) " missing, " (plan["conflict"]) " in conflict, " (plan["unmanaged"]) " unmanaged." }
            ul {
                @for e in items(&plan["attention"]) { li { (badge(text(&e["state"]))) " " (text(&e["collection"])) "." (text(&e["name"])) ": " (text(&e["detail"])) } }
                @for c in items(&plan["profile_conflicts"]) { li { (badge("conflict")) " " (c.as_str().map_or_else(|| c.to_string(), str::to_owned)) } }
                @for e in items(&plan["errors"]) { li { (badge("unknown")) " " (text(e)) } }
            }
        }
    }
}

/// The grants a manifest gives, in one line (`redis; mongo: cspm; ...`).
fn grants(grants: &Value) -> String {
    let mut parts = Vec::new();
    for (name, value) in grants.as_object().into_iter().flatten() {
        match value {
            Value::Bool(true) => parts.push(name.clone()),
            Value::Array(list) if !list.is_empty() => {
                let list: Vec<String> =
                    list.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect();
                parts.push(format!("{name}: {}", list.join(", ")));
            }
            _ => {}
        }
    }
    if parts.is_empty() { "none".to_owned() } else { parts.join("; ") }
}

fn plugins(status: &Value) -> Markup {
    html! {
        section id="plugins" {
            h2 { "Plugins" }
            div class="scroll" { table {
                thead { tr { th { "Plugin" } th { "Kind" } th { "Version" } th { "Origin" } th { "Grants" } th { "Runs / faults" } } }
                tbody { @for p in items(&status["plugins"]) {
                    tr id={ "plugin-" (text(&p["name"])) } { td { (text(&p["name"])) } td { (text(&p["kind"])) } td { (text(&p["version"])) }
                         td { small { (text(&p["origin"])) } } td { small { (grants(&p["grants"])) } }
                         td { (p["runs"]) " / " (p["faults"])
                              @if let Some(fault) = p["result"]["fault"].as_str() { br; small { "last fault: " (fault) } } } }
                } }
            } }
            @for f in items(&status["failed_plugins"]) {
                p class="problem" { (badge("down")) " " (text(&f["name"])) " (" (text(&f["origin"])) ") failed to load: " (text(&f["error"])) }
            }
            @for r in items(&status["rejected_plugins"]) {
                p class="problem" { (badge("degraded")) " " (text(&r["name"])) " " (text(&r["version"])) " rejected " (when(&r["at"])) ": " (text(&r["reason"]))
                    @if r["kept_previous"] == true { " (the previous version keeps running)" } @else { " (nothing runs in its place)" } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_every_check_escaped_and_why_not_ready() {
        let status = json!({
            "status": "down", "version": "0.1.0", "started_at": 1796040005.0,
            "plugins": [
                {"name": "database", "kind": "check", "status": "down", "critical": true, "subsystem": "db",
                 "grants": {"mongo": ["cspm"], "redis": false},
                 "result": {"mode": "", "optimal_mode": "primary", "detail": "<script>alert(1)</script>", "impact": "no data"},
                 "transitions": [{"from": "ok", "to": "down", "at": "2026-11-30T12:00:00Z"}], "runs": 3, "faults": 0},
                {"name": "cache-backend", "kind": "check", "status": "degraded", "result": {"mode": "in-memory", "optimal_mode": "redis"}, "runs": 1, "faults": 0},
            ],
            "indexes": {"ok": 1, "missing": 0, "conflict": 0, "unmanaged": 0},
        });
        let ready = json!({"status": "fail", "checks": {"database": {"passed": false, "status": "down", "detail": "primary unreachable"}}});
        let html = render(&status, &ready, false).into_string();
        assert!(html.contains(r#"<tr id="check-database" data-status="down">"#), "{html}");
        assert!(html.contains(r#"<tr id="check-cache-backend" data-status="degraded">"#));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>alert"));
        assert!(html.contains("<strong>database</strong> is down: primary unreachable"));
        assert!(html.contains("optimal: redis"));
        assert!(html.contains("ok → down, 2026-11-30 12:00:00 UTC"));
        assert!(html.contains("mongo: cspm"));
    }
}
