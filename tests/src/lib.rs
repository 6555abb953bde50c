//! Helpers for Vigil's end-to-end tests: fixture components, throwaway
//! plugin directories, a shared artifact cache, and child processes that are
//! stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;

use vigil_host::capabilities::Services;
use vigil_host::runtime::{Runtime, RuntimeOptions};

pub mod corpus;
pub mod daemon;
pub mod observe;
pub mod platform;
pub mod process;
pub mod services;
pub mod snapshot;
pub mod soak;

/// Paths of the compiled fixture components.
pub mod fixtures {
    include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));
}

/// The artifact cache shared by all tests (under the cargo target directory),
/// so each fixture is compiled once per build rather than once per test.
pub fn shared_cache_dir() -> PathBuf {
    PathBuf::from(env!("VIGIL_TEST_CACHE"))
}

/// A runtime using the shared cache.
pub fn runtime() -> Runtime {
    Runtime::new(RuntimeOptions { cache_dir: Some(shared_cache_dir()) }, Arc::new(Services::new()))
        .expect("runtime starts")
}

/// A temporary directory of plugins, removed when dropped.
pub struct PluginDir {
    dir: tempfile::TempDir,
}

impl Default for PluginDir {
    fn default() -> Self {
        Self::new()
    }
}

impl PluginDir {
    /// An empty plugin directory.
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Add plugin `name` of `kind` using the component at `wasm`; `extra` is
    /// appended to the manifest (more keys, `[config]`, `[limits]`...).
    pub fn add(&self, name: &str, kind: &str, wasm: &str, extra: &str) -> PathBuf {
        let bytes = std::fs::read(wasm).expect("fixture component exists");
        self.add_bytes(name, kind, &bytes, extra)
    }

    /// Add a plugin whose component is `bytes`.
    pub fn add_bytes(&self, name: &str, kind: &str, bytes: &[u8], extra: &str) -> PathBuf {
        let plugin_dir = self.dir.path().join(name);
        std::fs::create_dir_all(&plugin_dir).expect("create plugin dir");
        std::fs::write(plugin_dir.join("plugin.wasm"), bytes).expect("write component");
        let manifest = format!(
            "name = \"{name}\"\nkind = \"{kind}\"\nversion = \"0.0.1\"\ncomponent = \"plugin.wasm\"\n{extra}\n"
        );
        std::fs::write(plugin_dir.join("plugin.toml"), manifest).expect("write manifest");
        plugin_dir
    }

    /// A `check-misbehave` plugin with `behaviour`, a deadline, and extra manifest text.
    pub fn misbehaving(&self, name: &str, behaviour: &str, timeout: &str, extra: &str) -> PathBuf {
        let text = format!("timeout = \"{timeout}\"\n{extra}\n[config]\nbehaviour = \"{behaviour}\"\n");
        self.add(name, "check", fixtures::CHECK_MISBEHAVE, &text)
    }
}

/// A child process killed (and reaped) when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Poll `ready` every 20 ms until it holds; fail the test naming `what`
/// when `limit` passes first. (A bounded wait for a condition, not a sleep.)
pub fn wait_until(limit: std::time::Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !ready() {
        assert!(std::time::Instant::now() < deadline, "{what} not ready within {limit:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Every line must be what `examples/promtail/promtail.yml` reads: a JSON
/// object with an RFC 3339 `timestamp`, a `level`, a `logger` and a
/// `message`. Returns the parsed records.
pub fn promtail_records(logs: &str) -> Vec<serde_json::Value> {
    logs.lines()
        .map(|line| {
            let record: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|err| panic!("log line is not JSON ({err}): {line}"));
            for field in ["timestamp", "level", "logger", "message"] {
                assert!(record[field].is_string(), "log line lacks {field}: {line}");
            }
            let timestamp = record["timestamp"].as_str().unwrap_or_default();
            assert!(humantime::parse_rfc3339(timestamp).is_ok(), "timestamp is not RFC 3339: {line}");
            assert!(timestamp.ends_with('Z') && timestamp.len() == 30, "timestamp is not UTC with nanoseconds: {line}");
            record
        })
        .collect()
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// Path of the `vigil` binary built for these tests.
pub fn vigil_binary() -> PathBuf {
    let target = PathBuf::from(env!("VIGIL_TARGET_DIR"));
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    target.join(profile).join("vigil")
}

/// GET `path` from `addr` over a fresh HTTP/1.1 connection with extra
/// headers; returns the status code, the content type and the body.
pub async fn http_get(addr: std::net::SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    try_http_get(addr, path, headers).await.unwrap_or_else(|| panic!("GET http://{addr}{path} failed"))
}

/// Like [`http_get`], but `None` when nothing answers (yet).
pub async fn try_http_get(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Option<(u16, String, String)> {
    let response = http_request(addr, "GET", path, headers).await?;
    let content_type = response.header("content-type").unwrap_or_default().to_owned();
    Some((response.status, content_type, response.body))
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: String,
}

impl Response {
    /// The first header called `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Send `method path` (no body) with extra headers over a fresh connection;
/// `None` when nothing answers.
pub async fn http_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Option<Response> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok())?;
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_owned() };
    Some(Response { status, headers, body })
}

/// Decode a chunked HTTP body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Build the plugin crate at `crate_dir` for wasm32-wasip2 (release, offline,
/// the bundled plugins' lock file and target directory, so only the crate
/// itself compiles) and copy `component` next to its plugin.toml.
pub fn build_guest_crate(crate_dir: &Path, component: &str) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::copy(repo.join("plugins/Cargo.lock"), crate_dir.join("Cargo.lock")).expect("copy lock");
    let cargo = PathBuf::from(env!("CARGO"));
    let target_dir = PathBuf::from(env!("VIGIL_TARGET_DIR")).join("wasm");
    let mut command = std::process::Command::new(&cargo);
    command
        .current_dir(crate_dir)
        .args(["build", "--release", "--offline", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR");
    let rustc = cargo.with_file_name("rustc");
    if rustc.is_file() {
        command.env("RUSTC", rustc);
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "{} failed to build:\n{}",
        crate_dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let built = target_dir.join("wasm32-wasip2/release").join(component);
    std::fs::copy(&built, crate_dir.join(component)).expect("component built");
}

/// Run the `vigil` binary with `args` (and the shared artifact cache); its
/// exit code and its stdout parsed as JSON. Fails the test, showing stderr,
/// when stdout is not JSON.
pub fn vigil_json<I, S>(args: I) -> (i32, serde_json::Value)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let output = std::process::Command::new(vigil_binary())
        .args(args)
        .env("VIGIL_CACHE_DIR", shared_cache_dir())
        .output()
        .expect("vigil runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {stdout}\n{}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code().unwrap_or(-1), json)
}

/// `base` (a component) with a custom section appended: the same code under
/// new bytes, so a different digest (`n` picks which; equal `n`, equal bytes).
pub fn component_variant(base: &[u8], n: u64) -> Vec<u8> {
    let name = b"vigil-variant";
    let payload = n.to_le_bytes();
    let size = 1 + name.len() + payload.len();
    let mut out = base.to_vec();
    out.push(0);
    out.push(u8::try_from(size).expect("small section"));
    out.push(u8::try_from(name.len()).expect("short name"));
    out.extend_from_slice(name);
    out.extend_from_slice(&payload);
    out
}
