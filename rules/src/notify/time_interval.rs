//! Alertmanager's time intervals (`time_intervals:`), which routes name in `mute_time_intervals` (no
//! notifications while one holds) and `active_time_intervals` (notifications only while one holds).
//!
//! An interval holds at a time when each of its fields that is given holds: `times` (start inclusive, end
//! exclusive, `HH:MM`, the end may be `24:00`), `weekdays` (`monday:friday`), `days_of_month` (`1:5`, negative
//! counts from the month's end: `-1` is its last day), `months` (`january:march` or `1:3`) and `years`
//! (`2024:2025`), each a list of single values or inclusive ranges, all read in `location` (a time zone name,
//! UTC by default).

use chrono::{DateTime, Datelike as _, NaiveDate, TimeZone as _, Timelike as _, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

/// One entry of a named interval's `time_intervals:` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeIntervalConfig {
    #[serde(default)]
    times: Vec<TimeRangeConfig>,
    #[serde(default)]
    weekdays: Vec<String>,
    #[serde(default)]
    days_of_month: Vec<String>,
    #[serde(default)]
    months: Vec<String>,
    #[serde(default)]
    years: Vec<String>,
    location: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeRangeConfig {
    start_time: String,
    end_time: String,
}

/// A checked time interval.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeInterval {
    /// Minutes of the day, `[start, end)`.
    times: Vec<(u32, u32)>,
    /// 0 = Sunday … 6 = Saturday, inclusive ranges.
    weekdays: Vec<(u32, u32)>,
    days_of_month: Vec<(i32, i32)>,
    months: Vec<(u32, u32)>,
    years: Vec<(i32, i32)>,
    location: Tz,
}

const WEEKDAYS: [&str; 7] =
    ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

impl TimeInterval {
    /// Reads one entry of `time_intervals:`; every problem, each with `path`.
    pub fn parse(value: &serde_yaml_ng::Value, path: &str) -> Result<TimeInterval, Vec<String>> {
        let config: TimeIntervalConfig = serde_yaml_ng::from_value(value.clone())
            .map_err(|error| vec![format!("{path}: {error}")])?;
        let mut errors = Vec::new();
        let mut times = Vec::new();
        for (index, range) in config.times.iter().enumerate() {
            let at = format!("{path}.times[{index}]");
            match (minutes(&range.start_time), minutes(&range.end_time)) {
                (Ok(start), Ok(end)) if start < end => times.push((start, end)),
                (Ok(_), Ok(_)) => errors.push(format!("{at}: start_time must be before end_time")),
                (start, end) => errors.extend(
                    [start.err(), end.err()].into_iter().flatten().map(|e| format!("{at}: {e}")),
                ),
            }
        }
        let weekdays = ranges(&config.weekdays, &format!("{path}.weekdays"), &mut errors, |text| {
            WEEKDAYS.iter().position(|day| day.eq_ignore_ascii_case(text)).map(|day| day as i64)
        });
        let days_of_month =
            ranges(&config.days_of_month, &format!("{path}.days_of_month"), &mut errors, |text| {
                text.parse::<i64>().ok().filter(|day| (1..=31).contains(&day.abs()))
            });
        let months = ranges(&config.months, &format!("{path}.months"), &mut errors, |text| {
            MONTHS
                .iter()
                .position(|month| month.eq_ignore_ascii_case(text))
                .map(|month| month as i64 + 1)
                .or_else(|| text.parse::<i64>().ok().filter(|month| (1..=12).contains(month)))
        });
        let years = ranges(&config.years, &format!("{path}.years"), &mut errors, |text| {
            text.parse::<i64>().ok().filter(|year| *year > 0)
        });
        let location = match config.location.as_deref() {
            None | Some("UTC") => Tz::UTC,
            Some(name) => name.parse::<Tz>().unwrap_or_else(|_| {
                errors.push(format!("{path}.location: unknown time zone {name:?}"));
                Tz::UTC
            }),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let narrow = |ranges: Vec<(i64, i64)>| -> Vec<(u32, u32)> {
            ranges.into_iter().map(|(a, b)| (a as u32, b as u32)).collect()
        };
        Ok(TimeInterval {
            times,
            weekdays: narrow(weekdays),
            days_of_month: days_of_month.into_iter().map(|(a, b)| (a as i32, b as i32)).collect(),
            months: narrow(months),
            years: years.into_iter().map(|(a, b)| (a as i32, b as i32)).collect(),
            location,
        })
    }

    /// Whether the interval holds at `t_ms`.
    pub fn contains(&self, t_ms: i64) -> bool {
        let Some(utc) = DateTime::<Utc>::from_timestamp_millis(t_ms) else { return false };
        let local = self.location.from_utc_datetime(&utc.naive_utc());
        let minute = local.hour() * 60 + local.minute();
        let weekday = local.weekday().num_days_from_sunday();
        let month = local.month();
        let day = local.day() as i32;
        let days_in_month = days_in_month(local.year(), month);
        // A negative day counts from the month's end; ranges past the month's length are cut to it.
        let day_of_month = |(start, end): &(i32, i32)| {
            let resolve = |d: i32| if d < 0 { days_in_month + d + 1 } else { d };
            (resolve(*start)..=resolve(*end).min(days_in_month)).contains(&day)
        };
        let any = |empty: bool, holds: bool| empty || holds;
        any(self.times.is_empty(), self.times.iter().any(|(s, e)| (*s..*e).contains(&minute)))
            && any(
                self.weekdays.is_empty(),
                self.weekdays.iter().any(|(s, e)| (*s..=*e).contains(&weekday)),
            )
            && any(self.days_of_month.is_empty(), self.days_of_month.iter().any(day_of_month))
            && any(
                self.months.is_empty(),
                self.months.iter().any(|(s, e)| (*s..=*e).contains(&month)),
            )
            && any(
                self.years.is_empty(),
                self.years.iter().any(|(s, e)| (*s..=*e).contains(&local.year())),
            )
    }
}

fn days_in_month(year: i32, month: u32) -> i32 {
    let next = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    NaiveDate::from_ymd_opt(next.0, next.1, 1)
        .and_then(|first| first.pred_opt())
        .map_or(31, |last| last.day() as i32)
}

/// `HH:MM` as minutes of the day; `24:00` is the day's end.
fn minutes(text: &str) -> Result<u32, String> {
    let parsed = text.split_once(':').and_then(|(h, m)| {
        let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0)) && text.len() == 5).then_some(h * 60 + m)
    });
    parsed.ok_or_else(|| format!("{text:?} is not a time of day (HH:MM)"))
}

