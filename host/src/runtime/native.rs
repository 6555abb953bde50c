//! Native plugins (opt-in, unsandboxed): a shared library exporting a small
//! versioned C ABI, for trusted checks that need what WASI cannot give.
//!
//! ```c
//! uint32_t vigil_native_abi_version(void);          // must return 1
//! char *vigil_native_describe(void);                // {"subsystem": "...", "summary": "..."}
//! char *vigil_native_run(const char *config_json);  // a report, or {"error": "..."}
//! void vigil_native_free(char *);                   // frees what describe/run returned
//! ```
//!
//! A report is `{"status": "ok|degraded|down|unknown", "mode", "optimal_mode",
//! "impact", "detail", "observations": [{"name", "value", "unit",
//! "labels": {...}}]}`. The ABI version is checked before any other call.
//! Each call runs on its own thread under the plugin's deadline; a call that
//! does not return in time is reported as timed out and the plugin is not
//! called again until it does. A panic cannot cross the C ABI (the library
//! has its own copy of the Rust runtime), so the library catches its own and
//! answers `{"error": "panicked: ..."}`, as `examples/native-check` shows; a
//! library that aborts or crashes takes the daemon with it: that is what
//! "unsandboxed" means.

// The only unsafe code in Vigil: loading a library and calling its C ABI.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::Fault;
use super::bindings::types::{CheckReport, Description, Label, Observation, Status};

/// The ABI version this host speaks.
pub const NATIVE_ABI_VERSION: u32 = 1;

type AbiVersion = unsafe extern "C" fn() -> u32;
type DescribeFn = unsafe extern "C" fn() -> *mut c_char;
type RunFn = unsafe extern "C" fn(*const c_char) -> *mut c_char;
type FreeFn = unsafe extern "C" fn(*mut c_char);

/// A loaded native library.
pub struct NativeLibrary {
    library: libloading::Library,
    path: PathBuf,
    busy: AtomicBool,
}

impl std::fmt::Debug for NativeLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeLibrary").field("path", &self.path).finish_non_exhaustive()
    }
}

impl NativeLibrary {
    /// Load `path` and check its ABI version before anything else.
    pub fn open(path: &Path) -> Result<Self, String> {
        // SAFETY: loading runs the library's initialisers; native plugins are
        // trusted by explicit configuration (`allow_native`).
        let library = unsafe { libloading::Library::new(path) }.map_err(|err| format!("cannot load: {err}"))?;
        let native = Self { library, path: path.to_path_buf(), busy: AtomicBool::new(false) };
        for symbol in ["vigil_native_describe", "vigil_native_run", "vigil_native_free"] {
            // SAFETY: only looked up, not called.
            unsafe { native.library.get::<*const ()>(symbol.as_bytes()) }
                .map_err(|_| format!("does not export {symbol}"))?;
        }
        // SAFETY: the symbol is declared by the ABI with this signature.
        let version = unsafe { native.library.get::<AbiVersion>(b"vigil_native_abi_version") }
            .map_err(|_| "does not export vigil_native_abi_version".to_owned())?;
        // SAFETY: as above; a version call takes nothing and returns a number.
        let found = std::panic::catch_unwind(|| unsafe { version() })
            .map_err(|_| "vigil_native_abi_version panicked".to_owned())?;
        if found != NATIVE_ABI_VERSION {
            return Err(format!(
                "native ABI version {found} is not supported (this host speaks version {NATIVE_ABI_VERSION})"
            ));
        }
        Ok(native)
    }

