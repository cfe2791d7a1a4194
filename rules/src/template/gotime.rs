//! Go's `time.Time` (always UTC here) and `time.Duration` as templates print and format them:
//! `Time.String`, `Time.Format` with Go's reference layout, `Duration.String`, and the methods a template
//! can call on the values `toTime` and `toDuration` return.

use std::fmt::Write as _;

use super::functions::Param;
use super::value::{ListKind, Value};

/// An instant in UTC: seconds since the Unix epoch and nanoseconds within the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GoTime {
    pub(crate) secs: i64,
    pub(crate) nanos: u32,
}

const NANOS_PER_SECOND: i64 = 1_000_000_000;

impl GoTime {
    /// Go's `time.Unix(sec, nsec)`: `nsec` outside `[0, 1e9)` carries into the seconds.
    pub(crate) fn unix(secs: i64, nanos: i64) -> GoTime {
        let secs = secs.saturating_add(nanos.div_euclid(NANOS_PER_SECOND));
        let nanos = u32::try_from(nanos.rem_euclid(NANOS_PER_SECOND)).unwrap_or(0);
        GoTime { secs, nanos }
    }

    /// Go's zero time, 0001-01-01 00:00:00 UTC: what a firing alert's `EndsAt` holds.
    pub(crate) const ZERO: GoTime = GoTime { secs: -62_135_596_800, nanos: 0 };

    /// The time `ms` milliseconds after the epoch.
    pub(crate) fn from_millis(ms: i64) -> GoTime {
        GoTime::unix(ms.div_euclid(1000), ms.rem_euclid(1000) * 1_000_000)
    }

    /// Go's `t.Sub(earlier)` in nanoseconds, saturating as Go's does.
    pub(crate) fn nanos_since(self, earlier: GoTime) -> i64 {
        let nanos = (i128::from(self.secs) - i128::from(earlier.secs)) * 1_000_000_000
            + (i128::from(self.nanos) - i128::from(earlier.nanos));
        i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
    }

    fn civil(self) -> Civil {
        let days = self.secs.div_euclid(86_400);
        let secs_of_day = self.secs.rem_euclid(86_400);
        // Howard Hinnant's days-to-civil algorithm.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let is_leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let cumulative = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let month_index = usize::try_from(month - 1).unwrap_or(0);
        let year_day = cumulative[month_index] + day + i64::from(is_leap && month > 2);
        Civil {
            year,
            month,
            day,
            year_day,
            weekday: (days + 4).rem_euclid(7),
            hour: secs_of_day / 3600,
            minute: secs_of_day / 60 % 60,
            second: secs_of_day % 60,
            nanos: self.nanos,
        }
    }

    /// Go's `Time.String()` for a UTC time: `2015-06-23 13:19:44.128 +0000 UTC`.
    pub(crate) fn to_go_string(self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    /// Go's `Time.Format(layout)`.
    pub(crate) fn format(self, layout: &str) -> String {
        let civil = self.civil();
        let mut out = String::new();
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, chunk, suffix) = next_chunk(rest);
            out.push_str(prefix);
            match chunk {
                Some(chunk) => civil.write_chunk(&mut out, chunk),
                None => break,
            }
            rest = suffix;
        }
        out
    }
}

struct Civil {
    year: i64,
    month: i64,
    day: i64,
    year_day: i64,
    weekday: i64,
    hour: i64,
    minute: i64,
    second: i64,
    nanos: u32,
}

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const LONG_DAYS: [&str; 7] =
    ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// One element of a Go layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm,
    PmLower,
    Tz,
    /// A numeric zone; `Z` forms print `Z` for UTC, the others an offset in the given shape.
    Zone {
        iso: bool,
        text: &'static str,
    },
    /// Fractional seconds: separator, digit count, and whether trailing zeros are dropped (`.999`).
    Frac {
        sep: char,
        digits: usize,
        trim: bool,
    },
}

fn starts_with_lower(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
}

