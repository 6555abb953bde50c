//! Plugin manifests (`plugin.toml`): parsing and validation never panic;
//! errors name the file and quote no source line; an accepted manifest
//! hands its plugin valid JSON configuration.

use vigil_host::manifest::Manifest;

/// The property.
pub fn check(data: &[u8]) {
    let Some(text) = super::text(data) else { return };
    match Manifest::parse(text, "fuzz/plugin.toml") {
        Ok(manifest) => {
            let json = manifest.config_json();
            assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok(), "config_json is not JSON: {json}");
            assert!(!manifest.name.is_empty(), "accepted a manifest without a name");
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.starts_with("fuzz/plugin.toml: "), "error does not name the file: {message}");
            super::assert_one_line_error(&message);
        }
    }
}
