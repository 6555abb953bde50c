//! Builders for the records plugins return.

use crate::{
    CheckReport, Description, DispatchRequest, Finding, IndexKey, IndexKeyKind, IndexOptions, IndexSpec, Label,
    Observation, ScrubRule, Severity, Status,
};

impl Description {
    /// A description: the subsystem watched and a one-sentence summary.
    pub fn new(subsystem: impl Into<String>, summary: impl Into<String>) -> Self {
        Self { subsystem: subsystem.into(), summary: summary.into() }
    }
}

impl CheckReport {
    /// A report with `status`, running in `mode`, which is also the optimal
    /// mode until [`CheckReport::optimal`] says otherwise.
    pub fn new(status: Status, mode: impl Into<String>) -> Self {
        let mode = mode.into();
        Self {
            status,
            optimal_mode: mode.clone(),
            mode,
            impact: String::new(),
            detail: String::new(),
            observations: Vec::new(),
        }
    }

    /// Healthy, in `mode`.
    pub fn ok(mode: impl Into<String>) -> Self {
        Self::new(Status::Ok, mode)
    }

    /// Working in a fallback `mode`; set [`CheckReport::optimal`] and
    /// [`CheckReport::impact`] too.
    pub fn degraded(mode: impl Into<String>) -> Self {
        Self::new(Status::Degraded, mode)
    }

    /// Not working.
    pub fn down(mode: impl Into<String>) -> Self {
        Self::new(Status::Down, mode)
    }

    /// The mode the subsystem runs in when healthy.
    pub fn optimal(mut self, mode: impl Into<String>) -> Self {
        self.optimal_mode = mode.into();
        self
    }

    /// What the current mode costs.
    pub fn impact(mut self, impact: impl Into<String>) -> Self {
        self.impact = impact.into();
        self
    }

    /// A sentence for operators.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// Record a measured value (`unit`: `seconds`, `bytes`, `count`, `ratio`, `info`).
    pub fn observe(self, name: impl Into<String>, value: f64, unit: impl Into<String>) -> Self {
        self.observe_with(name, value, unit, &[])
    }

    /// Record a measured value with labels.
    pub fn observe_with(
        mut self,
        name: impl Into<String>,
        value: f64,
        unit: impl Into<String>,
        labels: &[(&str, &str)],
    ) -> Self {
        self.observations.push(Observation {
            name: name.into(),
            value,
            unit: unit.into(),
            labels: labels
                .iter()
                .map(|(name, value)| Label { name: (*name).to_owned(), value: (*value).to_owned() })
                .collect(),
        });
        self
    }
}

impl Finding {
    /// A finding of `rule` about `subject`.
    pub fn new(
        rule: impl Into<String>,
        severity: Severity,
        subject: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self { rule: rule.into(), severity, subject: subject.into(), detail: detail.into(), dispatch: None }
    }

    /// Ask the host to dispatch a task that repairs this finding.
    pub fn dispatch(mut self, request: DispatchRequest) -> Self {
        self.dispatch = Some(request);
        self
    }
}

impl DispatchRequest {
    /// Dispatch `task` with no arguments; `dedupe_key` limits it to once per cooldown.
    pub fn task(task: impl Into<String>, dedupe_key: impl Into<String>) -> Self {
        Self {
            task: task.into(),
            args_json: "[]".to_owned(),
            kwargs_json: "{}".to_owned(),
            queue: None,
            dedupe_key: dedupe_key.into(),
        }
    }

    /// Positional arguments as a JSON array.
    pub fn args_json(mut self, args: impl Into<String>) -> Self {
        self.args_json = args.into();
        self
    }

    /// Keyword arguments as a JSON object.
    pub fn kwargs_json(mut self, kwargs: impl Into<String>) -> Self {
        self.kwargs_json = kwargs.into();
        self
    }

    /// Send to this queue instead of the dispatcher's default.
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }
}

impl IndexSpec {
    /// An index `name` on `collection` with ascending `fields`, no options.
    pub fn ascending(collection: impl Into<String>, name: impl Into<String>, fields: &[&str]) -> Self {
        Self {
            collection: collection.into(),
            name: name.into(),
            keys: fields
                .iter()
                .map(|field| IndexKey { field: (*field).to_owned(), kind: IndexKeyKind::Ascending })
                .collect(),
            options: IndexOptions {
                unique: false,
                sparse: false,
                partial_filter_json: None,
                expire_after_seconds: None,
                collation_json: None,
            },
        }
    }

