//! Credentials of systems and protocols: password hashes (crackable offline),
//! Redis `AUTH` and `CONFIG SET requirepass`, LDAP binds, SNMP communities
//! and v3 pass phrases, Wi-Fi and WireGuard keys, SMTP/IMAP/POP3/FTP
//! authentication, database and broker command lines and DSNs, webhook URLs
//! whose path is the credential, and secrets that a command prints on the
//! line after it (`gcloud auth print-access-token`): those rules name a
//! `next_line` group, and the host redacts the value on the following line.
//! Generated-looking task arguments and loguru variable values, which have
//! no key, are asked about through `verify` ([`arguments`]).

mod arguments;

use vigil_sdk::{ScrubRule, Scrubber};

struct SystemCredentials;

/// A rule whose secret is capture group 1 (or the first later group that
/// took part), run when one of `keywords` appears.
fn rule(id: &str, description: &str, pattern: &str, keywords: &[&str]) -> ScrubRule {
    ScrubRule::new(id, pattern).description(description).keywords(keywords).secret_group(1)
}

/// A value after a flag: single-quoted, double-quoted or bare.
const FLAG_VALUE: &str = r#"(?:'([^']*)'|"([^"]*)"|([^\s'"-]\S*))"#;

fn hashes() -> Vec<ScrubRule> {
    vec![
        rule(
            "crypt-hash",
            "crypt(3) password hashes: MD5, bcrypt, SHA-256/512, yescrypt, scrypt, Cisco type 8/9, Apache APR1, argon2",
            r"(?:^|[^A-Za-z0-9$])(\$(?:1|2[abxy]?|5|6|7|y|gy|8|9|md5|sha1|apr1|argon2(?:id|i|d)|scrypt|pbkdf2(?:-sha(?:1|256|512))?)\$[A-Za-z0-9./+=,$-]{16,})",
            &[
                "$1$", "$2$", "$2a$", "$2b$", "$2x$", "$2y$", "$5$", "$6$", "$7$", "$y$", "$gy$", "$8$", "$9$", "$md5",
                "$sha1$", "$apr1$", "$argon2", "$scrypt$", "$pbkdf2",
            ],
        ),
        rule(
            "framework-hash",
            "Password hashes of web frameworks (Django pbkdf2_sha256$, bcrypt_sha256$, argon2$argon2id$)",
            r"\b((?:pbkdf2_sha(?:1|256|512)\$\d+|bcrypt_sha256\$\$2[aby]|argon2\$argon2(?:id|i|d))\$[A-Za-z0-9./+=,$-]{20,})",
            &["pbkdf2_sha", "bcrypt_sha256$", "argon2$argon2"],
        ),
        rule(
            "directory-hash",
            "LDAP and htpasswd password hashes ({SSHA}, {SHA}, {CRYPT}, {PBKDF2-SHA256}...)",
            r"(\{(?:SSHA(?:256|384|512)?|SHA(?:256|384|512)?|SMD5|MD5|CRYPT|PBKDF2(?:-SHA(?:1|256|512))?|ARGON2|BCRYPT)\}[A-Za-z0-9./+=$,-]{8,})",
            &["{SSHA", "{SHA", "{SMD5}", "{MD5}", "{CRYPT}", "{PBKDF2", "{ARGON2}", "{BCRYPT}"],
        ),
        rule(
            "scram-verifier",
            "SCRAM verifiers stored by PostgreSQL and MongoDB (SCRAM-SHA-256$iterations:salt$stored:server)",
            r"(SCRAM-SHA-(?:1|256)\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+)",
            &["SCRAM-SHA-"],
        ),
        rule(
            "mysql-hash",
            "MySQL native password hashes (*40 hex digits)",
            r"(?:^|[^A-Za-z0-9*])(\*[0-9A-F]{40})\b",
            &["mysql_native_password", "authentication_string", "password", "identified"],
        ),
        rule(
            "ntlm-hash",
            "NT hashes in pwdump and secretsdump output (user:rid:LM:NT:::)",
            r"^[^:\s]+:\d+:[0-9a-fA-F]{32}:([0-9a-fA-F]{32}):::",
            &[":::"],
        ),
    ]
}

