//! Placeholders, masks and templates: text that stands where a secret
//! would, without being one.

/// Text that stands for a secret without being one: `null`, `None`, `""`,
/// `${VAR}`, `$VAR`, `%(name)s`, `{{ var }}`, `<redacted>`, `[REDACTED]`,
/// `***`, `••••`, `xxxx`, and masks that show a few characters
/// (`****1234`, `sk-...abcd`).
pub fn is_placeholder(value: &[u8]) -> bool {
    let value = trim_quotes(value);
    // `\$API_TOKEN`: a shell-escaped reference is still a reference.
    let value = value.strip_prefix(b"\\").filter(|v| v.starts_with(b"$")).unwrap_or(value);
    if value.is_empty() {
        return true;
    }
    let first = value[0];
    let last = value[value.len() - 1];
    // Template and environment references.
    // `$IncY7Xr_v6QCU` is a password that starts with `$`, not a variable.
    if first == b'$'
        && value.len() > 1
        && (value[1] == b'{' || value[1] == b'(' || is_ident(&value[1..]) && reads_like_name(&value[1..]))
    {
        return true;
    }
    if value.starts_with(b"%(")
        || (value.starts_with(b"{{") && value.ends_with(b"}}"))
        || value == b"%s"
        || value == b"?"
    {
        return true;
    }
    if is_template(value) {
        return true;
    }
    // A whole bracketed word: <redacted>, [REDACTED], (hidden), {password},
    // and template references such as <path:secret/data/app#key>.
    let inner = value.get(1..value.len().saturating_sub(1)).unwrap_or_default();
    let bracketed = match (first, last) {
        // `<redacted>`, `<set in vault>`, `<your api key>`: words, not a secret.
        (b'<', b'>') => {
            !inner.iter().any(u8::is_ascii_whitespace)
                || inner.iter().all(|b| b.is_ascii_alphabetic() || b" _-".contains(b))
        }
        (b'[', b']') | (b'(', b')') | (b'{', b'}') => {
            inner.iter().all(|b| b.is_ascii_alphanumeric() || b" _-:.*".contains(b))
        }
        _ => false,
    };
    if value.len() >= 2 && bracketed {
        return true;
    }
    is_mask(value)
        || is_marker_word(value)
        || is_escaped_marker(value)
        || is_secret_spec(value)
        || crate::scrubber::block::is_indicator(value)
}

/// A BuildKit secret or mount spec names where a secret comes from, not
/// the secret: `id=gh_token,env=GH_TOKEN` (`docker build --secret`),
/// `id=npmrc,src=/run/npmrc`, `type=secret,id=aws,target=/root/.aws`.
fn is_secret_spec(value: &[u8]) -> bool {
    const KEYS: [&[u8]; 13] = [
        b"id",
        b"type",
        b"src",
        b"source",
        b"env",
        b"target",
        b"dst",
        b"destination",
        b"required",
        b"mode",
        b"uid",
        b"gid",
        b"readonly",
    ];
    let key_of = |pair: &[u8]| pair.iter().position(|b| *b == b'=').map(|at| pair[..at].to_vec());
    let mut pairs = value.split(|b| *b == b',');
    let first = pairs.next().unwrap_or_default();
    let rest: Vec<Option<Vec<u8>>> = pairs.map(key_of).collect();
    let known = |key: &Option<Vec<u8>>| key.as_ref().is_some_and(|key| KEYS.contains(&key.as_slice()));
    match key_of(first) {
        Some(key) if key == b"id" || key == b"type" => rest.iter().all(known),
        // `--secret id=gh_token,env=GH_TOKEN` read with `secret id` as the
        // key leaves `gh_token,env=GH_TOKEN`: a name, then where from.
        None => {
            !rest.is_empty()
                && rest.iter().all(known)
                && rest.iter().flatten().any(|key| [&b"env"[..], b"src", b"source"].contains(&key.as_slice()))
                && crate::scrubber::values::placeholders::reads_like_name(first)
        }
        Some(_) => false,
    }
}

