//! Fuzz target: see [`vigil_fuzz::extjson`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::extjson::check(data));
