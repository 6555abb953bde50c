//! The bundled scrubber rule sets against a corpus of realistic lines, and
//! properties: a planted secret never survives; a clean line never changes.

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use vigil_host::loader::{self, PluginSources};
use vigil_host::scrubber::{self, Engine};
use vigil_tests::runtime;

/// The engine built from the bundled scrubber plugins.
fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    Arc::clone(ENGINE.get_or_init(|| {
        let tokio = tokio::runtime::Runtime::new().expect("tokio");
        tokio.block_on(async {
            let sources = PluginSources { bundled: true, dirs: vec![] };
            let report = loader::load_all(&runtime(), &sources, &Default::default()).await;
            let (engine, problems) = scrubber::build(&report.plugins).await;
            assert!(problems.is_empty(), "{problems:?}");
            Arc::new(engine)
        })
    }))
}

fn corpus(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(name)).expect("corpus")
}

#[test]
fn every_positive_line_loses_its_secret() {
    let engine = engine();
    let mut rules_seen = std::collections::BTreeSet::new();
    for line in corpus("scrubber-positive.tsv").lines().filter(|l| !l.starts_with('#')) {
        let mut fields = line.splitn(3, '\t');
        let (rule, secret, text) =
            (fields.next().expect("rule"), fields.next().expect("secret"), fields.next().expect("line"));
        let (scrubbed, _) = engine.scrub(text);
        assert!(!scrubbed.contains(secret), "rule {rule}: secret survived in {scrubbed:?}");
        assert!(scrubbed.contains(&format!("[REDACTED:{rule}]")), "rule {rule} did not fire on {text:?}: {scrubbed:?}");
        rules_seen.insert(rule.to_owned());
    }
    let all: std::collections::BTreeSet<String> = engine.rules().iter().map(|r| r.id.clone()).collect();
    assert_eq!(rules_seen, all, "every bundled rule needs a positive corpus line");
}

#[test]
fn every_negative_line_is_left_unchanged() {
    let engine = engine();
    for line in corpus("scrubber-negative.txt").lines().filter(|l| !l.starts_with('#')) {
        let (scrubbed, redactions) = engine.scrub(line);
        assert!(redactions.is_empty(), "innocent line changed: {line:?} -> {scrubbed:?}");
    }
}

fn secret() -> impl Strategy<Value = String> {
    prop_oneof![
        "AKIA[A-Z0-9]{16}",
        "ghp_[A-Za-z0-9]{36}",
        "glpat-[A-Za-z0-9_-]{20}",
        "sk_live_[A-Za-z0-9]{24}",
        "xoxb-[0-9]{10}-[a-z0-9]{16}",
        "AIza[0-9A-Za-z_-]{35}",
        "eyJhbGciOiJIUzI1NiJ9\\.eyJ[A-Za-z0-9_-]{10}\\.[A-Za-z0-9_-]{20}",
    ]
}

fn clean_word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,12}",
        "[0-9]{1,6}",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[0-9a-f]{40}",
        Just("scan".to_owned()),
        Just("finished".to_owned()),
        Just("password reset".to_owned()),
        Just("token expired".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn planted_secrets_never_survive(
        before in proptest::collection::vec(clean_word(), 0..8),
        planted in secret(),
        after in proptest::collection::vec(clean_word(), 0..8),
        quote in prop_oneof![Just(""), Just("\""), Just("'")],
    ) {
        let line = format!("{} {quote}{planted}{quote} {}", before.join(" "), after.join(" "));
        let (scrubbed, _) = engine().scrub(&line);
        prop_assert!(!scrubbed.contains(&planted), "{planted} survived in {scrubbed}");
    }

    #[test]
    fn clean_lines_are_unchanged(words in proptest::collection::vec(clean_word(), 0..20)) {
        let line = words.join(" ");
        let (scrubbed, _) = engine().scrub(&line);
        prop_assert_eq!(scrubbed.as_ref(), line.as_str());
    }
}