/// Template syntaxes of config tools and CI systems that a value is
/// substituted from: `<%= ENV['X'] %>`, `#{ENV["X"]}`, Octopus
/// `#{DbPassword}#`, `%DB_PASSWORD%`, `__DB_PASSWORD__`, `{env:X}` and
/// `{env\:X}`, Grafana `$__file{...}`, Symfony `%env(X)%`,
/// `(sensitive value)`, `(known after apply)`.
fn is_template(value: &[u8]) -> bool {
    let wrapped = |open: &[u8], close: &[u8]| {
        value.starts_with(open) && value.ends_with(close) && value.len() > open.len() + close.len()
    };
    let identifier = |inner: &[u8]| !inner.is_empty() && inner.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
    if wrapped(b"<%", b"%>")
        || wrapped(b"#{", b"}")
        || wrapped(b"#{", b"}#")
        || wrapped(b"\\#{", b"}")
        || wrapped(b"\\#{", b"}#")
        || wrapped(b"%env(", b")%")
        || wrapped(b"@@", b"@@")
    {
        return true;
    }
    if wrapped(b"%", b"%") && identifier(&value[1..value.len() - 1]) {
        return true;
    }
    if wrapped(b"__", b"__")
        && identifier(&value[2..value.len() - 2])
        && value[2..value.len() - 2].iter().any(u8::is_ascii_uppercase)
    {
        return true;
    }
    if value.starts_with(b"{env:") || value.starts_with(b"{env\\:") || is_grafana_expansion(value) {
        return true;
    }
    const PHRASES: [&[u8]; 6] =
        [b"(sensitive value)", b"(sensitive)", b"(known after apply)", b"(hidden)", b"(secret)", b"(redacted)"];
    PHRASES.iter().any(|p| value.eq_ignore_ascii_case(p))
}

/// Grafana's `$__env{NAME}`, `$__file{PATH}`, `$__vault{...}`: a lowercase
/// word between `$__` and braces. `$__0*0A` is a password that starts with
/// `$__`, not an expansion.
fn is_grafana_expansion(value: &[u8]) -> bool {
    let Some(rest) = value.strip_prefix(b"$__") else { return false };
    let word = rest.iter().take_while(|b| b.is_ascii_lowercase()).count();
    word > 0 && rest[word..].starts_with(b"{") && rest.ends_with(b"}")
}

/// Markers written with escaped brackets: `&lt;hidden&gt;`, `%3Credacted%3E`.
fn is_escaped_marker(value: &[u8]) -> bool {
    let inner = if value.starts_with(b"&lt;") && value.ends_with(b"&gt;") && value.len() > 8 {
        &value[4..value.len() - 4]
    } else if value.len() > 6
        && value[..3].eq_ignore_ascii_case(b"%3C")
        && value[value.len() - 3..].eq_ignore_ascii_case(b"%3E")
    {
        &value[3..value.len() - 3]
    } else {
        return false;
    };
    inner.iter().all(|b| b.is_ascii_alphabetic() || b"_- ".contains(b))
}

