//! Random values: credentials in their vendors' formats, and the ordinary
//! values around them (users, hosts, ids, timestamps).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEX: &[u8] = b"0123456789abcdef";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// Characters people and generators put in passwords, URL-special ones included.
const PASSWORD: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#$%&*^~.@+=?-_()[]{}:;,/|<>";

/// The generator every template draws from.
pub(crate) struct Values {
    pub(crate) rng: StdRng,
}

impl Values {
    fn from(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len).map(|_| char::from(*alphabet.choose(&mut self.rng).expect("non-empty alphabet"))).collect()
    }

    pub(crate) fn alnum(&mut self, len: usize) -> String {
        self.from(ALNUM, len)
    }

    pub(crate) fn hex(&mut self, len: usize) -> String {
        self.from(HEX, len)
    }

    pub(crate) fn b64(&mut self, len: usize) -> String {
        self.from(B64, len)
    }

    pub(crate) fn b64url(&mut self, len: usize) -> String {
        self.from(B64URL, len)
    }

    pub(crate) fn upper(&mut self, len: usize) -> String {
        self.from(UPPER_DIGITS, len)
    }

    pub(crate) fn digits(&mut self, len: usize) -> String {
        self.from(b"0123456789", len)
    }

    pub(crate) fn int(&mut self, low: u64, high: u64) -> u64 {
        self.rng.random_range(low..=high)
    }

    pub(crate) fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices.choose(&mut self.rng).expect("non-empty choices")
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.rng.random()).collect()
    }

    /// A password with punctuation (`&`, `#`, `*`, `$`, `^`, `%`...): at
    /// least one letter, one digit and one special character.
    pub(crate) fn password(&mut self) -> String {
        let len = self.int(10, 24) as usize;
        loop {
            let candidate = self.from(PASSWORD, len);
            let special = candidate.bytes().filter(|b| !b.is_ascii_alphanumeric()).count();
            if candidate.bytes().any(|b| b.is_ascii_alphabetic())
                && candidate.bytes().any(|b| b.is_ascii_digit())
                && (1..=len / 3).contains(&special)
                && !candidate.contains("://")
            {
                return candidate;
            }
        }
    }

    /// A password that is safe unquoted in a shell or a URL's user part
    /// (`~ * . ! $` and the like, but no `@ / ? # : &`).
    pub(crate) fn url_password(&mut self) -> String {
        let len = self.int(10, 20) as usize;
        let mut text = self.from(b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789~*.!$-_+", len);
        let special = self.pick(&["~", "*", ".", "!", "$"]);
        text.insert_str(self.int(1, len as u64 - 1) as usize, special);
        text
    }

    /// A random token of mixed case and digits (a session secret, an opaque token).
    pub(crate) fn opaque(&mut self) -> String {
        let len = self.int(24, 48) as usize;
        self.alnum(len)
    }

    pub(crate) fn uuid(&mut self) -> String {
        format!(
            "{}-{}-4{}-{}{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.pick(&["8", "9", "a", "b"]),
            self.hex(3),
            self.hex(12)
        )
    }

    pub(crate) fn object_id(&mut self) -> String {
        self.hex(24)
    }

    pub(crate) fn sha256(&mut self) -> String {
        self.hex(64)
    }

    pub(crate) fn user(&mut self) -> String {
        let name = self.pick(&[
            "alice",
            "bob",
            "carol",
            "dave",
            "erin",
            "frank",
            "svc_scanner",
            "app",
            "admin",
            "root",
            "platform",
        ]);
        name.to_owned()
    }

    pub(crate) fn host(&mut self) -> String {
        let name = self.pick(&[
            "db",
            "mongo-0.mongo",
            "redis-master",
            "pg.internal",
            "mysql-primary",
            "cache",
            "broker",
            "api.example.com",
            "10.0.3.17",
            "rabbitmq.platform.svc",
        ]);
        name.to_owned()
    }

    pub(crate) fn account(&mut self) -> String {
        self.digits(12)
    }

    pub(crate) fn timestamp(&mut self) -> String {
        format!(
            "2026-11-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.int(1, 28),
            self.int(0, 23),
            self.int(0, 59),
            self.int(0, 59),
            self.int(0, 999)
        )
    }

    // Credentials by vendor format.

    pub(crate) fn aws_key_id(&mut self) -> String {
        format!("{}{}", self.pick(&["AKIA", "ASIA"]), self.upper(16))
    }

    pub(crate) fn aws_secret(&mut self) -> String {
        loop {
            let secret = self.b64(40);
            if secret.bytes().any(|b| b == b'/' || b == b'+') {
                return secret;
            }
        }
    }

    pub(crate) fn aws_session_token(&mut self) -> String {
        let len = self.int(300, 500) as usize;
        let body = self.b64(len);
        format!("{}{}", self.pick(&["IQoJb3JpZ2luX2VjE", "FwoGZXIvYXdzE"]), body)
    }

    pub(crate) fn fernet_key(&mut self) -> String {
        let key = self.bytes(32);
        URL_SAFE.encode(key)
    }

    pub(crate) fn fernet_token(&mut self) -> String {
        // Version 0x80, a big-endian timestamp, IV, ciphertext, HMAC.
        let mut body = vec![0x80u8];
        body.extend(self.int(1_600_000_000, 1_800_000_000).to_be_bytes());
        body.extend(self.bytes(16 + 48 + 32));
        URL_SAFE.encode(body)
    }

    pub(crate) fn jwt(&mut self) -> String {
        let alg = self.pick(&["HS256", "RS256", "ES256"]);
        let header = URL_SAFE_NO_PAD.encode(format!("{{\"alg\":\"{alg}\",\"typ\":\"JWT\"}}"));
        let claims = format!(
            "{{\"sub\":\"{}\",\"iat\":{},\"exp\":{}}}",
            self.uuid(),
            self.int(1_700_000_000, 1_800_000_000),
            self.int(1_800_000_000, 1_900_000_000)
        );
        let payload = URL_SAFE_NO_PAD.encode(claims);
        let signature = URL_SAFE_NO_PAD.encode(self.bytes(32));
        format!("{header}.{payload}.{signature}")
    }

    /// A PEM private key as one text with real newlines, and its body.
    pub(crate) fn private_key_pem(&mut self) -> (String, String) {
        let (kind, lead) = match self.int(0, 3) {
            0 => ("RSA PRIVATE KEY", "MIIEpAIBAAKCAQEA"),
            1 => ("PRIVATE KEY", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ"),
            2 => ("EC PRIVATE KEY", "MHcCAQEEI"),
            _ => ("OPENSSH PRIVATE KEY", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"),
        };
        let len = self.int(180, 320) as usize;
        let body = format!("{lead}{}", self.b64(len));
        let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("ascii")).collect();
        (format!("-----BEGIN {kind}-----\n{}\n-----END {kind}-----", lines.join("\n")), body)
    }

    pub(crate) fn github_token(&mut self) -> String {
        match self.int(0, 5) {
            0 => format!("github_pat_{}_{}", self.alnum(22), self.alnum(59)),
            n => format!("{}_{}", ["ghp", "gho", "ghu", "ghs", "ghr"][n as usize - 1], self.alnum(36)),
        }
    }

    pub(crate) fn gitlab_token(&mut self) -> String {
        let prefix = self.pick(&["glpat-", "glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "glft-"]);
        format!("{prefix}{}", self.b64url(20))
    }

    pub(crate) fn slack_token(&mut self) -> String {
        match self.int(0, 3) {
            0 => format!("xoxb-{}-{}-{}", self.digits(11), self.digits(13), self.alnum(24)),
            1 => format!("xoxp-{}-{}-{}-{}", self.digits(11), self.digits(11), self.digits(13), self.hex(32)),
            2 => format!("xapp-1-A{}-{}-{}", self.upper(10), self.digits(13), self.hex(64)),
            _ => format!("xoxe.xoxp-1-{}", self.alnum(140)),
        }
    }

    pub(crate) fn ai_key(&mut self) -> String {
        match self.int(0, 4) {
            0 => format!("sk-proj-{}T3BlbkFJ{}", self.b64url(74), self.b64url(74)),
            1 => format!("sk-{}T3BlbkFJ{}", self.alnum(20), self.alnum(20)),
            2 => format!("sk-ant-api03-{}AA", self.b64url(93)),
            3 => format!("hf_{}", self.alnum(34)),
            _ => format!("sk-svcacct-{}", self.b64url(120)),
        }
    }

    pub(crate) fn registry_token(&mut self) -> String {
        match self.int(0, 2) {
            0 => format!("npm_{}", self.alnum(36)),
            1 => format!("pypi-AgEIcHlwaS5vcmc{}", self.b64url(150)),
            _ => format!("rubygems_{}", self.hex(48)),
        }
    }

    /// A token of one of the other SaaS and infrastructure vendors.
    pub(crate) fn vendor_token(&mut self) -> String {
        match self.int(0, 19) {
            0 => format!("SG.{}.{}", self.b64url(22), self.b64url(43)),
            1 => format!("key-{}", self.hex(32)),
            2 => format!("shpat_{}", self.hex(32)),
            3 => format!("dop_v1_{}", self.hex(64)),
            4 => format!("hvs.{}", self.b64url(90)),
            5 => format!("{}.atlasv1.{}", self.alnum(14), self.b64url(67)),
            6 => format!("dp.pt.{}", self.alnum(43)),
            7 => format!("glsa_{}_{}", self.alnum(32), self.hex(8)),
            8 => format!("PMAK-{}-{}", self.hex(24), self.hex(34)),
            9 => format!("dapi{}", self.hex(32)),
            10 => format!("ATATT3xFfGF0{}={}", self.b64url(180), self.hex(8).to_uppercase()),
            11 => format!("lin_api_{}", self.alnum(40)),
            12 => format!("EAAA{}", self.b64url(60)),
            13 => format!("sq0atp-{}", self.b64url(22)),
            14 => format!("sk_live_{}", self.alnum(24)),
            15 => format!("whsec_{}", self.alnum(32)),
            16 => format!("dckr_pat_{}", self.b64url(27)),
            17 => format!("NRAK-{}", self.upper(27)),
            18 => format!("xkeysib-{}-{}", self.hex(64), self.alnum(16)),
            _ => format!("{}-us{}", self.hex(32), self.int(1, 21)),
        }
    }

    pub(crate) fn gcp_credential(&mut self) -> String {
        match self.int(0, 3) {
            0 => format!("AIza{}", self.b64url(35)),
            1 => format!("ya29.a0{}", self.b64url(150)),
            2 => format!("GOCSPX-{}", self.b64url(28)),
            _ => format!("1//0{}", self.b64url(100)),
        }
    }

    pub(crate) fn azure_storage_key(&mut self) -> String {
        STANDARD.encode(self.bytes(64))
    }

    pub(crate) fn azure_client_secret(&mut self) -> String {
        format!(
            "{}{}Q~{}",
            self.b64url(3),
            self.int(1, 9),
            self.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~.-", 34)
        )
    }

    pub(crate) fn basic_credential(&mut self) -> String {
        let pair = format!("{}:{}", self.user(), self.url_password());
        STANDARD.encode(pair)
    }

    pub(crate) fn base64_pem(&mut self) -> String {
        let (pem, _) = self.private_key_pem();
        STANDARD.encode(pem)
    }

    pub(crate) fn base64_certificate(&mut self) -> String {
        let body = self.b64(300);
        STANDARD.encode(format!("-----BEGIN CERTIFICATE-----\nMIID{body}\n-----END CERTIFICATE-----\n"))
    }

    pub(crate) fn oauth_code(&mut self) -> String {
        format!("4/0{}", self.b64url(70))
    }

    pub(crate) fn sas_signature(&mut self) -> String {
        let raw = STANDARD.encode(self.bytes(32));
        raw.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
    }
}
