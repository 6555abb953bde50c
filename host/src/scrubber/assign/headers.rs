//! Header values: the credential after an authorization scheme
//! (`Bearer x`, `Basic x`), and each cookie of a `Cookie:` header.

use std::ops::Range;

use super::value::{Context, Value, bare_end, skip_spaces};

/// The values of a `Cookie:` or `Set-Cookie:` header starting at `at`:
/// each `name=value`, up to the end of the header (a quote, an escaped or
/// real line break). Attributes (`Path=/`, `SameSite=Lax`) are not values.
pub fn cookies(line: &[u8], at: usize) -> Vec<Value> {
    const ATTRIBUTES: [&[u8]; 10] = [
        b"path",
        b"domain",
        b"expires",
        b"max-age",
        b"samesite",
        b"httponly",
        b"secure",
        b"priority",
        b"partitioned",
        b"version",
    ];
    let end = (at..line.len())
        .find(|&i| {
            matches!(line[i], b'"' | b'\'' | b'\r' | b'\n') || (line[i] == b'\\' && line.get(i + 1) != Some(&b'\\'))
        })
        .unwrap_or(line.len());
    let mut found = Vec::new();
    let mut i = at;
    while i < end {
        let pair_end = line[i..end].iter().position(|&b| b == b';').map_or(end, |p| i + p);
        if let Some(eq) = line[i..pair_end].iter().position(|&b| b == b'=') {
            let name = line[i..i + eq].trim_ascii();
            let value = i + eq + 1..pair_end;
            if !ATTRIBUTES.iter().any(|a| name.eq_ignore_ascii_case(a))
                && !value.is_empty()
                && !is_tracking_cookie(name)
            {
                found.push(Value { range: value, marked: false });
            }
        }
        i = pair_end + 1;
    }
    found
}

/// Load-balancer stickiness, analytics and preference cookies: no session.
fn is_tracking_cookie(name: &[u8]) -> bool {
    const EXACT: [&[u8]; 12] = [
        b"AWSALB",
        b"AWSALBCORS",
        b"AWSALBTG",
        b"AWSALBTGCORS",
        b"AWSELB",
        b"AWSELBCORS",
        b"__cf_bm",
        b"_gid",
        b"_fbp",
        b"_gcl_au",
        b"theme",
        b"lang",
    ];
    const PREFIXES: [&[u8]; 4] = [b"_ga", b"__utm", b"_hj", b"AMP_"];
    EXACT.iter().any(|e| name.eq_ignore_ascii_case(e)) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Authorization schemes whose credential follows a space.
const SCHEMES: [&[u8]; 13] = [
    b"bearer",
    b"basic",
    b"token",
    b"bot",
    b"apikey",
    b"api-key",
    b"sso-key",
    b"ssws",
    b"jwt",
    b"oauth",
    b"hmac",
    b"negotiate",
    b"splunk",
];

/// If `range` starts with an authorization scheme and a space, the
/// credential after it (extended as a bare value when `range` was bare).
pub fn after_scheme(line: &[u8], range: Range<usize>, context: Context) -> Option<Value> {
    let text = &line[range.clone()];
    let word_end = text.iter().position(|b| !b.is_ascii_alphanumeric() && *b != b'-').unwrap_or(text.len());
    if !SCHEMES.iter().any(|s| text[..word_end].eq_ignore_ascii_case(s)) {
        return None;
    }
    let credential = skip_spaces(line, range.start + word_end);
    if credential == range.start + word_end {
        return None;
    }
    let end = if credential >= range.end {
        bare_end(line, credential, Context { line_start: false, ..context })
    } else {
        range.end
    };
    // `Basic realm="x"` is a challenge, not a credential.
    if line[credential..end].windows(2).any(|w| w == b"=\"") {
        return None;
    }
    Some(Value { range: credential..end, marked: true })
}
