//! Properties that Vigil's input handling must keep for any input, one
//! module per fuzz target. Each `check` takes the raw fuzz input and panics
//! when a property breaks; the cargo-fuzz targets in `fuzz_targets/` call
//! them, and `tests/regressions.rs` replays every kept input through them.
//!
//! What "hostile input" means here: a plugin manifest or `vigil.toml`
//! written by someone else, a scrubber plugin's rules, a `mongoexport` file,
//! a plugin's store filter, a message on the Celery event channel, and an
//! HTTP request to any route.

pub mod celery_events;
pub mod config;
pub mod extjson;
pub mod manifest;
pub mod routes;
pub mod scrubber;
pub mod seeds;
pub mod store_filter;

/// The fuzz input as text, when it is UTF-8 (the parsers take `&str`).
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// An error message is one line and quotes no source text: `toml` would
/// print the offending line (which may hold a password) under a caret.
fn assert_one_line_error(message: &str) {
    assert!(!message.contains('\n'), "error spans several lines (quotes the source?): {message}");
}
