//! Go's `fmt` verbs for numbers: `%d %b %o %O %x %X %c %q %U` of integers and `%v %e %E %f %F %g %G`
//! of floats, with flags, width and precision.

use super::super::strconv::{can_backquote, format_float, is_print, quote_rune};
use super::super::value::Value;
use super::{LOWER_HEX, Printer, UPPER_HEX};

impl Printer {
    pub(super) fn fmt_integer(&mut self, i: i64, verb: char, arg: &Value) {
        match verb {
            'v' | 'd' => self.fmt_int_base(i, 10, verb, LOWER_HEX),
            'b' => self.fmt_int_base(i, 2, verb, LOWER_HEX),
            'o' | 'O' => self.fmt_int_base(i, 8, verb, LOWER_HEX),
            'x' => self.fmt_int_base(i, 16, verb, LOWER_HEX),
            'X' => self.fmt_int_base(i, 16, verb, UPPER_HEX),
            'c' => {
                let c = u32::try_from(i).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}');
                self.pad(&c.to_string());
            }
            'q' => {
                let c = u32::try_from(i).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}');
                let s = c.to_string();
                let quoted = if self.f.sharp && can_backquote(&s) {
                    format!("`{s}`")
                } else {
                    quote_rune(c, self.f.plus)
                };
                self.pad(&quoted);
            }
            'U' => {
                // Padded by hand: Rust's formatter panics on widths past `u16::MAX`, Go allows up to 1e6.
                let hex = format!("{i:X}");
                let zeros = self.f.prec.unwrap_or(4).max(4).saturating_sub(hex.len());
                let mut s = format!("U+{}{hex}", "0".repeat(zeros));
                if self.f.sharp
                    && let Some(c) =
                        u32::try_from(i).ok().and_then(char::from_u32).filter(|&c| is_print(c))
                {
                    s.push_str(&format!(" '{c}'"));
                }
                self.pad_spaces(&s);
            }
            _ => self.bad_verb(verb, arg),
        }
    }

    fn fmt_int_base(&mut self, i: i64, base: u64, verb: char, digits: &[u8]) {
        let negative = i < 0;
        let mut u = i.unsigned_abs();
        // Two ways to ask for leading zeros: %.3d or %03d; with both, the zero flag is ignored.
        let mut prec = 0;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let wid = self.f.wid.unwrap_or(0);
                let zero = std::mem::replace(&mut self.f.zero, false);
                self.write_padding(wid);
                self.f.zero = zero;
                return;
            }
        } else if self.f.zero
            && !self.f.minus
            && let Some(wid) = self.f.wid
        {
            prec = wid;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut buf: Vec<u8> = Vec::new();
        loop {
            buf.push(digits[usize::try_from(u % base).unwrap_or(0)]);
            u /= base;
            if u == 0 {
                break;
            }
        }
        while buf.len() < prec {
            buf.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => buf.extend_from_slice(b"b0"),
                8 if buf.last() != Some(&b'0') => buf.push(b'0'),
                16 => {
                    buf.push(digits[16]);
                    buf.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            buf.extend_from_slice(b"o0");
        }
        if negative {
            buf.push(b'-');
        } else if self.f.plus {
            buf.push(b'+');
        } else if self.f.space {
            buf.push(b' ');
        }
        buf.reverse();
        let s = String::from_utf8(buf).unwrap_or_default();
        self.pad_spaces(&s);
    }

    pub(super) fn fmt_float(&mut self, v: f64, verb: char, arg: &Value) {
        match verb {
            'v' => self.fmt_float_as(v, b'g', None),
            'g' | 'G' => self.fmt_float_as(v, verb as u8, None),
            'e' | 'E' | 'f' => self.fmt_float_as(v, verb as u8, Some(6)),
            'F' => self.fmt_float_as(v, b'f', Some(6)),
            _ => self.bad_verb(verb, arg),
        }
    }

    fn fmt_float_as(&mut self, v: f64, verb: u8, default_prec: Option<usize>) {
        let prec = self.f.prec.or(default_prec);
        let prec_arg = prec.map_or(-1, |p| i32::try_from(p).unwrap_or(i32::MAX));
        let formatted = format_float(v, verb, prec_arg);
        // A leading sign, as Go reserves room for one.
        let mut num =
            if formatted.starts_with(['-', '+']) { formatted } else { format!("+{formatted}") };
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(..1, " ");
        }
        if num[1..].starts_with(['I', 'N']) {
            // Infinities and NaN are not padded with zeros; NaN keeps no sign unless asked.
            let zero = std::mem::replace(&mut self.f.zero, false);
            if num[1..].starts_with('N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.f.zero = zero;
            return;
        }
        if self.f.sharp {
            num = sharp_float(num, verb, prec_arg);
        }
        if self.f.plus || !num.starts_with('+') {
            // Zero padding goes between the sign and the digits.
            if let Some(wid) = self.f.wid
                && self.f.zero
                && !self.f.minus
                && wid > num.chars().count()
            {
                let (sign, digits) = num.split_at(1);
                self.out.push_str(sign);
                let n = wid - num.chars().count();
                self.write_padding(n);
                self.out.push_str(digits);
                return;
            }
            self.pad(&num);
            return;
        }
        self.pad(&num[1..]);
    }
}

/// Go's `#` flag on floats: always a decimal point, and `%g` keeps its trailing zeros.
fn sharp_float(num: String, verb: u8, prec: i32) -> String {
    let mut digits: i32 =
        if matches!(verb, b'g' | b'G') { if prec < 0 { 6 } else { prec } } else { 0 };
    let bytes = num.as_bytes();
    let mut body_end = bytes.len();
    let mut has_point = false;
    let mut saw_nonzero = false;
    for (i, &c) in bytes.iter().enumerate().skip(1) {
        match c {
            b'.' => has_point = true,
            b'e' | b'E' => {
                body_end = i;
                break;
            }
            c => {
                if c != b'0' {
                    saw_nonzero = true;
                }
                if saw_nonzero {
                    digits -= 1;
                }
            }
        }
    }
    let (body, tail) = num.split_at(body_end);
    let mut body = body.to_owned();
    if !has_point {
        if body.len() == 2 && body.ends_with('0') {
            digits -= 1;
        }
        body.push('.');
    }
    while digits > 0 {
        body.push('0');
        digits -= 1;
    }
    body.push_str(tail);
    body
}
