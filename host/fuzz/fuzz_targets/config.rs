//! Fuzz target: see [`vigil_fuzz::config`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::config::check(data));
