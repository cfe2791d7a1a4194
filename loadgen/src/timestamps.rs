//! Moving the timestamps of a pre-encoded request forward as it is sent.
//!
//! Exporters send new timestamps with every request; a receiver that keeps recent samples per
//! series (sightline's rule engine does) appends a later point cheaply and has to search for the
//! place of a repeated one. Re-encoding each request as it is sent would make the load generator
//! the bottleneck, so each request is encoded once and its timestamps are rewritten in a copy of the
//! bytes: OTLP/protobuf times are `fixed64` (8 bytes, little-endian), OTLP/JSON times are decimal
//! strings (19 digits until the year 2286), so a later time takes exactly the same bytes.
//!
//! Where they are is found by comparing two encodings of the same request, built at `base` and at
//! `base + 1` ns: timestamps are the only difference, each one greater by exactly one.

use std::ops::Range;

use anyhow::{bail, ensure};

/// How a request is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

/// The places of every timestamp in one encoded request.
#[derive(Debug, Clone)]
pub struct Timestamps {
    encoding: Encoding,
    places: Vec<Range<usize>>,
}

impl Timestamps {
    /// Finds the timestamps of a request from its encoding `at_base` and its encoding with every
    /// time one nanosecond later.
    pub fn find(
        encoding: Encoding,
        at_base: &[u8],
        one_later: &[u8],
    ) -> anyhow::Result<Timestamps> {
        ensure!(
            at_base.len() == one_later.len(),
            "the request's encodings at two times differ in length ({} and {} bytes)",
            at_base.len(),
            one_later.len()
        );
        let mut places = Vec::new();
        let mut at = 0;
        while at < at_base.len() {
            if at_base[at] == one_later[at] {
                at += 1;
                continue;
            }
            let place = match encoding {
                // A `fixed64` is little-endian: adding one always changes its first byte.
                Encoding::Protobuf => at..at + 8,
                // A carry changes digits to the left: the number is the run of digits around them.
                Encoding::Json => {
                    let digit = |i: &usize| at_base[*i].is_ascii_digit();
                    let start = (0..at).rev().take_while(digit).last().unwrap_or(at);
                    let end = (at..at_base.len()).find(|i| !digit(i)).unwrap_or(at_base.len());
                    start..end
                }
            };
            let (Some(before), Some(after)) =
                (read(encoding, at_base, &place), read(encoding, one_later, &place))
            else {
                bail!(
                    "bytes {place:?} differ between the request's encodings but hold no timestamp"
                );
            };
            ensure!(
                after == before.wrapping_add(1),
                "bytes {place:?} differ between the request's encodings by {} instead of 1 ns",
                after.wrapping_sub(before)
            );
            at = place.end;
            places.push(place);
        }
        Ok(Timestamps { encoding, places })
    }

    /// Moves every timestamp in `encoded` (the encoding they were found in) `by_ns` later.
    pub fn shift(&self, encoded: &mut [u8], by_ns: u64) {
        for place in &self.places {
            let Some(time) = read(self.encoding, encoded, place) else { continue };
            let later = time.saturating_add(by_ns);
            let bytes = &mut encoded[place.clone()];
            match self.encoding {
                Encoding::Protobuf => bytes.copy_from_slice(&later.to_le_bytes()),
                Encoding::Json => {
                    // Zero-padded to the same width: a value of more digits cannot occur before
                    // the year 2286, and would be left as it was.
                    let text = format!("{later:0width$}", width = bytes.len());
                    if text.len() == bytes.len() {
                        bytes.copy_from_slice(text.as_bytes());
                    }
                }
            }
        }
    }
}

/// The timestamp at `place`, if it holds one.
fn read(encoding: Encoding, encoded: &[u8], place: &Range<usize>) -> Option<u64> {
    let bytes = encoded.get(place.clone())?;
    match encoding {
        Encoding::Protobuf => Some(u64::from_le_bytes(bytes.try_into().ok()?)),
        Encoding::Json => std::str::from_utf8(bytes).ok()?.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_timestamps_are_found_and_moved_in_place() {
        let at =
            |time: u64| [&[0x0a, 0x02, 0x61, 0x62, 0x11][..], &time.to_le_bytes()[..]].concat();
        let timestamps = Timestamps::find(Encoding::Protobuf, &at(255), &at(256)).expect("found");
        let mut encoded = at(255);
        timestamps.shift(&mut encoded, 1_000_000);
        assert_eq!(encoded, at(1_000_255));
    }

    #[test]
    fn json_timestamps_are_found_across_a_carry_and_keep_their_width() {
        let at = |time: u64| format!(r#"{{"a":"x9","t":"{time}","n":9}}"#).into_bytes();
        let (base, later) = (1_764_000_000_000_000_999, 1_764_000_000_000_001_000);
        let timestamps = Timestamps::find(Encoding::Json, &at(base), &at(later)).expect("found");
        let mut encoded = at(base);
        timestamps.shift(&mut encoded, 42_000_000_001);
        assert_eq!(encoded, at(base + 42_000_000_001));
    }

    #[test]
    fn encodings_that_differ_in_anything_but_one_nanosecond_are_refused() {
        let error = Timestamps::find(Encoding::Json, br#"{"t":"17"}"#, br#"{"t":"19"}"#)
            .expect_err("2 ns apart");
        assert!(error.to_string().contains("by 2 instead of 1 ns"), "{error}");
        let error = Timestamps::find(Encoding::Json, br#"{"k":"ab"}"#, br#"{"k":"ac"}"#)
            .expect_err("a string differs");
        assert!(error.to_string().contains("hold no timestamp"), "{error}");
        assert!(Timestamps::find(Encoding::Protobuf, b"abc", b"abcd").is_err());
        let error = Timestamps::find(Encoding::Protobuf, b"\x01\x02", b"\x02\x02")
            .expect_err("no room for a fixed64");
        assert!(error.to_string().contains("hold no timestamp"), "{error}");
    }
}
