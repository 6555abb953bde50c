//! The Prometheus text exposition format, written directly: a family's
//! `# HELP` and `# TYPE` lines, then its samples sorted by label values,
//! with label values and help text escaped as the format requires.

use std::fmt::Write as _;

use super::NAMESPACE;

/// The kinds of family written here.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Gauge,
    Counter,
}

/// One sample: its label values (in the family's label order) and value.
pub type Row = (Vec<String>, f64);

/// A family being written: its labels (sorted by name), then rows.
pub struct Family<'a> {
    name: String,
    help: &'a str,
    kind: Kind,
    labels: Vec<String>,
    rows: Vec<Row>,
}

impl<'a> Family<'a> {
    /// `vigil_<name>`, with `labels` in any order (they are written sorted).
    pub fn new(name: &str, help: &'a str, kind: Kind, labels: &[&str]) -> Self {
        let mut labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        labels.sort();
        Self { name: format!("{NAMESPACE}_{name}"), help, kind, labels, rows: Vec::new() }
    }

    /// The family's full name (`vigil_check_status`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A sample whose labels are given as (name, value) in any order.
    pub fn add(&mut self, labels: &[(&str, &str)], value: f64) {
        let values = self
            .labels
            .iter()
            .map(|name| labels.iter().find(|(n, _)| n == name).map_or_else(String::new, |(_, v)| (*v).to_owned()))
            .collect();
        self.rows.push((values, value));
    }

    /// Write the family to `out`, samples sorted by label values; a family
    /// without samples writes its `# HELP` and `# TYPE` lines only.
    pub fn write(mut self, out: &mut String) {
        self.rows.sort_by(|a, b| a.0.cmp(&b.0));
        let _ = writeln!(out, "# HELP {} {}", self.name, escape_help(self.help));
        let kind = match self.kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        let _ = writeln!(out, "# TYPE {} {kind}", self.name);
        for (values, value) in &self.rows {
            out.push_str(&self.name);
            if !self.labels.is_empty() {
                out.push('{');
                for (i, (name, label)) in self.labels.iter().zip(values).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(name);
                    out.push_str("=\"");
                    escape_label(label, out);
                    out.push('"');
                }
                out.push('}');
            }
            out.push(' ');
            write_value(*value, out);
            out.push('\n');
        }
    }
}

/// A label value: `\`, `"` and line feeds escaped.
pub fn escape_label(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value: integers without a fraction, `NaN`, `+Inf`, `-Inf`.
pub fn write_value(value: f64, out: &mut String) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        // Exact: |value| < 2^53.
        let _ = write!(out, "{}", value as i64);
    } else {
        let _ = write!(out, "{value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_sorted_escaped_and_typed() {
        let mut family = Family::new("demo", "A \\ demo\nfamily.", Kind::Gauge, &["b", "a"]);
        family.add(&[("a", "z"), ("b", "1")], 2.0);
        family.add(&[("b", "q\"uote"), ("a", "m")], 0.25);
        family.add(&[("a", "m"), ("b", "line\nfeed")], f64::INFINITY);
        let mut out = String::new();
        family.write(&mut out);
        assert_eq!(
            out,
            "# HELP vigil_demo A \\\\ demo\\nfamily.\n# TYPE vigil_demo gauge\n\
             vigil_demo{a=\"m\",b=\"line\\nfeed\"} +Inf\n\
             vigil_demo{a=\"m\",b=\"q\\\"uote\"} 0.25\n\
             vigil_demo{a=\"z\",b=\"1\"} 2\n"
        );
    }

    #[test]
    fn values_print_as_prometheus_reads_them() {
        for (value, text) in [(80.0, "80"), (-3.0, "-3"), (0.001, "0.001"), (f64::NAN, "NaN"), (1.5e300, "1.5e300")] {
            let mut out = String::new();
            write_value(value, &mut out);
            if value > 1e200 {
                assert!(out.parse::<f64>().is_ok_and(|v| v == value), "{out}");
            } else {
                assert_eq!(out, text);
            }
        }
    }
}
