//! A credential corpus generated from templates with random values: lines
//! with secrets of every class the scrubber covers, each class in several
//! syntaxes, wrapped in the log formats the platform writes (Python
//! logging, uvicorn, Celery workers, JSON loggers, logfmt, shell traces,
//! Kubernetes events, botocore and SQLAlchemy debug output); and innocent
//! look-alike lines whose strings must survive. [`measure`] scores a
//! scrubber on it: recall (no 12-character fragment of a secret left) and
//! innocent-string survival.
//!
//! `cargo run -p vigil-tests --bin scrubber-corpus -- DIR` writes a corpus
//! out for reading; the scrubber gate test and benchmark generate theirs.

mod clean;
mod innocent;
mod positive;
mod values;

use rand::SeedableRng;
use rand::rngs::StdRng;

use values::Values;

/// A message a template made, before it is wrapped in a log format.
#[derive(Debug, Clone)]
pub struct Msg {
    text: String,
    secrets: Vec<String>,
    keep: Vec<String>,
    /// A command line (shell trace, container args) rather than a message.
    command: bool,
}

impl Msg {
    fn new<S: AsRef<str>>(text: String, secrets: impl IntoIterator<Item = S>) -> Self {
        let secrets = secrets.into_iter().map(|s| s.as_ref().to_owned()).collect();
        Self { text, secrets, keep: Vec::new(), command: false }
    }

    fn cmd<S: AsRef<str>>(text: String, secrets: impl IntoIterator<Item = S>) -> Self {
        Self { command: true, ..Self::new(text, secrets) }
    }

    fn innocent<S: AsRef<str>>(text: String, keep: impl IntoIterator<Item = S>) -> Self {
        Self {
            keep: keep.into_iter().map(|s| s.as_ref().to_owned()).collect(),
            ..Self::new(text, Vec::<String>::new())
        }
    }

    fn keep(mut self, keep: impl IntoIterator<Item = String>) -> Self {
        self.keep.extend(keep);
        self
    }
}

/// One line of the corpus.
#[derive(Debug, Clone)]
pub struct Case {
    /// The class of secret (`password`, `jwt`...), or `innocent`.
    pub class: &'static str,
    /// The log line.
    pub line: String,
    /// Secrets that must not survive.
    pub secrets: Vec<String>,
    /// Strings that must survive unchanged.
    pub keep: Vec<String>,
}

/// The whole corpus.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Lines with secrets.
    pub positives: Vec<Case>,
    /// Look-alike lines without secrets.
    pub innocents: Vec<Case>,
}

impl Corpus {
    /// Generate a corpus: each positive template `per_template` times, each
    /// innocent template `2 * per_template` times, with values from `seed`.
    pub fn generate(seed: u64, per_template: usize) -> Self {
        let mut values = Values { rng: StdRng::seed_from_u64(seed) };
        let mut positives = Vec::new();
        for (class, templates) in positive::CLASSES {
            for template in *templates {
                for _ in 0..per_template {
                    let msg = template(&mut values);
                    positives.push(case(class, msg, &mut values));
                }
            }
        }
        let mut innocents = Vec::new();
        for template in innocent::TEMPLATES {
            for _ in 0..2 * per_template {
                let msg = template(&mut values);
                innocents.push(case("innocent", msg, &mut values));
            }
        }
        Self { positives, innocents }
    }

    /// The classes of secret the corpus covers.
    pub fn classes() -> Vec<&'static str> {
        positive::CLASSES.iter().map(|(class, _)| *class).collect()
    }
}

fn case(class: &'static str, msg: Msg, values: &mut Values) -> Case {
    let line = clean::wrap(values, &msg.text, msg.command);
    // A wrapper that JSON-escapes the message escapes the secrets too.
    let escaped = !line.contains(&msg.text);
    let adjust = |s: &String| if escaped { json_inner(s) } else { s.clone() };
    Case { class, secrets: msg.secrets.iter().map(adjust).collect(), keep: msg.keep.iter().map(adjust).collect(), line }
}

fn json_inner(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted[1..quoted.len() - 1].to_owned()
}

/// A realistic log of about `bytes` bytes in which one line in
/// `secret_every` holds a secret.
pub fn log(seed: u64, bytes: usize, secret_every: usize) -> Vec<String> {
    let mut values = Values { rng: StdRng::seed_from_u64(seed) };
    let corpus = Corpus::generate(seed, 4);
    let mut lines = Vec::new();
    let mut size = 0;
    while size < bytes {
        let line = if lines.len() % secret_every == secret_every - 1 {
            let at = values.int(0, corpus.positives.len() as u64 - 1) as usize;
            corpus.positives[at].line.clone()
        } else {
            clean::line(&mut values)
        };
        size += line.len() + 1;
        lines.push(line);
    }
    lines
}

/// How a scrubber did on a corpus.
#[derive(Debug, Default)]
pub struct Score {
    /// Secrets in the corpus.
    pub secrets: usize,
    /// Secrets of which a fragment survived.
    pub leaked: Vec<(String, String, String)>,
    /// Strings that had to survive.
    pub kept: usize,
    /// Those that did not: (line, string, output).
    pub damaged: Vec<(String, String, String)>,
    /// (class, secrets, leaked) per class.
    pub classes: Vec<(&'static str, usize, usize)>,
}

impl Score {
    /// Share of secrets with no fragment left.
    pub fn recall(&self) -> f64 {
        1.0 - self.leaked.len() as f64 / self.secrets.max(1) as f64
    }

    /// Share of innocent strings left intact.
    pub fn survival(&self) -> f64 {
        1.0 - self.damaged.len() as f64 / self.kept.max(1) as f64
    }
}

/// Whether any `window`-character fragment of `secret` (the whole secret
/// when it is shorter) is still in `output`.
pub fn leaks(secret: &str, output: &str, window: usize) -> bool {
    let chars: Vec<char> = secret.chars().collect();
    let window = window.min(chars.len());
    chars.windows(window).any(|w| output.contains(&w.iter().collect::<String>()))
}

/// Score `scrub` on `corpus`.
pub fn measure(corpus: &Corpus, mut scrub: impl FnMut(&str) -> String) -> Score {
    let mut score = Score::default();
    for case in corpus.positives.iter().chain(&corpus.innocents) {
        let output = scrub(&case.line);
        let mut leaked_here = 0;
        for secret in &case.secrets {
            score.secrets += 1;
            if leaks(secret, &output, 12) {
                leaked_here += 1;
                score.leaked.push((case.line.clone(), secret.clone(), output.clone()));
            }
        }
        for keep in &case.keep {
            score.kept += 1;
            if !output.contains(keep.as_str()) {
                score.damaged.push((case.line.clone(), keep.clone(), output.clone()));
            }
        }
        match score.classes.iter_mut().find(|(class, _, _)| *class == case.class) {
            Some(entry) => {
                entry.1 += case.secrets.len();
                entry.2 += leaked_here;
            }
            None => score.classes.push((case.class, case.secrets.len(), leaked_here)),
        }
    }
    score
}
