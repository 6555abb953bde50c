//! Security tools: for each scanner, is its image on the Docker engine, and
//! does its binary answer its version command? A missing tool means the scans
//! that need it fail.

use vigil_sdk::{Check, CheckReport, Config, Description, docker, exec};

struct SecurityTools;

/// One tool as configured.
struct Tool {
    name: String,
    image: String,
    command: Vec<String>,
}

/// What was found for one tool.
struct Found {
    image: Result<bool, String>,
    binary: Result<String, String>,
}

fn tools(config: &Config) -> Result<Vec<Tool>, String> {
    let Some(serde_json::Value::Array(items)) = config.get("tools") else {
        return Err("config.tools: expected a list of { name, image, command } tables".to_owned());
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let field = |key: &str| item.get(key).and_then(|v| v.as_str()).map(str::to_owned);
            let command: Vec<String> = item
                .get("command")
                .and_then(|v| v.as_array())
                .map(|parts| parts.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            match (field("name"), field("image")) {
                (Some(name), Some(image)) if !command.is_empty() => Ok(Tool { name, image, command }),
                _ => Err(format!("config.tools[{index}]: needs `name`, `image` and a non-empty `command`")),
            }
        })
        .collect()
}

/// The first `x.y` or `x.y.z` version in a tool's output.
fn parse_version(output: &str) -> Option<String> {
    output.split(|c: char| c.is_whitespace() || c == ',' || c == '"').find_map(|word| {
        let word = word.trim_start_matches('v');
        let parts: Vec<&str> = word.split('.').collect();
        let numeric = parts.len() >= 2 && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        numeric.then(|| word.to_owned())
    })
}

fn check_image(image: &str) -> Result<bool, String> {
    // `repo:tag` names one image; a bare repository accepts any tag.
    let tagged = image.rsplit('/').next().is_some_and(|last| last.contains(':'));
    let answer =
        if tagged { docker::image_exists(image) } else { docker::list_images(image).map(|found| !found.is_empty()) };
    answer.map_err(|err| err.message().to_owned())
}

fn check_binary(command: &[String], timeout_ms: u32) -> Result<String, String> {
    let output = exec::run(&command[0], &command[1..], timeout_ms).map_err(|err| match err.kind() {
        "not-available" => format!("{} not found on PATH", command[0]),
        _ => err.message().to_owned(),
    })?;
    if output.exit_code != Some(0) {
        return Err(format!("{} exited with {:?}", command.join(" "), output.exit_code));
    }
    parse_version(&output.stdout)
        .or_else(|| parse_version(&output.stderr))
        .ok_or_else(|| format!("{} printed no version", command.join(" ")))
}

impl Check for SecurityTools {
    fn describe() -> Description {
        Description::new("security-tools", "Trivy, Grype and Syft: images on the Docker engine and binaries on PATH")
    }

    fn run(config: &Config) -> Result<CheckReport, String> {
        let tools = tools(config)?;
        let need_both = config.str_or("require", "either") == "both";
        let timeout_ms = u32::try_from(config.u64_or("command_timeout_ms", 5000)).unwrap_or(5000);
        let found: Vec<(&Tool, Found)> = tools
            .iter()
            .map(|tool| {
                (tool, Found { image: check_image(&tool.image), binary: check_binary(&tool.command, timeout_ms) })
            })
            .collect();

        let mut missing = Vec::new();
        let mut notes = Vec::new();
        let mut report_observations = Vec::new();
        for (tool, found) in &found {
            let image_ok = matches!(found.image, Ok(true));
            let binary_ok = found.binary.is_ok();
            let available = if need_both { image_ok && binary_ok } else { image_ok || binary_ok };
            if !available {
                missing.push(tool.name.clone());
            }
            let image_note = match &found.image {
                Ok(true) => "image present".to_owned(),
                Ok(false) => format!("image {} missing", tool.image),
                Err(err) => format!("image unknown: {err}"),
            };
            let binary_note = match &found.binary {
                Ok(version) => format!("binary {version}"),
                Err(err) => format!("binary: {err}"),
            };
            notes.push(format!("{}: {image_note}, {binary_note}", tool.name));
            report_observations.push((tool.name.clone(), image_ok, found.binary.clone().ok(), available));
        }

        let mut report = if missing.is_empty() {
            CheckReport::ok("complete")
        } else if missing.len() < tools.len() {
            CheckReport::degraded("partial")
        } else {
            CheckReport::down("none")
        };
        if !missing.is_empty() {
            report = report
                .impact(missing.iter().map(|tool| format!("scans fail for {tool}")).collect::<Vec<_>>().join("; "));
        }
        report = report.optimal("complete").detail(notes.join("; "));
        for (tool, image_ok, version, available) in report_observations {
            let labels = [("tool", tool.as_str())];
            report = report
                .observe_with("tool_available", f64::from(u8::from(available)), "count", &labels)
                .observe_with("tool_image_present", f64::from(u8::from(image_ok)), "count", &labels)
                .observe_with("tool_binary_present", f64::from(u8::from(version.is_some())), "count", &labels);
            if let Some(version) = version {
                report = report.observe_with("tool_version", 1.0, "info", &[("tool", &tool), ("version", &version)]);
            }
        }
        Ok(report)
    }
}

vigil_sdk::export!(check: SecurityTools);
