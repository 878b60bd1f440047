//! How dates and times are written, in one place: the pages, the REST API, letters and the
//! audit log all format through here, so that a date reads the same wherever it appears.
//!
//! Dates are ISO 8601 (`2026-12-04`). Times are shown in UTC and say so (`2026-12-04 09:05 UTC`),
//! because the sites of one program can sit in different time zones; machines get RFC 3339.

use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

time::serde::format_description!(pub iso_date, Date, "[year]-[month]-[day]");

/// `2026-12-04`.
pub fn date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Parses `YYYY-MM-DD` (surrounding spaces allowed); anything else, including dates that do not
/// exist, is `None`.
pub fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text.trim(), time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// `2026-12-04 09:05 UTC`: when something happened, on a page.
pub fn minute(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", date(t.date()), t.hour(), t.minute())
}

/// `2026-12-04 09:05:07 UTC`: the audit log and sign-in locks, to the second.
pub fn second(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!("{} {:02}:{:02}:{:02} UTC", date(t.date()), t.hour(), t.minute(), t.second())
}

/// `2026-12-04T09:05:07Z`: RFC 3339 in UTC, for the REST API.
pub fn rfc3339(t: OffsetDateTime) -> String {
    // Formatting an in-range UTC time as RFC 3339 cannot fail; the fallback keeps it total.
    t.to_offset(UtcOffset::UTC).format(&Rfc3339).unwrap_or_else(|_| second(t))
}

/// Parses an RFC 3339 time (`2026-12-04T09:05:07Z`, any offset).
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text.trim(), &Rfc3339).ok()
}

/// RFC 3339 on the wire for `OffsetDateTime` fields (`#[serde(with = "crate::format::wire_time")]`).
pub mod wire_time {
    pub use time::serde::rfc3339::*;

    /// The same for `Option<OffsetDateTime>`.
    pub mod option {
        pub use time::serde::rfc3339::option::*;
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay; the browser build has no
/// URL library at hand).
pub fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn dates_are_iso_and_round_trip() {
        assert_eq!(date(date!(2026 - 02 - 08)), "2026-02-08");
        assert_eq!(date(date!(0987 - 12 - 31)), "0987-12-31");
        assert_eq!(parse_date("2026-02-28"), Some(date!(2026 - 02 - 28)));
        assert_eq!(parse_date(" 2026-02-28 "), Some(date!(2026 - 02 - 28)));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("28/02/2026"), None);
        assert_eq!(parse_date("20260228"), None);
    }

    #[test]
    fn times_are_shown_in_utc_and_say_so() {
        // 08:05:07 at UTC+8 is 00:05:07 UTC, on the same day; 01:00 at UTC+2 is the day before.
        assert_eq!(minute(datetime!(2026-12-04 08:05:07 +8)), "2026-12-04 00:05 UTC");
        assert_eq!(second(datetime!(2026-12-04 08:05:07 +8)), "2026-12-04 00:05:07 UTC");
        assert_eq!(minute(datetime!(2026-12-04 01:00 +2)), "2026-12-03 23:00 UTC");
        assert_eq!(rfc3339(datetime!(2026-12-04 08:05:07 +8)), "2026-12-04T00:05:07Z");
    }

    #[test]
    fn rfc3339_parses_any_offset() {
        assert_eq!(parse_rfc3339("2026-12-04T00:05:07Z"), Some(datetime!(2026-12-04 00:05:07 UTC)));
        assert_eq!(parse_rfc3339("2026-12-04T08:05:07+08:00"), Some(datetime!(2026-12-04 00:05:07 UTC)));
        assert_eq!(parse_rfc3339("2026-12-04 00:05:07"), None);
    }

    #[test]
    fn query_values_are_percent_encoded_byte_by_byte() {
        assert_eq!(query_value("a b&c=é~_.-"), "a%20b%26c%3D%C3%A9~_.-");
    }
}
