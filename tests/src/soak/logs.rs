//! A platform log with credentials in it, written steadily and rotated by
//! rename, for `vigil scrub --follow` to turn into a scrubbed copy. At the
//! end every line written must have come out once, and no planted secret.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::process::ScrubFollower;

/// Lines per file before it is rotated.
const ROTATE_EVERY: usize = 2_000;

/// What the writer wrote.
#[derive(Debug, Default)]
pub struct Written {
    /// Lines in all.
    pub lines: usize,
    /// Lines carrying a secret.
    pub with_secret: usize,
    /// Rotations.
    pub rotations: usize,
    /// Every distinct secret planted.
    pub secrets: Vec<String>,
}

/// (secret, line) pairs from the positive corpus, and the negative lines.
fn corpus() -> (Vec<(String, String)>, Vec<String>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let positive = std::fs::read_to_string(dir.join("scrubber-positive.tsv")).expect("positive corpus");
    let negative = std::fs::read_to_string(dir.join("scrubber-negative.txt")).expect("negative corpus");
    let secrets = positive
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut fields = l.splitn(3, '\t');
            let (_, secret, line) = (fields.next()?, fields.next()?, fields.next()?);
            Some((secret.to_owned(), line.to_owned()))
        })
        .collect();
    (secrets, negative.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).map(str::to_owned).collect())
}

/// Write `path` every `pace` until `stop`: mostly ordinary lines, one in
/// five from the corpus of secrets; rename to `path.1` every 2,000 lines.
pub fn write(path: &Path, pace: Duration, stop: &AtomicBool) -> Written {
    let (secrets, ordinary) = corpus();
    let mut written = Written { secrets: secrets.iter().map(|(s, _)| s.clone()).collect(), ..Written::default() };
    let mut file = std::fs::File::create(path).expect("app log");
    let mut in_file = 0;
    while !stop.load(Ordering::Relaxed) {
        let n = written.lines;
        let line = if n.is_multiple_of(5) {
            written.with_secret += 1;
            format!("{n} {}", secrets[n / 5 % secrets.len()].1)
        } else {
            format!("{n} INFO app.api request handled: {}", ordinary[n % ordinary.len()])
        };
        writeln!(file, "{line}").expect("write app log");
        written.lines += 1;
        in_file += 1;
        if in_file == ROTATE_EVERY {
            std::fs::rename(path, path.with_extension("log.1")).expect("rotate");
            file = std::fs::File::create(path).expect("new app log");
            in_file = 0;
            written.rotations += 1;
        }
        std::thread::sleep(pace);
    }
    written
}

/// Wait (bounded) until `follower` has written `expected` lines, stop it,
/// and return its output.
pub fn finish(follower: ScrubFollower, expected: usize) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while follower.lines() < expected && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = follower.output.clone();
    follower.stop();
    std::fs::read_to_string(output).unwrap_or_default()
}

/// Run the writer on its own thread.
pub fn spawn_writer(path: PathBuf, pace: Duration, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Written> {
    std::thread::spawn(move || write(&path, pace, &stop))
}
