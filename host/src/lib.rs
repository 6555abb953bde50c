//! # vigil-host
//!
//! Vigil is an observability daemon whose platform-specific knowledge lives
//! in WebAssembly component plugins. This crate is the host: the sandbox
//! ([`runtime`]), host capabilities ([`capabilities`]), plugin manifests and
//! loading ([`manifest`], [`loader`]), the check scheduler ([`scheduler`]),
//! results ([`results`]), the HTTP server ([`server`]) and the `vigil`
//! command line ([`cli`]).
//!
//! Data flows one way: plugins report, the host aggregates, outputs read
//! snapshots.

pub mod bundled;
pub mod capabilities;
pub mod celery;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod dispatch;
pub mod generation;
pub mod indexes;
pub mod loader;
pub mod manifest;
pub mod metrics;
pub mod reload;
pub mod results;
pub mod runtime;
pub mod scheduler;
pub mod scrubber;
pub mod security;
pub mod server;
pub mod store;
pub mod supervisor;
pub mod telemetry;
pub mod watchdog;
