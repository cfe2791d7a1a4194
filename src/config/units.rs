//! Human-friendly durations (`500ms`, `1m30s`, `1d`) and sizes (`512KiB`, `16MiB`, `1GB`).
//!
//! Both parsers are strict: anything they do not fully understand is rejected, because a
//! silently misread limit (a size read as bytes instead of MiB) is worse than a startup error.

use std::time::Duration;

/// The hint appended to every duration error, so the user sees the accepted forms.
pub(crate) const DURATION_HINT: &str = "use e.g. 500ms, 15s, 1m30s, 2h, 1d";
/// The hint appended to every size error.
pub(crate) const SIZE_HINT: &str = "use e.g. 16MiB, 512KiB, 1GB";

/// Duration units, largest first; a duration must use them in this order, each at most once.
const DURATION_UNITS: [(&str, u64); 5] =
    [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];

/// Parses `500ms`, `15s`, `1m30s`, `2h`, `1d` (and a bare `0`).
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut total_ms: u64 = 0;
    // Index into DURATION_UNITS of the last unit seen; the next one must come after it.
    let mut last_unit: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let index = DURATION_UNITS.iter().position(|(name, _)| *name == unit)?;
        if last_unit.is_some_and(|last| index <= last) {
            return None;
        }
        last_unit = Some(index);
        let millis = number.checked_mul(DURATION_UNITS[index].1)?;
        total_ms = total_ms.checked_add(millis)?;
    }
    last_unit.map(|_| Duration::from_millis(total_ms))
}

/// Parses a byte size: a bare number of bytes, or a number with a unit. Binary units (`KiB`,
/// `MiB`, `GiB`, `TiB`) are powers of 1024, decimal ones (`KB`, `MB`, `GB`, `TB`) powers of
/// 1000. Units are case-insensitive; one space between number and unit is allowed.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let number: u64 = text[..digits].parse().ok()?;
    let unit = text[digits..].strip_prefix(' ').unwrap_or(&text[digits..]);
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_unit_and_combination_parse() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("15s"), Some(Duration::from_secs(15)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1h1m1s1ms"), Some(Duration::from_millis(3_661_001)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
    }

    #[test]
    fn garbage_negative_unordered_and_overflowing_durations_are_rejected() {
        for bad in [
            "",
            "15",
            "s",
            "15x",
            "1.5s",
            "-5s",
            "15 s",
            "1s1m",
            "1s1s",
            "abc",
            "1m30",
            "99999999999999999999s",
            "999999999999999d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?} should be rejected");
        }
    }

    #[test]
    fn sizes_in_binary_and_decimal_units_parse() {
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("1024B"), Some(1024));
        assert_eq!(parse_size("512KiB"), Some(512 * 1024));
        assert_eq!(parse_size("16MiB"), Some(16 * 1024 * 1024));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("1KB"), Some(1000));
        assert_eq!(parse_size("16MB"), Some(16_000_000));
        assert_eq!(parse_size("1GB"), Some(1_000_000_000));
        assert_eq!(parse_size("16 MiB"), Some(16 << 20));
        assert_eq!(parse_size("16mib"), Some(16 << 20));
    }

    #[test]
    fn garbage_negative_and_overflowing_sizes_are_rejected() {
        for bad in [
            "",
            "MiB",
            "16 MiBs",
            "1.5GiB",
            "-1",
            "-1KiB",
            "16  MiB",
            "16Mi",
            "lots",
            "99999999999999999999",
            "99999999999TiB",
        ] {
            assert_eq!(parse_size(bad), None, "{bad:?} should be rejected");
        }
    }
}
