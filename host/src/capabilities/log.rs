//! `log`: plugin log lines, tagged with the plugin and bounded in size.

use crate::runtime::HostState;
use crate::runtime::bindings::host::vigil::plugin::log::{Host, Level};

/// Longest plugin log message kept; the rest is cut.
const MAX_MESSAGE: usize = 4096;

impl Host for HostState {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let plugin = self.plugin.name.as_str();
        let message = clip(&message);
        match level {
            Level::Trace => tracing::trace!(target: "vigil::plugin", plugin, "{message}"),
            Level::Debug => tracing::debug!(target: "vigil::plugin", plugin, "{message}"),
            Level::Info => tracing::info!(target: "vigil::plugin", plugin, "{message}"),
            Level::Warn => tracing::warn!(target: "vigil::plugin", plugin, "{message}"),
            Level::Error => tracing::error!(target: "vigil::plugin", plugin, "{message}"),
        }
        Ok(())
    }
}

fn clip(message: &str) -> &str {
    if message.len() <= MAX_MESSAGE {
        return message;
    }
    let mut end = MAX_MESSAGE;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

#[cfg(test)]
mod tests {
    #[test]
    fn clips_long_messages_on_char_boundaries() {
        let long = "ü".repeat(super::MAX_MESSAGE);
        let clipped = super::clip(&long);
        assert!(clipped.len() <= super::MAX_MESSAGE);
        assert!(super::clip("short") == "short");
    }
}
