//! Go's `strconv` as text/template and `fmt` use it: float formatting (`FormatFloat`), parsing of Go number
//! literals and of `ParseFloat` input, and quoting and unquoting of strings.

use std::fmt::Write as _;

mod float;

pub(crate) use float::format_float;

/// Why Go's `strconv` rejected a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumError {
    Syntax,
    Range,
}

impl NumError {
    /// Go's wording: `strconv.ParseFloat: parsing "x": invalid syntax`.
    pub(crate) fn message(self, function: &str, input: &str) -> String {
        let reason = match self {
            NumError::Syntax => "invalid syntax",
            NumError::Range => "value out of range",
        };
        format!("strconv.{function}: parsing {}: {reason}", quote(input, false))
    }
}

/// Go's rule for `_` in number literals: it must separate digits (a base prefix counts as a digit).
fn underscore_ok(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    if bytes.first().is_some_and(|&c| c == b'+' || c == b'-') {
        i += 1;
    }
    let mut hex = false;
    if bytes.len() >= i + 2
        && bytes[i] == b'0'
        && matches!(bytes[i + 1].to_ascii_lowercase(), b'b' | b'o' | b'x')
    {
        hex = bytes[i + 1].eq_ignore_ascii_case(&b'x');
        i += 2;
        saw = b'0';
    }
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `strconv.ParseFloat(s, 64)`: decimal and hexadecimal floats with optional `_` separators, and
/// `inf`, `infinity`, `nan` in any case (a sign only on the infinities).
pub(crate) fn parse_float(s: &str) -> Result<f64, NumError> {
    if let Some(v) = parse_special(s) {
        return Ok(v);
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut negative = false;
    if let Some(&c) = bytes.first()
        && (c == b'+' || c == b'-')
    {
        negative = c == b'-';
        i = 1;
    }
    let hex = bytes.len() > i + 2 && bytes[i] == b'0' && bytes[i + 1].eq_ignore_ascii_case(&b'x');
    if hex {
        i += 2;
    }
    let mut saw_digits = false;
    let mut saw_dot = false;
    let mut underscores = false;
    let mantissa_start = i;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'_' {
            underscores = true;
        } else if c == b'.' {
            if saw_dot {
                break;
            }
            saw_dot = true;
        } else if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw_digits = true;
        } else {
            break;
        }
        i += 1;
    }
    if !saw_digits {
        return Err(NumError::Syntax);
    }
    let mantissa_end = i;
    let exp_char = if hex { b'p' } else { b'e' };
    let mut exponent: Option<(i64, &str)> = None;
    if i < bytes.len() && bytes[i].to_ascii_lowercase() == exp_char {
        i += 1;
        let exp_start = i;
        let mut sign = 1;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            if bytes[i] == b'-' {
                sign = -1;
            }
            i += 1;
        }
        if i >= bytes.len() || !bytes[i].is_ascii_digit() {
            return Err(NumError::Syntax);
        }
        let mut e: i64 = 0;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
            if bytes[i] == b'_' {
                underscores = true;
            } else if e < 10000 {
                e = e * 10 + i64::from(bytes[i] - b'0');
            }
            i += 1;
        }
        exponent = Some((sign * e, &s[exp_start..i]));
    } else if hex {
        // Go: a hexadecimal mantissa requires a 'p' exponent.
        return Err(NumError::Syntax);
    }
    if i != bytes.len() {
        return Err(NumError::Syntax);
    }
    if underscores && !underscore_ok(s) {
        return Err(NumError::Syntax);
    }
    let mantissa: String = s[mantissa_start..mantissa_end].chars().filter(|&c| c != '_').collect();
    let value = if hex {
        parse_hex_float(&mantissa, exponent.map_or(0, |(e, _)| e))
    } else {
        let mut text = mantissa;
        if let Some((_, exp_text)) = exponent {
            text.push('e');
            text.extend(exp_text.chars().filter(|&c| c != '_'));
        }
        text.parse::<f64>().map_err(|_| NumError::Syntax)?
    };
    let value = if negative { -value } else { value };
    if value.is_infinite() {
        return Err(NumError::Range);
    }
    Ok(value)
}