fn services() -> Vec<ScrubRule> {
    vec![
        rule(
            "redis-auth",
            "Passwords in Redis AUTH, HELLO ... AUTH and MIGRATE ... AUTH2 commands (MONITOR and SLOWLOG output)",
            r#"(?i)"AUTH"\s+"(?:[^"\\]|\\.)*"\s+"((?:[^"\\]|\\.)*)"\s*(?:$|"SETNAME")|"AUTH2"\s+"(?:[^"\\]|\\.)*"\s+"((?:[^"\\]|\\.)*)"|"AUTH"\s+"((?:[^"\\]|\\.)*)""#,
            &["\"AUTH"],
        ),
        rule(
            "redis-config-password",
            "Passwords set with Redis CONFIG SET requirepass / masterauth, quoted or not",
            r#"(?i)"?\bCONFIG"?\s+"?SET"?\s+"?(?:requirepass|masterauth)"?\s+(?:"((?:[^"\\]|\\.)*)"|(\S+))"#,
            &["requirepass", "masterauth"],
        ),
        rule(
            "redis-acl-password",
            "Passwords (>pass) and password hashes (#sha256) given to Redis ACL SETUSER",
            r#"(?i)"?\bACL"?\s+"?SETUSER"?[^\n]*?\s"?(?:>([^"\s]+)|#([0-9a-f]{64}))"#,
            &["SETUSER"],
        ),
        rule(
            "ldap-tool-password",
            "Bind passwords given to the OpenLDAP tools as -w PASSWORD",
            &format!(
                r"\bldap(?:search|modify|add|delete|passwd|whoami|compare|modrdn|exop|vi|url)\b[^\n]*?\s-w\s*{FLAG_VALUE}"
            ),
            &["ldap"],
        ),
        rule(
            "ldappasswd-new-password",
            "New and old passwords given to ldappasswd as -s / -a PASSWORD",
            &format!(r"\bldappasswd\b[^\n]*?\s-[sa]\s*{FLAG_VALUE}"),
            &["ldappasswd"],
        ),
        rule(
            "ldap-bind-call",
            "Passwords passed to LDAP bind calls (simple_bind_s('dn', 'password'))",
            r#"\b(?:simple_bind_s|simple_bind|bind_s)\(\s*['"][^'"]*['"]\s*,\s*(?:'([^']*)'|"([^"]*)")"#,
            &["bind_s(", "simple_bind("],
        ),
        rule(
            "mssql-cli-password",
            "Passwords given to the SQL Server tools as -P PASSWORD (sqlcmd, bcp, osql, mssql-cli)",
            &format!(r"\b(?:sqlcmd|bcp|osql|isql|mssql-cli|mssql-scripter|sqlpackage)\b[^\n]*?\s-P\s*{FLAG_VALUE}"),
            &["sqlcmd", "bcp ", "osql", "isql", "mssql-cli", "mssql-scripter", "sqlpackage"],
        ),
        rule(
            "htpasswd-password",
            "Passwords given to htpasswd in batch mode (htpasswd -b FILE USER PASSWORD)",
            &format!(r"\bhtpasswd\s+-[A-Za-z]*b[A-Za-z]*\s+(?:-\S+\s+)*\S+\s+\S+\s+{FLAG_VALUE}"),
            &["htpasswd"],
        ),
        rule(
            "openvpn-auth-user-pass",
            "OpenVPN auth-user-pass credentials printed as `user / password`",
            r"\bauth-user-pass\b[^\n]*?:\s+\S+\s+/\s+(\S+)",
            &["auth-user-pass"],
        ),
        rule(
            "sip-uri-password",
            "Passwords in SIP URIs (sip:user:PASSWORD@host)",
            r#"\bsips?:[^\s:@;"'/]+:([^\s@;"']+)@"#,
            &["sip:", "sips:"],
        ),
        rule(
            "schema-registry-user-info",
            "Confluent Schema Registry and Kafka REST credentials (basic.auth.user.info=KEY:SECRET)",
            r"(?i)\bbasic\.auth\.user\.info\s*[=:]\s*[^:\s]+:(\S+)",
            &["user.info"],
        ),
        rule(
            "rabbitmq-user-password",
            "Passwords given to rabbitmqctl add_user / change_password / authenticate_user",
            r#"\brabbitmqctl\s+(?:add_user|change_password|authenticate_user)\s+(?:'[^']*'|"[^"]*"|\S+)\s+(?:'([^']*)'|"([^"]*)"|([^\s'"&|;]+))"#,
            &["rabbitmqctl"],
        ),
        rule(
            "pgpass-line",
            "Passwords in .pgpass lines (host:port:database:user:password)",
            // At a line's start, or after a log prefix's space.
            r"(?:^|\s)(?:\*|[A-Za-z0-9.-]*[A-Za-z.][A-Za-z0-9.-]*):(?:\d{2,5}|\*):[^:\s]+:[^:\s]+:((?:[^:\s\\]|\\.)+)$",
            &[":5432:", ":5433:", ":6432:", ":*:"],
        ),
        rule(
            "oracle-connect-string",
            "Passwords in Oracle connect strings (connect(\"user/PASSWORD@host\"), jdbc:oracle:thin:user/PASSWORD@)",
            // To the `@` before the database: a password may hold `@`.
            r#"(?:connect\(\s*["']|jdbc:oracle:(?:thin|oci):)[A-Za-z][\w$#.-]*/([^\s"'/]+?)@(?://|[\w.-]+(?::\d+)?(?:/|["')\s]|$))"#,
            &["connect(", "jdbc:oracle:"],
        ),
        rule(
            "go-mysql-dsn",
            "Passwords in Go MySQL DSNs (user:PASSWORD@tcp(host:3306)/db)",
            // To the `@tcp(` itself: a password may hold `@`, `/` and `:`.
            r#"(?:^|[\s="'])[\w.-]+:([^\s"']+?)@(?:tcp6?|unix|udp)\("#,
            &["@tcp(", "@tcp6(", "@unix(", "@udp("],
        ),
        rule(
            "php-pdo-password",
            "Passwords passed to PDO constructors, as stack traces print them",
            r#"\bPDO(?:->__construct)?\(\s*'[^']*'\s*,\s*'[^']*'\s*,\s*'([^']*)'"#,
            &["PDO(", "PDO->__construct("],
        ),
        rule(
            "sql-password-function",
            "Passwords in SQL PASSWORD('x') and SET PASSWORD ... = 'x'",
            r"(?i)\bPASSWORD\s*\(\s*'((?:[^'\\]|\\.|'')*)'\s*\)|\bSET\s+PASSWORD\b[^=\n]*=\s*'((?:[^'\\]|\\.|'')*)'",
            &["password(", "set password"],
        ),
    ]
}

