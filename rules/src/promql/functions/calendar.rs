//! The date functions (`hour()`, `day_of_week()`…): fields of a Unix time in UTC.

/// The function that reads the named field from seconds since the epoch.
pub(super) fn field(name: &str) -> fn(i64) -> f64 {
    match name {
        "days_in_month" => |seconds| {
            let (year, month, _) = civil_date(seconds);
            days_in_month(year, month) as f64
        },
        "day_of_month" => |seconds| civil_date(seconds).2 as f64,
        // 1970-01-01 was a Thursday (4; Sunday is 0).
        "day_of_week" => |seconds| (seconds.div_euclid(86_400) + 4).rem_euclid(7) as f64,
        "day_of_year" => |seconds| {
            let (year, month, day) = civil_date(seconds);
            let before: i64 = (1..month).map(|m| days_in_month(year, m)).sum();
            (before + day) as f64
        },
        "hour" => |seconds| seconds.rem_euclid(86_400).div_euclid(3_600) as f64,
        "minute" => |seconds| seconds.rem_euclid(3_600).div_euclid(60) as f64,
        "month" => |seconds| civil_date(seconds).1 as f64,
        _ => |seconds| civil_date(seconds).0 as f64,
    }
}

/// Year, month (1–12) and day (1–31) of a Unix time, in the proleptic Gregorian calendar (Howard
/// Hinnant's `civil_from_days`).
fn civil_date(seconds: i64) -> (i64, i64, i64) {
    let days = seconds.div_euclid(86_400) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_known_dates_match_the_calendar() {
        // 2024-02-29T13:45:00Z, a Thursday, the 60th day of a leap year.
        let t = 1_709_214_300;
        assert_eq!(civil_date(t), (2024, 2, 29));
        assert_eq!(field("days_in_month")(t), 29.0);
        assert_eq!(field("day_of_week")(t), 4.0);
        assert_eq!(field("day_of_year")(t), 60.0);
        assert_eq!(field("hour")(t), 13.0);
        assert_eq!(field("minute")(t), 45.0);
        assert_eq!(field("year")(0), 1970.0);
        // Before the epoch: 1969-12-31T23:00:00Z was a Wednesday.
        assert_eq!(civil_date(-3_600), (1969, 12, 31));
        assert_eq!(field("day_of_week")(-3_600), 3.0);
        assert_eq!(field("hour")(-3_600), 23.0);
    }
}
