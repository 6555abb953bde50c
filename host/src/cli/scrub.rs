//! `vigil scrub`: a credential filter for log streams.

use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;

use super::DaemonArgs;
use crate::daemon::Daemon;
use crate::scrubber;

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
    /// Append the scrubbed lines to this file instead of stdout (for Promtail).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Scrub `input` line by line into `output`: exactly one line out per line
/// in. Output is flushed whenever no more input is buffered, so a pipe from
/// `tail -f` stays live.
pub fn filter(input: impl BufRead, mut output: impl Write, json: bool) -> std::io::Result<u64> {
    let mut input = input;
    let mut line = String::new();
    let mut lines = 0;
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            break;
        }
        let text = line.strip_suffix('\n').unwrap_or(&line);
        let text = text.strip_suffix('\r').unwrap_or(text);
        if json {
            let decoded: String = serde_json::from_str(text).unwrap_or_else(|_| text.to_owned());
            let scrubbed = scrubber::scrub_line(&decoded);
            serde_json::to_writer(&mut output, scrubbed.as_ref())?;
        } else {
            output.write_all(scrubber::scrub_line(text).as_bytes())?;
        }
        output.write_all(b"\n")?;
        lines += 1;
        if input.fill_buf()?.is_empty() {
            output.flush()?;
        }
    }
    output.flush()?;
    Ok(lines)
}

pub async fn execute(args: ScrubArgs) -> anyhow::Result<ExitCode> {
    let config = args.daemon.load_one_shot_config("warn")?;
    // Loading installs the scrubber engine built from the scrubber plugins.
    let _daemon = Daemon::start(config).await?;
    let output: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
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
            let scrub = |line: &str| scrubber::scrub_line(line).into_owned();
            let lines = tokio::task::spawn_blocking(move || scrubber::follow::follow(&path, output, scrub, &stop))
                .await?
                .map_err(|err| anyhow::anyhow!("--follow: {err}"))?;
            tracing::info!(lines, "stopped following");
        }
        None => {
            tokio::task::spawn_blocking(move || filter(std::io::stdin().lock(), output, json)).await??;
        }
    }
    Ok(ExitCode::SUCCESS)
}