/// Go's `nextStdChunk`: the text before the first layout element, the element, and the text after it.
fn next_chunk(layout: &str) -> (&str, Option<Chunk>, &str) {
    let b = layout.as_bytes();
    let at = |i: usize, s: &str| layout.get(i..).is_some_and(|r| r.starts_with(s));
    for i in 0..b.len() {
        let found = match b[i] {
            b'J' if at(i, "Jan") => {
                if at(i, "January") {
                    Some((Chunk::LongMonth, 7))
                } else if !starts_with_lower(&layout[i + 3..]) {
                    Some((Chunk::Month, 3))
                } else {
                    None
                }
            }
            b'M' if at(i, "Mon") => {
                if at(i, "Monday") {
                    Some((Chunk::LongWeekDay, 6))
                } else if !starts_with_lower(&layout[i + 3..]) {
                    Some((Chunk::WeekDay, 3))
                } else {
                    None
                }
            }
            b'M' if at(i, "MST") => Some((Chunk::Tz, 3)),
            b'0' if b.get(i + 1).is_some_and(|c| (b'1'..=b'6').contains(c)) => {
                let chunk = match b[i + 1] {
                    b'1' => Chunk::ZeroMonth,
                    b'2' => Chunk::ZeroDay,
                    b'3' => Chunk::ZeroHour12,
                    b'4' => Chunk::ZeroMinute,
                    b'5' => Chunk::ZeroSecond,
                    _ => Chunk::Year,
                };
                Some((chunk, 2))
            }
            b'0' if at(i, "002") => Some((Chunk::ZeroYearDay, 3)),
            b'1' if at(i, "15") => Some((Chunk::Hour, 2)),
            b'1' => Some((Chunk::NumMonth, 1)),
            b'2' if at(i, "2006") => Some((Chunk::LongYear, 4)),
            b'2' => Some((Chunk::Day, 1)),
            b'_' if at(i, "_2") => {
                if at(i, "_2006") {
                    // A literal underscore followed by the year.
                    return (&layout[..=i], Some(Chunk::LongYear), &layout[i + 5..]);
                }
                Some((Chunk::UnderDay, 2))
            }
            b'_' if at(i, "__2") => Some((Chunk::UnderYearDay, 3)),
            b'3' => Some((Chunk::Hour12, 1)),
            b'4' => Some((Chunk::Minute, 1)),
            b'5' => Some((Chunk::Second, 1)),
            b'P' if at(i, "PM") => Some((Chunk::Pm, 2)),
            b'p' if at(i, "pm") => Some((Chunk::PmLower, 2)),
            b'-' | b'Z' => {
                let iso = b[i] == b'Z';
                ["070000", "07:00:00", "0700", "07:00", "07"]
                    .iter()
                    .find(|shape| at(i + 1, shape))
                    .map(|shape| (Chunk::Zone { iso, text: shape }, shape.len() + 1))
            }
            sep @ (b'.' | b',') if b.get(i + 1).is_some_and(|&c| c == b'0' || c == b'9') => {
                let digit = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == digit {
                    j += 1;
                }
                // Only a fraction if the run of digits is not followed by another digit.
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    let chunk = Chunk::Frac {
                        sep: char::from(sep),
                        digits: j - (i + 1),
                        trim: digit == b'9',
                    };
                    return (&layout[..i], Some(chunk), &layout[j..]);
                }
            }
            _ => None,
        };
        if let Some((chunk, len)) = found {
            return (&layout[..i], Some(chunk), &layout[i + len..]);
        }
    }
    (layout, None, "")
}

