//! A log file rotated by size the way log shippers follow one: rename and
//! create, numbered. When the live file (`vigil.log`) has grown past the
//! limit, it is closed, older files shift up one number (`.1` → `.2`, the
//! oldest beyond `max_files` is deleted), the live file becomes `.1`, and a
//! new live file is created at once. Nothing is ever written to a file
//! after its rename, and a rotation happens only between whole lines.
//!
//! Promtail, Grafana Alloy and Fluent Bit all follow this when told to tail
//! the live path only: each notices the rename, reads the renamed file to
//! its end, and reopens the path (Promtail's documentation recommends this
//! scheme, "rename and create"). A tailer must not match the numbered files:
//! each shift gives every one of them a new name, which a tailer reads as a
//! new file from its start (this is how `vigil.log*` duplicated every line
//! several times over). Date-stamped names that never change would survive
//! a tailer that is down across a rotation, but only with a glob and a scan
//! delay, and no live path to `tail -f`; see the README on shipping.

use std::io::{self, Write};
use std::path::Path;

use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate, compression::Compression};

/// The live file and its rotated predecessors.
pub struct RotatingFile {
    file: FileRotate<AppendCount>,
    /// The start of a line not yet finished, held back so that a rotation
    /// never splits a line between two files.
    partial: Vec<u8>,
}

impl RotatingFile {
    /// Append to `path` (created if missing), rotating once it has grown past
    /// `max_file_bytes` and keeping `max_files` rotated files.
    pub fn open(path: &Path, max_file_bytes: u64, max_files: usize) -> io::Result<Self> {
        // FileRotate swallows open errors, so open once here to report them.
        std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        let limit = usize::try_from(max_file_bytes.max(1)).unwrap_or(usize::MAX);
        let file = FileRotate::new(
            path,
            AppendCount::new(max_files.max(1)),
            ContentLimit::BytesSurpassed(limit),
            Compression::None,
            None,
        );
        Ok(Self { file, partial: Vec::new() })
    }
}

impl Write for RotatingFile {
    /// Whole lines go to the live file in one write (a rotation can only
    /// come before it); the rest waits for its newline.
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match bytes.iter().rposition(|&b| b == b'\n') {
            Some(last) if self.partial.is_empty() => {
                self.file.write_all(&bytes[..=last])?;
                self.partial.extend_from_slice(&bytes[last + 1..]);
            }
            Some(last) => {
                self.partial.extend_from_slice(&bytes[..=last]);
                let lines = std::mem::take(&mut self.partial);
                self.file.write_all(&lines)?;
                self.partial.extend_from_slice(&bytes[last + 1..]);
            }
            None => self.partial.extend_from_slice(bytes),
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for RotatingFile {
    /// A last line without its newline is written as it is.
    fn drop(&mut self) {
        if !self.partial.is_empty() {
            let _ = self.file.write_all(&self.partial).and_then(|()| self.file.flush());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_renames_and_never_splits_a_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.log");
        let mut file = RotatingFile::open(&path, 100, 1000).expect("open");
        let mut expected = Vec::new();
        for n in 0..200 {
            let line = format!("line {n:04} {}\n", "x".repeat(n % 37));
            expected.push(line.trim_end_matches('\n').to_owned());
            // In pieces, as a BufWriter would hand them over.
            let (a, b) = line.as_bytes().split_at(line.len() / 2);
            file.write_all(a).expect("write");
            file.write_all(b).expect("write");
        }
        file.flush().expect("flush");
        drop(file);
        let mut files: Vec<(usize, std::path::PathBuf)> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .map(|p| {
                let n = p.extension().and_then(|e| e.to_str()).and_then(|e| e.parse().ok()).unwrap_or(0);
                (n, p)
            })
            .collect();
        assert!(files.len() > 40, "only {} files", files.len());
        // Oldest first: the highest number, the live file last.
        files.sort_by_key(|f| std::cmp::Reverse(f.0));
        let mut seen = Vec::new();
        for (_, path) in &files {
            let text = std::fs::read_to_string(path).expect("read");
            assert!(text.is_empty() || text.ends_with('\n'), "{} ends mid-line", path.display());
            seen.extend(text.lines().map(str::to_owned));
        }
        assert_eq!(seen, expected);
    }
}
