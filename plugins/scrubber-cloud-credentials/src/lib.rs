//! Cloud and infrastructure credentials by their documented formats: AWS key
//! IDs and session tokens, Google API keys and OAuth tokens, Azure storage
//! keys, SAS signatures and client secrets, Alibaba, Tencent, DigitalOcean,
//! Cloudflare, HashiCorp Vault and Terraform Cloud, Doppler, Databricks,
//! Docker Hub, JFrog and the platform hosts (Heroku, Fly.io, Vercel, Netlify,
//! Supabase, PlanetScale, Neon, Render, Tailscale, 1Password).
//!
//! Identifiers are not secrets and stay: ARNs, account IDs, role and user
//! unique IDs (`AROA…`, `AIDA…`), Azure subscription IDs, Twilio account SIDs.
//! Values assigned to keys such as `aws_secret_access_key` or
//! `AZURE_STORAGE_KEY` are the common-secrets assignment rule's job.

use vigil_sdk::{ScrubRule, Scrubber};

struct CloudCredentials;

/// A rule whose secret is capture group 1, run when one of `keywords` appears.
fn rule(id: &str, description: &str, pattern: &str, keywords: &[&str]) -> ScrubRule {
    ScrubRule::new(id, pattern).description(description).keywords(keywords).secret_group(1)
}

