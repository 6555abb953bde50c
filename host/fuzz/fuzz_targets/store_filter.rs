//! Fuzz target: see [`vigil_fuzz::store_filter`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::store_filter::check(data));
