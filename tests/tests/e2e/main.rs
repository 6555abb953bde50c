//! End-to-end tests: one binary, one module per area (keeps link time down).

mod cache;
mod examples;
mod faults;
mod golden;
mod grants;
mod loading;
mod routes;