impl Scrubber for CloudCredentials {
    fn rules() -> Vec<ScrubRule> {
        vec![
            // AWS
            rule(
                "aws-access-key-id",
                "AWS access key IDs (long-term AKIA, temporary ASIA, bearer ABIA, ACCA)",
                r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})\b",
                &["AKIA", "ASIA", "ABIA", "ACCA"],
            ),
            rule(
                "aws-secret-access-key",
                "AWS secret access keys next to their name, in any syntax",
                r#"(?i)(?:aws_?secret_?access_?key|secret_?access_?key|aws_?secret(?:_?key)?)[\\"'\s]*[:=,][\\"'\s]*([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+]|$)"#,
                &["secret_access_key", "secretaccesskey", "aws_secret", "secret-access-key"],
            ),
            rule(
                "aws-key-pair",
                "AWS secret access keys written right after their key ID (credentials.csv, `KEY SECRET` pairs)",
                r#"\b(?:AKIA|ASIA)[A-Z0-9]{16}(?:[\s,;:|'"]+|\t[^\t\s]+\t)([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
                &["AKIA", "ASIA"],
            ),
            rule(
                "aws-session-token",
                "AWS STS session tokens (raw or URL-encoded)",
                r"\b((?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz|AgoJb3JpZ2lu)[A-Za-z0-9/+%]{100,}={0,2})",
                &["IQoJb3JpZ2lu", "FwoGZXIvYXdz", "FQoGZXIvYXdz", "AgoJb3JpZ2lu"],
            ),
            // Google
            rule("gcp-api-key", "Google API keys", r"\b(AIza[0-9A-Za-z_-]{35})", &["AIza"]),
            rule("gcp-oauth-access-token", "Google OAuth access tokens", r"\b(ya29\.[0-9A-Za-z_.-]{20,})", &["ya29."]),
            rule(
                "gcp-oauth-refresh-token",
                "Google OAuth refresh tokens",
                r"(?:^|[^A-Za-z0-9/])(1//0[0-9A-Za-z_-]{40,})",
                &["1//0"],
            ),
            rule("gcp-oauth-client-secret", "Google OAuth client secrets", r"\b(GOCSPX-[0-9A-Za-z_-]{28})", &["GOCSPX-"]),
            rule(
                "gcp-private-key-id",
                "Service-account key IDs",
                r#"private_key_id\\?"\s*:\s*\\?"([0-9a-f]{40})"#,
                &["private_key_id"],
            ),
            // Azure
            rule(
                "azure-storage-account-key",
                "Azure storage account keys in connection strings",
                r"(?i)AccountKey=([A-Za-z0-9+/]{86}==)",
                &["AccountKey="],
            ),
            rule(
                "azure-storage-key",
                "64-byte base64 keys (Azure storage and Cosmos DB keys) assigned to a key (`\"key\": \"...\"`, `primaryKey=`, `az storage account keys list`)",
                r#"(?i)(?:key\\?["']?\s*[:=]\s*|keyname[^\n]*?value\\?["']?\s*:\s*)\\?["']?([A-Za-z0-9+/]{86}==)(?:[^A-Za-z0-9+/=]|$)"#,
                // The key ends in `==`: a much rarer literal than `key`.
                &["=="],
            )
            .min_entropy(4.5),
            rule(
                "azure-shared-access-key",
                "Azure Service Bus and Event Hubs shared access keys",
                r"(?i)SharedAccessKey=([A-Za-z0-9+/=]{20,})",
                &["SharedAccessKey="],
            ),
            rule(
                "azure-sas-signature",
                "Azure shared access signatures in URLs",
                r"(?i)[?&]sig=([A-Za-z0-9%+/=]{20,})",
                &["sig="],
            ),
            rule(
                "azure-client-secret",
                "Microsoft Entra ID (Azure AD) client secrets",
                r"(?:^|[^A-Za-z0-9_~.-])([A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})(?:[^A-Za-z0-9_~.-]|$)",
                &["Q~"],
            ),
            rule(
                "azure-devops-pat",
                "Azure DevOps personal access tokens (84-character format)",
                r"\b([A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4})\b",
                &["AZDO"],
            ),
            rule(
                "azure-container-registry-key",
                "Azure Container Registry access keys",
                r"(?:^|[^A-Za-z0-9+/])([A-Za-z0-9+/]{42}\+ACR[A-Za-z0-9]{6})\b",
                &["+ACR"],
            ),
            // Other clouds
            rule("alibaba-access-key-id", "Alibaba Cloud AccessKey IDs", r"\b(LTAI[A-Za-z0-9]{12,20})\b", &["LTAI"]),
            rule("tencent-secret-id", "Tencent Cloud SecretIds", r"\b(AKID[A-Za-z0-9]{32})\b", &["AKID"]),
            rule(
                "digitalocean-token",
                "DigitalOcean personal, OAuth and refresh tokens",
                r"\b(do[por]_v1_[a-f0-9]{64})\b",
                &["dop_v1_", "doo_v1_", "dor_v1_"],
            ),
            rule(
                "cloudflare-origin-ca-key",
                "Cloudflare Origin CA keys",
                r"\b(v1\.0-[a-f0-9]{24}-[a-f0-9]{146})\b",
                &["v1.0-"],
            ),
            rule(
                "cloudflare-api-token",
                "Cloudflare user and account API tokens (prefixed format)",
                r"\b(cf(?:ut|at|k)_[A-Za-z0-9]{40,60})\b",
                &["cfut_", "cfat_", "cfk_"],
            ),
            rule("heroku-api-key", "Heroku platform API keys", r"\b(HRKU-[A-Za-z0-9_-]{58,64})", &["HRKU-"]),
            rule(
                "flyio-token",
                "Fly.io access and organisation tokens",
                r"\b((?:FlyV1 )?fm[12][ar]?_[A-Za-z0-9+/=_-]{40,}|fo1_[A-Za-z0-9_-]{43})",
                &["fm1_", "fm2_", "fm1a_", "fm2a_", "fm1r_", "fm2r_", "fo1_"],
            ),
            rule(
                "vercel-netlify-token",
                "Vercel and Netlify access tokens (prefixed formats)",
                r"\b(vc[picrk]_[A-Za-z0-9]{24,120}|vercel_blob_rw_[A-Za-z0-9]{16}_[A-Za-z0-9]{30,}|nf[pcoub]_[A-Za-z0-9]{36,40})\b",
                &["vcp_", "vci_", "vcc_", "vcr_", "vck_", "vercel_blob_rw_", "nfp_", "nfc_", "nfo_", "nfu_", "nfb_"],
            ),
            rule(
                "supabase-token",
                "Supabase personal access tokens and secret keys",
                r"\b(sbp_[A-Za-z0-9_]{40,80}|sb_secret_[A-Za-z0-9_-]{20,})",
                &["sbp_", "sb_secret_"],
            ),
            rule(
                "planetscale-token",
                "PlanetScale service tokens, passwords and OAuth tokens",
                r"\b(pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.=-]{32,64})",
                &["pscale_tkn_", "pscale_pw_", "pscale_oauth_"],
            ),
            rule(
                "paas-api-key",
                "Neon, Render and Scalingo API keys",
                r"\b(napi_[a-z0-9]{64}|rnd_[A-Za-z0-9]{32}|tk-us-[A-Za-z0-9_-]{48})",
                &["napi_", "rnd_", "tk-us-"],
            ),
            rule(
                "tailscale-key",
                "Tailscale auth, API and OAuth client keys",
                r"\b(tskey-(?:auth|api|client|scim|webhook)-[A-Za-z0-9]{6,20}-[A-Za-z0-9]{20,64})\b",
                &["tskey-"],
            ),
            rule(
                "onepassword-token",
                "1Password service account tokens and account secret keys",
                r"\b(ops_eyJ[A-Za-z0-9+/_-]{100,}={0,2}|A3-[A-Z0-9]{6}-[A-Z0-9]{5,6}-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})\b",
                &["ops_eyJ", "A3-"],
            ),
            // Infrastructure tools
            rule(
                "vault-token",
                "HashiCorp Vault service, batch and recovery tokens",
                r"\b(hv[sbr]\.[A-Za-z0-9_-]{24,})",
                &["hvs.", "hvb.", "hvr."],
            ),
            rule(
                "terraform-cloud-token",
                "Terraform Cloud / Enterprise API tokens and Pulumi access tokens",
                r"\b([A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}|pul-[a-f0-9]{40})",
                &[".atlasv1.", "pul-"],
            ),
            rule(
                "doppler-token",
                "Doppler personal, service, service-account, CLI, SCIM and audit tokens",
                r"\b(dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9._-]{40,})",
                &["dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."],
            ),
            rule("databricks-token", "Databricks personal access tokens", r"\b(dapi[a-f0-9]{32}(?:-[0-9])?)\b", &["dapi"]),
            rule(
                "docker-hub-token",
                "Docker Hub personal and organisation access tokens",
                r"\b(dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,64})",
                &["dckr_pat_", "dckr_oat_"],
            ),
            rule(
                "jfrog-token",
                "JFrog Artifactory API keys and reference tokens",
                r"\b(AKCp[A-Za-z0-9]{69}|cmVmdGtuOj[A-Za-z0-9]{54})\b",
                &["AKCp", "cmVmdGtu"],
            ),
        ]
    }
}

vigil_sdk::export!(scrubber: CloudCredentials);
