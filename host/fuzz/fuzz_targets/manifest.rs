//! Fuzz target: see [`vigil_fuzz::manifest`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::manifest::check(data));