fn network() -> Vec<ScrubRule> {
    vec![
        rule(
            "snmp-community",
            "SNMP communities given to the net-snmp tools as -c COMMUNITY",
            &format!(
                r"\bsnmp(?:walk|get|getnext|bulkwalk|bulkget|set|table|trap|inform|delta|df|netstat|status|check)\b[^\n]*?\s-c\s*{FLAG_VALUE}"
            ),
            &["snmp"],
        ),
        rule(
            "snmp-v3-auth-passphrase",
            "SNMPv3 authentication pass phrases (-A)",
            &format!(r"\bsnmp\w*\b[^\n]*?\s-A\s*{FLAG_VALUE}"),
            &["snmp"],
        ),
        rule(
            "snmp-v3-privacy-passphrase",
            "SNMPv3 privacy pass phrases (-X)",
            &format!(r"\bsnmp\w*\b[^\n]*?\s-X\s*{FLAG_VALUE}"),
            &["snmp"],
        ),
        rule(
            "snmp-community-setting",
            "SNMP communities as settings: community=X in logs, community: X in snmp_exporter and YAML",
            r#"(?i)\bcommunity(?:_string)?["']?\s*(?:=|:\s)\s*["']?([^\s,"'}&]+)"#,
            &["community"],
        ),
        rule(
            "snmp-community-config",
            "SNMP communities in snmpd.conf (rocommunity/rwcommunity) and network device configs (snmp-server community)",
            r"(?i)\b(?:r[ow]community6?|snmp-server\s+community)\s+(\S+)",
            &["community"],
        ),
        rule(
            "wifi-qr-password",
            "Wi-Fi pass phrases in WIFI: QR payloads",
            r"WIFI:(?:[^;]*;)*?P:((?:\\.|[^;\\])+);",
            &["WIFI:"],
        ),
        rule(
            "netsh-wlan-key",
            "Wi-Fi keys printed by netsh wlan show profile key=clear",
            r"(?i)\bKey Content\s*:\s*(\S(?:.*\S)?)\s*$",
            &["Key Content"],
        ),
        rule(
            "openwrt-wifi-key",
            "Wi-Fi keys in OpenWrt uci and /etc/config/wireless",
            r#"\bwireless\.[\w@\[\]-]+\.key\s*=\s*(?:'([^']*)'|"([^"]*)"|(\S+))|^\s*option\s+key\s+(?:'([^']*)'|"([^"]*)")"#,
            &["wireless.", "option key"],
        ),
        rule(
            "nmcli-wifi-password",
            "Wi-Fi pass phrases given to nmcli (wifi-sec.psk X, device wifi connect SSID password X)",
            &format!(r"\bnmcli\b[^\n]*?\s(?:wifi-sec\.psk|802-11-wireless-security\.psk|password)\s+{FLAG_VALUE}"),
            &["nmcli"],
        ),
        rule(
            "wireguard-private-key",
            "WireGuard private and preshared keys next to their name (wg set ... private-key <(echo KEY))",
            r#"(?i)\b(?:private-?key|preshared-?key)\b[^\n]{0,24}?(?:^|[^A-Za-z0-9+/])([A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=)(?:[^A-Za-z0-9+/=]|$)"#,
            &["private-key", "privatekey", "preshared"],
        ),
    ]
}

