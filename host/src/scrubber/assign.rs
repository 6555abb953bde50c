//! The structural assignment detector. Given a prefilter hit on a secret
//! word, it finds the key around the hit, the syntax that assigns to it, and
//! the whole value as that syntax delimits it:
//!
//! | syntax | example | value ends at |
//! |---|---|---|
//! | env, logfmt, kwargs | `PGPASSWORD=J!F&c#S*i` | whitespace (`;` or `, ` only before another `key=`) |
//! | YAML line | `password: correct horse` | end of line or ` #` |
//! | JSON, Python repr | `"db_password": "a\"b"`, `api_secret='x'` | the closing quote (escapes and nested JSON respected) |
//! | lists | `"fernet_keys": ["k1", "k2"]` | each element |
//! | name/value pairs | `{"name": "DB_PASSWORD", "value": "x"}`, `<add key="ApiKey" value="x"/>` | the value's closing quote |
//! | XML | `<password>x</password>`, `<wsse:Password Type="..">x</wsse:Password>`, `password="x"` | `<` / the quote |
//! | URL query, fragment, form | `?access_token=x&y=1`, `#id_token=x`, `body=token=x&c=1` | `&`, `#`, whitespace |
//! | connection string | `Server=h;Password=x;`, `PWD={p;w}` | `;`, the closing brace |
//! | CLI | `--password x`, `configure set aws_secret_access_key x` | whitespace |
//! | headers | `Authorization: Bearer x`, `"auth": "Basic x"`, `Cookie: sid=x; theme=dark` | the credential after the scheme; each cookie |
//! | SQL, sentences | `PASSWORD 'x'`, `signing secret for webhook W: x`, `key for acme is x` | the quote; whitespace (must look like a credential) |

mod headers;
mod locate;
mod prose;
mod value;

use std::ops::Range;

use self::locate::{
    call_argument, changed_to, field_then_value, last_word, paired_value, user_then_secret, value_field,
    xml_element_value,
};
use self::value::{Context, Quote, Value};
use super::keys::KeyWords;
use super::values::{self, Strength};

/// What a value must look like besides its strength's demands.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// Nothing more.
    Any,
    /// Introduced by a sentence: not itself a key (`valueFrom:`).
    Prose,
    /// Right after a secret word in a sentence: generated-looking.
    Generated,
}

