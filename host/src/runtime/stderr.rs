//! A bounded sink for a guest's stderr.
//!
//! A Rust guest's panic message reaches the host only through stderr, so each
//! store writes stderr here; the runtime reads it to explain a trap. Only the
//! last [`TAIL_BYTES`] are kept, so a chatty plugin can neither grow host
//! memory nor trap by filling a fixed pipe.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// How much of a guest's stderr is kept.
pub const TAIL_BYTES: usize = 16 * 1024;

/// The tail of a guest's stderr. Clones share the buffer.
#[derive(Clone, Default)]
pub struct StderrTail {
    buffer: Arc<Mutex<VecDeque<u8>>>,
}

impl StderrTail {
    /// Take what was written so far, leaving the buffer empty.
    pub fn take(&self) -> String {
        let mut buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let bytes: Vec<u8> = buffer.drain(..).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn push(&self, bytes: &[u8]) {
        let mut buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let bytes = &bytes[bytes.len().saturating_sub(TAIL_BYTES)..];
        let overflow = (buffer.len() + bytes.len()).saturating_sub(TAIL_BYTES);
        let drop_count = overflow.min(buffer.len());
        buffer.drain(..drop_count);
        buffer.extend(bytes);
    }
}

impl IsTerminal for StderrTail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StderrTail {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for StderrTail {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_tail() {
        let tail = StderrTail::default();
        tail.push(&vec![b'a'; TAIL_BYTES]);
        tail.push(b"panicked at x");
        let text = tail.take();
        assert_eq!(text.len(), TAIL_BYTES);
        assert!(text.ends_with("panicked at x"));
        assert!(tail.take().is_empty());
    }

    #[test]
    fn oversized_single_write_keeps_its_end() {
        let tail = StderrTail::default();
        let mut big = vec![b'x'; TAIL_BYTES * 2];
        big.extend_from_slice(b"END");
        tail.push(&big);
        let text = tail.take();
        assert_eq!(text.len(), TAIL_BYTES);
        assert!(text.ends_with("END"));
    }
}
