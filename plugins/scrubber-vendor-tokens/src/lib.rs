//! Tokens of SaaS and developer tools, by the prefixes and shapes their
//! vendors document: AI APIs, code hosting and CI, package registries, chat,
//! payments, e-mail, observability and productivity tools. Every rule is
//! anchored on a literal prefix (or, for the few formats without one, on the
//! vendor's name in the line), so an ordinary word that shares a prefix
//! (`task-id`, `disk-usage`, `key-value`) does not match.

use vigil_sdk::{ScrubRule, Scrubber};

struct VendorTokens;

/// A rule whose secret is capture group 1, run when one of `keywords` appears.
fn rule(id: &str, description: &str, pattern: &str, keywords: &[&str]) -> ScrubRule {
    ScrubRule::new(id, pattern).description(description).keywords(keywords).secret_group(1)
}

fn ai() -> Vec<ScrubRule> {
    vec![
        rule(
            "openai-api-key",
            "OpenAI API keys (project, service-account, admin and user keys)",
            r"\b(sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|sk-[A-Za-z0-9_-]{10,}T3BlbkFJ[A-Za-z0-9_-]{10,}|sk-[A-Za-z0-9]{48})",
            &["sk-"],
        ),
        rule(
            "anthropic-api-key",
            "Anthropic API and admin keys",
            r"\b(sk-ant-[a-z]{2,8}[0-9]{2}-[A-Za-z0-9_-]{40,}|sk-ant-[A-Za-z0-9_-]{40,})",
            &["sk-ant-"],
        ),
        rule(
            "huggingface-token",
            "Hugging Face user and organisation tokens",
            r"\b((?:hf|api_org)_[A-Za-z0-9]{30,40})\b",
            &["hf_", "api_org_"],
        ),
        rule(
            "ai-api-key",
            "Replicate, Groq, Perplexity, Pinecone, LangSmith and ElevenLabs keys",
            r"\b(r8_[A-Za-z0-9]{37}|gsk_[A-Za-z0-9]{52}|pplx-[A-Za-z0-9]{48}|pc(?:sk|key)_[A-Za-z0-9]{4,12}_[A-Za-z0-9]{30,90}|lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}|sk_[a-f0-9]{48})\b",
            &["r8_", "gsk_", "pplx-", "pcsk_", "pckey_", "lsv2_", "sk_"],
        ),
        rule("xai-api-key", "xAI API keys", r"\b(xai-[A-Za-z0-9]{60,100})\b", &["xai-"]),
        rule(
            "generic-sk-key",
            "Keys in the common `sk-` + random text form (DeepSeek, Moonshot and other OpenAI-compatible APIs)",
            r"\b(sk-[A-Za-z0-9]{32,})\b",
            &["sk-"],
        )
        .min_entropy(3.8),
    ]
}

fn code_and_ci() -> Vec<ScrubRule> {
    vec![
        rule(
            "github-token",
            "GitHub personal, OAuth, user-to-server, server-to-server, refresh and fine-grained tokens",
            r"\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59,})\b",
            &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        ),
        rule(
            "gitlab-token",
            "GitLab personal, deploy, runner, pipeline-trigger, feed, CI job, agent and other tokens",
            r"\b(gl(?:pat|dt|rt|rtr|cbt|ptt|ft|imt|agent|soat|ffct|oas|wt)-[A-Za-z0-9_-]{20,}(?:\.[0-9a-z]{2}\.[0-9a-z]{5,12})?|GR1348941[A-Za-z0-9_-]{20,})",
            &[
                "glpat-",
                "gldt-",
                "glrt-",
                "glrtr-",
                "glcbt-",
                "glptt-",
                "glft-",
                "glimt-",
                "glagent-",
                "glsoat-",
                "glffct-",
                "gloas-",
                "glwt-",
                "GR1348941",
            ],
        ),
        rule(
            "atlassian-token",
            "Atlassian API tokens and Bitbucket app passwords",
            r"\b(AT[AC]TT3[A-Za-z0-9_=-]{100,}|ATBB[A-Za-z0-9]{28,40})",
            &["ATATT3", "ATCTT3", "ATBB"],
        ),
        rule(
            "ci-token",
            "Buildkite, CircleCI, SonarQube, Postman, Infracost, Prefect and Typeform tokens",
            r"\b(bkua_[a-f0-9]{40}|CCIP(?:AT|RJ)_[A-Za-z0-9]{18,26}_[a-f0-9]{40}|sq[uap]_[a-f0-9]{40}|PMAK-[a-f0-9]{24}-[a-f0-9]{34}|ico-[A-Za-z0-9]{32}|pn[ub]_[A-Za-z0-9]{36}|tfp_[A-Za-z0-9_.-]{40,70})\b",
            &["bkua_", "CCIPAT_", "CCIPRJ_", "squ_", "sqp_", "sqa_", "PMAK-", "ico-", "pnu_", "pnb_", "tfp_"],
        ),
        rule(
            "harness-token",
            "Harness personal and service-account tokens",
            r"\b((?:pat|sat)\.[A-Za-z0-9_-]{22}\.[a-f0-9]{24}\.[A-Za-z0-9]{20})\b",
            &["pat.", "sat."],
        ),
    ]
}