/// Report every value assigned to the key around `hit` (a hit of `word`)
/// through `emit(rule, range)`.
pub fn detect(
    words: &KeyWords,
    line: &[u8],
    hit: Range<usize>,
    word: usize,
    mut emit: impl FnMut(usize, Range<usize>),
) {
    let key = key_around(line, hit.clone());
    if !can_start_key(line, key.clone()) {
        return;
    }
    let before = key.start.checked_sub(1).map(|i| line[i]);
    let in_query = matches!(before, Some(b'?' | b'&' | b'#'))
        || (matches!(before, Some(b' ' | b'\t')) && query_token(line, key.start))
        || line[..key.start].ends_with(b"&amp;")
        || (before == Some(b'=') && !after_flag(line, key.start - 1));
    // `-field=token auth/jwt/login`: the word is a flag's value, not a key.
    if before == Some(b'=')
        && after_flag(line, key.start - 1)
        && value::operator(line, value::skip_spaces(line, key.end)).is_none()
    {
        return;
    }
    let Some(mut secret) = words.judge(line, key.clone(), hit, word, in_query) else { return };
    // `pwd`, `pass` alone as a key name a password, whatever the syntax.
    if PASSWORD_KEYS.iter().any(|k| line[key.clone()].eq_ignore_ascii_case(k)) {
        secret.strength = Strength::Strong;
    }
    // `--secret=api-token`, `--token NAME`: a bare generic flag often takes
    // a name; a credential still looks like one.
    if before == Some(b'-') && GENERIC_FLAGS.iter().any(|f| line[key.clone()].eq_ignore_ascii_case(f)) {
        secret.strength = Strength::Weak;
    }
    let mut context = Context { query: in_query, semicolons: before == Some(b';'), ..Context::default() };
    // Which brackets are open before the key matters once there is a value
    // (most hits have none), so it is found then, once.
    let open_before = std::cell::OnceCell::new();
    let open = || *open_before.get_or_init(|| value::open_brackets(&line[..key.start]));
    let bracketed = |context: Context| Context { open: open(), ..context };
    // A capitalised key after `{` or a space inside braces: a Go struct's field.
    let go_field = || {
        line[key.start].is_ascii_uppercase()
            && line[key.clone()].iter().any(u8::is_ascii_lowercase)
            && open()[2]
            && quote_before(line, key.start).is_none()
    };
    let mut report = |value: Value, strength: Strength, shape: Shape| {
        let strength = if value.marked { Strength::Strong } else { strength };
        let text = &line[value.range.clone()];
        let shaped = value.marked
            || match shape {
                Shape::Any => true,
                Shape::Prose => !prose::is_key_like(text),
                Shape::Generated => prose::looks_generated(text),
            };
        // `&{Password: SSLMode:require}`: an empty field, then the next one.
        let bare = value.range.start == 0 || !matches!(line[value.range.start - 1], b'"' | b'\'');
        let next_field = bare && !value.marked && prose::is_glued_field(text) && go_field();
        // SigV4 `Authorization` values: the signature and key ID inside are
        // found on their own; the scope and signed headers stay.
        let sigv4 = text.starts_with(b"AWS4-HMAC-SHA256 ");
        if shaped && !next_field && !sigv4 && values::is_secret(text, strength) && !counts_bytes(line, &value.range) {
            emit(secret.rule, value.range);
        }
    };
    let mut at = key.end;
    match quote_before(line, key.start) {
        Some(Quote { byte: b'<', .. }) => {
            if let Some(range) = xml_element_value(line, at) {
                report(Value { range, marked: false }, secret.strength, Shape::Any);
            }
            return;
        }
        Some(quote) if closes(line, at, quote) => {
            at += quote.escapes + 1;
            // `{"name": "DB_PASSWORD", "value": "x"}`, `<add key="ApiKey" value="x"/>`
            if let Some(value_at) =
                paired_value(line, at).or_else(|| call_argument(line, key.start - 1 - quote.escapes, at))
            {
                for value in value::values(line, value_at, bracketed(context)) {
                    report(value, secret.strength, Shape::Any);
                }
                return;
            }
        }
        _ => {}
    }
    let gap = value::skip_spaces(line, at);
    // `app.auth: user bob logged in` is a logger name, not a key.
    let logger_name = secret.strength == Strength::Weak && line[key.clone()].contains(&b'.');
    let quoted_key = at > key.end;
    let cli = before == Some(b'-');
    // `--password==x` and `ROOT_PASSWORD==x` give `=x`: after a flag or an
    // environment variable, `=` is the only operator.
    let env = line[key.clone()].iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_');
    // `password==x` (no space: not a comparison) also assigns `=x`.
    let doubled =
        gap == at && line[gap..].starts_with(b"==") && line.get(gap + 2).is_some_and(|b| !b.is_ascii_whitespace());
    let operator = if (cli || (env && gap == at) || doubled) && line.get(gap) == Some(&b'=') {
        Some(1)
    } else {
        value::operator(line, gap)
    };
    let (value_at, strength, shape) = match operator {
        Some(_) if logger_name && line[gap] == b':' => return,
        // `session:meta:42`, `host:6379`: a name with colons, not `key: value`.
        Some(1)
            if line[gap] == b':'
                && !quoted_key
                && !line.get(gap + 1).is_none_or(|b| matches!(b, b' ' | b'\t' | b'"' | b'\'' | b'\\'))
                && !field_then_value(line, key.clone(), gap + 1) =>
        {
            return;
        }
        Some(len) => {
            // A YAML line's plain value runs to the end of the line; a shell
            // assignment's (`PGPASSWORD=x psql`) stops at a space.
            context.line_start = line[gap] == b':' && starts_line(line, key.start);
            let value_at = value::skip_spaces(line, gap + len);
            // Terraform's output JSON: `"db_password": {"sensitive": true, "value": "x"}`.
            if line.get(value_at) == Some(&b'{')
                && let Some(inner) = value_field(line, value_at)
            {
                for value in value::values(line, inner, bracketed(context)) {
                    report(value, secret.strength, Shape::Any);
                }
                return;
            }
            (value_at, secret.strength, Shape::Any)
        }
        None if gap > at && (cli || preceded_by_set(line, key.start)) => (gap, secret.strength, Shape::Any),
        // `##vso[task.setvariable variable=api_secret]VALUE`
        None if line.get(at) == Some(&b']') && line[..key.start].ends_with(b"variable=") => {
            (at + 1, secret.strength, Shape::Any)
        }
        // Config directives and tables: `bindpw X`, `password    X` as the
        // line's last word (netrc, nslcd.conf, `vault kv get` output).
        // (A lowercase word is prose: `password reset`, `token refreshed`.)
        None if secret.strength == Strength::Strong
            && gap > at
            && !matches!(line[gap], b'\'' | b'"')
            && last_word(line, gap)
            && !line[gap..].trim_ascii_end().iter().all(u8::is_ascii_lowercase) =>
        {
            // A directive that starts its line (`requirepass x`) is sure, and
            // so is a directive that only ever takes a password, wherever a
            // log prints it (`nslcd.conf: binddn cn=x bindpw correct-horse`).
            let password_directive = DIRECTIVES.iter().any(|d| line[key.clone()].eq_ignore_ascii_case(d));
            let strength =
                if starts_line(line, key.start) || password_directive { Strength::Strong } else { Strength::Weak };
            (gap, strength, Shape::Prose)
        }
        // Sentences only for words that name a secret on their own, or an
        // environment variable's name (`ADO_PAT is set (x)`).
        None if secret.strength == Strength::Strong || env && key.len() > 4 => {
            match prose::value_after(line, key.end) {
                Some((value_at, prose::Introduced::Quoted)) => (value_at, Strength::Strong, Shape::Any),
                Some((value_at, prose::Introduced::Weak)) => (value_at, Strength::Weak, Shape::Prose),
                Some((value_at, prose::Introduced::Generated)) => (value_at, Strength::Weak, Shape::Generated),
                None => return,
            }
        }
        None => return,
    };
    if line[key.clone()].len() >= 6 && line[key.end - 6..key.end].eq_ignore_ascii_case(b"cookie") {
        let start = value_at + line[value_at..].iter().take_while(|b| matches!(b, b'"' | b'\'' | b'\\')).count();
        for cookie in headers::cookies(line, start) {
            report(cookie, Strength::Weak, Shape::Any);
        }
        return;
    }
    let credentials = line[key.clone()].windows(4).any(|w| w.eq_ignore_ascii_case(b"cred"));
    let context = bracketed(context);
    for value in value::values(line, value_at, context) {
        // `credentials: admin / S3cret`: a user name, then the secret.
        if let Some(second) = credentials.then(|| user_then_secret(line, &value, context)).flatten() {
            report(second, Strength::Strong, Shape::Any);
            report(value, Strength::Weak, Shape::Generated);
            continue;
        }
        let strength = if reads_as_prose(line, &value) { Strength::Weak } else { strength };
        let changed = changed_to(line, &value.range, context);
        report(value, strength, shape);
        // Terraform plans: `~ jwt_secret = "old" -> "new"`.
        if let Some(new) = changed {
            report(new, strength, shape);
        }
    }
}

