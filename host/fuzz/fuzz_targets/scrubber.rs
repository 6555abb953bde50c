//! Fuzz target: see [`vigil_fuzz::scrubber`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vigil_fuzz::scrubber::check(data));
