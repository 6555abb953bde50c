//! `[log]` and `[admin]`: where log lines go, and the admin routes' gate.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::secret::Secret;

/// The admin routes' gate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// The bearer token callers must present. Default: read from the
    /// environment variable `VIGIL_ADMIN_TOKEN`; while it is unset the admin
    /// routes answer 403.
    #[serde(default = "default_admin_token")]
    pub token: Secret,
    /// Admin requests allowed per source address in each `rate_window`.
    #[serde(default = "default_rate_limit")]
    pub rate_limit: u32,
    /// The rate-limit window.
    #[serde(default = "default_rate_window", with = "humantime_serde")]
    pub rate_window: Duration,
}

fn default_admin_token() -> Secret {
    Secret::Env { env: "VIGIL_ADMIN_TOKEN".to_owned(), optional: false }
}

fn default_rate_limit() -> u32 {
    10
}

fn default_rate_window() -> Duration {
    Duration::from_secs(60)
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self { token: default_admin_token(), rate_limit: default_rate_limit(), rate_window: default_rate_window() }
    }
}

/// Log output settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `json` (one object per line, for Promtail) or `text` (for humans).
    #[serde(default)]
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `info,vigil::plugin=debug`.
    #[serde(default = "default_level")]
    pub level: String,
    /// Console output: `stderr` (default), `stdout` or `off`.
    #[serde(default)]
    pub console: Console,
    /// Also write to this file, rotated by size.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Rotate the log file once it grows past this many bytes.
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
    /// Rotated files kept (`vigil.log.1` … `vigil.log.N`).
    #[serde(default = "default_max_files")]
    pub max_files: usize,
    /// Not a file setting: `--log-level` was given, so `level` wins over
    /// `RUST_LOG` (otherwise `RUST_LOG` wins over `level`).
    #[serde(skip)]
    pub level_from_command_line: bool,
}

fn default_level() -> String {
    "info".to_owned()
}

fn default_max_file_bytes() -> u64 {
    64 * 1024 * 1024
}

fn default_max_files() -> usize {
    5
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::default(),
            level: default_level(),
            console: Console::default(),
            file: None,
            max_file_bytes: default_max_file_bytes(),
            level_from_command_line: false,
            max_files: default_max_files(),
        }
    }
}

impl LogConfig {
    /// Text logs at `level` on stderr: what one-shot commands use, so their
    /// stdout stays clean for results.
    pub fn one_shot(level: &str) -> Self {
        Self { format: LogFormat::Text, level: level.to_owned(), ..Self::default() }
    }
}

/// Where console log lines go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Console {
    /// Standard error (commands keep stdout for their results).
    #[default]
    Stderr,
    /// Standard output.
    Stdout,
    /// No console output (use `file`).
    Off,
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    #[default]
    Json,
    /// Human-readable lines.
    Text,
}
