//! Calendar arithmetic for service levels, and the ISO 8601 date format of the API.

use time::{Date, Duration, Weekday};

time::serde::format_description!(pub iso_date, Date, "[year]-[month]-[day]");

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

/// "YYYY-MM-DD".
pub fn format_iso(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// Parses "YYYY-MM-DD"; anything else is `None`.
pub fn parse_iso(text: &str) -> Option<Date> {
    Date::parse(text.trim(), time::macros::format_description!("[year]-[month]-[day]")).ok()
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
    fn iso_dates_round_trip() {
        assert_eq!(parse_iso("2026-02-28"), Some(date!(2026 - 02 - 28)));
        assert_eq!(format_iso(date!(2026 - 02 - 08)), "2026-02-08");
        assert_eq!(parse_iso("2026-02-30"), None);
        assert_eq!(parse_iso("28/02/2026"), None);
    }
}