/// Single values or `a:b` inclusive ranges, each end read by `value`.
fn ranges(
    items: &[String],
    path: &str,
    errors: &mut Vec<String>,
    value: impl Fn(&str) -> Option<i64>,
) -> Vec<(i64, i64)> {
    let mut ranges = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let (start, end) = item.split_once(':').unwrap_or((item, item));
        match (value(start.trim()), value(end.trim())) {
            // Days of the month may run from a positive day to a negative one (`1:-1`: the whole month).
            (Some(start), Some(end)) if start <= end || (start > 0 && end < 0) => {
                ranges.push((start, end))
            }
            (Some(_), Some(_)) => {
                errors.push(format!("{path}[{index}]: {item:?} ends before it starts"))
            }
            _ => errors.push(format!("{path}[{index}]: {item:?} does not read")),
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn interval(yaml: &str) -> TimeInterval {
        TimeInterval::parse(&serde_yaml_ng::from_str(yaml).unwrap(), "time_intervals[0]").unwrap()
    }

    fn at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis()
    }

    #[test]
    fn business_hours_hold_on_weekdays_between_the_times_in_their_time_zone() {
        let hours = interval(
            "times: [{start_time: '09:00', end_time: '17:00'}]\nweekdays: ['monday:friday']\nlocation: Europe/Berlin\n",
        );
        // Wednesday 2024-01-10, 09:30 in Berlin is 08:30 UTC.
        assert!(hours.contains(at("2024-01-10T08:30:00Z")));
        assert!(!hours.contains(at("2024-01-10T07:59:00Z")), "08:59 in Berlin");
        assert!(!hours.contains(at("2024-01-10T16:00:00Z")), "17:00 is the end, excluded");
        assert!(!hours.contains(at("2024-01-13T10:00:00Z")), "a Saturday");
    }

    #[test]
    fn negative_days_count_from_the_months_end_and_months_read_by_name_or_number() {
        let end_of_month = interval("days_of_month: ['-3:-1']\nmonths: ['february', '12']\n");
        assert!(end_of_month.contains(at("2024-02-27T12:00:00Z")), "leap year: 27..29");
        assert!(!end_of_month.contains(at("2024-02-26T12:00:00Z")));
        assert!(end_of_month.contains(at("2023-12-31T23:59:00Z")));
        assert!(!end_of_month.contains(at("2024-03-31T12:00:00Z")), "not a listed month");
        let evening =
            interval("times: [{start_time: '18:00', end_time: '24:00'}]\nyears: ['2024:2025']\n");
        assert!(evening.contains(at("2025-06-01T23:59:00Z")));
        assert!(!evening.contains(at("2026-06-01T23:59:00Z")));
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let value = serde_yaml_ng::from_str(
            "times: [{start_time: '25:00', end_time: '10:00'}]\nweekdays: [funday]\nmonths: ['march:january']\nlocation: Mars/Olympus\n",
        )
        .unwrap();
        let errors =
            TimeInterval::parse(&value, "time_intervals[0].time_intervals[0]").unwrap_err();
        assert_eq!(
            errors,
            [
                r#"time_intervals[0].time_intervals[0].times[0]: "25:00" is not a time of day (HH:MM)"#,
                r#"time_intervals[0].time_intervals[0].weekdays[0]: "funday" does not read"#,
                r#"time_intervals[0].time_intervals[0].months[0]: "march:january" ends before it starts"#,
                r#"time_intervals[0].time_intervals[0].location: unknown time zone "Mars/Olympus""#,
            ]
        );
    }
}