fn protocols() -> Vec<ScrubRule> {
    vec![
        rule(
            "smtp-auth",
            "SMTP AUTH PLAIN / LOGIN / XOAUTH2 credentials (base64)",
            r"\bAUTH\s+(?:PLAIN|LOGIN|XOAUTH2|OAUTHBEARER|CRAM-MD5)\s+([A-Za-z0-9+/]{8,}={0,2})",
            &["AUTH PLAIN", "AUTH LOGIN", "AUTH XOAUTH2", "AUTH OAUTHBEARER", "AUTH CRAM-MD5"],
        ),
        rule(
            "imap-authenticate",
            "IMAP AUTHENTICATE PLAIN / XOAUTH2 credentials (base64)",
            r"\bAUTHENTICATE\s+(?:PLAIN|XOAUTH2|OAUTHBEARER)\s+([A-Za-z0-9+/]{8,}={0,2})",
            &["AUTHENTICATE"],
        ),
        rule(
            "imap-login",
            "Passwords in IMAP LOGIN commands (tag LOGIN user password)",
            r#"(?:^|\bC:\s*|>\s*)[A-Za-z]*\d[A-Za-z0-9.]*\s+LOGIN\s+(?:"(?:[^"\\]|\\.)*"|\S+)\s+(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))"#,
            &[" LOGIN "],
        ),
        rule(
            "pop3-ftp-pass",
            "Passwords in POP3 and FTP PASS commands",
            r"^(?:(?:>|C:|-->|>>>)\s*)?PASS\s+(\S+)\s*$",
            &["PASS "],
        ),
        rule(
            "smtp-password-prompt",
            "The client's answer to an SMTP AUTH LOGIN password prompt (334 UGFzc3dvcmQ6, base64 of Password:)",
            r"(?i)(?:^|\s)334\s+(?:UGFzc3dvcmQ6|cGFzc3dvcmQ6)\s*$(?P<next_line>)",
            &["334 "],
        )
        .secret_group(0),
        rule(
            "sasl-continuation",
            "The client's answer after a bare AUTHENTICATE PLAIN / AUTH PLAIN (the credential follows the server's +)",
            r"\bAUTH(?:ENTICATE)?\s+(?:PLAIN|XOAUTH2|OAUTHBEARER)\s*$(?P<next_line>)",
            &["AUTHENTICATE", "AUTH PLAIN", "AUTH XOAUTH2", "AUTH OAUTHBEARER"],
        )
        .secret_group(0),
    ]
}

