//! The webhook target: `POST` the dispatch as JSON, retrying connection
//! errors and 5xx answers with exponential backoff (4xx is final).

use std::time::Duration;

use serde_json::Value;

/// A webhook endpoint.
pub struct Webhook {
    client: reqwest::Client,
    url: String,
    retries: u32,
    backoff: Duration,
}

impl Webhook {
    /// POST to `url`; each attempt gets `timeout`; up to `retries` more attempts.
    pub fn new(url: String, timeout: Duration, retries: u32, backoff: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| format!("cannot build the HTTP client: {err}"))?;
        Ok(Self { client, url, retries, backoff })
    }

    /// Deliver `payload`; the number of attempts it took.
    pub async fn post(&self, payload: &Value) -> Result<u32, String> {
        let mut delay = self.backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = match self.client.post(&self.url).json(payload).send().await {
                Ok(response) if response.status().is_success() => return Ok(attempt),
                Ok(response) if response.status().is_client_error() => {
                    return Err(format!("webhook answered {}", response.status()));
                }
                Ok(response) => format!("webhook answered {}", response.status()),
                // Without the URL: it may carry credentials.
                Err(err) if err.is_timeout() => "webhook timed out".to_owned(),
                Err(err) if err.is_connect() => "cannot connect to the webhook".to_owned(),
                Err(_) => "webhook request failed".to_owned(),
            };
            if attempt > self.retries {
                return Err(format!("{outcome} (after {attempt} attempts)"));
            }
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
    }
}
