//! The scrubber engine over arbitrary rule sets and arbitrary text: rules
//! compile or are rejected by name, never panic; every output line is one
//! line (no rule can split it); and a planted secret is redacted wherever it
//! appears, whatever the other rules do around it.

use arbitrary::{Arbitrary, Unstructured};
use vigil_host::runtime::bindings::types::ScrubRule;
use vigil_host::scrubber::engine::Engine;

/// The secret a rule of its own is given; it must never survive.
pub const PLANTED: &str = "AKIAPLANTEDFUZZ0SECRET";

#[derive(Debug, Arbitrary)]
struct Rule {
    id: String,
    pattern: String,
    keywords: Vec<String>,
    secret_group: u8,
    replacement: Option<String>,
    min_entropy: Option<f64>,
    verify: bool,
}

#[derive(Debug, Arbitrary)]
struct Input {
    rules: Vec<Rule>,
    /// Where to plant the secret: (line, byte offset), taken modulo.
    plants: Vec<(u8, u16)>,
    text: String,
}

fn convert(rule: Rule) -> ScrubRule {
    ScrubRule {
        id: rule.id,
        description: String::new(),
        pattern: rule.pattern.chars().take(80).collect(),
        keywords: rule.keywords.into_iter().take(4).collect(),
        secret_group: u32::from(rule.secret_group % 4),
        replacement: rule.replacement,
        min_entropy: rule.min_entropy,
        verify: rule.verify,
    }
}

fn planted_rule() -> ScrubRule {
    ScrubRule {
        id: "planted".to_owned(),
        description: "the fuzz target's own secret".to_owned(),
        pattern: regex::escape(PLANTED),
        keywords: vec!["planted".to_owned()],
        secret_group: 0,
        replacement: None,
        min_entropy: None,
        verify: false,
    }
}

/// The property.
pub fn check(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let rules: Vec<ScrubRule> = input.rules.into_iter().take(8).map(convert).collect();
    let planted = [planted_rule()];
    let (engine, errors) = Engine::build([("planted", &planted[..]), ("fuzz", &rules[..])]);
    for error in &errors {
        assert!(error.plugin == "fuzz", "the planted rule was rejected: {error}");
    }
    let mut lines: Vec<String> = input.text.split('\n').map(str::to_owned).collect();
    for (line, offset) in input.plants {
        let count = lines.len();
        let line = &mut lines[usize::from(line) % count];
        let mut at = usize::from(offset) % (line.len() + 1);
        while !line.is_char_boundary(at) {
            at -= 1;
        }
        line.insert_str(at, PLANTED);
    }
    for line in &lines {
        let (out, redactions) = engine.scrub(line);
        assert!(!out.contains('\n'), "a line came out as several: {line:?} -> {out:?}");
        for (start, _) in line.match_indices(PLANTED) {
            let end = start + PLANTED.len();
            assert!(
                redactions.iter().any(|r| r.start <= start && end <= r.end),
                "the planted secret at {start} survived in {line:?} -> {out:?}"
            );
        }
    }
}