/// Masked text: all mask characters (`*`, `•`, `.`...), or a run of three
/// or more of the same one with at most eight characters in clear before
/// and after it (`****1234`, `sk-...abcd`), or `x`/`X` only.
fn is_mask(value: &[u8]) -> bool {
    // Without a mask character (all ASCII but `*` and `.`, or non-ASCII)
    // only the `xxxx` form is left: most values, and no allocation.
    let all_x = value.len() >= 3 && value.iter().all(|&b| b == b'x' || b == b'X');
    if !value.iter().any(|&b| b == b'*' || b == b'.' || !b.is_ascii()) {
        return all_x;
    }
    let text = String::from_utf8_lossy(value);
    let is_mask_char = |c: char| matches!(c, '*' | '•' | '●' | '·' | '…' | '.');
    // Sentence punctuation after a mask (`sk-proj-****LaY9.`) is not part of it.
    let text = text.trim_end_matches(['.', ',', ';']);
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return true;
    }
    if chars.iter().all(|&c| is_mask_char(c)) {
        return true;
    }
    // The longest run of one mask character, and where it is.
    let (mut best, mut best_at, mut at) = (0usize, 0usize, 0usize);
    while at < chars.len() {
        let run = chars[at..].iter().take_while(|&&c| c == chars[at]).count();
        if is_mask_char(chars[at]) && run > best {
            (best, best_at) = (run, at);
        }
        at += run;
    }
    let clear_around = chars.len() - best;
    let clear_elsewhere = chars[..best_at].iter().chain(&chars[best_at + best..]).all(|&c| !is_mask_char(c));
    // What is in clear around a mask is a token's prefix and its last
    // characters (`sk-...abcd`, `****1234`); `^...a-0` and `***aa!A` are
    // passwords with dots or stars in them. Dots also need a prefix.
    let dots = matches!(chars.get(best_at), Some('.' | '…'));
    let prefix = &chars[..best_at];
    let suffix = &chars[best_at + best..];
    let shaped = prefix.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        && suffix.iter().all(char::is_ascii_alphanumeric)
        && (!dots || (prefix.len() >= 2 && prefix[0].is_ascii_alphanumeric()));
    if best >= 3 && clear_around <= best.max(8) && clear_elsewhere && shaped {
        return true;
    }
    // A vendor prefix and a long mask, perhaps in parts: `hvs.*****`,
    // `SG.****.****`, `sk-ant-api03-****...zqoh`.
    let stars = |c: &char| matches!(c, '*' | '•' | '●');
    let longest_stars = chars.chunk_by(|a, b| a == b).filter(|run| stars(&run[0])).map(<[char]>::len).max();
    let clear = chars.iter().filter(|c| c.is_ascii_alphanumeric()).count();
    let token_shaped = chars.iter().all(|c| c.is_ascii_alphanumeric() || is_mask_char(*c) || matches!(c, '-' | '_'));
    if longest_stars.is_some_and(|run| run >= 4) && clear <= 24 && token_shaped {
        return true;
    }
    all_x
}

fn is_marker_word(value: &[u8]) -> bool {
    const MARKERS: &[&[u8]] = &[
        b"redacted",
        b"filtered",
        b"hidden",
        b"masked",
        b"removed",
        b"sensitive",
        b"your_password",
        b"your-password",
        b"your_token",
        b"your-token",
        b"your_api_key",
        b"your-api-key",
        b"<your-token>",
        b"not-set",
        b"not_set",
        b"notset",
        b"unset",
        b"n/a",
    ];
    // **REDACTED**, **hidden**
    let starred = value.starts_with(b"**")
        && value.ends_with(b"**")
        && value.iter().all(|b| b.is_ascii_alphabetic() || matches!(b, b'*' | b'_' | b' '));
    MARKERS.iter().any(|m| value.eq_ignore_ascii_case(m)) || value.starts_with(b"[REDACTED") || starred
}

/// `"x"` or `'x'` without its quotes.
fn trim_quotes(value: &[u8]) -> &[u8] {
    match value {
        [b'"', inner @ .., b'"'] | [b'\'', inner @ .., b'\''] => inner,
        _ => value,
    }
}

/// Whether `name` reads like a name someone chose rather than random text:
/// `state`, `client_id`, `DB_PASSWORD`, `redirectUri`, `DbPassword`,
/// `password2`; not `tPS5U`, `IncY7Xr_v6QCU` or `aB9c`.
pub fn reads_like_name(name: &[u8]) -> bool {
    let Some(&first) = name.first() else { return false };
    // Digits only at the end (`v2`, `password2`).
    let letters = &name[..name.len() - name.iter().rev().take_while(|b| b.is_ascii_digit()).count()];
    let snake = |upper: bool| {
        letters
            .iter()
            .all(|&b| b == b'_' || b.is_ascii_digit() || b.is_ascii_alphabetic() && b.is_ascii_uppercase() == upper)
    };
    // camelCase and PascalCase: letters, no two capitals in a row.
    let camel = letters.iter().all(u8::is_ascii_alphabetic)
        && !letters.windows(2).any(|w| w[0].is_ascii_uppercase() && w[1].is_ascii_uppercase());
    first.is_ascii_alphabetic() && (snake(false) || snake(true) || camel)
}

fn is_ident(text: &[u8]) -> bool {
    !text.is_empty()
        && (text[0].is_ascii_alphabetic() || text[0] == b'_')
        && text.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}
