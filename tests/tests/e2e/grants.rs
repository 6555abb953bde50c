//! A capability call outside the plugin's grants is refused at the call
//! site: the plugin sees `not-granted`, the host counts it and logs a warning
//! naming the plugin and the target.

use std::sync::{Arc, Mutex};

use vigil_host::loader::{self, PluginSources};
use vigil_host::scheduler;
use vigil_tests::{PluginDir, runtime};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn ungranted_exec_is_refused_logged_and_counted() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime_tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");

    let dir = PluginDir::new();
    dir.misbehaving("sneaky", "ungranted", "2s", "[grants]\nexec = [\"grype\"]\n");
    let runtime = runtime();
    let (report, result) = runtime_tokio.block_on(async {
        let sources = PluginSources { bundled: false, dirs: vec![dir.path().to_path_buf()] };
        let report = loader::load_all(&runtime, &sources, &Default::default()).await;
        let results = vigil_host::results::ResultsStore::new();
        let result = scheduler::run_once(&report.plugins[0], &results).await;
        (report, result)
    });
    assert!(report.failures.is_empty());
    assert!(
        result.detail.contains("NotGranted(\"exec: \\\"trivy\\\" is not granted to this plugin\")"),
        "{}",
        result.detail
    );
    assert_eq!(runtime.services().refused_calls(), 1);

    let logs = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8 logs");
    let refusal = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|record| record["fields"]["message"] == "capability call refused: target not granted")
        .unwrap_or_else(|| panic!("no refusal warning in logs:\n{logs}"));
    assert_eq!(refusal["level"], "WARN");
    assert_eq!(refusal["fields"]["plugin"], "sneaky");
    assert_eq!(refusal["fields"]["capability"], "exec");
    assert_eq!(refusal["fields"]["target"], "trivy");
}
