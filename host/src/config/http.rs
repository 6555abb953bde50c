//! `[http]`: limits of the HTTP server, so that slow or hostile clients
//! (or a broken load balancer) cannot hold the port the probes need.
//! Read at start-up; a reload does not change them. (No route reads a
//! request body, so a body costs nothing but the connection it arrives on.)

use std::time::Duration;

use serde::Deserialize;

/// The HTTP server's limits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Time a client has to send a request's line and headers; an idle
    /// keep-alive connection is closed after it too.
    #[serde(default = "default_header_read_timeout", with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// Connections served at once; one more is closed as soon as it is
    /// accepted, and counted in `vigil_http_connections_refused_total`.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Largest request head (request line and headers), in bytes (at least
    /// 8192); a larger one is answered 431.
    #[serde(default = "default_max_header_bytes")]
    pub max_header_bytes: usize,
}

fn default_header_read_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_max_connections() -> usize {
    4096
}

fn default_max_header_bytes() -> usize {
    16 * 1024
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: default_header_read_timeout(),
            max_connections: default_max_connections(),
            max_header_bytes: default_max_header_bytes(),
        }
    }
}

impl HttpConfig {
    /// Range checks, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.header_read_timeout < Duration::from_millis(100) || self.header_read_timeout > Duration::from_secs(300)
        {
            return Err("field `http.header_read_timeout`: out of range (100ms to 5m)".to_owned());
        }
        if self.max_connections == 0 {
            return Err("field `http.max_connections`: at least 1".to_owned());
        }
        if self.max_header_bytes < 8192 {
            return Err("field `http.max_header_bytes`: at least 8192".to_owned());
        }
        Ok(())
    }
}
