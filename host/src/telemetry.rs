//! Log output: JSON lines (for Promtail and Loki) or text, to stderr. Every
//! line, whatever produced it (an event, a plugin's log call, a panic), is
//! written through the credential scrubber: nothing bypasses it.

use std::io::Write;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

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
        for line in text.split_inclusive('\n') {
            let (body, newline) = match line.strip_suffix('\n') {
                Some(body) => (body, "\n"),
                None => (line, ""),
            };
            out.push_str(&crate::scrubber::scrub_line(body));
            out.push_str(newline);
        }
        let _ = std::io::stderr().lock().write_all(out.as_bytes());
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

/// Install the global subscriber. `filter` is a `tracing` filter string;
/// `RUST_LOG`, when set, wins. Safe to call twice (the second call is a no-op).
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(ScrubbingWriter::default);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    install_panic_hook();
}
