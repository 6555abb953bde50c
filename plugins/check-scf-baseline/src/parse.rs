//! Find and count controls in an SCF workbook.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;

use calamine::{Data, Reader, open_workbook_auto_from_rs};

/// How many leading rows may precede the header row.
const HEADER_SEARCH_ROWS: usize = 20;

/// What a workbook holds.
pub struct Parsed {
    /// The sheet the controls came from.
    pub sheet: String,
    /// Distinct valid control IDs.
    pub ids: BTreeSet<String>,
    /// Controls per domain (the ID's prefix).
    pub domains: BTreeMap<String, usize>,
    /// IDs seen more than once.
    pub duplicates: BTreeSet<String>,
}

/// Header text with line breaks and runs of spaces folded, lowercased.
fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// `AST-01`, `AST-02.1`: 2-5 capitals, a dash, two digits, an optional
/// dot and one or two digits.
pub fn is_control_id(id: &str) -> bool {
    let Some((prefix, number)) = id.split_once('-') else { return false };
    let (major, minor) = match number.split_once('.') {
        Some((major, minor)) => (major, Some(minor)),
        None => (number, None),
    };
    let digits =
        |s: &str, min: usize, max: usize| (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    (2..=5).contains(&prefix.len())
        && prefix.bytes().all(|b| b.is_ascii_uppercase())
        && digits(major, 2, 2)
        && minor.is_none_or(|minor| digits(minor, 1, 2))
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::String(text) => text.trim().to_owned(),
        Data::Empty => String::new(),
        other => other.to_string().trim().to_owned(),
    }
}

/// Parse the workbook bytes and count its controls.
pub fn controls(bytes: &[u8]) -> Result<Parsed, String> {
    let mut workbook =
        open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|err| format!("not a workbook: {err}"))?;
    for sheet in workbook.sheet_names() {
        let Ok(range) = workbook.worksheet_range(&sheet) else { continue };
        let mut rows = range.rows();
        let header = rows
            .by_ref()
            .take(HEADER_SEARCH_ROWS)
            .find_map(|row| row.iter().position(|cell| normalise(&cell_text(cell)) == "scf #"));
        let Some(id_column) = header else { continue };
        let mut parsed = Parsed {
            sheet: sheet.clone(),
            ids: BTreeSet::new(),
            domains: BTreeMap::new(),
            duplicates: BTreeSet::new(),
        };
        for row in rows {
            let Some(cell) = row.get(id_column) else { continue };
            let id = cell_text(cell);
            if !is_control_id(&id) {
                continue;
            }
            let domain = id.split('-').next().unwrap_or_default().to_owned();
            if parsed.ids.insert(id.clone()) {
                *parsed.domains.entry(domain).or_default() += 1;
            } else {
                parsed.duplicates.insert(id);
            }
        }
        return Ok(parsed);
    }
    Err("no sheet has an `SCF #` column".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_ids() {
        for good in ["AST-01", "AST-02.1", "PRI-01.12", "IAC-10", "GOV-01"] {
            assert!(is_control_id(good), "{good}");
        }
        for bad in ["AST-1", "ast-01", "AST01", "A-01", "ASTXYZ-01", "AST-01.", "AST-01.123", "SCF #", ""] {
            assert!(!is_control_id(bad), "{bad}");
        }
    }

    #[test]
    fn headers_fold_breaks_and_case() {
        assert_eq!(normalise("Relative Control\nWeighting (1-10)"), "relative control weighting (1-10)");
        assert_eq!(normalise(" SCF  # "), "scf #");
    }
}
