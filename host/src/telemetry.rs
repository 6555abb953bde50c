//! Log output: JSON lines (for Promtail and Loki) or text, to the console
//! and/or a rotating file. Every line, whatever produced it (an event, a
//! plugin's log call, a panic), is written through the credential scrubber:
//! nothing bypasses it.

mod json;
pub mod rotate;
mod sink;

use std::io::Write;
use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::JsonFields;

pub use json::JsonLines;
pub use sink::Sink;

use crate::config::{LogConfig, LogFormat};

static SINK: OnceLock<Sink> = OnceLock::new();

/// Collects one formatted record and writes it, scrubbed, when dropped.
#[derive(Default)]
pub struct ScrubbingWriter {
    buffer: Vec<u8>,
}

impl Write for ScrubbingWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ScrubbingWriter {
    fn drop(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buffer);
        let mut out = String::with_capacity(text.len());
        let mut stream = crate::scrubber::lines::Lines::new();
        for line in text.split_inclusive('\n') {
            let (body, newline) = match line.strip_suffix('\n') {
                Some(body) => (body, "\n"),
                None => (line, ""),
            };
            out.push_str(&crate::scrubber::scrub_stream_line(&mut stream, body));
            out.push_str(newline);
        }
        match SINK.get() {
            Some(sink) => sink.write(out.as_bytes()),
            None => drop(std::io::stderr().lock().write_all(out.as_bytes())),
        }
    }
}

/// Route panics through the (scrubbed) log instead of raw stderr.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned());
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        tracing::error!(target: "vigil::panic", location, "panicked: {message}");
    }));
}

/// Install the global subscriber and open the outputs `config` names.
/// The filter: `--log-level` (`config.level_from_command_line`), else
/// `RUST_LOG` when set, else `config.level`. Only the first call in a
/// process takes effect; later ones return `Ok` and change nothing.
pub fn init(config: &LogConfig) -> anyhow::Result<()> {
    if SINK.get().is_some() {
        return Ok(());
    }
    let _ = SINK.set(Sink::open(config)?);
    let from_environment = if config.level_from_command_line { None } else { EnvFilter::try_from_default_env().ok() };
    let filter =
        from_environment.or_else(|| EnvFilter::try_new(&config.level).ok()).unwrap_or_else(|| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(ScrubbingWriter::default);
    let _ = match config.format {
        LogFormat::Json => builder.fmt_fields(JsonFields::new()).event_format(JsonLines).try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
    install_panic_hook();
    Ok(())
}
