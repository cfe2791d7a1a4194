//! Go's `fmt` for template values: `Sprintf` with its verbs, flags, width, precision, argument indexes and
//! its in-band error markers (`%!d(string=x)`, `%!(EXTRA …)`, `%!s(MISSING)`), `Sprint`, `Sprintln`, and
//! the `%v` printing that text/template uses for `{{ value }}`.
//!
//! Not covered: `%b`, `%x` and `%X` of floats, `%p`, and Go-syntax `%#v`, which prints like `%v` here.

use super::gotime::duration_string;
use super::strconv::{can_backquote, quote};
use super::value::Value;

const LOWER_HEX: &[u8] = b"0123456789abcdefx";
const UPPER_HEX: &[u8] = b"0123456789ABCDEFX";

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

struct Printer {
    out: String,
    f: Flags,
}

/// Go's `fmt.Sprintf`.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer { out: String::new(), f: Flags::default() };
    p.do_printf(format, args);
    p.out
}

/// Go's `fmt.Sprint`: spaces between operands when neither side is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut p = Printer { out: String::new(), f: Flags::default() };
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::Str(_));
        if i > 0 && !is_string && !prev_string {
            p.out.push(' ');
        }
        p.print_arg(arg, 'v');
        prev_string = is_string;
    }
    p.out
}

/// Go's `fmt.Sprintln`: always a space between operands, and a newline at the end.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let mut p = Printer { out: String::new(), f: Flags::default() };
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            p.out.push(' ');
        }
        p.print_arg(arg, 'v');
    }
    p.out.push('\n');
    p.out
}

/// How text/template prints the value of an action: no value prints `<no value>`, pointers to structs
/// print the struct, and everything else prints as `fmt.Print` does.
pub(crate) fn print_template_value(v: &Value) -> String {
    match v {
        Value::Nil => "<no value>".to_owned(),
        Value::Sample(_) => {
            let mut p = Printer { out: String::new(), f: Flags::default() };
            p.print_struct(v, 'v', 1);
            p.out
        }
        v => sprint(std::slice::from_ref(v)),
    }
}

/// `%v` of one value, as messages such as `range can't iterate over %v` show it.
pub(crate) fn format_v(v: &Value) -> String {
    sprintf("%v", std::slice::from_ref(v))
}

fn parse_num(s: &[u8], start: usize, end: usize) -> (Option<usize>, usize) {
    let mut num: usize = 0;
    let mut i = start;
    let mut any = false;
    while i < end && s[i].is_ascii_digit() {
        if num > 1_000_000 {
            // Too large; a runaway number.
            return (None, end);
        }
        num = num * 10 + usize::from(s[i] - b'0');
        any = true;
        i += 1;
    }
    (any.then_some(num), i)
}

