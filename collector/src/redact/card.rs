//! Payment card numbers: 13 to 19 digits, written together or in groups as cards are (4-4-4-4, 4-6-5,
//! separated by single spaces or dashes), that start like a card (2 to 6) and pass the Luhn check. Order
//! numbers, timestamps, dates and other long numbers stay.

use std::ops::Range;

const MIN_DIGITS: usize = 13;
const MAX_DIGITS: usize = 19;

/// Appends the byte ranges of the card numbers in `text` to `found`.
///
/// A run of digit groups separated by single spaces or dashes may hold a card among other numbers
/// (`qty 2 4111 1111 1111 1111`): every sequence of whole groups in it is a candidate, and the longest valid
/// one from each group on wins.
pub fn find(text: &str, found: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    // Most values hold fewer digits than the shortest card: one counting pass settles them.
    if bytes.len() < MIN_DIGITS || count_digits(bytes) < MIN_DIGITS {
        return;
    }
    let mut at = 0;
    while at < bytes.len() {
        // Text between numbers is skipped eight bytes at a time.
        while let Some(chunk) = bytes.get(at..at + 8) {
            if has_digit(u64::from_le_bytes(chunk.try_into().expect("8 bytes"))) {
                break;
            }
            at += 8;
        }
        let Some(&byte) = bytes.get(at) else { break };
        if !byte.is_ascii_digit() {
            at += 1;
            continue;
        }
        let glued_before = at > 0 && is_word(bytes[at - 1]);
        let (end, digits) = run_extent(bytes, at);
        let start = at;
        at = end;
        // Most runs are short numbers: only a run with enough digits is split into its groups.
        if digits < MIN_DIGITS || glued_before || bytes.get(end).is_some_and(|&b| is_word(b)) {
            continue;
        }
        GroupRun::read(bytes, start).cards(bytes, found);
    }
}

/// The end of the run of digit groups starting at `start`, and how many digits it holds.
fn run_extent(bytes: &[u8], start: usize) -> (usize, usize) {
    let (mut at, mut digits) = (start, 0);
    loop {
        while at < bytes.len() && bytes[at].is_ascii_digit() {
            at += 1;
            digits += 1;
        }
        if !(matches!(bytes.get(at), Some(b' ' | b'-'))
            && bytes.get(at + 1).is_some_and(u8::is_ascii_digit))
        {
            return (at, digits);
        }
        at += 1;
    }
}

/// How many ASCII digits `bytes` holds. Counted in byte-wide lanes, a chunk at a time, which the compiler
/// turns into wide vector adds (a `usize` count per byte would be several times slower).
fn count_digits(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|chunk| {
            usize::from(chunk.iter().fold(0u8, |n, b| n + u8::from(b.wrapping_sub(b'0') < 10)))
        })
        .sum()
}

/// Whether any of the eight bytes of `word` is an ASCII digit: after `^ 0x30` exactly the digits are below 10,
/// and the classic "has a byte less than n" test finds them.
fn has_digit(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let x = word ^ (0x30 * ONES);
    (x.wrapping_sub(10 * ONES) & !x & (0x80 * ONES)) != 0
}

/// The most groups of one run looked at; a card has at most 19.
const MAX_GROUPS: usize = 24;

/// Digit groups separated by single spaces or dashes: `(start, end)` of each, on the stack.
struct GroupRun {
    groups: [(usize, usize); MAX_GROUPS],
    len: usize,
}

impl GroupRun {
    fn read(bytes: &[u8], start: usize) -> GroupRun {
        let mut run = GroupRun { groups: [(0, 0); MAX_GROUPS], len: 0 };
        let mut at = start;
        loop {
            let group_start = at;
            while at < bytes.len() && bytes[at].is_ascii_digit() {
                at += 1;
            }
            run.groups[run.len] = (group_start, at);
            run.len += 1;
            let separated = matches!(bytes.get(at), Some(b' ' | b'-'))
                && bytes.get(at + 1).is_some_and(u8::is_ascii_digit);
            if !separated || run.len == MAX_GROUPS {
                return run;
            }
            at += 1;
        }
    }

    /// The card numbers among the groups: from each group on, the longest sequence that is one.
    fn cards(&self, bytes: &[u8], found: &mut Vec<Range<usize>>) {
        let groups = &self.groups[..self.len];
        let mut first = 0;
        while first < groups.len() {
            let start = groups[first].0;
            let mut digits = 0;
            let mut card = None;
            if (b'2'..=b'6').contains(&bytes[start]) {
                for (last, &(group_start, group_end)) in groups.iter().enumerate().skip(first) {
                    digits += group_end - group_start;
                    // Grouped, a card is written 4-4-4-4, 4-6-5 or 4-4-4-4-3: a first group of four, then
                    // groups of three to six. Dates and times (`2024-11-26 12-00`) are not.
                    let grouped_like_a_card = (groups[first].1 - groups[first].0 == 4)
                        && (3..=6).contains(&(group_end - group_start));
                    if digits > MAX_DIGITS || (last > first && !grouped_like_a_card) {
                        break;
                    }
                    if digits >= MIN_DIGITS && luhn_valid(&bytes[start..group_end]) {
                        card = Some(last);
                    }
                }
            }
            match card {
                Some(last) => {
                    found.push(start..groups[last].1);
                    first = last + 1;
                }
                None => first += 1,
            }
        }
    }
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
    fn digits_are_counted_in_chunks_of_any_length() {
        let text = "4".repeat(600) + "x";
        assert_eq!(count_digits(text.as_bytes()), 600);
        assert_eq!(count_digits(b"a1b2c3:/"), 3);
    }

    #[test]
    fn the_digit_test_finds_exactly_the_digits_in_a_word() {
        for byte in 0..=255u8 {
            for position in 0..8 {
                let mut word = *b"abcdefgh";
                word[position] = byte;
                assert_eq!(
                    has_digit(u64::from_le_bytes(word)),
                    byte.is_ascii_digit(),
                    "{byte} at {position}"
                );
            }
        }
        // A card that starts past the first chunks, and one across a chunk boundary.
        assert_eq!(
            cards("a long text without numbers, then 4111111111111111"),
            ["4111111111111111"]
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
        // Among other numbers of the same run, the card is still found; alone, the numbers are not cards.
        assert_eq!(cards("qty 2 4111 1111 1111 1111 ok"), ["4111 1111 1111 1111"]);
        assert_eq!(cards("1234567 4111111111111111"), ["4111111111111111"]);
        assert_eq!(cards("ts 2024-11-26 12-00-00 ok"), Vec::<&str>::new());
        assert_eq!(cards("5 4111 111111 11111 x"), Vec::<&str>::new()); // 4-6-5 of a Visa: fails Luhn
        assert_eq!(cards("amex 3782 822463 10005"), ["3782 822463 10005"]);
    }
}
