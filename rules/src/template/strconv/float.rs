//! Go's `strconv.FormatFloat` for the `e`, `f` and `g` formats. Digits come from Rust's float formatting,
//! which like Go's is correctly rounded (ties to even on exact halves) and gives the shortest round-tripping
//! digits; the layout around them follows Go. Go's `%g` is not C's: without `#` it never keeps trailing
//! zeros, and its shortest form (`%v`) switches to an exponent from 1e+06 on, however few the digits.

use std::fmt::Write as _;

/// How many digits Rust's formatter is asked for at most. Every f64 is a multiple of 2^-1074, so its exact
/// decimal expansion has no digit past the 1074th after the point (and at most 767 significant ones): the digits
/// of a larger precision (Go allows up to 1e6) are zeros, written here, while Rust's formatter panics on
/// precisions past `u16::MAX`.
const EXACT_DIGITS: usize = 1100;

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
        let count = count.clamp(1, EXACT_DIGITS);
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
                let prec = usize::try_from(prec).unwrap_or(0);
                let exact = prec.min(EXACT_DIGITS);
                let _ = write!(out, "{abs:.exact$}");
                out.extend(std::iter::repeat_n('0', prec - exact));
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
