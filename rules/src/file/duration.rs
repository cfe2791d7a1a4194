//! Prometheus durations (`30s`, `1h30m`, `500ms`, `2d`, `1w`, `1y`, `0`), parsed exactly as `model.ParseDuration`
//! of prometheus/common parses the `for`, `keep_firing_for`, `interval` and `query_offset` of a rule file.

use std::time::Duration;

/// Why a duration string was rejected; the messages are those of `model.ParseDuration`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The string is empty (a YAML null is no duration at all, not an empty one).
    #[error("empty duration string")]
    Empty,
    /// Not a sequence of `<digits><unit>` with units from the largest to the smallest, each at most once.
    #[error("not a valid duration string: {0:?}")]
    Invalid(String),
    /// A unit other than `y`, `w`, `d`, `h`, `m`, `s`, `ms`.
    #[error("unknown unit {unit:?} in duration {input:?}")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole duration string.
        input: String,
    },
    /// Longer than Go's `time.Duration` holds (about 292 years).
    #[error("duration out of range")]
    OutOfRange,
}

/// Parses a Prometheus duration: `<digits><unit>` groups with units `y` (365d), `w` (7d), `d` (24h), `h`, `m`, `s`
/// and `ms`, each used at most once and from the largest to the smallest, no sign, no fraction, no spaces; `0`
/// alone needs no unit. The result must fit Go's `time.Duration` (at most 2^63-1 nanoseconds).
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    match input {
        "0" => return Ok(Duration::ZERO),
        "" => return Err(DurationError::Empty),
        _ => {}
    }
    let invalid = || DurationError::Invalid(input.to_owned());
    let mut rest = input;
    let mut total_nanos: u64 = 0;
    // Units must come from the largest to the smallest: "1m1d" is rejected rather than read as a month and a day.
    let mut last_rank = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        // Digits that do not fit a u64 are "not a valid duration", as Go's strconv.ParseUint failing there.
        let value: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        // Digits are ASCII, so the unit ends on a character boundary.
        let unit_len = rest.bytes().take_while(|b| !b.is_ascii_digit()).count();
        if unit_len == 0 {
            return Err(invalid());
        }
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let (rank, nanos_per_unit) = match unit {
            "y" => (1, 365 * NANOS_PER_DAY),
            "w" => (2, 7 * NANOS_PER_DAY),
            "d" => (3, NANOS_PER_DAY),
            "h" => (4, 3_600 * NANOS_PER_SECOND),
            "m" => (5, 60 * NANOS_PER_SECOND),
            "s" => (6, NANOS_PER_SECOND),
            "ms" => (7, 1_000_000),
            _ => {
                return Err(DurationError::UnknownUnit {
                    unit: unit.to_owned(),
                    input: input.to_owned(),
                });
            }
        };
        if rank <= last_rank {
            return Err(invalid());
        }
        last_rank = rank;
        // The same two bounds as Go: neither the product nor the sum may pass 2^63 - 1 nanoseconds. With the
        // first bound the product is at most 2^63 and the sum below 2^64, so neither overflows a u64.
        if value > (1 << 63) / nanos_per_unit {
            return Err(DurationError::OutOfRange);
        }
        total_nanos += value * nanos_per_unit;
        if total_nanos > i64::MAX.unsigned_abs() {
            return Err(DurationError::OutOfRange);
        }
    }
    Ok(Duration::from_nanos(total_nanos))
}

const NANOS_PER_SECOND: u64 = 1_000_000_000;
const NANOS_PER_DAY: u64 = 86_400 * NANOS_PER_SECOND;

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> Duration {
        parse_duration(input).expect("a valid duration")
    }

    fn err(input: &str) -> String {
        parse_duration(input).expect_err("an invalid duration").to_string()
    }

    #[test]
    fn every_unit_has_its_prometheus_length() {
        assert_eq!(ok("500ms"), Duration::from_millis(500));
        assert_eq!(ok("30s"), Duration::from_secs(30));
        assert_eq!(ok("5m"), Duration::from_secs(300));
        assert_eq!(ok("2h"), Duration::from_secs(7_200));
        assert_eq!(ok("2d"), Duration::from_secs(172_800));
        assert_eq!(ok("1w"), Duration::from_secs(604_800));
        assert_eq!(ok("1y"), Duration::from_secs(31_536_000));
    }

    #[test]
    fn units_combine_from_the_largest_to_the_smallest() {
        assert_eq!(ok("1h30m"), Duration::from_secs(5_400));
        assert_eq!(ok("1s500ms"), Duration::from_millis(1_500));
        assert_eq!(
            ok("1y2w3d4h5m6s7ms"),
            Duration::from_millis(((((365 + 14 + 3) * 24 + 4) * 60 + 5) * 60 + 6) * 1_000 + 7)
        );
        assert_eq!(ok("05m"), Duration::from_secs(300));
        assert_eq!(ok("0m"), Duration::ZERO);
    }

    #[test]
    fn zero_alone_needs_no_unit() {
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(err("00"), r#"not a valid duration string: "00""#);
        assert_eq!(err("5"), r#"not a valid duration string: "5""#);
    }

    #[test]
    fn out_of_order_repeated_signed_fractional_and_spaced_durations_are_rejected() {
        assert_eq!(err("1m1d"), r#"not a valid duration string: "1m1d""#);
        assert_eq!(err("1d1d"), r#"not a valid duration string: "1d1d""#);
        assert_eq!(err("-1m"), r#"not a valid duration string: "-1m""#);
        assert_eq!(err("+1m"), r#"not a valid duration string: "+1m""#);
        assert_eq!(err("m"), r#"not a valid duration string: "m""#);
        assert_eq!(err("1.5h"), r#"unknown unit "." in duration "1.5h""#);
        assert_eq!(err("1m "), r#"unknown unit "m " in duration "1m ""#);
        assert_eq!(err("1 m"), r#"unknown unit " m" in duration "1 m""#);
        assert_eq!(err("1M"), r#"unknown unit "M" in duration "1M""#);
        assert_eq!(err("1us"), r#"unknown unit "us" in duration "1us""#);
        assert_eq!(err(""), "empty duration string");
    }

    #[test]
    fn durations_past_go_time_duration_are_out_of_range() {
        // 2^63 - 1 ns is 292 years and a bit: 292y fits, 293y does not.
        assert_eq!(ok("292y"), Duration::from_secs(292 * 31_536_000));
        assert_eq!(err("293y"), "duration out of range");
        assert_eq!(ok("292y20w"), Duration::from_secs(292 * 31_536_000 + 20 * 604_800));
        assert_eq!(err("292y30w"), "duration out of range");
        assert_eq!(err("9223372036854775807ms"), "duration out of range");
        assert_eq!(
            err("99999999999999999999s"),
            r#"not a valid duration string: "99999999999999999999s""#
        );
    }
}
