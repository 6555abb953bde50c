//! Probe bodies built once per change. The probes answer from stored
//! state, so an answer changes only when [`crate::generation`] moves; each
//! body (readiness plain and verbose, per check, status in both content
//! types, the health counters) is built at most once per generation and
//! served as shared bytes. Bodies carry a strong `ETag` (a hash of the
//! bytes); a request whose `If-None-Match` names it gets `304` and no body.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use arc_swap::ArcSwapOption;
use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Bodies shorter than this are copied into each response rather than shared.
const COPY_BELOW: usize = 16 * 1024;

/// Entries kept at most (per-check readiness adds one per check and variant).
const MAX_ENTRIES: usize = 4096;

/// What a request says that picks its answer: the `If-None-Match` values
/// and whether it accepts `application/health+json`. Extracted without
/// cloning the request's headers (a probe sends none of them).
#[derive(Debug, Default)]
pub struct Conditions {
    if_none_match: Vec<HeaderValue>,
    /// `Accept` names `application/health+json`.
    pub health_json: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Conditions {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.headers))
    }
}

impl Conditions {
    /// The conditions `headers` state.
    pub fn of(headers: &HeaderMap) -> Self {
        Self {
            if_none_match: headers.get_all(header::IF_NONE_MATCH).iter().cloned().collect(),
            health_json: headers
                .get_all(header::ACCEPT)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .any(|accept| accept.contains("application/health+json")),
        }
    }
}

/// Which body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// `/health/ready`, plain or `?verbose`.
    Ready { verbose: bool },
    /// `/health/ready/{check}`.
    ReadyOne { check: String, verbose: bool },
    /// `/health/status`, as JSON or `application/health+json`.
    Status { health_json: bool },
    /// `/health/metrics`.
    Counters,
}

/// A built body.
#[derive(Clone)]
pub struct Body {
    /// The status code it is served with.
    pub status: StatusCode,
    /// Its content type.
    pub content_type: &'static str,
    /// The bytes.
    pub bytes: Bytes,
    etag: HeaderValue,
    generation: u64,
}

impl Body {
    /// A body and its `ETag`.
    pub fn new(status: StatusCode, content_type: &'static str, bytes: Bytes) -> Self {
        let etag = etag_of(&bytes);
        Self { status, content_type, bytes, etag, generation: 0 }
    }

    /// The response to a request with `headers`: `304` when its
    /// `If-None-Match` names this body and the body is a success, the body
    /// otherwise.
    ///
    /// A body shared by every request would be cloned by bumping one
    /// reference count from both cores on every request, which costs more
    /// than copying a small body: bodies up to [`COPY_BELOW`] are copied.
    pub fn respond(&self, conditions: &Conditions) -> Response {
        let content_type = HeaderValue::from_static(self.content_type);
        let etag = HeaderValue::from_bytes(self.etag.as_bytes()).unwrap_or_else(|_| self.etag.clone());
        // Preconditions apply to answers that would be 2xx (RFC 9110,
        // 13.2.1): a 503 "not ready" must never turn into a 304, which
        // probes count as healthy.
        if self.status.is_success() && matches_etag(conditions, &self.etag) {
            return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
        }
        let bytes =
            if self.bytes.len() < COPY_BELOW { Bytes::copy_from_slice(&self.bytes) } else { self.bytes.clone() };
        (self.status, [(header::CONTENT_TYPE, content_type), (header::ETAG, etag)], bytes).into_response()
    }
}

/// The bodies built so far: the five fixed ones in lock-free slots (the
/// probes' hot path), per-check readiness in a map.
#[derive(Default)]
pub struct ProbeCache {
    slots: [ArcSwapOption<Body>; 5],
    entries: RwLock<HashMap<Key, Body>>,
}