impl Printer {
    fn do_printf(&mut self, format: &str, args: &[Value]) {
        let s = format.as_bytes();
        let end = s.len();
        let mut arg_num = 0usize;
        let mut after_index;
        let mut reordered = false;
        let mut i = 0;
        while i < end {
            let mut good_arg_num = true;
            let last = i;
            while i < end && s[i] != b'%' {
                i += 1;
            }
            if i > last {
                self.out.push_str(&format[last..i]);
            }
            if i >= end {
                break;
            }
            i += 1;
            self.f = Flags::default();
            while i < end {
                match s[i] {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = true,
                    b'+' => self.f.plus = true,
                    b'-' => self.f.minus = true,
                    b' ' => self.f.space = true,
                    _ => break,
                }
                i += 1;
            }
            // An explicit argument index (Go's argNumber), then width.
            let index = |i: &mut usize,
                         arg_num: &mut usize,
                         good: &mut bool,
                         reordered: &mut bool|
             -> bool {
                if *i >= end || s[*i] != b'[' {
                    return false;
                }
                *reordered = true;
                let rest = &s[*i..];
                let (index, wid, ok) = if rest.len() < 3 {
                    (None, 1, false)
                } else {
                    match rest.iter().skip(1).position(|&c| c == b']').map(|p| p + 1) {
                        Some(close) => match parse_num(rest, 1, close) {
                            (Some(n), ni) if ni == close => (n.checked_sub(1), close + 1, true),
                            _ => (None, close + 1, false),
                        },
                        None => (None, 1, false),
                    }
                };
                if let Some(index) = index.filter(|&n| ok && n < args.len()) {
                    *arg_num = index;
                    *i += wid;
                    return true;
                }
                *good = false;
                *i += wid;
                ok
            };
            after_index = index(&mut i, &mut arg_num, &mut good_arg_num, &mut reordered);
            if i < end && s[i] == b'*' {
                i += 1;
                let (num, ok) = int_from_arg(args, &mut arg_num);
                if !ok {
                    self.out.push_str("%!(BADWIDTH)");
                }
                if ok {
                    if num < 0 {
                        self.f.minus = true;
                        self.f.zero = false;
                    }
                    self.f.wid = Some(usize::try_from(num.unsigned_abs()).unwrap_or(0));
                }
                after_index = false;
            } else {
                let (wid, ni) = parse_num(s, i, end);
                self.f.wid = wid;
                i = ni;
                if after_index && wid.is_some() {
                    good_arg_num = false;
                }
            }
            if i + 1 < end && s[i] == b'.' {
                i += 1;
                if after_index {
                    good_arg_num = false;
                }
                after_index = index(&mut i, &mut arg_num, &mut good_arg_num, &mut reordered);
                if i < end && s[i] == b'*' {
                    i += 1;
                    let (num, ok) = int_from_arg(args, &mut arg_num);
                    if ok && num >= 0 {
                        self.f.prec = usize::try_from(num).ok();
                    } else {
                        self.out.push_str("%!(BADPREC)");
                    }
                    after_index = false;
                } else {
                    let (prec, ni) = parse_num(s, i, end);
                    self.f.prec = Some(prec.unwrap_or(0));
                    i = ni;
                }
            }
            if !after_index {
                index(&mut i, &mut arg_num, &mut good_arg_num, &mut reordered);
            }
            if i >= end {
                self.out.push_str("%!(NOVERB)");
                break;
            }
            let verb = format[i..].chars().next().unwrap_or('%');
            i += verb.len_utf8();
            match verb {
                '%' => self.out.push('%'),
                _ if !good_arg_num => self.bad_arg(verb, "BADINDEX"),
                _ if arg_num >= args.len() => self.bad_arg(verb, "MISSING"),
                verb => {
                    if verb == 'v' {
                        // Go syntax (%#v) is not supported and prints like %v; %+v names struct fields.
                        self.f.sharp = false;
                        self.f.plus_v = self.f.plus;
                        self.f.plus = false;
                    }
                    self.print_arg(&args[arg_num], verb);
                    arg_num += 1;
                }
            }
        }
        if !reordered && arg_num < args.len() {
            self.f = Flags::default();
            self.out.push_str("%!(EXTRA ");
            for (i, arg) in args[arg_num..].iter().enumerate() {
                if i > 0 {
                    self.out.push_str(", ");
                }
                if matches!(arg, Value::Nil) {
                    self.out.push_str("<nil>");
                } else {
                    self.out.push_str(arg.type_name());
                    self.out.push('=');
                    self.print_arg(arg, 'v');
                }
            }
            self.out.push(')');
        }
    }

    fn bad_arg(&mut self, verb: char, what: &str) {
        self.out.push_str("%!");
        self.out.push(verb);
        self.out.push('(');
        self.out.push_str(what);
        self.out.push(')');
    }

    fn bad_verb(&mut self, verb: char, arg: &Value) {
        self.out.push_str("%!");
        self.out.push(verb);
        self.out.push('(');
        if matches!(arg, Value::Nil) {
            self.out.push_str("<nil>");
        } else {
            self.out.push_str(arg.type_name());
            self.out.push('=');
            self.print_arg(arg, 'v');
        }
        self.out.push(')');
    }

    fn print_arg(&mut self, arg: &Value, verb: char) {
        match (arg, verb) {
            (Value::Nil, 'T' | 'v') => self.pad("<nil>"),
            (Value::Nil, _) => self.bad_verb(verb, arg),
            (_, 'T') => self.fmt_s(arg.type_name()),
            _ => self.print_value(arg, verb, 0),
        }
    }