impl Civil {
    fn write_chunk(&self, out: &mut String, chunk: Chunk) {
        let month_name = LONG_MONTHS[usize::try_from(self.month - 1).unwrap_or(0)];
        let day_name = LONG_DAYS[usize::try_from(self.weekday).unwrap_or(0)];
        let hour12 = if self.hour % 12 == 0 { 12 } else { self.hour % 12 };
        let _ = match chunk {
            Chunk::LongMonth => write!(out, "{month_name}"),
            Chunk::Month => write!(out, "{}", &month_name[..3]),
            Chunk::NumMonth => write!(out, "{}", self.month),
            Chunk::ZeroMonth => write!(out, "{:02}", self.month),
            Chunk::LongWeekDay => write!(out, "{day_name}"),
            Chunk::WeekDay => write!(out, "{}", &day_name[..3]),
            Chunk::Day => write!(out, "{}", self.day),
            Chunk::UnderDay => write!(out, "{:>2}", self.day),
            Chunk::ZeroDay => write!(out, "{:02}", self.day),
            Chunk::UnderYearDay => write!(out, "{:>3}", self.year_day),
            Chunk::ZeroYearDay => write!(out, "{:03}", self.year_day),
            Chunk::Hour => write!(out, "{:02}", self.hour),
            Chunk::Hour12 => write!(out, "{hour12}"),
            Chunk::ZeroHour12 => write!(out, "{hour12:02}"),
            Chunk::Minute => write!(out, "{}", self.minute),
            Chunk::ZeroMinute => write!(out, "{:02}", self.minute),
            Chunk::Second => write!(out, "{}", self.second),
            Chunk::ZeroSecond => write!(out, "{:02}", self.second),
            Chunk::LongYear => {
                if self.year < 0 {
                    write!(out, "-{:04}", -self.year)
                } else {
                    write!(out, "{:04}", self.year)
                }
            }
            Chunk::Year => write!(out, "{:02}", self.year.rem_euclid(100)),
            Chunk::Pm => write!(out, "{}", if self.hour >= 12 { "PM" } else { "AM" }),
            Chunk::PmLower => write!(out, "{}", if self.hour >= 12 { "pm" } else { "am" }),
            Chunk::Tz => write!(out, "UTC"),
            Chunk::Zone { iso: true, .. } => write!(out, "Z"),
            Chunk::Zone { iso: false, text } => {
                write!(out, "+{}", text.replace("07", "00"))
            }
            Chunk::Frac { sep, digits, trim } => {
                let all = format!("{:09}", self.nanos);
                let mut shown = &all[..digits.min(9)];
                if trim {
                    shown = shown.trim_end_matches('0');
                    if shown.is_empty() {
                        return;
                    }
                }
                write!(out, "{sep}{shown}")
            }
        };
    }
}

/// Go's `Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(crate) fn duration_string(nanos: i64) -> String {
    let neg = nanos < 0;
    let mut u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        if u == 0 {
            return "0s".to_owned();
        }
        let (prec, unit) = if u < 1_000 {
            (0, "ns")
        } else if u < 1_000_000 {
            (3, "µs")
        } else {
            (6, "ms")
        };
        let (frac, int) = fraction(u, prec);
        let _ = write!(out, "{int}{frac}{unit}");
    } else {
        let (frac, secs) = fraction(u, 9);
        u = secs;
        let seconds = u % 60;
        u /= 60;
        if u > 0 {
            let minutes = u % 60;
            let hours = u / 60;
            if hours > 0 {
                let _ = write!(out, "{hours}h");
            }
            let _ = write!(out, "{minutes}m");
        }
        let _ = write!(out, "{seconds}{frac}s");
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// The fraction of `v / 10^prec` as `.ddd` without trailing zeros (empty when zero), and the integer part.
fn fraction(v: u64, prec: u32) -> (String, u64) {
    let scale = 10u64.pow(prec);
    let frac = v % scale;
    if frac == 0 {
        return (String::new(), v / scale);
    }
    let digits = format!("{frac:0width$}", width = usize::try_from(prec).unwrap_or(0));
    (format!(".{}", digits.trim_end_matches('0')), v / scale)
}

/// A method a template can call: on a `*time.Time` or `*time.Duration`, or on Alertmanager's `template.KV`,
/// `template.Alerts` and `template.Pairs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Format,
    String,
    Unix,
    UnixMilli,
    UnixMicro,
    UnixNano,
    Year,
    YearDay,
    Day,
    Hour,
    Minute,
    Second,
    Nanosecond,
    Utc,
    IsZero,
    Seconds,
    Minutes,
    Hours,
    Milliseconds,
    Microseconds,
    Nanoseconds,
    /// `template.Alerts.Firing()`, `.Resolved()`.
    Firing,
    Resolved,
    /// `template.KV.SortedPairs()`, `.Names()`, `.Values()`, `.Remove([]string)`; `template.Pairs.Names()`,
    /// `.Values()`.
    SortedPairs,
    Names,
    Values,
    Remove,
}

