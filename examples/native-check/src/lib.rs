//! A native Vigil check: the host's load average from `/proc/loadavg`.
//!
//! The ABI (version 1): `vigil_native_abi_version`, `vigil_native_describe`,
//! `vigil_native_run(config_json)` returning JSON strings the host frees with
//! `vigil_native_free`. A panic must not cross the C ABI (it would abort the
//! daemon): `vigil_native_run` catches its own and answers with an error,
//! which the host reports as the check's failure.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char};

fn owned(text: String) -> *mut c_char {
    CString::new(text.replace('\0', " ")).map_or(std::ptr::null_mut(), CString::into_raw)
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The ABI version this library speaks.
#[unsafe(no_mangle)]
pub extern "C" fn vigil_native_abi_version() -> u32 {
    1
}

/// What the check watches.
#[unsafe(no_mangle)]
pub extern "C" fn vigil_native_describe() -> *mut c_char {
    owned(r#"{"subsystem": "host", "summary": "Load average from /proc/loadavg"}"#.to_owned())
}

/// Run once. `config` is the plugin's `[config]` as JSON.
///
/// # Safety
/// `config` must be a NUL-terminated string (the host passes one).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vigil_native_run(config: *const c_char) -> *mut c_char {
    // SAFETY: the host passes a valid NUL-terminated string.
    let config = unsafe { CStr::from_ptr(config) }.to_string_lossy().into_owned();
    // Keep panics inside: silence this library's panic output (it would bypass
    // the host's scrubbed log) and turn the panic into an error answer.
    std::panic::set_hook(Box::new(|_| {}));
    match std::panic::catch_unwind(|| run(&config)) {
        Ok(answer) => owned(answer),
        Err(panic) => {
            let message = panic.downcast_ref::<&str>().map(|s| (*s).to_owned()).or_else(|| panic.downcast_ref::<String>().cloned());
            owned(format!(r#"{{"error": "panicked: {}"}}"#, escape(&message.unwrap_or_default())))
        }
    }
}

fn run(config: &str) -> String {
    // Fixtures for the host's tests: misbehave on request.
    if config.contains("\"behaviour\":\"panic\"") {
        panic!("asked to panic");
    }
    if config.contains("\"behaviour\":\"hang\"") {
        std::thread::sleep(std::time::Duration::from_secs(5));
    }
    let max_load = config
        .split("\"max_load\":")
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next())
        .and_then(|n| n.trim().parse::<f64>().ok())
        .unwrap_or(8.0);
    let load = match std::fs::read_to_string("/proc/loadavg") {
        Ok(text) => text.split_whitespace().next().and_then(|n| n.parse::<f64>().ok()),
        Err(err) => return format!(r#"{{"error": "cannot read /proc/loadavg: {}"}}"#, escape(&err.to_string())),
    };
    let Some(load) = load else { return r#"{"error": "/proc/loadavg is not as expected"}"#.to_owned() };
    let (status, mode) = if load <= max_load { ("ok", "normal") } else { ("degraded", "overloaded") };
    format!(
        r#"{{"status": "{status}", "mode": "{mode}", "optimal_mode": "normal", "impact": "{}", "detail": "1-minute load {load:.2} (limit {max_load})", "observations": [{{"name": "load_average", "value": {load}, "unit": "count", "labels": {{"window": "1m"}}}}]}}"#,
        if status == "ok" { "" } else { "checks and scans run slowly" }
    )
}

/// Free a string returned by this library.
///
/// # Safety
/// `text` must come from `vigil_native_describe` or `vigil_native_run`, once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vigil_native_free(text: *mut c_char) {
    if !text.is_null() {
        // SAFETY: created by CString::into_raw in this library.
        drop(unsafe { CString::from_raw(text) });
    }
}