fn registries() -> Vec<ScrubRule> {
    vec![
        rule("npm-token", "npm access tokens", r"\b(npm_[A-Za-z0-9]{36})\b", &["npm_"]),
        rule(
            "pypi-token",
            "PyPI and TestPyPI API tokens",
            r"\b(pypi-Ag(?:EIcHlwaS5vcmc|ENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,})",
            &["pypi-Ag"],
        ),
        rule(
            "package-registry-token",
            "RubyGems, Clojars and NuGet API keys",
            r"\b(rubygems_[a-f0-9]{48}|CLOJARS_[a-f0-9]{60}|oy2[a-z0-9]{43})\b",
            &["rubygems_", "CLOJARS_", "oy2"],
        ),
    ]
}

fn chat() -> Vec<ScrubRule> {
    vec![
        rule(
            "slack-token",
            "Slack bot, user, app-level, configuration, refresh and session tokens",
            r"\b(xox[abposrce]-[A-Za-z0-9-]{10,}|xoxe\.xox[bp]-[0-9]-[A-Za-z0-9]{40,}|xapp-[0-9]-[A-Za-z0-9]{6,12}-[0-9]{6,16}-[A-Za-z0-9]{32,})",
            &["xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxc-", "xoxe", "xapp-"],
        ),
        rule(
            "slack-webhook",
            "Slack incoming-webhook and workflow URLs",
            r"hooks\.slack\.com/(?:services|workflows|triggers)/(T[A-Z0-9]+/[A-Z0-9]+/[A-Za-z0-9/]{20,})",
            &["hooks.slack.com/"],
        ),
        rule(
            "discord-webhook",
            "Discord webhook URLs",
            r"discord(?:app)?\.com/api/webhooks/([0-9]{17,20}/[A-Za-z0-9_-]{60,70})",
            &["/api/webhooks/"],
        ),
        rule(
            "discord-bot-token",
            "Discord bot tokens",
            r"\b([MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40})\b",
            &["discord", "bot "],
        ),
        rule(
            "telegram-bot-token",
            "Telegram bot tokens",
            r"(?:\b|bot)([0-9]{8,10}:AA[A-Za-z0-9_-]{33})(?:[^A-Za-z0-9_-]|$)",
            &[":AA"],
        ),
        rule("twitch-oauth-token", "Twitch chat OAuth tokens", r"\boauth:([a-z0-9]{30})\b", &["oauth:"]),
    ]
}

