//! Which version of the plugin API a component was built for.
//!
//! The SDK stamps the version into a `vigil:api-version` custom section of
//! the core module; the host reads it before compiling, so a plugin built for
//! another API is refused with a message instead of a link error. Components
//! built without the SDK (another language's tooling) carry no section; then
//! the version in their `vigil:plugin/...@X` import names decides.

/// The API versions this host can run.
pub const SUPPORTED_API_VERSIONS: &[&str] = &["0.1.0"];

/// The custom section the SDK writes.
pub const API_VERSION_SECTION: &str = "vigil:api-version";

/// Why a component's API version is unacceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The bytes are not a WebAssembly binary at all.
    #[error("not a WebAssembly component: {0}")]
    NotWasm(String),
    /// A core module, not a component.
    #[error("is a core WebAssembly module, not a component (build for wasm32-wasip2)")]
    CoreModule,
    /// Built for an API this host does not speak.
    #[error("built for vigil plugin API {found}; this host supports {}", SUPPORTED_API_VERSIONS.join(", "))]
    Unsupported {
        /// The version found in the component.
        found: String,
    },
}

/// Read the API version from the custom section, if the component has one.
/// Also rejects bytes that are not a component.
pub fn stamped_api_version(wasm: &[u8]) -> Result<Option<String>, VersionError> {
    if !wasmparser::Parser::is_component(wasm) {
        return Err(if wasmparser::Parser::is_core_wasm(wasm) {
            VersionError::CoreModule
        } else {
            VersionError::NotWasm("missing the component header".to_owned())
        });
    }
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload {
            Ok(wasmparser::Payload::CustomSection(section)) if section.name() == API_VERSION_SECTION => {
                let version = String::from_utf8_lossy(section.data()).trim().to_owned();
                return Ok(Some(version));
            }
            Ok(_) => {}
            Err(err) => return Err(VersionError::NotWasm(err.to_string())),
        }
    }
    Ok(None)
}

/// The version in an import name such as `vigil:plugin/log@0.1.0`.
pub fn version_from_import(name: &str) -> Option<&str> {
    name.strip_prefix("vigil:plugin/").and_then(|rest| rest.split_once('@')).map(|(_, version)| version)
}

/// Accept or refuse a version.
pub fn check_supported(version: &str) -> Result<(), VersionError> {
    if SUPPORTED_API_VERSIONS.contains(&version) {
        Ok(())
    } else {
        Err(VersionError::Unsupported { found: version.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_wasm_and_core_modules() {
        assert!(matches!(stamped_api_version(b"not wasm at all"), Err(VersionError::NotWasm(_))));
        let core_module = b"\0asm\x01\0\0\0";
        assert_eq!(stamped_api_version(core_module), Err(VersionError::CoreModule));
    }

    #[test]
    fn reads_import_versions() {
        assert_eq!(version_from_import("vigil:plugin/log@0.1.0"), Some("0.1.0"));
        assert_eq!(version_from_import("wasi:io/streams@0.2.6"), None);
    }

    #[test]
    fn unsupported_version_names_what_is_supported() {
        let err = check_supported("0.2.0").unwrap_err().to_string();
        assert_eq!(err, "built for vigil plugin API 0.2.0; this host supports 0.1.0");
    }
}
