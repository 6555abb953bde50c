//! Fuzz target: see [`vigil_fuzz::routes`]. The daemon starts (compiling the
//! bundled plugins) in `init`, outside libFuzzer's per-input timeout.
#![no_main]

libfuzzer_sys::fuzz_target!(init: vigil_fuzz::routes::init(), |data: &[u8]| vigil_fuzz::routes::check(data));