fn payments() -> Vec<ScrubRule> {
    vec![
        rule(
            "stripe-key",
            "Stripe secret and restricted keys, webhook signing secrets",
            r"\b([sr]k_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9+/]{24,}={0,2})",
            &["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"],
        ),
        rule(
            "square-token",
            "Square access tokens and OAuth secrets",
            r"\b(EAAA[A-Za-z0-9_-]{60}|sq0(?:atp|csp)-[A-Za-z0-9_-]{22,43})",
            &["EAAA", "sq0atp-", "sq0csp-"],
        ),
        rule(
            "braintree-token",
            "Braintree access tokens",
            r"(access_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32})",
            &["access_token$"],
        ),
        rule(
            "shopify-token",
            "Shopify admin, custom-app, private-app tokens and shared secrets",
            r"\b(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
            &["shpat_", "shpca_", "shppa_", "shpss_"],
        ),
        rule(
            "commerce-api-key",
            "Flutterwave, EasyPost, Shippo, Duffel and Plaid keys",
            r"\b(FLWSECK(?:_TEST)?-[a-h0-9]{32}-X|EZ[AT]K[A-Za-z0-9]{54}|shippo_(?:live|test)_[a-f0-9]{40}|duffel_(?:live|test)_[A-Za-z0-9_-]{43}|access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
            &[
                "FLWSECK",
                "EZAK",
                "EZTK",
                "shippo_",
                "duffel_",
                "access-sandbox-",
                "access-development-",
                "access-production-",
            ],
        ),
    ]
}

fn email_and_messaging() -> Vec<ScrubRule> {
    vec![
        rule(
            "resend-api-key",
            "Resend API keys (re_ + id + _ + secret; Stripe refund ids re_... have no second underscore)",
            r"\b(re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24,32})\b",
            &["re_"],
        ),
        rule(
            "salesforce-session",
            "Salesforce session IDs and access tokens (org ID 00D..., !, token)",
            r"\b(00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{60,})",
            &["00D"],
        ),
        rule(
            "ngrok-authtoken",
            "ngrok authtokens near the word ngrok (27 characters, _, 21 characters)",
            r"\b([12][A-Za-z0-9]{26}_[A-Za-z0-9]{20,22})\b",
            &["ngrok"],
        ),
        rule(
            "sendgrid-key",
            "SendGrid API keys",
            r"\b(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|$)",
            &["SG."],
        ),
        rule("mailgun-key", "Mailgun API keys (legacy key- format)", r"\b(key-[a-f0-9]{32})\b", &["key-"]),
        rule(
            "mailgun-private-key",
            "Mailgun private API keys (32 hex, two groups of 8) near the word mailgun",
            r"\b([a-f0-9]{32}-[a-f0-9]{8}-[a-f0-9]{8})\b",
            &["mailgun"],
        ),
        rule(
            "mailchimp-brevo-key",
            "Mailchimp API keys and Brevo (Sendinblue) API and SMTP keys",
            r"\b([a-f0-9]{32}-us[0-9]{1,2}|x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16})\b",
            &["-us", "xkeysib-", "xsmtpsib-"],
        ),
        rule(
            "twilio-auth-token",
            "Twilio auth tokens and API key secrets in lines that name Twilio (account SIDs stay)",
            r"(?i:twilio)[^\n]*?\b([a-f0-9]{32})\b",
            &["twilio"],
        ),
    ]
}

fn observability() -> Vec<ScrubRule> {
    vec![
        rule(
            "datadog-token",
            "Datadog personal, service-account and application tokens",
            r"\b(dd(?:pat|sat|app)_[A-Za-z0-9]{8,40}_[A-Za-z0-9]{30,80})\b",
            &["ddpat_", "ddsat_", "ddapp_"],
        ),
        rule(
            "sentry-token",
            "Sentry organisation, user and integration tokens",
            r"\b(sntry[uai]_[a-f0-9]{64}|sntrys_eyJ[A-Za-z0-9+/=_]{20,})",
            &["sntryu_", "sntrya_", "sntryi_", "sntrys_"],
        ),
        rule(
            "sentry-dsn",
            "The key in Sentry DSNs (`https://KEY@o1.ingest.sentry.io/1`)",
            r"https?://([a-f0-9]{32}(?::[a-f0-9]{32})?)@[A-Za-z0-9.-]*sentry",
            &["sentry"],
        ),
        rule(
            "grafana-token",
            "Grafana service-account tokens, Grafana Cloud tokens and legacy API keys",
            r"\b(glsa_[A-Za-z0-9]{32}_[a-f0-9]{8}|glc_[A-Za-z0-9+/=_-]{32,}|eyJrIjoi[A-Za-z0-9+/]{40,}={0,2})",
            &["glsa_", "glc_", "eyJrIjoi"],
        ),
        rule(
            "newrelic-key",
            "New Relic user, ingest, browser and license keys",
            r"\b(NRA[AK]-[A-Z0-9]{27}|NRI[IQ]-[A-Za-z0-9_-]{32}|NRJS-[a-f0-9]{19}|[a-f0-9]{36}NRAL)\b",
            &["NRAK-", "NRAA-", "NRII-", "NRIQ-", "NRJS-", "NRAL"],
        ),
        rule(
            "dynatrace-token",
            "Dynatrace API tokens",
            r"\b(dt0[a-z][0-9]{2}\.[A-Z0-9]{24}\.[A-Z0-9]{64})\b",
            &["dt0c01.", "dt0s01.", "dt0a01.", "dt0"],
        ),
        rule(
            "splunk-hec-token",
            "Splunk HEC and Opsgenie tokens after their header scheme",
            r"(?i)\b(?:Splunk|GenieKey)\s+([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b",
            &["splunk", "geniekey"],
        ),
    ]
}