impl Key {
    /// The fixed slot of this key, if it has one.
    fn slot(&self) -> Option<usize> {
        match self {
            Self::Ready { verbose } => Some(usize::from(*verbose)),
            Self::Status { health_json } => Some(2 + usize::from(*health_json)),
            Self::Counters => Some(4),
            Self::ReadyOne { .. } => None,
        }
    }
}

impl ProbeCache {
    /// The answer to a request with `headers` from the body for `key` at
    /// the current generation, built with `build` when the stored one is
    /// older.
    pub fn respond(&self, key: Key, conditions: &Conditions, build: impl FnOnce() -> Body) -> Response {
        // Read before building: a change during the build leaves an older
        // generation stored, so the next request builds again.
        self.with(crate::generation::current(), key, build, |body| body.respond(conditions))
    }

    /// `serve` the body for `key` at `generation`, in place (a stored body
    /// is lent, not cloned).
    fn with<R>(&self, generation: u64, key: Key, build: impl FnOnce() -> Body, serve: impl FnOnce(&Body) -> R) -> R {
        if let Some(slot) = key.slot().map(|i| &self.slots[i]) {
            if let Some(body) = slot.load().as_deref()
                && body.generation == generation
            {
                return serve(body);
            }
            let mut body = build();
            body.generation = generation;
            let answer = serve(&body);
            slot.store(Some(Arc::new(body)));
            return answer;
        }
        if let Some(body) = self.entries.read().unwrap_or_else(PoisonError::into_inner).get(&key)
            && body.generation == generation
        {
            return serve(body);
        }
        let mut body = build();
        body.generation = generation;
        let answer = serve(&body);
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, body);
        answer
    }
}

/// Serve `bytes` (built for this request) with an `ETag`, or `304`.
pub fn respond_tagged(conditions: &Conditions, content_type: &'static str, bytes: Bytes) -> Response {
    Body::new(StatusCode::OK, content_type, bytes).respond(conditions)
}

/// A strong validator: 64-bit FNV-1a of the bytes, quoted.
fn etag_of(bytes: &[u8]) -> HeaderValue {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    HeaderValue::from_str(&format!("\"{hash:016x}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// Whether `If-None-Match` lists `etag` (or is `*`).
fn matches_etag(conditions: &Conditions, etag: &HeaderValue) -> bool {
    let Ok(wanted) = etag.to_str() else { return false };
    conditions
        .if_none_match
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|list| list.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == wanted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_built_once_per_generation() {
        let cache = ProbeCache::default();
        let mut builds = 0;
        let mut build = |text: &'static str| {
            builds += 1;
            Body::new(StatusCode::OK, "text/plain", Bytes::from_static(text.as_bytes()))
        };
        let bytes = |body: &Body| body.bytes.clone();
        let first = cache.with(7, Key::Counters, || build("a"), bytes);
        let again = cache.with(7, Key::Counters, || build("b"), bytes);
        assert_eq!((first, again), (Bytes::from("a"), Bytes::from("a")));
        let after = cache.with(8, Key::Counters, || build("c"), bytes);
        assert_eq!(after, Bytes::from("c"));
        assert_eq!(builds, 2);
    }

    #[test]
    fn if_none_match_gets_304() {
        let body = Body::new(StatusCode::OK, "text/plain", Bytes::from("x"));
        let mut conditions = Conditions::default();
        assert_eq!(body.respond(&conditions).status(), StatusCode::OK);
        conditions.if_none_match = vec![body.etag.clone()];
        assert_eq!(body.respond(&conditions).status(), StatusCode::NOT_MODIFIED);
        conditions.if_none_match = vec![HeaderValue::from_static("\"other\", W/\"x\"")];
        assert_eq!(body.respond(&conditions).status(), StatusCode::OK);
        conditions.if_none_match.push(HeaderValue::from_static("\"y\""));
        conditions.if_none_match.push(body.etag.clone());
        assert_eq!(body.respond(&conditions).status(), StatusCode::NOT_MODIFIED, "any of several headers");
    }
}
