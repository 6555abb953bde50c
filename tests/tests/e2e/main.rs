//! End-to-end tests: one binary, one module per area (keeps link time down).

mod admin;
mod authoring;
mod cache;
mod celery_metrics;
mod docker;
mod examples;
mod faults;
mod flaps;
mod follow;
mod golden;
mod grants;
mod index_contract;
mod indexes;
mod integrity;
mod loading;
mod logging;
mod metrics;
mod mongodb_store;
mod native;
mod python_plugin;
mod reload;
mod routes;
mod scrubber;
mod store;
mod validate;
mod watchdog;
