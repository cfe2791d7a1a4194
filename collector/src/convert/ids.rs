//! Trace and span ids as lower-case hex.

use arrow_array::builder::StringBuilder;

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Renders ids into one reused buffer: a 16-entry table, no `format!`, no allocation per id.
#[derive(Debug, Default)]
pub(crate) struct HexEncoder {
    buffer: String,
}

impl HexEncoder {
    pub(crate) fn encode(&mut self, bytes: &[u8]) -> &str {
        self.buffer.clear();
        self.buffer.reserve(bytes.len() * 2);
        for &byte in bytes {
            self.buffer.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            self.buffer.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
        }
        &self.buffer
    }

    /// Appends the id, or null when it is empty (absent).
    pub(crate) fn append_optional(&mut self, column: &mut StringBuilder, bytes: &[u8]) {
        if bytes.is_empty() {
            column.append_null();
        } else {
            column.append_value(self.encode(bytes));
        }
    }

    /// Appends the id to a non-null column; an absent id (rejected by validation) becomes "".
    pub(crate) fn append(&mut self, column: &mut StringBuilder, bytes: &[u8]) {
        column.append_value(self.encode(bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_case_hex() {
        let mut hex = HexEncoder::default();
        assert_eq!(
            hex.encode(&[0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03]),
            "5b8efff798038103"
        );
        assert_eq!(hex.encode(&[0x00, 0x0a]), "000a");
        assert_eq!(hex.encode(&[]), "");
    }
}
