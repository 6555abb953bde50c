//! `exec`: run a program the plugin's grant names, without a shell, with a
//! timeout, capped output and a scrubbed environment (only `PATH`, `HOME`
//! and `LANG` pass: the daemon's environment may hold credentials).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::capabilities::grants;
use crate::runtime::HostState;
use crate::runtime::bindings::CapabilityError;
use crate::runtime::bindings::host::vigil::plugin::exec::{Host, Output};

type Answer<T> = wasmtime::Result<Result<T, CapabilityError>>;

/// Output kept per stream.
pub const MAX_OUTPUT: usize = 64 * 1024;
/// Longest a program may run, whatever the plugin asks.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// Most arguments a plugin may pass.
const MAX_ARGS: usize = 64;

/// Where programs are looked up.
#[derive(Debug, Clone, Default)]
pub struct ExecBackend {
    /// `PATH` for the child; `None` uses the daemon's.
    pub path: Option<String>,
}

/// Resolve a bare program name on `path` (an absolute name stays as it is).
fn resolve(program: &str, path: Option<&str>) -> std::path::PathBuf {
    let Some(path) = path else { return program.into() };
    if program.contains('/') {
        return program.into();
    }
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| program.into())
}

/// Run `program` with `args`; kill it after `timeout`.
pub async fn run(program: &str, args: &[String], timeout: Duration) -> Result<Output, CapabilityError> {
    run_with_path(program, args, timeout, None).await
}

/// Run `program`, looked up on `path`, with `args`; kill it after `timeout`.
pub async fn run_with_path(
    program: &str,
    args: &[String],
    timeout: Duration,
    path: Option<&str>,
) -> Result<Output, CapabilityError> {
    if args.len() > MAX_ARGS {
        return Err(CapabilityError::Failed(format!("exec: at most {MAX_ARGS} arguments")));
    }
    let mut command = Command::new(resolve(program, path));
    command
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for name in ["PATH", "HOME", "LANG"] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let mut child = command
        .spawn()
        .map_err(|err| CapabilityError::NotAvailable(format!("exec: cannot run {program:?}: {}", err.kind())))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(CapabilityError::Failed("exec: no output pipes".to_owned()));
    };
    let finished = async {
        let (stdout, stderr) = tokio::join!(read_capped(stdout), read_capped(stderr));
        let status = child.wait().await;
        (stdout, stderr, status)
    };
    match tokio::time::timeout(timeout.min(MAX_TIMEOUT), finished).await {
        // Dropping the future drops the child, which kills it (kill_on_drop).
        Err(_) => Err(CapabilityError::Timeout(format!(
            "exec: {program} did not finish within {}",
            humantime::format_duration(timeout.min(MAX_TIMEOUT))
        ))),
        Ok((_, _, Err(err))) => Err(CapabilityError::Failed(format!("exec: waiting for {program}: {}", err.kind()))),
        Ok(((stdout, cut_out), (stderr, cut_err), Ok(status))) => {
            Ok(Output { exit_code: status.code(), stdout, stderr, truncated: cut_out || cut_err })
        }
    }
}

/// Read a stream to its end, keeping the first [`MAX_OUTPUT`] bytes.
async fn read_capped(mut stream: impl AsyncRead + Unpin) -> (String, bool) {
    let mut kept = Vec::new();
    let mut buffer = [0u8; 8192];
    let mut truncated = false;
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = MAX_OUTPUT.saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..n.min(room)]);
                truncated |= n > room;
            }
        }
    }
    (String::from_utf8_lossy(&kept).into_owned(), truncated)
}

impl Host for HostState {
    async fn run(&mut self, program: String, args: Vec<String>, timeout_ms: u32) -> Answer<Output> {
        if let Err(refusal) = grants::exec(&self.plugin.grants, &program) {
            return Ok(Err(self.services.refuse(&self.plugin.name, refusal)));
        }
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        let path = self.services.exec.path.clone();
        Ok(self.off_cpu(async move { run_with_path(&program, &args, timeout, path.as_deref()).await }).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn captures_output_and_exit_code() {
        let output = run("sh", &["-c".into(), "echo out; echo err >&2; exit 3".into()], Duration::from_secs(5))
            .await
            .expect("runs");
        assert_eq!(output.exit_code, Some(3));
        assert_eq!(output.stdout, "out\n");
        assert_eq!(output.stderr, "err\n");
        assert!(!output.truncated);
    }

    #[tokio::test]
    async fn kills_programs_that_overrun() {
        let err = run("sleep", &["30".into()], Duration::from_millis(100)).await.unwrap_err();
        assert!(matches!(err, CapabilityError::Timeout(_)), "{err:?}");
    }

    #[tokio::test]
    async fn caps_output_and_hides_the_environment() {
        let script = "head -c 200000 /dev/zero | tr '\\0' x; env".to_owned();
        let output = run("sh", &["-c".into(), script], Duration::from_secs(5)).await.expect("runs");
        assert!(output.truncated);
        assert_eq!(output.stdout.len(), MAX_OUTPUT);
        let missing = run("/definitely/not/here", &[], Duration::from_secs(1)).await.unwrap_err();
        assert!(matches!(missing, CapabilityError::NotAvailable(_)), "{missing:?}");
    }

    #[tokio::test]
    async fn passes_only_path_home_and_lang() {
        let output =
            run("sh", &["-c".into(), "env | cut -d= -f1 | sort".into()], Duration::from_secs(5)).await.expect("runs");
        for name in output.stdout.lines() {
            assert!(["PATH", "HOME", "LANG", "PWD", "SHLVL", "_"].contains(&name), "leaked variable {name}");
        }
    }
}
