//! A generator of realistic `mongoexport` snapshots of the platform's
//! collections, with drift planted where the watchdog rules (and the index
//! manager) should find it. Deterministic for a given plan and seed; dates
//! are relative to `plan.now`, so a snapshot generated now has exactly the
//! planted drift now. `cargo run -p vigil-tests --bin cspm-snapshot` writes
//! `examples/cspm-snapshot/`.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

/// The moment `examples/cspm-snapshot/` was generated as of: evaluate it
/// with `vigil watchdog run --now 2026-01-15T12:00:00Z` and its story (3
/// stuck scans, compliance 9 h old...) holds on any day.
pub const EXAMPLE_NOW: &str = "2026-01-15T12:00:00Z";

/// [`EXAMPLE_NOW`] as a time.
pub fn example_now() -> SystemTime {
    // 2026-01-15T12:00:00Z
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_768_478_400)
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Plan {
    /// "Now" for every relative date.
    pub now: SystemTime,
    /// Scan runs in all.
    pub scans: usize,
    /// Of those, RUNNING for longer than 4 h (stuck).
    pub stuck: usize,
    /// Findings per module: CSPM, Kubernetes, container.
    pub findings: [usize; 3],
    /// The newest CSPM findings that have no vulnerability occurrence.
    pub unsynced_cspm: usize,
    /// Container findings re-detected long after the module's last sync.
    pub lagging_container: bool,
    /// Age of the newest compliance assessment, in hours.
    pub compliance_age_hours: u64,
    /// CSPM findings whose `dedup_key` repeats another's.
    pub duplicate_keys: usize,
    /// Random seed.
    pub seed: u64,
}

impl Plan {
    /// The example snapshot's plan: 3 stuck scans, 20 unsynced CSPM
    /// findings, lagging container sync, compliance 9 h old, 3 duplicate keys.
    pub fn example(now: SystemTime) -> Self {
        Self {
            now,
            scans: 60,
            stuck: 3,
            findings: [300, 120, 120],
            unsynced_cspm: 20,
            lagging_container: true,
            compliance_age_hours: 9,
            duplicate_keys: 3,
            seed: 7,
        }
    }
}

/// What the plan plants, for tests to compare against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planted {
    /// Run ids of the stuck scans.
    pub stuck_runs: Vec<String>,
    /// Modules with sync drift.
    pub drifting_modules: Vec<String>,
    /// Whether compliance is stale (older than 5 h).
    pub stale_compliance: bool,
    /// Duplicated dedup keys.
    pub duplicate_keys: Vec<String>,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const HOUR: u64 = 3_600_000;
const PROVIDERS: &[&str] = &["aws", "azure", "gcp"];
const SEVERITIES: &[&str] = &["CRITICAL", "HIGH", "MEDIUM", "LOW"];

fn date(plan: &Plan, ago_ms: u64) -> Value {
    let at = plan.now.checked_sub(Duration::from_millis(ago_ms)).unwrap_or(SystemTime::UNIX_EPOCH);
    json!({ "$date": humantime::format_rfc3339_millis(at).to_string() })
}

fn oid(kind: u8, n: usize) -> Value {
    json!({ "$oid": format!("65{kind:02x}{n:020x}") })
}

