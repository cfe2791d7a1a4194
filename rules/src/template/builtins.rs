//! Go text/template's builtin functions (`funcs.go`): comparison, `len`, `index`, `slice`, `call`, and the
//! `html`, `js` and `urlquery` escapers, with Go's error messages.

use std::fmt::Write as _;
use std::rc::Rc;

use super::format::{print_template_value, sprint};
use super::strconv::is_print;
use super::value::Value;

/// Go's `basicKind` classes that comparisons work on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Float,
    Str,
}

const BAD_COMPARISON: &str = "incompatible types for comparison";
const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

fn basic_kind(v: &Value) -> Option<Kind> {
    match v {
        Value::Bool(_) => Some(Kind::Bool),
        Value::Int(_) | Value::Duration(_) => Some(Kind::Int),
        Value::Float(_) => Some(Kind::Float),
        Value::Str(_) => Some(Kind::Str),
        _ => None,
    }
}

fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Duration(i) => *i,
        _ => 0,
    }
}

/// Go's `eq arg1 arg2...`: true if `arg1` equals any of the others.
pub(crate) fn eq(arg1: &Value, others: &[Value]) -> Result<bool, String> {
    if others.is_empty() {
        return Err("missing argument for comparison".to_owned());
    }
    let k1 = basic_kind(arg1);
    for arg in others {
        let k2 = basic_kind(arg);
        let truth = if k1 != k2 {
            if !matches!(arg1, Value::Nil) && !matches!(arg, Value::Nil) {
                return Err(BAD_COMPARISON.to_owned());
            }
            false
        } else {
            match (arg1, arg) {
                (Value::Bool(a), Value::Bool(b)) => a == b,
                (Value::Float(a), Value::Float(b)) => a == b,
                (Value::Str(a), Value::Str(b)) => a == b,
                _ if k1 == Some(Kind::Int) => int_of(arg1) == int_of(arg),
                (Value::Nil, _) | (_, Value::Nil) => {
                    matches!(arg1, Value::Nil) && matches!(arg, Value::Nil)
                }
                (Value::Sample(a), Value::Sample(b)) => Rc::ptr_eq(a, b),
                (Value::Time(a), Value::Time(b)) => a == b,
                (Value::Alert(a), Value::Alert(b)) => a == b,
                _ => {
                    if std::mem::discriminant(arg1) != std::mem::discriminant(arg) {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            print_template_value(arg1),
                            arg1.type_name(),
                            arg.type_name(),
                            print_template_value(arg)
                        ));
                    }
                    return Err(format!(
                        "non-comparable type {}: {}",
                        print_template_value(arg),
                        arg.type_name()
                    ));
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt`: only bools are rejected among the basic kinds; other kinds cannot be ordered.
pub(crate) fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let k1 = basic_kind(a).ok_or(BAD_COMPARISON_TYPE)?;
    let k2 = basic_kind(b).ok_or(BAD_COMPARISON_TYPE)?;
    if k1 != k2 {
        return Err(BAD_COMPARISON.to_owned());
    }
    Ok(match (a, b) {
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x < y,
        _ if k1 == Kind::Int => int_of(a) < int_of(b),
        _ => return Err(BAD_COMPARISON_TYPE.to_owned()),
    })
}

/// Go's `le`: `lt || eq`.
pub(crate) fn le(a: &Value, b: &Value) -> Result<bool, String> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

/// Go's `len`: of strings (in bytes), maps and slices.
pub(crate) fn length(v: &Value) -> Result<Value, String> {
    let n = match v {
        Value::Str(s) => s.len(),
        Value::StrMap(m) | Value::Kv(m) => m.len(),
        Value::AnyMap(m) => m.len(),
        Value::Samples(s) => s.len(),
        Value::List(_, items) => items.len(),
        Value::Nil => return Err("len of nil pointer".to_owned()),
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

fn index_arg(index: &Value, len: usize) -> Result<usize, String> {
    let x = match index {
        Value::Int(i) => *i,
        Value::Nil => return Err("cannot index slice/array with nil".to_owned()),
        other => return Err(format!("cannot index slice/array with type {}", other.type_name())),
    };
    match usize::try_from(x) {
        Ok(i) if i <= len => Ok(i),
        _ => Err(format!("index out of range: {x}")),
    }
}

fn element(item: &Value, i: usize) -> Result<Value, String> {
    let out_of_range = || "reflect: slice index out of range".to_owned();
    match item {
        Value::Str(s) => s
            .as_bytes()
            .get(i)
            .map(|&b| Value::Int(i64::from(b)))
            .ok_or_else(|| "reflect: string index out of range".to_owned()),
        Value::Samples(s) => s.get(i).map(|s| Value::Sample(Rc::clone(s))).ok_or_else(out_of_range),
        Value::List(_, items) => items.get(i).cloned().ok_or_else(out_of_range),
        _ => Err(out_of_range()),
    }
}

/// Go's `index item i j…`: successive indexing of slices, strings (giving bytes) and maps.
pub(crate) fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if matches!(item, Value::Nil) {
        return Err("index of untyped nil".to_owned());
    }
    let mut item = item.clone();
    for idx in indexes {
        item = match &item {
            Value::Nil => return Err("index of nil pointer".to_owned()),
            Value::Str(s) => element(&item, index_arg(idx, s.len())?)?,
            Value::Samples(s) => element(&item, index_arg(idx, s.len())?)?,
            Value::List(_, items) => element(&item, index_arg(idx, items.len())?)?,
            Value::StrMap(m) | Value::Kv(m) => {
                Value::str(m.get(map_key(idx)?.as_str()).map_or("", String::as_str))
            }
            Value::AnyMap(m) => m.get(map_key(idx)?.as_str()).cloned().unwrap_or(Value::Nil),
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn map_key(idx: &Value) -> Result<String, String> {
    match idx {
        Value::Str(s) => Ok(s.to_string()),
        Value::Nil => Ok(String::new()),
        other => Err(format!("value has type {}; should be string", other.type_name())),
    }
}

/// Go's `slice item [i [j [k]]]` on strings and slices.
pub(crate) fn slice(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if matches!(item, Value::Nil) {
        return Err("slice of untyped nil".to_owned());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item {
        Value::Str(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".to_owned());
            }
            s.len()
        }
        Value::Samples(s) => s.len(),
        Value::List(_, items) => items.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut bounds = [0, len, len];
    for (i, idx) in indexes.iter().enumerate() {
        bounds[i] = index_arg(idx, len)?;
    }
    if bounds[0] > bounds[1] {
        return Err(format!("invalid slice index: {} > {}", bounds[0], bounds[1]));
    }
    if indexes.len() == 3 && bounds[1] > bounds[2] {
        return Err(format!("invalid slice index: {} > {}", bounds[1], bounds[2]));
    }
    let (lo, hi) = (bounds[0], bounds[1]);
    Ok(match item {
        Value::Str(s) => match s.get(lo..hi) {
            Some(sub) => Value::str(sub),
            // Go slices bytes; a cut through a UTF-8 character keeps the valid part here.
            None => Value::str(&String::from_utf8_lossy(&s.as_bytes()[lo..hi])),
        },
        Value::Samples(s) => Value::Samples(Rc::new(s[lo..hi].to_vec())),
        Value::List(kind, items) => Value::List(*kind, Rc::new(items[lo..hi].to_vec())),
        _ => Value::Nil,
    })
}

/// Go's `call`: no template value is a function, so it always fails.
pub(crate) fn call(f: &Value, callee: &str) -> String {
    if matches!(f, Value::Nil) {
        return "call of nil".to_owned();
    }
    format!("non-function {callee} of type {}", f.type_name())
}

/// Go's `evalArgs`: a single string as is; anything else as `fmt.Sprint` prints it after text/template's
/// printable conversion (no value becomes the string `<no value>`, a pointer to a struct the struct).
pub(crate) fn eval_args(args: &[Value]) -> String {
    if let [Value::Str(s)] = args {
        return s.to_string();
    }
    let mut out = String::new();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let (text, is_string) = match arg {
            Value::Nil | Value::Str(_) => (print_template_value(arg), true),
            Value::Sample(_) => (print_template_value(arg), false),
            other => (sprint(std::slice::from_ref(other)), false),
        };
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        out.push_str(&text);
        prev_string = is_string;
    }
    out
}

/// Go's `template.HTMLEscapeString`.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub(crate) fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u00{:02X}", u32::from(c));
            }
            c if !c.is_ascii() && !is_print(c) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Go's `url.QueryUnescape`: `+` is a space and `%XX` a byte; a bad escape fails as Go's does.
pub(crate) fn query_unescape(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
                    let bad: String = s[i..].chars().take(3).collect();
                    return Err(format!(
                        "invalid URL escape {}",
                        super::strconv::quote(&bad, false)
                    ));
                };
                out.push(byte);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}
