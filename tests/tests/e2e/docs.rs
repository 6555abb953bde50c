//! The documentation runs. Every `sh` block of README.md, docs/plugins.md,
//! docs/performance.md and the examples' READMEs
//! carries a directive in an HTML comment on the line above it (invisible
//! where the Markdown is rendered):
//!
//! - `<!-- doc: run; needs PROGRAM; expect "TEXT"; exit N -->`: the block
//!   runs as one `sh -e` script in a scratch copy of the repository, with
//!   `vigil` (and `cargo run [--release] -p vigil-host --`) being the binary
//!   under test; every `expect` must be in its output, and it must exit `N`
//!   (default 0). `needs` skips it where a program is missing, unless
//!   `VIGIL_REQUIRE_SERVICES` is set (CI).
//! - `<!-- doc: covered by MODULE::TEST -->`: that test of this suite runs
//!   the block (it must exist).
//! - `<!-- doc: skip: REASON -->`: it cannot run here, and why.
//!
//! A `toml` block marked `<!-- doc: same as PATH -->` must be that file,
//! word for word; one marked `<!-- doc: manifest -->` must load as a
//! plugin manifest (parsed and validated as the loader does). A block
//! without a directive fails the test: a new example without a test is a
//! finding.

use std::path::{Path, PathBuf};
use std::process::Command;

use vigil_tests::services::skip_unless_installed;

const DOCUMENTS: [&str; 4] = ["README.md", "docs/plugins.md", "docs/performance.md", "examples/python-check/README.md"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_path_buf()
}

/// A fenced block and the directive above it.
#[derive(Debug)]
struct Block {
    /// `README.md:388`
    place: String,
    language: String,
    directive: Option<String>,
    body: String,
}

fn blocks(document: &str) -> Vec<Block> {
    let text = std::fs::read_to_string(repo().join(document)).unwrap_or_else(|e| panic!("{document}: {e}"));
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let Some(language) = lines[at].strip_prefix("```").filter(|l| !l.is_empty()) else {
            at += 1;
            continue;
        };
        let directive = at
            .checked_sub(1)
            .and_then(|i| lines[i].trim().strip_prefix("<!-- doc:"))
            .and_then(|d| d.strip_suffix("-->"))
            .map(|d| d.trim().to_owned());
        let end = (at + 1..lines.len()).find(|&i| lines[i].starts_with("```")).expect("a closed block");
        found.push(Block {
            place: format!("{document}:{}", at + 1),
            language: language.to_owned(),
            directive,
            body: lines[at + 1..end].join("\n"),
        });
        at = end + 1;
    }
    found
}

/// `run; needs x; expect "a"; exit 1` as its clauses.
fn clauses(directive: &str) -> Vec<(&str, String)> {
    directive
        .split(';')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|clause| match clause.split_once(' ') {
            Some((word, rest)) => {
                let rest = rest.trim();
                let quoted = rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(rest);
                (word, quoted.replace("\\\"", "\""))
            }
            None => (clause, String::new()),
        })
        .collect()
}

/// Copy the repository's files (not `target/`, not `.git/`) to `to`.
fn scratch_copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("ls") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if from == repo() && (name == "target" || name == ".git") {
            continue;
        }
        let kind = entry.file_type().expect("type");
        if kind.is_dir() {
            scratch_copy(&entry.path(), &to.join(&name));
        } else if kind.is_file() {
            std::fs::copy(entry.path(), to.join(&name)).expect("copy");
        }
    }
}