fn parse_special(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let (sign, rest) = match lower.as_bytes().first() {
        Some(b'+') => (1.0, &lower[1..]),
        Some(b'-') => (-1.0, &lower[1..]),
        _ => (1.0, lower.as_str()),
    };
    if rest == "inf" || rest == "infinity" {
        return Some(sign * f64::INFINITY);
    }
    if lower == "nan" {
        return Some(f64::NAN);
    }
    None
}

/// A hexadecimal mantissa (digits and an optional point) times `2^exp`. Digits past the 30th are dropped,
/// far beyond the 53 bits a float keeps.
fn parse_hex_float(mantissa: &str, exp: i64) -> f64 {
    let mut value: u128 = 0;
    let mut exp = exp;
    let mut seen_dot = false;
    let mut kept = 0;
    for c in mantissa.chars() {
        if c == '.' {
            seen_dot = true;
            continue;
        }
        let digit = u128::from(c.to_digit(16).unwrap_or(0));
        if kept < 30 {
            value = value * 16 + digit;
            kept += 1;
            if seen_dot {
                exp -= 4;
            }
        } else if !seen_dot {
            exp += 4;
        }
    }
    let exp = i32::try_from(exp.clamp(-2000, 2000)).unwrap_or(0);
    // Two steps keep the power of two representable for very small and very large exponents.
    let half = exp / 2;
    (value as f64) * 2f64.powi(half) * 2f64.powi(exp - half)
}

/// Go's `strconv.ParseInt(s, 0, 64)` (or `ParseUint` when `unsigned`): base prefixes `0x`, `0o`, `0b`, a
/// leading `0` for octal, and `_` separators.
pub(crate) fn parse_int_literal(s: &str, unsigned: bool) -> Result<i128, NumError> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut negative = false;
    if !unsigned
        && let Some(&c) = bytes.first()
        && (c == b'+' || c == b'-')
    {
        negative = c == b'-';
        i = 1;
    }
    let body = &s[i..];
    if body.is_empty() {
        return Err(NumError::Syntax);
    }
    let lower = body.to_ascii_lowercase();
    let (base, digits) = if lower.starts_with("0x") {
        (16, &body[2..])
    } else if lower.starts_with("0o") {
        (8, &body[2..])
    } else if lower.starts_with("0b") {
        (2, &body[2..])
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.contains('_') && !underscore_ok(body) {
        return Err(NumError::Syntax);
    }
    let mut value: i128 = 0;
    let mut any = false;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let digit = c.to_digit(base).ok_or(NumError::Syntax)?;
        value = value * i128::from(base) + i128::from(digit);
        any = true;
        if value > i128::from(u64::MAX) + 1 {
            // Keep consuming to report syntax errors first, as Go does, but cap the value.
            value = i128::from(u64::MAX) + 2;
        }
    }
    if !any {
        return Err(NumError::Syntax);
    }
    let value = if negative { -value } else { value };
    let in_range = if unsigned {
        (0..=i128::from(u64::MAX)).contains(&value)
    } else {
        (i128::from(i64::MIN)..=i128::from(i64::MAX)).contains(&value)
    };
    if !in_range {
        return Err(NumError::Range);
    }
    Ok(value)
}

/// Go's `unicode.IsPrint`, close enough for quoting: letters, marks, numbers, punctuation, symbols and the
/// ASCII space; not controls, other spaces, format characters or private-use characters.
pub(crate) fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(
        c,
        '\u{AD}'
            | '\u{600}'..='\u{605}'
            | '\u{61C}'
            | '\u{6DD}'
            | '\u{70F}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{E000}'..='\u{F8FF}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{F0000}'..='\u{10FFFF}'
    )
}

fn push_escaped(out: &mut String, c: char, quote_char: char, ascii_only: bool) {
    if c == quote_char || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if ascii_only {
        if c.is_ascii() && is_print(c) {
            out.push(c);
            return;
        }
    } else if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if u32::from(c) < 0x20 || c == '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        c if u32::from(c) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        }
        c => {
            let _ = write!(out, "\\U{:08x}", u32::from(c));
        }
    }
}

