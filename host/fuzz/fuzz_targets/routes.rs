//! Fuzz target: see [`vigil_fuzz::routes`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::routes::check(data));