fn webhooks() -> Vec<ScrubRule> {
    vec![
        rule(
            "teams-webhook",
            "Microsoft Teams incoming-webhook URLs (the path after IncomingWebhook is the credential)",
            r"\.webhook\.office\.com/webhookb2/[^\s/]+/IncomingWebhook/([0-9a-fA-F]{32}/[0-9a-fA-F-]{36}(?:/[A-Za-z0-9_-]+)?)",
            &["webhook.office.com"],
        ),
        rule(
            "automation-webhook",
            "Zapier catch hooks and IFTTT Maker keys",
            r"hooks\.zapier\.com/hooks/catch/\d+/([A-Za-z0-9]+)|maker\.ifttt\.com/(?:trigger/[^/\s]+/(?:json/)?with/)?key/([A-Za-z0-9_-]+)",
            &["hooks.zapier.com", "maker.ifttt.com"],
        ),
        rule(
            "chat-webhook",
            "Incoming-webhook URLs of Mattermost, Rocket.Chat and similar servers (/hooks/TOKEN)",
            r#"https?://[^\s/"']+/hooks/([A-Za-z0-9_-]{16,}(?:/[A-Za-z0-9_-]{16,})?)"#,
            &["/hooks/"],
        )
        .min_entropy(3.0),
    ]
}

fn command_output() -> Vec<ScrubRule> {
    vec![
        rule(
            "printed-secret",
            "The line after a command that prints a secret (gcloud auth print-access-token, aws ecr get-login-password, \
             kubectl get secret ... | base64 -d, vault ... -field=, gh auth token...)",
            r"^\s*(?:[$#>+]\s+)?(?:sudo\s+)?(?:gcloud\s+auth\s+(?:application-default\s+)?print-(?:access|identity)-token|gcloud\s+secrets\s+versions\s+access|aws\s+ecr(?:-public)?\s+get-login-password|aws\s+codeartifact\s+get-authorization-token|az\s+account\s+get-access-token|kubectl\s+[^|\n]*\bsecrets?\b[^|\n]*\|\s*base64\s+(?:-d|--decode|-D)|vault\s+(?:kv\s+get|read|write|token\s+create|login)\s+[^|\n]*-field=|op\s+read|gh\s+auth\s+token|doctl\s+auth\s+token|heroku\s+auth:token|openssl\s+rand\s+-(?:hex|base64))\b[^|;&<>\n]*$(?P<next_line>)",
            &["print-access-token", "print-identity-token", "secrets versions access", "get-login-password", "get-authorization-token", "get-access-token", "base64", "-field=", "op read", "gh auth token", "doctl auth token", "auth:token", "openssl rand"],
        )
        .secret_group(0),
        rule(
            "var-dump-secret",
            "PHP var_dump values under a key that names a secret (the string on the next line)",
            r#"(?i)\["[^"\]]*(?:pass|secret|token|api_?key|private_?key|auth|credential)[^"\]]*"\]=>\s*$(?P<next_line>)"#,
            &["\"]=>"],
        )
        .secret_group(0),
        rule(
            "name-then-value",
            "A value on the line after a name that names a secret: Kubernetes env (- name: DB_PASSWORD / value: x), \
             Terraform plans (+ name = \"auth.password\" / + value = \"x\")",
            r#"(?i)^\s*[+~-]?\s*name\s*[=:]\s*["']?[\w.\[\]-]*(?:password|passwd|secret|token|api_?key|apikey|private_?key|credential|access_?key)[\w.\[\]-]*["']?\s*$(?P<next_line>)"#,
            &["name:", "name =", "name  =", "name   ="],
        )
        .secret_group(0),
        rule(
            "putty-private-lines",
            "The private half of PuTTY .ppk keys (the lines after Private-Lines: N)",
            r"Private-Lines:\s*(?P<next_lines>\d{1,3})\s*$",
            &["Private-Lines:"],
        )
        .secret_group(0),
        rule(
            "putty-private-escaped",
            "The private half of PuTTY .ppk keys written with escaped newlines (in JSON)",
            r"Private-Lines:\s*\d+\\n((?:[A-Za-z0-9+/=]+\\n)*[A-Za-z0-9+/=]+)",
            &["Private-Lines:"],
        ),
    ]
}

impl Scrubber for SystemCredentials {
    fn rules() -> Vec<ScrubRule> {
        [hashes(), services(), network(), protocols(), webhooks(), command_output(), arguments::rules()].concat()
    }

    fn verify(rule_id: &str, candidate: &str) -> bool {
        match rule_id {
            "positional-argument" => arguments::looks_secret(candidate),
            _ => true,
        }
    }
}

vigil_sdk::export!(scrubber: SystemCredentials);
