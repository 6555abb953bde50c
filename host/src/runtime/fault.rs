//! Why a call into a plugin failed, in words an operator understands.
//!
//! A plugin's own error (its WIT `result::err`) is kept apart from a trap, a
//! timeout or a limit: the first means the plugin worked and judged its
//! subsystem unusable; the others mean the plugin itself misbehaved, and its
//! instance is thrown away.

use std::time::Duration;

use wasmtime::Trap;

use crate::runtime::state::HostState;

/// A failed call into a plugin.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Fault {
    /// The call did not return within its deadline.
    #[error("timed out after {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// The plugin tried to grow its memory past its cap.
    #[error("exceeded memory limit of {limit_mib} MiB (tried to grow to {} MiB)", .attempted / (1024 * 1024))]
    MemoryLimit {
        /// The cap, in MiB.
        limit_mib: usize,
        /// The size it asked for, in bytes.
        attempted: usize,
    },
    /// The guest panicked; the message comes from its stderr.
    #[error("panicked: {0}")]
    Panic(String),
    /// The guest overflowed its stack.
    #[error("stack overflow (unbounded recursion?)")]
    StackOverflow,
    /// Any other trap.
    #[error("trapped: {0}")]
    Trap(String),
    /// The plugin returned its own error.
    #[error("plugin error: {0}")]
    PluginError(String),
    /// The plugin returned more data than the host accepts.
    #[error("returned an oversized {what}: {size} {unit} (limit {limit})")]
    Oversized {
        /// Which field.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
        /// `bytes` or `items`.
        unit: &'static str,
    },
    /// The plugin exports the wrong functions for the call.
    #[error("does not export {0}")]
    WrongKind(&'static str),
    /// The host failed to run the call (instantiation, an internal error).
    #[error("host error: {0}")]
    Host(String),
}

impl Fault {
    /// A bounded label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::MemoryLimit { .. } => "memory_limit",
            Self::Panic(_) => "panic",
            Self::StackOverflow => "stack_overflow",
            Self::Trap(_) => "trap",
            Self::PluginError(_) => "plugin_error",
            Self::Oversized { .. } => "oversized",
            Self::WrongKind(_) => "wrong_kind",
            Self::Host(_) => "host_error",
        }
    }

    /// Whether the instance must be discarded (everything but the plugin's
    /// own error and an oversized answer leaves the store unusable or suspect).
    pub fn poisons_instance(&self) -> bool {
        !matches!(self, Self::PluginError(_))
    }

    /// Explain an error returned by wasmtime for a call on a store with `state`.
    pub fn classify(error: &wasmtime::Error, state: &HostState) -> Self {
        let stderr = state.stderr.take();
        if let Some(attempted) = state.guard.denied_growth {
            return Self::MemoryLimit { limit_mib: state.plugin.memory_limit / (1024 * 1024), attempted };
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::StackOverflow) => Self::StackOverflow,
            Some(Trap::Interrupt) => Self::Trap("interrupted by the epoch deadline".to_owned()),
            Some(trap) => match panic_message(&stderr) {
                Some(message) => Self::Panic(message),
                None if stderr.contains("memory allocation of") => {
                    Self::MemoryLimit { limit_mib: state.plugin.memory_limit / (1024 * 1024), attempted: 0 }
                }
                None => Self::Trap(trap.to_string()),
            },
            None => Self::Host(first_line(&format!("{error:#}"))),
        }
    }
}

/// The message of a Rust panic as the guest printed it:
/// `thread '<unnamed>' panicked at src/lib.rs:3:5:\n<message>\nnote: ...`.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.rfind("panicked at ")?;
    let after = &stderr[start..];
    let mut lines = after.lines();
    let location = lines.next().unwrap_or_default();
    let message: Vec<&str> = lines.take_while(|line| !line.starts_with("note: ")).collect();
    let message = message.join(" ");
    let message = if message.trim().is_empty() {
        // Older toolchains print `panicked at 'msg', src/lib.rs:3:5`.
        location.trim_start_matches("panicked at ").to_owned()
    } else {
        message
    };
    Some(truncate(message.trim(), 512))
}

fn first_line(text: &str) -> String {
    truncate(text.lines().next().unwrap_or_default(), 512)
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_modern_panic_message() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:31:24:\nfixture panicked on purpose\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(panic_message(stderr).as_deref(), Some("fixture panicked on purpose"));
    }

    #[test]
    fn extracts_legacy_panic_message() {
        let stderr = "thread 'main' panicked at 'boom', src/lib.rs:3:5\n";
        assert_eq!(panic_message(stderr).as_deref(), Some("'boom', src/lib.rs:3:5"));
    }

    #[test]
    fn no_panic_without_marker() {
        assert_eq!(panic_message("memory allocation of 1073741824 bytes failed"), None);
    }

    #[test]
    fn reasons_read_well() {
        assert_eq!(Fault::Timeout(Duration::from_secs(2)).to_string(), "timed out after 2s");
        let memory = Fault::MemoryLimit { limit_mib: 64, attempted: 1 << 30 };
        assert_eq!(memory.to_string(), "exceeded memory limit of 64 MiB (tried to grow to 1024 MiB)");
        assert_eq!(Fault::Panic("boom".into()).to_string(), "panicked: boom");
    }

    #[test]
    fn truncates_on_char_boundary() {
        let text = "é".repeat(400);
        let cut = truncate(&text, 511);
        assert!(cut.ends_with('…'));
        assert!(cut.len() <= 514);
    }
}
