//! `vigil validate build|runtime` pass and fail for each item, against real
//! things: a real Python with and without a module, the real SCF workbook,
//! a real Redis up and down, a real dockerd up and down.

use std::path::Path;

use serde_json::Value;
use vigil_tests::services::{DockerEngine, RedisServer, skip_unless_installed};

fn validate(what: &str, config: &str) -> (i32, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vigil.toml");
    std::fs::write(&path, config).expect("config");
    let path = path.to_string_lossy().into_owned();
    vigil_tests::vigil_json(["validate", what, "--format", "json", "--config", path.as_str()])
}

fn item(report: &Value, name: &str) -> Value {
    report["items"].as_array().expect("items").iter().find(|i| i["name"] == name).cloned().unwrap_or_default()
}

#[test]
fn build_validation_checks_python_modules_and_the_scf_workbook() {
    if skip_unless_installed(&["python3"]) {
        return;
    }
    let workbook = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/scf/scf-2022.3.xlsx");
    let scf = if workbook.is_file() { format!("[endpoints]\nscf_workbook = {:?}\n", workbook) } else { String::new() };

    let (code, report) =
        validate("build", &format!("{scf}[plugins.python-deps.config]\nmodules = [\"json\", \"sqlite3\"]\n"));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(item(&report, "plugins")["status"], "pass");
    assert_eq!(item(&report, "python module sqlite3")["status"], "pass");
    if workbook.is_file() {
        let scf = item(&report, "scf-workbook");
        assert_eq!(scf["status"], "pass", "{scf}");
        assert!(scf["detail"].as_str().unwrap_or("").contains("1090 controls, 0 duplicate IDs"), "{scf}");
    } else {
        eprintln!("skipped the workbook part: ../shared/data/scf not found");
    }

    let (code, report) =
        validate("build", "[plugins.python-deps.config]\nmodules = [\"json\", \"vigil_surely_missing_module\"]\n");
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(item(&report, "python module json")["status"], "pass");
    assert_eq!(item(&report, "python module vigil_surely_missing_module")["status"], "fail");
    let modules = item(&report, "python-modules");
    assert!(
        modules["detail"].as_str().unwrap_or("").contains("vigil_surely_missing_module: ModuleNotFoundError"),
        "{modules}"
    );

    let (code, report) = validate(
        "build",
        "[endpoints]\nscf_workbook = \"/nonexistent/scf.xlsx\"\n[plugins.python-deps]\nenabled = false\n",
    );
    assert_eq!(code, 1);
    assert_eq!(item(&report, "scf-workbook")["status"], "fail", "{report:#}");
}

#[test]
fn runtime_validation_follows_redis_and_docker_up_and_down() {
    if skip_unless_installed(&["redis-server"]) {
        return;
    }
    let mut redis = RedisServer::start();
    let config = format!(
        "[endpoints]\nredis_url = \"{}\"\ndocker_host = \"unix:///nonexistent/docker.sock\"\nmongodb_uri = \"mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300\"\ncall_timeout = \"500ms\"\n",
        redis.url()
    );
    let (code, report) = validate("runtime", &config);
    assert_eq!(code, 1, "MongoDB and Docker are down: {report:#}");
    let up = item(&report, "redis");
    assert_eq!(up["status"], "pass", "{up}");
    assert!(
        up["detail"].as_str().unwrap_or("").starts_with("version 7")
            || up["detail"].as_str().unwrap_or("").starts_with("version "),
        "{up}"
    );
    assert_eq!(item(&report, "mongodb")["status"], "fail");
    assert_eq!(item(&report, "docker")["status"], "fail");
    assert_eq!(item(&report, "docker")["required"], true);

    redis.stop();
    let (code, report) =
        validate("runtime", &format!("[endpoints]\nredis_url = \"{}\"\ncall_timeout = \"500ms\"\n", redis.url()));
    assert_eq!(code, 1);
    assert_eq!(item(&report, "redis")["status"], "fail", "{report:#}");
    assert_eq!(item(&report, "mongodb")["status"], "skip");

    let Some(engine) = DockerEngine::start() else { return };
    let (code, report) = validate("runtime", &format!("[endpoints]\ndocker_host = \"{}\"\n", engine.host()));
    assert_eq!(code, 0, "{report:#}");
    assert!(item(&report, "docker")["detail"].as_str().unwrap_or("").starts_with("version "), "{report:#}");
}
