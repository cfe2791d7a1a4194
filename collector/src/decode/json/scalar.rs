//! Scalar fields: strings, booleans, integers, doubles, enums, hex ids and base64 bytes.

use base64::engine::general_purpose::{STANDARD_PAD_INDIFFERENT, URL_SAFE_PAD_INDIFFERENT};
use base64::{DecodeError, Engine as _};
use serde_json::{Number, Value};

use super::{Path, Result, type_name};

pub(super) fn string(value: Value, path: &Path) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        Value::Null => Ok(String::new()),
        other => Err(path.error(format!("expected a string, found {}", type_name(&other)))),
    }
}

pub(super) fn boolean(value: Value, path: &Path) -> Result<bool> {
    match value {
        Value::Bool(b) => Ok(b),
        Value::Null => Ok(false),
        other => Err(path.error(format!("expected a boolean, found {}", type_name(&other)))),
    }
}

/// An integer in any proto3 JSON form: a JSON number (integral, `1e3` included) or a decimal string.
/// Widened to i128 so that every u64 and i64 fits and range checks are one comparison.
fn integer(value: Value, path: &Path) -> Result<i128> {
    match value {
        Value::Number(n) => integer_from_number(&n, path),
        Value::String(s) => {
            s.parse::<i128>().map_err(|_| path.error(format!("invalid integer string {s:?}")))
        }
        Value::Null => Ok(0),
        other => Err(path.error(format!("expected an integer, found {}", type_name(&other)))),
    }
}

fn integer_from_number(n: &Number, path: &Path) -> Result<i128> {
    if let Some(u) = n.as_u64() {
        return Ok(i128::from(u));
    }
    if let Some(i) = n.as_i64() {
        return Ok(i128::from(i));
    }
    // Only floats are left: `1.5`, `1e3`, or integers too large for 64 bits.
    let f = n.as_f64().unwrap_or(f64::NAN);
    if f.fract() != 0.0 || !f.is_finite() {
        return Err(path.error(format!("expected an integer, found {n}")));
    }
    // Above 2^64 every u64/i64 range check fails anyway, so saturating is fine.
    if f.abs() >= 1.9e19 {
        return Err(path.error(format!("integer {n} is out of range")));
    }
    Ok(f as i128)
}

fn in_range<T: TryFrom<i128>>(value: i128, kind: &str, path: &Path) -> Result<T> {
    T::try_from(value).map_err(|_| {
        if value < 0 && kind.starts_with('u') {
            path.error(format!("negative value {value} for {kind} field"))
        } else {
            path.error(format!("integer {value} is out of range for {kind}"))
        }
    })
}

pub(super) fn u64(value: Value, path: &Path) -> Result<u64> {
    in_range(integer(value, path)?, "uint64", path)
}

pub(super) fn i64(value: Value, path: &Path) -> Result<i64> {
    in_range(integer(value, path)?, "int64", path)
}

pub(super) fn u32(value: Value, path: &Path) -> Result<u32> {
    in_range(integer(value, path)?, "uint32", path)
}

pub(super) fn i32(value: Value, path: &Path) -> Result<i32> {
    in_range(integer(value, path)?, "int32", path)
}

/// A double: a JSON number, a numeric string, or one of `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub(super) fn f64(value: Value, path: &Path) -> Result<f64> {
    match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| path.error(format!("invalid double {n}"))),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            // Rust also parses "inf" and "nan"; only the three spellings above are proto3 JSON.
            other => match other.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(f),
                _ => Err(path.error(format!("invalid double string {other:?}"))),
            },
        },
        Value::Null => Ok(0.0),
        other => Err(path.error(format!("expected a double, found {}", type_name(&other)))),
    }
}

/// An enum field: its number (kept even if unknown; validation decides later) or its value name.
pub(super) fn enumeration(
    value: Value,
    path: &Path,
    from_name: fn(&str) -> Option<i32>,
) -> Result<i32> {
    match value {
        Value::String(name) => match from_name(&name) {
            Some(number) => Ok(number),
            // A number sent as a string is still a number.
            None => name
                .parse::<i32>()
                .map_err(|_| path.error(format!("unknown enum value name {name:?}"))),
        },
        other => i32(other, path),
    }
}

/// A trace or span id: hex, either case. The length is not checked here; per-item validation rejects
/// wrong lengths through partial success instead of failing the whole request.
pub(super) fn hex_id(value: Value, path: &Path) -> Result<Vec<u8>> {
    let text = string(value, path)?;
    if let Some(bad) = text.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(path.error(format!("invalid hex digit {bad:?}")));
    }
    if text.len() % 2 != 0 {
        return Err(path.error(format!("odd number of hex digits ({})", text.len())));
    }
    Ok(text
        .as_bytes()
        .chunks_exact(2)
        .map(|pair| hex_value(pair[0]) << 4 | hex_value(pair[1]))
        .collect())
}

/// The value of an ASCII hex digit (already checked by the caller).
fn hex_value(digit: u8) -> u8 {
    char::from(digit).to_digit(16).unwrap_or(0) as u8
}

/// A `bytes` field other than an id: base64, standard or URL-safe alphabet, padding optional.
pub(super) fn base64(value: Value, path: &Path) -> Result<Vec<u8>> {
    let text = string(value, path)?;
    let url_safe = text.contains(['-', '_']);
    let engine = if url_safe { &URL_SAFE_PAD_INDIFFERENT } else { &STANDARD_PAD_INDIFFERENT };
    engine.decode(text.as_bytes()).map_err(|e| {
        let what = match e {
            DecodeError::InvalidByte(offset, byte) => {
                format!("invalid base64 character {:?} at offset {offset}", char::from(byte))
            }
            DecodeError::InvalidLength(length) => format!("invalid base64 length {length}"),
            DecodeError::InvalidLastSymbol { offset, .. } => {
                format!("invalid last base64 symbol at offset {offset}")
            }
            DecodeError::InvalidPadding => "invalid base64 padding".to_owned(),
        };
        path.error(what)
    })
}