/// Configuration directives whose only argument is a password.
const DIRECTIVES: [&[u8]; 6] = [b"bindpw", b"rootpw", b"bindpass", b"requirepass", b"masterauth", b"authtok"];

/// Short words that, as a whole key, name a password.
const PASSWORD_KEYS: [&[u8]; 4] = [b"pwd", b"pass", b"pw", b"psk"];

/// Flags named by a generic secret word alone.
const GENERIC_FLAGS: [&[u8]; 3] = [b"secret", b"token", b"key"];

/// The key that holds `hit`: letters, digits, `_`, `-` and `.` around it,
/// without leading dashes (CLI flags) or dots and trailing dots.
fn key_around(line: &[u8], hit: Range<usize>) -> Range<usize> {
    let is_key = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    let mut start = hit.start;
    while start > 0 && is_key(line[start - 1]) {
        start -= 1;
    }
    let mut end = hit.end;
    while end < line.len() && is_key(line[end]) {
        end += 1;
    }
    // `\npassword: x` in JSON-escaped text: the `n` belongs to the escape.
    if start > 0 && line[start - 1] == b'\\' && start < hit.start && matches!(line[start], b'n' | b't' | b'r') {
        start += 1;
    }
    // (A quoted name keeps its leading dot: `".AspNetCore.Cookies"`.)
    let quoted = start > 0 && matches!(line[start - 1], b'"' | b'\'');
    while start < hit.start && matches!(line[start], b'-' | b'.') && !(quoted && line[start] == b'.') {
        start += 1;
    }
    while end > hit.end && matches!(line[end - 1], b'-' | b'.') {
        end -= 1;
    }
    start..end
}

/// Whether `key` may be a key: not inside a path (`/secret/x`), an ARN
/// (`arn:...:secret:name`), a URI's user part (`https://token:x@`) or a
/// variable reference (`${SECRET_KEY:?}`); after a colon only when it does
/// not continue a colon-separated name (`INFO:app:unseal key 1: x` and
/// `<wsse:Password>` are keys).
fn can_start_key(line: &[u8], key: Range<usize>) -> bool {
    let at = key.start;
    // `__DB_PASSWORD__`: a template placeholder, not a key.
    if line[key.clone()].starts_with(b"__") && line[key.clone()].ends_with(b"__") {
        return false;
    }
    match at.checked_sub(1).map(|i| line[i]) {
        None => true,
        Some(b':') => {
            let continues =
                line.get(key.end) == Some(&b':') && line.get(key.end + 1).is_some_and(|b| !b.is_ascii_whitespace());
            xml_namespace_start(line, at - 1).is_some() || !continues
        }
        Some(b'{' | b'(') => !matches!(at.checked_sub(2).map(|i| line[i]), Some(b'$' | b'%')),
        // `{{ secret "app/password" }}`, `{{ .Values.password }}`: a template.
        Some(b' ') if line[..at].ends_with(b"{{ ") => false,
        Some(b'/' | b'@' | b'%' | b'$' | b'~' | b'^' | b'|') => false,
        Some(_) => true,
    }
}

