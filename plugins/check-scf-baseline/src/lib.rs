//! SCF baseline: parse the Secure Controls Framework workbook (through the
//! `fs` grant) and count its controls; fall back to a built-in baseline when
//! it cannot be read.
//!
//! The parser assumes no sheet name and no column position: it looks, sheet
//! by sheet, for a header row with an `SCF #` column (headers are compared
//! with line breaks and repeated spaces folded, case-insensitively), then
//! counts rows whose SCF # is a valid control ID (`AST-01`, `AST-02.1`).
//! A repeated ID is counted once and reported.

mod baseline;
mod parse;

use vigil_sdk::{Check, CheckReport, Config, Description, fs};

struct ScfBaseline;

const IMPACT: &str = "reduced compliance control coverage";

fn fallback(reason: &str) -> CheckReport {
    CheckReport::degraded("hard-coded")
        .optimal("excel")
        .impact(IMPACT)
        .detail(format!("{reason}; using the built-in baseline of {} controls", baseline::BASELINE.len()))
        .observe("controls", baseline::BASELINE.len() as f64, "count")
}

impl Check for ScfBaseline {
    fn describe() -> Description {
        Description::new("scf-baseline", "Compliance controls from the Secure Controls Framework workbook")
    }

    fn run(config: &Config) -> Result<CheckReport, String> {
        let path = config.str_or("workbook", "");
        if path.is_empty() {
            return Ok(fallback("no SCF workbook configured (endpoints.scf_workbook)"));
        }
        let bytes = match fs::read_file(path) {
            Ok(bytes) => bytes,
            Err(err) => return Ok(fallback(&format!("cannot read {path}: {}", err.message()))),
        };
        let parsed = match parse::controls(&bytes) {
            Ok(parsed) => parsed,
            Err(err) => return Ok(fallback(&format!("cannot parse {path}: {err}"))),
        };
        if parsed.ids.is_empty() {
            return Ok(fallback(&format!("{path} has no controls in sheet {:?}", parsed.sheet)));
        }
        let mut detail =
            format!("{} controls in {} domains from sheet {:?}", parsed.ids.len(), parsed.domains.len(), parsed.sheet);
        if !parsed.duplicates.is_empty() {
            let sample: Vec<&str> = parsed.duplicates.iter().take(5).map(String::as_str).collect();
            detail.push_str(&format!("; {} duplicate IDs ignored ({})", parsed.duplicates.len(), sample.join(", ")));
        }
        let mut report = CheckReport::ok("excel")
            .detail(detail)
            .observe("controls", parsed.ids.len() as f64, "count")
            .observe("duplicate_control_ids", parsed.duplicates.len() as f64, "count")
            .observe_with("workbook_sheet", 1.0, "info", &[("sheet", &parsed.sheet)]);
        for (domain, count) in &parsed.domains {
            report = report.observe_with("domain_controls", *count as f64, "count", &[("domain", domain)]);
        }
        Ok(report)
    }
}

vigil_sdk::export!(check: ScfBaseline);
