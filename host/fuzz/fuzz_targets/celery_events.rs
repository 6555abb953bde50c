//! Fuzz target: see [`vigil_fuzz::celery_events`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::celery_events::check(data));
