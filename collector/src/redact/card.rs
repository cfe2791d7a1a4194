//! Payment card numbers: runs of 13 to 19 digits, optionally grouped by single spaces or dashes, that start
//! like a card (2 to 6) and pass the Luhn check. Order numbers, timestamps and other long numbers stay.

use std::ops::Range;

const MIN_DIGITS: usize = 13;
const MAX_DIGITS: usize = 19;

/// Appends the byte ranges of the card numbers in `text` to `found`.
pub fn find(text: &str, found: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if !bytes[at].is_ascii_digit() || (at > 0 && is_word(bytes[at - 1])) {
            at += 1;
            continue;
        }
        let (end, digits) = digit_run(bytes, at);
        if (MIN_DIGITS..=MAX_DIGITS).contains(&digits)
            && !bytes.get(end).is_some_and(|&b| is_word(b))
            && (b'2'..=b'6').contains(&bytes[at])
            && luhn_valid(&bytes[at..end])
        {
            found.push(at..end);
        }
        at = end.max(at + 1);
    }
}

/// The end of the run of digits starting at `start` (single spaces or dashes may separate digits), and how many
/// digits it holds. Stops early past `MAX_DIGITS`, so a longer run is never a card.
fn digit_run(bytes: &[u8], start: usize) -> (usize, usize) {
    let mut end = start;
    let mut digits = 0;
    let mut at = start;
    while at < bytes.len() {
        match bytes[at] {
            b'0'..=b'9' => {
                digits += 1;
                at += 1;
                end = at;
            }
            b' ' | b'-' if bytes.get(at + 1).is_some_and(u8::is_ascii_digit) => at += 1,
            _ => break,
        }
        if digits > MAX_DIGITS {
            // Swallow the rest of the run so that its tail is not taken for a card either.
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            break;
        }
    }
    (end, digits)
}

/// Letters and digits glue onto a number: `id4111111111111111` or `4111111111111111x` is not a card number.
fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// The Luhn checksum over the digits of `number` (separators skipped).
pub fn luhn_valid(number: &[u8]) -> bool {
    let mut sum = 0u32;
    let mut double = false;
    for &byte in number.iter().rev().filter(|b| b.is_ascii_digit()) {
        let mut digit = u32::from(byte - b'0');
        if double {
            digit *= 2;
            if digit > 9 {
                digit -= 9;
            }
        }
        sum += digit;
        double = !double;
    }
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cards(text: &str) -> Vec<&str> {
        let mut found = Vec::new();
        find(text, &mut found);
        found.into_iter().map(|range| &text[range]).collect()
    }

    #[test]
    fn luhn_valid_card_numbers_are_found_with_or_without_separators() {
        assert_eq!(cards("paid with 4111111111111111."), ["4111111111111111"]);
        assert_eq!(cards("card 4111 1111 1111 1111 ok"), ["4111 1111 1111 1111"]);
        assert_eq!(cards("5500-0000-0000-0004"), ["5500-0000-0000-0004"]);
        assert_eq!(cards("amex 378282246310005"), ["378282246310005"]);
        assert_eq!(
            cards("a=4111111111111111&b=6011111111111117"),
            ["4111111111111111", "6011111111111117"]
        );
    }

    #[test]
    fn numbers_that_fail_luhn_or_do_not_look_like_cards_stay() {
        // Fails Luhn.
        assert!(cards("order 4111111111111112").is_empty());
        // A nanosecond timestamp that happens to pass Luhn: cards do not start with 1.
        assert!(luhn_valid(b"1704164645000000125"));
        assert!(cards("ts=1704164645000000125").is_empty());
        // Too short, too long, glued to letters.
        assert!(cards("411111111111").is_empty());
        assert!(cards("41111111111111111111111").is_empty());
        assert!(cards("id4111111111111111").is_empty());
        // Double separators end the run.
        assert!(cards("4111  1111 1111 1111").is_empty());
    }
}
