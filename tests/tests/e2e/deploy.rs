//! Deploying to a running daemon: the plugin guide's recipe, run as
//! written, installs and upgrades a plugin (no rejection, no leftovers);
//! half-copied hidden directories are never read as plugins; plugin
//! directories a reload adds are watched from then on.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use vigil_tests::process::VigilProcess;
use vigil_tests::{PluginDir, http_request, wait_until};

/// The first `sh` block under the guide's "Deploying: hot reload" heading.
fn documented_recipe() -> String {
    let guide = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/plugins.md"))
        .expect("docs/plugins.md");
    let section = guide.split("## Deploying: hot reload").nth(1).expect("the deploying section");
    let block = section.split("```sh\n").nth(1).expect("a sh block").split("```").next().expect("its end");
    block.to_owned()
}

/// Run the recipe with its placeholders pointed at this test's directories:
/// `vigil` at the binary under test, `/plugins` at the watched directory,
/// `my-check` at the build in `workdir`.
fn run_recipe(recipe: &str, workdir: &Path, plugins: &Path) -> String {
    let binary = vigil_tests::vigil_binary();
    let script = recipe
        .lines()
        .map(|line| match line.strip_prefix("vigil ") {
            Some(rest) => format!("{:?} {rest}", binary.display().to_string()),
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        .replace(" /plugins", &format!(" {}", plugins.display()));
    let output = Command::new("sh").arg("-ec").arg(&script).current_dir(workdir).output().expect("sh");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the recipe failed:\n{script}\n{text}");
    text
}

fn status(vigil: &VigilProcess, runtime: &tokio::runtime::Runtime) -> serde_json::Value {
    runtime
        .block_on(http_request(vigil.addr, "GET", "/health/status", &[]))
        .and_then(|r| serde_json::from_str(&r.body).ok())
        .unwrap_or_default()
}

fn version_of(status: &serde_json::Value, name: &str) -> Option<String> {
    status["plugins"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["version"].as_str().map(str::to_owned))
}

#[test]
fn the_documented_recipe_upgrades_a_running_daemon() {
    let recipe = documented_recipe();
    assert!(recipe.contains("vigil plugin deploy my-check /plugins"), "the recipe changed:\n{recipe}");
    let live = PluginDir::new();
    let build = PluginDir::new();
    let vigil = VigilProcess::start(&["--no-bundled", "--plugins", &live.path().to_string_lossy()], None, &[]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");

    // A half-copied hidden directory (a deploy in progress, or a crashed
    // one) is never read: its manifest is broken and no failure appears.
    std::fs::create_dir_all(live.path().join(".my-check.deploy-1")).expect("hidden dir");
    std::fs::write(live.path().join(".my-check.deploy-1/plugin.toml"), "name = \"half").expect("half manifest");
    std::fs::create_dir_all(live.path().join("other.tmp")).expect("temporary dir");
    std::fs::write(live.path().join("other.tmp/plugin.toml"), "name = ").expect("temporary manifest");

    build.misbehaving("my-check", "ok", "2s", "");
    let first = run_recipe(&recipe, build.path(), live.path());
    assert!(first.contains("deployed my-check 0.0.1"), "{first}");
    wait_until(Duration::from_secs(90), "version 0.0.1 to load", || {
        version_of(&status(&vigil, &runtime), "my-check").as_deref() == Some("0.0.1")
    });

    // The upgrade: a new version of the same build directory.
    let manifest = build.path().join("my-check/plugin.toml");
    let text =
        std::fs::read_to_string(&manifest).expect("manifest").replace("version = \"0.0.1\"", "version = \"0.0.2\"");
    std::fs::write(&manifest, text).expect("new version");
    let second = run_recipe(&recipe, build.path(), live.path());
    assert!(second.contains("deployed my-check 0.0.2") && second.contains("replacing 0.0.1"), "{second}");
    wait_until(Duration::from_secs(90), "version 0.0.2 to replace 0.0.1", || {
        version_of(&status(&vigil, &runtime), "my-check").as_deref() == Some("0.0.2")
    });

    let status = status(&vigil, &runtime);
    assert_eq!(status["rejected_plugins"], serde_json::json!([]), "{status}");
    assert_eq!(status["failed_plugins"], serde_json::json!([]), "a hidden or temporary directory was read: {status}");
    let mut left: Vec<String> = std::fs::read_dir(live.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".my-check.deploy-1", "my-check", "other.tmp"], "the deploy left something behind");
    let logs = vigil.stop();
    assert!(!logs.contains("\"outcome\":\"failure\""), "a reload failed:\n{logs}");
}

#[test]
fn plugin_directories_added_by_a_reload_are_watched() {
    let first = PluginDir::new();
    let added = PluginDir::new();
    let staging = PluginDir::new();
    let config_dir = tempfile::tempdir().expect("tempdir");
    let config = config_dir.path().join("vigil.toml");
    let write_config = |dirs: &[&Path]| {
        let list: Vec<String> = dirs.iter().map(|d| format!("{:?}", d.display().to_string())).collect();
        std::fs::write(&config, format!("bundled_plugins = false\nplugin_dirs = [{}]\n", list.join(", ")))
            .expect("config");
    };
    write_config(&[first.path()]);
    let vigil = VigilProcess::start(&[], Some(&config), &[]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");

    // The configuration gains a directory; the reload its change triggers applies it.
    write_config(&[first.path(), added.path()]);
    wait_until(Duration::from_secs(30), "the new configuration to apply", || {
        vigil.log().contains("\"config\":\"applied\"")
    });

    // A plugin dropped into the added directory loads without another SIGHUP.
    staging.misbehaving("late", "ok", "2s", "");
    std::fs::rename(staging.path().join("late"), added.path().join("late")).expect("move in");
    wait_until(Duration::from_secs(90), "the plugin in the added directory to load", || {
        version_of(&status(&vigil, &runtime), "late").is_some()
    });
    vigil.stop();
}