    /// Call `symbol` on its own thread under `deadline`; the returned JSON text.
    async fn call(
        self: &Arc<Self>,
        symbol: &'static [u8],
        argument: Option<String>,
        deadline: Duration,
    ) -> Result<String, Fault> {
        if self.busy.swap(true, Ordering::AcqRel) {
            return Err(Fault::PluginError("a previous call has not returned yet".to_owned()));
        }
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let this = Arc::clone(self);
        let spawned = std::thread::Builder::new().name("vigil-native".to_owned()).spawn(move || {
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| this.call_blocking(symbol, argument)));
            this.busy.store(false, Ordering::Release);
            let _ = sender.send(outcome);
        });
        if let Err(err) = spawned {
            self.busy.store(false, Ordering::Release);
            return Err(Fault::PluginError(format!("cannot start a thread: {err}")));
        }
        match tokio::time::timeout(deadline, receiver).await {
            Err(_) => Err(Fault::Timeout(deadline)),
            Ok(Err(_)) => Err(Fault::PluginError("the call's thread ended without an answer".to_owned())),
            Ok(Ok(Err(panic))) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-string payload".to_owned());
                Err(Fault::PluginError(format!("panicked: {message}")))
            }
            Ok(Ok(Ok(answer))) => answer,
        }
    }

    fn call_blocking(&self, symbol: &[u8], argument: Option<String>) -> Result<String, Fault> {
        let missing = |name: &str| Fault::PluginError(format!("{}: does not export {name}", self.path.display()));
        // SAFETY: the symbols were checked at load and have the ABI's signatures.
        let free =
            unsafe { self.library.get::<FreeFn>(b"vigil_native_free") }.map_err(|_| missing("vigil_native_free"))?;
        let text = match argument {
            None => {
                // SAFETY: as above.
                let describe = unsafe { self.library.get::<DescribeFn>(symbol) }.map_err(|_| missing("describe"))?;
                // SAFETY: the ABI's describe takes nothing and returns an owned C string.
                unsafe { describe() }
            }
            Some(argument) => {
                let argument =
                    CString::new(argument).map_err(|_| Fault::PluginError("config holds a NUL byte".to_owned()))?;
                // SAFETY: as above.
                let run = unsafe { self.library.get::<RunFn>(symbol) }.map_err(|_| missing("run"))?;
                // SAFETY: the argument outlives the call; the result is an owned C string.
                unsafe { run(argument.as_ptr()) }
            }
        };
        if text.is_null() {
            return Err(Fault::PluginError("returned a null pointer".to_owned()));
        }
        // SAFETY: non-null, NUL-terminated per the ABI; copied before it is freed.
        let owned = unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned();
        // SAFETY: returned by this library's describe/run, freed once, by its own allocator.
        unsafe { free(text) };
        Ok(owned)
    }

    /// `vigil_native_describe`.
    pub async fn describe(self: &Arc<Self>, deadline: Duration) -> Result<Description, Fault> {
        let text = self.call(b"vigil_native_describe", None, deadline).await?;
        let value: serde_json::Value = parse(&text)?;
        Ok(Description {
            subsystem: value["subsystem"].as_str().unwrap_or_default().to_owned(),
            summary: value["summary"].as_str().unwrap_or_default().to_owned(),
        })
    }

    /// `vigil_native_run` with the plugin's config.
    pub async fn run(self: &Arc<Self>, config_json: String, deadline: Duration) -> Result<CheckReport, Fault> {
        let text = self.call(b"vigil_native_run", Some(config_json), deadline).await?;
        report(&parse(&text)?)
    }
}

fn parse(text: &str) -> Result<serde_json::Value, Fault> {
    serde_json::from_str(text).map_err(|err| Fault::PluginError(format!("answer is not JSON: {err}")))
}

/// A report from the ABI's JSON.
fn report(value: &serde_json::Value) -> Result<CheckReport, Fault> {
    if let Some(error) = value.get("error").and_then(|e| e.as_str()) {
        return Err(Fault::PluginError(error.to_owned()));
    }
    let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
    let status = match value["status"].as_str() {
        Some("ok") => Status::Ok,
        Some("degraded") => Status::Degraded,
        Some("down") => Status::Down,
        Some("unknown") => Status::Unknown,
        other => return Err(Fault::PluginError(format!("status {other:?} is not ok, degraded, down or unknown"))),
    };
    let observations = value["observations"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|o| {
                    let labels = o["labels"]
                        .as_object()
                        .map(|l| {
                            l.iter()
                                .map(|(k, v)| Label {
                                    name: k.clone(),
                                    value: v.as_str().unwrap_or_default().to_owned(),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    Some(Observation {
                        name: o["name"].as_str()?.to_owned(),
                        value: o["value"].as_f64()?,
                        unit: o["unit"].as_str().unwrap_or_default().to_owned(),
                        labels,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(CheckReport {
        status,
        mode: text("mode"),
        optimal_mode: text("optimal_mode"),
        impact: text("impact"),
        detail: text("detail"),
        observations,
    })
}