fn write(dir: &Path, db: &str, collection: &str, docs: impl Iterator<Item = Value>) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join(db))?;
    let mut out = BufWriter::new(std::fs::File::create(dir.join(db).join(format!("{collection}.json")))?);
    for doc in docs {
        serde_json::to_writer(&mut out, &doc)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Write the snapshot for `plan` into `dir`.
pub fn generate(dir: &Path, plan: &Plan) -> std::io::Result<Planted> {
    let mut rng = Rng(plan.seed.max(1));
    let accounts = 12;
    write(
        dir,
        "cspm_orchestration",
        "cloud_accounts",
        (0..accounts).map(|i| {
            json!({ "_id": oid(1, i), "account_id": format!("acct-{i:03}"), "user_id": format!("user-{:02}", i % 5),
                    "provider": PROVIDERS[i % 3], "team_id": format!("team-{}", i % 4) })
        }),
    )?;

    let mut stuck_runs = Vec::new();
    let scans: Vec<Value> = (0..plan.scans)
        .map(|i| {
            let run_id = format!("run-{:06}", i + 1);
            let (status, started_ago, finished) = if i < plan.stuck {
                stuck_runs.push(run_id.clone());
                ("RUNNING", 5 * HOUR + rng.below(20 * HOUR), None)
            } else if i < plan.stuck + 2 {
                ("RUNNING", rng.below(HOUR), None)
            } else {
                let ago = HOUR + rng.below(72 * HOUR);
                (if rng.below(10) == 0 { "FAILED" } else { "COMPLETED" }, ago, Some(ago - HOUR / 2))
            };
            json!({ "_id": oid(2, i), "run_id": run_id, "account_id": format!("acct-{:03}", i % accounts),
                    "provider": PROVIDERS[i % 3], "status": status, "started_at": date(plan, started_ago),
                    "finished_at": finished.map_or(Value::Null, |ago| date(plan, ago)),
                    "team_id": format!("team-{}", i % 4) })
        })
        .collect();
    write(dir, "cspm_orchestration", "scan_runs", scans.into_iter())?;

    let modules =
        [("cspm", "cspm_cloud_security"), ("kubernetes", "kubernetes_security"), ("container", "container_security")];
    let mut occurrences = Vec::new();
    let mut duplicate_keys = Vec::new();
    let mut drifting_modules = Vec::new();
    for (m, ((module, db), count)) in modules.iter().zip(plan.findings).enumerate() {
        let mut findings = Vec::with_capacity(count);
        for i in 0..count {
            // Index 0 is the newest finding; updates go back up to three days.
            let updated_ago = if *module == "container" && plan.lagging_container && i < 5 {
                HOUR / 2 + i as u64 * 60_000
            } else {
                2 * HOUR + (i as u64) * (70 * HOUR / count.max(1) as u64) + rng.below(60_000)
            };
            let key = format!(
                "{module}:acct-{:03}:{}:{:05}",
                i % accounts,
                rng.pick(&["s3-public", "iam-root-mfa", "sg-open-22", "cve-2024-3094", "privileged-pod"]),
                i
            );
            findings.push(json!({ "_id": oid(3 + m as u8, i), "dedup_key": key, "module": module,
                "account_id": format!("acct-{:03}", i % accounts), "severity": rng.pick(SEVERITIES), "status": "OPEN",
                "risk_score": rng.below(100), "first_seen": date(plan, updated_ago + 24 * HOUR), "updated_at": date(plan, updated_ago) }));
            let unsynced = *module == "cspm" && i < plan.unsynced_cspm;
            if !unsynced {
                let synced_ago = if *module == "container" && plan.lagging_container {
                    4 * HOUR
                } else {
                    updated_ago.saturating_sub(60_000)
                };
                occurrences.push(json!({ "_id": oid(9, occurrences.len()), "source_module": module, "source_key": key,
                    "team_id": format!("team-{}", i % 4), "status": "OPEN", "risk_score": rng.below(100), "synced_at": date(plan, synced_ago) }));
            }
        }
        if *module == "cspm" {
            for d in 0..plan.duplicate_keys.min(count / 2) {
                let mut copy = findings[count - 1 - d].clone();
                copy["_id"] = oid(8, d);
                duplicate_keys.push(copy["dedup_key"].as_str().unwrap_or_default().to_owned());
                findings.push(copy);
            }
        }
        if (*module == "cspm" && plan.unsynced_cspm > 0) || (*module == "container" && plan.lagging_container) {
            drifting_modules.push((*module).to_owned());
        }
        write(dir, db, "findings", findings.into_iter())?;
    }
    write(dir, "vulnerability_management", "vulnerability_occurrences", occurrences.into_iter())?;

    write(
        dir,
        "compliance",
        "control_assessments",
        (0..50).map(|i| {
            json!({ "_id": oid(10, i), "framework": "SCF", "control_id": format!("GOV-{:02}", i + 1),
                    "status": if i % 7 == 0 { "FAIL" } else { "PASS" },
                    "assessed_at": date(plan, plan.compliance_age_hours * HOUR + i as u64 * HOUR) })
        }),
    )?;
    write_index_metadata(dir)?;
    Ok(Planted { stuck_runs, drifting_modules, stale_compliance: plan.compliance_age_hours > 5, duplicate_keys })
}

/// mongodump-style `<collection>.metadata.json` files with index drift for
/// the index manager: the run-id index is in place; the dedup-key index is
/// missing (and cannot be built: duplicate keys are planted); `idx_status`
/// exists as sparse (an options conflict); the team index exists under
/// another name (a name conflict); a legacy index nobody wants; no indexes
/// at all on cloud accounts.
fn write_index_metadata(dir: &Path) -> std::io::Result<()> {
    let id = json!({ "v": 2, "key": { "_id": 1 }, "name": "_id_" });
    let files = [
        (
            "cspm_orchestration",
            "scan_runs",
            json!([id, { "v": 2, "key": { "run_id": 1 }, "name": "idx_run_id_unique", "unique": true }]),
        ),
        (
            "cspm_cloud_security",
            "findings",
            json!([id, { "v": 2, "key": { "account_id": 1 }, "name": "idx_account_id" }]),
        ),
        (
            "vulnerability_management",
            "vulnerability_occurrences",
            json!([
                id,
                { "v": 2, "key": { "status": 1 }, "name": "idx_status", "sparse": true },
                { "v": 2, "key": { "team_id": 1 }, "name": "team_id_1" },
                { "v": 2, "key": { "risk_score": -1 }, "name": "idx_risk_score" },
                { "v": 2, "key": { "team_id": 1, "status": 1, "risk_score": -1 }, "name": "idx_team_status_risk" },
                { "v": 2, "key": { "created_at": 1 }, "name": "legacy_created_at" },
            ]),
        ),
        ("cspm_orchestration", "cloud_accounts", json!([id])),
    ];
    for (db, collection, indexes) in files {
        let metadata = json!({ "indexes": indexes, "collectionName": collection, "type": "collection" });
        std::fs::write(
            dir.join(db).join(format!("{collection}.metadata.json")),
            serde_json::to_string_pretty(&metadata)?,
        )?;
    }
    Ok(())
}
