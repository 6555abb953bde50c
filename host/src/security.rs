//! SecurityLogger: security events with standardized fields, one place.
//!
//! Every event is a log record with target `vigil::security` and the
//! Elastic Common Schema names operators already query for: `event.category`
//! (`authentication`, `authorization`, `rate_limit`), `event.action`,
//! `event.outcome` (`success`, `failure`), `event.reason`, `user.name` (the
//! principal), `source.address`, `url.path` (the resource) and, for rate
//! limits, `rate_limit.limit` and `rate_limit.window_seconds`. Events are
//! counted in `vigil_security_events_total{category,outcome}`. Credentials
//! are never a field: the logger has no parameter that could carry one.

pub mod admin;
pub mod limiter;

use std::net::IpAddr;
use std::time::Duration;

use prometheus::IntCounterVec;

use crate::metrics::Metrics;

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Who is calling: a credential was checked.
    Authentication,
    /// May they: a request was refused by policy.
    Authorization,
    /// Too many requests from one source.
    RateLimit,
}

impl Category {
    /// The `event.category` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authentication => "authentication",
            Self::Authorization => "authorization",
            Self::RateLimit => "rate_limit",
        }
    }
}

/// Where a request came from and what it asked for.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The client's address.
    pub source: IpAddr,
    /// The resource (route path).
    pub resource: &'a str,
    /// The operation, e.g. `admin.reload`.
    pub action: &'a str,
}

/// Emits security events.
#[derive(Clone)]
pub struct SecurityLogger {
    events: IntCounterVec,
}

impl SecurityLogger {
    /// Register `vigil_security_events_total` on `metrics`.
    pub fn new(metrics: &Metrics) -> Result<Self, prometheus::Error> {
        let events = metrics.counter(
            "security_events_total",
            "Security events (authentication, authorization, rate_limit) by outcome.",
            &["category", "outcome"],
        )?;
        for category in [Category::Authentication, Category::Authorization, Category::RateLimit] {
            events.with_label_values(&[category.as_str(), "failure"]);
        }
        events.with_label_values(&[Category::Authentication.as_str(), "success"]);
        Ok(Self { events })
    }

    /// A credential was accepted for `principal`.
    pub fn authenticated(&self, request: Request<'_>, principal: &str) {
        self.count(Category::Authentication, "success");
        tracing::info!(
            target: "vigil::security",
            {
            "event.category" = Category::Authentication.as_str(),
            "event.action" = request.action,
            "event.outcome" = "success",
            "user.name" = principal,
            "source.address" = %request.source,
            "url.path" = request.resource,
            },
            "authentication succeeded"
        );
    }

    /// A credential was missing or wrong. `reason` says which, never what.
    pub fn authentication_failed(&self, request: Request<'_>, reason: &str) {
        self.count(Category::Authentication, "failure");
        tracing::warn!(
            target: "vigil::security",
            {
            "event.category" = Category::Authentication.as_str(),
            "event.action" = request.action,
            "event.outcome" = "failure",
            "event.reason" = reason,
            "source.address" = %request.source,
            "url.path" = request.resource,
            },
            "authentication failed"
        );
    }

    /// A request was refused by policy.
    pub fn authorization_failed(&self, request: Request<'_>, principal: &str, reason: &str) {
        self.count(Category::Authorization, "failure");
        tracing::warn!(
            target: "vigil::security",
            {
            "event.category" = Category::Authorization.as_str(),
            "event.action" = request.action,
            "event.outcome" = "failure",
            "event.reason" = reason,
            "user.name" = principal,
            "source.address" = %request.source,
            "url.path" = request.resource,
            },
            "authorization failed"
        );
    }

    /// A source went over its request budget.
    pub fn rate_limited(&self, request: Request<'_>, limit: u32, window: Duration) {
        self.count(Category::RateLimit, "failure");
        tracing::warn!(
            target: "vigil::security",
            {
            "event.category" = Category::RateLimit.as_str(),
            "event.action" = request.action,
            "event.outcome" = "failure",
            "source.address" = %request.source,
            "url.path" = request.resource,
            "rate_limit.limit" = limit,
            "rate_limit.window_seconds" = window.as_secs_f64(),
            },
            "rate limit exceeded"
        );
    }

    fn count(&self, category: Category, outcome: &str) {
        self.events.with_label_values(&[category.as_str(), outcome]).inc();
    }
}
