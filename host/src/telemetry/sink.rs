//! Where log lines go: the console (stderr or stdout) and/or a file that
//! rotates by size (`vigil.log`, `vigil.log.1`, … `vigil.log.N`).

use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate, compression::Compression};

use crate::config::{Console, LogConfig};

/// The outputs chosen in `[log]`.
pub struct Sink {
    console: Console,
    file: Option<Mutex<FileRotate<AppendCount>>>,
}

impl Sink {
    /// Open the outputs. A log file that cannot be opened is an error naming it.
    pub fn open(config: &LogConfig) -> anyhow::Result<Self> {
        let file = match &config.file {
            Some(path) => Some(Mutex::new(rotating(path, config)?)),
            None => None,
        };
        Ok(Self { console: config.console, file })
    }

    /// Write one finished (already scrubbed) record.
    pub fn write(&self, bytes: &[u8]) {
        match self.console {
            Console::Stderr => drop(std::io::stderr().lock().write_all(bytes)),
            Console::Stdout => drop(std::io::stdout().lock().write_all(bytes)),
            Console::Off => {}
        }
        if let Some(file) = &self.file {
            let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
            // A full disk must not stop the daemon; the console still has the line.
            let _ = file.write_all(bytes).and_then(|()| file.flush());
        }
    }
}

fn rotating(path: &Path, config: &LogConfig) -> anyhow::Result<FileRotate<AppendCount>> {
    // FileRotate swallows open errors, so open once here to report them.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|err| anyhow::anyhow!("log.file {}: cannot open: {err}", path.display()))?;
    let limit = usize::try_from(config.max_file_bytes.max(1)).unwrap_or(usize::MAX);
    Ok(FileRotate::new(
        path,
        AppendCount::new(config.max_files.max(1)),
        ContentLimit::BytesSurpassed(limit),
        Compression::None,
        None,
    ))
}
