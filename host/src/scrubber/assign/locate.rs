//! Where a value sits beside its key in the less common syntaxes: a
//! call's second argument, a Go struct's glued field, a Terraform change,
//! an object's `value` field, a name/value pair, an XML element, a
//! `user / password` pair, a directive's last word.

use std::ops::Range;

use super::value::{self, Context, Value};

/// Whether the word at `at` is the last on the line.
pub fn last_word(line: &[u8], at: usize) -> bool {
    let end = at + line[at..].iter().take_while(|b| !b.is_ascii_whitespace()).count();
    end > at && line[end..].iter().all(u8::is_ascii_whitespace)
}

/// In the object opening at `open`, where its own `value` field's value
/// starts (first level only, within 512 bytes).
pub fn value_field(line: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let end = line.len().min(open + 512);
    let mut i = open;
    while i < end {
        match line[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return None;
                }
            }
            b'"' if depth == 1 && line[i + 1..].starts_with(b"value\"") => {
                let op = value::skip_spaces(line, i + 7);
                let len = value::operator(line, op)?;
                return Some(value::skip_spaces(line, op + len));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// After a value, ` -> ` and a new value: the new one (a plan's change).
pub fn changed_to(line: &[u8], value: &Range<usize>, context: Context) -> Option<Value> {
    let mut at = value.end;
    if value.start > 0 && matches!(line[value.start - 1], b'"' | b'\'') && line.get(at) == Some(&line[value.start - 1])
    {
        at += 1;
    }
    let rest = &line[at..];
    let arrow = rest.strip_prefix(b" -> ")?;
    let start = line.len() - arrow.len();
    value::values(line, start, context).next()
}

/// `define( 'DB_PASSWORD', 'x' )`, `setenv("API_TOKEN", "x")`: a quoted key
/// that is a call's first argument (its quote opens at `open`), and after
/// it at `at` a comma and a quoted second argument: where that starts.
pub fn call_argument(line: &[u8], open: usize, at: usize) -> Option<usize> {
    let before = line[..open].trim_ascii_end();
    if !before.ends_with(b"(") {
        return None;
    }
    let comma = value::skip_spaces(line, at);
    if line.get(comma) != Some(&b',') {
        return None;
    }
    let value_at = value::skip_spaces(line, comma + 1);
    value::opening_quote(line, value_at).map(|_| value_at)
}

/// `Key:value` without a space is a field of a Go struct (`&{AppSecret:x}`)
/// or an HTTPie header (`DD-API-KEY:x`) when the key is a capitalised field
/// name and the value holds no further colon; `session:meta:42` stays.
pub fn field_then_value(line: &[u8], key: Range<usize>, at: usize) -> bool {
    let name = &line[key];
    let capitalised = name.first().is_some_and(u8::is_ascii_uppercase) && !name.contains(&b'.');
    let end = line[at..]
        .iter()
        .position(|b| b.is_ascii_whitespace() || matches!(b, b'}' | b'"' | b'\'' | b','))
        .map_or(line.len(), |p| at + p);
    capitalised && end > at && !line[at..end].contains(&b':')
}

/// After a quoted key that is itself the value of a `name`/`key` field: the
/// start of the `value` field's value that follows it.
pub fn paired_value(line: &[u8], at: usize) -> Option<usize> {
    const VALUE_FIELDS: [&[u8]; 4] = [b"value", b"parametervalue", b"secretvalue", b"val"];
    let mut i = value::skip_spaces(line, at);
    if line.get(i) == Some(&b',') {
        i = value::skip_spaces(line, i + 1);
    }
    let quoted = line[i..].iter().take_while(|b| matches!(b, b'"' | b'\'' | b'\\')).count();
    let name_start = i + quoted;
    let name_len = line[name_start..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
    let name = &line[name_start..name_start + name_len];
    if !VALUE_FIELDS.iter().any(|f| name.eq_ignore_ascii_case(f)) {
        return None;
    }
    let after = name_start + name_len;
    let after = after + line[after..].iter().take_while(|b| matches!(b, b'"' | b'\'' | b'\\')).count();
    let op = value::skip_spaces(line, after);
    value::operator(line, op).map(|len| value::skip_spaces(line, op + len))
}

/// `<password>value</password>`: at `at` sits the `>` (after any attributes).
pub fn xml_element_value(line: &[u8], at: usize) -> Option<Range<usize>> {
    let rest = &line[at..];
    let close = rest.iter().take(512).position(|&b| b == b'>')?;
    if rest[..close].contains(&b'<') || (close > 0 && rest[close - 1] == b'/') {
        return None;
    }
    let start = at + close + 1;
    // An element closes (`</password>`); `<password>@host` and
    // `<your-api-key> next` are placeholders.
    match line[start..].iter().position(|&b| b == b'<') {
        Some(p) if line.get(start + p + 1) == Some(&b'/') => Some(start..start + p),
        _ => None,
    }
}

/// After a bare value, ` / ` and a second value: the second, for
/// `user / password` pairs.
pub fn user_then_secret(line: &[u8], first: &Value, context: Context) -> Option<Value> {
    if first.marked || !line[first.range.end..].starts_with(b" / ") {
        return None;
    }
    value::single(line, first.range.end + 3, context)
}