    fn print_value(&mut self, arg: &Value, verb: char, depth: usize) {
        match arg {
            Value::Nil => {
                if depth == 0 {
                    self.print_arg(arg, verb);
                } else {
                    // A nil interface inside a map or struct.
                    self.pad("<nil>");
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb, arg),
            },
            Value::Int(i) => self.fmt_integer(*i, verb, arg),
            Value::Float(v) => self.fmt_float(*v, verb, arg),
            Value::Str(s) => self.fmt_string(s, verb, arg),
            // Stringers: String() serves the string verbs.
            Value::Time(t) if matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') => {
                self.fmt_string(&t.to_go_string(), verb, arg);
            }
            Value::Duration(d) if matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') => {
                self.fmt_string(&duration_string(*d), verb, arg);
            }
            Value::Duration(d) => self.fmt_integer(*d, verb, arg),
            Value::Time(t) => self.fmt_integer(t.secs, verb, arg),
            Value::StrMap(m) | Value::Kv(m) => {
                self.out.push_str("map[");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        self.out.push(' ');
                    }
                    self.fmt_string(k, verb, &Value::str(k));
                    self.out.push(':');
                    self.fmt_string(v, verb, &Value::str(v));
                }
                self.out.push(']');
            }
            Value::AnyMap(m) => {
                self.out.push_str("map[");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        self.out.push(' ');
                    }
                    self.fmt_string(k, verb, &Value::str(k));
                    self.out.push(':');
                    self.print_value(v, verb, depth + 1);
                }
                self.out.push(']');
            }
            Value::Samples(samples) => {
                // Go prints the addresses of the samples here; their contents are more useful and stable.
                self.out.push('[');
                for (i, sample) in samples.iter().enumerate() {
                    if i > 0 {
                        self.out.push(' ');
                    }
                    self.out.push('&');
                    self.print_struct(&Value::Sample(sample.clone()), verb, depth + 1);
                }
                self.out.push(']');
            }
            Value::Sample(_) => {
                self.out.push('&');
                self.print_struct(arg, verb, depth + 1);
            }
            Value::Alert(_) | Value::Record(_) => self.print_struct(arg, verb, depth + 1),
            Value::List(_, items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(' ');
                    }
                    self.print_value(item, verb, depth + 1);
                }
                self.out.push(']');
            }
        }
    }

    fn print_struct(&mut self, v: &Value, verb: char, depth: usize) {
        self.out.push('{');
        for (i, (name, field)) in v.struct_fields().unwrap_or_default().iter().enumerate() {
            if i > 0 {
                self.out.push(' ');
            }
            if self.f.plus_v {
                self.out.push_str(name);
                self.out.push(':');
            }
            self.print_value(field, verb, depth + 1);
        }
        self.out.push('}');
    }

    fn write_padding(&mut self, n: usize) {
        let pad = if self.f.zero && !self.f.minus { '0' } else { ' ' };
        self.out.extend(std::iter::repeat_n(pad, n));
    }

    fn pad(&mut self, s: &str) {
        let Some(wid) = self.f.wid else {
            self.out.push_str(s);
            return;
        };
        let width = wid.saturating_sub(s.chars().count());
        if self.f.minus {
            self.out.push_str(s);
            self.write_padding(width);
        } else {
            self.write_padding(width);
            self.out.push_str(s);
        }
    }

    /// Pads without zeros, for numbers whose zero padding was already applied as precision.
    fn pad_spaces(&mut self, s: &str) {
        let zero = std::mem::replace(&mut self.f.zero, false);
        self.pad(s);
        self.f.zero = zero;
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        match self.f.prec {
            Some(prec) => match s.char_indices().nth(prec) {
                Some((i, _)) => &s[..i],
                None => s,
            },
            None => s,
        }
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s);
        self.pad(s);
    }

    fn fmt_string(&mut self, s: &str, verb: char, arg: &Value) {
        match verb {
            'v' | 's' => self.fmt_s(s),
            'x' => self.fmt_sx(s.as_bytes(), LOWER_HEX),
            'X' => self.fmt_sx(s.as_bytes(), UPPER_HEX),
            'q' => {
                let s = self.truncate(s);
                let quoted = if self.f.sharp && can_backquote(s) {
                    format!("`{s}`")
                } else {
                    quote(s, self.f.plus)
                };
                self.pad(&quoted);
            }
            _ => self.bad_verb(verb, arg),
        }
    }

    fn fmt_sx(&mut self, b: &[u8], digits: &[u8]) {
        let mut length = b.len();
        if let Some(prec) = self.f.prec {
            length = length.min(prec);
        }
        let mut width = 2 * length;
        if width == 0 {
            if let Some(wid) = self.f.wid {
                self.write_padding(wid);
            }
            return;
        }
        if self.f.space {
            if self.f.sharp {
                width *= 2;
            }
            width += length - 1;
        } else if self.f.sharp {
            width += 2;
        }
        let wid = self.f.wid.unwrap_or(0);
        if wid > width && !self.f.minus {
            self.write_padding(wid - width);
        }
        if self.f.sharp {
            self.out.push('0');
            self.out.push(char::from(digits[16]));
        }
        for (i, &c) in b[..length].iter().enumerate() {
            if self.f.space && i > 0 {
                self.out.push(' ');
                if self.f.sharp {
                    self.out.push('0');
                    self.out.push(char::from(digits[16]));
                }
            }
            self.out.push(char::from(digits[usize::from(c >> 4)]));
            self.out.push(char::from(digits[usize::from(c & 0xF)]));
        }
        if wid > width && self.f.minus {
            self.write_padding(wid - width);
        }
    }
}

/// Go's `intFromArg` for `*` widths and precisions: the argument must be an integer.
fn int_from_arg(args: &[Value], arg_num: &mut usize) -> (i64, bool) {
    let Some(arg) = args.get(*arg_num) else {
        return (0, false);
    };
    *arg_num += 1;
    match arg {
        Value::Int(n) if n.unsigned_abs() <= 1_000_000 => (*n, true),
        _ => (0, false),
    }
}

mod number;

#[cfg(test)]
mod tests;