/// Go's `strconv.Quote` (or `QuoteToASCII` when `ascii_only`).
pub(crate) fn quote(s: &str, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"', ascii_only);
    }
    out.push('"');
    out
}

/// Go's `strconv.QuoteRune` (or `QuoteRuneToASCII`).
pub(crate) fn quote_rune(c: char, ascii_only: bool) -> String {
    let mut out = String::from("'");
    push_escaped(&mut out, c, '\'', ascii_only);
    out.push('\'');
    out
}

/// Go's `strconv.CanBackquote`: no control characters other than tab, no backquote, no BOM.
pub(crate) fn can_backquote(s: &str) -> bool {
    s.chars().all(|c| {
        c == '\t' || (c != '`' && c != '\u{FEFF}' && !(u32::from(c) < 0x20 || c == '\u{7f}'))
    })
}

/// Go's `strconv.UnquoteChar`: the first character of `s` (an escape sequence or a literal character) and the
/// rest of `s`. Fails as Go does with `invalid syntax`.
pub(crate) fn unquote_char(s: &str, quote_char: char) -> Result<(char, &str), NumError> {
    let mut chars = s.chars();
    let c = chars.next().ok_or(NumError::Syntax)?;
    if c == quote_char && (quote_char == '\'' || quote_char == '"') {
        return Err(NumError::Syntax);
    }
    if c != '\\' {
        return Ok((c, chars.as_str()));
    }
    let escape = chars.next().ok_or(NumError::Syntax)?;
    let rest = chars.as_str();
    let simple = match escape {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        '\\' => Some('\\'),
        '\'' | '"' => {
            if escape != quote_char {
                return Err(NumError::Syntax);
            }
            Some(escape)
        }
        _ => None,
    };
    if let Some(c) = simple {
        return Ok((c, rest));
    }
    match escape {
        'x' | 'u' | 'U' => {
            let n = match escape {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let hex = rest.get(..n).ok_or(NumError::Syntax)?;
            if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(NumError::Syntax);
            }
            let value = u32::from_str_radix(hex, 16).map_err(|_| NumError::Syntax)?;
            // A `\x` escape is a byte in Go; strings here are UTF-8, so bytes above 0x7F become that code point.
            let c = char::from_u32(value).ok_or(NumError::Syntax)?;
            Ok((c, &rest[n..]))
        }
        '0'..='7' => {
            let more = rest.get(..2).ok_or(NumError::Syntax)?;
            let mut value = escape.to_digit(8).unwrap_or(0);
            for d in more.chars() {
                value = value * 8 + d.to_digit(8).ok_or(NumError::Syntax)?;
            }
            if value > 255 {
                return Err(NumError::Syntax);
            }
            let c = char::from_u32(value).ok_or(NumError::Syntax)?;
            Ok((c, &rest[2..]))
        }
        _ => Err(NumError::Syntax),
    }
}

/// Go's `strconv.Unquote` for `"…"` and `` `…` `` literals.
pub(crate) fn unquote(s: &str) -> Result<String, NumError> {
    if s.len() < 2 {
        return Err(NumError::Syntax);
    }
    let quote_char = s.chars().next().ok_or(NumError::Syntax)?;
    if !s.ends_with(quote_char) {
        return Err(NumError::Syntax);
    }
    let body = &s[1..s.len() - 1];
    match quote_char {
        '`' => {
            if body.contains('`') {
                return Err(NumError::Syntax);
            }
            // Go drops carriage returns from raw strings.
            Ok(body.chars().filter(|&c| c != '\r').collect())
        }
        '"' => {
            if body.contains('\n') {
                return Err(NumError::Syntax);
            }
            let mut out = String::with_capacity(body.len());
            let mut rest = body;
            while !rest.is_empty() {
                let (c, tail) = unquote_char(rest, '"')?;
                out.push(c);
                rest = tail;
            }
            Ok(out)
        }
        _ => Err(NumError::Syntax),
    }
}

#[cfg(test)]
mod tests;
