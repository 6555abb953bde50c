//! Write the generated scrubber corpus out for reading or for other tools:
//! `scrubber-corpus DIR [SEED] [LOG_MB]` writes `positives.tsv` (class,
//! secrets joined by a tab-safe `|`, line), `innocents.tsv` (strings that
//! must survive, line) and `log.txt` (a log of LOG_MB megabytes, default 40,
//! with a secret in one line of 100), all from SEED (default 1).

use std::fmt::Write as _;
use std::path::PathBuf;

use vigil_tests::corpus::{self, Corpus};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or_else(|| anyhow::anyhow!("usage: scrubber-corpus DIR [SEED] [LOG_MB]"))?);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    let megabytes: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(40);
    std::fs::create_dir_all(&dir)?;
    let corpus = Corpus::generate(seed, 14);
    let mut positives = String::new();
    for case in &corpus.positives {
        writeln!(positives, "{}\t{}\t{}", case.class, case.secrets.join(" | "), case.line)?;
    }
    let mut innocents = String::new();
    for case in &corpus.innocents {
        writeln!(innocents, "{}\t{}", case.keep.join(" | "), case.line)?;
    }
    std::fs::write(dir.join("positives.tsv"), positives)?;
    std::fs::write(dir.join("innocents.tsv"), innocents)?;
    std::fs::write(dir.join("log.txt"), corpus::log(seed, megabytes << 20, 100).join("\n") + "\n")?;
    println!(
        "{}: {} lines with secrets, {} innocent lines, a {megabytes} MB log",
        dir.display(),
        corpus.positives.len(),
        corpus.innocents.len()
    );
    Ok(())
}
