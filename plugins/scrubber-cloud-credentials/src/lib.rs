//! Cloud credential rules: AWS key IDs, secret keys and session tokens; GCP
//! API keys and service-account key IDs; Azure storage keys, shared access
//! keys and SAS signatures. ARNs, account IDs and other identifiers are not
//! secrets and are left alone.

use vigil_sdk::{ScrubRule, Scrubber};

struct CloudCredentials;

impl Scrubber for CloudCredentials {
    fn rules() -> Vec<ScrubRule> {
        let aws_prefixes = ["AKIA", "ASIA", "AROA", "AIDA", "AGPA", "AIPA", "ANPA", "ANVA", "APKA", "ABIA", "ACCA"];
        vec![
            ScrubRule::new("aws-access-key-id", r"\b((?:AKIA|ASIA|AROA|AIDA|AGPA|AIPA|ANPA|ANVA|APKA|ABIA|ACCA)[A-Z0-9]{16})\b")
                .description("AWS access key IDs")
                .keywords(&aws_prefixes)
                .secret_group(1),
            ScrubRule::new(
                "aws-secret-access-key",
                r#"(?i)(?:aws_?secret_?access_?key|secret_?access_?key|aws_?secret)\\?["']?\s*[:=]\s*\\?["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+]|$)"#,
            )
            .description("AWS secret access keys next to their keyword")
            .keywords(&["secret_access_key", "secretaccesskey", "aws_secret", "secret-access-key"])
            .secret_group(1),
            ScrubRule::new(
                "aws-session-token",
                r#"(?i)(?:aws_?session_?token|x-amz-security-token)\\?["']?\s*[:=]\s*\\?["']?([A-Za-z0-9/+=]{100,})"#,
            )
            .description("AWS session tokens")
            .keywords(&["session_token", "sessiontoken", "x-amz-security-token", "session-token"])
            .secret_group(1),
            ScrubRule::new("gcp-api-key", r"\b(AIza[0-9A-Za-z_\-]{35})")
                .description("Google Cloud API keys")
                .keywords(&["AIza"])
                .secret_group(1),
            ScrubRule::new("gcp-private-key-id", r#"private_key_id\\?"\s*:\s*\\?"([0-9a-f]{40})"#)
                .description("Service-account key IDs")
                .keywords(&["private_key_id"])
                .secret_group(1),
            ScrubRule::new("azure-storage-account-key", r"(?i)AccountKey=([A-Za-z0-9+/]{86}==)")
                .description("Azure storage account keys in connection strings")
                .keywords(&["AccountKey="])
                .secret_group(1),
            ScrubRule::new("azure-shared-access-key", r"(?i)SharedAccessKey=([A-Za-z0-9+/=]{20,})")
                .description("Azure Service Bus and Event Hubs shared access keys")
                .keywords(&["SharedAccessKey="])
                .secret_group(1),
            ScrubRule::new("azure-sas-signature", r"(?i)[?&]sig=([A-Za-z0-9%+/=]{20,})")
                .description("Azure shared access signatures in URLs")
                .keywords(&["sig="])
                .secret_group(1),
        ]
    }
}

vigil_sdk::export!(scrubber: CloudCredentials);
