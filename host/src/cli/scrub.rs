//! `vigil scrub`: a credential filter for log streams.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;

use super::DaemonArgs;
use crate::daemon::Daemon;
use crate::scrubber::{self, follow};
use crate::telemetry::rotate::RotatingFile;

#[derive(Debug, Args)]
pub struct ScrubArgs {
    #[command(flatten)]
    daemon: DaemonArgs,
    /// Each input line is a JSON string literal (so multi-line texts such as
    /// PEM keys or tracebacks fit in one line); so is each output line.
    #[arg(long, conflicts_with = "follow")]
    json: bool,
    /// Tail this growing log file (rotation-aware) instead of reading stdin.
    #[arg(long, value_name = "FILE")]
    follow: Option<PathBuf>,
    /// Append the scrubbed lines to this file instead of stdout, rotated by
    /// size like the daemon's log (FILE, FILE.1, … FILE.N; renamed and
    /// created, never split mid-line): ship FILE itself, not FILE*.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Rotate --output once it grows past this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024, requires = "output")]
    max_file_bytes: u64,
    /// Rotated files of --output kept (FILE.1 … FILE.N).
    #[arg(long, value_name = "N", default_value_t = 5, requires = "output")]
    max_files: usize,
}

/// Bytes `vigil scrub` reads from stdin at once (at most: a pipe gives what
/// it has).
const READ_CHUNK: usize = 256 << 10;

/// Scrub `input` into `output`: exactly one line out per line in. Whole
/// lines are scrubbed in chunks of what has arrived (one interleaved scan
/// per chunk), and output is flushed after each chunk, so a pipe from
/// `tail -f` stays live. `json`: each line is a JSON string literal, so
/// multi-line texts such as PEM keys or tracebacks fit in one line.
pub fn filter(mut input: impl BufRead, mut output: impl Write, json: bool) -> std::io::Result<u64> {
    if json {
        return filter_json(input, output);
    }
    let mut stream = scrubber::lines::Lines::new();
    let mut scrub = |run: &str| scrubber::scrub_run(&mut stream, run);
    let mut pending: Vec<u8> = Vec::new();
    let mut lines = 0;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            break;
        }
        let taken = available.len();
        pending.extend_from_slice(available);
        input.consume(taken);
        lines += follow::write_lines(&mut pending, &mut output, &mut scrub)?;
    }
    lines += follow::finish_partial(&mut pending, &mut output, &mut scrub)?;
    output.flush()?;
    Ok(lines)
}

fn filter_json(mut input: impl BufRead, mut output: impl Write) -> std::io::Result<u64> {
    let mut line = String::new();
    let mut lines = 0;
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            break;
        }
        let text = line.strip_suffix('\n').unwrap_or(&line);
        let text = text.strip_suffix('\r').unwrap_or(text);
        let decoded: String = serde_json::from_str(text).unwrap_or_else(|_| text.to_owned());
        // One JSON string may hold a whole multi-line text.
        let scrubbed = scrubber::scrub_run(&mut scrubber::lines::Lines::new(), &decoded);
        serde_json::to_writer(&mut output, &scrubbed)?;
        output.write_all(b"\n")?;
        lines += 1;
        output.flush()?;
    }
    Ok(lines)
}

pub async fn execute(args: ScrubArgs) -> anyhow::Result<ExitCode> {
    let config = args.daemon.load_one_shot_config("warn")?;
    // Loading installs the scrubber engine built from the scrubber plugins.
    let _daemon = Daemon::start(config).await?;
    let output: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(
            RotatingFile::open(path, args.max_file_bytes, args.max_files)
                .map_err(|err| anyhow::anyhow!("--output {}: {err}", path.display()))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let output = BufWriter::new(output);
    let json = args.json;
    match args.follow {
        Some(path) => {
            let stop = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&stop);
            tokio::spawn(async move {
                super::run::wait_for_signal().await;
                flag.store(true, Ordering::Relaxed);
            });
            let mut stream = scrubber::lines::Lines::new();
            let scrub = move |run: &str| scrubber::scrub_run(&mut stream, run);
            let lines = tokio::task::spawn_blocking(move || follow::follow(&path, output, scrub, &stop))
                .await?
                .map_err(|err| anyhow::anyhow!("--follow: {err}"))?;
            tracing::info!(lines, "stopped following");
        }
        None => {
            // Large reads: the scan of a chunk interleaves four cursors, and
            // each chunk costs a write and a flush.
            tokio::task::spawn_blocking(move || {
                filter(std::io::BufReader::with_capacity(READ_CHUNK, std::io::stdin().lock()), output, json)
            })
            .await??;
        }
    }
    Ok(ExitCode::SUCCESS)
}