    /// Make the index unique.
    pub fn unique(mut self) -> Self {
        self.options.unique = true;
        self
    }

    /// Make the index sparse.
    pub fn sparse(mut self) -> Self {
        self.options.sparse = true;
        self
    }

    /// Change the kind of the key on `field`.
    pub fn key_kind(mut self, field: &str, kind: IndexKeyKind) -> Self {
        for key in &mut self.keys {
            if key.field == field {
                key.kind = kind;
            }
        }
        self
    }
}

impl ScrubRule {
    /// An assignment rule: keys made of one of these `words` name a secret,
    /// and the host's assignment detector redacts the whole value of every
    /// such key in every syntax it knows (`k=v`, `k: v`, JSON, Python
    /// reprs, XML, CLI flags, URL queries, headers, connection strings).
    ///
    /// A word matches in any case and with any separator (`"api key"`
    /// matches `API_KEY`, `apiKey`, `x-api-key`). `"?code"` counts only as a
    /// whole URL query parameter; `"!id"` is a qualifier that cancels a
    /// secret word it follows (`api_key_id`), and `"!page token"` cancels
    /// that phrase (`nextPageToken`).
    pub fn assignment(id: impl Into<String>, words: &[&str]) -> Self {
        Self::new(id, "").keywords(words)
    }

    /// A rule `id` matching `pattern`, redacting the whole match, on every line.
    pub fn new(id: impl Into<String>, pattern: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            description: String::new(),
            pattern: pattern.into(),
            keywords: Vec::new(),
            secret_group: 0,
            replacement: None,
            min_entropy: None,
            verify: false,
        }
    }

    /// What the rule finds.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Literals of which one must appear (case-insensitive) for the rule to run.
    pub fn keywords(mut self, keywords: &[&str]) -> Self {
        self.keywords = keywords.iter().map(|k| (*k).to_owned()).collect();
        self
    }

    /// Redact only this capture group.
    pub fn secret_group(mut self, group: u32) -> Self {
        self.secret_group = group;
        self
    }

    /// Replace with this text instead of `[REDACTED:<id>]`.
    pub fn replacement(mut self, text: impl Into<String>) -> Self {
        self.replacement = Some(text.into());
        self
    }

    /// Require this much Shannon entropy (bits per character) in the secret.
    pub fn min_entropy(mut self, bits: f64) -> Self {
        self.min_entropy = Some(bits);
        self
    }

    /// Call the plugin's `verify` on each candidate.
    pub fn verified(mut self) -> Self {
        self.verify = true;
        self
    }
}

impl crate::CapabilityError {
    /// The host's explanation, without the variant name.
    pub fn message(&self) -> &str {
        match self {
            Self::NotGranted(text) | Self::NotAvailable(text) | Self::Timeout(text) | Self::Failed(text) => text,
        }
    }

    /// `not-granted`, `not-available`, `timeout` or `failed`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotGranted(_) => "not-granted",
            Self::NotAvailable(_) => "not-available",
            Self::Timeout(_) => "timeout",
            Self::Failed(_) => "failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_builder_sets_every_field() {
        let report = CheckReport::degraded("in-memory")
            .optimal("redis")
            .impact("sessions lost on restart")
            .detail("redis unreachable")
            .observe_with("ping_latency", 0.25, "seconds", &[("endpoint", "primary")]);
        assert_eq!(report.status, Status::Degraded);
        assert_eq!(report.mode, "in-memory");
        assert_eq!(report.optimal_mode, "redis");
        assert_eq!(report.impact, "sessions lost on restart");
        assert_eq!(report.observations.len(), 1);
        assert_eq!(report.observations[0].labels[0].value, "primary");
    }

    #[test]
    fn ok_report_is_its_own_optimal_mode() {
        let report = CheckReport::ok("redis");
        assert_eq!(report.mode, report.optimal_mode);
    }

    #[test]
    fn index_spec_builder() {
        let spec = IndexSpec::ascending("findings", "idx_dedup_key_unique", &["dedup_key"]).unique();
        assert!(spec.options.unique);
        assert_eq!(spec.keys[0].field, "dedup_key");
    }
}