/// For the `:` at `colon`, the `<` opening `<ns:` if it is an XML namespace prefix.
fn xml_namespace_start(line: &[u8], colon: usize) -> Option<usize> {
    let prefix =
        line[..colon].iter().rev().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'-').count();
    let open = colon.checked_sub(prefix + 1)?;
    (prefix > 0 && line[open] == b'<').then_some(open)
}

/// Whether the word at `at` starts a URL query written without its `?`, as
/// IIS and CloudFront access logs print them: `sig=a%2Fb`, `code=x&state=y`.
fn query_token(line: &[u8], at: usize) -> bool {
    let end = at + line[at..].iter().take_while(|b| !b.is_ascii_whitespace()).count();
    let token = &line[at..end];
    let Some(eq) = token.iter().position(|&b| b == b'=') else { return false };
    let value = &token[eq + 1..];
    let encoded = value.windows(3).any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit());
    // `&name=` after the value: another parameter, if `name` reads like a
    // parameter's name (a password may hold `&tPS5U=`).
    let another = value.windows(2).enumerate().any(|(i, w)| {
        w[0] == b'&' && {
            let name = value[i + 1..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
            name > 0
                && value.get(i + 1 + name) == Some(&b'=')
                && name > 1
                && crate::scrubber::values::reads_like_name(&value[i + 1..i + 1 + name])
        }
    });
    token[..eq].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') && (encoded || another)
}

/// Whether only indentation, a YAML list dash, `export` or a literal `\n`
/// stands between the start of a line and `at`.
fn starts_line(line: &[u8], at: usize) -> bool {
    let trimmed = line[..at].trim_ascii_end();
    let trimmed = trimmed.strip_suffix(b"export").unwrap_or(trimmed).trim_ascii_end();
    let trimmed = trimmed.strip_suffix(b"-").unwrap_or(trimmed).trim_ascii_end();
    trimmed.is_empty() || trimmed.ends_with(b"\\n")
}

/// Whether the `=` at `at` ends a command-line flag (`--from-literal=`), so
/// what follows is a flag's value, not a form body.
fn after_flag(line: &[u8], at: usize) -> bool {
    let token = line[..at].iter().rev().take_while(|b| !b.is_ascii_whitespace() && !matches!(b, b'\'' | b'"')).count();
    line[at - token..at].starts_with(b"-")
}

fn preceded_by_set(line: &[u8], at: usize) -> bool {
    let before = line[..at].trim_ascii_end();
    before.len() < at && (before.ends_with(b" set") || before.ends_with(b" SET"))
}

/// The quote that opens a key at `at`, if any: `"k"`, `'k'`, `\"k\"`,
/// `<k>`, `<ns:k>`.
fn quote_before(line: &[u8], at: usize) -> Option<Quote> {
    let byte = *line.get(at.checked_sub(1)?)?;
    match byte {
        b'"' | b'\'' => Some(Quote { byte, escapes: value::backslashes_before(line, at - 1) }),
        b'<' => Some(Quote { byte, escapes: 0 }),
        // PHP's print_r and Rails form fields: `[pwd] => x`, `user[password]=x`.
        b'[' => Some(Quote { byte: b']', escapes: 0 }),
        b':' if xml_namespace_start(line, at - 1).is_some() => Some(Quote { byte: b'<', escapes: 0 }),
        _ => None,
    }
}

/// Whether the quote at `at` (after its escapes) closes `quote`.
fn closes(line: &[u8], at: usize, quote: Quote) -> bool {
    let end = at + quote.escapes;
    line.get(end) == Some(&quote.byte) && line[at..end].iter().all(|&b| b == b'\\')
}

/// A bare lowercase word followed by more words reads as a sentence
/// (`volume "x" : secret "x" not found`), not a value.
fn reads_as_prose(line: &[u8], value: &Value) -> bool {
    let text = &line[value.range.clone()];
    if value.marked || text.is_empty() || !text.iter().all(u8::is_ascii_lowercase) {
        return false;
    }
    let next = value::skip_spaces(line, value.range.end);
    next > value.range.end && next < line.len() && !value::followed_by_assignment(line, next, b"=:")
}

/// `kubectl describe secret` prints `password:  13 bytes`: a size, not a value.
fn counts_bytes(line: &[u8], range: &Range<usize>) -> bool {
    let text = &line[range.clone()];
    let digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && (text.len() == digits && line[range.end..].starts_with(b" bytes") || &text[digits..] == b" bytes")
}

#[cfg(test)]
mod tests;