fn run(block: &Block, directive: &str) {
    let clauses = clauses(directive);
    let needs: Vec<&str> = clauses.iter().filter(|(k, _)| *k == "needs").map(|(_, v)| v.as_str()).collect();
    if skip_unless_installed(&needs) {
        eprintln!("skipped: {} (needs {needs:?})", block.place);
        return;
    }
    let exit: i32 = clauses.iter().find(|(k, _)| *k == "exit").map_or(0, |(_, v)| v.parse().expect("exit N"));
    let scratch = tempfile::tempdir().expect("tempdir");
    scratch_copy(&repo(), scratch.path());
    let script = block
        .body
        .replace("cargo run --release -p vigil-host --", "vigil")
        .replace("cargo run -p vigil-host --", "vigil");
    let script = format!("vigil() {{ \"$VIGIL_BIN\" \"$@\"; }}\n{script}\n");
    let output = Command::new("sh")
        .arg("-ec")
        .arg(&script)
        .current_dir(scratch.path())
        .env("VIGIL_BIN", vigil_tests::vigil_binary())
        .env("VIGIL_CACHE_DIR", vigil_tests::shared_cache_dir())
        .output()
        .expect("sh runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(exit), "{}: exit status\n{}\n--- output\n{text}", block.place, block.body);
    for (_, expected) in clauses.iter().filter(|(k, _)| *k == "expect") {
        assert!(text.contains(expected.as_str()), "{}: no {expected:?} in the output:\n{text}", block.place);
    }
}

/// Whether `module::name` is a test of this suite.
fn test_exists(reference: &str) -> bool {
    let Some((module, name)) = reference.split_once("::") else { return false };
    let source = repo().join("tests/tests/e2e").join(format!("{module}.rs"));
    std::fs::read_to_string(source).is_ok_and(|text| text.contains(&format!("fn {name}(")))
}

#[test]
fn every_command_block_runs_or_says_why_not() {
    let mut problems = Vec::new();
    let mut ran = 0;
    for document in DOCUMENTS {
        for block in blocks(document) {
            if block.language == "toml"
                && let Some(path) = block.directive.as_deref().and_then(|d| d.strip_prefix("same as "))
            {
                let file = std::fs::read_to_string(repo().join(path.trim())).expect("the file a block copies");
                if file.trim_end() != block.body.trim_end() {
                    problems.push(format!("{}: differs from {path}", block.place));
                }
                continue;
            }
            if block.language == "toml" && block.directive.as_deref() == Some("manifest") {
                if let Err(err) = vigil_host::manifest::Manifest::parse(&block.body, &block.place) {
                    problems.push(format!("{}: not a valid manifest: {err}", block.place));
                }
                continue;
            }
            if block.language != "sh" {
                continue;
            }
            match block.directive.as_deref() {
                None => problems.push(format!("{}: an sh block without a <!-- doc: ... --> directive", block.place)),
                Some(d) if d.starts_with("run") => {
                    run(&block, d);
                    ran += 1;
                }
                Some(d) if d.starts_with("covered by ") => {
                    let test = d["covered by ".len()..].split_whitespace().next().unwrap_or_default();
                    if !test_exists(test) {
                        problems.push(format!("{}: no test {test}", block.place));
                    }
                }
                Some(d) if d.starts_with("skip:") && d.len() > "skip:".len() + 3 => {}
                Some(d) => problems.push(format!("{}: unknown directive {d:?}", block.place)),
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(ran >= 2, "only {ran} blocks ran");
}

/// The README's two commands: the first runs the daemon on embedded
/// defaults (it serves /health/live and /health/status on 127.0.0.1:8787),
/// the second is exactly what CI runs.
#[test]
fn the_readme_commands_run_the_daemon_and_the_suite() {
    let readme = blocks("README.md").into_iter().next().expect("the README's first block");
    let commands: Vec<&str> = readme.body.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).collect();
    assert_eq!(commands, ["cargo run --release -p vigil-host -- run", "cargo test --workspace"], "{}", readme.place);
    let ci = std::fs::read_to_string(repo().join(".ci/run")).expect(".ci/run");
    assert_eq!(ci.lines().rfind(|l| !l.trim().is_empty()), Some(commands[1]), ".ci/run must end with it");

    let child = Command::new(vigil_tests::vigil_binary())
        .arg("run")
        .env("VIGIL_CACHE_DIR", vigil_tests::shared_cache_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("vigil run");
    let _guard = vigil_tests::ChildGuard(child);
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], 8787).into();
    vigil_tests::wait_until(std::time::Duration::from_secs(60), "vigil run on 127.0.0.1:8787", || {
        std::net::TcpStream::connect(addr).is_ok()
    });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    for route in ["/health/live", "/health/status"] {
        let answer = runtime.block_on(vigil_tests::http_request(addr, "GET", route, &[])).expect("an answer");
        assert_eq!(answer.status, 200, "{route}: {}", answer.body);
    }
}
