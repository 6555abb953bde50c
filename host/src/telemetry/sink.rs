//! Where log lines go: the console (stderr or stdout) and/or a file that
//! rotates by size (`vigil.log`, `vigil.log.1`, … `vigil.log.N`; see
//! [`super::rotate`]).

use std::io::Write;
use std::sync::{Mutex, PoisonError};

use super::rotate::RotatingFile;
use crate::config::{Console, LogConfig};

/// The outputs chosen in `[log]`.
pub struct Sink {
    console: Console,
    file: Option<Mutex<RotatingFile>>,
}

impl Sink {
    /// Open the outputs. A log file that cannot be opened is an error naming it.
    pub fn open(config: &LogConfig) -> anyhow::Result<Self> {
        let file = match &config.file {
            Some(path) => Some(Mutex::new(
                RotatingFile::open(path, config.max_file_bytes, config.max_files)
                    .map_err(|err| anyhow::anyhow!("log.file {}: cannot open: {err}", path.display()))?,
            )),
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
