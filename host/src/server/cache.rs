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
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Entries kept at most (per-check readiness adds one per check and variant).
const MAX_ENTRIES: usize = 4096;

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
    /// `If-None-Match` names this body, the body otherwise.
    pub fn respond(&self, headers: &HeaderMap) -> Response {
        let content_type = HeaderValue::from_static(self.content_type);
        if matches_etag(headers, &self.etag) {
            return (StatusCode::NOT_MODIFIED, [(header::ETAG, self.etag.clone())]).into_response();
        }
        (self.status, [(header::CONTENT_TYPE, content_type), (header::ETAG, self.etag.clone())], self.bytes.clone())
            .into_response()
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
    /// The body for `key` at the current generation, built with `build`
    /// when the stored one is older.
    pub fn get_or_build(&self, key: Key, build: impl FnOnce() -> Body) -> Body {
        // Read before building: a change during the build leaves an older
        // generation stored, so the next request builds again.
        self.at(crate::generation::current(), key, build)
    }

    fn at(&self, generation: u64, key: Key, build: impl FnOnce() -> Body) -> Body {
        if let Some(slot) = key.slot().map(|i| &self.slots[i]) {
            if let Some(body) = slot.load().as_deref()
                && body.generation == generation
            {
                return body.clone();
            }
            let mut body = build();
            body.generation = generation;
            slot.store(Some(Arc::new(body.clone())));
            return body;
        }
        if let Some(body) = self.entries.read().unwrap_or_else(PoisonError::into_inner).get(&key)
            && body.generation == generation
        {
            return body.clone();
        }
        let mut body = build();
        body.generation = generation;
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, body.clone());
        body
    }
}

/// Serve `bytes` (built for this request) with an `ETag`, or `304`.
pub fn respond_tagged(headers: &HeaderMap, content_type: &'static str, bytes: Bytes) -> Response {
    Body::new(StatusCode::OK, content_type, bytes).respond(headers)
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
fn matches_etag(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(wanted) = etag.to_str() else { return false };
    headers
        .get_all(header::IF_NONE_MATCH)
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
        let first = cache.at(7, Key::Counters, || build("a"));
        let again = cache.at(7, Key::Counters, || build("b"));
        assert_eq!((first.bytes.clone(), again.bytes.clone()), (Bytes::from("a"), Bytes::from("a")));
        let after = cache.at(8, Key::Counters, || build("c"));
        assert_eq!(after.bytes, Bytes::from("c"));
        assert_eq!(builds, 2);
    }

    #[test]
    fn if_none_match_gets_304() {
        let body = Body::new(StatusCode::OK, "text/plain", Bytes::from("x"));
        let mut headers = HeaderMap::new();
        assert_eq!(body.respond(&headers).status(), StatusCode::OK);
        headers.insert(header::IF_NONE_MATCH, body.etag.clone());
        assert_eq!(body.respond(&headers).status(), StatusCode::NOT_MODIFIED);
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\", W/\"x\""));
        assert_eq!(body.respond(&headers).status(), StatusCode::OK);
    }
}