impl Method {
    /// The method `name` of `receiver`, if it has one.
    pub(crate) fn lookup(receiver: &Value, name: &str) -> Option<Method> {
        match receiver {
            Value::Time(_) => Some(match name {
                "Format" => Method::Format,
                "String" => Method::String,
                "Unix" => Method::Unix,
                "UnixMilli" => Method::UnixMilli,
                "UnixMicro" => Method::UnixMicro,
                "UnixNano" => Method::UnixNano,
                "Year" => Method::Year,
                "YearDay" => Method::YearDay,
                "Day" => Method::Day,
                "Hour" => Method::Hour,
                "Minute" => Method::Minute,
                "Second" => Method::Second,
                "Nanosecond" => Method::Nanosecond,
                "UTC" => Method::Utc,
                "IsZero" => Method::IsZero,
                _ => return None,
            }),
            Value::List(ListKind::Alerts, _) => Some(match name {
                "Firing" => Method::Firing,
                "Resolved" => Method::Resolved,
                _ => return None,
            }),
            Value::List(ListKind::Pairs, _) => Some(match name {
                "Names" => Method::Names,
                "Values" => Method::Values,
                _ => return None,
            }),
            Value::Kv(_) => Some(match name {
                "SortedPairs" => Method::SortedPairs,
                "Names" => Method::Names,
                "Values" => Method::Values,
                "Remove" => Method::Remove,
                _ => return None,
            }),
            Value::Duration(_) => Some(match name {
                "String" => Method::String,
                "Seconds" => Method::Seconds,
                "Minutes" => Method::Minutes,
                "Hours" => Method::Hours,
                "Milliseconds" => Method::Milliseconds,
                "Microseconds" => Method::Microseconds,
                "Nanoseconds" => Method::Nanoseconds,
                _ => return None,
            }),
            _ => None,
        }
    }

    /// The method's parameter, if it has one: `Format`'s layout, `Remove`'s names.
    pub(crate) fn param(self) -> Option<Param> {
        match self {
            Method::Format => Some(Param::Str),
            Method::Remove => Some(Param::Strings),
            _ => None,
        }
    }

    /// Calls the method with its checked argument, if it takes one.
    pub(crate) fn call(self, receiver: &Value, arg: Option<&Value>) -> Value {
        let arg_text = match arg {
            Some(Value::Str(s)) => Some(s.as_ref()),
            _ => None,
        };
        match receiver {
            Value::List(_, _) | Value::Kv(_) => {
                super::alertmanager::call_method(self, receiver, arg)
            }
            Value::Time(t) => {
                let t = *t;
                let c = t.civil();
                let nanos = i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos);
                let int = |v: i128| Value::Int(i64::try_from(v).unwrap_or(i64::MAX));
                match self {
                    Method::Format => Value::str(&t.format(arg_text.unwrap_or_default())),
                    Method::Unix => Value::Int(t.secs),
                    Method::UnixMilli => int(nanos.div_euclid(1_000_000)),
                    Method::UnixMicro => int(nanos.div_euclid(1_000)),
                    Method::UnixNano => int(nanos),
                    Method::Year => Value::Int(c.year),
                    Method::YearDay => Value::Int(c.year_day),
                    Method::Day => Value::Int(c.day),
                    Method::Hour => Value::Int(c.hour),
                    Method::Minute => Value::Int(c.minute),
                    Method::Second => Value::Int(c.second),
                    Method::Nanosecond => Value::Int(i64::from(t.nanos)),
                    Method::Utc => Value::Time(t),
                    Method::IsZero => Value::Bool(t == GoTime::ZERO),
                    _ => Value::str(&t.to_go_string()),
                }
            }
            Value::Duration(d) => {
                let d = *d;
                let seconds_part = |unit: i64| (d / unit) as f64 + (d % unit) as f64 / unit as f64;
                match self {
                    Method::Seconds => Value::Float(seconds_part(1_000_000_000)),
                    Method::Minutes => Value::Float(seconds_part(60_000_000_000)),
                    Method::Hours => Value::Float(seconds_part(3_600_000_000_000)),
                    Method::Milliseconds => Value::Int(d / 1_000_000),
                    Method::Microseconds => Value::Int(d / 1_000),
                    Method::Nanoseconds => Value::Int(d),
                    _ => Value::str(&duration_string(d)),
                }
            }
            _ => Value::Nil,
        }
    }
}

#[cfg(test)]
mod tests;
