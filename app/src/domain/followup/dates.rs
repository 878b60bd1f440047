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
}
