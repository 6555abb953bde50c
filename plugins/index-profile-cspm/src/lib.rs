//! The CSPM platform's indexes (`IndexManagementService`).

use vigil_sdk::{IndexKeyKind, IndexProfile, IndexSpec};

struct CspmIndexes;

const FINDINGS: &str = "cspm_cloud_security.findings";
const SCAN_RUNS: &str = "cspm_orchestration.scan_runs";
const OCCURRENCES: &str = "vulnerability_management.vulnerability_occurrences";
const ACCOUNTS: &str = "cspm_orchestration.cloud_accounts";

impl IndexProfile for CspmIndexes {
    fn indexes() -> Vec<IndexSpec> {
        vec![
            // One finding per dedup key, even when scans ingest concurrently.
            IndexSpec::ascending(FINDINGS, "idx_dedup_key_unique", &["dedup_key"]).unique(),
            IndexSpec::ascending(SCAN_RUNS, "idx_run_id_unique", &["run_id"]).unique(),
            IndexSpec::ascending(OCCURRENCES, "idx_team_id", &["team_id"]),
            IndexSpec::ascending(OCCURRENCES, "idx_status", &["status"]),
            IndexSpec::ascending(OCCURRENCES, "idx_risk_score", &["risk_score"])
                .key_kind("risk_score", IndexKeyKind::Descending),
            // The unified vulnerability dashboard: a team's open occurrences, riskiest first.
            IndexSpec::ascending(OCCURRENCES, "idx_team_status_risk", &["team_id", "status", "risk_score"])
                .key_kind("risk_score", IndexKeyKind::Descending),
            // The propagation check: a module's occurrences by linking key
            // (`missing-keys` looks keys up 1,000 at a time with `$in`; the
            // module's count and newest sync use the prefix).
            IndexSpec::ascending(OCCURRENCES, "idx_source_module_key", &["source_module", "source_key"]),
            IndexSpec::ascending(ACCOUNTS, "idx_user_id", &["user_id"]),
            IndexSpec::ascending(ACCOUNTS, "idx_provider", &["provider"]),
        ]
    }
}

vigil_sdk::export!(index_profile: CspmIndexes);
