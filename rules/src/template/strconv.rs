//! Go's `strconv` as text/template and `fmt` use it: formatting floats with Go's `%e`, `%f` and `%g` rules,
//! parsing Go number literals and `strconv.ParseFloat` input, and quoting and unquoting strings.
//!
//! Digits come from Rust's float formatting, which like Go's is correctly rounded (ties to even on exact
//! halves) and gives the shortest round-tripping digits; the layout around them follows Go, whose `%g`
//! differs from C's (no trailing zeros, `%v` switches to an exponent at 21 digits for shortest output only
//! through `eprec = 6`, and exponents have at least two digits).

use std::fmt::Write as _;

/// The decimal digits of a finite, non-negative float: `0.d1d2d3… × 10^dp`, without trailing zeros.
/// Zero has no digits and `dp == 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Digits {
    digits: Vec<u8>,
    dp: i32,
}

impl Digits {
    /// Reads Rust's `{:e}` output (`d.ddde±x`) of a non-negative finite value.
    fn from_exponent_form(text: &str) -> Digits {
        let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
        let exponent: i32 = exponent.parse().unwrap_or(0);
        let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        if digits.is_empty() {
            return Digits { digits, dp: 0 };
        }
        Digits { digits, dp: exponent + 1 }
    }

    /// The shortest digits that read back as `v`.
    fn shortest(v: f64) -> Digits {
        Digits::from_exponent_form(&format!("{v:e}"))
    }

    /// `count` significant digits, correctly rounded.
    fn significant(v: f64, count: usize) -> Digits {
        let count = count.max(1);
        Digits::from_exponent_form(&format!("{v:.*e}", count - 1))
    }

    fn len(&self) -> i32 {
        i32::try_from(self.digits.len()).unwrap_or(i32::MAX)
    }
}

/// Formats like Go's `strconv.FormatFloat(v, fmt, prec, 64)` for `fmt` in `e E f g G`; `prec < 0` asks for
/// the shortest representation. Infinities are `+Inf`/`-Inf` and NaN is `NaN`, as Go writes them.
pub(crate) fn format_float(v: f64, fmt: u8, prec: i32) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let neg = v.is_sign_negative();
    let abs = v.abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let shortest = prec < 0;
    match fmt {
        b'f' => {
            if shortest {
                let digits = Digits::shortest(abs);
                let prec = (digits.len() - digits.dp).max(0);
                format_f(&mut out, &digits, prec);
            } else {
                let _ = write!(out, "{abs:.*}", usize::try_from(prec).unwrap_or(0));
            }
        }
        b'e' | b'E' => {
            let (digits, prec) = if shortest {
                let digits = Digits::shortest(abs);
                let prec = (digits.len() - 1).max(0);
                (digits, prec)
            } else {
                (Digits::significant(abs, usize::try_from(prec).unwrap_or(0) + 1), prec)
            };
            format_e(&mut out, &digits, prec, fmt);
        }
        _ => {
            let (digits, mut prec) = if shortest {
                let digits = Digits::shortest(abs);
                let prec = digits.len();
                (digits, prec)
            } else {
                let prec = prec.max(1);
                (Digits::significant(abs, usize::try_from(prec).unwrap_or(1)), prec)
            };
            let mut eprec = prec;
            if eprec > digits.len() && digits.len() >= digits.dp {
                eprec = digits.len();
            }
            // Go: if the precision was the shortest possible, use precision 6 for this decision.
            if shortest {
                eprec = 6;
            }
            let exp = digits.dp - 1;
            if exp < -4 || exp >= eprec {
                if prec > digits.len() {
                    prec = digits.len();
                }
                let e = if fmt == b'G' { b'E' } else { b'e' };
                format_e(&mut out, &digits, prec - 1, e);
            } else {
                if prec > digits.dp {
                    prec = digits.len();
                }
                format_f(&mut out, &digits, (prec - digits.dp).max(0));
            }
        }
    }
    out
}

/// `d.ddd` with `prec` digits after the point, then the exponent with a sign and at least two digits.
fn format_e(out: &mut String, digits: &Digits, prec: i32, e: u8) {
    let first = digits.digits.first().copied().unwrap_or(b'0');
    out.push(char::from(first));
    if prec > 0 {
        out.push('.');
        let wanted = usize::try_from(prec).unwrap_or(0);
        for i in 1..=wanted {
            out.push(char::from(digits.digits.get(i).copied().unwrap_or(b'0')));
        }
    }
    out.push(char::from(e));
    let exp = if digits.digits.is_empty() { 0 } else { digits.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.unsigned_abs();
    if exp < 10 {
        out.push('0');
    }
    let _ = write!(out, "{exp}");
}

/// `ddd.ddd` with `prec` digits after the point.
fn format_f(out: &mut String, digits: &Digits, prec: i32) {
    if digits.dp > 0 {
        let dp = usize::try_from(digits.dp).unwrap_or(0);
        for i in 0..dp {
            out.push(char::from(digits.digits.get(i).copied().unwrap_or(b'0')));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = digits.dp + i - 1;
            let ch =
                usize::try_from(j).ok().and_then(|j| digits.digits.get(j).copied()).unwrap_or(b'0');
            out.push(char::from(ch));
        }
    }
}

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
    let (base, digits, prefixed) = if lower.starts_with("0x") {
        (16, &body[2..], true)
    } else if lower.starts_with("0o") {
        (8, &body[2..], true)
    } else if lower.starts_with("0b") {
        (2, &body[2..], true)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..], true)
    } else {
        (10, body, false)
    };
    if digits.contains('_') && !underscore_ok(body) {
        return Err(NumError::Syntax);
    }
    let _ = prefixed;
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
mod tests {
    use super::*;

