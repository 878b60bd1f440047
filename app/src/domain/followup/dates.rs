//! Calendar arithmetic for service levels. Dates are written and read by [`crate::format`].

use time::{Date, Duration, Weekday};

/// `days` working days after `from` (Monday to Friday; public holidays are not modelled, so a
/// holiday counts as a working day). Starting on a weekend counts from the next Monday.
pub fn add_working_days(from: Date, days: u32) -> Date {
    let mut date = from;
    let mut left = days;
    while left > 0 {
        date = date.saturating_add(Duration::days(1));
        if !is_weekend(date) {
            left -= 1;
        }
    }
    date
}

pub fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

pub fn add_days(from: Date, days: u32) -> Date {
    from.saturating_add(Duration::days(i64::from(days)))
}

/// The same day `months` calendar months after `from`; where that month is shorter, its last
/// day (31 January + 1 month is 28 or 29 February), as people count months.
pub fn add_months(from: Date, months: u32) -> Date {
    let total = i64::from(from.year()) * 12 + i64::from(u8::from(from.month()) - 1) + i64::from(months);
    let (Ok(year), Ok(month)) = (i32::try_from(total.div_euclid(12)), u8::try_from(total.rem_euclid(12) + 1)) else {
        return Date::MAX;
    };
    let Ok(month) = time::Month::try_from(month) else { return Date::MAX };
    let day = from.day().min(time::util::days_in_month(month, year));
    Date::from_calendar_date(year, month, day).unwrap_or(Date::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn working_days_skip_weekends() {
        // 2026-11-26 is a Thursday.
        assert_eq!(add_working_days(date!(2026 - 11 - 26), 0), date!(2026 - 11 - 26));
        assert_eq!(add_working_days(date!(2026 - 11 - 26), 1), date!(2026 - 11 - 27));
        assert_eq!(add_working_days(date!(2026 - 11 - 26), 2), date!(2026 - 11 - 30));
        // From a Saturday, two working days are Monday and Tuesday.
        assert_eq!(add_working_days(date!(2026 - 11 - 28), 2), date!(2026 - 12 - 01));
        assert_eq!(add_working_days(date!(2026 - 11 - 27), 5), date!(2026 - 12 - 04));
    }

    #[test]
    fn months_are_calendar_months_ending_on_the_shorter_months_last_day() {
        assert_eq!(add_months(date!(2026 - 12 - 06), 12), date!(2027 - 12 - 06));
        assert_eq!(add_months(date!(2026 - 12 - 06), 1), date!(2027 - 01 - 06));
        assert_eq!(add_months(date!(2027 - 01 - 31), 1), date!(2027 - 02 - 28));
        assert_eq!(add_months(date!(2028 - 01 - 31), 1), date!(2028 - 02 - 29));
        assert_eq!(add_months(date!(2026 - 08 - 31), 6), date!(2027 - 02 - 28));
        assert_eq!(add_months(date!(2026 - 05 - 15), 60), date!(2031 - 05 - 15));
    }
}