fn productivity() -> Vec<ScrubRule> {
    vec![
        rule(
            "linear-api-key",
            "Linear API keys and OAuth tokens",
            r"\b(lin_api_[A-Za-z0-9]{40}|lin_oauth_[a-f0-9]{64})\b",
            &["lin_api_", "lin_oauth_"],
        ),
        rule(
            "notion-token",
            "Notion integration tokens",
            r"\b(ntn_[A-Za-z0-9]{40,50}|secret_[A-Za-z0-9]{43})\b",
            &["ntn_", "secret_"],
        ),
        rule(
            "design-tool-token",
            "Figma, Contentful, Adafruit IO and Frame.io tokens",
            r"\b(figd_[A-Za-z0-9_-]{38,44}|CFPAT-[A-Za-z0-9_-]{43}|aio_[A-Za-z0-9]{28}|fio-u-[A-Za-z0-9_=-]{64})",
            &["figd_", "CFPAT-", "aio_", "fio-u-"],
        ),
        rule("mapbox-token", "Mapbox secret tokens", r"\b(sk\.eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,})", &["sk.eyJ"]),
        rule(
            "okta-token",
            "Okta API tokens",
            r"(?i)(?:\bssws\s+|okta[A-Za-z0-9_ .-]{0,20}[\\'\x22\s:=]{1,4})(00[A-Za-z0-9_-]{40})(?:[^A-Za-z0-9_-]|$)",
            &["ssws", "okta"],
        ),
        rule("dropbox-token", "Dropbox short-lived access tokens", r"\b(sl\.(?:u\.)?[A-Za-z0-9_-]{130,})", &["sl."]),
        rule(
            "asana-airtable-token",
            "Asana personal access tokens and Airtable personal access tokens",
            r"\b([12]/[0-9]{13,20}(?:/[0-9]{13,20})?:[A-Za-z0-9]{32}|pat[A-Za-z0-9]{14}\.[a-f0-9]{64})\b",
            &["asana", "airtable"],
        ),
        // Airtable's shape is its own (`pat`, 14, a dot, 64 hex): found
        // without the vendor's name nearby.
        rule(
            "airtable-pat",
            "Airtable personal access tokens anywhere (pat + 14 characters + . + 64 hex)",
            r"\b(pat[A-Za-z0-9]{14}\.[a-f0-9]{64})\b",
            &["pat"],
        ),
        rule(
            "social-api-token",
            "X (Twitter) app bearer tokens, Meta access tokens and Intercom tokens",
            r"\b(A{21,22}[A-Za-z0-9%]{30,}|EAA[B-Z][A-Za-z0-9]{90,}|dG9rOj[A-Za-z0-9+/]{40,}={0,2})",
            &["AAAAAAAAAAAAAAAAAAAAA", "EAA", "dG9rOj"],
        ),
        rule(
            "launchdarkly-key",
            "LaunchDarkly SDK and mobile keys",
            r"\b((?:sdk|mob)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b",
            &["sdk-", "mob-"],
        ),
    ]
}

impl Scrubber for VendorTokens {
    fn rules() -> Vec<ScrubRule> {
        [ai(), code_and_ci(), registries(), chat(), payments(), email_and_messaging(), observability(), productivity()]
            .concat()
    }
}

vigil_sdk::export!(scrubber: VendorTokens);
