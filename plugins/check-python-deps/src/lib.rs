//! Are the platform's Python modules importable? One interpreter run imports
//! each configured module and prints the ones that fail, with the reason.

use vigil_sdk::{Check, CheckReport, Config, Description, exec};

struct PythonDeps;

/// Imports each module named in argv; prints `name<TAB>error` for each failure.
const PROBE: &str = "import importlib, sys\nfor m in sys.argv[1:]:\n    try:\n        importlib.import_module(m)\n    except Exception as e:\n        print(m + '\\t' + type(e).__name__ + ': ' + str(e).replace('\\n', ' '))\n";

impl Check for PythonDeps {
    fn describe() -> Description {
        Description::new("python-runtime", "The platform's Python modules import in its interpreter")
    }

    fn run(config: &Config) -> Result<CheckReport, String> {
        let interpreter = config.str_or("interpreter", "python3");
        let modules = config.str_list("modules")?;
        let mut args = vec!["-c".to_owned(), PROBE.to_owned()];
        args.extend(modules.iter().cloned());
        let output = match exec::run(interpreter, &args, 20_000) {
            Ok(output) => output,
            Err(err) => {
                return Ok(CheckReport::down("none")
                    .optimal("complete")
                    .impact("the platform cannot start")
                    .detail(format!("{interpreter}: {}", err.message())));
            }
        };
        if output.exit_code != Some(0) {
            let detail = format!("{interpreter} exited with {:?}: {}", output.exit_code, output.stderr.trim());
            return Ok(CheckReport::down("none")
                .optimal("complete")
                .impact("the platform cannot start")
                .detail(detail));
        }
        let missing: Vec<(&str, &str)> = output.stdout.lines().filter_map(|line| line.split_once('\t')).collect();
        let mut report = if missing.is_empty() {
            CheckReport::ok("complete").detail(format!("{} importable", modules.join(", ")))
        } else {
            let names: Vec<&str> = missing.iter().map(|(m, _)| *m).collect();
            let reasons: Vec<String> = missing.iter().map(|(m, why)| format!("{m}: {why}")).collect();
            CheckReport::degraded("partial")
                .optimal("complete")
                .impact(format!("missing modules: {}", names.join(", ")))
                .detail(reasons.join("; "))
        };
        for module in &modules {
            let present = !missing.iter().any(|(m, _)| m == module);
            report = report.observe_with(
                "python_module_available",
                if present { 1.0 } else { 0.0 },
                "info",
                &[("module", module)],
            );
        }
        Ok(report)
    }
}

vigil_sdk::export!(check: PythonDeps);
