//! Compact JSON for non-string bodies and for array/kvlist attribute values.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::otlp::common::v1::AnyValue;
use crate::otlp::common::v1::any_value::Value;

/// Appends `value` as compact JSON: ints and doubles as numbers (non-finite doubles as the strings "NaN",
/// "Infinity", "-Infinity", which JSON cannot express as numbers), bytes as base64 strings, arrays as
/// arrays, kvlists as objects with their keys in the order sent; an empty value as `null`.
pub(crate) fn write_json(value: &AnyValue, out: &mut String) {
    write_json_value(value.value.as_ref(), out);
}

/// [`write_json`] for the inner value of an `AnyValue`.
pub(crate) fn write_json_value(value: Option<&Value>, out: &mut String) {
    match value {
        None | Some(Value::StringValueStrindex(_)) => out.push_str("null"),
        Some(Value::StringValue(text)) => write_json_string(text, out),
        Some(Value::BoolValue(flag)) => out.push_str(if *flag { "true" } else { "false" }),
        Some(Value::IntValue(int)) => out.push_str(itoa::Buffer::new().format(*int)),
        Some(Value::DoubleValue(double)) => write_json_double(*double, out),
        Some(Value::BytesValue(bytes)) => {
            out.push('"');
            BASE64.encode_string(bytes, out);
            out.push('"');
        }
        Some(Value::ArrayValue(array)) => {
            out.push('[');
            for (index, item) in array.values.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Some(Value::KvlistValue(list)) => {
            out.push('{');
            for (index, entry) in list.values.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_json_string(&entry.key, out);
                out.push(':');
                match &entry.value {
                    Some(value) => write_json(value, out),
                    None => out.push_str("null"),
                }
            }
            out.push('}');
        }
    }
}

/// A double as text: shortest round-trip form (`1.5`, `0.1`, `1e300`); NaN and infinities by name.
pub(crate) fn double_text(double: f64, buffer: &mut ryu::Buffer) -> &str {
    if double.is_nan() {
        "NaN"
    } else if double.is_infinite() {
        if double > 0.0 { "Infinity" } else { "-Infinity" }
    } else {
        buffer.format_finite(double)
    }
}

fn write_json_double(double: f64, out: &mut String) {
    let mut buffer = ryu::Buffer::new();
    if double.is_finite() {
        out.push_str(buffer.format_finite(double));
    } else {
        out.push('"');
        out.push_str(double_text(double, &mut buffer));
        out.push('"');
    }
}

/// A JSON string literal. Runs of characters that need no escaping are copied in one go.
fn write_json_string(text: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (index, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[start..index]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        } else {
            out.push_str(escape);
        }
        start = index + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::test_support::*;

    fn json(value: AnyValue) -> String {
        let mut out = String::new();
        write_json(&value, &mut out);
        out
    }

    #[test]
    fn scalars() {
        assert_eq!(json(int(-42)), "-42");
        assert_eq!(json(double(1.5)), "1.5");
        assert_eq!(json(double(1e300)), "1e300");
        assert_eq!(json(double(f64::NAN)), "\"NaN\"");
        assert_eq!(json(double(f64::INFINITY)), "\"Infinity\"");
        assert_eq!(json(double(f64::NEG_INFINITY)), "\"-Infinity\"");
        assert_eq!(json(boolean(true)), "true");
        assert_eq!(json(bytes(b"hi!")), "\"aGkh\"");
        assert_eq!(json(AnyValue { value: None }), "null");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(json(string("a\"b\\c\nd\u{1}é")), r#""a\"b\\c\nd\u0001é""#);
    }

    #[test]
    fn nested_arrays_and_kvlists_keep_their_order() {
        let value = kvlist(vec![
            kv("z", string("last-first")),
            kv("list", array(vec![int(1), string("two"), kvlist(vec![kv("b", boolean(false))])])),
            empty_kv("none"),
        ]);
        assert_eq!(json(value), r#"{"z":"last-first","list":[1,"two",{"b":false}],"none":null}"#);
    }
}
