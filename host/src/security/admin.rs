//! The gate in front of the admin routes: per-source rate limit, then a
//! bearer token compared in constant time. Each refusal (and each success)
//! is a security event; the presented token never appears anywhere.

use std::net::IpAddr;
use std::time::Instant;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::limiter::RateLimiter;
use super::{Request, SecurityLogger};
use crate::config::AdminConfig;

/// The only principal: whoever holds the admin token.
pub const PRINCIPAL: &str = "admin";

/// What to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// 401: no or a wrong credential.
    Unauthenticated(&'static str),
    /// 403: admin routes are switched off.
    Forbidden(String),
    /// 429: over the per-source budget; retry after this many seconds.
    TooManyRequests(u64),
}

/// Decides admin requests.
pub struct AdminGuard {
    /// SHA-256 of the token (so comparison time does not depend on its length).
    token: Option<[u8; 32]>,
    disabled: String,
    limiter: RateLimiter,
    log: SecurityLogger,
}

impl AdminGuard {
    /// Read the token as `config` says. Without one, admin routes answer 403.
    pub fn new(config: &AdminConfig, log: SecurityLogger) -> Self {
        let token = config.token.resolve("admin.token").ok().filter(|t| !t.is_empty());
        let disabled = match &config.token {
            crate::config::Secret::Env { env, .. } => format!("admin routes are disabled: set {env}"),
            crate::config::Secret::Literal(_) => "admin routes are disabled: admin.token is empty".to_owned(),
        };
        Self {
            token: token.map(|t| digest(&t)),
            disabled,
            limiter: RateLimiter::new(config.rate_limit, config.rate_window),
            log,
        }
    }

    /// Why admin routes are off, or `None` when a token is configured.
    pub fn disabled(&self) -> Option<&str> {
        self.token.is_none().then_some(self.disabled.as_str())
    }

    /// Judge one request. `authorization` is the raw `Authorization` header.
    pub fn check(&self, request: Request<'_>, authorization: Option<&str>, now: Instant) -> Verdict {
        if !self.limiter.allow(request.source, now) {
            self.log.rate_limited(request, self.limiter.limit(), self.limiter.window());
            return Verdict::TooManyRequests(self.limiter.window().as_secs().max(1));
        }
        let Some(expected) = &self.token else {
            self.log.authorization_failed(request, "anonymous", &self.disabled);
            return Verdict::Forbidden(self.disabled.clone());
        };
        let presented = authorization.and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
        let Some(presented) = presented else {
            self.log.authentication_failed(request, "missing bearer token");
            return Verdict::Unauthenticated("missing bearer token");
        };
        if bool::from(digest(presented).ct_eq(expected)) {
            self.log.authenticated(request, PRINCIPAL);
            Verdict::Allow
        } else {
            self.log.authentication_failed(request, "invalid bearer token");
            Verdict::Unauthenticated("invalid bearer token")
        }
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Where a request came from when the server did not record it.
pub const UNKNOWN_SOURCE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Secret;
    use crate::metrics::Metrics;

    fn guard(token: &str, limit: u32) -> AdminGuard {
        let config = AdminConfig {
            token: Secret::Literal(token.to_owned()),
            rate_limit: limit,
            rate_window: Duration::from_secs(60),
        };
        AdminGuard::new(&config, SecurityLogger::new(&Metrics::new().unwrap()).unwrap())
    }

    fn request() -> Request<'static> {
        Request { source: "192.0.2.7".parse().unwrap(), resource: "/admin/checks/run", action: "admin.run_checks" }
    }

    #[test]
    fn bearer_token_is_required_and_compared() {
        let guard = guard("s3cret-token", 100);
        let now = Instant::now();
        assert_eq!(guard.check(request(), Some("Bearer s3cret-token"), now), Verdict::Allow);
        assert_eq!(guard.check(request(), Some("bearer  s3cret-token "), now), Verdict::Allow);
        assert_eq!(guard.check(request(), None, now), Verdict::Unauthenticated("missing bearer token"));
        assert_eq!(
            guard.check(request(), Some("Basic s3cret-token"), now),
            Verdict::Unauthenticated("missing bearer token")
        );
        assert_eq!(
            guard.check(request(), Some("Bearer s3cret"), now),
            Verdict::Unauthenticated("invalid bearer token")
        );
    }

    #[test]
    fn no_token_means_forbidden_and_the_limit_comes_first() {
        let guard = guard("", 1);
        let now = Instant::now();
        assert!(matches!(guard.check(request(), Some("Bearer x"), now), Verdict::Forbidden(_)));
        assert_eq!(guard.check(request(), Some("Bearer x"), now), Verdict::TooManyRequests(60));
    }
}