    fn g(v: f64, prec: i32) -> String {
        format_float(v, b'g', prec)
    }

    #[test]
    fn shortest_g_switches_to_exponent_at_21_digits_like_go_v() {
        assert_eq!(g(0.1, -1), "0.1");
        assert_eq!(g(100.0, -1), "100");
        assert_eq!(g(100000.0, -1), "100000");
        assert_eq!(g(1e6, -1), "1e+06");
        assert_eq!(g(1234567.0, -1), "1.234567e+06");
        assert_eq!(g(123456.7, -1), "123456.7");
        assert_eq!(g(0.0001, -1), "0.0001");
        assert_eq!(g(0.00001, -1), "1e-05");
        assert_eq!(g(1e21, -1), "1e+21");
        assert_eq!(g(-0.0, -1), "-0");
        assert_eq!(g(0.0, -1), "0");
        assert_eq!(g(9.223372036854776e18, -1), "9.223372036854776e+18");
        assert_eq!(g(1e100, -1), "1e+100");
    }

    #[test]
    fn precision_g_rounds_to_significant_digits_without_trailing_zeros() {
        assert_eq!(g(1234567.0, 4), "1.235e+06");
        assert_eq!(g(1.2345, 4), "1.234");
        assert_eq!(g(12.345, 4), "12.35");
        assert_eq!(g(100.0, 4), "100");
        assert_eq!(g(1e5, 4), "1e+05");
        assert_eq!(g(1234.5, 4), "1234");
        assert_eq!(g(0.0001234, 4), "0.0001234");
        assert_eq!(g(0.00001234, 4), "1.234e-05");
        assert_eq!(g(1.5, 4), "1.5");
        assert_eq!(g(0.0, 4), "0");
        assert_eq!(g(2.5, 0), "2");
        assert_eq!(g(f64::INFINITY, 4), "+Inf");
        assert_eq!(g(f64::NAN, 4), "NaN");
    }

    #[test]
    fn e_and_f_use_six_digits_by_default_and_two_digit_exponents() {
        assert_eq!(format_float(1234.5678, b'e', 6), "1.234568e+03");
        assert_eq!(format_float(0.0, b'e', 2), "0.00e+00");
        assert_eq!(format_float(1e-300, b'E', 1), "1.0E-300");
        assert_eq!(format_float(1.23456, b'f', 2), "1.23");
        assert_eq!(format_float(0.125, b'f', 2), "0.12");
        assert_eq!(format_float(-2.5, b'f', 0), "-2");
        assert_eq!(format_float(1e21, b'f', -1), "1000000000000000000000");
        assert_eq!(format_float(1234.5, b'e', -1), "1.2345e+03");
    }

    #[test]
    fn parse_float_accepts_go_syntax_and_reports_go_errors() {
        assert_eq!(parse_float("1.5"), Ok(1.5));
        assert_eq!(parse_float(".12"), Ok(0.12));
        assert_eq!(parse_float("1e3"), Ok(1000.0));
        assert_eq!(parse_float("1_000.5"), Ok(1000.5));
        assert_eq!(parse_float("0x1p-2"), Ok(0.25));
        assert_eq!(parse_float("+Inf"), Ok(f64::INFINITY));
        assert_eq!(parse_float("-infinity"), Ok(f64::NEG_INFINITY));
        assert!(parse_float("NaN").is_ok_and(f64::is_nan));
        assert_eq!(parse_float("+NaN"), Err(NumError::Syntax));
        assert_eq!(parse_float("one"), Err(NumError::Syntax));
        assert_eq!(parse_float(""), Err(NumError::Syntax));
        assert_eq!(parse_float("1__0"), Err(NumError::Syntax));
        assert_eq!(parse_float("0x1"), Err(NumError::Syntax));
        assert_eq!(parse_float("1e400"), Err(NumError::Range));
        assert_eq!(
            NumError::Syntax.message("ParseFloat", "one"),
            r#"strconv.ParseFloat: parsing "one": invalid syntax"#
        );
    }

    #[test]
    fn parse_int_literal_follows_go_base_prefixes() {
        assert_eq!(parse_int_literal("42", false), Ok(42));
        assert_eq!(parse_int_literal("-0x1F", false), Ok(-31));
        assert_eq!(parse_int_literal("017", false), Ok(15));
        assert_eq!(parse_int_literal("0b101", false), Ok(5));
        assert_eq!(parse_int_literal("1_000", false), Ok(1000));
        assert_eq!(parse_int_literal("-1", true), Err(NumError::Syntax));
        assert_eq!(parse_int_literal("089", false), Err(NumError::Syntax));
        assert_eq!(parse_int_literal("9223372036854775808", false), Err(NumError::Range));
        assert_eq!(parse_int_literal("9223372036854775808", true), Ok(9_223_372_036_854_775_808));
        assert_eq!(parse_int_literal("1.5", false), Err(NumError::Syntax));
    }

    #[test]
    fn quote_and_unquote_round_trip_go_escapes() {
        assert_eq!(quote("a\"b\\c\n\u{1}é", false), r#""a\"b\\c\n\x01é""#);
        assert_eq!(quote("é", true), r#""\u00e9""#);
        assert_eq!(quote_rune('\'', false), r"'\''");
        assert_eq!(unquote(r#""a\tb\x41\u00e9\101\"""#), Ok("a\tbAéA\"".to_owned()));
        assert_eq!(unquote("`raw\\n\r`"), Ok("raw\\n".to_owned()));
        assert_eq!(unquote(r#""\'""#), Err(NumError::Syntax));
        assert_eq!(unquote(r#""\q""#), Err(NumError::Syntax));
        assert!(can_backquote("a\tb"));
        assert!(!can_backquote("a`b"));
    }
}
