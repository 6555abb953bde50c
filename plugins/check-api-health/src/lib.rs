//! The platform API (FastAPI): GET its health endpoint and report the
//! status and the latency. 2xx within `slow_ms` is `ok`; a slower 2xx is
//! `degraded` (the API works, users wait); any other status, or no answer,
//! is `down`; no URL configured is `unknown`.

use vigil_sdk::{Check, CheckReport, Config, Description, Status, clock, http};

struct ApiHealth;

impl Check for ApiHealth {
    fn describe() -> Description {
        Description::new("api", "The platform API's health endpoint answers, and how fast")
    }

    fn run(config: &Config) -> Result<CheckReport, String> {
        let url = config.str_or("url", "");
        if url.is_empty() {
            return Ok(CheckReport::new(Status::Unknown, "unconfigured")
                .optimal("responsive")
                .detail("no [endpoints] api_health_url configured"));
        }
        let slow_ms = config.u64_or("slow_ms", 1000);
        let started = clock::monotonic_ns();
        let answer = http::get(url, 0);
        let elapsed = (clock::monotonic_ns() - started) as f64 / 1e9;
        let ms = elapsed * 1e3;
        let (code, report) = match answer {
            Ok(response) if (200..300).contains(&response.status) && ms <= slow_ms as f64 => (
                response.status,
                CheckReport::ok("responsive").detail(format!("HTTP {} in {ms:.0} ms", response.status)),
            ),
            Ok(response) if (200..300).contains(&response.status) => (
                response.status,
                CheckReport::degraded("slow")
                    .optimal("responsive")
                    .impact("API requests take longer than usual for every user")
                    .detail(format!("HTTP {} in {ms:.0} ms (slower than {slow_ms} ms)", response.status)),
            ),
            Ok(response) => (
                response.status,
                CheckReport::down("unhealthy")
                    .optimal("responsive")
                    .impact("the platform API reports itself unhealthy")
                    .detail(format!("HTTP {} in {ms:.0} ms", response.status)),
            ),
            Err(error) => (
                0,
                CheckReport::down("unreachable")
                    .optimal("responsive")
                    .impact("the platform API does not answer")
                    .detail(format!("{error:?}")),
            ),
        };
        let code = code.to_string();
        Ok(report.observe("latency", elapsed, "seconds").observe_with(
            "response",
            1.0,
            "info",
            &[("status", code.as_str())],
        ))
    }
}

vigil_sdk::export!(check: ApiHealth);
