//! `vigil scrub --follow`: tail a growing log file and write a scrubbed
//! copy, one line out per line in. Rotation-aware: when the path is replaced
//! (rename and recreate, as logrotate and most loggers do), the old file is
//! read to its end before the new one is opened; when the file is truncated
//! in place (copytruncate), reading restarts at its beginning. The file is
//! polled, which works the same on every filesystem, including network ones.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the file is checked for growth or rotation when idle.
pub const POLL: Duration = Duration::from_millis(100);

/// The file being read and where reading is.
struct Open {
    file: File,
    inode: (u64, u64),
    offset: u64,
}

impl Open {
    fn at(path: &Path) -> Option<Self> {
        let file = File::open(path).ok()?;
        let meta = file.metadata().ok()?;
        Some(Self { file, inode: (meta.dev(), meta.ino()), offset: 0 })
    }
}

/// Follow `path` until `stop` is set, writing its complete lines through
/// `scrub` to `output` (`scrub` takes and returns a run of whole lines
/// without the final newline). Returns the number of lines written.
pub fn follow(
    path: &Path,
    mut output: impl Write,
    mut scrub: impl FnMut(&str) -> String,
    stop: &AtomicBool,
) -> std::io::Result<u64> {
    let mut current: Option<Open> = None;
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut lines = 0;
    while !stop.load(Ordering::Relaxed) {
        let Some(open) = current.as_mut() else {
            current = Open::at(path);
            if current.is_none() {
                std::thread::sleep(POLL);
            }
            continue;
        };
        let read = open.file.read(&mut chunk)?;
        if read > 0 {
            open.offset += read as u64;
            pending.extend_from_slice(&chunk[..read]);
            lines += write_lines(&mut pending, &mut output, &mut scrub)?;
            continue;
        }
        // At the end of what is there: has the file been replaced or cut?
        match std::fs::metadata(path) {
            Ok(meta) if (meta.dev(), meta.ino()) != open.inode => {
                // Lines the writer added between our last read and the swap.
                open.file.read_to_end(&mut pending)?;
                lines += write_lines(&mut pending, &mut output, &mut scrub)?;
                lines += finish_partial(&mut pending, &mut output, &mut scrub)?;
                current = Open::at(path);
            }
            Ok(meta) if meta.len() < open.offset => {
                lines += finish_partial(&mut pending, &mut output, &mut scrub)?;
                open.file.seek(SeekFrom::Start(0))?;
                open.offset = 0;
            }
            _ => std::thread::sleep(POLL),
        }
    }
    Ok(lines)
}

/// Write every complete line in `pending`, keeping the unfinished tail.
pub fn write_lines(
    pending: &mut Vec<u8>,
    output: &mut impl Write,
    scrub: &mut impl FnMut(&str) -> String,
) -> std::io::Result<u64> {
    let Some(last) = memchr::memrchr(b'\n', pending) else { return Ok(0) };
    let lines = write_run(&pending[..last], output, scrub)?;
    pending.drain(..=last);
    output.flush()?;
    Ok(lines)
}

/// A file ended without a newline: its last line is still a line.
pub fn finish_partial(
    pending: &mut Vec<u8>,
    output: &mut impl Write,
    scrub: &mut impl FnMut(&str) -> String,
) -> std::io::Result<u64> {
    if pending.is_empty() {
        return Ok(0);
    }
    write_run(pending, output, scrub)?;
    pending.clear();
    output.flush()?;
    Ok(1)
}

/// Scrub and write a run of whole lines (without its final newline).
fn write_run(run: &[u8], output: &mut impl Write, scrub: &mut impl FnMut(&str) -> String) -> std::io::Result<u64> {
    // UTF-8 is checked at SIMD speed; invalid sequences become U+FFFD.
    let text = match std::str::from_utf8(run) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(run),
    };
    output.write_all(scrub(&text).as_bytes())?;
    output.write_all(b"\n")?;
    Ok(memchr::memchr_iter(b'\n', run).count() as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_lines_are_written_and_the_tail_is_kept() {
        let mut pending = b"one\ntwo\r\nthr".to_vec();
        let mut out = Vec::new();
        let n = write_lines(&mut pending, &mut out, &mut |l: &str| l.replace('\r', "").to_uppercase()).unwrap();
        assert_eq!((n, out.as_slice(), pending.as_slice()), (2, b"ONE\nTWO\n".as_slice(), b"thr".as_slice()));
        assert_eq!(finish_partial(&mut pending, &mut out, &mut |l: &str| l.to_owned()).unwrap(), 1);
        assert_eq!(out, b"ONE\nTWO\nthr\n");
    }
}
